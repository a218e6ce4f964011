"""Every write of the ID document pickup: the order state machine, the terminal protocol,
four-eyes staff authentication, pickup PINs, expiry (ADR 0018).

Services are keyword-only and own their transactions. Anything that changes a compartment
locks the terminal row first (``_terminal_locked``): all loadings, unloadings, pickups and
door reports of one terminal queue up, so two loadings never get the same compartment and
one PIN never opens twice. A unique constraint on ``IdOrder.compartment`` backs this up.
"""

import hashlib
import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rathaus.audit.services import audit_record
from rathaus.catalog.models import Location
from rathaus.core.errors import (
    ApplicationError,
    Conflict,
    NotFound,
    PermissionDenied,
    RateLimited,
    ValidationFailed,
)
from rathaus.core.models import Municipality
from rathaus.core.municipal_settings import municipal_setting
from rathaus.idpickup import signing
from rathaus.idpickup.models import (
    MANAGE_PERMISSION,
    SIZE_ORDER,
    TERMINAL_PERMISSION,
    Alarm,
    Compartment,
    DeviceEvent,
    DeviceNonce,
    IdOrder,
    OrderTransition,
    Size,
    StaffCredential,
    Terminal,
)

logger = logging.getLogger(__name__)

S = IdOrder.Status

#: The state machine: which status may follow which.
TRANSITIONS: dict[str, set[str]] = {
    S.APPLIED: {S.IN_PRODUCTION, S.CANCELLED},
    S.IN_PRODUCTION: {S.ARRIVED, S.CANCELLED},
    S.ARRIVED: {S.LOADING, S.PICKED_UP_COUNTER, S.CANCELLED},
    S.LOADING: {S.LOADED, S.ARRIVED},
    S.LOADED: {S.NOTIFIED, S.EXPIRED},
    S.NOTIFIED: {S.HANDOVER, S.EXPIRED},
    S.HANDOVER: {S.PICKED_UP, S.NOTIFIED},
    S.PICKED_UP: set(),
    S.EXPIRED: {S.UNLOADING},
    S.UNLOADING: {S.RETURNED, S.EXPIRED},
    S.RETURNED: {S.PICKED_UP_COUNTER},
    S.PICKED_UP_COUNTER: set(),
    S.CANCELLED: set(),
}
#: Statuses in which the order sits in a compartment.
IN_TERMINAL = {S.LOADING, S.LOADED, S.NOTIFIED, S.HANDOVER, S.EXPIRED, S.UNLOADING}

# Device protocol limits.
TIMESTAMP_WINDOW_SECONDS = 300
NONCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
EVENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
# A pickup started with the right PIN must be finished (verification) within this time.
PICKUP_SESSION_SECONDS = 180
# Wrong PINs: per document (when the booking number was given) and per terminal.
DOCUMENT_PIN_ATTEMPTS = 5
TERMINAL_PIN_ATTEMPTS = 10
TERMINAL_PIN_WINDOW_SECONDS = 15 * 60
TERMINAL_PIN_LOCK_SECONDS = 15 * 60
# Wrong staff PINs per card before the card is locked for a while.
STAFF_PIN_ATTEMPTS = 5
STAFF_LOCK_SECONDS = 15 * 60
REMINDER_BEFORE = timedelta(days=1)
BOOKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
BOOKING_NUMBER_PATTERN = re.compile(r"[A-Z0-9]{1,12}")
BARCODE_PATTERN = re.compile(r"^[A-Z0-9]{6,40}$")
PHONE_PATTERN = re.compile(r"^\+[1-9][0-9]{6,14}$")
CARD_MIN_CHARS = 16
STAFF_PIN_PATTERN = re.compile(r"^[0-9]{4,12}$")
CONSENT_VERSION = "1"


class DeviceAuthFailed(ApplicationError):
    status = 401
    default_code = "device_auth_failed"
    default_message = _("The request of the terminal could not be authenticated.")


class PinRefused(ApplicationError):
    """Wrong PIN, or no such document, or another terminal's: one answer for all of them."""

    status = 403
    default_code = "pin_invalid"
    default_message = _("This PIN is not valid here. Please check it and try again.")


# --- the state machine ---------------------------------------------------------------


def _transition(
    *,
    order: IdOrder,
    to: str,
    at: datetime,
    actor: Any = None,
    second_actor: Any = None,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    """Move ``order`` (locked by the caller) to ``to``; timestamped and audited."""
    if to not in TRANSITIONS[order.status]:
        raise Conflict(
            _("The document cannot go from “%(old)s” to “%(new)s”.")
            % {"old": order.get_status_display(), "new": IdOrder.Status(to).label},
            code="invalid_transition",
        )
    previous = order.status
    order.status = to
    order.status_changed_at = at
    order.save()
    OrderTransition.objects.create(
        municipality_id=order.municipality_id,
        order=order,
        from_status=previous,
        to_status=to,
        at=at,
        actor=actor if getattr(actor, "pk", None) else None,
        second_actor=second_actor if getattr(second_actor, "pk", None) else None,
        note=note[:200],
    )
    audit_record(
        municipality=order.municipality,
        action="idpickup.order.status_changed",
        actor=actor if getattr(actor, "pk", None) else None,
        target=order,
        data={
            "from": previous,
            "to": to,
            "at": at.isoformat(),
            "second_actor": getattr(second_actor, "pk", None),
            **(data or {}),
        },
    )


def _order_locked(order_id: int) -> IdOrder:
    return (
        IdOrder.objects.select_for_update(of=("self",))
        .select_related("municipality")
        .get(pk=order_id)
    )


def _booking_number_new() -> str:
    while True:
        number = "".join(secrets.choice(BOOKING_ALPHABET) for _ in range(10))
        if not IdOrder.objects.filter(booking_number=number).exists():
            return number


def _contact_check(channel: str, address: str) -> str:
    address = address.strip()
    if channel == IdOrder.Channel.SMS:
        number = address.replace(" ", "")
        if not PHONE_PATTERN.match(number):
            raise ValidationFailed(
                fields={
                    "contact_address": [
                        _("Enter a mobile number in international form, e.g. +4915112345678.")
                    ]
                }
            )
        return number
    if channel == IdOrder.Channel.EMAIL:
        try:
            validate_email(address)
        except ValidationError as error:
            raise ValidationFailed(
                fields={"contact_address": [_("Enter a valid e-mail address.")]}
            ) from error
        return address
    raise ValidationFailed(fields={"contact_channel": [_("Choose text message or e-mail.")]})


def order_create(
    *,
    municipality: Municipality,
    actor: Any,
    kind: str,
    given_name: str,
    family_name: str,
    date_of_birth: date,
    location: Location,
    size: str = Size.SMALL,
    citizen: Any = None,
    terminal_opt_in: bool = False,
    consent: bool = False,
    contact_channel: str = "",
    contact_address: str = "",
    fingerprint_ref: str = "",
    needs_low_compartment: bool = False,
    now: datetime | None = None,
) -> IdOrder:
    """Record an application for an ID document, with the opt-in for terminal pickup.

    Terminal pickup needs the recorded consent, a contact channel and a reference to the
    fingerprint template (the template itself stays in the terminal's reader system).
    """
    now = now or timezone.now()
    if location.municipality_id != municipality.pk:
        raise NotFound()
    if citizen is not None and citizen.municipality_id != municipality.pk:
        raise NotFound()
    if kind not in IdOrder.Kind.values:
        raise ValidationFailed(fields={"kind": [_("Choose a kind of document.")]})
    if size not in Size.values:
        raise ValidationFailed(fields={"size": [_("Choose a size.")]})
    if date_of_birth > now.date():
        raise ValidationFailed(fields={"date_of_birth": [_("The date lies in the future.")]})
    if not given_name.strip() or not family_name.strip():
        raise ValidationFailed(fields={"family_name": [_("Enter the name.")]})
    channel, address, reference = "", "", ""
    if terminal_opt_in:
        if not consent:
            raise ValidationFailed(
                fields={"consent": [_("Pickup at the terminal needs the citizen's consent.")]}
            )
        address = _contact_check(contact_channel, contact_address)
        channel = contact_channel
        reference = fingerprint_ref.strip()
        if not re.fullmatch(r"[A-Za-z0-9_.:-]{4,100}", reference):
            raise ValidationFailed(
                fields={
                    "fingerprint_ref": [
                        _("Enter the reference of the fingerprint template (4 to 100 characters).")
                    ]
                }
            )
    with transaction.atomic():
        order = IdOrder.objects.create(
            municipality=municipality,
            citizen=citizen,
            location=location,
            kind=kind,
            status=S.APPLIED,
            status_changed_at=now,
            given_name=given_name.strip()[:100],
            family_name=family_name.strip()[:100],
            date_of_birth=date_of_birth,
            booking_number=_booking_number_new(),
            size=size,
            terminal_opt_in=terminal_opt_in,
            consent_at=now if terminal_opt_in else None,
            consent_version=CONSENT_VERSION if terminal_opt_in else "",
            contact_channel=channel,
            contact_address=address,
            fingerprint_ref=reference,
            needs_low_compartment=needs_low_compartment,
        )
        OrderTransition.objects.create(
            municipality=municipality, order=order, to_status=S.APPLIED, at=now, actor=actor
        )
        audit_record(
            municipality=municipality,
            action="idpickup.order.created",
            actor=actor,
            target=order,
            data={"kind": kind, "terminal_opt_in": terminal_opt_in, "channel": channel},
        )
    return order


def order_production_start(
    *, order: IdOrder, actor: Any, document_barcode: str, now: datetime | None = None
) -> IdOrder:
    """The document is ordered from the producer; its barcode becomes known."""
    barcode = document_barcode.strip().upper()
    if not BARCODE_PATTERN.match(barcode):
        raise ValidationFailed(
            fields={"document_barcode": [_("A barcode has 6 to 40 letters and digits.")]}
        )
    with transaction.atomic():
        locked = _order_locked(order.pk)
        if (
            IdOrder.objects.filter(municipality_id=locked.municipality_id, document_barcode=barcode)
            .exclude(pk=locked.pk)
            .exists()
        ):
            raise Conflict(_("Another order has this barcode."), code="barcode_taken")
        locked.document_barcode = barcode
        _transition(order=locked, to=S.IN_PRODUCTION, at=now or timezone.now(), actor=actor)
    return locked


@dataclass(frozen=True)
class ArrivalResult:
    barcode: str
    outcome: str  # arrived, already_arrived, unknown, invalid, wrong_status
    order: IdOrder | None = None


MAX_BATCH = 200


def orders_arrive(
    *, municipality: Municipality, actor: Any, barcodes: Sequence[str], now: datetime | None = None
) -> list[ArrivalResult]:
    """Record arrivals by scanned barcodes (one or a batch); each barcode on its own.

    A barcode scanned twice is reported as ``already_arrived`` and changes nothing.
    """
    if len(barcodes) > MAX_BATCH:
        raise ValidationFailed(
            fields={"barcodes": [_("At most %(count)d barcodes at once.") % {"count": MAX_BATCH}]}
        )
    now = now or timezone.now()
    results: list[ArrivalResult] = []
    seen: set[str] = set()
    for raw in barcodes:
        barcode = raw.strip().upper()
        if not barcode:
            continue
        if not BARCODE_PATTERN.match(barcode):
            results.append(ArrivalResult(barcode[:40], "invalid"))
            continue
        if barcode in seen:
            results.append(ArrivalResult(barcode, "already_arrived"))
            continue
        seen.add(barcode)
        with transaction.atomic():
            order = (
                IdOrder.objects.select_for_update(of=("self",))
                .filter(municipality=municipality, document_barcode=barcode)
                .first()
            )
            if order is None:
                results.append(ArrivalResult(barcode, "unknown"))
            elif order.status == S.IN_PRODUCTION:
                _transition(order=order, to=S.ARRIVED, at=now, actor=actor)
                results.append(ArrivalResult(barcode, "arrived", order))
            elif order.status == S.ARRIVED or order.status in IN_TERMINAL:
                results.append(ArrivalResult(barcode, "already_arrived", order))
            else:
                results.append(ArrivalResult(barcode, "wrong_status", order))
    return results


def order_cancel(*, order: IdOrder, actor: Any, now: datetime | None = None) -> IdOrder:
    """Cancel an order that is not yet in the terminal."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _order_locked(order.pk)
        _transition(order=locked, to=S.CANCELLED, at=now, actor=actor)
        if locked.terminal_opt_in:
            locked.terminal_closed_at = now
            locked.save(update_fields=["terminal_closed_at"])
    return locked


def order_counter_handover(*, order: IdOrder, actor: Any, now: datetime | None = None) -> IdOrder:
    """The citizen collected the document at the counter (after return, or without opt-in)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _order_locked(order.pk)
        _transition(order=locked, to=S.PICKED_UP_COUNTER, at=now, actor=actor)
        locked.handed_over_at = now
        if locked.terminal_opt_in and locked.terminal_closed_at is None:
            locked.terminal_closed_at = now
        locked.save(update_fields=["handed_over_at", "terminal_closed_at"])
    return locked


def order_pin_resend(*, order: IdOrder, actor: Any, now: datetime | None = None) -> IdOrder:
    """Issue a new pickup PIN (the old one stops working), e.g. after a lockout."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _order_locked(order.pk)
        if locked.status not in (S.LOADED, S.NOTIFIED):
            raise Conflict(_("Only a document waiting in the terminal gets a new PIN."))
        locked.pin_failures = 0
        locked.pin_locked = False
        _pin_issue(order=locked, now=now, keep_deadline=locked.pickup_deadline is not None)
        audit_record(
            municipality=locked.municipality,
            action="idpickup.pin.reissued",
            actor=actor,
            target=locked,
        )
    return locked


# --- notifications to the citizen's terminal contact -----------------------------------


def _contact_send(*, order_id: int, template: str, context: dict[str, Any]) -> bool:
    """Send a message to the order's contact (text message or e-mail); True if handed over.

    Used directly, not through a queued task, when the text holds the PIN: the PIN must
    not be written to the task queue (ADR 0018).
    """
    from rathaus.notifications import channels
    from rathaus.notifications.rendering import notification_render

    order = IdOrder.objects.select_related("municipality", "location").get(pk=order_id)
    if not order.contact_address:
        return False
    full = {"order": order, "municipality": order.municipality, "location": order.location}
    full.update(context)
    try:
        if order.contact_channel == IdOrder.Channel.SMS:
            text = notification_render(
                template=template, channel="sms", context=full, language="de"
            )
            channels.sms_send(to=order.contact_address, text=text.body)
        else:
            text = notification_render(
                template=template, channel="email", context=full, language="de"
            )
            channels.email_send(
                to=order.contact_address,
                subject=text.subject,
                body=text.body,
                body_html=text.body_html,
            )
    except channels.DeliveryError as error:
        logger.warning(
            "terminal contact not reached", extra={"order": order_id, "error": str(error)}
        )
        return False
    return True


def _pin_issue(*, order: IdOrder, now: datetime, keep_deadline: bool = False) -> None:
    """Make a new PIN for ``order`` (locked), store its digest, send it after commit."""
    pin = signing.pin_new()
    order.pin_hash = signing.pin_digest(order_id=order.pk, pin=pin)
    order.pin_delivery_failed = False
    if not keep_deadline:
        days = municipal_setting(order.municipality, "idpickup.storage_days")
        order.pickup_deadline = now + timedelta(days=days)
    order.save()
    order_id = order.pk
    transaction.on_commit(lambda: _pin_deliver(order_id=order_id, pin=pin))


def _pin_deliver(*, order_id: int, pin: str) -> None:
    sent = _contact_send(order_id=order_id, template="idpickup_pin", context={"pin": pin})
    now = timezone.now()
    with transaction.atomic():
        order = _order_locked(order_id)
        if not sent:
            order.pin_delivery_failed = True
            order.save(update_fields=["pin_delivery_failed"])
            if order.terminal_id:
                _alarm_raise(
                    terminal_id=order.terminal_id,
                    kind=Alarm.Kind.PIN_NOT_SENT,
                    detail=order.booking_number,
                    at=now,
                )
            return
        order.pin_sent_at = now
        order.save(update_fields=["pin_sent_at"])
        if order.status == S.LOADED:
            _transition(order=order, to=S.NOTIFIED, at=now, data={"channel": order.contact_channel})


# --- alarms and staff alerts -------------------------------------------------------------


def _alarm_raise(*, terminal_id: int, kind: str, detail: str, at: datetime) -> Alarm:
    terminal = Terminal.objects.select_related("municipality").get(pk=terminal_id)
    alarm = Alarm.objects.create(
        municipality_id=terminal.municipality_id,
        terminal=terminal,
        kind=kind,
        detail=detail[:200],
        raised_at=at,
    )
    audit_record(
        municipality=terminal.municipality,
        action="idpickup.alarm.raised",
        target=terminal,
        data={"kind": kind, "detail": detail[:200], "alarm": alarm.pk},
    )
    alarm_id = alarm.pk
    transaction.on_commit(lambda: _staff_alert(alarm_id=alarm_id))
    return alarm


def _staff_alert(*, alarm_id: int) -> None:
    """Tell the staff who manage the terminals (in-app and e-mail)."""
    from rathaus.accounts.models import User
    from rathaus.notifications.services import notify

    alarm = Alarm.objects.select_related("terminal").filter(pk=alarm_id).first()
    if alarm is None:
        return
    staff = User.objects.filter(
        municipality_id=alarm.municipality_id, is_staff=True, is_active=True
    ).order_by("pk")
    for user in staff:
        if user.has_perm(MANAGE_PERMISSION):
            notify(
                recipient=user,
                event="idpickup.alarm",
                key=str(alarm.pk),
                template="idpickup_alarm",
                context={
                    "terminal": alarm.terminal.name,
                    "kind": alarm.get_kind_display(),
                    "detail": alarm.detail,
                },
                channels=("inapp", "email"),
                url="/verwaltung/ausweisabholung/",
            )


def alarm_clear(*, alarm: Alarm, actor: Any, now: datetime | None = None) -> Alarm:
    """A staff member dealt with an alarm; a PIN lockout of the terminal ends with it."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = (
            Alarm.objects.select_for_update(of=("self",))
            .select_related("terminal")
            .get(pk=alarm.pk)
        )
        if locked.cleared_at is not None:
            return locked
        locked.cleared_at, locked.cleared_by = now, actor
        locked.save(update_fields=["cleared_at", "cleared_by"])
        if locked.kind == Alarm.Kind.PIN_LOCKOUT and not locked.detail:
            Terminal.objects.filter(pk=locked.terminal_id).update(pin_locked_until=None)
            cache.delete(_terminal_failures_key(locked.terminal_id))
        audit_record(
            municipality=locked.terminal.municipality,
            action="idpickup.alarm.cleared",
            actor=actor,
            target=locked.terminal,
            data={"alarm": locked.pk, "kind": locked.kind},
        )
    return locked


# --- terminals ---------------------------------------------------------------------------


def terminal_register(
    *,
    municipality: Municipality,
    actor: Any,
    location: Location,
    name: str,
    compartments: Sequence[tuple[str, int]],
    simulator: bool = False,
    now: datetime | None = None,
) -> tuple[Terminal, str]:
    """Register a terminal with its compartments; returns it and its device key (shown once).

    ``compartments`` are (size, height above floor in cm), numbered from 1.
    """
    now = now or timezone.now()
    if location.municipality_id != municipality.pk:
        raise NotFound()
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed(fields={"name": [_("Enter a name of at most 100 characters.")]})
    if not 1 <= len(compartments) <= 200:
        raise ValidationFailed(
            fields={"compartments": [_("A terminal has 1 to 200 compartments.")]}
        )
    for size, height in compartments:
        if size not in Size.values or not 0 <= height <= 250:
            raise ValidationFailed(
                fields={
                    "compartments": [_("Each compartment needs a size and a height (0-250 cm).")]
                }
            )
    salt = signing.new_salt()
    device_id = "t-" + secrets.token_hex(8)
    with transaction.atomic():
        if Terminal.objects.filter(municipality=municipality, name=name).exists():
            raise Conflict(_("A terminal with this name exists."), code="name_taken")
        terminal = Terminal.objects.create(
            municipality=municipality,
            location=location,
            name=name,
            device_id=device_id,
            key_salt=salt,
            key_issued_at=now,
            simulator=simulator,
        )
        Compartment.objects.bulk_create(
            Compartment(
                municipality=municipality,
                terminal=terminal,
                number=index,
                size=size,
                height_cm=height,
            )
            for index, (size, height) in enumerate(compartments, start=1)
        )
        audit_record(
            municipality=municipality,
            action="idpickup.terminal.registered",
            actor=actor,
            target=terminal,
            data={"compartments": len(compartments), "location": location.pk},
        )
    return terminal, signing.device_key(device_id=device_id, salt=salt)


def terminal_key_rotate(*, terminal: Terminal, actor: Any, now: datetime | None = None) -> str:
    """A new device key; the old one stops working at once."""
    with transaction.atomic():
        locked = Terminal.objects.select_for_update(of=("self",)).get(pk=terminal.pk)
        locked.key_salt = signing.new_salt()
        locked.key_issued_at = now or timezone.now()
        locked.save(update_fields=["key_salt", "key_issued_at"])
        audit_record(
            municipality=locked.municipality,
            action="idpickup.terminal.key_rotated",
            actor=actor,
            target=locked,
        )
    return signing.device_key(device_id=locked.device_id, salt=locked.key_salt)


def terminal_key(*, terminal: Terminal) -> str:
    """The device key of a simulator terminal (for the kiosk simulator page only)."""
    if not terminal.simulator:
        raise PermissionDenied()
    return signing.device_key(device_id=terminal.device_id, salt=terminal.key_salt)


def device_request_authenticate(
    *,
    municipality: Municipality,
    device_id: str,
    timestamp: str,
    nonce: str,
    signature: str,
    method: str,
    path: str,
    body: bytes,
    now: datetime | None = None,
) -> Terminal:
    """Check a terminal's signed request: a device of ``municipality`` (the address the
    request was sent to), fresh timestamp, unused nonce, valid HMAC. The nonce is stored
    (and the request thereby spent) before any work; a terminal of another municipality
    is unknown here, so a request sent to the wrong address spends nothing."""
    now = now or timezone.now()
    terminal = (
        Terminal.objects.select_related("municipality", "location")
        .filter(municipality=municipality, device_id=device_id[:40], active=True)
        .first()
        if device_id
        else None
    )
    # Compute a signature even for unknown devices: the timing tells nothing.
    key = (
        signing.device_key(device_id=terminal.device_id, salt=terminal.key_salt)
        if terminal
        else signing.device_key(device_id="unknown", salt="unknown")
    )
    expected = signing.request_signature(
        key=key, method=method, path=path, timestamp=timestamp, nonce=nonce, body=body
    )
    if terminal is None or not signing.signature_valid(expected=expected, given=signature):
        raise DeviceAuthFailed()
    try:
        sent = datetime.fromtimestamp(int(timestamp), tz=UTC)
    except (ValueError, OverflowError, OSError) as error:
        raise DeviceAuthFailed(code="stale_request") from error
    if abs((now - sent).total_seconds()) > TIMESTAMP_WINDOW_SECONDS:
        raise DeviceAuthFailed(
            _("The terminal's clock is off or the request is too old."), code="stale_request"
        )
    if not NONCE_PATTERN.match(nonce):
        raise DeviceAuthFailed(code="replayed_request")
    try:
        with transaction.atomic():
            DeviceNonce.objects.create(terminal=terminal, nonce=nonce, used_at=now)
    except IntegrityError as error:
        audit_record(
            municipality=terminal.municipality,
            action="idpickup.device.replay_refused",
            target=terminal,
            data={"path": path[:200]},
        )
        raise DeviceAuthFailed(
            _("This request was already received once."), code="replayed_request"
        ) from error
    Terminal.objects.filter(pk=terminal.pk).update(last_seen_at=now)
    terminal.last_seen_at = now
    return terminal


def device_nonces_prune(*, now: datetime | None = None) -> int:
    """Forget nonces older than the timestamp window (their requests are refused anyway)."""
    cutoff = (now or timezone.now()) - timedelta(seconds=2 * TIMESTAMP_WINDOW_SECONDS)
    return DeviceNonce.objects.filter(used_at__lt=cutoff).delete()[0]


def terminal_heartbeat(
    *, terminal: Terminal, camera_ok: bool | None, now: datetime | None = None
) -> Terminal:
    """The terminal is alive (the signed request itself updated ``last_seen_at``)."""
    if camera_ok is not None and camera_ok != terminal.camera_ok:
        Terminal.objects.filter(pk=terminal.pk).update(camera_ok=camera_ok)
        terminal.camera_ok = camera_ok
    return terminal


def _terminal_locked(terminal: Terminal) -> Terminal:
    return (
        Terminal.objects.select_for_update(of=("self",))
        .select_related("municipality")
        .get(pk=terminal.pk)
    )


# --- staff at the terminal (four eyes) -----------------------------------------------------


def staff_credential_set(*, user: Any, card_token: str, pin: str) -> StaffCredential:
    """Give a staff member a terminal credential (replaces an earlier one)."""
    if not getattr(user, "is_staff", False) or not user.has_perm(TERMINAL_PERMISSION):
        raise PermissionDenied()
    card_token = card_token.strip()
    errors: dict[str, list[Any]] = {}
    if not CARD_MIN_CHARS <= len(card_token) <= 200:
        errors["card_token"] = [
            _("A card token has %(min)d to 200 characters.") % {"min": CARD_MIN_CHARS}
        ]
    if not STAFF_PIN_PATTERN.match(pin):
        errors["pin"] = [_("A PIN has 4 to 12 digits.")]
    if errors:
        raise ValidationFailed(fields=errors)
    digest = signing.card_digest(card_token)
    with transaction.atomic():
        if StaffCredential.objects.filter(card_hash=digest).exclude(user=user).exists():
            raise Conflict(_("This card belongs to someone else."), code="card_taken")
        credential, _created = StaffCredential.objects.update_or_create(
            user=user,
            defaults={
                "municipality_id": user.municipality_id,
                "card_hash": digest,
                "pin_hash": make_password(pin),
                "failures": 0,
                "locked_until": None,
            },
        )
        audit_record(
            municipality=user.municipality,
            action="idpickup.credential.set",
            actor=user,
            target=credential,
        )
    return credential


@dataclass(frozen=True)
class StaffPair:
    first: Any
    second: Any


def _staff_pair(*, terminal: Terminal, staff: Sequence[dict[str, str]], now: datetime) -> StaffPair:
    """Authenticate two different staff members by card and PIN (four-eyes principle).

    Refuses one person alone, the same card twice and two cards of one person. A wrong PIN
    counts against the card; the answer never says which of the two failed.
    """
    if len(staff) != 2:
        raise PermissionDenied(
            _("Two staff members must sign in at the terminal."), code="two_staff_required"
        )
    cards = [str(entry.get("card", "")) for entry in staff]
    if cards[0] == cards[1]:
        raise PermissionDenied(
            _("The same credential was used twice; a second person must sign in."),
            code="same_credential",
        )
    users = []
    failed = False
    for entry in staff:
        credential = (
            StaffCredential.objects.select_related("user")
            .filter(
                municipality_id=terminal.municipality_id,
                card_hash=signing.card_digest(str(entry.get("card", ""))),
            )
            .first()
        )
        pin = str(entry.get("pin", ""))
        if credential is None:
            check_password(pin, make_password("0000"))  # same work as a real check
            failed = True
            continue
        if credential.locked_until and credential.locked_until > now:
            failed = True
            continue
        if not check_password(pin, credential.pin_hash):
            credential.failures += 1
            if credential.failures >= STAFF_PIN_ATTEMPTS:
                credential.locked_until = now + timedelta(seconds=STAFF_LOCK_SECONDS)
                credential.failures = 0
            credential.save(update_fields=["failures", "locked_until"])
            failed = True
            continue
        if credential.failures:
            credential.failures = 0
            credential.save(update_fields=["failures"])
        user = credential.user
        if not user.is_active or not user.is_staff or not user.has_perm(TERMINAL_PERMISSION):
            failed = True
            continue
        users.append(user)
    if failed:
        audit_record(
            municipality=terminal.municipality,
            action="idpickup.staff.auth_failed",
            target=terminal,
            data={"known": [u.pk for u in users]},
        )
        raise PermissionDenied(
            _("A staff credential was not accepted."), code="staff_credential_invalid"
        )
    if users[0].pk == users[1].pk:
        raise PermissionDenied(
            _("Both credentials belong to one person; a second person must sign in."),
            code="same_person",
        )
    return StaffPair(users[0], users[1])


def _free_compartment(*, terminal: Terminal, order: IdOrder) -> Compartment | None:
    """The best free compartment: big enough, low if asked for, else the highest fitting one
    (low compartments stay free for those who need them), smallest size first."""
    taken = IdOrder.objects.filter(terminal=terminal, compartment__isnull=False).values(
        "compartment_id"
    )
    free = [
        c
        for c in Compartment.objects.filter(terminal=terminal, blocked=False, door="closed")
        .exclude(pk__in=taken)
        .order_by("number")
        if SIZE_ORDER[Size(c.size)] >= SIZE_ORDER[Size(order.size)]
    ]
    if order.needs_low_compartment:
        free = [c for c in free if c.is_low]
    if not free:
        return None
    return min(free, key=lambda c: (SIZE_ORDER[Size(c.size)], -c.height_cm, c.number))


def terminal_load(
    *,
    terminal: Terminal,
    staff: Sequence[dict[str, str]],
    barcode: str,
    now: datetime | None = None,
) -> tuple[IdOrder, Compartment]:
    """Two staff members load a scanned document: the terminal gets a fitting free
    compartment to open. The order becomes ``loaded`` when the door-closed report arrives."""
    now = now or timezone.now()
    pair = _staff_pair(terminal=terminal, staff=staff, now=now)
    code = barcode.strip().upper()
    if not BARCODE_PATTERN.match(code):
        raise ValidationFailed(fields={"barcode": [_("A barcode has 6 to 40 letters and digits.")]})
    with transaction.atomic():
        locked_terminal = _terminal_locked(terminal)
        order = (
            IdOrder.objects.select_for_update(of=("self",))
            .select_related("municipality")
            .filter(municipality_id=terminal.municipality_id, document_barcode=code)
            .first()
        )
        if order is None:
            raise NotFound(_("No order has this barcode."), code="unknown_barcode")
        if order.status in IN_TERMINAL:
            raise Conflict(
                _("This document is already in a terminal (compartment %(number)s).")
                % {"number": order.compartment.number if order.compartment else "-"},
                code="already_loaded",
            )
        if order.status != S.ARRIVED:
            raise Conflict(_("This document has not been recorded as arrived."), code="not_arrived")
        if not order.terminal_opt_in or order.location_id != locked_terminal.location_id:
            raise Conflict(
                _("This document is not to be picked up at this terminal."),
                code="not_for_this_terminal",
            )
        compartment = _free_compartment(terminal=locked_terminal, order=order)
        if compartment is None:
            raise Conflict(_("No fitting compartment is free."), code="terminal_full")
        order.terminal = locked_terminal
        order.compartment = compartment
        _transition(
            order=order,
            to=S.LOADING,
            at=now,
            actor=pair.first,
            second_actor=pair.second,
            data={"compartment": compartment.number},
        )
        _door_release(compartment=compartment, reason="load", pair=pair, order=order)
    return order, compartment


def _door_release(
    *, compartment: Compartment, reason: str, pair: StaffPair | None, order: IdOrder | None
) -> None:
    """Record that the server told the terminal to open a door, and by whom: the next
    door-opened report of this compartment is then expected, any other is an alarm."""
    compartment.released_at = timezone.now()
    compartment.save(update_fields=["released_at"])
    audit_record(
        municipality=compartment.terminal.municipality,
        action="idpickup.compartment.opened",
        actor=pair.first if pair else None,
        target=compartment,
        data={
            "reason": reason,
            "terminal": compartment.terminal_id,
            "number": compartment.number,
            "second_staff": pair.second.pk if pair else None,
            "by": "staff" if pair else "citizen",
            "order": order.booking_number if order else None,
        },
    )


def terminal_unload(
    *,
    terminal: Terminal,
    staff: Sequence[dict[str, str]],
    compartment_number: int,
    now: datetime | None = None,
) -> tuple[IdOrder, Compartment]:
    """Two staff members take an expired document out to return it to the counter."""
    now = now or timezone.now()
    pair = _staff_pair(terminal=terminal, staff=staff, now=now)
    with transaction.atomic():
        locked_terminal = _terminal_locked(terminal)
        compartment = Compartment.objects.filter(
            terminal=locked_terminal, number=compartment_number
        ).first()
        order = (
            IdOrder.objects.select_for_update(of=("self",)).filter(compartment=compartment).first()
            if compartment
            else None
        )
        if compartment is None or order is None:
            raise NotFound(_("This compartment holds no document."), code="compartment_empty")
        if order.status != S.EXPIRED:
            raise Conflict(
                _("Only documents whose pickup window has expired are taken out."),
                code="not_expired",
            )
        _transition(order=order, to=S.UNLOADING, at=now, actor=pair.first, second_actor=pair.second)
        _door_release(compartment=compartment, reason="unload", pair=pair, order=order)
    return order, compartment


def terminal_open(
    *,
    terminal: Terminal,
    staff: Sequence[dict[str, str]],
    compartment_number: int,
    reason: str,
    now: datetime | None = None,
) -> Compartment:
    """Two staff members open a compartment by hand (maintenance, a stuck door)."""
    now = now or timezone.now()
    pair = _staff_pair(terminal=terminal, staff=staff, now=now)
    reason = reason.strip()
    if not 3 <= len(reason) <= 200:
        raise ValidationFailed(fields={"reason": [_("Give a reason (3 to 200 characters).")]})
    with transaction.atomic():
        locked_terminal = _terminal_locked(terminal)
        compartment = Compartment.objects.filter(
            terminal=locked_terminal, number=compartment_number
        ).first()
        if compartment is None:
            raise NotFound(_("No such compartment."), code="unknown_compartment")
        order = IdOrder.objects.filter(compartment=compartment).first()
        _door_release(compartment=compartment, reason=f"manual: {reason}", pair=pair, order=order)
    return compartment


# --- pickup by the citizen ---------------------------------------------------------------


def _terminal_failures_key(terminal_id: int) -> str:
    return f"idpickup:pin-failures:{terminal_id}"


def _pin_failure(*, terminal: Terminal, order: IdOrder | None, now: datetime) -> None:
    """Count a wrong PIN at the terminal (and at the document, if it was named)."""
    key = _terminal_failures_key(terminal.pk)
    cache.add(key, 0, TERMINAL_PIN_WINDOW_SECONDS)
    failures = cache.incr(key)
    with transaction.atomic():
        audit_record(
            municipality=terminal.municipality,
            action="idpickup.pin.failed",
            target=terminal,
            data={"document": order.booking_number if order else None},
        )
        if failures >= TERMINAL_PIN_ATTEMPTS:
            Terminal.objects.filter(pk=terminal.pk).update(
                pin_locked_until=now + timedelta(seconds=TERMINAL_PIN_LOCK_SECONDS)
            )
            cache.delete(key)
            _alarm_raise(terminal_id=terminal.pk, kind=Alarm.Kind.PIN_LOCKOUT, detail="", at=now)
        if order is not None:
            locked = _order_locked(order.pk)
            locked.pin_failures += 1
            if locked.pin_failures >= DOCUMENT_PIN_ATTEMPTS and not locked.pin_locked:
                locked.pin_locked = True
                _alarm_raise(
                    terminal_id=terminal.pk,
                    kind=Alarm.Kind.PIN_LOCKOUT,
                    detail=locked.booking_number,
                    at=now,
                )
            locked.save(update_fields=["pin_failures", "pin_locked"])


PIN_INPUT = re.compile(r"^[0-9]{4,12}$")


def pickup_identify(
    *,
    terminal: Terminal,
    pin: str,
    booking_number: str = "",
    now: datetime | None = None,
) -> tuple[IdOrder, str]:
    """Step one of a pickup: the citizen's PIN (and, scanned from the letter, the booking
    number). Returns the order and a short-lived session token for the verification step.

    A wrong PIN, an unknown booking number and a PIN of another terminal get the same
    answer; failures are counted per terminal and, with a booking number, per document.
    """
    now = now or timezone.now()
    fresh = Terminal.objects.get(pk=terminal.pk)
    if fresh.pin_locked_until and fresh.pin_locked_until > now:
        raise RateLimited(
            _("PIN entry is paused at this terminal. Please ask the staff."), code="terminal_locked"
        )
    booking_number = booking_number.strip().upper()[:12]
    candidates = IdOrder.objects.filter(
        terminal_id=terminal.pk, status__in=[S.NOTIFIED, S.LOADED, S.EXPIRED]
    ).exclude(pin_hash="")
    named: IdOrder | None = None
    if booking_number:
        named = IdOrder.objects.filter(
            municipality_id=terminal.municipality_id, booking_number=booking_number
        ).first()
        candidates = candidates.filter(booking_number=booking_number)
    pin = pin.strip()
    matched: IdOrder | None = None
    if PIN_INPUT.match(pin):
        for order in candidates:
            # Check every candidate, so the time taken does not depend on the match.
            if (
                signing.pin_matches(order_id=order.pk, pin=pin, stored=order.pin_hash)
                and not matched
            ):
                matched = order
    if matched is None:
        _pin_failure(terminal=terminal, order=named, now=now)
        raise PinRefused()
    if matched.pin_locked:
        raise PermissionDenied(
            _("This PIN is locked after too many wrong entries. Please ask the staff."),
            code="pin_locked",
        )
    if matched.status == S.EXPIRED or (matched.pickup_deadline and matched.pickup_deadline < now):
        raise PermissionDenied(
            _("The pickup window has ended. The document is returned to the counter."),
            code="pin_expired",
        )
    token = signing.session_token()
    with transaction.atomic():
        order = _order_locked(matched.pk)
        order.pin_failures = 0
        order.pickup_session_hash = signing.token_digest(token)
        order.pickup_session_until = now + timedelta(seconds=PICKUP_SESSION_SECONDS)
        order.save(update_fields=["pin_failures", "pickup_session_hash", "pickup_session_until"])
        audit_record(
            municipality=terminal.municipality,
            action="idpickup.pickup.started",
            target=order,
            data={"terminal": terminal.pk},
        )
    return order, token


def pickup_verify(
    *,
    terminal: Terminal,
    session: str,
    method: str,
    matched: bool,
    receipt_confirmed: bool,
    old_document_invalidated: bool = False,
    now: datetime | None = None,
) -> tuple[IdOrder, Compartment]:
    """Step two: the terminal reports the identity check (fingerprint, or the old ID card's
    chip read and invalidated) and the confirmation of receipt of the PIN letter; the
    compartment opens. Handover is complete once door-closed and empty are reported."""
    now = now or timezone.now()
    if method not in IdOrder.Verification.values:
        raise ValidationFailed(fields={"method": [_("Unknown verification method.")]})
    refusal: ApplicationError | None = None
    with transaction.atomic():
        _terminal_locked(terminal)
        order = (
            IdOrder.objects.select_for_update(of=("self",))
            .select_related("municipality", "compartment")
            .filter(
                terminal_id=terminal.pk,
                pickup_session_hash=signing.token_digest(session[:100]),
                pickup_session_until__gt=now,
            )
            .first()
            if session
            else None
        )
        if order is None:
            raise PermissionDenied(
                _("The pickup session has ended. Please enter your PIN again."),
                code="session_invalid",
            )
        # The session is spent whatever happens next; the refusal is raised after commit.
        order.pickup_session_hash, order.pickup_session_until = "", None
        order.save(update_fields=["pickup_session_hash", "pickup_session_until"])
        identity_ok = matched and (
            method == IdOrder.Verification.FINGERPRINT or old_document_invalidated
        )
        if order.status != S.NOTIFIED or order.compartment is None:
            refusal = Conflict(_("This document is not ready for pickup."), code="not_ready")
        elif not identity_ok or not receipt_confirmed:
            audit_record(
                municipality=order.municipality,
                action="idpickup.pickup.verification_failed",
                target=order,
                data={"method": method, "matched": matched, "receipt": receipt_confirmed},
            )
            refusal = (
                ValidationFailed(
                    _("Please confirm that you received the PIN letter."),
                    code="receipt_not_confirmed",
                )
                if identity_ok
                else PermissionDenied(
                    _("Your identity could not be confirmed. Please ask the staff."),
                    code="identity_not_verified",
                )
            )
        else:
            order.verification = method
            order.old_document_invalidated = bool(
                method == IdOrder.Verification.OLD_DOCUMENT and old_document_invalidated
            )
            order.receipt_confirmed_at = now
            _transition(order=order, to=S.HANDOVER, at=now, data={"method": method})
            _door_release(compartment=order.compartment, reason="pickup", pair=None, order=order)
    if refusal is not None:
        raise refusal
    assert order.compartment is not None
    return order, order.compartment


# --- device events -------------------------------------------------------------------------


@dataclass(frozen=True)
class EventResult:
    event: DeviceEvent
    created: bool


def device_event_report(
    *,
    terminal: Terminal,
    event_id: str,
    kind: str,
    occurred_at: datetime,
    compartment_number: int | None = None,
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> EventResult:
    """Record a terminal event once per event id and apply it.

    Events reported late (after the terminal was offline) are applied by their own
    timestamp: an older door report never overwrites a newer one, and a handover is
    dated when it happened, not when it was reported.
    """
    now = now or timezone.now()
    data = dict(data or {})
    if not EVENT_ID_PATTERN.match(event_id):
        raise ValidationFailed(fields={"event_id": [_("Invalid event id.")]})
    if kind not in DeviceEvent.Kind.values:
        raise ValidationFailed(fields={"type": [_("Unknown event type.")]})
    if occurred_at > now + timedelta(seconds=TIMESTAMP_WINDOW_SECONDS):
        raise ValidationFailed(fields={"occurred_at": [_("The event lies in the future.")]})
    with transaction.atomic():
        locked_terminal = _terminal_locked(terminal)
        existing = DeviceEvent.objects.filter(terminal=terminal, event_id=event_id).first()
        if existing is not None:
            return EventResult(existing, False)
        compartment = None
        if kind in (DeviceEvent.Kind.DOOR_OPENED, DeviceEvent.Kind.DOOR_CLOSED):
            compartment = Compartment.objects.filter(
                terminal=locked_terminal, number=compartment_number or 0
            ).first()
            if compartment is None:
                raise ValidationFailed(fields={"compartment": [_("No such compartment.")]})
        event = DeviceEvent.objects.create(
            municipality_id=terminal.municipality_id,
            terminal=locked_terminal,
            event_id=event_id,
            kind=kind,
            compartment_number=compartment_number if compartment else None,
            occurred_at=occurred_at,
            received_at=now,
            data=data,
        )
        event.outcome = _event_apply(
            terminal=locked_terminal, event=event, compartment=compartment, now=now
        )
        event.save(update_fields=["outcome"])
    return EventResult(event, True)


def _event_apply(
    *, terminal: Terminal, event: DeviceEvent, compartment: Compartment | None, now: datetime
) -> str:
    at = event.occurred_at
    if event.kind == DeviceEvent.Kind.CAMERA:
        ok = bool(event.data.get("ok"))
        Terminal.objects.filter(pk=terminal.pk).update(camera_ok=ok)
        if not ok:
            _alarm_raise(terminal_id=terminal.pk, kind=Alarm.Kind.DEVICE, detail="camera", at=at)
        return "camera_ok" if ok else "camera_fault"
    if event.kind == DeviceEvent.Kind.ALARM:
        detail = str(event.data.get("alarm", ""))[:100] or "alarm"
        _alarm_raise(terminal_id=terminal.pk, kind=Alarm.Kind.DEVICE, detail=detail, at=at)
        return "alarm_raised"
    if event.kind == DeviceEvent.Kind.ALARM_CLEARED:
        Alarm.objects.filter(terminal=terminal, kind=Alarm.Kind.DEVICE, cleared_at=None).update(
            cleared_at=at
        )
        return "alarm_cleared"
    assert compartment is not None
    if compartment.door_changed_at and at < compartment.door_changed_at:
        return "stale"  # a newer door report is already known
    empty = event.data.get("empty")
    compartment.door_changed_at = at
    order = IdOrder.objects.select_for_update(of=("self",)).filter(compartment=compartment).first()
    if event.kind == DeviceEvent.Kind.DOOR_OPENED:
        compartment.door = Compartment.Door.OPEN
        compartment.save(update_fields=["door", "door_changed_at"])
        audit_record(
            municipality=terminal.municipality,
            action="idpickup.compartment.door_opened",
            target=compartment,
            data={"at": at.isoformat(), "order": order.booking_number if order else None},
        )
        if compartment.released_at is not None:
            return "door_opened"
        _alarm_raise(
            terminal_id=terminal.pk,
            kind=Alarm.Kind.DOOR_OPEN,
            detail=str(compartment.number),
            at=at,
        )
        return "door_open_unexpected"
    # Door closed.
    compartment.door = Compartment.Door.CLOSED
    compartment.released_at = None
    if isinstance(empty, bool):
        compartment.empty = empty
    compartment.save(update_fields=["door", "door_changed_at", "empty", "released_at"])
    audit_record(
        municipality=terminal.municipality,
        action="idpickup.compartment.door_closed",
        target=compartment,
        data={"at": at.isoformat(), "empty": empty},
    )
    if order is None:
        return "door_closed"
    if order.status == S.LOADING:
        if empty is False:
            _transition(order=order, to=S.LOADED, at=at, data={"event": event.event_id})
            _pin_issue(order=order, now=at)
            return "loaded"
        order.compartment = None
        order.terminal = None
        _transition(order=order, to=S.ARRIVED, at=at, note="loading aborted")
        return "load_aborted"
    if order.status == S.HANDOVER:
        if empty is True:
            order.compartment = None
            order.handed_over_at = at
            order.terminal_closed_at = at
            _transition(order=order, to=S.PICKED_UP, at=at, data={"event": event.event_id})
            return "picked_up"
        _transition(order=order, to=S.NOTIFIED, at=at, note="document not taken")
        _alarm_raise(
            terminal_id=terminal.pk, kind=Alarm.Kind.NOT_TAKEN, detail=order.booking_number, at=at
        )
        return "not_taken"
    if order.status == S.UNLOADING:
        if empty is True:
            order.compartment = None
            order.terminal_closed_at = at
            _transition(order=order, to=S.RETURNED, at=at, data={"event": event.event_id})
            order_id = order.pk
            transaction.on_commit(
                lambda: _contact_send(order_id=order_id, template="idpickup_returned", context={})
            )
            return "returned"
        _transition(order=order, to=S.EXPIRED, at=at, note="document not taken out")
        return "unload_aborted"
    if empty is True:
        # A document that should be inside is gone (manual opening, forced door).
        _alarm_raise(
            terminal_id=terminal.pk, kind=Alarm.Kind.NOT_TAKEN, detail=order.booking_number, at=at
        )
        return "document_missing"
    return "door_closed"


# --- expiry ----------------------------------------------------------------------------------


def _reminder_send(order_id: int) -> None:
    _contact_send(order_id=order_id, template="idpickup_reminder", context={})


def orders_expire(*, now: datetime | None = None) -> dict[str, int]:
    """Remind citizens a day before their pickup window ends; move documents whose window
    ended to ``expired`` (they appear on the dashboard's list of documents to take out)."""
    now = now or timezone.now()
    reminded = expired = 0
    due = IdOrder.objects.filter(
        status=S.NOTIFIED,
        reminder_sent_at=None,
        pickup_deadline__lte=now + REMINDER_BEFORE,
        pickup_deadline__gt=now,
    ).values_list("pk", flat=True)
    for order_id in list(due):
        with transaction.atomic():
            order = _order_locked(order_id)
            if order.status != S.NOTIFIED or order.reminder_sent_at:
                continue
            order.reminder_sent_at = now
            order.save(update_fields=["reminder_sent_at"])
            audit_record(
                municipality=order.municipality, action="idpickup.order.reminded", target=order
            )
            transaction.on_commit(partial(_reminder_send, order_id))
            reminded += 1
    past = IdOrder.objects.filter(
        status__in=[S.NOTIFIED, S.LOADED], pickup_deadline__lte=now
    ).values_list("pk", flat=True)
    for order_id in list(past):
        with transaction.atomic():
            order = _order_locked(order_id)
            if order.status not in (S.NOTIFIED, S.LOADED):
                continue
            _transition(order=order, to=S.EXPIRED, at=now, note="pickup window ended")
            expired += 1
    return {"reminded": reminded, "expired": expired}


# --- retention -------------------------------------------------------------------------------


def terminal_data_erase(queryset: Any) -> int:
    """Delete fingerprint reference, PIN digest and contact of finished orders; audited per
    order (called by the retention rule ``idpickup.terminal_data``)."""
    now = timezone.now()
    count = 0
    for order in queryset.select_related("municipality"):
        IdOrder.objects.filter(pk=order.pk).update(
            fingerprint_ref="",
            pin_hash="",
            contact_channel="",
            contact_address="",
            pickup_session_hash="",
            pickup_session_until=None,
            terminal_data_deleted_at=now,
        )
        audit_record(
            municipality=order.municipality,
            action="idpickup.terminal_data.deleted",
            target=order,
            data={"fields": ["fingerprint_ref", "pin_hash", "contact_address"]},
        )
        count += 1
    return count


def overdue_filter() -> Q:
    return Q(status__in=[S.EXPIRED, S.UNLOADING])


# --- public status lookup --------------------------------------------------------------------

LOOKUP_ATTEMPTS = 10
LOOKUP_WINDOW_SECONDS = 15 * 60


def order_status_lookup(
    *, municipality: Municipality, booking_number: str, date_of_birth: date, ip: str
) -> IdOrder:
    """An order by booking number and date of birth, for citizens without an account.

    Unknown numbers and wrong dates get the same ``NotFound``; failures are counted per
    client address and per booking number, so neither can be guessed at speed.
    """
    number = booking_number.strip().upper()[:12]
    # The number is the citizen's input: hashed, so any text makes a valid cache key, and
    # per municipality, so failures in one town never lock a number in another.
    digest = hashlib.sha256(number.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    keys = [
        f"idpickup:lookup:ip:{ip}",
        f"idpickup:lookup:number:{municipality.pk}:{digest}",
    ]
    if any((cache.get(key) or 0) >= LOOKUP_ATTEMPTS for key in keys):
        raise RateLimited()
    order = (
        IdOrder.objects.select_related("location")
        .filter(municipality=municipality, booking_number=number, date_of_birth=date_of_birth)
        .first()
        if BOOKING_NUMBER_PATTERN.fullmatch(number)
        else None  # not a booking number: no query with arbitrary text
    )
    if order is None:
        for key in keys:
            cache.add(key, 0, LOOKUP_WINDOW_SECONDS)
            cache.incr(key)
        raise NotFound(
            _("We found no document for this booking number and date of birth."),
            code="not_found",
        )
    return order
