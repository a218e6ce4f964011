"""Plans per time of day (Tagesautomatik): which fixed-time plan is in force when.

A :class:`TimedPlan` is a plan with the window of the day in which it runs, in seconds
after midnight of the controller's clock (SUMO's scenario clock is the time of day: the
Cologne scenarios run from 07:00, the Ingolstadt ones from 16:00). A window whose end
is not after its start runs over midnight (22:00 to 06:00); start and end equal mean the
whole day. The windows of one intersection's plans must not overlap, or two plans would
be in force at once; at times no window covers, the controller's base program runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .model import ModelError
from .sumonet import FixedPlan

#: Seconds of a day.
DAY = 86400.0


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

    def __post_init__(self) -> None:
        for value in (self.starts, self.ends):
            if not (isinstance(value, int | float) and math.isfinite(value)):
                raise ModelError("A plan's window needs times of day.")
        if not (0 <= self.starts < DAY and 0 <= self.ends <= DAY):
            raise ModelError("A plan's window must lie within the day (00:00 to 24:00).")

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

    def covers(self, second: float) -> bool:
        """Whether the plan is in force at ``second`` (any time; the day repeats)."""
        moment = second % DAY
        return any(a <= moment < b for a, b in self.spans())

    def window(self) -> str:
        """``06:00-22:00``; the whole day, ``00:00-24:00``."""
        if self.whole_day:
            return f"00:00\N{EN DASH}{clock(DAY)}"
        return f"{clock(self.starts)}\N{EN DASH}{clock(self.ends % DAY or DAY)}"


def window(starts: float, ends: float, label: str = "") -> TimedPlan:
    """A window of the day without a plan to run: for the checks of a timetable."""
    return TimedPlan(starts, ends, _NO_PLAN, label)


_NO_PLAN = FixedPlan(((0, 1.0),))


def overlap(a: TimedPlan, b: TimedPlan) -> bool:
    """Whether two plans' windows share any time."""
    return any(max(a0, b0) < min(a1, b1) for a0, a1 in a.spans() for b0, b1 in b.spans())


def timetable_check(plans: Sequence[TimedPlan]) -> None:
    """Raise :class:`ModelError` if two of one intersection's plans overlap."""
    for i, a in enumerate(plans):
        for b in plans[i + 1 :]:
            if overlap(a, b):
                raise ModelError(
                    f"The plans {a.label or a.window()} ({a.window()}) and "
                    f"{b.label or b.window()} ({b.window()}) are in force at the same time."
                )


def in_force(plans: Sequence[TimedPlan], second: float) -> TimedPlan | None:
    """The plan in force at ``second``, or ``None`` (the base program runs)."""
    return next((p for p in plans if p.covers(second)), None)


def uncovered(plans: Sequence[TimedPlan]) -> list[tuple[float, float]]:
    """The times of day no plan covers, as ``[start, end)`` within one day, in order (the
    base program runs then)."""
    free, at = [], 0.0
    for a, b in sorted(span for p in plans for span in p.spans()):
        if a > at:
            free.append((at, a))
        at = max(at, b)
    if at < DAY:
        free.append((at, DAY))
    return free


def covered(plans: Sequence[TimedPlan], begin: float, end: float) -> list[TimedPlan]:
    """The plans in force at some time from ``begin`` to ``end`` (seconds, ``end`` after
    ``begin``; a span of a day or more meets every plan)."""
    if end - begin >= DAY:
        return list(plans)
    probe = window(begin % DAY, end % DAY)
    return [p for p in plans if overlap(p, probe)]
