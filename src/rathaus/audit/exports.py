"""Events as files: CSV for people with a spreadsheet, JSON for re-verification."""

import csv
import json
from collections.abc import Iterator
from typing import Any

from rathaus.audit.chain import canonical
from rathaus.audit.models import AuditEvent

EXPORT_FIELDS = [
    "id",
    "chain",
    "sequence",
    "occurred_at",
    "actor_id",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "data",
    "ip",
    "request_id",
    "previous_hash",
    "hash",
]


def export_row(event: AuditEvent) -> dict[str, Any]:
    """An event as exported: the hashed fields as hashed, so a copy can be re-verified."""
    return {
        "id": event.pk,
        "chain": event.chain,
        "sequence": event.sequence,
        "occurred_at": event.occurred_at.isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "data": event.data,
        "ip": event.ip,
        "request_id": event.request_id,
        "previous_hash": event.previous_hash,
        "hash": event.hash,
    }


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def _csv_cell(value: Any) -> str:
    text = "" if value is None else canonical(value) if isinstance(value, dict) else str(value)
    # A spreadsheet runs a cell that starts like a formula; the trail holds text that
    # outsiders chose (e-mail addresses typed at a failed login), so it never may.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_lines(rows: Iterator[AuditEvent]) -> Iterator[str]:
    """The events as CSV lines, header first, for a streaming response."""
    writer = csv.writer(_Echo())
    # The byte order mark lets spreadsheet programs read the file as UTF-8 (umlauts).
    yield "\ufeff" + writer.writerow(EXPORT_FIELDS)
    for event in rows:
        row = export_row(event)
        yield writer.writerow([_csv_cell(row[name]) for name in EXPORT_FIELDS])


def json_chunks(head: dict[str, Any], rows: Iterator[AuditEvent]) -> Iterator[str]:
    """``head`` as a JSON object with the events in its ``events`` list, in pieces."""
    opening = json.dumps(head, ensure_ascii=False)[:-1]
    yield opening + ', "events": ['
    for index, event in enumerate(rows):
        yield ("," if index else "") + "\n" + json.dumps(export_row(event), ensure_ascii=False)
    yield "\n]}\n"
