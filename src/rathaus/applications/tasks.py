"""Background work of the online applications: reconciling payments."""

from datetime import timedelta

from django_tasks import task

from rathaus.core.schedule import periodic


@periodic(every=timedelta(minutes=5), offset=timedelta(minutes=2))
@task()
def payments_reconcile() -> int:
    """Ask the payment provider about payments without a final answer (lost callbacks)."""
    from rathaus.applications import services

    return services.payments_reconcile()
