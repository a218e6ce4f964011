"""The Bürgerbüro: offices (catalogue locations) with counters, duty, skills, hours,
appointments (a reservation is an appointment in state ``reserved``), walk-in tickets,
calls and waiting-time predictions.

Offices and services are the catalogue's ``Location`` and ``Service``; the appointment
duration of a service at an office is ``ServiceLocation.appointment_minutes`` unless
``ServiceSetup`` overrides it or has learned it from finished visits.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from rathaus.catalog.models import Location, Service
from rathaus.core.models import TenantModel

SERVE_COUNTER = "buergerbuero.serve_counter"
MANAGE_OFFICE = "buergerbuero.manage_office"
VIEW_STATISTICS = "buergerbuero.view_statistics"

PREFIX_VALIDATOR = RegexValidator(r"^[A-Z]$", _("One capital letter, e.g. A."))


def _token() -> str:
    return secrets.token_urlsafe(16)


class Office(TenantModel):
    """The Bürgerbüro set-up of one catalogue location (one row per location)."""

    location = models.OneToOneField(
        Location, on_delete=models.CASCADE, related_name="buergerbuero_office"
    )
    is_active = models.BooleanField(_("in operation"), default=True)
    slot_minutes = models.PositiveSmallIntegerField(
        _("appointment grid (minutes)"),
        default=10,
        validators=[MinValueValidator(5), MaxValueValidator(60)],
    )
    ticket_prefix = models.CharField(
        _("ticket letter"), max_length=1, default="A", validators=[PREFIX_VALIDATOR]
    )
    online_tickets = models.BooleanField(_("tickets can be drawn online"), default=True)
    # Short-notice release: this share of the appointment capacity of a day is held back
    # and opened at ``release_time`` on the day before.
    short_notice_percent = models.PositiveSmallIntegerField(
        _("held back for short notice (%)"), default=20, validators=[MaxValueValidator(100)]
    )
    release_time = models.TimeField(_("short-notice release (the day before)"), default="16:00")

    class Meta:
        verbose_name = _("citizen office")
        verbose_name_plural = _("citizen offices")
        permissions = [
            ("serve_counter", "Can call and serve visitors at a counter"),
            ("manage_office", "Can set up counters, hours, duty and skills"),
            ("view_statistics", "Can see the citizen office statistics"),
        ]

    def __str__(self) -> str:
        return str(self.location)


class Counter(TenantModel):
    """A Schalter: where a visitor is called to. ``room`` and ``floor`` guide the way."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="counters")
    name = models.CharField(_("name"), max_length=40)
    room = models.CharField(_("room"), max_length=40, blank=True)
    floor = models.CharField(_("floor"), max_length=40, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(
        pgettext_lazy("buergerbuero", "position"), default=0
    )

    class Meta:
        verbose_name = _("counter")
        verbose_name_plural = _("counters")
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["office", "name"], name="buergerbuero_counter_name_once"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Duty(TenantModel):
    """A clerk on duty at a counter on a day; ``is_open`` while they are signed on."""

    counter = models.ForeignKey(Counter, on_delete=models.CASCADE, related_name="duties")
    clerk = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="buergerbuero_duties"
    )
    date = models.DateField(_("date"))
    is_open = models.BooleanField(pgettext_lazy("buergerbuero", "open"), default=False)

    class Meta:
        verbose_name = _("duty")
        verbose_name_plural = _("duties")
        ordering = ["date", "counter__position"]
        constraints = [
            models.UniqueConstraint(
                fields=["counter", "date"], name="buergerbuero_duty_counter_day"
            ),
            models.UniqueConstraint(fields=["clerk", "date"], name="buergerbuero_duty_clerk_day"),
        ]


class Skill(TenantModel):
    """A clerk can do a service."""

    clerk = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="buergerbuero_skills"
    )
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("skill")
        verbose_name_plural = _("skills")
        constraints = [
            models.UniqueConstraint(fields=["clerk", "service"], name="buergerbuero_skill_once")
        ]


class SpecialDay(TenantModel):
    """Other hours (or a closure) on one date; overrides the weekly hours and holidays."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="special_days")
    date = models.DateField(_("date"))
    closed = models.BooleanField(_("closed all day"), default=False)
    opens = models.TimeField(_("opens"), null=True, blank=True)
    closes = models.TimeField(_("closes"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("special day")
        verbose_name_plural = _("special days")
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["office", "date"], name="buergerbuero_specialday_once"),
            models.CheckConstraint(
                condition=models.Q(closed=True)
                | models.Q(opens__isnull=False, closes__isnull=False, opens__lt=models.F("closes")),
                name="buergerbuero_specialday_hours",
            ),
        ]


class ServiceSetup(TenantModel):
    """How a service is handled at an office."""

    class Mode(models.TextChoices):
        BOTH = "both", _("appointment and walk-in")
        APPOINTMENT = "appointment", _("appointment only")
        WALK_IN = "walk_in", _("walk-in only")

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="service_setups")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    mode = models.CharField(_("mode"), max_length=12, choices=Mode.choices, default=Mode.BOTH)
    learned_minutes = models.FloatField(_("learned duration (minutes)"), null=True, blank=True)
    learned_from = models.PositiveIntegerField(_("learned from visits"), default=0)

    class Meta:
        verbose_name = _("service set-up")
        verbose_name_plural = _("service set-ups")
        constraints = [
            models.UniqueConstraint(fields=["office", "service"], name="buergerbuero_setup_once")
        ]


class CapacitySplit(TenantModel):
    """The appointment share of one weekday hour (else the municipal setting)."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="capacity_splits")
    weekday = models.PositiveSmallIntegerField(_("weekday"), validators=[MaxValueValidator(6)])
    hour = models.PositiveSmallIntegerField(_("hour"), validators=[MaxValueValidator(23)])
    appointment_percent = models.PositiveSmallIntegerField(
        _("appointments (%)"), validators=[MaxValueValidator(100)]
    )

    class Meta:
        verbose_name = _("capacity split")
        verbose_name_plural = _("capacity splits")
        constraints = [
            models.UniqueConstraint(
                fields=["office", "weekday", "hour"], name="buergerbuero_split_once"
            )
        ]


class Appointment(TenantModel):
    """A booked time. ``reserved`` is the short hold before the e-mail link confirms it."""

    class Status(models.TextChoices):
        RESERVED = "reserved", _("reserved")
        CONFIRMED = "confirmed", _("confirmed")
        CHECKED_IN = "checked_in", _("checked in")
        CALLED = "called", _("called")
        FINISHED = "finished", pgettext_lazy("buergerbuero", "finished")
        MISSED = "missed", _("missed")
        CANCELLED = "cancelled", pgettext_lazy("buergerbuero", "cancelled")
        EXPIRED = "expired", pgettext_lazy("buergerbuero", "expired")

    ACTIVE = (Status.RESERVED, Status.CONFIRMED, Status.CHECKED_IN, Status.CALLED)

    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="appointments")
    services = models.ManyToManyField(Service, related_name="+")
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.RESERVED
    )
    reserved_until = models.DateTimeField(_("reserved until"), null=True, blank=True)
    name = models.CharField(_("name"), max_length=120, blank=True)
    email = models.EmailField(_("e-mail address"), blank=True)
    phone = models.CharField(_("mobile number"), max_length=30, blank=True)
    language = models.CharField(_("language"), max_length=5, default="de")
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="buergerbuero_appointments",
    )
    # The short code on the confirmation and in the QR code for check-in.
    code = models.CharField(_("code"), max_length=12, unique=True)
    # Changes on every confirm/cancel/rebook, so a used link cannot be replayed.
    nonce = models.CharField(max_length=32, default=_token)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    anonymised = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["start", "pk"]
        indexes = [
            models.Index(fields=["office", "start"], name="buergerbuero_appt_office_start"),
            models.Index(fields=["status", "reserved_until"], name="buergerbuero_appt_status"),
        ]

    def __str__(self) -> str:
        return self.code


class Ticket(TenantModel):
    """A place in the queue of one office on one day (walk-in, online, or checked-in
    appointment)."""

    class Channel(models.TextChoices):
        KIOSK = "kiosk", _("kiosk")
        ONLINE = "online", pgettext_lazy("buergerbuero", "online")
        APPOINTMENT = "appointment", _("appointment")
        COUNTER = "counter", _("counter")
        ASSISTANT = "assistant", _("service assistant")

    class Status(models.TextChoices):
        WAITING = "waiting", pgettext_lazy("buergerbuero", "waiting")
        CALLED = "called", _("called")
        FINISHED = "finished", pgettext_lazy("buergerbuero", "finished")
        NO_SHOW = "no_show", _("did not come")
        CANCELLED = "cancelled", pgettext_lazy("buergerbuero", "cancelled")

    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="tickets")
    day = models.DateField(_("day"))
    seq = models.PositiveIntegerField(_("sequence number"))
    # What the visitor sees and the display calls, e.g. "A017".
    number = models.CharField(_("number"), max_length=8)
    channel = models.CharField(
        pgettext_lazy("buergerbuero", "channel"), max_length=12, choices=Channel.choices
    )
    language = models.CharField(_("language"), max_length=5, default="de")
    phone = models.CharField(_("mobile number"), max_length=30, blank=True)
    services = models.ManyToManyField(Service, related_name="+")
    services_done = models.ManyToManyField(Service, related_name="+", blank=True)
    appointment = models.OneToOneField(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="ticket"
    )
    due_at = models.DateTimeField(_("appointment time"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.WAITING
    )
    arrived_at = models.DateTimeField(_("arrived"))
    called_at = models.DateTimeField(_("called"), null=True, blank=True)
    finished_at = models.DateTimeField(
        pgettext_lazy("buergerbuero", "finished"), null=True, blank=True
    )
    counter = models.ForeignKey(
        Counter, on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets"
    )
    # A transfer to one counter: only that counter calls it.
    transferred_to = models.ForeignKey(
        Counter, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    clerk = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    estimated_call_at = models.DateTimeField(_("estimated call"), null=True, blank=True)
    first_estimate_at = models.DateTimeField(null=True, blank=True)
    naive_estimate_at = models.DateTimeField(null=True, blank=True)
    soon_sms_sent = models.BooleanField(default=False)
    token = models.CharField(max_length=32, unique=True, default=_token)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["day", "seq"]
        constraints = [
            models.UniqueConstraint(
                fields=["office", "day", "seq"], name="buergerbuero_ticket_once"
            )
        ]
        indexes = [
            models.Index(fields=["office", "day", "status"], name="buergerbuero_ticket_queue")
        ]

    def __str__(self) -> str:
        return self.number

    def status_path(self) -> str:
        """The public status page (no login; the token is the secret)."""
        from django.urls import reverse

        return reverse("buergerbuero:ticket_status", kwargs={"token": self.token})


class Call(TenantModel):
    """A ticket called to a counter (shown on the call display; a recall adds another)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="calls")
    counter = models.ForeignKey(Counter, on_delete=models.CASCADE, related_name="calls")
    called_at = models.DateTimeField(_("called"))
    recall = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["-called_at", "-pk"]


class Prediction(TenantModel):
    """An estimate given for a ticket, kept to measure the estimator (MAE per day)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="predictions")
    made_at = models.DateTimeField()
    predicted_call_at = models.DateTimeField()
    naive_call_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("prediction")
        verbose_name_plural = _("predictions")
        ordering = ["made_at", "pk"]
