"""Statistics of the Bürgerbüro from tickets and appointments (kept without personal data
after the retention period, so figures stay)."""

from __future__ import annotations

import csv
import io
import math
from collections import Counter as Tally
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _

from rathaus.buergerbuero.models import Appointment, Office, Ticket
from rathaus.buergerbuero.selectors import BERLIN, local_now
from rathaus.core.models import Municipality

MAX_DAYS = 366
WEEKDAYS = ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So")


@dataclass(frozen=True)
class StatisticsQuery:
    municipality: Municipality
    start: date
    end: date
    office: Office | None = None

    @classmethod
    def from_params(cls, *, municipality: Municipality, params: Any) -> StatisticsQuery:
        """From a query string; malformed dates fall back to the last 30 days, a period
        is at most a year, an office of another municipality is 404."""
        today = local_now().date()
        end = _date(params.get("end")) or today
        start = _date(params.get("start")) or end - timedelta(days=29)
        if start > end:
            start, end = end, start
        start = max(start, end - timedelta(days=MAX_DAYS - 1))
        office = None
        if params.get("office"):
            try:
                office_id = int(params.get("office"))
            except (TypeError, ValueError) as error:
                raise Http404 from error
            office = Office.objects.filter(municipality=municipality, pk=office_id).first()
            if office is None:
                raise Http404
        return cls(municipality=municipality, start=start, end=end, office=office)


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


@dataclass
class Figures:
    visits: int = 0
    waits: list[float] = field(default_factory=list)
    service_minutes: list[float] = field(default_factory=list)
    no_shows: int = 0

    @property
    def mean_wait(self) -> float | None:
        return sum(self.waits) / len(self.waits) if self.waits else None

    @property
    def p90_wait(self) -> float | None:
        return percentile(self.waits, 90)

    @property
    def share_over_30(self) -> float | None:
        if not self.waits:
            return None
        return 100 * sum(1 for w in self.waits if w > 30) / len(self.waits)

    @property
    def mean_service(self) -> float | None:
        if not self.service_minutes:
            return None
        return sum(self.service_minutes) / len(self.service_minutes)

    @property
    def no_show_rate(self) -> float | None:
        return 100 * self.no_shows / self.visits if self.visits else None


@dataclass
class Report:
    total: Figures
    by_service: dict[str, Figures]
    by_office: dict[str, Figures]
    by_hour: list[tuple[int, int]]
    by_weekday: list[tuple[int, int]]
    appointments_by_hour: list[tuple[int, int]]
    appointments_by_weekday: list[tuple[int, int]]
    estimator: list[tuple[date, float, float | None, int]]  # day, MAE, naive MAE, n

    def by_weekday_named(self) -> list[tuple[str, int]]:
        return [(WEEKDAYS[d], n) for d, n in self.by_weekday]


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (nearest rank)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def wait_minutes(ticket: Ticket) -> float | None:
    """Called minus arrival; for an appointment holder who came early, minus the start."""
    if ticket.called_at is None:
        return None
    since = ticket.arrived_at
    if ticket.due_at is not None and ticket.due_at > since:
        since = ticket.due_at
    return max(0.0, (ticket.called_at - since).total_seconds() / 60)


def report(query: StatisticsQuery) -> Report:
    tickets = Ticket.objects.filter(
        municipality=query.municipality, day__gte=query.start, day__lte=query.end
    ).exclude(status=Ticket.Status.CANCELLED)
    if query.office is not None:
        tickets = tickets.filter(office=query.office)
    tickets = tickets.select_related("office__location").prefetch_related("services")
    total = Figures()
    by_service: dict[str, Figures] = defaultdict(Figures)
    by_office: dict[str, Figures] = defaultdict(Figures)
    hours: Tally[int] = Tally()
    weekdays: Tally[int] = Tally()
    errors: dict[date, list[tuple[float, float | None]]] = defaultdict(list)
    for ticket in tickets:
        groups = [total, by_office[ticket.office.location.name]] + [
            by_service[s.name] for s in ticket.services.all()
        ]
        arrived = ticket.arrived_at.astimezone(BERLIN)
        hours[arrived.hour] += 1
        weekdays[arrived.weekday()] += 1
        wait = wait_minutes(ticket)
        for group in groups:
            group.visits += 1
            if ticket.status == Ticket.Status.NO_SHOW:
                group.no_shows += 1
            elif wait is not None:
                group.waits.append(wait)
            if ticket.status == Ticket.Status.FINISHED and ticket.finished_at and ticket.called_at:
                group.service_minutes.append(
                    (ticket.finished_at - ticket.called_at).total_seconds() / 60
                )
        if ticket.called_at and ticket.first_estimate_at:
            model = abs((ticket.first_estimate_at - ticket.called_at).total_seconds()) / 60
            naive = (
                abs((ticket.naive_estimate_at - ticket.called_at).total_seconds()) / 60
                if ticket.naive_estimate_at
                else None
            )
            errors[ticket.day].append((model, naive))
    appointments = Appointment.objects.filter(
        municipality=query.municipality,
        start__date__gte=query.start,
        start__date__lte=query.end,
        status__in=["confirmed", "checked_in", "called", "finished", "missed"],
    )
    if query.office is not None:
        appointments = appointments.filter(office=query.office)
    a_hours: Tally[int] = Tally()
    a_days: Tally[int] = Tally()
    for start in appointments.values_list("start", flat=True):
        local = start.astimezone(BERLIN)
        a_hours[local.hour] += 1
        a_days[local.weekday()] += 1
    estimator_rows = []
    for day in sorted(errors):
        pairs = errors[day]
        naive_values = [n for _m, n in pairs if n is not None]
        estimator_rows.append(
            (
                day,
                sum(m for m, _n in pairs) / len(pairs),
                sum(naive_values) / len(naive_values) if naive_values else None,
                len(pairs),
            )
        )
    span = range(7, 20)
    return Report(
        total=total,
        by_service=dict(sorted(by_service.items())),
        by_office=dict(sorted(by_office.items())),
        by_hour=[(h, hours[h]) for h in span],
        by_weekday=[(d, weekdays[d]) for d in range(6)],
        appointments_by_hour=[(h, a_hours[h]) for h in span],
        appointments_by_weekday=[(d, a_days[d]) for d in range(6)],
        estimator=estimator_rows,
    )


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def csv_export(query: StatisticsQuery) -> str:
    """The report as CSV (one row per group: all, each office, each service)."""
    data = report(query)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(
        [
            _("group"),
            _("name"),
            _("visits"),
            _("mean wait (min)"),
            _("90th percentile wait (min)"),
            _("share waiting over 30 min (%)"),
            _("mean service time (min)"),
            _("no-show rate (%)"),
        ]
    )
    rows = [("all", _("all"), data.total)]
    rows += [("office", name, f) for name, f in data.by_office.items()]
    rows += [("service", name, f) for name, f in data.by_service.items()]
    for group, name, figures in rows:
        writer.writerow(
            [
                group,
                _safe(name),
                figures.visits,
                _fmt(figures.mean_wait),
                _fmt(figures.p90_wait),
                _fmt(figures.share_over_30),
                _fmt(figures.mean_service),
                _fmt(figures.no_show_rate),
            ]
        )
    return out.getvalue()


def _safe(text: str) -> str:
    # A spreadsheet must not run a cell as a formula (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
