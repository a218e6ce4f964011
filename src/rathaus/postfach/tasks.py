"""Background work of the mailbox: the daily check of formal deliveries."""

from datetime import timedelta

from django_tasks import task

from rathaus.core.schedule import periodic


# 23:15 UTC is 00:15 (winter) or 01:15 (summer) in Germany: just after the calendar day
# on which retrieval periods end has ended.
@periodic(every=timedelta(days=1), offset=timedelta(hours=23, minutes=15))
@task()
def postfach_deliveries_check() -> int:
    """Mark notices not retrieved in time as not delivered and open their follow-ups."""
    from rathaus.postfach import services

    return services.deliveries_check()
