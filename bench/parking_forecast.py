"""Forecast evaluation on the Birmingham car-park data (30 car parks, 11 weeks, 2016).

Train on every week but the last two, test on the last two: mean absolute error in
percentage points of occupancy at +15/+30/+60/+120 minutes for the model, persistence
(the last value) and the same slot a week earlier, all in the same run. Nothing is tuned
on the test weeks: the model's only fitted numbers come from ``forecast_train``.
"""

from __future__ import annotations

import bisect
import csv
import os
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

from rathaus.parking.forecast import HORIZONS, MAX_GAP, forecast_predict, forecast_train

DATA = "data/parking/birmingham-parking-occupancy-2016.csv"
TEST_WEEKS = 2


def load(path: Path) -> dict[str, list[tuple[datetime, float]]]:
    """Readings per car park as (time, occupancy fraction); broken rows are skipped."""
    series: dict[str, dict[datetime, float]] = defaultdict(dict)
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            try:
                capacity = int(row["Capacity"])
                occupied = int(row["Occupancy"])
                moment = datetime.strptime(row["LastUpdated"], "%Y-%m-%d %H:%M:%S")
            except (KeyError, ValueError):
                continue
            if capacity <= 0 or occupied < 0:
                continue
            series[row["SystemCodeNumber"]][moment] = min(1.0, occupied / capacity)
    return {site: sorted(values.items()) for site, values in series.items()}


def value_at(
    readings: list[tuple[datetime, float]], times: list[datetime], moment: datetime
) -> float | None:
    """Linear interpolation between the readings around ``moment`` (same day, gap ≤ 65 min)."""
    index = bisect.bisect_left(times, moment)
    if index < len(times) and times[index] == moment:
        return readings[index][1]
    if index == 0 or index == len(times):
        return None
    (t0, v0), (t1, v1) = readings[index - 1], readings[index]
    if t1 - t0 > MAX_GAP or t0.date() != t1.date():
        return None
    return v0 + (v1 - v0) * ((moment - t0) / (t1 - t0))


def evaluate(path: Path) -> dict[str, object]:
    data = load(path)
    last = max(t for readings in data.values() for t, _ in readings)
    split = datetime.combine(
        (last - timedelta(days=7 * TEST_WEEKS - 1)).date(), datetime.min.time()
    )
    split -= timedelta(days=split.weekday())  # the Monday starting the test weeks
    errors: dict[str, dict[int, list[float]]] = {
        name: {h: [] for h in HORIZONS} for name in ("model", "persistence", "last_week")
    }
    for readings in data.values():
        train = [(t, v) for t, v in readings if t < split]
        params = forecast_train(train)
        times = [t for t, _ in readings]
        for moment, value in readings:
            if moment < split:
                continue
            for horizon in HORIZONS:
                target = moment + timedelta(minutes=horizon)
                truth = value_at(readings, times, target)
                week_ago = value_at(readings, times, target - timedelta(days=7))
                if truth is None or week_ago is None:
                    continue
                predicted = forecast_predict(params, at=moment, occupancy=value, horizon=horizon)
                errors["model"][horizon].append(abs(predicted.occupancy - truth))
                errors["persistence"][horizon].append(abs(value - truth))
                errors["last_week"][horizon].append(abs(week_ago - truth))
    table = {
        name: {str(h): round(100 * sum(e) / len(e), 2) for h, e in per.items()}
        for name, per in errors.items()
    }
    return {
        "car_parks": len(data),
        "test_from": split.date().isoformat(),
        "test_points_per_horizon": {str(h): len(errors["model"][h]) for h in HORIZONS},
        "mae_points": table,
    }


def main() -> None:
    shared = Path(
        os.environ.get("RATHAUS_SHARED_DIR", Path(__file__).resolve().parents[1] / ".." / "shared")
    )
    result = evaluate(shared / DATA)
    table = cast(dict[str, dict[str, float]], result["mae_points"])
    for name, row in table.items():
        print(f"{name:12}", "  ".join(f"+{h}: {v:5.2f}" for h, v in row.items()))


if __name__ == "__main__":
    main()
