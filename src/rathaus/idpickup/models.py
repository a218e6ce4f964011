"""ID document pickup terminal: orders, terminals, compartments and the device protocol.

An ``IdOrder`` follows one ID document (Personalausweis, Reisepass, ...) from the
application to its handover; ``OrderTransition`` keeps every status change with its
moment and who caused it (the state machine lives in ``services``). A ``Terminal`` stands at
a catalogue ``Location`` and has ``Compartment`` s. Terminals talk to the server through a
signed HTTP protocol (``signing.py``); ``DeviceNonce`` makes each request usable once and
``DeviceEvent`` makes event reports idempotent. Staff authenticate at the terminal with a
``StaffCredential`` (card token and PIN, both stored only as hashes).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from rathaus.catalog.models import Location
from rathaus.core.models import TenantModel

MANAGE_PERMISSION = "idpickup.manage_idorder"
TERMINAL_PERMISSION = "idpickup.operate_terminal"


class Size(models.TextChoices):
    SMALL = "s", _("small (ID card)")
    MEDIUM = "m", _("medium (passport)")
    LARGE = "l", _("large (several documents)")


SIZE_ORDER = {Size.SMALL: 0, Size.MEDIUM: 1, Size.LARGE: 2}


class Terminal(TenantModel):
    """A locker terminal at a location, registered with its own device key."""

    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="+", verbose_name=_("location")
    )
    name = models.CharField(_("name"), max_length=100)
    # Public identifier the device sends in every request (``X-Device-Id``).
    device_id = models.CharField(_("device id"), max_length=40, unique=True)
    # The device key is derived from SECRET_KEY and this salt (signing.device_key): the
    # database alone never holds a usable key; a new salt revokes the old key.
    key_salt = models.CharField(max_length=64)
    key_issued_at = models.DateTimeField(_("key issued at"))
    active = models.BooleanField(_("active"), default=True)
    # A terminal whose kiosk simulator page may be used (demo and test installations).
    simulator = models.BooleanField(_("simulator allowed"), default=False)
    last_seen_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    camera_ok = models.BooleanField(_("camera working"), null=True, blank=True)
    # Pickup PIN entry is locked at this terminal until then (too many wrong PINs).
    pin_locked_until = models.DateTimeField(_("PIN entry locked until"), null=True, blank=True)

    class Meta:
        verbose_name = _("pickup terminal")
        verbose_name_plural = _("pickup terminals")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "name"], name="idpickup_terminal_name")
        ]

    def __str__(self) -> str:
        return self.name


class Compartment(TenantModel):
    """One locker compartment; holds at most one order."""

    class Door(models.TextChoices):
        CLOSED = "closed", pgettext_lazy("door", "closed")
        OPEN = "open", _("open")

    terminal = models.ForeignKey(
        Terminal, on_delete=models.CASCADE, related_name="compartments", verbose_name=_("terminal")
    )
    number = models.PositiveSmallIntegerField(_("number"))
    size = models.CharField(_("size"), max_length=1, choices=Size.choices, default=Size.MEDIUM)
    height_cm = models.PositiveSmallIntegerField(_("height above floor (cm)"))
    door = models.CharField(_("door"), max_length=6, choices=Door.choices, default=Door.CLOSED)
    # What the compartment's sensor last said; None before the first report.
    empty = models.BooleanField(_("empty"), null=True, blank=True)
    # Out of service (defect, forced open): never assigned.
    blocked = models.BooleanField(_("blocked"), default=False)
    # Moment of the device event that set ``door`` (late reports never overwrite newer ones).
    door_changed_at = models.DateTimeField(null=True, blank=True)
    # The server released the door (load, unload, pickup, manual opening) and it has not
    # been reported closed since: a door-opened report is expected, any other is an alarm.
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("compartment")
        verbose_name_plural = _("compartments")
        ordering = ["terminal", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["terminal", "number"], name="idpickup_compartment_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.terminal} #{self.number}"

    @property
    def is_low(self) -> bool:
        return self.height_cm <= LOW_COMPARTMENT_MAX_CM


# Reachable from a wheelchair (DIN 18040-1 puts controls at 85 cm; we accept up to 100 cm).
LOW_COMPARTMENT_MAX_CM = 100


class IdOrder(TenantModel):
    """An ID document from application to handover (see ``services.TRANSITIONS``)."""

    class Kind(models.TextChoices):
        ID_CARD = "id_card", _("ID card (Personalausweis)")
        PASSPORT = "passport", _("passport (Reisepass)")
        EU_EID = "eu_eid", _("eID card for EU citizens")
        CHILD_PASSPORT = "child_passport", _("child passport (Kinderreisepass)")

    class Status(models.TextChoices):
        APPLIED = "applied", _("applied")
        IN_PRODUCTION = "in_production", _("in production")
        ARRIVED = "arrived", _("arrived at the office")
        LOADING = "loading", _("being loaded into the terminal")
        LOADED = "loaded", _("loaded into the terminal")
        NOTIFIED = "notified", _("ready for pickup")
        HANDOVER = "handover", _("compartment open for pickup")
        PICKED_UP = "picked_up", _("picked up at the terminal")
        EXPIRED = "expired", _("pickup window expired")
        UNLOADING = "unloading", _("being taken out of the terminal")
        RETURNED = "returned", _("back at the counter")
        PICKED_UP_COUNTER = "picked_up_counter", _("picked up at the counter")
        CANCELLED = "cancelled", pgettext_lazy("order", "cancelled")

    class Channel(models.TextChoices):
        SMS = "sms", _("text message")
        EMAIL = "email", _("e-mail")

    class Verification(models.TextChoices):
        FINGERPRINT = "fingerprint", _("fingerprint")
        OLD_DOCUMENT = "old_document", _("chip of the old ID document")

    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="idpickup_orders",
        verbose_name=_("citizen account"),
    )
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="+", verbose_name=_("pickup location")
    )
    kind = models.CharField(_("document"), max_length=20, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.APPLIED
    )
    status_changed_at = models.DateTimeField(_("status changed at"))
    given_name = models.CharField(_("given name"), max_length=100)
    family_name = models.CharField(_("family name"), max_length=100)
    date_of_birth = models.DateField(_("date of birth"))
    # The number printed as a barcode on the produced document (from the Bundesdruckerei
    # delivery); known once production starts, scanned on arrival and at loading.
    document_barcode = models.CharField(_("document barcode"), max_length=40, blank=True)
    # Given to the citizen at application (with a QR code); used for the online status.
    booking_number = models.CharField(_("booking number"), max_length=12, unique=True)
    size = models.CharField(_("size"), max_length=1, choices=Size.choices, default=Size.SMALL)
    # Terminal pickup (opt-in); the fields below are deleted after pickup or return.
    terminal_opt_in = models.BooleanField(_("pickup at the terminal"), default=False)
    consent_at = models.DateTimeField(_("consent given at"), null=True, blank=True)
    consent_version = models.CharField(_("consent text version"), max_length=20, blank=True)
    contact_channel = models.CharField(
        _("contact channel"), max_length=5, choices=Channel.choices, blank=True
    )
    contact_address = models.CharField(_("mobile number or e-mail"), max_length=254, blank=True)
    fingerprint_ref = models.CharField(
        _("fingerprint template reference"), max_length=100, blank=True
    )
    needs_low_compartment = models.BooleanField(_("needs a low compartment"), default=False)
    terminal = models.ForeignKey(
        Terminal, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    compartment = models.ForeignKey(
        Compartment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # HMAC of the pickup PIN (signing.pin_digest); never the PIN itself.
    pin_hash = models.CharField(max_length=64, blank=True)
    pin_failures = models.PositiveSmallIntegerField(default=0)
    pin_locked = models.BooleanField(_("PIN locked"), default=False)
    pin_sent_at = models.DateTimeField(_("PIN sent at"), null=True, blank=True)
    pin_delivery_failed = models.BooleanField(_("PIN could not be sent"), default=False)
    # One pickup in progress at the terminal: hash of the session token, valid until.
    pickup_session_hash = models.CharField(max_length=64, blank=True)
    pickup_session_until = models.DateTimeField(null=True, blank=True)
    pickup_deadline = models.DateTimeField(_("pickup until"), null=True, blank=True)
    reminder_sent_at = models.DateTimeField(_("reminder sent at"), null=True, blank=True)
    verification = models.CharField(
        _("identity verified by"), max_length=12, choices=Verification.choices, blank=True
    )
    old_document_invalidated = models.BooleanField(_("old document invalidated"), default=False)
    receipt_confirmed_at = models.DateTimeField(
        _("receipt of the PIN letter confirmed"), null=True, blank=True
    )
    handed_over_at = models.DateTimeField(_("handed over at"), null=True, blank=True)
    # When pickup or return ended the terminal part; the retention rule counts from here.
    terminal_closed_at = models.DateTimeField(null=True, blank=True)
    terminal_data_deleted_at = models.DateTimeField(
        _("terminal data deleted at"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("ID document order")
        verbose_name_plural = _("ID document orders")
        ordering = ["-created_at", "-pk"]
        permissions = [
            ("manage_idorder", "Can manage ID document orders and pickup terminals"),
            ("operate_terminal", "Can load and unload pickup terminals"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["municipality", "document_barcode"],
                condition=~Q(document_barcode=""),
                name="idpickup_order_barcode",
            ),
            # One compartment holds one order at a time: a racing second loading fails here
            # even if it got past the row lock.
            models.UniqueConstraint(
                fields=["compartment"],
                condition=Q(compartment__isnull=False),
                name="idpickup_order_compartment",
            ),
        ]
        indexes = [
            models.Index(fields=["municipality", "status"], name="idpickup_order_status"),
            models.Index(fields=["terminal", "status"], name="idpickup_order_terminal"),
        ]

    def __str__(self) -> str:
        return self.booking_number


class OrderTransition(TenantModel):
    """One status change of an order (the order's timeline)."""

    order = models.ForeignKey(IdOrder, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    second_actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["at", "pk"]


class StaffCredential(TenantModel):
    """A staff member's terminal credential: card token and PIN, both hashed."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idpickup_credential"
    )
    # SHA-256 of the card token: tokens are long random values, a fast hash suffices and
    # lets the server find the card by it.
    card_hash = models.CharField(max_length=64, unique=True)
    pin_hash = models.CharField(max_length=128)
    failures = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("terminal credential")
        verbose_name_plural = _("terminal credentials")


class DeviceNonce(models.Model):
    """A nonce a terminal used; the unique constraint refuses a replay."""

    terminal = models.ForeignKey(Terminal, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=64)
    used_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["terminal", "nonce"], name="idpickup_nonce_once")
        ]
        indexes = [models.Index(fields=["used_at"], name="idpickup_nonce_used")]

    def __str__(self) -> str:
        return self.nonce


class DeviceEvent(TenantModel):
    """An event a terminal reported, recorded once per event id."""

    class Kind(models.TextChoices):
        DOOR_OPENED = "door_opened", _("door opened")
        DOOR_CLOSED = "door_closed", _("door closed")
        ALARM = "alarm", _("alarm")
        ALARM_CLEARED = "alarm_cleared", _("alarm cleared")
        CAMERA = "camera", _("camera status")

    terminal = models.ForeignKey(Terminal, on_delete=models.CASCADE, related_name="events")
    event_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    compartment_number = models.PositiveSmallIntegerField(null=True, blank=True)
    # When it happened at the terminal (its own clock), and when it reached us.
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    data = models.JSONField(default=dict, blank=True)
    # What the server made of it (order transitions, alarms); returned to a repeated report.
    outcome = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["terminal", "event_id"], name="idpickup_event_once")
        ]


class Alarm(TenantModel):
    """Something staff must look at: a terminal alarm, a PIN lockout, a door left open."""

    class Kind(models.TextChoices):
        DEVICE = "device", _("alarm reported by the terminal")
        PIN_LOCKOUT = "pin_lockout", _("too many wrong PINs")
        DOOR_OPEN = "door_open", _("door open unexpectedly")
        NOT_TAKEN = "not_taken", _("document not taken")
        PIN_NOT_SENT = "pin_not_sent", _("PIN could not be sent")

    terminal = models.ForeignKey(Terminal, on_delete=models.CASCADE, related_name="alarms")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    raised_at = models.DateTimeField(_("raised at"))
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-raised_at", "-pk"]
        indexes = [models.Index(fields=["terminal", "cleared_at"], name="idpickup_alarm_open")]
