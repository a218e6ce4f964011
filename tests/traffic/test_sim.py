"""Real SUMO runs (short windows of the smallest scenarios): own controllers through the
safety layer, SUMO's programs, bus priority, emergency pre-emption, the command."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from rathaus.traffic.sim.chart import results_chart
from rathaus.traffic.sim.harness import simulate
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


def test_buses_ask_for_priority_in_ingolstadt1(cache: Path) -> None:
    scenario = scenario_load(resco("ingolstadt1"))
    with_priority = simulate(scenario, "adaptive", cache_dir=cache, seconds=1800)
    assert with_priority.metrics["buses"] > 0
    assert with_priority.priority["requests"] > 0
    assert with_priority.metrics["safety_violations"] == 0


def test_an_ambulance_preempts_and_the_run_stays_safe(cache: Path) -> None:
    import libsumo

    added = {"done": False}

    def inject(now: float, states: dict, readings: dict) -> None:
        if not added["done"]:
            libsumo.vehicletype.copy("DEFAULT_VEHTYPE", "rtw")
            libsumo.vehicletype.setVehicleClass("rtw", "emergency")
            libsumo.route.add("rtw_route", ["-32038056#3", "32038051#0"])
            libsumo.vehicle.add("rtw1", "rtw_route", typeID="rtw")
            added["done"] = True

    result = simulate(
        scenario_load(resco("cologne1")), "adaptive", cache_dir=cache, seconds=300, on_step=inject
    )
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
