"""Background work of notifications: delivery with retries, digests, housekeeping.

The functions here are thin: the rules are in ``services`` (imported inside each task,
because services queue ``notification_deliver`` and so import this module).
"""

from datetime import timedelta

from django_tasks import task

from rathaus.core.schedule import periodic
from rathaus.notifications.models import DigestFrequency

# When digests run; services.digest_period_start derives each digest's period from these.
DAILY_EVERY, DAILY_OFFSET = timedelta(days=1), timedelta(hours=6)
WEEKLY_EVERY, WEEKLY_OFFSET = timedelta(days=7), timedelta(days=2, hours=6)


@task()
def notification_deliver(notification_id: int) -> str:
    """One delivery attempt of an e-mail or text message (see ``notification_send``)."""
    from rathaus.notifications import services

    return services.notification_send(notification_id=notification_id)


@periodic(every=DAILY_EVERY, offset=DAILY_OFFSET)
@task()
def notifications_digest_daily() -> int:
    """Every day at 06:00 UTC: the daily digests."""
    from rathaus.notifications import services

    return services.notification_digests_send(frequency=DigestFrequency.DAILY)


# 2000-01-01 was a Saturday: two days on is a Monday.
@periodic(every=WEEKLY_EVERY, offset=WEEKLY_OFFSET)
@task()
def notifications_digest_weekly() -> int:
    """Mondays at 06:00 UTC: the weekly digests."""
    from rathaus.notifications import services

    return services.notification_digests_send(frequency=DigestFrequency.WEEKLY)


@periodic(every=timedelta(minutes=30), offset=timedelta(minutes=7))
@task()
def notifications_requeue() -> int:
    """Queue again deliveries whose task was lost."""
    from rathaus.notifications import services

    return services.notifications_requeue()


@periodic(every=timedelta(days=1), offset=timedelta(hours=3, minutes=30))
@task()
def notifications_prune() -> int:
    """Forget finished notifications after the retention period."""
    from rathaus.notifications import services

    return services.notifications_prune()
