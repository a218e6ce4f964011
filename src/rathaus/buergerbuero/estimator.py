"""Waiting-time estimate: when will each waiting ticket be called?

Pure Python without Django, used by ``services`` (each ticket's ``estimated_call_at``) and by
the simulation. It plays the day forward with the real calling policy (``policy.py``): the
open counters with their clerks' skills become free when their current visit is expected to
end (never earlier than now), each free counter calls what the policy would call, and the
ticket is then expected to take the learned duration of its services. Appointments booked
but not yet checked in join at their start time, because they will be called then.

The naive estimate it is measured against (the benchmark's baseline) is
``people ahead x mean service time ÷ open counters``.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from rathaus.buergerbuero.policy import (
    POLICY_WEIGHTED,
    Clerk,
    PolicyConfig,
    Waiting,
    choose_next,
)

#: Cap of the forward play (minutes after now): beyond it nobody is called today.
HORIZON_MINUTES = 12 * 60.0


@dataclass(frozen=True)
class OpenCounter:
    clerk: Clerk
    busy_until: float  # expected end of the current visit (``now`` or earlier when free)


def estimate_calls(
    *,
    waiting: Sequence[Waiting],
    counters: Sequence[OpenCounter],
    now: float,
    closes: float | None = None,
    config: PolicyConfig | None = None,
    policy: str = POLICY_WEIGHTED,
) -> dict[int, float]:
    """Expected call time (minutes, same clock as ``now``) per ticket key.

    Tickets nobody open can serve, or that would be called after ``closes`` plus the
    horizon, are left out (no estimate)."""
    config = config or PolicyConfig()
    result: dict[int, float] = {}
    if not counters:
        return result
    pending = sorted(waiting, key=lambda item: (item.arrived, item.key))
    # (free at, tie-breaker, counter index)
    free: list[tuple[float, int, int]] = [
        (max(counter.busy_until, now), index, index) for index, counter in enumerate(counters)
    ]
    heapq.heapify(free)
    limit = now + HORIZON_MINUTES
    if closes is not None:
        limit = min(limit, max(closes, now) + HORIZON_MINUTES / 4)
    queue = list(pending)
    while queue and free:
        at, tie, index = heapq.heappop(free)
        if at > limit:
            break
        clerk = counters[index].clerk
        arrived = [item for item in queue if item.arrived <= at]
        item = choose_next(arrived, clerk=clerk, now=at, config=config, policy=policy)
        if item is None:
            # Nothing for this clerk yet: wake at the next arrival it could serve.
            later = [w.arrived for w in queue if w.arrived > at and clerk.can_serve(w)]
            if not later:
                continue  # this counter calls nobody of the rest today
            heapq.heappush(free, (min(later), tie, index))
            continue
        queue.remove(item)
        result[item.key] = at
        heapq.heappush(free, (at + max(item.expected_minutes, 0.5), tie, index))
    return result


def naive_estimate(*, ahead: int, mean_minutes: float, open_counters: int) -> float | None:
    """People ahead x mean service time ÷ open counters (minutes), the common display rule."""
    if open_counters <= 0:
        return None
    return ahead * mean_minutes / open_counters


def mean_absolute_error(pairs: Sequence[tuple[float, float]]) -> float | None:
    """Mean of |predicted - actual| over ``(predicted, actual)`` pairs; None if empty."""
    if not pairs:
        return None
    return sum(abs(predicted - actual) for predicted, actual in pairs) / len(pairs)
