"""Readiness checks: can this process reach what it needs to serve requests?"""

import logging
import uuid
from collections.abc import Callable

from django.core.cache import cache
from django.db import connection

logger = logging.getLogger(__name__)


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone() != (1,):
            raise RuntimeError("unexpected answer to SELECT 1")


def check_cache() -> None:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", 10)
    try:
        if cache.get(key) != "1":
            raise RuntimeError("cache did not return what was stored")
    finally:
        cache.delete(key)


def check_task_queue() -> None:
    """The queue the workers read from is reachable (its table or its Redis)."""
    from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends

    backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]
    backend_name = type(backend).__name__
    if backend_name == "DatabaseBackend":
        from django_tasks_db.models import DBTaskResult

        DBTaskResult.objects.exists()
    elif backend_name == "RQBackend":
        import django_rq

        for name in backend.queues:
            django_rq.get_connection(name).ping()
    elif backend_name not in {"ImmediateBackend", "DummyBackend"}:
        raise RuntimeError(f"no readiness check for task backend {backend_name}")


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "cache": check_cache,
    "task_queue": check_task_queue,
}


def run_checks() -> dict[str, str]:
    """Each check's outcome: ``ok`` or ``error``. Details go to the log, not the client."""
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception:
            logger.exception("readiness check failed", extra={"check": name})
            results[name] = "error"
        else:
            results[name] = "ok"
    return results
