"""How far the adaptive controller is from its own perfect-foresight improvement.

A diagnostic, not a controller: at every second at which the adaptive controller may end
its green, the running simulation is forked (``os.fork``, so the copy carries SUMO's whole
state, its random numbers included, and therefore the exact future) once per choice
(keep the green, or end it for each candidate phase). Each copy carries the choice out and
then lets the adaptive controller run on for ``--horizon`` seconds; the choice whose copy
accumulated the least delay is carried out for real (one step of policy improvement with
a perfect model). Nothing a real controller could know is used for that comparison that a
perfect simulator of the street would not know; the point is the bound: what better
decisions with the same phases, the same safety layer and the same detectors could gain.

Delay is measured the same way for both runs, inside the loop: every second, the sum over
vehicles of ``1 - speed / allowed speed`` (their time loss) plus the vehicles waiting to
enter, divided by the vehicles due. On the held-out Braunschweig network this reads
7.17 s where the RESCO delay of the harness reads 7.16 s (seed 42, first 600 s).

``--perfect-drivers`` sets every vehicle type's driver imperfection (SUMO's ``sigma``) to
0, so the copies cannot profit from foreseeing the random numbers: at Braunschweig seed 42
the bound stays as large (5.37 against 4.33 s, -19.4 %; with imperfection -18 %).

Run from the repository root (POSIX only, one core per run):
``.venv/bin/python bench/traffic_oracle.py --scenario braunschweig --seeds 42,1,2``.
``--scenario`` takes a held-out name (built as in ``traffic_heldout.py``) or a scenario
folder. Results go to ``bench/results/traffic_oracle.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO_DIR / "src"))

from portal import git_commit, machine  # noqa: E402 - the sibling benchmark's helpers

DEFAULT_OUTPUT = REPO_DIR / "bench" / "results" / "traffic_oracle.json"


def _cost(libsumo: Any) -> float:
    """Delay accumulating in this second: time loss of the vehicles in the network plus
    the vehicles waiting to enter it."""
    total = 0.0
    for vid in libsumo.vehicle.getIDList():
        allowed = libsumo.vehicle.getAllowedSpeed(vid)
        if allowed > 0:
            total += max(0.0, 1.0 - libsumo.vehicle.getSpeed(vid) / allowed)
    return total + len(libsumo.simulation.getPendingVehicles())


class _Chosen:
    """A controller whose next proposal can be replaced once (the safety layer still
    checks it)."""

    UNSET = object()

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.choice: Any = self.UNSET

    def decide(self, obs: Any, layer: Any) -> int | None:
        proposal = self.inner.decide(obs, layer)
        if self.choice is not self.UNSET:
            proposal, self.choice = self.choice, self.UNSET
        return proposal  # type: ignore[no-any-return]


def run(
    folder: Path, seed: int, horizon: float, oracle: bool, *, perfect_drivers: bool = False
) -> dict[str, Any]:
    """One hour of ``folder`` with the adaptive controller (without bus priority), with or
    without the perfect-foresight choice at each decision; ``perfect_drivers``: every
    vehicle type without driver imperfection (SUMO's ``sigma`` 0), so the copies cannot
    profit from knowing the random numbers."""
    import libsumo  # type: ignore[import-untyped]

    from rathaus.traffic.sim import harness
    from rathaus.traffic.sim.scenario import scenario_load

    scenario = scenario_load(folder)
    info = harness.net_read(scenario.net)
    own = harness._Own(info, "adaptive_nopriority", False, scenario.begin)
    chosen = {tid: _Chosen(controller) for tid, controller in own.controllers.items()}
    own.controllers.update(chosen)
    with tempfile.TemporaryDirectory(prefix="rathaus-oracle-") as tmp:
        det_file, area, loop = harness._detector_file(info, Path(tmp))
        libsumo.start(
            harness.sumo_command(
                scenario.net,
                scenario,
                [*scenario.additional, det_file],
                end=scenario.end,
                seed=seed,
            )
        )
        if perfect_drivers:
            for vtype in libsumo.vehicletype.getIDList():
                libsumo.vehicletype.setImperfection(vtype, 0.0)

        def step(gaps: dict[str, float], now: float) -> None:
            harness.control_step(libsumo, own, harness._read(libsumo, area, loop, gaps, 1.0), now)
            libsumo.simulationStep()

        def rollout(now: float, gaps: dict[str, float], tid: str, choice: int | None) -> float:
            """Cost of ``choice`` now and the controller afterwards, in a forked copy."""
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:  # the copy: carry the choice out, report, vanish without cleanup
                os.close(read)
                try:
                    chosen[tid].choice = choice
                    cost, t = 0.0, now
                    while t < min(now + horizon, scenario.end):
                        step(gaps, t)
                        t += 1
                        cost += _cost(libsumo)
                    os.write(write, repr(cost).encode())
                finally:
                    os._exit(0)
            os.close(write)
            data = b""
            while chunk := os.read(read, 64):
                data += chunk
            os.close(read)
            os.waitpid(pid, 0)
            return float(data)

        gaps: dict[str, float] = {}
        total = 0.0
        decisions = 0
        try:
            now = libsumo.simulation.getTime()
            while now < scenario.end:
                if oracle:
                    for tid, layer in own.layers.items():
                        if layer.target is not None or layer.phase is None:
                            continue
                        if not layer.can_switch(now):
                            continue
                        choices = [None, *chosen[tid].inner._candidates[layer.phase]]
                        costs = [rollout(now, gaps, tid, c) for c in choices]
                        chosen[tid].choice = choices[costs.index(min(costs))]
                        decisions += 1
                step(gaps, now)
                total += _cost(libsumo)
                now = libsumo.simulation.getTime()
        finally:
            libsumo.close()
    due = len(harness._planned_departures(scenario, scenario.end))
    return {"mean_delay": round(total / max(due, 1), 3), "decisions": decisions}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="braunschweig")
    parser.add_argument("--seeds", default="42,1,2")
    parser.add_argument("--horizon", type=float, default=30.0)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--perfect-drivers",
        action="store_true",
        help="no driver imperfection (sigma 0): the bound cannot come from foreseen noise",
    )
    args = parser.parse_args()
    seeds = list(dict.fromkeys(int(s) for s in args.seeds.split(",")))

    from traffic_heldout import SCENARIOS, held_out

    folder = held_out(args.scenario) if args.scenario in SCENARIOS else Path(args.scenario)
    started = time.monotonic()
    rows = []
    for seed in seeds:
        drivers = args.perfect_drivers
        base = run(folder, seed, args.horizon, oracle=False, perfect_drivers=drivers)
        better = run(folder, seed, args.horizon, oracle=True, perfect_drivers=drivers)
        rows.append({"seed": seed, "adaptive": base, "oracle": better})
        print(
            f"seed {seed}: adaptive {base['mean_delay']:.2f} s, "
            f"perfect-foresight choice {better['mean_delay']:.2f} s",
            flush=True,
        )
    adaptive = statistics.mean(r["adaptive"]["mean_delay"] for r in rows)
    oracle = statistics.mean(r["oracle"]["mean_delay"] for r in rows)
    result = {
        "benchmark": "traffic_oracle",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": machine(),
        "scenario": folder.name,
        "horizon": args.horizon,
        "perfect_drivers": args.perfect_drivers,
        "seeds": seeds,
        "runs": rows,
        "adaptive_mean_delay": round(adaptive, 3),
        "oracle_mean_delay": round(oracle, 3),
        "change": round(oracle / adaptive - 1, 3),
        "wall_seconds": round(time.monotonic() - started, 1),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{folder.name}: adaptive {adaptive:.2f} s, perfect-foresight choice {oracle:.2f} s "
        f"({result['change']:+.1%}); {args.output}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
