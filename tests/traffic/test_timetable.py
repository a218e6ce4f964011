"""Plans per time of day: windows, overlaps, and fixed-time control that changes its plan
when the timetable says, at the end of a cycle and through the safety layer."""

import itertools
import math
from datetime import date

import pytest

from rathaus.traffic.control.controllers import FixedTime, Timetabled
from rathaus.traffic.control.model import ModelError
from rathaus.traffic.control.safety import SafetyLayer
from rathaus.traffic.control.sumonet import FixedPlan
from rathaus.traffic.control.timetable import (
    DAY,
    Calendar,
    TimedPlan,
    covered,
    in_force,
    on_day,
    overlap,
    timetable_check,
    uncovered,
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


# -- day types (Tagesarten) ----------------------------------------------------------

#: Friday, 25 December 2026, is Christmas Day (a public holiday in every state); the
#: clock below starts at midnight of Thursday, 24 December.
CHRISTMAS = Calendar(date(2026, 12, 24), frozenset({date(2026, 12, 25), date(2026, 12, 26)}))


def on(days: str, starts: float, ends: float, label: str = "", plan: FixedPlan = PLAN) -> TimedPlan:
    return TimedPlan(starts, ends, plan, label, frozenset(days.split()))


def test_the_day_type_of_a_moment_is_its_dates_a_holiday_whatever_its_weekday() -> None:
    assert CHRISTMAS.day_type(12 * H) == "th"
    assert CHRISTMAS.day_type(DAY + 12 * H) == "ph"  # a Friday
    assert CHRISTMAS.day_type(2 * DAY) == "ph"  # a Saturday
    assert CHRISTMAS.day_type(3 * DAY) == "su"
    assert CHRISTMAS.day_type(-1.0) == "we"  # the evening before the clock's first day
    assert CHRISTMAS.date(DAY - 0.5) == date(2026, 12, 24)
    assert CHRISTMAS.date(DAY) == date(2026, 12, 25)


def test_a_plan_holds_on_its_day_types_and_the_night_belongs_to_each_date() -> None:
    # Monday 30 November 2026 at midnight is second 0; no holiday that week
    week = Calendar(date(2026, 11, 30))
    night = on("mo tu we th fr", 22 * H, 6 * H, "Nacht")
    weekend = on("sa su ph", 0.0, 0.0, "Wochenende")
    assert night.covers(23 * H, week)  # Monday 23:00
    assert night.covers(3 * H, week)  # Monday 03:00: a Monday too
    assert night.covers(4 * DAY + 23 * H, week)  # Friday 23:00
    assert not night.covers(5 * DAY + 3 * H, week)  # Saturday 03:00: Saturday's plans hold
    assert weekend.covers(5 * DAY + 3 * H, week)
    assert not night.covers(12 * H, week)  # outside its hours on its day
    assert in_force([night, weekend], 5 * DAY + 3 * H, week) is weekend
    assert in_force([night, weekend], 4 * DAY + 12 * H, week) is None
    # a holiday is a day type of its own: Christmas Day, a Friday, runs the weekend plan
    assert not night.covers(DAY + 23 * H, CHRISTMAS)
    assert weekend.covers(DAY + 23 * H, CHRISTMAS)
    # without a calendar a plan of certain days cannot say whether it holds
    with pytest.raises(ModelError, match="calendar"):
        night.covers(23 * H)
    assert timed(22 * H, 6 * H).covers(23 * H)  # every day: no calendar needed


@pytest.mark.parametrize("days", ["", "mo xx", "holiday", "MO"])
def test_unknown_or_no_day_types_are_refused(days: str) -> None:
    with pytest.raises(ModelError, match="day type"):
        on(days, 6 * H, 22 * H)


def test_plans_on_different_days_may_share_their_hours() -> None:
    weekdays = on("mo tu we th fr", 6 * H, 22 * H, "Werktag")
    weekend = on("sa su ph", 6 * H, 22 * H, "Wochenende")
    saturday = on("sa", 8 * H, 12 * H, "Markt")
    timetable_check([weekdays, weekend])
    assert not overlap(weekdays, weekend)
    assert overlap(weekend, saturday)
    with pytest.raises(ModelError, match=r"Wochenende .* and Markt"):
        timetable_check([weekdays, weekend, saturday])
    # the hours without a plan, per day type
    assert uncovered([weekdays, saturday], "sa") == [(0.0, 8 * H), (12 * H, DAY)]
    assert uncovered([weekdays, saturday], "ph") == [(0.0, DAY)]
    assert on_day([weekdays, weekend, saturday], "sa") == [weekend, saturday]


def test_the_plans_a_simulated_span_meets_on_its_dates() -> None:
    weekdays = on("mo tu we th fr", 6 * H, 22 * H)
    holiday = on("ph", 0.0, 0.0)
    # Thursday 23:00 to Friday (Christmas Day) 01:00
    assert covered([weekdays, holiday], 23 * H, DAY + H, CHRISTMAS) == [holiday]
    assert covered([weekdays, holiday], 7 * H, 8 * H, CHRISTMAS) == [weekdays]
    with pytest.raises(ModelError, match="calendar"):
        covered([weekdays], 7 * H, 8 * H)


def test_the_controller_changes_plans_when_the_date_changes_its_day_type() -> None:
    intersection = cross()
    # Thursday, 24 December: a short weekday plan until midnight; from midnight the
    # holiday's long plan (Christmas Day, a Friday, takes the holiday's plans)
    short = FixedPlan(((0, 10.0), (1, 10.0)), starts=(0.0, 15.0), cycle=30.0)
    long = FixedPlan(((0, 40.0), (1, 30.0)), starts=(0.0, 45.0), cycle=80.0)
    plans = [on("mo tu we th fr", 0.0, 0.0, "Werktag", short), on("ph", 0.0, 0.0, "Feiertag", long)]
    with pytest.raises(ModelError, match="calendar"):
        Timetabled(intersection, plans, PLAN)
    timetable = Timetabled(intersection, plans, PLAN, CHRISTMAS)
    start = DAY - 200
    assert timetable.due(start).plan is short
    assert timetable.due(DAY + 1).plan is long
    layer = SafetyLayer(intersection, now=start, start_phase=0)
    phases = run(timetable, layer, lambda t: {}, 600, start=start)
    b_greens = [(start + t, length) for t, length in greens(phases, 1)]
    # (the first green, met in its course, aside)
    assert {length for t, length in b_greens[1:] if t < DAY - 20} == {10}
    after = [(t, length) for t, length in b_greens if DAY + 80 <= t < start + 520]
    assert after
    assert {length for _, length in after} == {30}
    # and the day after Christmas (Saturday, 26 December, also a holiday) keeps it
    assert timetable.due(2 * DAY + 12 * H).plan is long
    assert timetable.due(3 * DAY + 12 * H) is timetable.base  # Sunday: no plan
