from datetime import timedelta

from django_tasks import task

from rathaus.core.schedule import periodic
from rathaus.privacy.retention import retention_apply


@periodic(every=timedelta(days=1), offset=timedelta(hours=1, minutes=30))
@task()
def retention_apply_daily() -> dict[str, int]:
    """Apply every retention rule once a day (01:30 UTC: 02:30 in German winter time)."""
    results = retention_apply()
    return {
        "deleted": sum(r.deleted for r in results),
        "anonymised": sum(r.anonymised for r in results),
    }
