"""Background work of the terminal pickup: reminders and expiry, old nonces."""

from datetime import timedelta

from django_tasks import task

from rathaus.core.schedule import periodic


@periodic(every=timedelta(minutes=15), offset=timedelta(minutes=4))
@task()
def idpickup_orders_expire() -> dict[str, int]:
    """Remind citizens a day before the pickup window ends; expire documents past it."""
    from rathaus.idpickup import services

    return services.orders_expire()


@periodic(every=timedelta(hours=1), offset=timedelta(minutes=23))
@task()
def idpickup_nonces_prune() -> int:
    """Forget device nonces older than the timestamp window."""
    from rathaus.idpickup import services

    return services.device_nonces_prune()
