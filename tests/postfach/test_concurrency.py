"""Concurrent openings and the delivery check on PostgreSQL: one retrieval, one outcome."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import close_old_connections, connection

from rathaus.accounts.models import User
from rathaus.accounts.trust import TrustLevel
from rathaus.audit.models import AuditEvent
from rathaus.postfach.models import Delivery, DeliveryFollowUp, Message
from rathaus.postfach.services import deliveries_check, message_open
from tests.postfach.conftest import berlin

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite serialises writers, so there is no race to test; runs on PostgreSQL",
    ),
]


def _together(*actions: Callable[[], Any]) -> None:
    start = threading.Barrier(len(actions))

    def run(action: Callable[[], Any]) -> None:
        try:
            start.wait()
            action()
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)


def test_two_openings_at_once_record_one_retrieval(
    send: Callable[..., Message], consenting: User
) -> None:
    message = send(consenting)

    def open_it() -> None:
        message_open(
            message=Message.objects.get(pk=message.pk),
            user=consenting,
            trust_level=TrustLevel.BASIC,
        )

    _together(open_it, open_it, open_it)
    assert AuditEvent.objects.filter(action="postfach.message.retrieved").count() == 1
    assert Delivery.objects.get(message=message).status == "retrieved"


def test_opening_while_the_check_fails_the_delivery_gives_one_consistent_outcome(
    send: Callable[..., Message], consenting: User
) -> None:
    message = send(consenting, now=berlin(2026, 3, 2, 10, 0))

    def open_it() -> None:
        message_open(
            message=Message.objects.get(pk=message.pk),
            user=consenting,
            trust_level=TrustLevel.BASIC,
            now=berlin(2026, 3, 13, 0, 15),
        )

    def check() -> None:
        deliveries_check(now=berlin(2026, 3, 13, 0, 15))

    _together(open_it, check)
    # Then, whoever came first, the notice opened after its period is not delivered
    delivery = Delivery.objects.get(message=message)
    assert delivery.retrieved_at is not None
    assert (delivery.status, delivery.deemed_delivered_on) == ("failed", None)
    assert DeliveryFollowUp.objects.count() == 1
    assert AuditEvent.objects.filter(action="postfach.delivery.failed").count() == 1
