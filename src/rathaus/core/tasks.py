"""Housekeeping of the platform core."""

from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from rathaus.core.models import ScheduledRun
from rathaus.core.schedule import periodic

SCHEDULED_RUN_KEEP = timedelta(days=30)


@periodic(every=timedelta(days=1), offset=timedelta(hours=2))
@task()
def scheduled_runs_prune() -> int:
    """Forget claimed periods older than 30 days; they only guard against double runs."""
    deleted, _ = ScheduledRun.objects.filter(slot__lt=timezone.now() - SCHEDULED_RUN_KEEP).delete()
    return deleted
