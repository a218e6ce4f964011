"""The calling policy and the estimator, without a database."""

import pytest

from rathaus.buergerbuero.estimator import (
    OpenCounter,
    estimate_calls,
    mean_absolute_error,
    naive_estimate,
)
from rathaus.buergerbuero.policy import (
    Clerk,
    PolicyConfig,
    Waiting,
    choose_next,
    levelled_appointment_lanes,
)

CONFIG = PolicyConfig(early_minutes=10, late_minutes=15, max_wait_minutes=45)
ALL = Clerk()


def walk_in(key: int, arrived: float, minutes: float = 10, services: str = "a") -> Waiting:
    return Waiting(key, frozenset(services.split(",")), arrived, minutes)


def test_an_appointment_due_now_goes_before_earlier_walk_ins() -> None:
    queue = [walk_in(1, 0), Waiting(2, frozenset({"a"}), 50, 10, due=60)]
    assert choose_next(queue, clerk=ALL, now=55, config=CONFIG).key == 2
    # twenty minutes early: not yet, the walk-in goes first
    assert choose_next(queue, clerk=ALL, now=45, config=CONFIG).key == 1


def test_a_late_appointment_queues_as_a_walk_in() -> None:
    late = Waiting(2, frozenset({"a"}), 80, 10, due=60)
    queue = [walk_in(1, 70), late]
    assert choose_next(queue, clerk=ALL, now=81, config=CONFIG).key == 1


def test_short_concerns_overtake_only_until_the_long_one_waited() -> None:
    long, short = walk_in(1, 0, minutes=30), walk_in(2, 5, minutes=3)
    assert choose_next([long, short], clerk=ALL, now=10, config=CONFIG).key == 2
    # the starvation guard: after max_wait_minutes the oldest goes first
    assert choose_next([long, walk_in(3, 44, minutes=1)], clerk=ALL, now=45, config=CONFIG).key == 1


def test_a_clerk_gets_only_what_they_can_do() -> None:
    queue = [walk_in(1, 0, services="a,b"), walk_in(2, 5, services="a")]
    clerk = Clerk(skills=frozenset({"a"}))
    assert choose_next(queue, clerk=clerk, now=10, config=CONFIG).key == 2
    assert choose_next([queue[0]], clerk=clerk, now=10, config=CONFIG) is None


def test_a_transferred_ticket_waits_for_its_counter() -> None:
    moved = Waiting(1, frozenset({"a"}), 0, 10, counter="7")
    assert choose_next([moved], clerk=Clerk(counter="3"), now=5, config=CONFIG) is None
    assert choose_next([moved], clerk=Clerk(counter="7"), now=5, config=CONFIG).key == 1


def test_fifo_takes_the_oldest_and_an_unknown_policy_fails() -> None:
    queue = [walk_in(1, 3, minutes=30), walk_in(2, 5, minutes=1)]
    assert choose_next(queue, clerk=ALL, now=6, policy="fifo").key == 1
    with pytest.raises(ValueError, match="unknown policy"):
        choose_next(queue, clerk=ALL, now=6, policy="random")


def test_estimate_plays_the_queue_forward() -> None:
    queue = [walk_in(1, 0, 10), walk_in(2, 1, 10), walk_in(3, 2, 10)]
    counters = [OpenCounter(ALL, busy_until=5), OpenCounter(ALL, busy_until=0)]
    calls = estimate_calls(waiting=queue, counters=counters, now=3, config=CONFIG)
    # counter 2 is free now and takes ticket 1; counter 1 frees at 5 and takes ticket 2;
    # ticket 3 goes to counter 2 when it is done at 13
    assert calls == {1: 3, 2: 5, 3: 13}
    assert estimate_calls(waiting=queue, counters=[], now=3) == {}


def test_estimate_leaves_out_what_nobody_open_can_do() -> None:
    queue = [walk_in(1, 0, services="b")]
    calls = estimate_calls(
        waiting=queue, counters=[OpenCounter(Clerk(skills=frozenset({"a"})), 0)], now=0
    )
    assert calls == {}


def test_naive_estimate_and_error() -> None:
    assert naive_estimate(ahead=6, mean_minutes=10, open_counters=3) == 20
    assert naive_estimate(ahead=6, mean_minutes=10, open_counters=0) is None
    assert mean_absolute_error([(10, 12), (5, 4)]) == 1.5
    assert mean_absolute_error([]) is None


def test_levelled_lanes_leave_the_peak_to_walk_ins() -> None:
    lanes = levelled_appointment_lanes(
        counters=6, walk_in_minutes_per_hour={9: 120, 12: 300, 15: 0}, utilisation=1.0
    )
    assert lanes == {9: 4, 12: 1, 15: 6}
    assert levelled_appointment_lanes(counters=2, walk_in_minutes_per_hour={9: 900}) == {9: 0}
