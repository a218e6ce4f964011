"""Races on PostgreSQL with real concurrent connections: a start received twice at once,
two central systems claiming the same commands."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import close_old_connections, connection

from rathaus.charging import services
from rathaus.charging.models import ChargingSession, Command
from tests.charging.factories import StationFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite serialises writers, so there is no race to test; runs on PostgreSQL",
    ),
]


def race(action: Callable[[], Any], parallel: int = 2) -> list[Any]:
    """Run ``action`` in ``parallel`` threads with their own connections at once."""
    start = threading.Barrier(parallel)
    outcomes: list[Any] = []

    def run() -> None:
        try:
            start.wait()
            outcomes.append(action())
        except BaseException as error:  # reported to the test
            outcomes.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_a_start_transaction_arriving_twice_at_once_makes_one_session(municipality) -> None:
    station = StationFactory(site__municipality=municipality)
    at = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    outcomes = race(
        lambda: services.transaction_start_v16(
            station_id=station.pk, connector_id=1, id_tag="T", meter_start=10, timestamp=at
        ),
        parallel=4,
    )
    assert all(isinstance(o, services.StartResult) for o in outcomes), outcomes
    assert len({o.transaction_id for o in outcomes}) == 1
    assert ChargingSession.objects.count() == 1


def test_each_command_is_claimed_once(municipality) -> None:
    stations = StationFactory.create_batch(3, site__municipality=municipality)
    for station in stations:
        for _ in range(5):
            services.command_request(station=station, action="reset", params={"kind": "Soft"})
    ids = [s.pk for s in stations]
    outcomes = race(lambda: services.commands_claim(station_ids=ids), parallel=3)
    claimed = [c.id for batch in outcomes for c in batch]
    assert sorted(claimed) == sorted(Command.objects.values_list("pk", flat=True))
    assert len(claimed) == len(set(claimed)) == 15
