"""Periodic background work on top of django-tasks.

A task that has to run regularly (apply retention rules, send daily digests, wake
workflow timers) registers itself with ``@periodic(every=...)``. The ``rathaus
scheduler`` process calls ``schedule_tick`` every few seconds; each period's run is
enqueued exactly once, even with several schedulers running, because its slot is
claimed by a unique row (``ScheduledRun``) in the same transaction.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules
from django_tasks.base import Task

logger = logging.getLogger(__name__)

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Periodic:
    name: str
    task: Task[[], Any]
    every: timedelta
    offset: timedelta

    def slot(self, now: datetime) -> datetime:
        """Start of the period ``now`` falls in."""
        periods = (now - EPOCH - self.offset) // self.every
        return EPOCH + self.offset + periods * self.every


_registry: dict[str, Periodic] = {}


def periodic(
    *, every: timedelta, offset: timedelta = timedelta(0), name: str | None = None
) -> Callable[[Task[[], Any]], Task[[], Any]]:
    """Register a task without arguments to run once per ``every`` (shifted by ``offset``).

    ``offset`` is from 2000-01-01 00:00 UTC: ``every=timedelta(days=1), offset=timedelta(hours=5)``
    runs daily at 05:00 UTC.
    """
    if every < timedelta(seconds=10):
        raise ValueError("periods shorter than 10 seconds are not supported")

    def register(task: Task[[], Any]) -> Task[[], Any]:
        job = Periodic(name=name or task.module_path, task=task, every=every, offset=offset)
        _registry[job.name] = job
        return task

    return register


def registered() -> dict[str, Periodic]:
    """Every periodic job of the installed apps (their ``tasks`` modules are imported)."""
    autodiscover_modules("tasks")
    return dict(_registry)


def schedule_tick(*, now: datetime | None = None) -> list[str]:
    """Enqueue every job whose current period has not been claimed yet; returns their names."""
    from rathaus.core.models import ScheduledRun

    now = now or timezone.now()
    started = []
    for job in registered().values():
        slot = job.slot(now)
        try:
            with transaction.atomic():
                ScheduledRun.objects.create(name=job.name, slot=slot)
                job.task.enqueue()
        except IntegrityError:
            continue  # this period's run was already enqueued
        logger.info("periodic job enqueued", extra={"job": job.name, "slot": slot.isoformat()})
        started.append(job.name)
    return started
