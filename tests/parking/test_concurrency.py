"""Two citizens booking the same space for overlapping windows at the same moment, on
two real PostgreSQL connections: one booking, one Conflict."""

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from rathaus.core.models import Municipality
from rathaus.parking.models import Reservation
from rathaus.parking.services import reservation_book
from tests.factories import UserFactory
from tests.parking.factories import ParkingSiteFactory, SpaceFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite serialises writers, so there is no race to test; runs on PostgreSQL",
    ),
]


def race(actions: list[Callable[[], Any]]) -> list[str]:
    start = threading.Barrier(len(actions))
    outcomes: list[str] = []

    def run(action: Callable[[], Any]) -> None:
        try:
            start.wait()
            action()
            outcomes.append("ok")
        except BaseException as error:  # reported to the test
            outcomes.append(type(error).__name__)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(a,)) for a in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(outcomes)


def test_no_double_booking(municipality: Municipality) -> None:
    space = SpaceFactory(site=ParkingSiteFactory(municipality=municipality))
    citizens = [UserFactory(municipality=municipality) for _ in range(4)]
    start = timezone.now() + timedelta(hours=1)
    actions = [
        (
            lambda c=c, i=i: reservation_book(
                citizen=c,
                space=space,
                starts_at=start + timedelta(minutes=10 * i),
                ends_at=start + timedelta(hours=2),
                plate="S-AB 1",
            )
        )
        for i, c in enumerate(citizens)
    ]
    assert race(actions) == ["Conflict", "Conflict", "Conflict", "ok"]
    assert Reservation.objects.count() == 1
