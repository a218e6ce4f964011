"""Search: what citizens type finds the service they mean, on both databases alike."""

import pytest

from rathaus.catalog.models import Service
from rathaus.catalog.search import KeywordSearch, ServiceHit, query_words
from rathaus.catalog.selectors import service_search
from rathaus.catalog.services import ImportReport
from rathaus.catalog.text import fold
from rathaus.core.models import Municipality
from tests.catalog.factories import ServiceFactory

pytestmark = pytest.mark.django_db


def _names(hits: list[ServiceHit]) -> list[str]:
    return [hit.name for hit in hits]


def test_relevance_on_the_munich_catalogue(
    municipality: Municipality, munich_catalog: ImportReport
) -> None:
    # Given the real catalogue; one test, since the import is the expensive part
    def top(query: str, count: int = 3) -> list[str]:
        hits = service_search(municipality=municipality, query=query, language="de", limit=count)
        return _names(hits)

    # The name itself comes first, also with a verb added
    assert top("Personalausweis", 1) == ["Personalausweis"]
    assert top("personalausweis beantragen", 1) == ["Personalausweis"]
    assert top("PERSONALAUSWEIS", 1) == ["Personalausweis"]
    # A part of a word and a keyword ("Ausweis" is a keyword of the Personalausweis)
    assert top("Ausweis", 1) == ["Personalausweis"]
    # Colloquial names through the source's keywords
    assert top("Perso", 1) == ["Personalausweis"]
    # Umlauts written out or left out find the same services in the same order
    umlaut = top("Führerschein", 5)
    assert umlaut == top("Fuehrerschein", 5) == top("Fuhrerschein", 5) == top("FÜHRERSCHEIN", 5)
    assert all("Führerschein" in name for name in umlaut[:3])
    assert top("Umschreibung EU-Führerschein", 1) == ["Umschreibung EU/EWR-Führerschein"]
    # Several words: the service named by both comes first
    assert top("Reisepass verloren", 1) == ["Verlust oder Diebstahl Reisepass"]
    assert top("Gewerbe anmelden", 1) == ["Gewerbe-Anmeldung"]
    assert top("Kfz abmelden", 1) == ["Fahrzeug abmelden"]
    assert top("Wohnsitz ummelden", 1) == ["Wohnsitzanmeldung"]
    # Words that identify nothing find nothing
    assert top("ich und der", 3) == []
    assert top("zzzqqq", 3) == []


def test_hits_carry_what_a_caller_needs(
    municipality: Municipality, munich_catalog: ImportReport
) -> None:
    hit = service_search(municipality=municipality, query="Meldebescheinigung", language="de")[0]
    service = Service.objects.get(source_id="1063576")
    assert hit == ServiceHit(
        id=service.pk,
        slug="meldebescheinigung",
        source="dldb-muenchen",
        source_id="1063576",
        name="Meldebescheinigung",
        name_lang="de",
        summary=service.summary_de,
        summary_lang="de",
        online_mode=service.online_mode,
        score=hit.score,
    )
    assert hit.score > 0


def test_english_queries_find_english_names(municipality: Municipality) -> None:
    ServiceFactory(
        municipality=municipality, name_de="Hundesteuer anmelden", name_en="Register a dog"
    )
    ServiceFactory(municipality=municipality, name_de="Reisepass", name_en="Passport")
    hits = service_search(municipality=municipality, query="register dog", language="en")
    assert [(hit.name, hit.name_lang) for hit in hits] == [("Register a dog", "en")]
    hits = service_search(municipality=municipality, query="register dog", language="de")
    assert [(hit.name, hit.name_lang) for hit in hits] == [("Hundesteuer anmelden", "de")]
    # Without an English name, the German one is given, marked as German
    ServiceFactory(municipality=municipality, name_de="Sperrmüll", name_en="")
    hits = service_search(municipality=municipality, query="sperrmull", language="en")
    assert [(hit.name, hit.name_lang) for hit in hits] == [("Sperrmüll", "de")]


def test_synonyms_rank_above_texts(municipality: Municipality) -> None:
    ServiceFactory(
        municipality=municipality,
        name_de="Personalausweis",
        synonyms=["Perso"],
        description_de="<p>Ein Dokument.</p>",
    )
    ServiceFactory(
        municipality=municipality,
        name_de="Führungszeugnis",
        description_de="<p>Perso mitbringen.</p>",
    )
    assert _names(service_search(municipality=municipality, query="perso", language="de")) == [
        "Personalausweis",
        "Führungszeugnis",
    ]


def test_search_is_scoped_to_the_municipality_and_to_public_services(
    municipality: Municipality, other_municipality: Municipality
) -> None:
    ServiceFactory(municipality=other_municipality, name_de="Hundesteuer")
    ServiceFactory(municipality=municipality, name_de="Hundesteuer abmelden", is_public=False)
    assert service_search(municipality=municipality, query="Hundesteuer", language="de") == []


def test_hostile_queries_are_harmless(municipality: Municipality) -> None:
    ServiceFactory(municipality=municipality, name_de="Hundesteuer")
    for query in ["%", "_", "' OR 1=1 --", "\\", "<script>", "x" * 10_000, "", "   ", "\u0000"]:
        assert service_search(municipality=municipality, query=query, language="de") == []
    # LIKE wildcards in a query are plain characters, not patterns
    assert service_search(municipality=municipality, query="hunde%", language="de") != []
    assert query_words("a " * 50 + " ".join(f"wort{i}" for i in range(20))) == [
        f"wort{i}" for i in range(8)
    ]


def test_the_engine_is_pluggable(municipality: Municipality, settings: object) -> None:
    settings.RATHAUS_CATALOG_SEARCH_ENGINE = "tests.catalog.test_search.FixedEngine"  # type: ignore[attr-defined]
    assert _names(service_search(municipality=municipality, query="x", language="de")) == ["fix"]


class FixedEngine(KeywordSearch):
    """A stand-in engine, as the service assistant will plug in its own."""

    def search(
        self, *, municipality: Municipality, query: str, language: str, limit: int
    ) -> list[ServiceHit]:
        return [ServiceHit(0, "fix", "test", "0", "fix", "de", "", "de", "in_person", 1)]


def test_folding() -> None:
    assert fold("Führerschein") == fold("Fuehrerschein") == fold("FUHRERSCHEIN")
    assert fold("Straße") == "strasse"
    assert fold("Café \u2013 Anmeldung!") == "cafe anmeldung"
