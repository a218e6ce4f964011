"""Plans per time of day: windows, overlaps, and fixed-time control that changes its plan
when the timetable says, at the end of a cycle and through the safety layer."""

import itertools
import math

import pytest

from rathaus.traffic.control.controllers import FixedTime, Timetabled
from rathaus.traffic.control.model import ModelError
from rathaus.traffic.control.safety import SafetyLayer
from rathaus.traffic.control.sumonet import FixedPlan
from rathaus.traffic.control.timetable import (
    DAY,
    TimedPlan,
    covered,
    in_force,
    overlap,
    timetable_check,
)
from tests.traffic.conftest import cross
from tests.traffic.test_controllers import run

H = 3600.0
PLAN = FixedPlan(((0, 20.0), (1, 15.0)))


def timed(starts: float, ends: float, label: str = "", plan: FixedPlan = PLAN) -> TimedPlan:
    return TimedPlan(starts, ends, plan, label)


def test_a_window_covers_its_hours_also_over_midnight() -> None:
    day = timed(6 * H, 22 * H)
    assert day.covers(6 * H)
    assert day.covers(21 * H + 3599)
    assert not day.covers(22 * H)
    assert day.covers(DAY + 7 * H)  # the next day too
    night = timed(22 * H, 6 * H)
    assert night.covers(23 * H)
    assert night.covers(0)
    assert night.covers(5 * H)
    assert not night.covers(6 * H)
    assert not night.covers(12 * H)
    assert night.window() == "22:00\N{EN DASH}06:00"
    whole = timed(6 * H, 6 * H)
    assert whole.whole_day
    assert all(whole.covers(h * H) for h in range(24))
    until_midnight = timed(20 * H, DAY)
    assert until_midnight.covers(23.9 * H)
    assert not until_midnight.covers(1)
    assert until_midnight.window() == "20:00\N{EN DASH}24:00"
    assert timed(20 * H, 0.0).spans() == [(20 * H, DAY)]


@pytest.mark.parametrize(
    ("starts", "ends"),
    [(-1.0, 6 * H), (DAY, 6 * H), (6 * H, DAY + 1), (math.nan, 6 * H), (6 * H, math.inf)],
)
def test_a_window_outside_the_day_is_refused(starts: float, ends: float) -> None:
    with pytest.raises(ModelError, match="window"):
        timed(starts, ends)


def test_plans_in_force_at_the_same_time_are_refused() -> None:
    early, day, night = (
        timed(5 * H, 9 * H, "Früh"),
        timed(9 * H, 22 * H, "Tag"),
        timed(22 * H, 5 * H, "Nacht"),
    )
    timetable_check([early, day, night])  # back to back: one plan at a time
    assert not overlap(early, day)
    assert not overlap(day, night)
    assert not overlap(night, early)
    assert in_force([early, day, night], 4 * H) is night
    assert in_force([early, day], 23 * H) is None
    with pytest.raises(ModelError, match=r"Früh \(05:00.09:00\) and Spät"):
        timetable_check([early, timed(8 * H, 10 * H, "Spät")])
    with pytest.raises(ModelError, match="same time"):
        timetable_check([night, timed(4 * H, 4.5 * H)])  # after midnight
    with pytest.raises(ModelError, match="same time"):
        timetable_check([day, timed(0.0, 0.0)])  # the whole day meets every plan


def test_the_plans_a_simulated_hour_meets() -> None:
    early, day, night = timed(5 * H, 9 * H), timed(9 * H, 22 * H), timed(22 * H, 5 * H)
    plans = [early, day, night]
    assert covered(plans, 7 * H, 8 * H) == [early]
    assert covered(plans, 8.5 * H, 9.5 * H) == [early, day]
    assert covered(plans, 21.5 * H, 22.5 * H) == [day, night]
    assert covered(plans, 16 * H, 17 * H) == [day]
    assert covered([early], 16 * H, 17 * H) == []
    assert covered([early], 0.0, 2 * DAY) == [early]


def greens(phases: list[int | None], phase: int) -> list[tuple[int, int]]:
    """(second it began, length) of each green of ``phase``."""
    found, second = [], 0
    for p, group in itertools.groupby(phases):
        length = len(list(group))
        if p == phase:
            found.append((second, length))
        second += length
    return found


def test_the_plan_in_force_runs_and_the_next_takes_over_at_the_end_of_a_cycle() -> None:
    intersection = cross()
    # 06:00-07:00 a short plan (A 10 s, B 10 s, a 30 s cycle on its clock), from 07:00 a
    # long one (A 40 s, B 30 s, an 80 s cycle), and no plan from 08:00: the base program
    early = FixedPlan(((0, 10.0), (1, 10.0)), starts=(0.0, 15.0), cycle=30.0)
    late = FixedPlan(((0, 40.0), (1, 30.0)), starts=(0.0, 45.0), cycle=80.0)
    base = FixedPlan(((0, 25.0), (1, 25.0)))
    timetable = Timetabled(
        intersection, [timed(6 * H, 7 * H, "Früh", early), timed(7 * H, 8 * H, "Tag", late)], base
    )
    start = 7 * H - 100  # 06:58:20
    assert timetable.due(start).plan is early
    layer = SafetyLayer(intersection, now=start, start_phase=0)
    phases = run(timetable, layer, lambda t: {}, int(H + 500), start=start)
    b_greens = [(start + t, length) for t, length in greens(phases, 1)]
    before = [length for t, length in b_greens if t < 7 * H]
    assert set(before[1:]) == {10}
    # 07:00 falls in the middle of a cycle of the early plan (its cycles begin every 30 s
    # from midnight, so one begins at 07:00:00 exactly): the change waits for none here
    # and the late plan's B greens begin on its clock, 45 s into each 80 s cycle
    after = [(t, length) for t, length in b_greens if 7 * H <= t < 8 * H - 80]
    assert after
    assert {length for _, length in after} == {30}
    assert {(t - 45.0) % 80.0 for t, _ in after} == {0.0}
    # from 08:00 the base program, each green for its full time in order
    base_runs = [length for t, length in b_greens if t >= 8 * H + 80]
    assert base_runs
    assert set(base_runs[:-1]) == {25}


def test_a_change_of_plan_waits_for_the_end_of_the_running_cycle() -> None:
    intersection = cross()
    # the early plan's cycles of 64 s began at 06:59:12 (64 does not divide 07:00), so the
    # change waits until 07:00:16: the early plan's B green from 06:59:46 runs its 25 s
    early = FixedPlan(((0, 29.0), (1, 25.0)), starts=(0.0, 34.0), cycle=64.0)
    late = FixedPlan(((0, 20.0), (1, 20.0)), starts=(0.0, 25.0), cycle=50.0)
    assert (7 * H) % 64 == 48.0
    timetable = Timetabled(
        intersection, [timed(0.0, 7 * H, "Früh", early), timed(7 * H, 0.0, "Tag", late)], PLAN
    )
    start = 7 * H - 200
    layer = SafetyLayer(intersection, now=start, start_phase=0)
    phases = run(timetable, layer, lambda t: {}, 400, start=start)
    b_greens = [(start + t, length) for t, length in greens(phases, 1)]
    assert (7 * H - 48 + 34, 25) in b_greens
    # then the late plan on its clock (B at 25 s of each 50 s cycle), its first B a second
    # late: A, green again from 07:00:16, keeps its minimum green of 5 s
    assert [t for t, _ in b_greens if t > 7 * H][:3] == [7 * H + 26, 7 * H + 75, 7 * H + 125]
    assert timetable.running is not None
    assert timetable.running.plan is late
    assert {length for t, length in b_greens if 7 * H + 30 < t < 7 * H + 180} == {20}


def test_a_change_from_a_plan_run_in_order_waits_for_its_round() -> None:
    intersection = cross()
    # a plan without its own schedule runs its greens in order; the change waits until
    # its round is complete (a field controller's base program ends its cycle too)
    timetable = Timetabled(
        intersection, [timed(7 * H, 8 * H, "Tag", PLAN)], FixedPlan(((0, 30.0), (1, 30.0)))
    )
    assert not timetable.base.holds_plan
    start = 7 * H - 100
    phases = run(
        timetable,
        SafetyLayer(intersection, now=start, start_phase=0),
        lambda t: {},
        400,
        start=start,
    )
    b_greens = [(start + t, length) for t, length in greens(phases, 1)]
    assert [length for _, length in b_greens][:2] == [30, 30]
    assert {length for t, length in b_greens[2:-1]} == {15}
    assert isinstance(timetable.running, FixedTime)
    assert timetable.running.plan is PLAN


def test_overlapping_plans_are_refused_by_the_controller() -> None:
    with pytest.raises(ModelError, match="same time"):
        Timetabled(cross(), [timed(6 * H, 9 * H), timed(8 * H, 10 * H)], PLAN)
