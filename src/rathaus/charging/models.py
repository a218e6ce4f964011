"""Charging sites, stations (charge points), connectors, tokens, sessions and commands.

A *site* is a place with one grid connection (a car park, a street section); its
*stations* are OCPP charge points, each with one or more *connectors* (EVSEs). A
*session* is one OCPP transaction. *Commands* are the queue from the web process to the
central system process (ADR 0023).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from rathaus.core.models import TenantModel

OPERATE_PERMISSION = "charging.operate_stations"
EXPORT_PERMISSION = "charging.export_records"


class Site(TenantModel):
    """A place with charging stations behind one grid connection."""

    name = models.CharField(_("name"), max_length=200)
    street = models.CharField(_("street and number"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=10, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6)
    access_hours = models.CharField(
        _("access hours"), max_length=200, blank=True, help_text=_("Empty means 24/7.")
    )
    # Link to the parking map of the parking module, where the site is a car park there.
    parking_url = models.CharField(_("parking map address"), max_length=300, blank=True)
    grid_limit_w = models.PositiveIntegerField(_("grid connection limit (W)"))
    # The limit the last load calculation used (default or a window); a change triggers a
    # recalculation by the periodic job.
    applied_limit_w = models.PositiveIntegerField(null=True, blank=True, editable=False)
    org_unit = models.ForeignKey(
        "organisation.OrgUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("responsible team"),
    )
    is_public = models.BooleanField(_("published"), default=True)

    class Meta:
        verbose_name = _("charging site")
        verbose_name_plural = _("charging sites")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class SiteLimitWindow(TenantModel):
    """A daily time window in which the site's grid limit is lower (or higher)."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="limit_windows")
    start_time = models.TimeField(_("from"))
    end_time = models.TimeField(_("until"))
    limit_w = models.PositiveIntegerField(_("limit (W)"))

    class Meta:
        verbose_name = _("limit window")
        verbose_name_plural = _("limit windows")
        ordering = ["start_time"]

    def __str__(self) -> str:
        return f"{self.start_time:%H:%M}-{self.end_time:%H:%M} {self.limit_w} W"


class Tariff(TenantModel):
    """Prices of a charging session: energy, time and a blocking fee after a grace period."""

    name = models.CharField(_("name"), max_length=100)
    energy_ct_per_kwh = models.PositiveIntegerField(_("energy price (ct/kWh)"), default=0)
    time_ct_per_hour = models.PositiveIntegerField(_("time price (ct/h)"), default=0)
    blocking_ct_per_minute = models.PositiveIntegerField(_("blocking fee (ct/min)"), default=0)
    blocking_grace_minutes = models.PositiveIntegerField(_("grace period (min)"), default=0)
    blocking_cap_ct = models.PositiveIntegerField(_("blocking fee cap (ct)"), default=0)

    class Meta:
        verbose_name = _("tariff")
        verbose_name_plural = _("tariffs")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def snapshot(self) -> dict[str, int | str]:
        """The prices as they were when a session started (kept on the session)."""
        return {
            "name": self.name,
            "energy_ct_per_kwh": self.energy_ct_per_kwh,
            "time_ct_per_hour": self.time_ct_per_hour,
            "blocking_ct_per_minute": self.blocking_ct_per_minute,
            "blocking_grace_minutes": self.blocking_grace_minutes,
            "blocking_cap_ct": self.blocking_cap_ct,
        }


class OcppVersion(models.TextChoices):
    V16 = "1.6", "OCPP 1.6J"
    V201 = "2.0.1", "OCPP 2.0.1"


class Station(TenantModel):
    """An OCPP charge point, known to the central system by its identity."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="stations")
    # The last path segment of the websocket address; unique across the whole deployment
    # because one central system serves every municipality.
    identity = models.CharField(_("identity"), max_length=48, unique=True)
    name = models.CharField(_("name"), max_length=200)
    # Salted SHA-256 of a generated 32-character secret (ADR 0023: a machine secret with
    # 190 bits of entropy needs no slow hash, and a reconnect storm must not burn CPU).
    password_hash = models.CharField(max_length=200, blank=True, editable=False)
    # SHA-256 fingerprint (hex) of the client certificate, for security profile 3.
    certificate_fingerprint = models.CharField(
        _("client certificate fingerprint"), max_length=64, blank=True
    )
    max_power_w = models.PositiveIntegerField(_("maximum power (W)"), default=22000)
    tariff = models.ForeignKey(
        Tariff, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("tariff")
    )
    # What the station reported at boot.
    ocpp_version = models.CharField(max_length=8, choices=OcppVersion.choices, blank=True)
    vendor = models.CharField(max_length=50, blank=True)
    model = models.CharField(max_length=50, blank=True)
    serial_number = models.CharField(max_length=50, blank=True)
    firmware_version = models.CharField(max_length=50, blank=True)
    # Live state, written by the central system.
    is_online = models.BooleanField(default=False)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    booted_at = models.DateTimeField(null=True, blank=True)
    allocated_w = models.PositiveIntegerField(null=True, blank=True)
    profile_rejected = models.BooleanField(default=False)
    silent_alert_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("charging station")
        verbose_name_plural = _("charging stations")
        ordering = ["site__name", "name", "pk"]
        permissions = [
            ("operate_stations", "Can operate charging stations and send them commands"),
            ("export_records", "Can export charge detail records"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.identity})"


class PlugType(models.TextChoices):
    TYPE2 = "IEC_62196_T2", _("Type 2")
    CCS = "IEC_62196_T2_COMBO", _("CCS")
    CHADEMO = "CHADEMO", _("CHAdeMO")
    SCHUKO = "DOMESTIC_F", _("Schuko")


class ConnectorStatus(models.TextChoices):
    AVAILABLE = "Available", _("available")
    OCCUPIED = "Occupied", _("occupied")
    CHARGING = "Charging", _("charging")
    RESERVED = "Reserved", _("reserved")
    FAULTED = "Faulted", _("faulted")
    UNAVAILABLE = "Unavailable", _("unavailable")
    UNKNOWN = "Unknown", _("unknown")


class Connector(TenantModel):
    """A connector (OCPP 1.6 connector id, OCPP 2.0.1 EVSE id) of a station."""

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="connectors")
    connector_id = models.PositiveSmallIntegerField(_("connector number"))
    plug_type = models.CharField(
        _("plug type"), max_length=30, choices=PlugType.choices, default=PlugType.TYPE2
    )
    max_power_w = models.PositiveIntegerField(_("maximum power (W)"), default=22000)
    status = models.CharField(
        max_length=20, choices=ConnectorStatus.choices, default=ConnectorStatus.UNKNOWN
    )
    # The OCPP status as sent (1.6: Preparing, SuspendedEV, Finishing, ...), for operators.
    ocpp_status = models.CharField(max_length=30, blank=True)
    error_code = models.CharField(max_length=50, blank=True)
    status_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("connector")
        verbose_name_plural = _("connectors")
        ordering = ["station_id", "connector_id"]
        constraints = [
            models.UniqueConstraint(
                "station", "connector_id", name="charging_connector_unique_per_station"
            ),
            models.CheckConstraint(
                condition=Q(connector_id__gte=1), name="charging_connector_id_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.station_id}/{self.connector_id}"


class Token(TenantModel):
    """An RFID card or app token (OCPP idTag / idToken)."""

    class Kind(models.TextChoices):
        CONTRACT = "contract", _("contract customer")
        ADHOC = "adhoc", _("ad-hoc")

    uid = models.CharField(_("token"), max_length=36)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    holder = models.CharField(_("holder"), max_length=200, blank=True)
    contract_ref = models.CharField(_("contract number"), max_length=50, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    is_active = models.BooleanField(_("active"), default=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)

    class Meta:
        verbose_name = _("token")
        verbose_name_plural = _("tokens")
        constraints = [
            models.UniqueConstraint(
                "municipality", "uid", name="charging_token_unique_per_municipality"
            )
        ]

    def __str__(self) -> str:
        return self.uid


class ChargingSession(TenantModel):
    """One OCPP transaction; a finished one is a charge detail record (CDR)."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        FINISHED = "finished", _("finished")

    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="sessions")
    connector_id = models.PositiveSmallIntegerField()
    # 1.6: the integer transactionId the central system assigned (the row's start key);
    # 2.0.1: the transactionId the station chose.
    transaction_ref = models.CharField(max_length=36)
    # Identifies a 1.6 StartTransaction independently of the id we answered, so that a
    # replayed or repeated start is matched instead of duplicated.
    start_key = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    token = models.ForeignKey(Token, on_delete=models.SET_NULL, null=True, blank=True)
    id_tag = models.CharField(max_length=36, blank=True)
    user_kind = models.CharField(max_length=10, blank=True)
    ocpp_version = models.CharField(max_length=8, choices=OcppVersion.choices)
    started_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    # End of energy flow (connector reported SuspendedEV/Finishing/EVConnected): the
    # blocking fee counts from here.
    charging_ended_at = models.DateTimeField(null=True, blank=True)
    meter_start_wh = models.BigIntegerField(default=0)
    meter_last_wh = models.BigIntegerField(default=0)
    meter_last_at = models.DateTimeField(null=True, blank=True)
    power_w = models.IntegerField(null=True, blank=True)
    soc_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    last_seq_no = models.IntegerField(null=True, blank=True)
    stop_reason = models.CharField(max_length=40, blank=True)
    tariff_snapshot = models.JSONField(default=dict, blank=True)
    cost_energy_ct = models.IntegerField(default=0)
    cost_time_ct = models.IntegerField(default=0)
    cost_blocking_ct = models.IntegerField(default=0)
    cost_total_ct = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("charging session")
        verbose_name_plural = _("charging sessions")
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                "station", "transaction_ref", name="charging_session_unique_transaction"
            ),
            models.UniqueConstraint(
                "station",
                "start_key",
                condition=~Q(start_key=""),
                name="charging_session_unique_start",
            ),
        ]
        indexes = [
            models.Index("municipality", "status", name="charging_session_status"),
            models.Index("station", "stopped_at", name="charging_session_stopped"),
        ]

    def __str__(self) -> str:
        return f"{self.station_id}:{self.transaction_ref}"

    @property
    def energy_wh(self) -> int:
        return max(0, self.meter_last_wh - self.meter_start_wh)


class MeterSample(models.Model):
    """One meter reading of a session.

    Not a ``TenantModel``: it is the highest-volume table of the module (one row per
    station per minute) and reaches its municipality through the session.
    """

    session = models.ForeignKey(ChargingSession, on_delete=models.CASCADE, related_name="samples")
    timestamp = models.DateTimeField()
    energy_wh = models.BigIntegerField()
    power_w = models.IntegerField(null=True)
    soc_percent = models.PositiveSmallIntegerField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "session", "timestamp", name="charging_metersample_once_per_time"
            )
        ]

    def __str__(self) -> str:
        return f"{self.session_id}@{self.timestamp:%H:%M:%S}: {self.energy_wh} Wh"


class Reservation(TenantModel):
    """A connector held for a token until ``expires_at`` (OCPP ReserveNow)."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("requested")
        ACTIVE = "active", _("active")
        REJECTED = "rejected", _("rejected")
        CANCELLED = "cancelled", pgettext_lazy("reservation", "cancelled")

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="reservations")
    connector_id = models.PositiveSmallIntegerField()
    id_tag = models.CharField(max_length=36)
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)

    class Meta:
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")

    def __str__(self) -> str:
        return f"{self.station_id}/{self.connector_id} {self.id_tag}"


class Command(TenantModel):
    """A call from the central system to a station, queued by the web process (ADR 0023)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting")
        SENT = "sent", _("sent")
        ACCEPTED = "accepted", _("accepted")
        REJECTED = "rejected", _("rejected")
        FAILED = "failed", _("failed")
        EXPIRED = "expired", _("expired")

    class Source(models.TextChoices):
        OPERATOR = "operator", _("operator")
        LOAD = "load", _("load management")
        SYSTEM = "system", _("system")

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="commands")
    # A neutral action name (``remote_start``, ``set_charging_profile``, ...); the central
    # system translates it for the station's OCPP version.
    action = models.CharField(max_length=40)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.OPERATOR)
    response = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=300, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("station command")
        verbose_name_plural = _("station commands")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index("status", "station", name="charging_command_queue")]

    def __str__(self) -> str:
        return f"{self.action} -> {self.station_id} ({self.status})"


class StationEvent(TenantModel):
    """Something an operator may need to know: a fault, an anomaly with its logged reason."""

    class Kind(models.TextChoices):
        FAULT = "fault", _("fault")
        ANOMALY = "anomaly", _("anomaly")
        PROTOCOL = "protocol", _("protocol error")
        CONNECTION = "connection", _("connection")

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    code = models.CharField(max_length=60)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("station event")
        verbose_name_plural = _("station events")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.kind}:{self.code}"
