"""Background work of parking management: DATEX II pulls, no-show releases, forecasts."""

from datetime import timedelta

from django_tasks import task

from rathaus.core.schedule import periodic


@periodic(every=timedelta(minutes=1))
@task()
def datex_pull() -> int:
    """Pull every DATEX II source whose interval has passed."""
    from rathaus.parking import services

    return services.datex_sources_pull_due()


@periodic(every=timedelta(minutes=1), offset=timedelta(seconds=30))
@task()
def reservations_release() -> int:
    """Release reserved spaces nobody arrived for within the grace period."""
    from rathaus.parking import services

    return services.reservations_release()


@periodic(every=timedelta(days=1), offset=timedelta(hours=2, minutes=30))
@task()
def forecasts_retrain() -> int:
    """Refit every site's forecast from its recent history (nightly, 02:30 UTC)."""
    from rathaus.parking import services

    return services.forecasts_retrain()
