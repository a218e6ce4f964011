"""The safety layer: controllers try hard to force unsafe signal states and fail."""

import random

import pytest

from rathaus.traffic.control.model import (
    GroupKind,
    Intersection,
    ModelError,
    Phase,
    SignalGroup,
    intersection_build,
)
from rathaus.traffic.control.safety import (
    CYCLIST_CLEARANCE_MAX,
    SafetyLayer,
    SafetyMonitor,
    Signal,
)
from tests.traffic.conftest import cross


def drive(layer: SafetyLayer, proposals: list[int | None], *, start: float = 0.0) -> SafetyMonitor:
    """Feed one proposal per second and watch the outcome independently."""
    monitor = SafetyMonitor(layer.intersection)
    for second, proposal in enumerate(proposals):
        now = start + second
        state = layer.step(now, proposal)
        monitor.observe(now, state)
    return monitor


def test_random_proposals_every_second_never_produce_an_unsafe_state() -> None:
    # given a layer and a controller that proposes a random (also invalid) phase each second
    rng = random.Random(7)
    layer = SafetyLayer(cross())
    proposals = [rng.choice([0, 1, 2, 3, None, -1, 17]) for _ in range(5000)]
    # when / then: the monitor sees no violation, and the proposals did switch phases
    monitor = drive(layer, proposals)
    assert monitor.violations == []
    assert layer.switches > 100
    assert layer.refused > 0


def test_sub_second_steps_with_flipping_proposals_stay_safe() -> None:
    layer = SafetyLayer(cross())
    monitor = SafetyMonitor(layer.intersection)
    now = 0.0
    for k in range(20000):
        now += 0.1
        monitor.observe(now, layer.step(now, k % 4 if k % 3 else (k + 1) % 4))
    assert monitor.violations == []


def test_conflicting_green_waits_for_yellow_and_all_red() -> None:
    # given north-south green after its minimum
    layer = SafetyLayer(cross(yellow=3, all_red=2))
    states = [layer.step(float(t), 0) for t in range(12)]
    assert states[-1][0] == "G"
    # when the controller wants east-west at once
    timeline = [layer.step(float(t), 1) for t in range(12, 30)]
    # then north-south shows yellow for 3 s, then red, and east-west is green only
    # 5 s (yellow + all-red) after north-south's green ended
    assert [s[0] for s in timeline[:4]] == ["y", "y", "y", "r"]
    first_green = next(i for i, s in enumerate(timeline) if s[1] == "G")
    assert first_green == 5
    assert all(not (s[0] in "Gg" and s[1] in "Gg") for s in timeline)


def test_minimum_green_cannot_be_cut_and_a_transition_cannot_be_redirected() -> None:
    layer = SafetyLayer(cross())
    layer.step(0.0, None)
    # the start: everything red, then phase A after the intergreen from power-up
    t = 0.0
    while layer.phase != 0:
        t += 1
        layer.step(t, 0)
    green_start = t
    for k in range(1, 5):  # within the 5 s minimum green, every change is refused
        assert layer.step(green_start + k, 1)[0] == "G"
    assert layer.refused == 4
    layer.step(green_start + 5, 1)  # now it may go
    assert layer.target == 1
    layer.step(green_start + 6, 2)  # trying to redirect to another phase mid-transition
    assert layer.target == 1
    assert layer.refused == 5


def staggered() -> Intersection:
    """Groups 0 and 1 go together (1 starts after 0 and ends after it, as in a plan drawn
    per signal group), 2 conflicts with both; each group has a minimum green of 5 s, the
    sets of greens only 1 s each."""
    groups = [SignalGroup(g, str(g), yellow=3.0, min_green=5.0, lanes=(f"l{g}",)) for g in range(3)]
    intergreen = {(a, 2): 5.0 for a in (0, 1)} | {(2, a): 5.0 for a in (0, 1)}
    phases = [
        Phase("0", frozenset({0}), min_green=1, max_green=60),
        Phase("0+1", frozenset({0, 1}), min_green=1, max_green=60),
        Phase("1", frozenset({1}), min_green=1, max_green=60),
        Phase("2", frozenset({2}), min_green=1, max_green=60),
    ]
    return intersection_build(id="s", groups=groups, phases=phases, intergreen=intergreen)


def test_greens_may_be_added_at_once_but_none_ends_before_its_own_minimum() -> None:
    layer = SafetyLayer(staggered(), start_phase=0)
    t = 0.0
    while layer.phase != 0:
        t += 1
        layer.step(t, 0)
    zero_green = t
    # adding group 1 ends nobody's green: followed at once
    layer.step(t + 1, 1)
    assert layer.phase == 1
    assert layer.refused == 0
    # ending group 0 (for group 1 alone) waits for group 0's 5 s, not for group 1's
    t += 2
    while layer.target is None and layer.phase == 1:
        layer.step(t, 2)
        t += 1
    assert t - 1 == zero_green + 5
    assert layer.signal(0) is Signal.YELLOW
    assert layer.phase == 2
    # ending group 1 (for the conflicting group 2) waits for group 1's own 5 s
    one_green = zero_green + 1
    while layer.target is None:
        layer.step(t, 3)
        t += 1
    assert t - 1 == one_green + 5


def test_random_proposals_on_a_staggered_intersection_stay_safe() -> None:
    rng = random.Random(11)
    layer = SafetyLayer(staggered())
    proposals = [rng.choice([0, 1, 2, 3, None]) for _ in range(5000)]
    monitor = drive(layer, proposals)
    # the monitor also counts any group green for less than its own minimum
    assert monitor.violations == []
    assert layer.switches > 300


def test_pedestrian_minimum_extends_the_phase() -> None:
    layer = SafetyLayer(cross(ped_min=12))
    monitor = drive(layer, [0] * 8 + [1] * 40)
    ped_green = [i for i, v in enumerate(monitor_states(layer, [0] * 8 + [1] * 40)) if v[4] == "G"]
    assert monitor.violations == []
    assert len(ped_green) >= 12


def monitor_states(layer_template: SafetyLayer, proposals: list[int | None]) -> list[str]:
    layer = SafetyLayer(layer_template.intersection)
    return [layer.step(float(t), p) for t, p in enumerate(proposals)]


def test_maximum_green_ends_a_phase_the_controller_wants_to_keep() -> None:
    states = monitor_states(SafetyLayer(cross()), [0] * 120)
    runs, current = [], 0
    for state in states:
        current = current + 1 if state[0] == "G" else 0
        runs.append(current)
    # phase A (max green 40 s) is ended although the controller keeps asking for it
    assert max(runs) == 40
    assert any(state[1] == "G" for state in states)
    layer = SafetyLayer(cross())
    assert drive(layer, [0] * 120).violations == []
    assert layer.forced >= 2
    assert layer.signal(4) in (Signal.GREEN, Signal.RED)


def test_time_running_backwards_is_refused() -> None:
    layer = SafetyLayer(cross())
    layer.step(10.0, 0)
    with pytest.raises(ValueError, match="backwards"):
        layer.step(9.0, 0)


def test_monitor_flags_what_the_layer_prevents() -> None:
    # given the monitor on hand-made unsafe states (as a broken controller would send)
    monitor = SafetyMonitor(cross())
    monitor.observe(0, "Grrrr")
    monitor.observe(10, "rGrrr")  # green to red without yellow, and no intergreen
    monitor.observe(11, "GGrrr")  # conflicting greens
    kinds = {v.kind for v in monitor.violations}
    assert {"no-yellow", "intergreen", "conflicting-greens"} <= kinds


def _groups(n: int) -> list[SignalGroup]:
    return [SignalGroup(i, f"K{i}") for i in range(n)]


@pytest.mark.parametrize(
    ("phases", "intergreen", "message"),
    [
        ([Phase("p", frozenset({0, 1}))], {(0, 1): 5.0, (1, 0): 5.0}, "conflicting greens"),
        (
            [Phase("p", frozenset({0})), Phase("q", frozenset({1}))],
            {(0, 1): 2.0, (1, 0): 5.0},
            "shorter than the yellow",
        ),
        ([Phase("p", frozenset({0}))], {(0, 1): 5.0}, "no counterpart"),
        ([Phase("p", frozenset({0, 7}))], {}, "unknown signal groups"),
        ([Phase("p", frozenset())], {}, "no green"),
        ([], {}, "at least one phase"),
        ([Phase("p", frozenset({0}), min_green=30, max_green=10)], {}, "must not exceed"),
        ([Phase("p", frozenset({0}), letters={0: "y"})], {}, "G or g"),
    ],
)
def test_unsafe_definitions_are_refused(
    phases: list[Phase], intergreen: dict, message: str
) -> None:
    with pytest.raises(ModelError, match=message):
        intersection_build(id="bad", groups=_groups(2), phases=phases, intergreen=intergreen)


def test_short_vehicle_yellow_and_gappy_indices_are_refused() -> None:
    with pytest.raises(ModelError, match="shorter than 2 s"):
        intersection_build(
            id="bad",
            groups=[SignalGroup(0, yellow=1.0)],
            phases=[Phase("p", frozenset({0}))],
            intergreen={},
        )
    with pytest.raises(ModelError, match="without gaps"):
        intersection_build(
            id="bad", groups=[SignalGroup(1)], phases=[Phase("p", frozenset({1}))], intergreen={}
        )
    # a pedestrian group has no yellow and is fine
    ok = intersection_build(
        id="ok",
        groups=[SignalGroup(0, kind=GroupKind.PEDESTRIAN, yellow=0.0)],
        phases=[Phase("p", frozenset({0}))],
        intergreen={},
    )
    assert ok.phase_min_green(0) == 5.0


def _permissive_left() -> Intersection:
    """One street: 0 straight on and 1 left turn from the north, 2 straight on from the
    south; 1 yields to 2 in the main phase (``g``) and is protected (``G``) alone; 3 is
    the cross street."""
    return intersection_build(
        id="left",
        groups=[SignalGroup(i, f"K{i}", yellow=4.0) for i in range(4)],
        phases=[
            Phase("main", frozenset({0, 1, 2}), letters={0: "G", 1: "g", 2: "G"}),
            Phase("left", frozenset({1}), letters={1: "G"}),
            Phase("cross", frozenset({3})),
        ],
        intergreen={(a, b): 6.0 for a in range(4) for b in range(4) if (a == 3) != (b == 3)},
    )


def test_a_protected_turn_waits_until_the_opposing_flow_has_cleared() -> None:
    # given the main phase with the left turn permissive after its minimum green
    layer = SafetyLayer(_permissive_left())
    t = 0.0
    while layer.phase != 0:
        t += 1
        layer.step(t, 0)
    for _ in range(6):
        t += 1
        assert layer.step(t, 0)[:3] == "GgG"
    # when the controller asks for the protected left turn
    timeline = []
    for _ in range(8):
        t += 1
        timeline.append(layer.step(t, 1))
    # then the turn stays permissive through the opposing yellow and is protected only
    # when the opposing flow has been red for its yellow
    assert timeline[:4] == ["ygyr"] * 4
    assert timeline[4] == "rGrr"
    assert all(s[1] == "g" for s in timeline if "y" in s)
    # and the protected phase's minimum green counts from the protected green
    assert layer.phase == 1
    assert layer.green_time(t) == 3.0


def test_back_from_a_protected_turn_the_turn_yields_at_once() -> None:
    layer = SafetyLayer(_permissive_left())
    monitor = SafetyMonitor(layer.intersection)
    t = 0.0
    for wanted, seconds in ((1, 20), (0, 20)):
        for _ in range(seconds):
            t += 1
            monitor.observe(t, layer.step(t, wanted))
    assert layer.phase == 0
    assert layer.state()[:3] == "GgG"
    assert monitor.violations == []


def test_random_proposals_with_permissive_turns_stay_safe() -> None:
    rng = random.Random(11)
    layer = SafetyLayer(_permissive_left())
    monitor = SafetyMonitor(layer.intersection)
    now = 0.0
    for _ in range(20000):
        now += rng.choice([0.1, 0.5, 1.0])
        monitor.observe(now, layer.step(now, rng.choice([0, 1, 2, None])))
    assert monitor.violations == []
    assert layer.switches > 100


def test_monitor_flags_a_protected_turn_during_the_opposing_yellow() -> None:
    monitor = SafetyMonitor(_permissive_left())
    monitor.observe(0, "GgGr")
    monitor.observe(10, "yGyr")  # the turn protected while the opposing flow still runs
    assert [v.kind for v in monitor.violations] == ["protected-too-early"] * 2
    clean = SafetyMonitor(_permissive_left())
    for now, state in ((0, "GgGr"), (10, "ygyr"), (14, "rgrr"), (15, "rGrr")):
        clean.observe(now, state)
    assert clean.violations == []


def _with_crossing_paths(pairs: set[tuple[int, int]]) -> Intersection:
    base = cross(yellow=3, all_red=2)
    return intersection_build(
        id=base.id,
        groups=base.groups,
        phases=base.phases,
        intergreen=base.intergreen,
        crossing_paths=pairs,
    )


def _east_west_green_at(layer: SafetyLayer, inside_until: float) -> float:
    """North-south green until 10 s, then east-west wanted; a cyclist released by
    north-south (group 0) stays inside the junction until ``inside_until``."""
    for t in range(10):
        layer.step(float(t), 0)
    for t in range(10, 60):
        layer.step(float(t), 1, {0} if t < inside_until else ())
        if layer.signal(1) is Signal.GREEN:
            return float(t)
    raise AssertionError("east-west never turned green")


def test_a_cyclist_still_inside_holds_a_crossing_green_until_it_has_left() -> None:
    # north-south's green ends at 10 s; its intergreen to east-west is 5 s
    assert _east_west_green_at(SafetyLayer(cross(yellow=3, all_red=2)), 60) == 15.0
    # with the paths crossing, the cyclist still inside until 18 s holds east-west
    layer = SafetyLayer(_with_crossing_paths({(0, 1), (1, 0)}))
    assert _east_west_green_at(layer, 18) == 18.0
    assert layer.held == 3


def test_the_hold_for_a_cyclist_is_limited() -> None:
    # a cyclist that never leaves (stuck, or a detector fault) delays the green by at
    # most CYCLIST_CLEARANCE_MAX beyond the intergreen
    layer = SafetyLayer(_with_crossing_paths({(0, 1), (1, 0)}))
    assert _east_west_green_at(layer, 60) == 15.0 + CYCLIST_CLEARANCE_MAX


def test_a_cyclist_on_a_path_that_does_not_cross_holds_nothing() -> None:
    # group 0's path crosses only the east-west left turn (3), not east-west (1)
    layer = SafetyLayer(_with_crossing_paths({(0, 3), (3, 0)}))
    assert _east_west_green_at(layer, 60) == 15.0
    assert layer.held == 0
    # and a cyclist reported for a group that is green now changes nothing either
    layer = SafetyLayer(_with_crossing_paths({(0, 1), (1, 0)}))
    for t in range(10):
        layer.step(float(t), 0, {0})
    assert layer.state()[0] == "G"
    assert layer.held == 0


def test_random_proposals_and_cyclists_inside_stay_safe() -> None:
    rng = random.Random(11)
    pairs = {(a, b) for a in range(5) for b in range(5) if a != b}
    layer = SafetyLayer(_with_crossing_paths(pairs))
    monitor = SafetyMonitor(layer.intersection)
    for t in range(5000):
        inside = {g for g in range(5) if rng.random() < 0.3}
        state = layer.step(float(t), rng.choice([0, 1, 2, 3, None]), inside)
        monitor.observe(float(t), state)
    assert monitor.violations == []
    assert layer.switches > 100
    assert layer.held > 0


def test_crossing_paths_must_name_two_known_groups() -> None:
    base = cross()
    for pairs in ({(0, 9)}, {(2, 2)}, {(-1, 0)}):
        with pytest.raises(ModelError, match="Crossing paths"):
            intersection_build(
                id="x",
                groups=base.groups,
                phases=base.phases,
                intergreen=base.intergreen,
                crossing_paths=pairs,
            )
