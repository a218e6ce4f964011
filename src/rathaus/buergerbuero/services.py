"""Every write of the Bürgerbüro: appointments (reserve, confirm, cancel, rebook, check in),
tickets (draw, call next, recall, no-show, transfer, finish), duty, estimates, and the
scheduled work (reservation expiry, reminders, end of day, learning durations).

Race-prone writes lock the office row (``Office`` ``select_for_update``): booking a slot,
numbering a ticket and calling the next one are serialised per office, so a slot is never
given twice and two clerks never get the same ticket (tests on PostgreSQL).
"""

from __future__ import annotations

import logging
import re
import statistics
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rathaus.audit.services import audit_record
from rathaus.buergerbuero import selectors
from rathaus.buergerbuero.models import (
    Appointment,
    Call,
    Counter,
    Duty,
    Office,
    Prediction,
    ServiceSetup,
    Ticket,
)
from rathaus.buergerbuero.policy import Clerk, choose_next
from rathaus.catalog.models import Location, Service
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
from rathaus.notifications import channels

if TYPE_CHECKING:
    from rathaus.accounts.models import User

logger = logging.getLogger(__name__)

TOKEN_SALT = "rathaus.buergerbuero.appointment"  # noqa: S105 - a salt, not a secret
PHONE_RE = re.compile(r"^\+?[0-9][0-9 /-]{5,22}$")
NAME_MAX = 120
MAX_SERVICES = 5
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class OfficeClosed(ApplicationError):
    status = 409
    default_code = "office_closed"
    default_message = gettext_lazy("The office is closed now.")


class ServiceNotOffered(ApplicationError):
    status = 400
    default_code = "service_not_offered"
    default_message = gettext_lazy("This service is not offered at this office.")


class SlotTaken(ApplicationError):
    status = 409
    default_code = "slot_taken"
    default_message = gettext_lazy("This time is no longer free. Please choose another one.")


class ReservationExpired(ApplicationError):
    status = 410
    default_code = "reservation_expired"
    default_message = gettext_lazy(
        "Your reservation has expired and the time was released. Please book again."
    )


class InvalidLink(ApplicationError):
    status = 400
    default_code = "invalid_link"
    default_message = gettext_lazy("This link is not valid. Please use the link from your e-mail.")


class UsedLink(ApplicationError):
    status = 409
    default_code = "link_used"
    default_message = gettext_lazy(
        "This link was already used. Use the link of your most recent e-mail."
    )


class NothingWaiting(ApplicationError):
    status = 409
    default_code = "nothing_waiting"
    default_message = gettext_lazy("Nobody is waiting for the services you can do.")


# --- helpers ---------------------------------------------------------------------------


def _office_locked(office: Office) -> Office:
    return (
        Office.objects.select_for_update()
        .select_related("location", "municipality")
        .get(pk=office.pk)
    )


def _office_for(location: Location) -> Office:
    office = selectors.office_of(location)
    if office is None or not location.is_public:
        raise NotFound(_("This office takes no visitors through this system."))
    return office


def _clean_phone(phone: str) -> str:
    phone = (phone or "").strip()
    if not phone:
        return ""
    if not PHONE_RE.match(phone):
        raise ValidationFailed(
            fields={"phone": [_("Enter a mobile number with digits only, e.g. +49 151 2345678.")]}
        )
    return re.sub(r"[ /-]", "", phone)


def _check_services(
    office: Office, services: Sequence[Service], *, for_appointment: bool
) -> list[Service]:
    services = list(dict.fromkeys(services))
    if not services:
        raise ValidationFailed(fields={"services": [_("Choose at least one concern.")]})
    if len(services) > MAX_SERVICES:
        raise ValidationFailed(
            fields={"services": [_("Choose at most %(count)d concerns.") % {"count": MAX_SERVICES}]}
        )
    for service in services:
        if service.municipality_id != office.municipality_id or not service.is_public:
            raise ServiceNotOffered()
        if selectors.service_offer(office, service) is None:
            raise ServiceNotOffered(
                _("%(service)s is not offered at %(office)s.")
                % {"service": service.name, "office": office.location.name}
            )
        mode = selectors.service_mode(office, service)
        if for_appointment and mode == ServiceSetup.Mode.WALK_IN:
            raise ServiceNotOffered(
                _("%(service)s is done without an appointment: please come and draw a ticket.")
                % {"service": service.name},
                code="walk_in_only",
            )
        if not for_appointment and mode == ServiceSetup.Mode.APPOINTMENT:
            raise ServiceNotOffered(
                _("%(service)s needs an appointment.") % {"service": service.name},
                code="appointment_only",
            )
    if for_appointment and not selectors.services_combinable(services):
        raise ValidationFailed(
            fields={"services": [_("These concerns cannot be booked in one appointment.")]}
        )
    return services


def appointment_token(appointment: Appointment, op: str) -> str:
    """A signed link token for ``op`` (``confirm`` or ``manage``) bound to the current nonce."""
    return signing.dumps({"a": appointment.pk, "n": appointment.nonce, "o": op}, salt=TOKEN_SALT)


def _appointment_by_token(token: str, op: str, municipality: Municipality) -> Appointment:
    """The appointment a token names, locked; forged → InvalidLink, replayed → UsedLink.

    A valid link opened at another municipality's address names nothing there
    (InvalidLink), before anything is read or changed."""
    try:
        data = signing.loads(token, salt=TOKEN_SALT)
    except signing.BadSignature as error:
        raise InvalidLink() from error
    if not isinstance(data, dict) or data.get("o") != op or not isinstance(data.get("a"), int):
        raise InvalidLink()
    appointment = (
        Appointment.objects.select_for_update()
        .select_related("office__location", "municipality")
        .filter(pk=data["a"], municipality=municipality)
        .first()
    )
    if appointment is None:
        raise InvalidLink()
    if appointment.nonce != data.get("n"):
        raise UsedLink()
    return appointment


def _new_code() -> str:
    while True:
        code = get_random_string(8, CODE_ALPHABET)
        if not Appointment.objects.filter(code=code).exists():
            return code


def _rotate(appointment: Appointment) -> None:
    appointment.nonce = get_random_string(24)


# --- e-mail and SMS --------------------------------------------------------------------


def _site_url(municipality: Municipality) -> str:
    from rathaus.postfach.services import site_url_of

    return site_url_of(municipality)


def ics_of(appointment: Appointment) -> str:
    """The appointment as an iCalendar file (RFC 5545)."""

    def esc(text: str) -> str:
        return (
            text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")
        )

    fmt = "%Y%m%dT%H%M%SZ"
    services = ", ".join(s.name_de for s in appointment.services.all())
    location = appointment.office.location
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//rathaus//buergerbuero//DE",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{appointment.code}@{appointment.municipality.slug}.rathaus",
        f"DTSTAMP:{timezone.now().astimezone(selectors.UTC).strftime(fmt)}",
        f"DTSTART:{appointment.start.astimezone(selectors.UTC).strftime(fmt)}",
        f"DTEND:{appointment.end.astimezone(selectors.UTC).strftime(fmt)}",
        f"SUMMARY:{esc(f'{location.name_de}: {services}')}",
        f"LOCATION:{esc(location.address_line or location.name_de)}",
        f"DESCRIPTION:{esc(f'Code {appointment.code}')}",
        "STATUS:" + ("CANCELLED" if appointment.status == "cancelled" else "CONFIRMED"),
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"


def _appointment_mail(appointment_id: int, kind: str) -> None:
    """Send the confirmation request, the confirmation (with ICS), the cancellation or the
    reminder; a failing mail server is logged, the booking stays."""
    from django.conf import settings
    from django.core.mail import EmailMultiAlternatives

    appointment = (
        Appointment.objects.select_related("office__location", "municipality")
        .prefetch_related("services")
        .get(pk=appointment_id)
    )
    if not appointment.email:
        return
    site = _site_url(appointment.municipality)
    from django.urls import reverse

    context = {
        "appointment": appointment,
        "location": appointment.office.location,
        "services": list(appointment.services.all()),
        "municipality": appointment.municipality,
        "start": appointment.start.astimezone(selectors.BERLIN),
        "confirm_url": site
        + reverse(
            "buergerbuero:confirm", kwargs={"token": appointment_token(appointment, "confirm")}
        ),
        "manage_url": site
        + reverse(
            "buergerbuero:manage", kwargs={"token": appointment_token(appointment, "manage")}
        ),
        "kind": kind,
    }
    with translation.override(appointment.language):
        subject = {
            "request": _("Please confirm your appointment"),
            "confirmed": _("Your appointment is confirmed"),
            "cancelled": _("Your appointment is cancelled"),
            "reminder": _("Reminder of your appointment"),
        }[kind]
        body = render_to_string("buergerbuero/email/appointment.txt", context)
    message = EmailMultiAlternatives(
        subject=f"{subject} - {appointment.municipality.name}",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[appointment.email],
        headers={"Auto-Submitted": "auto-generated"},
    )
    if kind in {"confirmed", "cancelled", "reminder"}:
        message.attach(f"termin-{appointment.code}.ics", ics_of(appointment), "text/calendar")
    try:
        message.send()
    except Exception:  # the booking stands; the mail server's trouble is logged
        logger.exception("appointment e-mail failed", extra={"appointment": appointment.pk})


def _sms(to: str, text: str) -> None:
    try:
        if channels.sms_available():
            channels.sms_send(to=to, text=text)
    except channels.DeliveryError:
        logger.warning("text message failed", exc_info=True)


# --- appointments ----------------------------------------------------------------------


def appointment_reserve(
    *,
    location: Location,
    services: Sequence[Service],
    start: datetime,
    name: str,
    email: str,
    phone: str = "",
    language: str = "de",
    citizen: User | None = None,
    client_ip: str | None = None,
) -> Appointment:
    """Hold ``start`` for a few minutes and e-mail the confirmation link.

    Refuses times in the past, beyond the booking window, outside opening hours or taken,
    services not offered, and more active appointments than allowed per e-mail/phone or
    reservations per IP address and hour (against hoarding)."""
    office = _office_for(location)
    municipality = office.municipality
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name or len(name) > NAME_MAX:
        errors["name"] = [_("Enter your name (at most %(max)d characters).") % {"max": NAME_MAX}]
    email = (email or "").strip().lower()
    try:
        validate_email(email)
        if len(email) > 254:
            raise ValidationError("too long")
    except ValidationError:
        errors["email"] = [_("Enter a valid e-mail address.")]
    if errors:
        raise ValidationFailed(fields=errors)
    phone = _clean_phone(phone)
    services = _check_services(office, services, for_appointment=True)
    now = timezone.now()
    if timezone.is_naive(start):
        raise ValidationFailed(fields={"start": [_("Choose a time from the list.")]})
    local_start = start.astimezone(selectors.BERLIN)
    if local_start <= now:
        raise ValidationFailed(fields={"start": [_("This time is in the past.")]})
    if local_start.date() > selectors.booking_window_end(
        municipality, now.astimezone(selectors.BERLIN).date()
    ):
        raise ValidationFailed(
            fields={
                "start": [
                    _("Appointments can be booked at most %(days)d days ahead.")
                    % {"days": municipal_setting(municipality, "buergerbuero.booking_window_days")}
                ]
            }
        )
    with transaction.atomic():
        office = _office_locked(office)
        _check_hoarding(municipality, email=email, phone=phone, client_ip=client_ip, now=now)
        minutes = selectors.appointment_minutes(office, services)
        free = dict(
            selectors.office_slots_on(
                office, local_start.date(), minutes, now=now.astimezone(selectors.BERLIN)
            )
        )
        if local_start not in free:
            within = any(
                i.opens <= local_start and local_start + timedelta(minutes=minutes) <= i.closes
                for i in selectors.opening_intervals(office, local_start.date())
            )
            if not within:
                raise ValidationFailed(
                    fields={"start": [_("The office is not open for appointments at this time.")]}
                )
            raise SlotTaken()
        appointment = Appointment.objects.create(
            municipality=municipality,
            office=office,
            start=local_start,
            end=free[local_start],
            status=Appointment.Status.RESERVED,
            reserved_until=now
            + timedelta(
                minutes=municipal_setting(municipality, "buergerbuero.reservation_minutes")
            ),
            name=name,
            email=email,
            phone=phone,
            language=language if language in {"de", "en"} else "de",
            citizen=citizen
            if citizen is not None and citizen.municipality_id == municipality.pk
            else None,
            code=_new_code(),
            client_ip=client_ip,
        )
        appointment.services.set(services)
        audit_record(
            municipality=municipality,
            action="buergerbuero.appointment_reserved",
            actor=citizen,
            target=appointment,
            ip=client_ip,
        )
        transaction.on_commit(lambda: _appointment_mail(appointment.pk, "request"))
    return appointment


def _check_hoarding(
    municipality: Municipality, *, email: str, phone: str, client_ip: str | None, now: datetime
) -> None:
    limit = municipal_setting(municipality, "buergerbuero.max_per_contact")
    active = Appointment.objects.filter(
        municipality=municipality, status__in=Appointment.ACTIVE, start__gt=now
    ).exclude(status=Appointment.Status.RESERVED, reserved_until__lt=now)
    contact = active.filter(email=email)
    if phone:
        contact = active.filter(email=email) | active.filter(phone=phone)
    if contact.count() >= limit:
        raise RateLimited(
            _("You already have %(count)d appointments. Cancel one to book another.")
            % {"count": limit},
            code="too_many_appointments",
        )
    if client_ip:
        per_ip = municipal_setting(municipality, "buergerbuero.max_per_ip_hour")
        recent = Appointment.objects.filter(
            municipality=municipality, client_ip=client_ip, created_at__gte=now - timedelta(hours=1)
        ).count()
        if recent >= per_ip:
            raise RateLimited()


def appointment_confirm(*, municipality: Municipality, token: str) -> Appointment:
    """Confirm a reservation through the e-mail link (once; an expired hold is refused and
    recorded as expired)."""
    with transaction.atomic():
        appointment = _appointment_by_token(token, "confirm", municipality)
        now = timezone.now()
        if appointment.status != Appointment.Status.RESERVED:
            raise UsedLink()
        expired = appointment.reserved_until is None or appointment.reserved_until < now
        if expired:
            appointment.status = Appointment.Status.EXPIRED
            appointment.save(update_fields=["status", "updated_at"])
        else:
            appointment.status = Appointment.Status.CONFIRMED
            appointment.confirmed_at = now
            appointment.reserved_until = None
            _rotate(appointment)
            appointment.save(
                update_fields=["status", "confirmed_at", "reserved_until", "nonce", "updated_at"]
            )
            audit_record(
                municipality=appointment.municipality,
                action="buergerbuero.appointment_confirmed",
                target=appointment,
            )
            transaction.on_commit(lambda: _appointment_mail(appointment.pk, "confirmed"))
    if expired:
        # Raised after the commit, so the hold stays recorded as expired.
        raise ReservationExpired()
    return appointment


def appointment_for_token(*, municipality: Municipality, token: str) -> Appointment:
    """The appointment a manage link names (read-only check of the link)."""
    with transaction.atomic():
        return _appointment_by_token(token, "manage", municipality)


def appointment_cancel(*, municipality: Municipality, token: str) -> Appointment:
    """Cancel through the manage link; the time is free again at once."""
    with transaction.atomic():
        appointment = _appointment_by_token(token, "manage", municipality)
        if appointment.status not in (Appointment.Status.CONFIRMED, Appointment.Status.RESERVED):
            raise Conflict(_("This appointment can no longer be cancelled."))
        if appointment.start <= timezone.now():
            raise Conflict(_("This appointment has already begun."))
        appointment.status = Appointment.Status.CANCELLED
        _rotate(appointment)
        appointment.save(update_fields=["status", "nonce", "updated_at"])
        audit_record(
            municipality=appointment.municipality,
            action="buergerbuero.appointment_cancelled",
            target=appointment,
        )
        transaction.on_commit(lambda: _appointment_mail(appointment.pk, "cancelled"))
    return appointment


def appointment_cancel_by_citizen(*, appointment: Appointment, citizen: User) -> Appointment:
    """A signed-in citizen cancels their own appointment from the Bürgerkonto."""
    if appointment.citizen_id != citizen.pk:
        raise PermissionDenied()
    return appointment_cancel(
        municipality=appointment.municipality, token=appointment_token(appointment, "manage")
    )


def appointment_rebook(*, municipality: Municipality, token: str, start: datetime) -> Appointment:
    """Move a confirmed appointment to another free time of the same office and services."""
    with transaction.atomic():
        appointment = _appointment_by_token(token, "manage", municipality)
        if appointment.status != Appointment.Status.CONFIRMED:
            raise Conflict(_("Only a confirmed appointment can be moved."))
        office = _office_locked(appointment.office)
        now = timezone.now()
        if timezone.is_naive(start) or start <= now:
            raise ValidationFailed(fields={"start": [_("This time is in the past.")]})
        local = start.astimezone(selectors.BERLIN)
        if local.date() > selectors.booking_window_end(
            office.municipality, now.astimezone(selectors.BERLIN).date()
        ):
            raise ValidationFailed(fields={"start": [_("This time is beyond the booking window.")]})
        minutes = selectors.appointment_minutes(office, list(appointment.services.all()))
        free = dict(
            selectors.office_slots_on(
                office,
                local.date(),
                minutes,
                now=now.astimezone(selectors.BERLIN),
                exclude=appointment.pk,
            )
        )
        if local not in free:
            raise SlotTaken()
        appointment.start, appointment.end = local, free[local]
        appointment.reminded_at = None
        _rotate(appointment)
        appointment.save(update_fields=["start", "end", "reminded_at", "nonce", "updated_at"])
        audit_record(
            municipality=appointment.municipality,
            action="buergerbuero.appointment_rebooked",
            target=appointment,
        )
        transaction.on_commit(lambda: _appointment_mail(appointment.pk, "confirmed"))
    return appointment


def appointment_check_in(*, location: Location, code: str) -> Ticket:
    """Check in a confirmed appointment of today by its code (QR code at the kiosk)."""
    office = _office_for(location)
    code = (code or "").strip().upper().removeprefix("BB:")
    if not re.fullmatch(r"[A-Z0-9]{8}", code):
        raise ValidationFailed(
            fields={"code": [_("Scan the QR code or type the 8-character code.")]}
        )
    now = timezone.now()
    with transaction.atomic():
        office = _office_locked(office)
        appointment = (
            Appointment.objects.select_for_update().filter(office=office, code=code).first()
        )
        if appointment is None:
            raise NotFound(_("No appointment with this code at this office."))
        if appointment.status == Appointment.Status.CHECKED_IN:
            raise Conflict(_("This appointment is already checked in."))
        if appointment.status != Appointment.Status.CONFIRMED:
            raise Conflict(_("This appointment is not confirmed or no longer valid."))
        local = appointment.start.astimezone(selectors.BERLIN)
        if local.date() != now.astimezone(selectors.BERLIN).date():
            raise Conflict(
                _("This appointment is on %(day)s.") % {"day": local.strftime("%d.%m.%Y")}
            )
        early = municipal_setting(office.municipality, "buergerbuero.checkin_early_minutes")
        if now < appointment.start - timedelta(minutes=early):
            raise Conflict(
                _("Check-in opens %(minutes)d minutes before your appointment.")
                % {"minutes": early}
            )
        ticket = _ticket_create(
            office,
            list(appointment.services.all()),
            channel=Ticket.Channel.APPOINTMENT,
            language=appointment.language,
            phone=appointment.phone,
            appointment=appointment,
            now=now,
        )
        appointment.status = Appointment.Status.CHECKED_IN
        appointment.save(update_fields=["status", "updated_at"])
    return ticket


# --- tickets ---------------------------------------------------------------------------


def _ticket_create(
    office: Office,
    services: list[Service],
    *,
    channel: str,
    language: str,
    phone: str,
    now: datetime,
    appointment: Appointment | None = None,
) -> Ticket:
    """Number and queue a ticket; the caller holds the office lock."""
    day = now.astimezone(selectors.BERLIN).date()
    last = (
        Ticket.objects.filter(office=office, day=day)
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
        or 0
    )
    seq = last + 1
    prefix = "T" if appointment is not None else office.ticket_prefix
    ticket = Ticket.objects.create(
        municipality=office.municipality,
        office=office,
        day=day,
        seq=seq,
        number=f"{prefix}{seq % 1000:03d}",
        channel=channel,
        language=language if language in {"de", "en"} else "de",
        phone=phone,
        appointment=appointment,
        due_at=appointment.start if appointment is not None else None,
        arrived_at=now,
    )
    ticket.services.set(services)
    estimates = estimates_refresh(office=office, at=now, new_ticket=ticket)
    ticket.estimated_call_at = estimates.get(ticket.pk)
    return ticket


def ticket_draw(
    *,
    location: Location,
    services: list[Service],
    channel: str,
    language: str = "de",
    phone: str = "",
) -> Ticket:
    """Draw a walk-in ticket (kiosk, online, service assistant).

    Online tickets can be drawn from ``buergerbuero.online_ticket_minutes`` before opening;
    the kiosk and the assistant only while the office is open. No ticket is given in the
    last ``buergerbuero.ticket_stop_minutes`` before closing."""
    if channel not in {c.value for c in Ticket.Channel} or channel in {"appointment"}:
        raise ValidationFailed(fields={"channel": [_("Unknown channel.")]})
    office = _office_for(location)
    municipality = office.municipality
    phone = _clean_phone(phone)
    services = _check_services(office, services, for_appointment=False)
    now = timezone.now()
    interval = selectors.office_next_interval(office, now)
    ahead = timedelta(
        minutes=municipal_setting(municipality, "buergerbuero.online_ticket_minutes")
        if channel == Ticket.Channel.ONLINE
        else 0
    )
    if channel == Ticket.Channel.ONLINE and not office.online_tickets:
        raise ApplicationError(_("This office gives no tickets online."), code="no_online_tickets")
    if interval is None or now < interval.opens - ahead:
        raise OfficeClosed(_("%(office)s is closed now.") % {"office": office.location.name})
    stop = timedelta(minutes=municipal_setting(municipality, "buergerbuero.ticket_stop_minutes"))
    if now >= interval.closes - stop:
        raise OfficeClosed(
            _("%(office)s gives no more tickets today.") % {"office": office.location.name},
            code="no_more_tickets",
        )
    if (
        phone
        and channel == Ticket.Channel.ONLINE
        and Ticket.objects.filter(
            office=office,
            day=now.astimezone(selectors.BERLIN).date(),
            phone=phone,
            status="waiting",
        ).exists()
    ):
        raise RateLimited(_("You already have a ticket for today."), code="ticket_exists")
    with transaction.atomic():
        office = _office_locked(office)
        ticket = _ticket_create(
            office, services, channel=channel, language=language, phone=phone, now=now
        )
        audit_record(municipality=municipality, action="buergerbuero.ticket_drawn", target=ticket)
    return ticket


def estimates_refresh(
    *, office: Office, at: datetime | None = None, new_ticket: Ticket | None = None
) -> dict[int, datetime]:
    """Recompute every waiting ticket's ``estimated_call_at``; keep a ``Prediction`` for a
    new ticket; queue "you are next soon" text messages."""
    at = at or timezone.now()
    state = selectors.queue_state(office, at=at)
    estimates = selectors.queue_estimates(state)
    changed = []
    soon = timedelta(minutes=municipal_setting(office.municipality, "buergerbuero.soon_minutes"))
    messages: list[tuple[str, str]] = []
    for key, ticket in state.tickets.items():
        if ticket.status != Ticket.Status.WAITING:
            continue
        estimate = estimates.get(key)
        if ticket.estimated_call_at != estimate:
            ticket.estimated_call_at = estimate
            changed.append(ticket)
        if ticket.phone and not ticket.soon_sms_sent and estimate and estimate - at <= soon:
            ticket.soon_sms_sent = True
            if ticket not in changed:
                changed.append(ticket)
            with translation.override(ticket.language):
                text = _(
                    "%(office)s: your number %(number)s will be called in about %(minutes)d "
                    "minutes. Please come to the waiting area."
                ) % {
                    "office": office.location.name,
                    "number": ticket.number,
                    "minutes": max(1, round((estimate - at).total_seconds() / 60)),
                }
            messages.append((ticket.phone, text))
    Ticket.objects.bulk_update(changed, ["estimated_call_at", "soon_sms_sent"])
    if new_ticket is not None:
        predicted = estimates.get(new_ticket.pk)
        ahead = sum(1 for w in state.waiting if w.key > 0 and w.key != new_ticket.pk)
        naive = selectors.naive_call_at(state, ahead=ahead)
        Ticket.objects.filter(pk=new_ticket.pk).update(
            first_estimate_at=predicted, naive_estimate_at=naive
        )
        if predicted is not None:
            Prediction.objects.create(
                municipality=office.municipality,
                ticket=new_ticket,
                made_at=at,
                predicted_call_at=predicted,
                naive_call_at=naive,
            )
    for to, text in messages:
        transaction.on_commit(partial(_sms, to, text))
    return estimates


def _duty_open_of(clerk: User, counter: Counter, day: date) -> Duty:
    duty = Duty.objects.filter(counter=counter, date=day, clerk=clerk, is_open=True).first()
    if duty is None:
        raise Conflict(_("Open the counter first."), code="counter_closed")
    return duty


def duty_open(*, clerk: User, counter: Counter) -> Duty:
    """Sign ``clerk`` on at ``counter`` for today (the planned duty, or a new one)."""
    if counter.municipality_id != clerk.municipality_id:
        raise NotFound()
    day = selectors.local_now().date()
    with transaction.atomic():
        _office_locked(counter.office)
        taken = Duty.objects.filter(counter=counter, date=day).exclude(clerk=clerk).first()
        if taken is not None and taken.is_open:
            raise Conflict(_("Someone else is at this counter today."))
        Duty.objects.filter(clerk=clerk, date=day).exclude(counter=counter).filter(
            is_open=True
        ).update(is_open=False)
        if taken is not None:
            taken.delete()
        Duty.objects.filter(clerk=clerk, date=day).exclude(counter=counter).delete()
        duty, _created = Duty.objects.update_or_create(
            counter=counter,
            date=day,
            defaults={"clerk": clerk, "is_open": True, "municipality": counter.municipality},
        )
        estimates_refresh(office=counter.office)
        audit_record(
            municipality=counter.municipality,
            action="buergerbuero.counter_opened",
            actor=clerk,
            target=counter,
        )
    return duty


def duty_close(*, clerk: User, counter: Counter) -> None:
    """Sign off; the counter calls nobody until opened again."""
    day = selectors.local_now().date()
    with transaction.atomic():
        _office_locked(counter.office)
        Duty.objects.filter(clerk=clerk, counter=counter, date=day).update(is_open=False)
        estimates_refresh(office=counter.office)


def ticket_call_next(*, clerk: User, counter: Counter) -> Ticket:
    """Call the ticket the policy gives this clerk (see ``policy.py``)."""
    now = timezone.now()
    day = now.astimezone(selectors.BERLIN).date()
    with transaction.atomic():
        office = _office_locked(counter.office)
        _duty_open_of(clerk, counter, day)
        if Ticket.objects.filter(counter=counter, status=Ticket.Status.CALLED).exists():
            raise Conflict(
                _("Finish the current visit or mark it as not come first."), code="counter_busy"
            )
        state = selectors.queue_state(office, at=now)
        waiting = [w for w in state.waiting if w.key > 0]
        chosen = choose_next(
            waiting,
            clerk=Clerk(skills=selectors.clerk_skills(clerk), counter=str(counter.pk)),
            now=state.now,
            config=selectors.policy_config(office.municipality),
        )
        if chosen is None:
            raise NothingWaiting()
        ticket = state.tickets[chosen.key]
        ticket.status = Ticket.Status.CALLED
        ticket.called_at = now
        ticket.counter = counter
        ticket.clerk = clerk
        ticket.transferred_to = None
        ticket.save(
            update_fields=[
                "status",
                "called_at",
                "counter",
                "clerk",
                "transferred_to",
                "updated_at",
            ]
        )
        Call.objects.create(
            municipality=office.municipality, ticket=ticket, counter=counter, called_at=now
        )
        if ticket.appointment_id:
            Appointment.objects.filter(pk=ticket.appointment_id).update(
                status=Appointment.Status.CALLED, updated_at=now
            )
        estimates_refresh(office=office, at=now)
    return ticket


def _ticket_at_counter(ticket: Ticket, clerk: User, counter: Counter) -> Ticket:
    locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if locked.status != Ticket.Status.CALLED or locked.counter_id != counter.pk:
        raise Conflict(_("This ticket is not being served at your counter."))
    return locked


def ticket_recall(*, ticket: Ticket, clerk: User, counter: Counter) -> Call:
    """Show the number on the display again (with the chime)."""
    with transaction.atomic():
        ticket = _ticket_at_counter(ticket, clerk, counter)
        return Call.objects.create(
            municipality=ticket.municipality,
            ticket=ticket,
            counter=counter,
            called_at=timezone.now(),
            recall=True,
        )


def ticket_no_show(*, ticket: Ticket, clerk: User, counter: Counter) -> Ticket:
    """The called visitor did not come."""
    with transaction.atomic():
        ticket = _ticket_at_counter(ticket, clerk, counter)
        ticket.status = Ticket.Status.NO_SHOW
        ticket.finished_at = timezone.now()
        ticket.save(update_fields=["status", "finished_at", "updated_at"])
        if ticket.appointment_id:
            Appointment.objects.filter(pk=ticket.appointment_id).update(
                status=Appointment.Status.MISSED
            )
    return ticket


def ticket_finish(
    *, ticket: Ticket, clerk: User, counter: Counter, services_done: Sequence[Service]
) -> Ticket:
    """End the visit with the services actually done (these teach the durations)."""
    with transaction.atomic():
        ticket = _ticket_at_counter(ticket, clerk, counter)
        done = [s for s in services_done if s.municipality_id == ticket.municipality_id]
        if not done:
            raise ValidationFailed(fields={"services_done": [_("Tick the services you did.")]})
        ticket.status = Ticket.Status.FINISHED
        ticket.finished_at = timezone.now()
        ticket.save(update_fields=["status", "finished_at", "updated_at"])
        ticket.services_done.set(done)
        if ticket.appointment_id:
            Appointment.objects.filter(pk=ticket.appointment_id).update(
                status=Appointment.Status.FINISHED
            )
    return ticket


def ticket_transfer(
    *,
    ticket: Ticket,
    clerk: User,
    counter: Counter,
    to_counter: Counter | None = None,
    services: Sequence[Service] = (),
) -> Ticket:
    """Send the visitor back to the queue for another counter and/or other services; the
    waiting time so far counts (the ticket keeps its arrival)."""
    if to_counter is not None and to_counter.office_id != counter.office_id:
        raise NotFound(_("No such counter at this office."))
    if to_counter is None and not services:
        raise ValidationFailed(fields={"to_counter": [_("Choose a counter or a service.")]})
    with transaction.atomic():
        office = _office_locked(counter.office)
        ticket = _ticket_at_counter(ticket, clerk, counter)
        if services:
            ticket.services.set(_check_services(office, services, for_appointment=False))
        ticket.status = Ticket.Status.WAITING
        ticket.counter = None
        ticket.clerk = None
        ticket.called_at = None
        ticket.transferred_to = to_counter
        ticket.save(
            update_fields=[
                "status",
                "counter",
                "clerk",
                "called_at",
                "transferred_to",
                "updated_at",
            ]
        )
        estimates_refresh(office=office)
    return ticket


# --- scheduled work --------------------------------------------------------------------


def reservations_expire(*, now: datetime | None = None) -> int:
    """Unconfirmed holds past their time are expired (their time was already free)."""
    now = now or timezone.now()
    return Appointment.objects.filter(
        status=Appointment.Status.RESERVED, reserved_until__lt=now
    ).update(status=Appointment.Status.EXPIRED, updated_at=now)


def appointments_remind(*, now: datetime | None = None) -> int:
    """E-mail (and text, with a mobile number) the reminder the day before."""
    now = now or timezone.now()
    count = 0
    due = Appointment.objects.filter(
        status=Appointment.Status.CONFIRMED,
        reminded_at__isnull=True,
        start__gt=now,
    ).select_related("office__location", "municipality")
    for appointment in due:
        hours = municipal_setting(appointment.municipality, "buergerbuero.reminder_hours")
        if appointment.start > now + timedelta(hours=hours):
            continue
        with transaction.atomic():
            updated = Appointment.objects.filter(
                pk=appointment.pk, reminded_at__isnull=True
            ).update(reminded_at=now)
            if not updated:
                continue
            transaction.on_commit(partial(_appointment_mail, appointment.pk, "reminder"))
            if appointment.phone:
                with translation.override(appointment.language):
                    text = _("Reminder: appointment at %(office)s on %(start)s, code %(code)s.") % {
                        "office": appointment.office.location.name,
                        "start": appointment.start.astimezone(selectors.BERLIN).strftime(
                            "%d.%m.%Y %H:%M"
                        ),
                        "code": appointment.code,
                    }
                transaction.on_commit(partial(_sms, appointment.phone, text))
        count += 1
    return count


def day_close(*, now: datetime | None = None) -> int:
    """After closing: unserved tickets of past days are cancelled, appointments nobody
    came to are missed."""
    now = now or timezone.now()
    today = now.astimezone(selectors.BERLIN).date()
    count = Ticket.objects.filter(day__lt=today, status=Ticket.Status.WAITING).update(
        status=Ticket.Status.CANCELLED
    )
    count += Ticket.objects.filter(day__lt=today, status=Ticket.Status.CALLED).update(
        status=Ticket.Status.FINISHED, finished_at=now
    )
    count += Appointment.objects.filter(
        status__in=[Appointment.Status.CONFIRMED, Appointment.Status.CHECKED_IN],
        end__lt=now - timedelta(hours=1),
    ).update(status=Appointment.Status.MISSED)
    return count


def durations_learn(*, now: datetime | None = None, days: int = 90) -> int:
    """Learn each service's duration per office from visits with that one service (the
    median of called → finished over ``days``)."""
    now = now or timezone.now()
    learned = 0
    for office in Office.objects.filter(is_active=True):
        samples: dict[int, list[float]] = {}
        finished = Ticket.objects.filter(
            office=office,
            status=Ticket.Status.FINISHED,
            finished_at__gte=now - timedelta(days=days),
            called_at__isnull=False,
        ).prefetch_related("services_done")
        for ticket in finished:
            done = list(ticket.services_done.all())
            if len(done) != 1 or ticket.finished_at is None or ticket.called_at is None:
                continue
            minutes = (ticket.finished_at - ticket.called_at).total_seconds() / 60
            if 0.5 <= minutes <= 240:
                samples.setdefault(done[0].pk, []).append(minutes)
        for service_id, values in samples.items():
            ServiceSetup.objects.update_or_create(
                office=office,
                service_id=service_id,
                defaults={
                    "municipality": office.municipality,
                    "learned_minutes": round(statistics.median(values), 1),
                    "learned_from": len(values),
                },
            )
            learned += 1
    return learned


def office_ensure(*, location: Location, **fields: Any) -> Office:
    """The Bürgerbüro of ``location`` (created with defaults when missing)."""
    office, _created = Office.objects.get_or_create(
        location=location, defaults={"municipality": location.municipality, **fields}
    )
    return office


def estimates_refresh_open(*, now: datetime | None = None) -> int:
    """Refresh the estimates of every office that has someone waiting today."""
    now = now or timezone.now()
    day = now.astimezone(selectors.BERLIN).date()
    offices = Office.objects.filter(
        is_active=True, tickets__day=day, tickets__status=Ticket.Status.WAITING
    ).distinct()
    count = 0
    for office in offices:
        with transaction.atomic():
            estimates_refresh(office=_office_locked(office), at=now)
        count += 1
    return count


def capacity_split_level(*, municipality: Municipality, weeks: int = 8) -> int:
    """Set each office's appointment lanes per weekday hour so that appointments fill what
    the walk-ins (from the last ``weeks`` of tickets) leave (``policy.levelled_appointment_lanes``).
    Written as ``CapacitySplit`` percentages of the counters; returns the hours written."""
    from rathaus.buergerbuero.models import CapacitySplit
    from rathaus.buergerbuero.policy import levelled_appointment_lanes

    now = timezone.now()
    since = (now - timedelta(weeks=weeks)).astimezone(selectors.BERLIN).date()
    written = 0
    for office in Office.objects.filter(municipality=municipality, is_active=True):
        counters = Counter.objects.filter(office=office, is_active=True).count()
        if counters == 0:
            continue
        days_seen: dict[int, set[date]] = {}
        minutes: dict[int, dict[int, float]] = {}
        tickets = Ticket.objects.filter(office=office, day__gte=since, appointment__isnull=True)
        for arrived, called, finished, day in tickets.values_list(
            "arrived_at", "called_at", "finished_at", "day"
        ):
            local = arrived.astimezone(selectors.BERLIN)
            days_seen.setdefault(local.weekday(), set()).add(day)
            work = (
                (finished - called).total_seconds() / 60
                if finished and called
                else selectors.DEFAULT_MINUTES
            )
            hours = minutes.setdefault(local.weekday(), {})
            hours[local.hour] = hours.get(local.hour, 0.0) + work
        with transaction.atomic():
            for weekday, hours in minutes.items():
                per_day = {h: m / max(len(days_seen[weekday]), 1) for h, m in hours.items()}
                lanes = levelled_appointment_lanes(
                    counters=counters, walk_in_minutes_per_hour=per_day
                )
                for hour, lane_count in lanes.items():
                    CapacitySplit.objects.update_or_create(
                        office=office,
                        weekday=weekday,
                        hour=hour,
                        defaults={
                            "municipality": municipality,
                            "appointment_percent": round(100 * lane_count / counters),
                        },
                    )
                    written += 1
    return written


# --- set-up (staff with buergerbuero.manage_office) -------------------------------------


def _require_manager(actor: User, municipality_id: int) -> None:
    from rathaus.buergerbuero.models import MANAGE_OFFICE

    if actor.municipality_id != municipality_id or not actor.has_perm(MANAGE_OFFICE):
        raise PermissionDenied()


def office_open_at(*, actor: User, location: Location) -> Office:
    """Run a Bürgerbüro at a catalogue location (idempotent)."""
    _require_manager(actor, location.municipality_id)
    office = office_ensure(location=location)
    audit_record(
        municipality=location.municipality,
        action="buergerbuero.office_set_up",
        actor=actor,
        target=office,
    )
    return office


def counter_create(*, actor: User, office: Office, name: str, room: str, floor: str) -> Counter:
    """A new counter (Schalter); names are unique per office."""
    from rathaus.core.errors import full_clean_or_fail

    _require_manager(actor, office.municipality_id)
    counter = Counter(
        municipality=office.municipality,
        office=office,
        name=(name or "").strip(),
        room=(room or "").strip(),
        floor=(floor or "").strip(),
        position=Counter.objects.filter(office=office).count() + 1,
    )
    if Counter.objects.filter(office=office, name=counter.name).exists():
        raise ValidationFailed(fields={"name": [_("A counter of this name exists already.")]})
    full_clean_or_fail(counter, exclude=["municipality", "office"])
    with transaction.atomic():
        counter.save()
        audit_record(
            municipality=office.municipality,
            action="buergerbuero.counter_created",
            actor=actor,
            target=counter,
        )
    return counter


def counter_active_set(*, actor: User, counter: Counter, active: bool) -> Counter:
    _require_manager(actor, counter.municipality_id)
    counter.is_active = active
    counter.save(update_fields=["is_active", "updated_at"])
    return counter


def duty_plan(*, actor: User, counter: Counter, clerk: User, day: date) -> Duty:
    """Plan ``clerk`` at ``counter`` on ``day`` (replaces what was planned for either)."""
    _require_manager(actor, counter.municipality_id)
    if clerk.municipality_id != counter.municipality_id or not clerk.is_staff:
        raise NotFound()
    if day < selectors.local_now().date():
        raise ValidationFailed(fields={"date": [_("This day is in the past.")]})
    with transaction.atomic():
        _office_locked(counter.office)
        Duty.objects.filter(date=day, clerk=clerk).exclude(counter=counter).delete()
        duty, _created = Duty.objects.update_or_create(
            counter=counter,
            date=day,
            defaults={"clerk": clerk, "municipality": counter.municipality},
        )
    return duty


def skills_set(*, actor: User, clerk: User, services: Sequence[Service]) -> None:
    """The services ``clerk`` can do (none: all)."""
    from rathaus.buergerbuero.models import Skill

    _require_manager(actor, clerk.municipality_id or 0)
    if not clerk.is_staff:
        raise NotFound()
    with transaction.atomic():
        Skill.objects.filter(clerk=clerk).exclude(service__in=services).delete()
        for service in services:
            if service.municipality_id != clerk.municipality_id:
                raise NotFound()
            Skill.objects.get_or_create(
                clerk=clerk, service=service, defaults={"municipality_id": clerk.municipality_id}
            )


def special_day_save(
    *,
    actor: User,
    office: Office,
    day: date,
    closed: bool,
    opens: Any = None,
    closes: Any = None,
    note: str = "",
) -> Any:
    """Other hours or a closure on one date (replaces an earlier entry for that date)."""
    from rathaus.buergerbuero.models import SpecialDay

    _require_manager(actor, office.municipality_id)
    if not closed and (opens is None or closes is None or opens >= closes):
        raise ValidationFailed(fields={"closes": [_("Give opening and closing times, in order.")]})
    if len(note) > 200:
        raise ValidationFailed(fields={"note": [_("At most 200 characters.")]})
    special, _created = SpecialDay.objects.update_or_create(
        office=office,
        date=day,
        defaults={
            "municipality": office.municipality,
            "closed": closed,
            "opens": None if closed else opens,
            "closes": None if closed else closes,
            "note": note,
        },
    )
    return special


def service_mode_set(*, actor: User, office: Office, service: Service, mode: str) -> ServiceSetup:
    """Appointment only, walk-in only or both for a service offered at the office."""
    _require_manager(actor, office.municipality_id)
    if mode not in ServiceSetup.Mode.values:
        raise ValidationFailed(fields={"mode": [_("Unknown mode.")]})
    if selectors.service_offer(office, service) is None:
        raise ServiceNotOffered()
    setup, _created = ServiceSetup.objects.update_or_create(
        office=office,
        service=service,
        defaults={"municipality": office.municipality, "mode": mode},
    )
    return setup
