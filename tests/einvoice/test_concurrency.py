"""Racing requests on PostgreSQL: the same invoice from two channels at once is one
invoice; two clerks signing the same step at once give one approval."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import close_old_connections, connection

from rathaus.einvoice import services
from rathaus.einvoice.models import Approval, Invoice
from tests.einvoice.conftest import UBL

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite serialises writers, so there is no race to test; runs on PostgreSQL",
    ),
]


def race(*actions: Callable[[], Any]) -> list[str]:
    start = threading.Barrier(len(actions))
    outcomes: list[str] = []

    def run(action: Callable[[], Any]) -> None:
        try:
            start.wait()
            outcomes.append(f"ok:{action()}")
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


def test_same_bytes_from_two_channels_at_once(municipality: Any, route: Any) -> None:
    data = UBL.read_bytes()

    def receive(channel: str) -> Callable[[], Any]:
        return lambda: (
            services.invoice_receive(
                municipality=municipality, data=data, file_name="r.xml", channel=channel
            )[0].pk
        )

    outcomes = race(receive("api"), receive("email"))
    assert Invoice.objects.count() == 1
    pk = Invoice.objects.get().pk
    assert outcomes == [f"ok:{pk}", f"ok:{pk}"]


def test_two_clerks_sign_the_same_step_at_once(
    municipality: Any, route: Any, clerk: Any, second_clerk: Any
) -> None:
    invoice, _ = services.invoice_receive(
        municipality=municipality, data=UBL.read_bytes(), file_name="r.xml", channel="upload"
    )

    def sign(user: Any) -> Callable[[], Any]:
        return lambda: (
            services.invoice_decide(
                invoice=invoice, user=user, step="factual", approved=True
            ).status
        )

    outcomes = race(sign(clerk), sign(second_clerk))
    assert outcomes == ["Conflict", "ok:in_approval"]
    assert Approval.objects.count() == 1
