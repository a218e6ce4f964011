"""Reading the audit trail: search, pages and exports, always within one tenant's chain."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Max, QuerySet
from django.utils import timezone

from rathaus.audit.models import AuditEvent, chain_key
from rathaus.core.models import Municipality

PAGE_SIZE = 50
EXPORT_CHUNK_SIZE = 2000


@dataclass(frozen=True)
class AuditFilter:
    """What an auditor searches for; empty values do not filter."""

    date_from: date | None = None
    date_to: date | None = None
    action_prefix: str = ""
    actor_email: str = ""
    target_type: str = ""
    target_id: str = ""

    def as_data(self) -> dict[str, str]:
        """The filters in use, as JSON-safe values (for the export's audit record)."""
        values: dict[str, str] = {
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
            "action_prefix": self.action_prefix,
            "actor_email": self.actor_email,
            "target_type": self.target_type,
            "target_id": self.target_id,
        }
        return {key: value for key, value in values.items() if value}


@dataclass(frozen=True)
class AuditPage:
    """One page of events, newest first, with the cursors of its neighbours.

    ``older`` is the ``before`` cursor of the next page, ``newer`` the ``after`` cursor
    of the previous one; None where there is nothing more.
    """

    events: list[AuditEvent]
    older: int | None
    newer: int | None


def _day_start(day: date) -> datetime:
    # Auditors think in local calendar days (Europe/Berlin), the database in UTC.
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def audit_events_filtered(
    *, municipality: Municipality, filters: AuditFilter
) -> QuerySet[AuditEvent]:
    """The municipality's events matching ``filters``, unordered.

    Scoped by the hashed ``chain`` as well as by the foreign key: a row moved to
    another tenant by editing the database shows up nowhere but in verification.
    """
    events = AuditEvent.objects.filter(municipality=municipality, chain=chain_key(municipality.pk))
    if filters.date_from:
        events = events.filter(occurred_at__gte=_day_start(filters.date_from))
    if filters.date_to:
        events = events.filter(occurred_at__lt=_day_start(filters.date_to + timedelta(days=1)))
    if filters.action_prefix:
        events = events.filter(action__startswith=filters.action_prefix)
    if filters.actor_email:
        events = events.filter(actor_label__iexact=filters.actor_email)
    if filters.target_type:
        events = events.filter(target_type=filters.target_type)
    if filters.target_id:
        events = events.filter(target_id=filters.target_id)
    return events


def audit_event_page(
    *,
    municipality: Municipality,
    filters: AuditFilter,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> AuditPage:
    """A page of matching events, newest first, by keyset on the chain's sequence.

    Without a cursor the newest events; with ``before`` the ones older than that entry,
    with ``after`` the ones newer. Keyset pages cost the same on page 1 and page 10,000
    and do not shift while new events arrive. One query, two with a cursor.
    """
    events = audit_events_filtered(municipality=municipality, filters=filters)
    if after is not None:
        rows = list(events.filter(sequence__gt=after).order_by("sequence")[: size + 1])
        page = rows[:size][::-1]
        newer = page[0].sequence if len(rows) > size else None
        older = (
            page[-1].sequence
            if page and events.filter(sequence__lt=page[-1].sequence).exists()
            else None
        )
        return AuditPage(page, older, newer)
    events_before = events.filter(sequence__lt=before) if before is not None else events
    rows = list(events_before.order_by("-sequence")[: size + 1])
    page = rows[:size]
    older = page[-1].sequence if len(rows) > size else None
    newer = None
    if before is not None and page and events.filter(sequence__gt=page[0].sequence).exists():
        newer = page[0].sequence
    return AuditPage(page, older, newer)


def audit_export_extent(*, municipality: Municipality, filters: AuditFilter) -> tuple[int, int]:
    """How many events an export of ``filters`` holds, and the last entry it includes.

    Exporting up to that entry keeps the file exactly as counted even while new events
    arrive. One query.
    """
    extent = audit_events_filtered(municipality=municipality, filters=filters).aggregate(
        count=Count("pk"), last=Max("sequence")
    )
    return int(extent["count"]), int(extent["last"] or 0)


def audit_export_rows(
    *, municipality: Municipality, filters: AuditFilter, up_to: int
) -> Iterator[AuditEvent]:
    """The matching events up to entry ``up_to``, oldest first, read in chunks."""
    return (
        audit_events_filtered(municipality=municipality, filters=filters)
        .filter(sequence__lte=up_to)
        .order_by("sequence")
        .iterator(chunk_size=EXPORT_CHUNK_SIZE)
    )
