"""Parsing of live data as it arrives (MQTT payloads, pushed JSON and CSV).

Parsing is pure: it turns bytes into ``Reading`` objects or a ``ParseError`` with a
machine-readable reason; what a reading means for a site (capacity, order, duplicates)
is decided by ``services.readings_ingest``.

MQTT topics (one tree per municipality, see docs/modules/parking.md)::

    rathaus/<municipality>/parking/sites/<site>/count          {"free": 12, "at": "..."}
    rathaus/<municipality>/parking/sites/<site>/spaces/<space> {"occupied": true, "at": "..."}
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

MAX_PAYLOAD = 1024  # bytes of one MQTT message
MAX_PUSH_READINGS = 1000
TOPIC_ROOT = "rathaus"
_ID = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
_TOPIC = re.compile(
    rf"^{TOPIC_ROOT}/(?P<tenant>[a-z0-9-]{{1,63}})/parking/sites/(?P<site>{_ID})"
    rf"/(?:count|spaces/(?P<space>{_ID}))$"
)
_ID_RE = re.compile(rf"^{_ID}$")


class ParseError(ValueError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Reading:
    tenant: str  # municipality slug
    site: str  # site identifier
    at: datetime
    free: int | None = None  # for a site count
    occupied: bool | None = None  # for a single space
    space: str | None = None


def _timestamp(value: object) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise ParseError("bad_timestamp", "at must be an ISO 8601 string")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise ParseError("bad_timestamp", f"at is not ISO 8601: {value[:40]!r}") from error
    if moment.tzinfo is None:
        raise ParseError("bad_timestamp", "at needs a time zone offset")
    return moment.astimezone(UTC)


def _reading(tenant: str, site: str, space: str | None, body: object) -> Reading:
    if not isinstance(body, dict):
        raise ParseError("malformed", "the payload must be a JSON object")
    at = _timestamp(body.get("at"))
    if space is None:
        free = body.get("free")
        if not isinstance(free, int) or isinstance(free, bool):
            raise ParseError("malformed", "free must be a whole number")
        return Reading(tenant=tenant, site=site, at=at, free=free)
    occupied = body.get("occupied")
    if not isinstance(occupied, bool):
        raise ParseError("malformed", "occupied must be true or false")
    return Reading(tenant=tenant, site=site, space=space, at=at, occupied=occupied)


def mqtt_parse(topic: str, payload: bytes) -> Reading:
    """A reading from an MQTT message, or ``ParseError``."""
    match = _TOPIC.match(topic)
    if not match:
        raise ParseError("bad_topic", f"unknown topic {topic[:120]!r}")
    if len(payload) > MAX_PAYLOAD:
        raise ParseError("oversized", f"payload of {len(payload)} bytes")
    try:
        body = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ParseError("malformed", "the payload is not UTF-8 JSON") from error
    return _reading(match["tenant"], match["site"], match["space"], body)


def push_json_parse(tenant: str, body: object) -> tuple[list[Reading], list[ParseError]]:
    """``{"readings": [...]}`` with ``{"site", "free", "at"}`` (a site count) or
    ``{"site", "space", "occupied", "at"}`` (a single space) per reading."""
    if not isinstance(body, dict) or not isinstance(body.get("readings"), list):
        raise ParseError("malformed", "expected an object with a list 'readings'")
    items = body["readings"]
    if len(items) > MAX_PUSH_READINGS:
        raise ParseError("oversized", f"at most {MAX_PUSH_READINGS} readings per request")
    readings, errors = [], []
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise ParseError("malformed", "each reading must be an object")
            site, space = item.get("site"), item.get("space")
            if not isinstance(site, str) or not _ID_RE.match(site):
                raise ParseError("malformed", "site must be a site identifier")
            if space is not None and (not isinstance(space, str) or not _ID_RE.match(space)):
                raise ParseError("malformed", "space must be a space identifier")
            readings.append(_reading(tenant, site, space, item))
        except ParseError as error:
            errors.append(ParseError(error.reason, f"reading {index}: {error.detail}"))
    return readings, errors


def push_csv_parse(tenant: str, raw: bytes) -> tuple[list[Reading], list[ParseError]]:
    """CSV, UTF-8, header ``site,free,at`` (site counts) or ``site,space,occupied,at``."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ParseError("bad_encoding", "the CSV file is not UTF-8") from error
    rows = list(csv.DictReader(io.StringIO(text)))
    if len(rows) > MAX_PUSH_READINGS:
        raise ParseError("oversized", f"at most {MAX_PUSH_READINGS} readings per request")
    if (
        not rows
        or not {"site", "at"} <= set(rows[0])
        or not ("free" in rows[0] or {"space", "occupied"} <= set(rows[0]))
    ):
        raise ParseError("malformed", "the header must be site,free,at or site,space,occupied,at")
    items: list[dict[str, object]] = []
    for row in rows:
        item: dict[str, object] = {"site": row.get("site"), "at": row.get("at")}
        if row.get("space"):
            item["space"] = row["space"]
            flag = (row.get("occupied") or "").strip().lower()
            item["occupied"] = {"true": True, "1": True, "false": False, "0": False}.get(flag, flag)
        else:
            value = (row.get("free") or "").strip()
            item["free"] = int(value) if re.fullmatch(r"-?\d{1,7}", value) else value
        items.append(item)
    return push_json_parse(tenant, {"readings": items})
