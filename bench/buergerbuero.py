"""The Bürgerbüro's calling policy and waiting-time estimator in a simulated city office.

Runs the shipped scenario (``src/rathaus/buergerbuero/scenarios/city-93k.json``: a city of
about 93,000 inhabitants, about 80,000 visits a year, peaks on Monday and Thursday and at
11:00-14:00, 40 % appointments) through ``rathaus.buergerbuero.simulation``, which drives
the real policy (``policy.py``) and estimator (``estimator.py``). Every policy sees the same
visitors; the baselines run in the same process on the same draws:

- ``fifo``: one first-in-first-out queue for everyone, no appointments (the classic
  office; the target's reference),
- ``fifo_per_service``: one FIFO queue per service, counters dedicated by workload,
- ``fifo_mixed``: the appointments of the Bürgerbüro, but called first-come-first-served
  (isolates the calling policy from the booking's capacity split).

Targets at equal staffing: the 90th-percentile wait of ``weighted`` at least 30 % below
``fifo``; the estimator's mean absolute error at most half of the naive estimate (people
ahead x mean service time ÷ open counters). Results are printed and written to
``bench/results/buergerbuero.json``. Run from the repository root:
``.venv/bin/python bench/buergerbuero.py [--days N] [--scenario FILE]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR / "src"))

from rathaus.buergerbuero.simulation import (  # noqa: E402
    SCENARIO_DIR,
    scenario_load,
    simulate,
)

DEFAULT_OUTPUT = REPO_DIR / "bench" / "results" / "buergerbuero.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=SCENARIO_DIR / "city-93k.json")
    parser.add_argument("--days", type=int, help="Override the scenario's number of days.")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    scenario = scenario_load(args.scenario)
    if args.days:
        scenario = replace(scenario, days=args.days)
    started = time.perf_counter()
    results = simulate(scenario)
    elapsed = time.perf_counter() - started
    report = {
        "benchmark": "buergerbuero",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "scenario_file": str(args.scenario.relative_to(REPO_DIR))
        if args.scenario.is_relative_to(REPO_DIR)
        else str(args.scenario),
        "seconds": round(elapsed, 1),
        **results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"{results['scenario']}: {results['days']} days, {results['visits']} visits")
    for name, figures in results["policies"].items():
        print(
            f"  {name:<17} mean {figures['mean_wait_minutes']:>6} p90 "
            f"{figures['p90_wait_minutes']:>6} >30min {figures['share_over_30_minutes']:>5} "
            f"util {figures['counter_utilisation']:>5} MAE {figures['estimator_mae_minutes']:>5} "
            f"naive {figures['naive_mae_minutes']:>5}"
        )
    targets = results["targets"]
    print(
        f"p90 {targets['p90_reduction_vs_fifo_percent']} % below FIFO (target 30 %): "
        f"{'met' if targets['p90_met'] else 'NOT met'}; estimator MAE / naive "
        f"{targets['estimator_mae_over_naive']} (target 0.5): "
        f"{'met' if targets['estimator_met'] else 'NOT met'}"
    )
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
