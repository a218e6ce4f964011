"""Reads of the Bürgerbüro: opening hours, durations, free slots, queue state, waiting
estimates and statistics."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet
from django.utils import timezone

from rathaus.buergerbuero import estimator
from rathaus.buergerbuero.models import (
    Appointment,
    Call,
    CapacitySplit,
    Counter,
    Duty,
    Office,
    ServiceSetup,
    Skill,
    SpecialDay,
    Ticket,
)
from rathaus.buergerbuero.policy import Clerk, PolicyConfig, Waiting
from rathaus.catalog.models import Location, Service, ServiceLocation
from rathaus.core.holidays import public_holiday
from rathaus.core.models import Municipality
from rathaus.core.municipal_settings import municipal_setting

if TYPE_CHECKING:
    from rathaus.accounts.models import User

BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")
DEFAULT_MINUTES = 15
#: Learned durations replace the configured ones once this many visits were measured.
LEARN_MIN_VISITS = 20


@dataclass(frozen=True)
class Slot:
    location: Location
    start: datetime
    end: datetime


@dataclass(frozen=True)
class WaitingEstimate:
    minutes: int | None
    waiting: int
    open_counters: int
    is_open: bool
    opens_at: datetime | None = None
    closes_at: datetime | None = None


@dataclass(frozen=True)
class Interval:
    opens: datetime
    closes: datetime


def local_now() -> datetime:
    return timezone.now().astimezone(BERLIN)


def policy_config(municipality: Municipality) -> PolicyConfig:
    return PolicyConfig(
        early_minutes=municipal_setting(municipality, "buergerbuero.early_minutes"),
        late_minutes=municipal_setting(municipality, "buergerbuero.late_minutes"),
        max_wait_minutes=municipal_setting(municipality, "buergerbuero.max_wait_minutes"),
    )


# --- offices and opening hours ---------------------------------------------------------


def office_of(location: Location) -> Office | None:
    """The Bürgerbüro of a catalogue location, if it runs one."""
    return Office.objects.filter(location=location, is_active=True).first()


def offices_active(*, municipality: Municipality) -> QuerySet[Office]:
    return Office.objects.filter(
        municipality=municipality, is_active=True, location__is_public=True
    ).select_related("location")


def holiday_name(municipality: Municipality, day: date) -> str | None:
    """The public holiday of the municipality's state on ``day``, if it is one."""
    return public_holiday(municipality.state, day)


def _parse_time(value: object) -> time | None:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        return None


def opening_intervals(office: Office, day: date) -> list[Interval]:
    """When ``office`` is open on ``day``: a special day first, then public holidays
    (closed), then the location's weekly hours from the catalogue."""
    special = SpecialDay.objects.filter(office=office, date=day).first()
    spans: list[tuple[time, time]] = []
    if special is not None:
        if special.closed or special.opens is None or special.closes is None:
            return []
        spans = [(special.opens, special.closes)]
    else:
        if holiday_name(office.municipality, day):
            return []
        for entry in office.location.opening_hours or []:
            if not isinstance(entry, dict) or entry.get("weekday") != day.weekday():
                continue
            opens, closes = _parse_time(entry.get("opens")), _parse_time(entry.get("closes"))
            if opens and closes and opens < closes:
                spans.append((opens, closes))
    return [
        Interval(
            datetime.combine(day, opens, tzinfo=BERLIN),
            datetime.combine(day, closes, tzinfo=BERLIN),
        )
        for opens, closes in sorted(spans)
    ]


def office_open_interval(office: Office, at: datetime) -> Interval | None:
    """The opening interval that contains ``at``, if any."""
    local = at.astimezone(BERLIN)
    for interval in opening_intervals(office, local.date()):
        if interval.opens <= local < interval.closes:
            return interval
    return None


def office_next_interval(office: Office, at: datetime) -> Interval | None:
    """The current or next opening interval today."""
    local = at.astimezone(BERLIN)
    for interval in opening_intervals(office, local.date()):
        if local < interval.closes:
            return interval
    return None


# --- services at an office -------------------------------------------------------------


def service_offer(office: Office, service: Service) -> ServiceLocation | None:
    return ServiceLocation.objects.filter(location_id=office.location_id, service=service).first()


def service_mode(office: Office, service: Service) -> str:
    setup = ServiceSetup.objects.filter(office=office, service=service).first()
    return setup.mode if setup else ServiceSetup.Mode.BOTH


def service_minutes(office: Office, service: Service) -> float:
    """Expected minutes of ``service`` at ``office``: learned from finished visits once
    there are enough, else the catalogue's appointment duration, else 15."""
    return _minutes_map(office, [service]).get(service.pk, DEFAULT_MINUTES)


def _minutes_map(office: Office, services: Iterable[Service]) -> dict[int, float]:
    services = list(services)
    ids = [s.pk for s in services]
    result: dict[int, float] = {
        s.pk: float(s.appointment_minutes or DEFAULT_MINUTES) for s in services
    }
    for offer in ServiceLocation.objects.filter(location_id=office.location_id, service_id__in=ids):
        if offer.appointment_minutes:
            result[offer.service_id] = float(offer.appointment_minutes)
    for setup in ServiceSetup.objects.filter(office=office, service_id__in=ids):
        if setup.learned_minutes and setup.learned_from >= LEARN_MIN_VISITS:
            result[setup.service_id] = setup.learned_minutes
    return result


def appointment_minutes(office: Office, services: Sequence[Service]) -> int:
    """Length of one appointment for ``services`` (durations add up), on the grid."""
    total = sum(_minutes_map(office, services).values())
    grid = office.slot_minutes
    return max(grid, int(math.ceil(total / grid) * grid))


def services_combinable(services: Sequence[Service]) -> bool:
    """Every pair may be booked together (either names the other as combinable)."""
    if len(services) < 2:
        return True
    ids = {s.pk for s in services}
    links = {
        (a, b)
        for a, b in Service.combinable.through.objects.filter(
            from_service_id__in=ids, to_service_id__in=ids
        ).values_list("from_service_id", "to_service_id")
    }
    return all(
        (a.pk, b.pk) in links or (b.pk, a.pk) in links
        for i, a in enumerate(services)
        for b in services[i + 1 :]
    )


# --- capacity and free slots -----------------------------------------------------------


def _counters_on(office: Office, day: date) -> int:
    planned = Duty.objects.filter(office_filter(office), date=day).count()
    if planned:
        return planned
    return Counter.objects.filter(office=office, is_active=True).count()


def office_filter(office: Office) -> Q:
    return Q(counter__office=office)


def _appointment_lanes(office: Office, day: date, now: datetime) -> dict[int, int]:
    """Parallel appointments per hour of ``day`` (capacity split, short-notice hold-back)."""
    counters = _counters_on(office, day)
    default = municipal_setting(office.municipality, "buergerbuero.appointment_share_percent")
    splits = {
        s.hour: s.appointment_percent
        for s in CapacitySplit.objects.filter(office=office, weekday=day.weekday())
    }
    release = datetime.combine(day - timedelta(days=1), office.release_time, tzinfo=BERLIN)
    released = now >= release
    lanes: dict[int, int] = {}
    for hour in range(24):
        full = math.floor(counters * splits.get(hour, default) / 100 + 0.5)
        if not released:
            full -= math.ceil(full * office.short_notice_percent / 100)
        lanes[hour] = max(full, 0)
    return lanes


def _booked_cells(
    office: Office, day: date, now: datetime, exclude: int | None = None
) -> dict[datetime, int]:
    start = datetime.combine(day, time.min, tzinfo=BERLIN)
    active = (
        Appointment.objects.filter(
            office=office,
            start__lt=start + timedelta(days=1),
            end__gt=start,
            status__in=Appointment.ACTIVE,
        )
        .exclude(status=Appointment.Status.RESERVED, reserved_until__lt=now)
        .values_list("start", "end")
    )
    if exclude is not None:
        active = active.exclude(pk=exclude)
    grid = timedelta(minutes=office.slot_minutes)
    cells: dict[datetime, int] = defaultdict(int)
    for begin, end in active:
        cell = begin.astimezone(BERLIN)
        while cell < end:
            cells[cell] += 1
            cell += grid
    return cells


def _fits(
    office: Office,
    start: datetime,
    minutes: int,
    lanes: dict[int, int],
    cells: dict[datetime, int],
) -> bool:
    grid = timedelta(minutes=office.slot_minutes)
    cell = start
    while cell < start + timedelta(minutes=minutes):
        if cells.get(cell, 0) >= lanes.get(cell.hour, 0):
            return False
        cell += grid
    return True


def office_slots_on(
    office: Office,
    day: date,
    minutes: int,
    *,
    now: datetime,
    exclude: int | None = None,
) -> list[tuple[datetime, datetime]]:
    """Free appointment starts of ``minutes`` at ``office`` on ``day``."""
    intervals = opening_intervals(office, day)
    if not intervals:
        return []
    lanes = _appointment_lanes(office, day, now)
    cells = _booked_cells(office, day, now, exclude)
    grid = timedelta(minutes=office.slot_minutes)
    length = timedelta(minutes=minutes)
    result = []
    for interval in intervals:
        start = interval.opens
        while start + length <= interval.closes:
            if start > now and _fits(office, start, minutes, lanes, cells):
                result.append((start, start + length))
            start += grid
    return result


def offices_offering(
    *, municipality: Municipality, services: Sequence[Service], for_appointment: bool
) -> list[Office]:
    """Active offices where every one of ``services`` is offered (in the wanted mode)."""
    offices = []
    unwanted = ServiceSetup.Mode.WALK_IN if for_appointment else ServiceSetup.Mode.APPOINTMENT
    for office in offices_active(municipality=municipality):
        offered = set(
            ServiceLocation.objects.filter(
                location_id=office.location_id, service__in=services
            ).values_list("service_id", flat=True)
        )
        if len(offered) != len({s.pk for s in services}):
            continue
        if ServiceSetup.objects.filter(office=office, service__in=services, mode=unwanted).exists():
            continue
        offices.append(office)
    return offices


def booking_window_end(municipality: Municipality, today: date) -> date:
    return today + timedelta(
        days=municipal_setting(municipality, "buergerbuero.booking_window_days")
    )


def free_slots(
    *,
    location: Location | None,
    services: list[Service],
    municipality: Municipality,
    start: date | None = None,
    days: int | None = None,
) -> list[Slot]:
    """Bookable appointment slots for ``services`` (durations add up) at ``location`` or,
    with ``None``, at every office offering them, within the booking window."""
    if not services or not services_combinable(services):
        return []
    now = local_now()
    today = now.date()
    first = max(start or today, today)
    last = booking_window_end(municipality, today)
    if days is not None:
        last = min(last, first + timedelta(days=max(days, 1) - 1))
    offices = offices_offering(municipality=municipality, services=services, for_appointment=True)
    if location is not None:
        offices = [o for o in offices if o.location_id == location.pk]
    slots: list[Slot] = []
    for office in offices:
        minutes = appointment_minutes(office, services)
        day = first
        while day <= last:
            for begin, end in office_slots_on(office, day, minutes, now=now):
                slots.append(Slot(location=office.location, start=begin, end=end))
            day += timedelta(days=1)
    slots.sort(key=lambda slot: (slot.start, slot.location.name_de))
    return slots


# --- queue state and estimates ---------------------------------------------------------


def _minute_of(day: date, moment: datetime) -> float:
    midnight = datetime.combine(day, time.min, tzinfo=BERLIN)
    return (moment - midnight).total_seconds() / 60


def _at_minute(day: date, minute: float) -> datetime:
    return datetime.combine(day, time.min, tzinfo=BERLIN) + timedelta(minutes=minute)


def clerk_skills(clerk: Any) -> frozenset[str] | None:
    """Service ids (as strings) the clerk can do; ``None`` (all) when none are recorded."""
    ids = list(Skill.objects.filter(clerk=clerk).values_list("service_id", flat=True))
    return frozenset(str(i) for i in ids) if ids else None


@dataclass
class QueueState:
    office: Office
    day: date
    now: float
    waiting: list[Waiting] = field(default_factory=list)
    tickets: dict[int, Ticket] = field(default_factory=dict)
    counters: list[estimator.OpenCounter] = field(default_factory=list)
    minutes: dict[int, float] = field(default_factory=dict)
    closes: float | None = None


def _waiting_of(ticket: Ticket, minutes: dict[int, float], day: date) -> Waiting:
    services = list(ticket.services.all())
    return Waiting(
        key=ticket.pk,
        services=frozenset(str(s.pk) for s in services),
        arrived=_minute_of(day, ticket.arrived_at),
        expected_minutes=sum(minutes.get(s.pk, DEFAULT_MINUTES) for s in services)
        or DEFAULT_MINUTES,
        due=_minute_of(day, ticket.due_at) if ticket.due_at else None,
        counter=str(ticket.transferred_to_id) if ticket.transferred_to_id else None,
    )


def queue_state(office: Office, *, at: datetime | None = None) -> QueueState:
    """The office's queue today, as the policy and the estimator see it."""
    at = (at or timezone.now()).astimezone(BERLIN)
    day = at.date()
    tickets = list(
        Ticket.objects.filter(office=office, day=day, status__in=["waiting", "called"])
        .select_related("appointment")
        .prefetch_related("services")
    )
    all_services = {s.pk: s for t in tickets for s in t.services.all()}
    upcoming = list(
        Appointment.objects.filter(
            office=office,
            start__date=day,
            status=Appointment.Status.CONFIRMED,
            start__gte=at - timedelta(minutes=policy_config(office.municipality).late_minutes),
        ).prefetch_related("services")
    )
    for appointment in upcoming:
        all_services.update({s.pk: s for s in appointment.services.all()})
    minutes = _minutes_map(office, all_services.values())
    state = QueueState(office=office, day=day, now=_minute_of(day, at), minutes=minutes)
    interval = office_next_interval(office, at)
    if interval is not None:
        state.closes = _minute_of(day, interval.closes)
    config = policy_config(office.municipality)
    for ticket in tickets:
        state.tickets[ticket.pk] = ticket
        if ticket.status == Ticket.Status.WAITING:
            state.waiting.append(_waiting_of(ticket, minutes, day))
    for appointment in upcoming:
        due = _minute_of(day, appointment.start)
        services = list(appointment.services.all())
        state.waiting.append(
            Waiting(
                key=-appointment.pk,
                services=frozenset(str(s.pk) for s in services),
                arrived=max(due - config.early_minutes, state.now),
                expected_minutes=sum(minutes.get(s.pk, DEFAULT_MINUTES) for s in services),
                due=due,
            )
        )
    busy: dict[int, float] = {}
    for ticket in tickets:
        if ticket.status == Ticket.Status.CALLED and ticket.counter_id and ticket.called_at:
            expected = _waiting_of(ticket, minutes, day).expected_minutes
            busy[ticket.counter_id] = _minute_of(day, ticket.called_at) + expected
    for duty in Duty.objects.filter(counter__office=office, date=day, is_open=True).select_related(
        "counter"
    ):
        state.counters.append(
            estimator.OpenCounter(
                clerk=Clerk(skills=clerk_skills(duty.clerk_id), counter=str(duty.counter_id)),
                busy_until=busy.get(duty.counter_id, state.now),
            )
        )
    return state


def queue_estimates(state: QueueState) -> dict[int, datetime]:
    """Expected call time of each waiting ticket (by ticket id)."""
    calls = estimator.estimate_calls(
        waiting=state.waiting,
        counters=state.counters,
        now=state.now,
        closes=state.closes,
        config=policy_config(state.office.municipality),
    )
    return {key: _at_minute(state.day, minute) for key, minute in calls.items() if key > 0}


def naive_call_at(state: QueueState, *, ahead: int) -> datetime | None:
    mean = sum(state.minutes.values()) / len(state.minutes) if state.minutes else DEFAULT_MINUTES
    minutes = estimator.naive_estimate(
        ahead=ahead, mean_minutes=mean, open_counters=len(state.counters)
    )
    return None if minutes is None else _at_minute(state.day, state.now + minutes)


def waiting_estimate(*, location: Location, service: Service | None = None) -> WaitingEstimate:
    """How long a visitor who draws a ticket now would wait (the "ampel")."""
    office = office_of(location)
    now = timezone.now()
    if office is None:
        return WaitingEstimate(minutes=None, waiting=0, open_counters=0, is_open=False)
    interval = office_open_interval(office, now)
    upcoming = office_next_interval(office, now)
    state = queue_state(office, at=now)
    real_waiting = [w for w in state.waiting if w.key > 0]
    if service is not None:
        wanted = str(service.pk)
        real_waiting = [w for w in real_waiting if wanted in w.services]
    minutes: int | None = None
    if interval is not None and state.counters:
        expected = service_minutes(office, service) if service is not None else DEFAULT_MINUTES
        probe = Waiting(
            key=0,
            services=frozenset({str(service.pk)}) if service is not None else frozenset(),
            arrived=state.now,
            expected_minutes=expected,
        )
        calls = estimator.estimate_calls(
            waiting=[*state.waiting, probe],
            counters=state.counters,
            now=state.now,
            closes=state.closes,
            config=policy_config(office.municipality),
        )
        if 0 in calls:
            minutes = max(0, round(calls[0] - state.now))
    return WaitingEstimate(
        minutes=minutes,
        waiting=len(real_waiting),
        open_counters=len(state.counters),
        is_open=interval is not None,
        opens_at=upcoming.opens if upcoming else None,
        closes_at=upcoming.closes if upcoming else None,
    )


def ticket_position(ticket: Ticket) -> int | None:
    """How many waiting tickets are expected to be called before this one."""
    if ticket.status != Ticket.Status.WAITING or ticket.estimated_call_at is None:
        return None
    return Ticket.objects.filter(
        office=ticket.office_id,
        day=ticket.day,
        status=Ticket.Status.WAITING,
        estimated_call_at__lt=ticket.estimated_call_at,
    ).count()


def recent_calls(office: Office, *, limit: int = 8) -> list[Call]:
    day = local_now().date()
    return list(
        Call.objects.filter(counter__office=office, ticket__day=day)
        .select_related("ticket", "counter")
        .order_by("-called_at", "-pk")[:limit]
    )


def counter_current(counter: Counter) -> Ticket | None:
    return (
        Ticket.objects.filter(counter=counter, status=Ticket.Status.CALLED)
        .prefetch_related("services")
        .first()
    )


def duty_of(clerk: User, office: Office, day: date) -> Duty | None:
    return (
        Duty.objects.filter(clerk=clerk, counter__office=office, date=day)
        .select_related("counter")
        .first()
    )


def appointments_of_citizen(user: User) -> QuerySet[Appointment]:
    if user.municipality_id is None:
        return Appointment.objects.none()
    return (
        Appointment.objects.filter(citizen=user, municipality_id=user.municipality_id)
        .exclude(status__in=[Appointment.Status.EXPIRED])
        .select_related("office__location")
        .prefetch_related("services")
        .order_by("-start")
    )


def duty_today(clerk: Any) -> Duty | None:
    """Where ``clerk`` sits today, if anywhere."""
    return (
        Duty.objects.filter(clerk=clerk, date=local_now().date()).select_related("counter").first()
    )


def counter_duty(counter: Counter) -> Duty | None:
    return Duty.objects.filter(counter=counter, date=local_now().date()).first()


def office_counters(office: Office) -> list[Counter]:
    return list(Counter.objects.filter(office=office, is_active=True))


def services_at(office: Office) -> list[Service]:
    """Public services offered at the office's location."""
    return list(
        Service.objects.filter(
            municipality=office.municipality, is_public=True, offered_at__location=office.location
        ).order_by("name_de")
    )


def services_bookable(*, municipality: Municipality) -> list[Service]:
    """Public services offered at any active office."""
    return list(
        Service.objects.filter(
            municipality=municipality,
            is_public=True,
            offered_at__location__buergerbuero_office__in=offices_active(municipality=municipality),
        )
        .distinct()
        .order_by("name_de")
    )


def reserved_appointment(
    *, municipality: Municipality, appointment_id: object
) -> Appointment | None:
    if not isinstance(appointment_id, int):
        return None
    return (
        Appointment.objects.filter(municipality=municipality, pk=appointment_id)
        .select_related("office__location")
        .first()
    )


def locations_without_office(*, municipality: Municipality) -> list[Location]:
    return list(
        Location.objects.filter(
            municipality=municipality, buergerbuero_office__isnull=True
        ).order_by("name_de")[:200]
    )


def offices_all(*, municipality: Municipality) -> list[Office]:
    return list(Office.objects.filter(municipality=municipality).select_related("location"))


def staff_members(*, municipality: Municipality) -> list[Any]:
    from rathaus.accounts.models import User

    return list(
        User.objects.filter(municipality=municipality, is_staff=True, is_active=True).order_by(
            "last_name", "first_name", "pk"
        )[:500]
    )


@dataclass(frozen=True)
class SetupView:
    counters: list[Counter]
    duties: list[Duty]
    special_days: list[SpecialDay]
    services: list[tuple[Service, str]]
    skills: dict[int, list[int]]


def office_setup(office: Office) -> SetupView:
    """What the set-up page of an office shows (duties and special days from today on)."""
    today = local_now().date()
    services = services_at(office)
    modes = {s.service_id: s.mode for s in ServiceSetup.objects.filter(office=office)}
    skills: dict[int, list[int]] = defaultdict(list)
    for clerk_id, service_id in Skill.objects.filter(municipality=office.municipality).values_list(
        "clerk_id", "service_id"
    ):
        skills[clerk_id].append(service_id)
    return SetupView(
        counters=list(Counter.objects.filter(office=office)),
        duties=list(
            Duty.objects.filter(counter__office=office, date__gte=today)
            .select_related("counter", "clerk")
            .order_by("date", "counter__position")[:200]
        ),
        special_days=list(SpecialDay.objects.filter(office=office, date__gte=today)[:100]),
        services=[(s, modes.get(s.pk, ServiceSetup.Mode.BOTH)) for s in services],
        skills=dict(skills),
    )
