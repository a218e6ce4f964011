"""The forecast model on synthetic data: it learns the weekly profile and carries a
current deviation forward, falling back to persistence without history."""

import math
from datetime import datetime, timedelta

from rathaus.parking.forecast import forecast_predict, forecast_train


def _series(days: int, offset: float = 0.0) -> list[tuple[datetime, float]]:
    start = datetime(2026, 10, 5, 8, 0)  # a Monday
    out = []
    for day in range(days):
        for step in range(0, 17):  # 08:00-16:00, every 30 minutes
            moment = start + timedelta(days=day, minutes=30 * step)
            hour = moment.hour + moment.minute / 60
            weekday_factor = 0.8 if moment.weekday() < 5 else 0.5
            out.append((moment, 0.1 + weekday_factor * math.exp(-((hour - 12) ** 2) / 8) + offset))
    return out


def test_learns_the_profile_and_decays_the_deviation() -> None:
    params = forecast_train(_series(21))
    assert params is not None
    monday_noon = datetime(2026, 11, 2, 12, 0)
    # On the profile: stays on it.
    typical = forecast_predict(
        params,
        at=monday_noon - timedelta(hours=1),
        occupancy=0.1 + 0.8 * math.exp(-1 / 8),
        horizon=60,
    )
    assert abs(typical.occupancy - 0.9) < 0.02
    assert typical.low <= typical.occupancy <= typical.high
    # 20 points above the profile now: still above in 15 minutes, closer to it in 2 hours.
    at = monday_noon - timedelta(hours=1)
    usual = 0.1 + 0.8 * math.exp(-1 / 8)
    soon = forecast_predict(params, at=at, occupancy=usual - 0.2, horizon=15)
    later = forecast_predict(params, at=at, occupancy=usual - 0.2, horizon=120)
    assert soon.occupancy < forecast_predict(params, at=at, occupancy=usual, horizon=15).occupancy
    assert set(params["phi"]) == {"15", "30", "60", "120"}
    assert all(0.0 <= v <= 1.0 for v in params["phi"].values())  # type: ignore[union-attr]
    assert 0.0 <= later.occupancy <= 1.0


def test_a_saturday_is_forecast_from_saturdays() -> None:
    params = forecast_train(_series(21))
    saturday = datetime(2026, 10, 31, 11, 0)
    weekday = datetime(2026, 10, 30, 11, 0)
    sat = forecast_predict(params, at=saturday, occupancy=0.45, horizon=60)
    fri = forecast_predict(params, at=weekday, occupancy=0.7, horizon=60)
    assert sat.occupancy < fri.occupancy


def test_too_little_history_gives_no_model_and_persistence_fallback() -> None:
    assert forecast_train(_series(1)) is None
    assert forecast_train([]) is None
    fallback = forecast_predict(None, at=datetime(2026, 11, 2, 12, 0), occupancy=0.4, horizon=60)
    assert fallback.occupancy == 0.4
    assert fallback.low < 0.4 < fallback.high


def test_predictions_are_clipped_to_the_possible_range() -> None:
    params = forecast_train(_series(14))
    full = forecast_predict(params, at=datetime(2026, 11, 2, 11, 0), occupancy=1.0, horizon=15)
    assert 0.0 <= full.low <= full.occupancy <= full.high <= 1.0
