"""Background tasks: the database worker by default, RQ on Redis to scale out."""

import os

import pytest
from django.core.management import call_command
from django_tasks import TaskResultStatus, task_backends
from django_tasks_db.models import DBTaskResult

from rathaus.core.models import Municipality
from rathaus.legal import tasks
from rathaus.legal.services import feedback_submit
from tests.conftest import require_service

REDIS_URL = os.environ.get("RATHAUS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.mark.django_db(transaction=True)
def test_database_worker_runs_queued_work(municipality: Municipality, smtp_server: object) -> None:
    # Given feedback whose notification was queued after commit
    feedback = feedback_submit(
        municipality=municipality, message="m", email="", page_url="", client_key="k"
    )
    queued = DBTaskResult.objects.get()
    assert queued.status == TaskResultStatus.READY
    assert queued.args_kwargs["kwargs"] == {"feedback_id": feedback.pk}
    # When the worker drains the queue
    call_command("db_worker", batch=True, interval=0)
    # Then the task succeeded and the mail arrived
    queued.refresh_from_db()
    assert queued.status == TaskResultStatus.SUCCESSFUL
    assert len(smtp_server.messages) == 1  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_task_for_a_vanished_row_does_nothing(municipality: Municipality) -> None:
    assert tasks.feedback_notify.call(feedback_id=999_999) is False


@pytest.mark.redis
@pytest.mark.django_db
def test_rq_backend_enqueues_on_redis(settings: object) -> None:
    import django_rq
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as error:
        require_service("Redis", str(error))
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}  # type: ignore[attr-defined]
    queue = django_rq.get_queue("default")
    queue.empty()
    backend = task_backends["default"]
    # When a task is enqueued through the django-tasks API
    result = tasks.feedback_notify.enqueue(feedback_id=1)
    try:
        # Then it waits in Redis for an RQ worker
        assert type(backend).__name__ == "RQBackend"
        assert backend.get_result(result.id).status == TaskResultStatus.READY
        assert queue.job_ids == [result.id]
    finally:
        queue.empty()
