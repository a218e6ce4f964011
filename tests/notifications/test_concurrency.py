"""Races with real concurrent connections (PostgreSQL): one row per event, one delivery."""

import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections

from rathaus.accounts.models import User
from rathaus.notifications.models import Notification, Status
from rathaus.notifications.services import notification_send, notify
from tests.conftest import SmtpSink

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 4


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; races need PostgreSQL (the CI runs both)")


def _race(work: Callable[[], object]) -> list[object]:
    """Run ``work`` in several threads at once, each on its own connection."""
    barrier = threading.Barrier(THREADS)
    results: list[object] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(work())
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    return results


def test_the_same_event_notified_at_once_makes_one_row(citizen: User) -> None:
    def work() -> object:
        [row] = notify(
            recipient=citizen,
            event="tests.request_received",
            key="A-17",
            template="test_message",
            context={"name": "Erika", "reference": "A-17"},
            channels=["inapp"],
        )
        return row.pk

    results = _race(work)
    assert len(results) == THREADS
    assert len(set(results)) == 1
    assert Notification.objects.count() == 1


def test_duplicate_deliveries_at_once_send_one_mail(citizen: User, smtp_server: SmtpSink) -> None:
    [email] = notify(
        recipient=citizen,
        event="tests.request_received",
        key="A-17",
        template="test_message",
        context={"name": "Erika", "reference": "A-17"},
        channels=["email"],
    )
    results = _race(lambda: notification_send(notification_id=email.pk))
    assert sorted(results) == ["not_due"] * (THREADS - 1) + ["sent"]  # type: ignore[type-var]
    assert len(smtp_server.messages) == 1
    email.refresh_from_db()
    assert (email.status, email.attempts) == (Status.SENT, 1)
