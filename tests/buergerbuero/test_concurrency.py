"""Racing requests on PostgreSQL: many bookers of one slot → exactly one appointment; two
clerks calling at once never get the same ticket."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import close_old_connections, connection
from freezegun import freeze_time

from rathaus.buergerbuero import selectors, services
from rathaus.buergerbuero.models import Appointment, Call, Office, Ticket
from rathaus.catalog.models import Service
from tests.buergerbuero.conftest import MONDAY_10

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite serialises writers, so there is no race to test; runs on PostgreSQL",
    ),
]


def race(actions: list[Callable[[], Any]]) -> list[str]:
    """Run each action in its own thread and connection at the same moment."""
    start = threading.Barrier(len(actions))
    outcomes: list[str] = []

    def run(action: Callable[[], Any]) -> None:
        try:
            start.wait()
            result = action()
            outcomes.append(f"ok:{result.pk}")
        except BaseException as error:  # reported to the test
            outcomes.append(type(error).__name__)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


def test_many_bookers_of_one_slot(office: Office, passport: Service, counters: list) -> None:
    with freeze_time(MONDAY_10):
        slot = selectors.free_slots(
            location=office.location,
            services=[passport],
            municipality=office.municipality,
            days=1,
        )[0]

        def booker(n: int) -> Callable[[], Appointment]:
            return lambda: services.appointment_reserve(
                location=office.location,
                services=[passport],
                start=slot.start,
                name=f"Person {n}",
                email=f"person{n}@example.org",
                client_ip=f"192.0.2.{n}",
            )

        outcomes = race([booker(n) for n in range(8)])
    winners = [o for o in outcomes if o.startswith("ok:")]
    assert len(winners) == 1, outcomes
    assert outcomes.count("SlotTaken") == 7
    assert Appointment.objects.filter(start=slot.start).count() == 1


def test_two_clerks_calling_at_once(
    office: Office, registration: Service, counters: list, clerk: Any, clerk2: Any
) -> None:
    with freeze_time(MONDAY_10):
        services.duty_open(clerk=clerk, counter=counters[0])
        services.duty_open(clerk=clerk2, counter=counters[1])
        for _ in range(3):
            services.ticket_draw(location=office.location, services=[registration], channel="kiosk")
        first = race(
            [
                lambda: services.ticket_call_next(clerk=clerk, counter=counters[0]),
                lambda: services.ticket_call_next(clerk=clerk2, counter=counters[1]),
            ]
        )
        assert all(o.startswith("ok:") for o in first), first
        assert first[0] != first[1], first
        for ticket in Ticket.objects.filter(status="called"):
            services.ticket_finish(
                ticket=ticket,
                clerk=ticket.clerk,
                counter=ticket.counter,
                services_done=[registration],
            )
        # one ticket left, two clerks: one gets it, the other is told nobody waits
        last = race(
            [
                lambda: services.ticket_call_next(clerk=clerk, counter=counters[0]),
                lambda: services.ticket_call_next(clerk=clerk2, counter=counters[1]),
            ]
        )
    assert sorted(o.split(":")[0] for o in last) == ["NothingWaiting", "ok"], last
    assert Call.objects.count() == 3
    assert Call.objects.values("ticket").distinct().count() == 3
