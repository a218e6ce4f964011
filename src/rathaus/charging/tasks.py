"""Background work of the charging module (run by the scheduler)."""

from datetime import timedelta

from django_tasks import task

from rathaus.core.schedule import periodic


@periodic(every=timedelta(minutes=1))
@task()
def charging_limits_apply() -> int:
    """Recalculate load management of sites whose scheduled grid limit changed."""
    from rathaus.charging import services

    return services.site_limits_apply()


@periodic(every=timedelta(minutes=1), offset=timedelta(seconds=20))
@task()
def charging_silent_check() -> int:
    """Alert the responsible team about stations silent for too long (once per silence)."""
    from rathaus.charging import services
    from rathaus.charging.models import Station
    from rathaus.core.models import Municipality
    from rathaus.core.municipal_settings import municipal_setting

    count = 0
    ids = Station.objects.values_list("municipality_id", flat=True).distinct()
    for municipality in Municipality.objects.filter(pk__in=ids):
        minutes = municipal_setting(municipality, "charging.silent_minutes")
        count += services.stations_silent_check(
            municipality_id=municipality.pk, silent_after=timedelta(minutes=minutes)
        )
    return count
