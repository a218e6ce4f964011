"""Occupancy forecast: weekly profile plus a decaying current deviation (ADR 0022).

Pure Python, no database: ``forecast_train`` takes a site's readings as
``(local datetime, occupancy fraction)`` and returns JSON-able parameters;
``forecast_predict`` turns the latest reading into a forecast with a band.

The model:

* a **profile** of the mean occupancy per weekday and 15-minute slot, smoothed towards
  the all-days profile of the same slot when a weekday slot has few samples;
* the **deviation** of the latest reading from the profile, carried forward with a
  factor per horizon ``phi(h)`` fitted by least squares on the training data
  (so a car park that is fuller than usual stays fuller, less so the further ahead);
* a **band** from the 10 % and 90 % quantiles of the training residuals per horizon.

A site without a trained model falls back to persistence with a band that widens
with the horizon (``FALLBACK_BAND``).
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

SLOT_MINUTES = 15
SLOTS_PER_DAY = 24 * 60 // SLOT_MINUTES
HORIZONS = (15, 30, 60, 120)
# Readings further apart than this are not interpolated between (a gap, a night).
MAX_GAP = timedelta(minutes=65)
# Weekday slots with fewer samples are pulled towards the all-days profile of the slot.
PRIOR_WEIGHT = 2.0
# Persistence band (fraction of capacity) per horizon for sites without a model.
FALLBACK_BAND = {15: 0.05, 30: 0.08, 60: 0.12, 120: 0.2}


@dataclass(frozen=True)
class Prediction:
    horizon: int
    occupancy: float  # fraction of capacity, 0..1
    low: float
    high: float


def _slot(moment: datetime) -> float:
    """Position in the day in slots (fractional)."""
    return (moment.hour * 60 + moment.minute + moment.second / 60) / SLOT_MINUTES


def _grid(readings: Sequence[tuple[datetime, float]]) -> list[tuple[datetime, float]]:
    """Readings resampled to the 15-minute grid by linear interpolation inside gaps of at
    most ``MAX_GAP``; ``readings`` sorted by time."""
    out: list[tuple[datetime, float]] = []
    for (t0, v0), (t1, v1) in itertools.pairwise(readings):
        if t1 <= t0 or t1 - t0 > MAX_GAP or t0.date() != t1.date():
            continue
        start = t0.replace(second=0, microsecond=0)
        minute = start.minute - start.minute % SLOT_MINUTES
        point = start.replace(minute=minute)
        if point < t0:
            point += timedelta(minutes=SLOT_MINUTES)
        while point < t1:
            share = (point - t0) / (t1 - t0)
            out.append((point, v0 + (v1 - v0) * share))
            point += timedelta(minutes=SLOT_MINUTES)
    if readings:
        last_t, last_v = readings[-1]
        if last_t.minute % SLOT_MINUTES == 0 and last_t.second == 0:
            out.append((last_t, last_v))
    return out


class Profile:
    """Weekday-and-slot means with the all-days slot mean as prior."""

    def __init__(self, params: dict[str, object]) -> None:
        self.week: dict[str, float] = params["week"]  # type: ignore[assignment]
        self.day: dict[str, float] = params["day"]  # type: ignore[assignment]
        self.mean: float = params["mean"]  # type: ignore[assignment]

    def at_slot(self, weekday: int, slot: int) -> float:
        slot %= SLOTS_PER_DAY
        value = self.week.get(f"{weekday}:{slot}")
        if value is not None:
            return value
        return self.day.get(str(slot), self.mean)

    def at(self, moment: datetime) -> float:
        position = _slot(moment)
        low = math.floor(position)
        share = position - low
        first = self.at_slot(moment.weekday(), low)
        if share == 0:
            return first
        following = moment + timedelta(minutes=SLOT_MINUTES)
        second = self.at_slot(
            following.weekday() if low + 1 >= SLOTS_PER_DAY else moment.weekday(), low + 1
        )
        return first + (second - first) * share


def _profile_fit(grid: Sequence[tuple[datetime, float]]) -> dict[str, object]:
    week_sum: dict[str, float] = defaultdict(float)
    week_n: dict[str, int] = defaultdict(int)
    day_sum: dict[int, float] = defaultdict(float)
    day_n: dict[int, int] = defaultdict(int)
    for moment, value in grid:
        slot = int(_slot(moment))
        key = f"{moment.weekday()}:{slot}"
        week_sum[key] += value
        week_n[key] += 1
        day_sum[slot] += value
        day_n[slot] += 1
    day = {str(slot): day_sum[slot] / day_n[slot] for slot in day_sum}
    week = {}
    for key, total in week_sum.items():
        prior = day[key.split(":")[1]]
        week[key] = (total + PRIOR_WEIGHT * prior) / (week_n[key] + PRIOR_WEIGHT)
    mean = sum(v for _, v in grid) / len(grid) if grid else 0.5
    return {"week": week, "day": day, "mean": mean}


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def forecast_train(readings: Iterable[tuple[datetime, float]]) -> dict[str, object] | None:
    """Fit the model on a site's history (local times, occupancy as a fraction).

    Returns ``None`` when the history is too short (less than two days on the grid).
    """
    ordered = sorted(readings)
    grid = _grid(ordered)
    if len({moment.date() for moment, _ in grid}) < 2:
        return None
    params = _profile_fit(grid)
    profile = Profile(params)
    values = dict(grid)
    phi: dict[str, float] = {}
    bands: dict[str, list[float]] = {}
    for horizon in HORIZONS:
        pairs = []
        for moment, value in grid:
            target = values.get(moment + timedelta(minutes=horizon))
            if target is None:
                continue
            pairs.append(
                (
                    value - profile.at(moment),
                    target - profile.at(moment + timedelta(minutes=horizon)),
                )
            )
        denominator = sum(a * a for a, _ in pairs)
        factor = sum(a * b for a, b in pairs) / denominator if denominator > 0 else 0.0
        factor = min(1.0, max(0.0, factor))
        residuals = [b - factor * a for a, b in pairs]
        phi[str(horizon)] = factor
        bands[str(horizon)] = [_quantile(residuals, 0.1), _quantile(residuals, 0.9)]
    params["phi"] = phi
    params["bands"] = bands
    return params


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))


def forecast_predict(
    params: dict[str, object] | None,
    *,
    at: datetime,
    occupancy: float,
    horizon: int,
) -> Prediction:
    """Forecast ``horizon`` minutes after a reading of ``occupancy`` (fraction) taken at
    ``at`` (local time). Without parameters: persistence with a widening band."""
    if params is None:
        band = FALLBACK_BAND.get(horizon, 0.2)
        return Prediction(
            horizon, _clip(occupancy), _clip(occupancy - band), _clip(occupancy + band)
        )
    profile = Profile(params)
    phi = _interpolate_horizon(params["phi"], horizon)  # type: ignore[arg-type]
    target = at + timedelta(minutes=horizon)
    value = profile.at(target) + phi * (occupancy - profile.at(at))
    low_q, high_q = _band(params["bands"], horizon)  # type: ignore[arg-type]
    return Prediction(horizon, _clip(value), _clip(value + low_q), _clip(value + high_q))


def _interpolate_horizon(table: dict[str, float], horizon: int) -> float:
    """``table`` per known horizon, linear in between, held beyond the ends."""
    known = sorted(int(k) for k in table)
    if horizon <= known[0]:
        return table[str(known[0])] if horizon > 0 else 1.0
    if horizon >= known[-1]:
        return table[str(known[-1])]
    index = bisect.bisect_left(known, horizon)
    low, high = known[index - 1], known[index]
    share = (horizon - low) / (high - low)
    return table[str(low)] + (table[str(high)] - table[str(low)]) * share


def _band(bands: dict[str, list[float]], horizon: int) -> tuple[float, float]:
    low = _interpolate_horizon({k: v[0] for k, v in bands.items()}, horizon)
    high = _interpolate_horizon({k: v[1] for k, v in bands.items()}, horizon)
    return low, high
