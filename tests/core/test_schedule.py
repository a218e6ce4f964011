"""Periodic jobs are enqueued once per period, however many schedulers tick."""

from datetime import UTC, datetime, timedelta

import pytest
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from rathaus.core.models import ScheduledRun
from rathaus.core.schedule import Periodic, registered, schedule_tick
from rathaus.core.tasks import scheduled_runs_prune

pytestmark = pytest.mark.django_db

PRUNE = "rathaus.core.tasks.scheduled_runs_prune"


def test_slots_are_aligned_to_the_period_and_offset() -> None:
    job = Periodic(
        name="x", task=scheduled_runs_prune, every=timedelta(days=1), offset=timedelta(hours=2)
    )
    assert job.slot(datetime(2026, 11, 28, 1, 59, tzinfo=UTC)) == datetime(
        2026, 11, 27, 2, tzinfo=UTC
    )
    assert job.slot(datetime(2026, 11, 28, 2, 0, tzinfo=UTC)) == datetime(
        2026, 11, 28, 2, tzinfo=UTC
    )


def test_each_period_runs_once() -> None:
    assert PRUNE in registered()
    day = datetime(2026, 11, 28, 3, tzinfo=UTC)
    assert PRUNE in schedule_tick(now=day)
    # a second scheduler, or the same one a moment later, enqueues nothing
    assert PRUNE not in schedule_tick(now=day + timedelta(hours=5))
    # the next day's period runs again
    assert PRUNE in schedule_tick(now=day + timedelta(days=1))
    runs = DBTaskResult.objects.filter(task_path=PRUNE)
    assert runs.count() == 2
    assert {run.status for run in runs} == {TaskResultStatus.READY}


def test_prune_forgets_old_periods() -> None:
    old = ScheduledRun.objects.create(name="a", slot=datetime(2020, 1, 1, tzinfo=UTC))
    recent = ScheduledRun.objects.create(name="a", slot=datetime.now(UTC))
    assert scheduled_runs_prune.call() == 1
    assert list(ScheduledRun.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not ScheduledRun.objects.filter(pk=old.pk).exists()
