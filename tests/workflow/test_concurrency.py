"""Completing the same task twice at once: one wins, the other gets a clear conflict."""

import threading
import time
from typing import Any

import pytest
from django.db import close_old_connections, connection

from rathaus.core.errors import Conflict
from rathaus.core.models import Municipality
from rathaus.workflow import engine, services
from rathaus.workflow.models import InstanceEvent, ProcessInstance, UserTask
from tests.factories import StaffFactory
from tests.workflow.factories import deploy, linear, user_task


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serialises writers, so there is no race to test; runs on PostgreSQL",
)
def test_two_connections_completing_one_task(
    municipality: Municipality, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given one open task and two candidates with their own database connections
    deploy(municipality, ("p.bpmn", linear(user_task("decide"), user_task("next"))))
    instance = services.instance_start(municipality=municipality, process_key="test_process")
    task = UserTask.objects.get(instance=instance, element_id="decide")
    first = StaffFactory(municipality=municipality, is_superuser=True)
    second = StaffFactory(municipality=municipality, is_superuser=True)
    # The engine step is slowed down, so the second completion surely waits for the lock
    original = engine.workflow_advance

    def slow_advance(*args: Any, **kwargs: Any) -> None:
        time.sleep(0.3)
        original(*args, **kwargs)

    monkeypatch.setattr(engine, "workflow_advance", slow_advance)
    start = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def complete(user: Any) -> None:
        try:
            start.wait()
            services.user_task_complete(task=task, user=user, data={})
            outcomes[user.pk] = "completed"
        except Conflict as error:
            outcomes[user.pk] = f"conflict:{error.code}"
        except BaseException as error:  # reported to the test below
            outcomes[user.pk] = repr(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=complete, args=(user,)) for user in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    # Then exactly one completed it; the other was told clearly
    assert sorted(outcomes.values()) == ["completed", "conflict:task_completed"]
    winner = next(pk for pk, outcome in outcomes.items() if outcome == "completed")
    done = UserTask.objects.get(pk=task.pk)
    assert (done.status, done.completed_by_id) == ("completed", winner)
    # And the process advanced exactly once
    assert UserTask.objects.filter(instance=instance, element_id="next").count() == 1
    assert InstanceEvent.objects.filter(instance=instance, kind="task_completed").count() == 1
    assert ProcessInstance.objects.get(pk=instance.pk).lock_version == 2
