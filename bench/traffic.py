"""Signal controllers on the five RESCO scenarios (real-city SUMO networks).

Runs every own controller (fixed, actuated, max_pressure, adaptive, adaptive without
priority) and SUMO's built-in programs (static = the scenario's plan, actuated and
delay_based, rebuilt with netconvert) on every scenario in
``$RATHAUS_SHARED_DIR/data/traffic/resco`` for the full simulated hour, in a pool of
``--workers`` processes (default 2). The built-ins are the baseline measured in the same
run. Delay is RESCO's: time loss + departure delay, vehicles that could not depart count
with their full wait.

Target per scenario: the adaptive controller's mean delay at least 15 % below the best
built-in, zero safety violations for every own controller, bus delay with priority below
the run without priority. Results go to ``bench/results/traffic.json``. Run from the
repository root, ideally under ``nice``:
``nice -n 10 .venv/bin/python bench/traffic.py [--seconds 3600] [--workers 2]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO_DIR / "src"))

from portal import git_commit, machine  # noqa: E402 - the sibling benchmark's helpers

DEFAULT_OUTPUT = REPO_DIR / "bench" / "results" / "traffic.json"
TARGET = 0.85


def main() -> int:
    from rathaus.traffic.sim.evaluate import evaluate
    from rathaus.traffic.sim.harness import ALL_CONTROLLERS
    from rathaus.traffic.sim.scenario import BUILTINS, scenario_load

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = Path(os.environ.get("RATHAUS_SHARED_DIR", REPO_DIR.parent / "shared"))
    parser.add_argument("--scenarios", type=Path, default=shared / "data" / "traffic" / "resco")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()

    folders = sorted(p for p in args.scenarios.iterdir() if p.is_dir())
    scenarios = [scenario_load(p) for p in folders]
    jobs = [(s, c) for s in scenarios for c in ALL_CONTROLLERS]
    cache = Path(os.environ.get("RATHAUS_VAR_DIR", REPO_DIR / "var")) / "traffic"
    started = time.monotonic()
    last = {"shown": -1}
    shares: dict[str, float] = {}

    def progress(name: str, controller: str, share: float) -> None:
        shares[f"{name}/{controller}"] = share
        total = sum(shares.values()) / len(jobs)
        if int(total * 20) != last["shown"]:
            last["shown"] = int(total * 20)
            print(f"  {total * 100:5.1f}% after {time.monotonic() - started:6.0f} s", flush=True)

    results = evaluate(
        jobs, cache_dir=cache, seconds=args.seconds, workers=args.workers, progress=progress
    )
    wall = time.monotonic() - started

    table: dict[str, dict[str, Any]] = {}
    for row in results:
        table.setdefault(row["scenario"], {})[row["controller"]] = row["metrics"]
    verdicts: dict[str, dict[str, Any]] = {}
    for scenario, rows in table.items():
        builtin = {c: rows[c]["mean_delay"] for c in BUILTINS}
        best_name = min(builtin, key=lambda c: builtin[c])
        best = builtin[best_name]
        adaptive = rows["adaptive"]["mean_delay"]
        own_violations = sum(
            rows[c]["safety_violations"] for c in rows if not c.startswith("sumo_")
        )
        bus, bus_ref = rows["adaptive"]["bus_delay"], rows["adaptive_nopriority"]["bus_delay"]
        verdicts[scenario] = {
            "best_builtin": best_name,
            "best_builtin_delay": best,
            "adaptive_delay": adaptive,
            "reduction": round(1 - adaptive / best, 3),
            "delay_target_met": adaptive <= TARGET * best,
            "own_safety_violations": own_violations,
            "bus_delay": bus,
            "bus_delay_without_priority": bus_ref,
            "bus_target_met": None if bus is None else bus < bus_ref,
            # the buses that came within reach of a signal (the only ones priority can help)
            "signal_bus_delay": rows["adaptive"]["signal_bus_delay"],
            "signal_bus_delay_without_priority": rows["adaptive_nopriority"]["signal_bus_delay"],
        }
    print(f"\n{'scenario':12} " + " ".join(f"{c[:14]:>14}" for c in ALL_CONTROLLERS))
    for scenario, rows in table.items():
        print(
            f"{scenario:12} " + " ".join(f"{rows[c]['mean_delay']:14.2f}" for c in ALL_CONTROLLERS)
        )
    print()
    for scenario, v in verdicts.items():
        print(
            f"{scenario:12} adaptive {v['adaptive_delay']:.2f} s vs {v['best_builtin']} "
            f"{v['best_builtin_delay']:.2f} s: {-v['reduction'] * 100:+.1f} % "
            f"({'met' if v['delay_target_met'] else 'NOT met'}); own violations "
            f"{v['own_safety_violations']}; bus {v['bus_delay']} vs "
            f"{v['bus_delay_without_priority']} (at signals {v['signal_bus_delay']} vs "
            f"{v['signal_bus_delay_without_priority']})"
        )
    print(f"wall time {wall:.0f} s")

    output = {
        "benchmark": "traffic",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        **git_commit(),
        "machine": machine(workers=args.workers),
        "sumo": metadata.version("eclipse-sumo"),
        "seconds": args.seconds or "scenario",
        "wall_seconds": round(wall, 1),
        "target": "adaptive mean delay <= 0.85 x best SUMO built-in; no violations; "
        "bus delay below the no-priority run",
        "verdicts": verdicts,
        "table": table,
        "runs": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(output, indent=2))
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
