"""The adaptive rule improved by one rollout step on its own queue model (an experiment).

``bench/traffic_oracle.py`` showed that one step of policy improvement with a perfect
model of the street would take 19 % off the adaptive controller's delay on the held-out
Braunschweig network. This asks how much of that a controller can get from a model it
could really have: the detector readings and the lane flows it already keeps.

At every second at which the rule may end its green and a phase waits, the controller
simulates both choices (keep the green one second more, or end it for the phase the rule
would end it for) for ``--horizon`` seconds on a vertical-queue model and takes the
cheaper; after the first second the rule itself runs in the model, through a copy of the
safety layer. The model, per incoming lane: the standing queue, the tracked vehicles at
their arrival times, new vehicles at the lane's measured flow entering the detection area
(at the longest arrival time the lane has reported), a queue discharging at the
saturation headway after the start-up loss, vehicles that reach the stop line in the first
second of yellow crossing (SUMO's drivers cannot stop by then). Its cost is the vehicles
standing, summed over the seconds. Nothing per network is set.

It is not a shipped controller: it changes every network in both directions (see
docs/modules/traffic.md, "A rollout on the controller's own model"). Run from the
repository root: ``.venv/bin/python bench/traffic_rollout.py [--scenarios braunschweig,
cologne1] [--seeds 42,1] [--workers 2]``; the shipped rule runs on the same seeds in the
same invocation as the baseline. Results go to ``bench/results/traffic_rollout.json``.
"""

from __future__ import annotations

import argparse
import copy
import json
import multiprocessing
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO_DIR / "src"))

from portal import git_commit, machine  # noqa: E402 - the sibling benchmark's helpers

from rathaus.traffic.control.controllers import Adaptive, Plan  # noqa: E402
from rathaus.traffic.control.model import Intersection  # noqa: E402
from rathaus.traffic.control.observe import LaneReading, LayerView, Observation  # noqa: E402
from rathaus.traffic.control.safety import SafetyLayer, Signal  # noqa: E402

DEFAULT_OUTPUT = REPO_DIR / "bench" / "results" / "traffic_rollout.json"
RESCO = ("cologne1", "cologne3", "cologne8", "ingolstadt1", "ingolstadt7")
#: Seconds into the yellow within which a vehicle reaching the stop line still crosses.
YELLOW_PASS = 0.9
#: Arrival time of a vehicle entering the detection area, until a lane reports one.
ENTRY_ETA = 6.0


@dataclass
class _Lane:
    queue: int
    moving: list[float]
    gap: float
    flow: float
    entry: float
    capacity: float = 0.0
    credit: float = 0.0
    green: bool = False
    others: LaneReading = field(default_factory=LaneReading)


class Rollout(Adaptive):
    """:class:`Adaptive` whose keep-or-end choice is checked by a rollout on its model."""

    name = "adaptive_rollout"

    def __init__(self, intersection: Intersection, horizon: int = 30) -> None:
        super().__init__(intersection)
        self.horizon = horizon
        self._inside = False
        self._entry: dict[str, float] = {}
        self._lane_groups: dict[str, list[int]] = {}
        for group in intersection.groups:
            for lane in group.lanes:
                self._lane_groups.setdefault(lane, []).append(group.index)
        self.overruled = 0

    def decide(self, obs: Observation, layer: LayerView) -> int | None:
        if self._inside:
            return self.plan(obs, layer).proposal
        for lane in self._flow:
            arrivals = obs.lane(lane).arrivals
            if arrivals:
                self._entry[lane] = max(self._entry.get(lane, 0.0), arrivals[-1])
        plan: Plan = self.plan(obs, layer, alternative=True)
        if plan.forced or plan.ending is None or layer.phase is None:
            return plan.proposal
        other = plan.ending if plan.proposal is None else None
        # the view is read-only for controllers; the model runs on a copy of the layer
        layer_copy: SafetyLayer = copy.deepcopy(layer._layer)
        mine = self.cost(obs, copy.deepcopy(layer_copy), plan.proposal)
        theirs = self.cost(obs, layer_copy, other)
        if theirs < mine:
            self.overruled += 1
            return other
        return plan.proposal

    def cost(self, obs: Observation, model: SafetyLayer, action: int | None) -> float:
        """Vehicle-seconds standing over the horizon if ``action`` is proposed now and the
        rule decides afterwards, on the queue model; the rule's own state is restored."""
        saved = (dict(self._flow), dict(self._lane_served), self._last)
        s = self.settings
        lanes: dict[str, _Lane] = {}
        for lane, flow in self._flow.items():
            if lane in obs.stale:
                continue
            reading = obs.lane(lane)
            moving = list(reading.arrivals)
            moving.extend([s.headway] * max(0, round(reading.moving) - len(moving)))
            lanes[lane] = _Lane(
                queue=round(reading.queue),
                moving=moving,
                gap=reading.gap,
                flow=flow,
                entry=self._entry.get(lane, ENTRY_ETA),
                others=reading,
            )
        readings = dict(obs.lanes)
        view = LayerView(model)
        groups = range(len(self.intersection.groups))
        total = 0.0
        self._inside = True
        try:
            model.step(obs.now, action)
            for k in range(1, self.horizon + 1):
                before = obs.now + k - 1
                open_groups = {
                    g
                    for g in groups
                    if model.signal(g) is Signal.GREEN
                    or (
                        model.signal(g) is Signal.YELLOW
                        and before - model._clocks[g].since < YELLOW_PASS
                    )
                }
                for lane, state in lanes.items():
                    total += self._advance(
                        state, any(g in open_groups for g in self._lane_groups.get(lane, ()))
                    )
                    readings[lane] = LaneReading(
                        queue=state.queue,
                        vehicles=state.queue + len(state.moving),
                        occupancy=state.others.occupancy,
                        gap=state.gap,
                        arrivals=tuple(sorted(state.moving)),
                    )
                now = obs.now + k
                model.step(
                    now,
                    self.plan(Observation(now=now, lanes=readings, stale=obs.stale), view).proposal,
                )
        finally:
            self._inside = False
            self._flow, self._lane_served, self._last = saved
        return total

    def _advance(self, lane: _Lane, green: bool) -> int:
        """One second of one lane; returns the vehicles standing at its end."""
        s = self.settings
        arrived = sum(1 for eta in lane.moving if eta <= 1.0)
        lane.moving = [eta - 1.0 for eta in lane.moving if eta > 1.0]
        crossed = 0
        if green:
            if not lane.green:
                lane.capacity = -s.start_loss / s.headway if lane.queue else 0.0
            lane.capacity += 1.0 / s.headway
            if lane.queue == 0:
                crossed = arrived
            else:
                lane.queue += arrived
                crossed = min(lane.queue, max(0, int(lane.capacity + 1e-9)))
                lane.queue -= crossed
                lane.capacity -= crossed
            if lane.queue == 0:
                lane.capacity = min(lane.capacity, 1.0)
        else:
            lane.queue += arrived
            lane.capacity = 0.0
        lane.green = green
        lane.gap = 0.0 if crossed else lane.gap + 1.0
        lane.credit += lane.flow
        while lane.credit >= 1.0:
            lane.moving.append(lane.entry)
            lane.credit -= 1.0
        return lane.queue


def _folder(name: str) -> Path:
    if name in RESCO:
        shared = Path(os.environ.get("RATHAUS_SHARED_DIR", REPO_DIR.parent / "shared"))
        return shared / "data" / "traffic" / "resco" / name
    from traffic_heldout import held_out

    return held_out(name)


def _plain_above(limit: int) -> Any:
    """A factory: the rollout at junctions with at most ``limit`` phases (0: all), the
    plain rule elsewhere."""

    def make(intersection: Intersection, plan: Any) -> Adaptive:
        if limit and len(intersection.phases) > limit:
            return Adaptive(intersection)
        return Rollout(intersection)

    return make


def _run(job: tuple[str, Path, int, bool, int]) -> tuple[str, int, bool, float, float]:
    name, folder, seed, rollout, max_phases = job
    from rathaus.traffic.control import controllers
    from rathaus.traffic.sim.harness import simulate
    from rathaus.traffic.sim.scenario import scenario_load

    if rollout:
        controllers.CONTROLLERS["adaptive"] = _plain_above(max_phases)
    started = time.monotonic()
    from traffic_heldout import traffic_var_dir

    cache = traffic_var_dir()  # SUMO's rebuilt programs, shared with traffic_heldout.py
    result = simulate(scenario_load(folder), "adaptive_nopriority", cache_dir=cache, seed=seed)
    return name, seed, rollout, float(result.metrics["mean_delay"]), time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenarios", default=",".join(("braunschweig", *RESCO, "cross", "square"))
    )
    parser.add_argument("--seeds", default="42,1")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--max-phases",
        type=int,
        default=0,
        help="roll out only at junctions with at most this many phases (0: at all)",
    )
    args = parser.parse_args()
    seeds = list(dict.fromkeys(int(s) for s in args.seeds.split(",")))
    names = [n for n in args.scenarios.split(",") if n]
    folders = {name: _folder(name) for name in names}  # built once, before the workers
    jobs = [
        (n, folders[n], seed, r, args.max_phases)
        for n in names
        for r in (False, True)
        for seed in seeds
    ]
    started = time.monotonic()
    delays: dict[tuple[str, bool], dict[int, float]] = {}
    context = multiprocessing.get_context("spawn")
    with context.Pool(args.workers, maxtasksperchild=1) as pool:
        for name, seed, rollout, delay, wall in pool.imap_unordered(_run, jobs):
            delays.setdefault((name, rollout), {})[seed] = delay
            label = "rollout" if rollout else "adaptive"
            print(f"{name} seed {seed} {label}: {delay:.3f} s ({wall:.0f} s)", flush=True)
    rows: list[dict[str, Any]] = []
    for name in names:
        base = statistics.mean(delays[(name, False)].values())
        better = statistics.mean(delays[(name, True)].values())
        rows.append(
            {
                "scenario": name,
                "adaptive": round(base, 3),
                "rollout": round(better, 3),
                "change": round(better / base - 1, 3),
                "per_seed": {
                    str(seed): [delays[(name, False)][seed], delays[(name, True)][seed]]
                    for seed in seeds
                },
            }
        )
        print(f"{name}: adaptive {base:.2f} s, rollout {better:.2f} s ({better / base - 1:+.1%})")
    result = {
        "benchmark": "traffic_rollout",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": machine(),
        "seeds": seeds,
        "max_phases": args.max_phases,
        "scenarios": rows,
        "wall_seconds": round(time.monotonic() - started, 1),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
