"""Racing terminals on PostgreSQL: two loadings for the last compartment, two pickups
with one PIN at once. Each thread has its own database connection."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import close_old_connections, connection

from rathaus.audit.models import AuditEvent
from rathaus.idpickup import services
from rathaus.idpickup.models import IdOrder, Terminal
from tests.idpickup.conftest import STAFF

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite serialises writers, so there is no race to test; runs on PostgreSQL",
    ),
]


def race(*actions: Callable[[], Any]) -> list[str]:
    """Run the actions in threads with their own connections at the same moment."""
    start = threading.Barrier(len(actions))
    outcomes: list[str] = []

    def run(action: Callable[[], Any]) -> None:
        try:
            start.wait()
            action()
            outcomes.append("ok")
        except services.ApplicationError as error:
            outcomes.append(error.code)
        except BaseException as error:  # reported to the test
            outcomes.append(repr(error))
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(outcomes)


def test_two_loadings_race_for_the_last_compartment(
    terminal: Terminal, make_order: Any, alice: Any, bob: Any
) -> None:
    # Two of three compartments are out of service: one is left.
    terminal.compartments.exclude(number=3).update(blocked=True)
    first, second = make_order(), make_order()
    outcomes = race(
        lambda: services.terminal_load(
            terminal=terminal, staff=_staff(), barcode=first.document_barcode
        ),
        lambda: services.terminal_load(
            terminal=terminal, staff=_staff(), barcode=second.document_barcode
        ),
    )
    assert outcomes == ["ok", "terminal_full"]
    assert IdOrder.objects.filter(compartment__number=3).count() == 1
    assert IdOrder.objects.filter(status=IdOrder.Status.LOADING).count() == 1
    assert IdOrder.objects.filter(status=IdOrder.Status.ARRIVED).count() == 1


def test_two_pickups_with_the_same_pin_open_once(
    terminal: Terminal, make_order: Any, alice: Any, bob: Any, mailoutbox: Any
) -> None:
    from tests.idpickup.conftest import pin_from_mail

    order = make_order()
    _order, compartment = services.terminal_load(
        terminal=terminal, staff=_staff(), barcode=order.document_barcode
    )
    services.device_event_report(
        terminal=terminal,
        event_id="close-1",
        kind="door_closed",
        occurred_at=services.timezone.now(),
        compartment_number=compartment.number,
        data={"empty": False},
    )
    pin = pin_from_mail(mailoutbox[0].body)

    def pickup() -> None:
        _found, session = services.pickup_identify(terminal=terminal, pin=pin)
        services.pickup_verify(
            terminal=terminal,
            session=session,
            method="fingerprint",
            matched=True,
            receipt_confirmed=True,
        )

    outcomes = race(pickup, pickup)
    assert outcomes.count("ok") == 1
    assert set(outcomes) - {"ok"} <= {"session_invalid", "not_ready"}
    order.refresh_from_db()
    assert order.status == IdOrder.Status.HANDOVER
    assert (
        AuditEvent.objects.filter(action="idpickup.compartment.opened", data__by="citizen").count()
        == 1
    )


def _staff() -> list[dict[str, str]]:
    return [{"card": card, "pin": pin} for card, pin in STAFF]
