"""Background work of the workflow engine: service calls, signals and the periodic tick."""

from datetime import timedelta
from typing import Any

from django_tasks import task

from rathaus.core.models import Municipality
from rathaus.core.schedule import periodic
from rathaus.workflow import services


@task()
def service_job_execute(*, job_id: int) -> str:
    """Call the handler of one service job (see ``services.service_job_run``)."""
    return services.service_job_run(job_id=job_id)


@task()
def signal_deliver(
    *, municipality_id: int, name: str, payload: Any, source_instance_id: int | None
) -> int:
    """Deliver a signal an instance threw to the other instances waiting for it."""
    municipality = Municipality.objects.filter(pk=municipality_id).first()
    if municipality is None:
        return 0
    return services.signal_broadcast(
        municipality=municipality,
        signal_name=name,
        payload=payload,
        exclude_instance_id=source_instance_id,
    )


@periodic(every=timedelta(seconds=30))
@task()
def workflow_tick() -> dict[str, int]:
    """Fire due timers, run due service-call retries, remind about overdue tasks and
    escalate those still overdue after the grace period."""
    return {
        "timers": services.timers_fire(),
        "jobs": services.service_jobs_due_run(),
        "overdue": services.user_tasks_overdue_mark(),
        "escalated": services.user_tasks_escalate(),
    }
