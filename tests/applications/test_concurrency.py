"""Racing requests on PostgreSQL: a double submission from two connections gives one
submission and one reference; a double start with one key gives one draft."""

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import close_old_connections, connection

from rathaus.accounts.models import User
from rathaus.applications import services
from rathaus.applications.models import Application, Document, FormDefinition, ReferenceCounter
from rathaus.catalog.models import Service
from tests.applications.conftest import filled_simple

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite serialises writers, so there is no race to test; runs on PostgreSQL",
    ),
]


def race(action: Callable[[], Any]) -> list[str]:
    """Run ``action`` in two threads with their own connections at the same moment."""
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def run() -> None:
        try:
            start.wait()
            result = action()
            outcomes.append(f"ok:{result.pk}")
        except BaseException as error:  # reported to the test
            outcomes.append(repr(error))
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(outcomes)


def test_two_connections_submitting_one_application(
    citizen: User,
    simple_form: FormDefinition,
    free_service: Service,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    application = filled_simple(citizen, free_service)
    # The receipt is slowed down, so the second submission surely waits for the lock
    original = services._receipt_store

    def slow_receipt(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.3)
        return original(*args, **kwargs)

    monkeypatch.setattr(services, "_receipt_store", slow_receipt)
    outcomes = race(lambda: services.application_submit(application=application, citizen=citizen))
    assert outcomes == [f"ok:{application.pk}", f"ok:{application.pk}"]
    application.refresh_from_db()
    assert application.status == "submitted"
    assert ReferenceCounter.objects.get().last == 1
    assert Document.objects.filter(application=application, kind="receipt").count() == 1
    assert application.timeline.filter(kind="submitted").count() == 1


def test_two_connections_starting_with_one_key(
    citizen: User, simple_form: FormDefinition, free_service: Service
) -> None:
    outcomes = race(
        lambda: services.application_start(
            citizen=citizen, service=free_service, idempotency_key="r" * 32
        )
    )
    [application] = Application.objects.filter(citizen=citizen)
    assert outcomes == [f"ok:{application.pk}", f"ok:{application.pk}"]
