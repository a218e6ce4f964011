"""Simulations of long-lived processes (the task worker) run in a process of their own:
libsumo's static state must not carry one run's traces into the next."""

import itertools
import multiprocessing
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rathaus.traffic.sim.evaluate import SimulationCrashed, simulate_isolated
from rathaus.traffic.sim.harness import simulate
from rathaus.traffic.sim.scenario import scenario_load
from tests.traffic.conftest import resco

pytest.importorskip("libsumo")


def test_an_isolated_run_reports_progress_and_twin_steps_and_matches_a_direct_run(
    tmp_path: Path,
) -> None:
    scenario = scenario_load(resco("cologne1"))
    shares: list[float] = []
    steps: list[float] = []

    def on_step(now: float, states: dict, readings: dict) -> None:
        assert set(states) == {"GS_cluster_357187_359543"}
        steps.append(now)

    result = simulate_isolated(
        scenario,
        "adaptive",
        cache_dir=tmp_path,
        seconds=120,
        progress=shares.append,
        on_step=on_step,
        step_every=10.0,
    )
    assert shares[-1] == 1.0
    assert shares == sorted(shares)
    # one twin step every 10 simulated seconds, not every second
    assert len(steps) == 12
    assert all(b - a == 10.0 for a, b in itertools.pairwise(steps))
    direct = simulate(scenario, "adaptive", cache_dir=tmp_path, seconds=120)
    assert result.metrics == direct.metrics
    assert result.violations == []


def test_the_calling_process_never_loads_libsumo(tmp_path: Path) -> None:
    # run in a fresh interpreter: this test process has libsumo loaded by other tests
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from rathaus.traffic.sim.evaluate import simulate_isolated
        from rathaus.traffic.sim.scenario import scenario_load

        if __name__ == "__main__":
            result = simulate_isolated(
                scenario_load(Path({str(resco("cologne1"))!r})),
                "fixed",
                cache_dir=Path({str(tmp_path)!r}),
                seconds=30,
            )
            assert result.metrics["vehicles"] > 0, result.metrics
            print("libsumo" in sys.modules)
        """
    )
    path = tmp_path / "caller.py"
    path.write_text(script)
    done = subprocess.run(  # noqa: S603 - our own script and interpreter, no shell
        [sys.executable, str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_an_error_inside_the_simulation_is_raised_with_its_message(tmp_path: Path) -> None:
    folder = tmp_path / "scenario"
    shutil.copytree(resco("cologne1"), folder)
    scenario = scenario_load(folder)
    # the network disappears after the scenario was checked: the run cannot read it
    (folder / "cologne1.net.xml").unlink()
    missing = r"ModelError: Network file .*cologne1\.net\.xml does not exist"
    with pytest.raises(RuntimeError, match=missing):
        simulate_isolated(scenario, "adaptive", cache_dir=tmp_path, seconds=30)
    with pytest.raises(ValueError, match="Unknown controller"):
        simulate_isolated(scenario, "nonsense", cache_dir=tmp_path, seconds=30)


def test_a_simulation_process_that_dies_is_reported_not_waited_for(tmp_path: Path) -> None:
    scenario = scenario_load(resco("cologne1"))

    def kill_it(share: float) -> None:
        if share > 0.1:
            for child in multiprocessing.active_children():
                if child.name.startswith("rathaus-sumo-"):
                    child.kill()

    with pytest.raises(SimulationCrashed, match="without a result"):
        simulate_isolated(scenario, "adaptive", cache_dir=tmp_path, progress=kill_it)
