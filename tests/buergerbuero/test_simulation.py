"""The simulation runs the real policy and estimator; bad scenarios give clear errors."""

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from rathaus.buergerbuero.simulation import (
    SCENARIO_DIR,
    ScenarioError,
    scenario_parse,
    simulate,
)

SHIPPED = SCENARIO_DIR / "city-93k.json"


def small() -> dict[str, Any]:
    data = json.loads(SHIPPED.read_text(encoding="utf-8"))
    data.update(days=1, visits_per_day={"mon": 60}, opening_hours={"mon": [["08:00", "12:00"]]})
    data["counters"] = data["counters"][:2]
    data["counters"][1]["skills"] = None
    return data


def test_shipped_scenario_is_valid() -> None:
    scenario = scenario_parse(json.loads(SHIPPED.read_text(encoding="utf-8")))
    assert scenario.days >= 5
    assert 0.3 <= scenario.appointment_share <= 0.5


def test_a_small_day_gives_figures_for_every_policy() -> None:
    result = simulate(scenario_parse(small()))
    assert set(result["policies"]) == {"weighted", "fifo_mixed", "fifo", "fifo_per_service"}
    served = {name: p["served"] for name, p in result["policies"].items()}
    # every policy serves the same visitors
    assert len(set(served.values())) == 1
    assert result["visits"] == served["weighted"] > 0
    for figures in result["policies"].values():
        assert figures["p90_wait_minutes"] >= figures["mean_wait_minutes"] * 0.5
        assert 0 < figures["counter_utilisation"] <= 1.5
    # the same seed gives the same figures
    assert simulate(scenario_parse(small())) == result


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("days"), "'days' is missing"),
        (lambda d: d.update(days=0), "'days' must be from 1"),
        (lambda d: d.update(opening_hours={"mon": [["12:00", "08:00"]]}), "not before"),
        (lambda d: d.update(opening_hours={"mon": [["25:00", "26:00"]]}), "not a time"),
        (lambda d: d.update(opening_hours={"funday": [["08:00", "12:00"]]}), "not a weekday"),
        (lambda d: d["services"][0].update(mean_minutes=-3), "mean_minutes"),
        (lambda d: d["counters"][0].update(skills=["nonsense"]), "unknown services"),
        (lambda d: d.update(counters=[{"skills": ["abholung"]}]), "no counter can do"),
        (lambda d: d.update(appointment_share=1.5), "appointment_share"),
        (lambda d: d.update(visits_per_day={"sun": 10}), "no opening hours"),
        (lambda d: d.update(services=[]), "non-empty"),
        (lambda d: d.update(capacity_split="magic"), "capacity_split"),
    ],
)
def test_impossible_scenarios_are_refused(change: Any, message: str) -> None:
    data = copy.deepcopy(small())
    change(data)
    with pytest.raises(ScenarioError, match=message):
        scenario_parse(data)


def test_the_command_prints_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(small()), encoding="utf-8")
    call_command("buergerbuero", "simulate", "--scenario", str(path), "--json")
    result = json.loads(capsys.readouterr().out)
    assert result["targets"]["p90_target_percent"] == 30
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("buergerbuero", "simulate", "--scenario", str(path))
    with pytest.raises(CommandError, match="cannot read"):
        call_command("buergerbuero", "simulate", "--scenario", str(tmp_path / "missing.json"))
