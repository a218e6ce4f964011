"""The default categories and life situations, and the rules that sort imported services.

The DLDB exports of Munich carry no topics, so a DLDB import sorts each service by rules:
words in its name and keywords (folded, see ``catalog.text.fold``), the group of its LeiKa
key (the three digits after ``99``) and the names of the offices that offer it. A service
that no category rule takes goes to "Weitere Leistungen". The rules are data: adding a
word here is how a misplaced service is fixed. Services from the own catalogue format keep
exactly the categories and life situations the file gives.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from rathaus.catalog.text import fold


@dataclass(frozen=True)
class Group:
    slug: str
    name_de: str
    name_en: str
    # Words or word beginnings ("kennzeichen", "führerschein"), folded before matching; a
    # term matches where a word of the name starts with it, a term with a trailing space
    # only the whole word.
    terms: tuple[str, ...] = ()
    # LeiKa groups: the digits 3-5 of the key ("036" for vehicle registration).
    leika_groups: tuple[str, ...] = ()
    # Folded beginnings of the names of offices that offer the service.
    offices: tuple[str, ...] = ()


FALLBACK_CATEGORY = "weitere-leistungen"

CATEGORIES: tuple[Group, ...] = (
    Group(
        "ausweise-und-paesse",
        "Ausweise und Pässe",
        "ID cards and passports",
        terms=(
            "personalausweis",
            "reisepass",
            "pass ",
            "zweitpass",
            "eid ",
            "ausweisdokument",
            "ausweis",
            "sb personalausweis",
            "sb reisepass",
        ),
        leika_groups=("008", "085"),
    ),
    Group(
        "wohnen-und-melden",
        "Wohnsitz und Meldewesen",
        "Residence registration",
        terms=(
            "wohnsitz",
            "meldebescheinigung",
            "melderegister",
            "auskunftssperre",
            "ubermittlungssperre",
            "haushaltsbescheinigung",
            "lebensbescheinigung",
            "personendaten",
        ),
        leika_groups=("115", "032"),
    ),
    Group(
        "fahrzeuge",
        "Fahrzeuge und Kennzeichen",
        "Vehicles and number plates",
        terms=(
            "fahrzeug",
            "kennzeichen",
            "zulassung",
            "kfz",
            "oldtimer",
            "fahrzeugschein",
            "halter",
            "einzelbetriebserlaubnis",
        ),
        leika_groups=("036", "029"),
        offices=("kfz zulassungsstelle",),
    ),
    Group(
        "fuehrerschein",
        "Führerschein und Fahreignung",
        "Driving licences",
        terms=(
            "fuhrerschein",
            "fahreignung",
            "fahrerlaubnis",
            "personenbeforderungsschein",
            "fahrerqualifizierung",
            "probezeit",
            "verkehrsverstoss",
            "verkehrsstraftat",
        ),
        leika_groups=("023", "075"),
        offices=("fuhrerscheinstelle",),
    ),
    Group(
        "parken-und-verkehr",
        "Parken und Verkehr",
        "Parking and traffic",
        terms=("parkausweis", "bewohnerparkausweis", "zufahrtserlaubnis", "parken"),
        offices=("kommunale verkehrsuberwachung",),
    ),
    Group(
        "gewerbe",
        "Gewerbe und Unternehmen",
        "Trade and business",
        terms=(
            "gewerbe",
            "reisegewerbe",
            "bewachungsgewerbe",
            "taxi",
            "mietwagen",
            "guterkraftverkehr",
            "fahrschul",
            "fahrlehr",
            "pfandleih",
            "versteigerung",
            "betriebsaufnahme",
            "personen und guterbeforderung",
            "gewerbezentralregister",
        ),
        leika_groups=("050", "052", "055", "018"),
        offices=("gewerbeamt",),
    ),
    Group(
        "standesamt",
        "Ehe, Geburt und Personenstand",
        "Marriage, birth and civil status",
        terms=(
            "eheschliessung",
            "sterbeurkunde",
            "urkunde",
            "vaterschaft",
            "kirchenaustritt",
            "geschlechtseintrag",
            "vornamen",
            "unterhalt",
        ),
        leika_groups=("059", "101", "133", "072", "073"),
        offices=("standesamt",),
    ),
    Group(
        "aufenthalt-und-einbuergerung",
        "Aufenthalt und Einbürgerung",
        "Residence permits and citizenship",
        terms=(
            "aufenthalt",
            "niederlassungserlaubnis",
            "einburgerung",
            "einreise",
            "asyl",
            "duldung",
            "nachzug",
            "familiennachzug",
            "ehegattennachzug",
            "kindernachzug",
            "reiseausweis",
            "eat ",
            "era ",
            "fiktion",
            "grenzubertritt",
            "arbeitserlaubnis",
            "daueraufenthalt",
            "aufenthaltstitel",
            "aufenthaltskarte",
            "sperrkonto",
            "ankunftszentrum",
        ),
        leika_groups=("010", "011", "030", "099", "125"),
        offices=(
            "servicestelle fur zuwanderung",
            "auslanderbehorde",
            "einburgerungsbehorde",
            "sze",
            "anlaufstelle",
            "erstaufnahmeeinrichtung",
            "studenten",
            "dokumentenausgabe",
        ),
    ),
    Group(
        "rente-und-versicherung",
        "Rente und Sozialversicherung",
        "Pensions and social insurance",
        terms=(
            "rente",
            "altersrente",
            "hinterbliebenenrente",
            "erwerbsminderungsrente",
            "kontenklarung",
            "rehabilitation",
            "beitragserstattung",
            "krankenversicherung",
            "pflegeversicherung",
        ),
        leika_groups=("114", "134"),
        offices=("versicherungsamt",),
    ),
    Group(
        "waffen-jagd-fischerei",
        "Waffen, Jagd und Fischerei",
        "Weapons, hunting and fishing",
        terms=(
            "waffe",
            "waffenschein",
            "waffenbesitzkarte",
            "feuerwaffenpass",
            "munition",
            "jagd",
            "jagdschein",
            "fischerei",
            "fischereischein",
            "sprengstoff",
            "feuerwerk",
            "pyrotechnik",
            "wildtiere",
        ),
        leika_groups=("089", "067", "042"),
        offices=("waffenwesen",),
    ),
    Group(
        "beglaubigungen-und-bescheinigungen",
        "Beglaubigungen und Bescheinigungen",
        "Certifications and certificates",
        terms=("beglaubigung", "fuhrungszeugnis", "verpflichtungserklarung", "bescheinigung"),
        leika_groups=("014", "049"),
    ),
    Group(
        "bauen-und-wohnen",
        "Bauen, Wohnen und Umwelt",
        "Building, housing and environment",
        terms=(
            "bau",
            "bauakten",
            "bauberatung",
            "baurecht",
            "mietspiegel",
            "mietberatung",
            "grundstucksentwasserung",
            "entwasserung",
            "baumschutz",
            "wohnheim",
            "planeinsicht",
        ),
        leika_groups=("012", "116"),
        offices=(
            "referat fur stadtplanung",
            "mietberatung",
            "planeinsicht",
            "planvorbesprechung",
            "registratur",
            "wohnheimverwaltung",
        ),
    ),
    Group(
        "fundsachen",
        "Fundsachen",
        "Lost property",
        terms=(
            "fundsache",
            "fundsachen",
            "fundsachenbesichtigung",
            "verlorenes fahrrad",
            "fahrrad",
        ),
        offices=("fundburo",),
    ),
    Group(
        "familie-bildung-soziales",
        "Familie, Bildung und Soziales",
        "Family, education and social services",
        terms=(
            "bafog",
            "ausbildungsforderung",
            "elternberatung",
            "kinderbetreuung",
            "sozialdienst",
            "soziale beratung",
            "gehorlose",
            "schulreisen",
        ),
        leika_groups=("022", "041"),
        offices=("elternberatung", "sozialberatung", "amt fur ausbildungsforderung"),
    ),
    Group(
        "feuerwehr",
        "Feuerwehr",
        "Fire brigade",
        terms=("feuerwache", "feuerwachen", "feuerwehr", "feuerwehrausstellung"),
        offices=("feuerwache", "feuerwehrausstellung"),
    ),
    Group(FALLBACK_CATEGORY, "Weitere Leistungen", "Other services"),
)

LIFE_SITUATIONS: tuple[Group, ...] = (
    Group(
        "umzug",
        "Umziehen",
        "Moving home",
        terms=(
            "wohnsitz",
            "umzug",
            "ummelden",
            "ummeldung",
            "adressanderung",
            "anderung der adresse",
            "umschreibung fahrzeug",
            "bewohnerparkausweis",
            "haushaltsbescheinigung",
            "mietspiegel",
            "mietberatung",
        ),
    ),
    Group(
        "familie-und-kinder",
        "Familie und Kinder",
        "Family and children",
        terms=(
            "familie",
            "kind ",
            "kinder",
            "kindernachzug",
            "eltern",
            "elternberatung",
            "vaterschaft",
            "geburt",
            "sorgerecht",
            "sb sorgerechtsaufkleber",
            "jugendfischereischein",
            "kinderbetreuung",
            "vornamen",
        ),
    ),
    Group(
        "heiraten",
        "Heiraten und Partnerschaft",
        "Marriage and partnership",
        terms=("eheschliessung", "ehegattennachzug", "ehe ", "ehefahigkeitszeugnis"),
    ),
    Group(
        "todesfall",
        "Todesfall",
        "Death of a relative",
        terms=("sterbeurkunde", "sterbefall", "hinterbliebenenrente", "waisenrente"),
    ),
    Group(
        "reisen",
        "Reisen ins Ausland",
        "Travelling abroad",
        terms=(
            "reisepass",
            "zweitpass",
            "vorlaufiger reisepass",
            "personalausweis",
            "internationaler fuhrerschein",
            "internationaler fahrzeugschein",
            "feuerwaffenpass",
            "schulreisen",
            "ausfuhrkennzeichen",
        ),
    ),
    Group(
        "auto-und-mobilitaet",
        "Auto und Mobilität",
        "Car and mobility",
        terms=(
            "fahrzeug",
            "kennzeichen",
            "fuhrerschein",
            "parkausweis",
            "zulassung",
            "fahreignung",
            "oldtimer",
            "kfz",
            "fahrerlaubnis",
        ),
        leika_groups=("036", "023"),
    ),
    Group(
        "unternehmen",
        "Ein Unternehmen gründen und führen",
        "Starting and running a business",
        terms=(
            "gewerbe",
            "taxi",
            "mietwagen",
            "fahrschulerlaubnis",
            "guterkraftverkehr",
            "gewerbezentralregister",
            "handelsvertretungen",
            "handwerksbetriebe",
            "gewerbliche anlieger",
            "selbststandige tatigkeit",
        ),
        leika_groups=("050", "052", "055"),
    ),
    Group(
        "nach-deutschland-kommen",
        "Nach Deutschland kommen",
        "Coming to Germany",
        terms=(
            "aufenthalt",
            "aufenthaltserlaubnis",
            "einreise",
            "niederlassungserlaubnis",
            "einburgerung",
            "asyl",
            "nachzug",
            "familiennachzug",
            "visum",
            "auslandischen fuhrerscheins",
            "umschreibung eines auslandischen",
            "aus dem ausland",
            "eu ewr",
            "arbeitsplatzsuche",
            "ankunftszentrum",
        ),
        leika_groups=("010", "011", "030", "099", "125"),
    ),
    Group(
        "arbeit-und-ruhestand",
        "Arbeit, Rente und Ruhestand",
        "Work, pension and retirement",
        terms=(
            "rente",
            "altersrente",
            "erwerbsminderungsrente",
            "kontenklarung",
            "lebensbescheinigung",
            "rehabilitation",
            "arbeitserlaubnis",
            "fachkrafte",
            "beschaftigung",
            "berufsqualifikation",
            "beitragserstattung",
        ),
        leika_groups=("114",),
    ),
    Group(
        "verloren-oder-gestohlen",
        "Etwas verloren oder gestohlen",
        "Lost or stolen",
        terms=(
            "verlust",
            "diebstahl",
            "verloren",
            "verlorenes",
            "fundsache",
            "verlustmeldung",
            "neuantrag nach verlust",
        ),
    ),
    Group(
        "bauen-und-wohnen",
        "Bauen und Wohnen",
        "Building and housing",
        terms=(
            "bau",
            "bauakten",
            "bauberatung",
            "baurecht",
            "baumschutz",
            "entwasserung",
            "grundstucksentwasserung",
            "mietspiegel",
            "mietberatung",
            "planeinsicht",
        ),
    ),
)


def _matches(words: str, term: str) -> bool:
    """Whether ``term`` starts a word of the space-framed, folded ``words``; a term that
    ends with a space ("ehe ") must be a whole word."""
    folded = fold(term) + (" " if term.endswith(" ") else "")
    return f" {folded}" in words


def classify(
    *, name: str, keywords: Iterable[str], leika_keys: Iterable[str], offices: Iterable[str]
) -> tuple[list[str], list[str]]:
    """The slugs of the categories and life situations a service belongs to, by the rules.

    Categories look at the name, the LeiKa group and the offices; life situations at the
    name and the LeiKa group only, since a keyword ("Umzug" on a residents' parking permit)
    is enough to place a service in a category of its office but too loose for a citizen's
    situation. Keywords help categories where the name is an office's jargon.
    """
    name_words = f" {fold(name)} "
    keyword_words = " " + " | ".join(fold(keyword) for keyword in keywords) + " "
    groups = {key[2:5] for key in leika_keys if len(key) == 14}
    office_words = " " + " | ".join(fold(office) for office in offices) + " "

    categories = [
        group.slug
        for group in CATEGORIES
        if any(_matches(name_words, term) for term in group.terms)
        or groups.intersection(group.leika_groups)
        or any(_matches(office_words, office) for office in group.offices)
    ]
    if not categories:
        categories = [
            group.slug
            for group in CATEGORIES
            if any(_matches(keyword_words, term) for term in group.terms)
        ]
    life_situations = [
        group.slug
        for group in LIFE_SITUATIONS
        if any(_matches(name_words, term) for term in group.terms)
        or groups.intersection(group.leika_groups)
    ]
    return categories or [FALLBACK_CATEGORY], life_situations
