"""Plans per time of day (Tagesautomatik): which fixed-time plan is in force when.

A :class:`TimedPlan` is a plan with the window of the day in which it runs, in seconds
after midnight of the controller's clock (SUMO's scenario clock is the time of day: the
Cologne scenarios run from 07:00, the Ingolstadt ones from 16:00). A window whose end
is not after its start runs over midnight (22:00 to 06:00); start and end equal mean the
whole day. The windows of one intersection's plans must not overlap, or two plans would
be in force at once; at times no window covers, the controller's base program runs.

A plan may also hold for certain day types only (Tagesarten, as a field controller's
week program has them): the weekdays and public holidays. The day type of a moment is
that of its own date, so a plan for Monday to Friday from 22:00 to 06:00 runs in the
nights' hours on those dates (Friday 00:00 to 06:00 and 22:00 to 24:00, not Saturday
morning); a public holiday is its own day type whatever its weekday. Which date the
clock's seconds fall on, and which dates are holidays, a :class:`Calendar` says.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from .model import ModelError
from .sumonet import FixedPlan

#: Seconds of a day.
DAY = 86400.0

#: The weekdays as day types, Monday first (``date.weekday()`` indexes them).
WEEKDAYS = ("mo", "tu", "we", "th", "fr", "sa", "su")
#: The day type of a public holiday, whatever its weekday.
HOLIDAY = "ph"
#: Every day type, in the order they are shown.
DAY_TYPES = (*WEEKDAYS, HOLIDAY)
EVERY_DAY = frozenset(DAY_TYPES)


def day_types(values: Iterable[str]) -> frozenset[str]:
    """``values`` as a set of day types; :class:`ModelError` for an unknown or none."""
    days = frozenset(values)
    if not days:
        raise ModelError("A plan needs at least one day type.")
    unknown = sorted(days - EVERY_DAY)
    if unknown:
        raise ModelError(f"Unknown day types: {', '.join(map(repr, unknown))}.")
    return days


@dataclass(frozen=True)
class Calendar:
    """The dates of a controller's clock: second 0 is midnight at the start of ``first``;
    ``holidays`` are the public holidays among the dates the clock runs through."""

    first: date
    holidays: frozenset[date] = frozenset()

    def date(self, second: float) -> date:
        return self.first + timedelta(days=math.floor(second / DAY))

    def day_type(self, second: float) -> str:
        day = self.date(second)
        return HOLIDAY if day in self.holidays else WEEKDAYS[day.weekday()]


def clock(second: float) -> str:
    """``second`` after midnight as ``HH:MM`` (``24:00`` for the end of the day)."""
    minutes = round(second / 60.0)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class TimedPlan:
    """``plan`` in force from ``starts`` until ``ends`` (seconds after midnight)."""

    starts: float
    ends: float
    plan: FixedPlan
    #: How the plan is called where it is shown (``"Tag v3"``).
    label: str = ""
    #: The day types on which the window holds (:data:`DAY_TYPES`); every day by default.
    days: frozenset[str] = field(default=EVERY_DAY)

    def __post_init__(self) -> None:
        for value in (self.starts, self.ends):
            if not (isinstance(value, int | float) and math.isfinite(value)):
                raise ModelError("A plan's window needs times of day.")
        if not (0 <= self.starts < DAY and 0 <= self.ends <= DAY):
            raise ModelError("A plan's window must lie within the day (00:00 to 24:00).")
        object.__setattr__(self, "days", day_types(self.days))

    @property
    def every_day(self) -> bool:
        return self.days == EVERY_DAY

    @property
    def whole_day(self) -> bool:
        return self.starts == self.ends % DAY

    def spans(self) -> list[tuple[float, float]]:
        """The window as intervals within one day, ``[start, end)``."""
        ends = self.ends % DAY
        if self.whole_day:
            return [(0.0, DAY)]
        if self.starts < ends:
            return [(self.starts, ends)]
        return [(self.starts, DAY), (0.0, ends)] if ends else [(self.starts, DAY)]

    def covers(self, second: float, calendar: Calendar | None = None) -> bool:
        """Whether the plan is in force at ``second`` (any time; the day repeats). A plan
        for certain day types needs the ``calendar`` that says what day it is."""
        moment = second % DAY
        if not any(a <= moment < b for a, b in self.spans()):
            return False
        if self.every_day:
            return True
        if calendar is None:
            raise ModelError(
                f"The plan {self.label or self.window()} holds on certain days: "
                "which day it is needs a calendar."
            )
        return calendar.day_type(second) in self.days

    def window(self) -> str:
        """``06:00-22:00``; the whole day, ``00:00-24:00``."""
        if self.whole_day:
            return f"00:00\N{EN DASH}{clock(DAY)}"
        return f"{clock(self.starts)}\N{EN DASH}{clock(self.ends % DAY or DAY)}"


def window(
    starts: float, ends: float, label: str = "", days: Iterable[str] = EVERY_DAY
) -> TimedPlan:
    """A window of the day without a plan to run: for the checks of a timetable."""
    return TimedPlan(starts, ends, _NO_PLAN, label, frozenset(days))


_NO_PLAN = FixedPlan(((0, 1.0),))


def overlap(a: TimedPlan, b: TimedPlan) -> bool:
    """Whether two plans can be in force at once: on a day type of both, in hours of both
    (a moment has one day type, that of its date)."""
    return bool(a.days & b.days) and any(
        max(a0, b0) < min(a1, b1) for a0, a1 in a.spans() for b0, b1 in b.spans()
    )


def timetable_check(plans: Sequence[TimedPlan]) -> None:
    """Raise :class:`ModelError` if two of one intersection's plans overlap."""
    for i, a in enumerate(plans):
        for b in plans[i + 1 :]:
            if overlap(a, b):
                raise ModelError(
                    f"The plans {a.label or a.window()} ({a.window()}) and "
                    f"{b.label or b.window()} ({b.window()}) are in force at the same time."
                )


def in_force(
    plans: Sequence[TimedPlan], second: float, calendar: Calendar | None = None
) -> TimedPlan | None:
    """The plan in force at ``second``, or ``None`` (the base program runs)."""
    return next((p for p in plans if p.covers(second, calendar)), None)


def on_day(plans: Iterable[TimedPlan], day: str) -> list[TimedPlan]:
    """The plans that hold on day type ``day``."""
    return [p for p in plans if day in p.days]


def uncovered(plans: Sequence[TimedPlan], day: str | None = None) -> list[tuple[float, float]]:
    """The times of day no plan covers, as ``[start, end)`` within one day, in order (the
    base program runs then): on day type ``day``, or on every day if it is ``None``."""
    free, at = [], 0.0
    chosen = plans if day is None else on_day(plans, day)
    for a, b in sorted(span for p in chosen for span in p.spans()):
        if a > at:
            free.append((at, a))
        at = max(at, b)
    if at < DAY:
        free.append((at, DAY))
    return free


def covered(
    plans: Sequence[TimedPlan], begin: float, end: float, calendar: Calendar | None = None
) -> list[TimedPlan]:
    """The plans in force at some time from ``begin`` to ``end`` (seconds, ``end`` after
    ``begin``), on the dates of ``calendar`` (needed for plans of certain day types)."""
    if calendar is None and not all(p.every_day for p in plans):
        raise ModelError("Plans that hold on certain days need a calendar.")
    found: list[TimedPlan] = []
    day = math.floor(begin / DAY)
    while day * DAY < end:
        midnight = day * DAY
        probe = window(max(begin, midnight) - midnight, min(end - midnight, DAY))
        kind = calendar.day_type(midnight) if calendar is not None else HOLIDAY
        found += [p for p in plans if kind in p.days and overlap(p, probe) and p not in found]
        day += 1
    return found
