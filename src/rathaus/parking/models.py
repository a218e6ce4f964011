"""Parking sites, their spaces and restrictions, live and historic occupancy, guidance
signs, event modes, reservations and DATEX II pull sources (ParkAPI / DATEX II model)."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rathaus.core.models import TenantModel

MANAGE_PARKING = "parking.manage_parking"
PUSH_READINGS = "parking.push_readings"
CHECK_IN = "parking.check_in_reservations"
# Data older than this is "no current data" on every page, sign and API (domain guide).
STALE_AFTER = timedelta(minutes=30)

EXTERNAL_ID_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
    _("Use 1-64 letters, digits, dots, dashes or underscores."),
)


class SiteKind(models.TextChoices):
    # Values follow ParkAPI v3's ``ParkingSiteType``.
    CAR_PARK = "CAR_PARK", _("Multi-storey car park")
    UNDERGROUND = "UNDERGROUND", _("Underground car park")
    OFF_STREET_PARKING_GROUND = "OFF_STREET_PARKING_GROUND", _("Surface car park")
    ON_STREET = "ON_STREET", _("On-street zone")
    PARK_AND_RIDE = "PARK_AND_RIDE", _("Park and ride")


class RestrictionKind(models.TextChoices):
    DISABLED = "DISABLED", _("Disabled bays")
    CHARGING = "CHARGING", _("Charging bays")
    FAMILY = "FAMILY", _("Family bays")
    WOMEN = "WOMEN", _("Women's bays")
    MOTORBIKE = "MOTORBIKE", _("Motorbike bays")


class ParkingSite(TenantModel):
    """A garage, lot or on-street zone, with its realtime state kept on the row."""

    external_id = models.CharField(
        _("identifier"), max_length=64, validators=[EXTERNAL_ID_VALIDATOR]
    )
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("type"), max_length=32, choices=SiteKind.choices)
    lat = models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    lon = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    operator = models.CharField(_("site operator"), max_length=120, blank=True)
    capacity = models.PositiveIntegerField(
        _("capacity"), validators=[MinValueValidator(1), MaxValueValidator(100_000)]
    )
    opening_hours = models.CharField(
        _("opening hours"),
        max_length=255,
        blank=True,
        help_text=_("OpenStreetMap syntax, e.g. Mo-Fr 07:00-22:00; Sa 08:00-20:00"),
    )
    fee_per_hour = models.DecimalField(
        _("fee per hour (EUR)"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    fee_description = models.CharField(_("fees"), max_length=255, blank=True)
    max_stay_minutes = models.PositiveIntegerField(
        _("maximum stay (minutes)"), null=True, blank=True
    )
    max_height_cm = models.PositiveIntegerField(_("maximum height (cm)"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # On-street zones with a sensor in every bay count free spaces from their sensors.
    counts_from_spaces = models.BooleanField(_("count free spaces from bay sensors"), default=False)
    realtime_free = models.IntegerField(_("free spaces"), null=True, blank=True)
    realtime_at = models.DateTimeField(_("updated at (sensor)"), null=True, blank=True)

    class Meta:
        verbose_name = _("parking site")
        verbose_name_plural = _("parking sites")
        ordering = ["name"]
        permissions = [
            ("manage_parking", "Can manage parking sites, signs and data sources"),
            ("push_readings", "Can push live parking data"),
            ("check_in_reservations", "Can check in parking reservations at arrival"),
        ]
        constraints = [
            models.UniqueConstraint(
                "municipality", "external_id", name="parking_site_unique_external_id"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def is_stale(self, now: object = None) -> bool:
        """No reading, or the last one is older than 30 minutes."""
        moment = now or timezone.now()
        return self.realtime_at is None or moment - self.realtime_at > STALE_AFTER  # type: ignore[operator]

    @property
    def occupied(self) -> int | None:
        return None if self.realtime_free is None else self.capacity - self.realtime_free


class SiteEntrance(models.Model):
    site = models.ForeignKey(ParkingSite, on_delete=models.CASCADE, related_name="entrances")
    name = models.CharField(_("name"), max_length=120, blank=True)
    lat = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6)
    lon = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6)

    class Meta:
        verbose_name = _("entrance")
        verbose_name_plural = _("entrances")

    def __str__(self) -> str:
        return self.name or f"{self.lat},{self.lon}"


class Restriction(models.Model):
    """Bays reserved for a group, with their own capacity and (optional) live count."""

    site = models.ForeignKey(ParkingSite, on_delete=models.CASCADE, related_name="restrictions")
    kind = models.CharField(_("type"), max_length=16, choices=RestrictionKind.choices)
    capacity = models.PositiveIntegerField(_("capacity"))
    realtime_free = models.IntegerField(_("free spaces"), null=True, blank=True)

    class Meta:
        verbose_name = _("restriction")
        verbose_name_plural = _("restrictions")
        constraints = [
            models.UniqueConstraint("site", "kind", name="parking_restriction_one_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.site}: {self.get_kind_display()}"


class Space(TenantModel):
    """A single bay with its own sensor (or a reservable bay)."""

    site = models.ForeignKey(ParkingSite, on_delete=models.CASCADE, related_name="spaces")
    external_id = models.CharField(
        _("identifier"), max_length=64, validators=[EXTERNAL_ID_VALIDATOR]
    )
    restriction = models.CharField(
        _("restriction"), max_length=16, choices=RestrictionKind.choices, blank=True
    )
    reservable = models.BooleanField(_("reservable"), default=False)
    occupied = models.BooleanField(_("occupied"), null=True, blank=True)
    occupied_at = models.DateTimeField(_("updated at (sensor)"), null=True, blank=True)

    class Meta:
        verbose_name = _("parking space")
        verbose_name_plural = _("parking spaces")
        ordering = ["site", "external_id"]
        constraints = [
            models.UniqueConstraint("site", "external_id", name="parking_space_unique_external_id")
        ]

    def __str__(self) -> str:
        return f"{self.site.name} {self.external_id}"


class Source(models.TextChoices):
    MQTT = "mqtt", _("MQTT")
    PUSH = "push", _("HTTP push")
    DATEX = "datex", _("DATEX II pull")
    MANUAL = "manual", _("Manual")


class Observation(models.Model):
    """One accepted count of a site: the history time series."""

    site = models.ForeignKey(ParkingSite, on_delete=models.CASCADE, related_name="observations")
    at = models.DateTimeField()
    free = models.IntegerField()
    source = models.CharField(max_length=8, choices=Source.choices)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("observation")
        verbose_name_plural = _("observations")
        constraints = [
            models.UniqueConstraint("site", "at", name="parking_observation_one_per_instant")
        ]
        indexes = [models.Index(fields=["site", "-at"], name="parking_obs_site_at")]

    def __str__(self) -> str:
        return f"{self.site_id}@{self.at:%Y-%m-%d %H:%M}: {self.free}"


class Rejection(models.Model):
    """A reading that was refused or corrected, with the reason (for operators)."""

    municipality = models.ForeignKey(
        "core.Municipality", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=8, choices=Source.choices)
    reason = models.CharField(max_length=32)
    detail = models.CharField(max_length=500)
    corrected = models.BooleanField(default=False)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("rejected reading")
        verbose_name_plural = _("rejected readings")
        indexes = [models.Index(fields=["-received_at"], name="parking_rejection_received")]

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail[:40]}"


class Arrow(models.TextChoices):
    NONE = "", _("no arrow")
    LEFT = "left", _("left")
    RIGHT = "right", _("right")
    STRAIGHT = "straight", _("straight ahead")


class Sign(TenantModel):
    """A guidance display (LED board, matrix display) that polls its texts from rathaus."""

    class Kind(models.TextChoices):
        BOARD = "board", _("Large board")
        MATRIX = "matrix", _("Matrix display")

    key = models.SlugField(_("key"), max_length=64)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("type"), max_length=8, choices=Kind.choices, default=Kind.MATRIX)
    location = models.CharField(_("location"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("guidance sign")
        verbose_name_plural = _("guidance signs")
        ordering = ["name"]
        constraints = [models.UniqueConstraint("municipality", "key", name="parking_sign_key")]

    def __str__(self) -> str:
        return self.name


class SignLine(models.Model):
    """One line of a sign: a site and the arrow towards it. With ``event_mode`` set the
    line belongs to that mode and replaces the sign's normal lines while it runs."""

    sign = models.ForeignKey(Sign, on_delete=models.CASCADE, related_name="lines")
    event_mode = models.ForeignKey(
        "EventMode", on_delete=models.CASCADE, null=True, blank=True, related_name="lines"
    )
    site = models.ForeignKey(ParkingSite, on_delete=models.CASCADE, related_name="+")
    arrow = models.CharField(_("arrow"), max_length=8, choices=Arrow.choices, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    label = models.CharField(_("label"), max_length=24, blank=True)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"{self.sign_id}:{self.position}"


class EventMode(TenantModel):
    """A scheduled redirection of signs (a football match, a Christmas market)."""

    name = models.CharField(_("name"), max_length=120)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    message = models.CharField(_("sign message"), max_length=24, blank=True)

    class Meta:
        verbose_name = _("event mode")
        verbose_name_plural = _("event modes")
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="parking_eventmode_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.name


def _reservation_code() -> str:
    return secrets.token_urlsafe(12)


class Reservation(TenantModel):
    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        CHECKED_IN = "checked_in", _("Checked in")
        RELEASED = "released", _("Released (no-show)")
        CANCELLED = "cancelled", _("Cancelled")

    space = models.ForeignKey(Space, on_delete=models.PROTECT, related_name="reservations")
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="parking_reservations"
    )
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    plate = models.CharField(_("number plate"), max_length=12)
    code = models.CharField(max_length=32, unique=True, default=_reservation_code)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.BOOKED)
    checked_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["space", "starts_at"], name="parking_res_space_start")]

    def __str__(self) -> str:
        return f"{self.space} {self.starts_at:%Y-%m-%d %H:%M}"


class DatexSource(TenantModel):
    """An operator's DATEX II parking status publication pulled on a schedule. Its
    ``parkingRecord`` ids are matched to our sites' identifiers."""

    name = models.CharField(_("name"), max_length=120)
    url = models.URLField(_("address"), max_length=500)
    every_minutes = models.PositiveSmallIntegerField(
        _("interval (minutes)"), default=5, validators=[MinValueValidator(1)]
    )
    is_active = models.BooleanField(_("active"), default=True)
    last_fetch_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("DATEX II source")
        verbose_name_plural = _("DATEX II sources")

    def __str__(self) -> str:
        return self.name


class ForecastModel(models.Model):
    """The trained forecast of one site (see ``forecast.py``)."""

    site = models.OneToOneField(ParkingSite, on_delete=models.CASCADE, related_name="forecast")
    params = models.JSONField(default=dict)
    trained_at = models.DateTimeField(default=timezone.now)
    samples = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"forecast of {self.site_id}"
