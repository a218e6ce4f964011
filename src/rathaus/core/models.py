"""Tenancy and the base models every domain row builds on."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

AGS_VALIDATOR = RegexValidator(
    r"^(0[1-9]|1[0-6])\d{6}$",
    _("The official municipality key (AGS) has 8 digits and starts with a state code 01-16."),
)
HEX_COLOUR_VALIDATOR = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a colour like #1a4d80."))
HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class State(models.TextChoices):
    """German federal states (Länder), by the code used for holidays (ISO 3166-2:DE)."""

    BW = "BW", "Baden-Württemberg"
    BY = "BY", "Bayern"
    BE = "BE", "Berlin"
    BB = "BB", "Brandenburg"
    HB = "HB", "Bremen"
    HH = "HH", "Hamburg"
    HE = "HE", "Hessen"
    MV = "MV", "Mecklenburg-Vorpommern"
    NI = "NI", "Niedersachsen"
    NW = "NW", "Nordrhein-Westfalen"
    RP = "RP", "Rheinland-Pfalz"
    SL = "SL", "Saarland"
    SN = "SN", "Sachsen"
    ST = "ST", "Sachsen-Anhalt"
    SH = "SH", "Schleswig-Holstein"
    TH = "TH", "Thüringen"


class Municipality(TimeStampedModel):
    """A tenant: one municipality served by this deployment."""

    slug = models.SlugField(_("short name"), max_length=63, unique=True)
    name = models.CharField(_("name"), max_length=200)
    ags = models.CharField(
        _("official municipality key (AGS)"), max_length=8, unique=True, validators=[AGS_VALIDATOR]
    )
    state = models.CharField(_("federal state"), max_length=2, choices=State.choices)
    email = models.EmailField(_("contact e-mail"), blank=True)
    phone = models.CharField(_("contact phone"), max_length=50, blank=True)
    address = models.TextField(_("postal address"), blank=True)
    primary_colour = models.CharField(
        _("primary colour"), max_length=7, default="#1a4d80", validators=[HEX_COLOUR_VALIDATOR]
    )
    logo = models.FileField(_("logo"), upload_to="branding/", blank=True)
    # Deadlines and limits that differ between municipalities; see core.municipal_settings
    # for the keys, their types and their defaults (taken from the domain guide).
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("municipality")
        verbose_name_plural = _("municipalities")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def validate_hostname(value: str) -> None:
    if not HOSTNAME_RE.match(value):
        raise ValidationError(_("Enter a host name in lower case, without scheme or port."))


class MunicipalityDomain(models.Model):
    """A host name mapped to a municipality (besides ``<slug>.<base domain>``)."""

    municipality = models.ForeignKey(Municipality, on_delete=models.CASCADE, related_name="domains")
    hostname = models.CharField(
        _("host name"), max_length=253, unique=True, validators=[validate_hostname]
    )

    class Meta:
        verbose_name = _("domain")
        verbose_name_plural = _("domains")

    def __str__(self) -> str:
        return self.hostname


class TenantModel(TimeStampedModel):
    """Base of every domain row: it belongs to exactly one municipality."""

    municipality = models.ForeignKey(Municipality, on_delete=models.PROTECT, related_name="+")

    class Meta:
        abstract = True


class ScheduledRun(models.Model):
    """A claimed period of a periodic job (see ``core.schedule``): at most one per slot."""

    name = models.CharField(max_length=200)
    slot = models.DateTimeField()
    enqueued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("name", "slot", name="core_scheduledrun_once_per_slot")
        ]
        indexes = [models.Index("enqueued_at", name="core_scheduledrun_enqueued")]

    def __str__(self) -> str:
        return f"{self.name} @ {self.slot:%Y-%m-%d %H:%M}"
