"""Scheduled work of the Bürgerbüro (run by the scheduler process)."""

from datetime import timedelta

from django_tasks import task

from rathaus.core.schedule import periodic


@periodic(every=timedelta(minutes=1))
@task()
def buergerbuero_reservations_expire() -> int:
    """Expire unconfirmed holds (the slot is free from the moment the hold runs out)."""
    from rathaus.buergerbuero import services

    return services.reservations_expire()


@periodic(every=timedelta(minutes=15), offset=timedelta(minutes=3))
@task()
def buergerbuero_appointments_remind() -> int:
    """Send the reminders of appointments coming up within the reminder period."""
    from rathaus.buergerbuero import services

    return services.appointments_remind()


@periodic(every=timedelta(minutes=2), offset=timedelta(seconds=30))
@task()
def buergerbuero_estimates_refresh() -> int:
    """Refresh the estimates of open offices (time passes even when nobody clicks)."""
    from rathaus.buergerbuero import services

    return services.estimates_refresh_open()


@periodic(every=timedelta(days=1), offset=timedelta(hours=1))
@task()
def buergerbuero_day_close() -> int:
    """Close yesterday: cancel tickets left waiting, mark appointments nobody came to."""
    from rathaus.buergerbuero import services

    return services.day_close()


@periodic(every=timedelta(days=1), offset=timedelta(hours=2))
@task()
def buergerbuero_durations_learn() -> int:
    """Learn the service durations from the visits of the last 90 days."""
    from rathaus.buergerbuero import services

    return services.durations_learn()
