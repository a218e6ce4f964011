"""Fixtures of the notifications tests: their own sample template, people, a clock."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from rathaus.accounts.models import User
from rathaus.core.models import Municipality
from rathaus.notifications.models import Notification
from tests.factories import UserFactory

TEMPLATES_DIR = Path(__file__).parent / "templates"


@pytest.fixture(autouse=True)
def _sample_templates(settings: object) -> None:
    """``notifications/test_message/`` lives with the tests, not in the shipped package."""
    templates = [dict(engine) for engine in settings.TEMPLATES]  # type: ignore[attr-defined]
    templates[0]["DIRS"] = [*templates[0]["DIRS"], TEMPLATES_DIR]
    settings.TEMPLATES = templates  # type: ignore[attr-defined]


@pytest.fixture
def citizen(municipality: Municipality) -> User:
    """A German-speaking citizen with an e-mail address and a mobile number."""
    return UserFactory(
        municipality=municipality,
        email="erika@example.org",
        first_name="Erika",
        last_name="Mustermann",
        language="de",
        phone="+49 151 23456789",
    )


@pytest.fixture
def english_citizen(municipality: Municipality) -> User:
    return UserFactory(
        municipality=municipality, email="john@example.org", first_name="John", language="en"
    )


CONTEXT = {"name": "Erika <Mustermann>", "reference": "A-17"}


def run_worker() -> None:
    """Drain the task queue with the real database worker, as production runs it."""
    call_command("db_worker", batch=True, interval=0, verbosity=0)


def travel(delta: timedelta) -> None:
    """Move the clock of the queue forward: what was due in ``delta`` is due now.

    The worker compares ``run_after`` with the real time, so instead of moving the real
    clock the waiting work is moved back by ``delta`` (deliveries and their tasks alike).
    """
    for result in DBTaskResult.objects.filter(status=TaskResultStatus.READY):
        if result.run_after is not None and result.run_after.year < 9999:
            result.run_after -= delta
            result.save(update_fields=["run_after"])
    for notification in Notification.objects.filter(next_attempt_at__isnull=False):
        assert notification.next_attempt_at is not None
        notification.next_attempt_at -= delta
        notification.save(update_fields=["next_attempt_at"])


def queued_deliveries() -> list[DBTaskResult]:
    return list(
        DBTaskResult.objects.filter(
            task_path="rathaus.notifications.tasks.notification_deliver",
            status=TaskResultStatus.READY,
        ).order_by("enqueued_at")
    )


def aware(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)
