"""Real SUMO runs (short windows of the smallest scenarios): own controllers through the
safety layer, SUMO's programs, bus priority, emergency pre-emption, the command."""

import itertools
import json
from dataclasses import replace
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from rathaus.traffic.sim.chart import results_chart
from rathaus.traffic.sim.harness import _metrics, arrival_time, simulate
from rathaus.traffic.sim.scenario import scenario_load
from tests.traffic.conftest import resco

pytest.importorskip("libsumo")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sumo-cache")


@pytest.mark.parametrize("controller", ["adaptive", "max_pressure", "sumo_actuated"])
def test_short_run_of_cologne1(controller: str, cache: Path) -> None:
    result = simulate(scenario_load(resco("cologne1")), controller, cache_dir=cache, seconds=300)
    metrics = result.metrics
    assert result.violations == []
    assert metrics["safety_violations"] == 0
    assert metrics["vehicles"] > 100
    assert metrics["throughput"] > 50
    assert metrics["mean_delay"] is not None
    assert 0 <= metrics["mean_delay"] < 300
    assert metrics["co2_kg"] > 0
    assert metrics["bus_delay"] is None  # cologne1 has no buses


def test_arrival_time_accelerates_to_the_speed_limit() -> None:
    assert arrival_time(100.0, 10.0, 10.0) == pytest.approx(10.0)
    # a vehicle creeping at 0.5 m/s in a starting queue arrives in seconds, not 80 s
    assert arrival_time(40.0, 0.5, 13.9, accel=1.5) == pytest.approx(6.977, abs=0.01)
    # 13.9 m/s is reached after 8.93 s and 64.3 m; the rest at the limit
    assert arrival_time(200.0, 0.5, 13.9, accel=1.5) == pytest.approx(18.69, abs=0.01)
    assert arrival_time(0.0, 5.0, 13.9) == 0.0


def test_area_detectors_track_approaching_vehicles(cache: Path) -> None:
    seen: list[tuple[float, ...]] = []

    def collect(now: float, states: dict, readings: dict) -> None:
        seen.extend(r.arrivals for r in readings.values() if r.arrivals)
        for reading in readings.values():
            assert len(reading.arrivals) <= reading.vehicles

    simulate(
        scenario_load(resco("cologne1")), "fixed", cache_dir=cache, seconds=120, on_step=collect
    )
    assert len(seen) > 50
    assert all(list(a) == sorted(a) and a[0] >= 0 for a in seen)
    # the detection area ends 80 m upstream: nobody is more than a few seconds away
    assert max(a[-1] for a in seen) < 60


def test_buses_ask_for_priority_in_ingolstadt1(cache: Path) -> None:
    scenario = scenario_load(resco("ingolstadt1"))
    with_priority = simulate(scenario, "adaptive", cache_dir=cache, seconds=1800)
    assert with_priority.metrics["buses"] > 0
    assert with_priority.priority["requests"] > 0
    assert with_priority.metrics["safety_violations"] == 0
    # the buses that reach a signal are counted apart (also without priority and for
    # SUMO's programs): some buses in ingolstadt1 never pass one
    assert 0 < with_priority.metrics["signal_buses"] < with_priority.metrics["buses"]
    builtin = simulate(scenario, "sumo_actuated", cache_dir=cache, seconds=1800)
    assert builtin.metrics["signal_buses"] == with_priority.metrics["signal_buses"]


def test_bus_delay_at_signals_counts_only_the_buses_that_reached_one() -> None:
    planned = {"car": (0.0, False), "bus1": (0.0, True), "bus2": (10.0, True)}
    trips = {
        vid: {
            "departDelay": 1.0,
            "timeLoss": loss,
            "duration": 60.0,
            "waitingTime": 0.0,
            "arrived": 1.0,
            "co2": 0.0,
        }
        for vid, loss in (("car", 5.0), ("bus1", 3.0), ("bus2", 41.0))
    }
    metrics = _metrics(planned, trips, 100.0, 0, 0.0, 0.0, {"bus1", "car"})
    assert metrics["bus_delay"] == 23.0
    assert metrics["signal_bus_delay"] == 4.0
    assert metrics["signal_buses"] == 1


def test_an_ambulance_preempts_and_the_run_stays_safe(cache: Path) -> None:
    import libsumo

    added = {"done": False}

    def inject(now: float, states: dict, readings: dict) -> None:
        # the ambulance enters 97 m before the stop line (inside the request range) while
        # the cross street is green and its own movement (link 6, straight on from
        # 23429231#1) red, so whatever the controller does, a pre-emption is needed
        state = states["GS_cluster_357187_359543"]
        if not added["done"] and state[0] == "G" and state[6] == "r":
            libsumo.vehicletype.copy("DEFAULT_VEHTYPE", "rtw")
            libsumo.vehicletype.setVehicleClass("rtw", "emergency")
            libsumo.route.add("rtw_route", ["23429231#1", "32038051#0"])
            libsumo.vehicle.add("rtw1", "rtw_route", typeID="rtw")
            added["done"] = True

    result = simulate(
        scenario_load(resco("cologne1")), "adaptive", cache_dir=cache, seconds=300, on_step=inject
    )
    assert added["done"]
    assert result.priority["preemption"] >= 1
    assert result.metrics["safety_violations"] == 0


def test_evaluate_command_prints_json_and_writes_a_chart(
    cache: Path, tmp_path: Path, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.VAR_DIR = cache
    out = StringIO()
    chart = tmp_path / "chart.svg"
    call_command(
        "traffic",
        "evaluate",
        "--scenario",
        str(resco("cologne1")),
        "--controller",
        "fixed,sumo_static",
        "--seconds",
        "120",
        "--workers",
        "1",
        "--json",
        "--chart",
        str(chart),
        stdout=out,
        stderr=StringIO(),
    )
    rows = json.loads(out.getvalue())
    assert [r["controller"] for r in rows] == ["fixed", "sumo_static"]
    assert all(r["metrics"]["safety_violations"] == 0 for r in rows)
    assert chart.read_text().startswith("<svg")


def test_evaluate_command_refuses_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Unknown controller"):
        call_command(
            "traffic", "evaluate", "--scenario", str(resco("cologne1")), "--controller", "magic"
        )
    with pytest.raises(CommandError, match="does not exist"):
        call_command("traffic", "evaluate", "--scenario", str(tmp_path / "nope"))
    for seed in ("-1", "2147483648"):
        with pytest.raises(CommandError, match="--seed"):
            call_command(
                "traffic", "evaluate", "--scenario", str(resco("cologne1")), "--seed", seed
            )


def test_the_seed_changes_the_traffic_and_is_repeatable(cache: Path) -> None:
    scenario = scenario_load(resco("cologne1"))
    runs = [
        simulate(scenario, "actuated", cache_dir=cache, seconds=240, seed=seed).metrics
        for seed in (42, 7, 7)
    ]
    assert runs[1] == runs[2]
    assert runs[0]["mean_delay"] != runs[1]["mean_delay"]
    assert all(m["safety_violations"] == 0 for m in runs)


def test_chart_escapes_names_and_marks_missing_values() -> None:
    svg = results_chart(
        [
            {"scenario": "<x>", "controller": "a&b", "metrics": {"mean_delay": 12.0}},
            {"scenario": "<x>", "controller": "c", "metrics": {"mean_delay": None}},
        ],
        title="Delay",
    )
    assert "&lt;x&gt;" in svg
    assert "a&amp;b" in svg
    assert "n/a" in svg


def _cologne1_with(folder: Path, routes: str, *, end: int) -> Path:
    """A scenario in ``folder``: cologne1's network with the demand ``routes`` (the inside
    of a routes file), from 0 to ``end`` seconds."""
    (folder / "net.net.xml").write_bytes((resco("cologne1") / "cologne1.net.xml").read_bytes())
    (folder / "r.rou.xml").write_text(f"<routes>{routes}</routes>")
    (folder / "s.sumocfg").write_text(
        '<configuration><input><net-file value="net.net.xml"/><route-files value="r.rou.xml"/>'
        f'</input><time><begin value="0"/><end value="{end}"/></time></configuration>'
    )
    return folder


def test_a_scenario_with_flows_counts_every_planned_vehicle(cache: Path, tmp_path: Path) -> None:
    # cologne1's network with its demand as two flows instead of single trips
    folder = _cologne1_with(
        tmp_path,
        '<flow id="ns" from="28198821#3" to="32038056#0" begin="0" end="300" period="6"/>'
        '<flow id="ew" from="23429231#1" to="32038051#0" begin="0" end="300" vehsPerHour="720"/>',
        end=400,
    )
    result = simulate(scenario_load(folder), "adaptive", cache_dir=cache)
    assert result.metrics["vehicles"] == 50 + 60
    assert result.metrics["throughput"] == 110
    assert result.metrics["not_departed"] == 0
    assert result.metrics["mean_delay"] is not None
    assert result.metrics["safety_violations"] == 0


def test_cyclists_still_inside_the_junction_hold_crossing_greens(
    cache: Path, tmp_path: Path
) -> None:
    # cologne1 with cyclists on the main streams, as the held-out Ingolstadt network has
    folder = _cologne1_with(
        tmp_path,
        '<vType id="bike" vClass="bicycle"/>'
        '<flow id="ns" from="28198821#3" to="32038056#0" begin="0" end="400" period="8"/>'
        '<flow id="ew" from="23429231#1" to="32038051#0" begin="0" end="400" period="8"/>'
        '<flow id="bns" type="bike" from="28198821#3" to="32038051#0" begin="0" end="400"'
        ' period="10"/>'
        '<flow id="bew" type="bike" from="23429231#1" to="32038056#0" begin="0" end="400"'
        ' period="10"/>',
        end=500,
    )
    result = simulate(scenario_load(folder), "adaptive", cache_dir=cache)
    assert result.metrics["safety_violations"] == 0
    assert result.metrics["cyclist_clearance_holds"] > 0
    # without cyclists nothing is held
    plain = simulate(scenario_load(resco("cologne1")), "adaptive", cache_dir=cache, seconds=300)
    assert plain.metrics["cyclist_clearance_holds"] == 0


def test_a_plan_given_to_the_run_is_what_sumo_shows_on_its_cycle_clock(cache: Path) -> None:
    from rathaus.traffic.control.sumonet import FixedPlan

    tid = "GS_cluster_357187_359543"
    # cologne1's own program runs 29 / 6 / 29 / 6 s greens in a 90 s cycle; this plan
    # gives its phases 12 / 6 / 40 / 6 s (5 s transitions, 84 s) and begins 20 s later
    plan = FixedPlan(
        ((0, 12.0), (1, 6.0), (2, 40.0), (3, 6.0)),
        offset=20.0,
        starts=(0.0, 17.0, 28.0, 73.0),
        cycle=84.0,
    )
    shown: dict[float, str] = {}
    result = simulate(
        scenario_load(resco("cologne1")),
        "fixed",
        cache_dir=cache,
        seconds=420,
        on_step=lambda now, states, readings: shown.__setitem__(now, states[tid]),
        plans={tid: plan},
    )
    assert result.violations == []
    # after the first cycle, in which the plan catches up with its clock, every cycle
    # shows the same states at the same cycle seconds, and each state as long as the
    # plan says: the four greens 12, 6, 40 and 6 s, each transition 5 s
    times = sorted(shown)
    steady = [t for t in times if t >= times[0] + 84]
    assert all(shown[t] == shown[t - 84] for t in steady if t - 84 >= times[0] + 84)
    first = next(k for k in range(84) if (steady[k] - 20.0) % 84 == 0)
    cycle = [shown[steady[first + k]] for k in range(84)]
    runs = [(state, len(list(g))) for state, g in itertools.groupby(cycle)]
    assert sum(n for _, n in runs) == 84
    assert [n for state, n in runs if "y" not in state and n > 5] == [12, 6, 40, 6]


def test_a_plan_runs_with_the_intersections_reviewed_intergreens(cache: Path) -> None:
    from rathaus.traffic.control.safety import SafetyMonitor
    from rathaus.traffic.control.sumonet import FixedPlan

    tid, network, _ = _cologne1_plan()
    # an engineer has lengthened every intergreen by 5 s after reviewing the import
    reviewed = _reviewed(network)
    plan = FixedPlan(
        ((0, 29.0), (1, 6.0), (2, 29.0), (3, 6.0)), starts=(0.0, 29.0, 45.0, 74.0), cycle=90.0
    )

    def shown(**overrides: object) -> list[str]:
        states: list[str] = []
        result = simulate(
            scenario_load(resco("cologne1")),
            "fixed",
            cache_dir=cache,
            seconds=300,
            on_step=lambda now, s, readings: states.append(s[tid]),
            plans={tid: plan},
            **overrides,  # type: ignore[arg-type]
        )
        assert result.violations == []
        return states

    def violations(states: list[str]) -> int:
        monitor = SafetyMonitor(reviewed)
        for second, state in enumerate(states):
            monitor.observe(float(second), state)
        return len(monitor.violations)

    # SUMO shows the reviewed intergreens when the run has them, the network's without
    assert violations(shown(models={tid: reviewed})) == 0
    assert violations(shown()) > 0


@pytest.mark.parametrize("controller", ["adaptive", "fixed"])
def test_own_controllers_run_the_reviewed_configuration_without_a_plan(
    cache: Path, controller: str
) -> None:
    from rathaus.traffic.control.safety import SafetyMonitor

    tid, network, _ = _cologne1_plan()
    # the same phases as the network's, so the fixed-time controller may run the
    # network's own program on it; every intergreen 5 s longer after the review
    reviewed = _reviewed(network)

    def violations(**overrides: object) -> int:
        monitor = SafetyMonitor(reviewed)
        result = simulate(
            scenario_load(resco("cologne1")),
            controller,
            cache_dir=cache,
            seconds=300,
            on_step=lambda now, s, readings: monitor.observe(now, s[tid]),
            **overrides,  # type: ignore[arg-type]
        )
        assert result.violations == []
        return len(monitor.violations)

    assert violations(models={tid: reviewed}) == 0
    assert violations() > 0


def _reviewed(network: Any) -> Any:
    """``network``'s traffic light with every intergreen 5 s longer."""
    from rathaus.traffic.control.model import intersection_build

    return intersection_build(
        id=network.id,
        groups=network.groups,
        phases=network.phases,
        intergreen={pair: seconds + 5.0 for pair, seconds in network.intergreen.items()},
    )


def _cologne1_plan() -> tuple[str, Any, Any]:
    """cologne1's traffic light, its network model and its own program as a plan."""
    from rathaus.traffic.control.sumonet import net_read

    tid = "GS_cluster_357187_359543"
    info = net_read(resco("cologne1") / "cologne1.net.xml")
    return tid, info.intersections[tid], info.plans[tid]


@pytest.mark.parametrize(
    ("controller", "case", "message"),
    [
        ("fixed", "unknown light", "No traffic light"),
        ("adaptive", "plan", "fixed-time controller only"),
        ("fixed", "other lanes", "other lanes"),
        ("fixed", "model with other phases", "plan of its own"),
        ("sumo_static", "model", "SUMO's own programs"),
        ("sumo_actuated", "model", "SUMO's own programs"),
    ],
)
def test_plans_and_models_a_run_cannot_take_are_refused_before_it_runs(
    cache: Path, controller: str, case: str, message: str
) -> None:
    tid, network, plan = _cologne1_plan()
    overrides: dict[str, Any] = {
        "unknown light": {"plans": {"elsewhere": plan}},
        "plan": {"plans": {tid: plan}},
        "other lanes": {
            "plans": {tid: plan},
            "models": {tid: replace(network, groups=tuple(reversed(network.groups)))},
        },
        "model with other phases": {"models": {tid: replace(network, phases=network.phases[:2])}},
        "model": {"models": {tid: network}},
    }[case]
    with pytest.raises(ValueError, match=message):
        simulate(
            scenario_load(resco("cologne1")), controller, cache_dir=cache, seconds=60, **overrides
        )
