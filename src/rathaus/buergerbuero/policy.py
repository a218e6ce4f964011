"""The calling policy of the Bürgerbüro: which waiting ticket a clerk gets on "call next".

Pure Python without Django, so that the counter page (``services.ticket_call_next``), the
waiting-time estimator and the simulation (``simulation.py``) run the very same code.
Times are minutes (floats) on one clock; services are opaque keys.

The policy (see ADR 0016 and docs/modules/buergerbuero.md):

1. Appointments first: a checked-in appointment whose start lies at most
   ``early_minutes`` ahead (or already passed) is called before any walk-in, earliest
   start first. Who comes more than ``late_minutes`` after their start has lost the slot
   and queues as a walk-in from the moment of check-in.
2. No starvation: a walk-in who waited ``max_wait_minutes`` or more is called before the
   rest, longest waiting first.
3. Otherwise the highest response ratio: ``(waited + expected) / expected`` (the expected
   service time is the sum of the learned durations of its services). Short concerns
   overtake long ones only while the long one has not waited long: its ratio grows with
   every minute, so it always comes up (rule 2 bounds how long).

A clerk is offered only tickets all of whose services are in their skills. Ties go to the
earlier arrival, then to the smaller key, so a choice is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

POLICY_WEIGHTED = "weighted"
POLICY_FIFO = "fifo"
POLICIES = (POLICY_WEIGHTED, POLICY_FIFO)


@dataclass(frozen=True)
class PolicyConfig:
    early_minutes: float = 10.0
    late_minutes: float = 15.0
    max_wait_minutes: float = 45.0


@dataclass(frozen=True)
class Waiting:
    """A ticket in the queue, as the policy sees it."""

    key: int
    services: frozenset[str]
    arrived: float
    expected_minutes: float
    due: float | None = None  # start of the appointment, for appointment holders
    counter: str | None = None  # transferred to one counter: only that counter calls it

    def is_appointment(self, config: PolicyConfig) -> bool:
        return self.due is not None and self.arrived <= self.due + config.late_minutes


@dataclass(frozen=True)
class Clerk:
    """Who calls: the services they are skilled for (``None``: all) and their counter."""

    skills: frozenset[str] | None = None
    counter: str | None = None

    def can_serve(self, item: Waiting) -> bool:
        if item.counter is not None and item.counter != self.counter:
            return False
        return self.skills is None or item.services <= self.skills


def choose_next(
    waiting: Iterable[Waiting],
    *,
    clerk: Clerk,
    now: float,
    config: PolicyConfig | None = None,
    policy: str = POLICY_WEIGHTED,
) -> Waiting | None:
    """The ticket ``clerk`` calls next at ``now`` under ``policy``, or ``None``."""
    config = config or PolicyConfig()
    eligible = [item for item in waiting if clerk.can_serve(item) and item.arrived <= now]
    if not eligible:
        return None
    if policy == POLICY_FIFO:
        return min(eligible, key=lambda item: (item.arrived, item.key))
    if policy != POLICY_WEIGHTED:
        raise ValueError(f"unknown policy {policy!r}")
    due = [
        item
        for item in eligible
        if item.is_appointment(config)
        and item.due is not None
        and item.due - config.early_minutes <= now
    ]
    if due:
        return min(due, key=lambda item: (item.due or 0.0, item.arrived, item.key))
    starving = [item for item in eligible if now - item.arrived >= config.max_wait_minutes]
    if starving:
        return min(starving, key=lambda item: (item.arrived, item.key))
    # Appointment holders who came too early wait for their time (rule 1) unless nobody
    # else is there: an idle clerk serves them rather than wait.
    walk_ins = [item for item in eligible if not item.is_appointment(config)]
    pool = walk_ins or eligible
    return max(pool, key=lambda item: (_ratio(item, now), -item.arrived, -item.key))


def _ratio(item: Waiting, now: float) -> float:
    expected = max(item.expected_minutes, 1.0)
    return (now - item.arrived + expected) / expected


def levelled_appointment_lanes(
    *,
    counters: int,
    walk_in_minutes_per_hour: dict[int, float],
    utilisation: float = 0.85,
) -> dict[int, int]:
    """Parallel appointments per hour that level the load: what the expected walk-ins of
    an hour (minutes of work, from the ticket history) leave of ``counters`` at the target
    ``utilisation``. Peaks of walk-ins get few appointments, quiet hours many, so bookers
    are steered away from the peak and the queue stays short (the capacity split of the
    issue, per hour; ``services.capacity_split_level`` writes it for an office)."""
    lanes = {}
    for hour, minutes in walk_in_minutes_per_hour.items():
        needed = minutes / 60 / max(utilisation, 0.05)
        lanes[hour] = max(0, min(counters, int(counters - needed)))
    return lanes
