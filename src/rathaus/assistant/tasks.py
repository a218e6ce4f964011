"""Background work of the service assistant: forgetting used device nonces."""

from datetime import timedelta

from django_tasks import task

from rathaus.core.schedule import periodic


@periodic(every=timedelta(minutes=15), offset=timedelta(minutes=7))
@task()
def device_nonces_purge() -> int:
    """Delete nonces older than the accepted clock skew: a replay of them is refused as
    stale anyway, so the table stays small."""
    from rathaus.assistant import services

    return services.device_nonces_purge()
