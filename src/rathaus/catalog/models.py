"""The service catalogue of a municipality: services, where they are offered, how to browse them.

A service (Leistung) is what a citizen asks the town hall for: a new ID card, registering a
trade. It may carry LeiKa keys (the federal catalogue of services), is described in German
and English, lists documents and fees, and is offered at locations (offices), each with its
appointment duration. Services are grouped by category (the subject: vehicles, residence
registration) and by life situation (Lebenslage: moving home, a death in the family).

Every service and location has a ``source`` and a ``source_id``: where it came from
(``dldb-muenchen`` for the City of Munich's service database, ``local`` for one entered
here) and its id there, so that an import finds it again. See ADR 0012.
"""

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from rathaus.core.models import TenantModel

LEIKA_VALIDATOR = RegexValidator(
    r"^99\d{12}$", _("A LeiKa key has 14 digits and starts with 99, e.g. 99008001000000.")
)
SOURCE_VALIDATOR = RegexValidator(
    r"^[a-z0-9][a-z0-9-]{0,39}$",
    _("Use up to 40 lower-case letters, digits and hyphens, e.g. dldb-muenchen."),
)
#: Public URLs under /leistungen/ that a service slug must not take.
RESERVED_SLUGS = frozenset({"suche", "lebenslagen", "kategorien"})


def _localised(obj: object, field: str) -> str:
    """The English value where the language is English and it exists, else the German."""
    if get_language() == "en":
        english: str = getattr(obj, f"{field}_en")
        if english:
            return english
    german: str = getattr(obj, f"{field}_de")
    return german


def _language_of(obj: object, field: str) -> str:
    """The language of what ``_localised`` returns (for ``lang`` attributes, WCAG 3.1.2)."""
    return "en" if get_language() == "en" and getattr(obj, f"{field}_en") else "de"


class Taxonomy(TenantModel):
    """A named group of services with a slug for its public URL."""

    slug = models.SlugField(_("short name"), max_length=80)
    name_de = models.CharField(_("name (German)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    description_de = models.TextField(_("description (German)"), max_length=2000, blank=True)
    description_en = models.TextField(_("description (English)"), max_length=2000, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        abstract = True
        ordering = ["position", "name_de"]

    def __str__(self) -> str:
        return self.name_de

    @property
    def name(self) -> str:
        return _localised(self, "name")

    @property
    def name_lang(self) -> str:
        return _language_of(self, "name")

    @property
    def description(self) -> str:
        return _localised(self, "description")


class Category(Taxonomy):
    """A subject area, e.g. "Fahrzeuge und Kennzeichen"."""

    class Meta(Taxonomy.Meta):
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        constraints = [
            models.UniqueConstraint("municipality", "slug", name="catalog_category_slug_unique")
        ]


class LifeSituation(Taxonomy):
    """A Lebenslage, e.g. "Umzug": what happens in a citizen's life that needs services."""

    class Meta(Taxonomy.Meta):
        verbose_name = _("life situation")
        verbose_name_plural = _("life situations")
        constraints = [
            models.UniqueConstraint(
                "municipality", "slug", name="catalog_lifesituation_slug_unique"
            )
        ]


class Location(TenantModel):
    """An office where services are offered (Bürgerbüro, Kfz-Zulassungsstelle, ...)."""

    source = models.CharField(_("source"), max_length=40, validators=[SOURCE_VALIDATOR])
    source_id = models.CharField(_("id in the source"), max_length=64)
    name_de = models.CharField(_("name (German)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    # The source's own name with its unit code, e.g. "Bürgerbüro Pasing (KVR-II/235)":
    # several teams share one public name and address; staff tell them apart by this.
    internal_name = models.CharField(_("internal name"), max_length=200, blank=True)
    alternative_names = models.JSONField(_("alternative names"), default=list, blank=True)
    organisation = models.CharField(_("organisation"), max_length=300, blank=True)
    street = models.CharField(_("street"), max_length=200, blank=True)
    house_number = models.CharField(_("house number"), max_length=20, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=10, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    # [{"weekday": 0-6 (Monday 0), "opens": "08:00", "closes": "12:00"}, ...]
    opening_hours = models.JSONField(_("opening hours"), default=list, blank=True)
    opening_hours_note_de = models.TextField(_("opening hours note (German)"), blank=True)
    opening_hours_note_en = models.TextField(_("opening hours note (English)"), blank=True)
    wheelchair_accessible = models.BooleanField(_("wheelchair accessible"), null=True, blank=True)
    accessibility_de = models.TextField(_("accessibility (German)"), blank=True)
    accessibility_en = models.TextField(_("accessibility (English)"), blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    fax = models.CharField(_("fax"), max_length=50, blank=True)
    email = models.EmailField(_("e-mail address"), blank=True)
    url = models.URLField(_("web address"), max_length=500, blank=True)
    is_public = models.BooleanField(_("public"), default=True)
    attribution = models.CharField(_("attribution"), max_length=300, blank=True)
    licence = models.CharField(_("licence"), max_length=100, blank=True)
    licence_url = models.URLField(_("licence web address"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        ordering = ["name_de", "pk"]
        constraints = [
            models.UniqueConstraint(
                "municipality", "source", "source_id", name="catalog_location_source_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name_de

    @property
    def name(self) -> str:
        return _localised(self, "name")

    @property
    def name_lang(self) -> str:
        return _language_of(self, "name")

    @property
    def opening_hours_note(self) -> str:
        return _localised(self, "opening_hours_note")

    @property
    def accessibility(self) -> str:
        return _localised(self, "accessibility")

    @property
    def address_line(self) -> str:
        street = " ".join(part for part in (self.street, self.house_number) if part)
        place = " ".join(part for part in (self.postal_code, self.city) if part)
        return ", ".join(part for part in (street, place) if part)


class Service(TenantModel):
    """A service of the municipality as citizens find it in the catalogue."""

    class OnlineMode(models.TextChoices):
        ONLINE = "online", _("fully online")
        ONLINE_WITH_VISIT = "online_with_visit", _("online, with one visit")
        IN_PERSON = "in_person", _("in person only")

    source = models.CharField(_("source"), max_length=40, validators=[SOURCE_VALIDATOR])
    source_id = models.CharField(_("id in the source"), max_length=64)
    source_url = models.URLField(_("page in the source"), max_length=500, blank=True)
    slug = models.SlugField(_("short name"), max_length=80)
    name_de = models.CharField(_("name (German)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    # Other names citizens use ("Perso") and search terms; matched in any language.
    synonyms = models.JSONField(_("synonyms"), default=list, blank=True)
    keywords = models.JSONField(_("search keywords"), default=list, blank=True)
    summary_de = models.TextField(_("summary (German)"), max_length=1000, blank=True)
    summary_en = models.TextField(_("summary (English)"), max_length=1000, blank=True)
    # Sanitised HTML (core.html.clean_html), rendered as is.
    description_de = models.TextField(_("description (German)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    # [{"name_de", "name_en", "note_de", "note_en"}]
    documents = models.JSONField(_("required documents"), default=list, blank=True)
    # [{"kind": fixed|range|per_unit|free, "amount_cents", "amount_max_cents", "currency",
    #   "unit_de", "unit_en", "label_de", "label_en"}]; see catalog.fees.
    fees = models.JSONField(_("fees"), default=list, blank=True)
    fees_text_de = models.TextField(_("fees, text (German)"), blank=True)
    fees_text_en = models.TextField(_("fees, text (English)"), blank=True)
    processing_time_de = models.TextField(
        _("processing time (German)"), max_length=2000, blank=True
    )
    processing_time_en = models.TextField(
        _("processing time (English)"), max_length=2000, blank=True
    )
    legal_basis_de = models.TextField(_("legal basis (German)"), max_length=5000, blank=True)
    legal_basis_en = models.TextField(_("legal basis (English)"), max_length=5000, blank=True)
    responsible_unit = models.ForeignKey(
        "organisation.OrgUnit",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("responsible org unit"),
    )
    # The authority the source names (e.g. "Stadtverwaltung München") when no org unit of
    # this installation is linked.
    authority = models.CharField(_("responsible authority"), max_length=300, blank=True)
    online_mode = models.CharField(
        _("how it can be done"),
        max_length=20,
        choices=OnlineMode.choices,
        default=OnlineMode.IN_PERSON,
    )
    online_url = models.URLField(_("online service address"), max_length=500, blank=True)
    appointment = models.BooleanField(_("by appointment"), default=False)
    appointment_minutes = models.PositiveIntegerField(
        _("appointment duration (minutes)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(1440)],
    )
    bookable_online = models.BooleanField(_("appointments bookable online"), default=False)
    max_quantity = models.PositiveIntegerField(
        _("at most per appointment"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    # [{"title", "url"}]; forms are documents to fill in (PDF), links everything else.
    links = models.JSONField(_("links"), default=list, blank=True)
    forms = models.JSONField(_("forms"), default=list, blank=True)
    categories = models.ManyToManyField(
        Category, blank=True, related_name="services", verbose_name=_("categories")
    )
    life_situations = models.ManyToManyField(
        LifeSituation, blank=True, related_name="services", verbose_name=_("life situations")
    )
    # Services that can be booked together in one appointment.
    combinable = models.ManyToManyField(
        "self", blank=True, symmetrical=False, verbose_name=_("combinable with")
    )
    is_public = models.BooleanField(_("public"), default=True)
    attribution = models.CharField(_("attribution"), max_length=300, blank=True)
    licence = models.CharField(_("licence"), max_length=100, blank=True)
    licence_url = models.URLField(_("licence web address"), max_length=300, blank=True)
    # Folded (lower case, umlauts and accents folded, punctuation removed) copies of what
    # search matches, kept by the services on every write; see catalog.search.
    search_name = models.TextField(editable=False, default="")
    search_terms = models.TextField(editable=False, default="")
    search_body = models.TextField(editable=False, default="")

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["name_de", "pk"]
        constraints = [
            models.UniqueConstraint("municipality", "slug", name="catalog_service_slug_unique"),
            models.UniqueConstraint(
                "municipality", "source", "source_id", name="catalog_service_source_unique"
            ),
        ]
        indexes = [models.Index("municipality", "is_public", name="catalog_service_public")]

    def __str__(self) -> str:
        return self.name_de

    @property
    def name(self) -> str:
        return _localised(self, "name")

    @property
    def name_lang(self) -> str:
        return _language_of(self, "name")

    @property
    def summary(self) -> str:
        return _localised(self, "summary")

    @property
    def summary_lang(self) -> str:
        return _language_of(self, "summary")

    @property
    def description(self) -> str:
        return _localised(self, "description")

    @property
    def description_lang(self) -> str:
        return _language_of(self, "description")

    @property
    def fees_text(self) -> str:
        return _localised(self, "fees_text")

    @property
    def fees_text_lang(self) -> str:
        return _language_of(self, "fees_text")

    @property
    def processing_time(self) -> str:
        return _localised(self, "processing_time")

    @property
    def legal_basis(self) -> str:
        return _localised(self, "legal_basis")


class LeikaKey(TenantModel):
    """A LeiKa key of a service.

    Not unique per municipality: real catalogues offer one LeiKa service as several
    services (Munich: "Beglaubigung von bis zu 5 / bis zu 20 / mehr als 20 Dokumenten"
    share 99014002035000) and one service may carry several keys (ADR 0012).
    """

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="leika_keys")
    key = models.CharField(_("LeiKa key"), max_length=14, validators=[LEIKA_VALIDATOR])
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("LeiKa key")
        verbose_name_plural = _("LeiKa keys")
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint("service", "key", name="catalog_leika_once_per_service")
        ]
        indexes = [models.Index("municipality", "key", name="catalog_leika_lookup")]

    def __str__(self) -> str:
        return self.key

    @property
    def urn(self) -> str:
        """The key as FIT-Connect names it."""
        return f"urn:de:fim:leika:leistung:{self.key}"


class ServiceLocation(TenantModel):
    """A service offered at a location, with the appointment time it takes there."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="offered_at")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="offers")
    appointment_minutes = models.PositiveIntegerField(
        _("appointment duration (minutes)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(1440)],
    )

    class Meta:
        verbose_name = _("service location")
        verbose_name_plural = _("service locations")
        ordering = ["location__name_de", "location_id"]
        constraints = [
            models.UniqueConstraint("service", "location", name="catalog_service_location_once")
        ]

    def __str__(self) -> str:
        return f"{self.service_id} @ {self.location_id}"
