"""Writes of the service assistant: lexicon, building model, devices, statistics, hand-over."""

from __future__ import annotations

import itertools
import json
import math
import secrets
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import jsonschema  # type: ignore[import-untyped]
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from rathaus.assistant.models import (
    Building,
    Device,
    DeviceNonce,
    Edge,
    Floor,
    LexiconEntry,
    Node,
    QuestionStat,
)
from rathaus.assistant.selectors import Answer, question_words
from rathaus.audit.services import audit_record
from rathaus.catalog.models import Location, Service
from rathaus.core.errors import (
    ApplicationError,
    NotFound,
    ValidationFailed,
    full_clean_or_fail,
)
from rathaus.core.models import Municipality
from rathaus.core.signed_requests import request_signature, signature_matches

MAX_CLOCK_SKEW = timedelta(minutes=5)
MAX_FLOORS = 30
MAX_FEATURES = 2000
MAX_IMPORT_BYTES = 2_000_000
LIFT_DISTANCE_M = 5.0
STAIRS_DISTANCE_M = 10.0


class DeviceRefused(ApplicationError):
    status = 401
    default_code = "device_not_authenticated"


# --- lexicon -------------------------------------------------------------------------


def _terms(value: str, field: str) -> str:
    terms = [" ".join(term.split()) for term in str(value).split(",")]
    terms = [term for term in terms if term]
    if not terms or any(len(term) > 80 for term in terms):
        raise ValidationFailed(
            fields={
                field: [_("Enter one or more terms of at most 80 characters, separated by commas.")]
            }
        )
    return ", ".join(terms)


def lexicon_entry_save(
    *,
    municipality: Municipality,
    actor: Any,
    terms: str,
    expansions: str,
    two_way: bool = False,
    note: str = "",
    is_active: bool = True,
    entry: LexiconEntry | None = None,
) -> LexiconEntry:
    """Create or change an editor's synonym rule; the index picks it up on the next question."""
    with transaction.atomic():
        if entry is None:
            entry = LexiconEntry(municipality=municipality)
        elif entry.municipality_id != municipality.pk:
            raise NotFound
        entry.terms = _terms(terms, "terms")
        entry.expansions = _terms(expansions, "expansions")
        entry.two_way = bool(two_way)
        entry.note = " ".join(str(note).split())
        entry.is_active = bool(is_active)
        full_clean_or_fail(entry, exclude=["municipality"])
        entry.save()
        audit_record(
            municipality=municipality,
            action="assistant.lexicon.saved",
            actor=actor,
            target=entry,
            data={"terms": entry.terms, "expansions": entry.expansions},
        )
    return entry


def lexicon_entry_delete(*, entry: LexiconEntry, actor: Any) -> None:
    """Remove an editor's synonym rule."""
    with transaction.atomic():
        audit_record(
            municipality=entry.municipality,
            action="assistant.lexicon.deleted",
            actor=actor,
            target=entry,
            data={"terms": entry.terms},
        )
        entry.delete()


# --- building model ------------------------------------------------------------------

FLOOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "properties", "features"],
    "properties": {
        "type": {"const": "FeatureCollection"},
        "properties": {
            "type": "object",
            "required": ["level", "name_de"],
            "properties": {
                "level": {"type": "integer", "minimum": -10, "maximum": 100},
                "name_de": {"type": "string", "minLength": 1, "maxLength": 100},
                "name_en": {"type": "string", "maxLength": 100},
            },
        },
        "features": {
            "type": "array",
            "maxItems": MAX_FEATURES,
            "items": {
                "type": "object",
                "required": ["type", "geometry", "properties"],
                "properties": {
                    "type": {"const": "Feature"},
                    "geometry": {
                        "type": "object",
                        "required": ["type", "coordinates"],
                        "properties": {
                            "type": {"enum": ["Point", "LineString"]},
                            "coordinates": {"type": "array", "maxItems": 500},
                        },
                    },
                    "properties": {"type": "object"},
                },
            },
        },
    },
}


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError
    return float(value)


def building_import(*, location: Location, floors: Sequence[Any], actor: Any = None) -> Building:
    """Replace the building model of ``location`` by the GeoJSON floor documents given.

    The format is documented in ``docs/modules/assistant.md``: one FeatureCollection per
    floor with ``properties.level``; Point features are places (``key``, ``kind``, names,
    ``room``; coordinates in metres), LineString features connections (``from``, ``to`` as
    keys, ``level:key`` for another floor; ``kind``, ``steps``, ``width_cm``, optional
    ``distance``). Raises ``ValidationFailed`` listing the problems; then nothing changes.
    """
    errors: list[str] = []
    if not floors:
        raise ValidationFailed(fields={"floors": [_("Upload at least one floor.")]})
    if len(floors) > MAX_FLOORS:
        raise ValidationFailed(fields={"floors": [_("At most 30 floors.")]})
    parsed: list[dict[str, Any]] = []
    levels: set[int] = set()
    for number, document in enumerate(floors, start=1):
        try:
            jsonschema.validate(document, FLOOR_SCHEMA)
        except jsonschema.ValidationError as error:
            path = "/".join(str(p) for p in error.absolute_path)
            errors.append(
                _("Floor %(number)s: %(path)s %(message)s")
                % {"number": number, "path": path or "-", "message": error.message[:200]}
            )
            continue
        level = document["properties"]["level"]
        if level in levels:
            errors.append(
                _("Floor %(number)s: level %(level)s twice.") % {"number": number, "level": level}
            )
        levels.add(level)
        parsed.append(document)
    if errors:
        raise ValidationFailed(fields={"floors": errors})
    kinds = {choice.value for choice in Node.Kind}
    edge_kinds = {choice.value for choice in Edge.Kind}
    places: dict[tuple[int, str], dict[str, Any]] = {}
    links: list[dict[str, Any]] = []
    for document in parsed:
        level = document["properties"]["level"]
        for index, feature in enumerate(document["features"]):
            props = feature["properties"]
            where = _("level %(level)s, feature %(index)s") % {"level": level, "index": index}
            try:
                if feature["geometry"]["type"] == "Point":
                    x, y = (_number(v) for v in feature["geometry"]["coordinates"][:2])
                    key = str(props.get("key", ""))
                    kind = str(props.get("kind", ""))
                    if kind not in kinds:
                        errors.append(
                            f"{where}: " + _("unknown kind %(kind)s") % {"kind": kind[:30]}
                        )
                        continue
                    if (level, key) in places:
                        errors.append(f"{where}: " + _("key %(key)s twice") % {"key": key[:63]})
                        continue
                    places[(level, key)] = {
                        "key": key,
                        "kind": kind,
                        "x": x,
                        "y": y,
                        "name_de": str(props.get("name_de", ""))[:500],
                        "name_en": str(props.get("name_en", ""))[:500],
                        "room": str(props.get("room", ""))[:500],
                        "where": where,
                    }
                else:
                    coordinates = [
                        tuple(_number(v) for v in point[:2])
                        for point in feature["geometry"]["coordinates"]
                    ]
                    kind = str(props.get("kind", "walk"))
                    if kind not in edge_kinds:
                        errors.append(
                            f"{where}: " + _("unknown kind %(kind)s") % {"kind": kind[:30]}
                        )
                        continue
                    distance = props.get("distance")
                    links.append(
                        {
                            "from": _reference(props.get("from"), level),
                            "to": _reference(props.get("to"), level),
                            "kind": kind,
                            "steps": int(props.get("steps", 0) or 0),
                            "width_cm": props.get("width_cm"),
                            "distance": None if distance is None else _number(distance),
                            "line": coordinates,
                            "where": where,
                        }
                    )
            except (ValueError, TypeError, IndexError):
                errors.append(f"{where}: " + _("coordinates or numbers are not valid"))
    for link in links:
        for side in ("from", "to"):
            if link[side] is None or link[side] not in places:
                errors.append(
                    f"{link['where']}: "
                    + _("connects to an unknown place %(ref)s") % {"ref": str(link[side])[:70]}
                )
    if errors:
        raise ValidationFailed(fields={"floors": errors[:50]})
    with transaction.atomic():
        building, _created = Building.objects.select_for_update().get_or_create(
            location=location, defaults={"municipality": location.municipality}
        )
        Floor.objects.filter(building=building).delete()
        floor_rows: dict[int, Floor] = {}
        for document in parsed:
            props = document["properties"]
            floor = Floor(
                municipality=location.municipality,
                building=building,
                level=props["level"],
                name_de=props["name_de"],
                name_en=props.get("name_en", ""),
            )
            full_clean_or_fail(floor, exclude=["municipality", "building"])
            floor.save()
            floor_rows[floor.level] = floor
        nodes: dict[tuple[int, str], Node] = {}
        problems: list[str] = []
        for (level, key), data in places.items():
            node = Node(
                municipality=location.municipality,
                floor=floor_rows[level],
                key=key,
                kind=data["kind"],
                name_de=data["name_de"],
                name_en=data["name_en"],
                room=data["room"],
                x=data["x"],
                y=data["y"],
            )
            try:
                full_clean_or_fail(node, exclude=["municipality", "floor"])
            except ValidationFailed as error:
                problems.extend(
                    f"{data['where']}: {name}: {' '.join(msgs)}"
                    for name, msgs in error.fields.items()
                )
                continue
            nodes[(level, key)] = node
        if problems:
            raise ValidationFailed(fields={"floors": problems[:50]})
        Node.objects.bulk_create(nodes.values())
        seen: set[tuple[int, int]] = set()
        edges = []
        for link in links:
            start, end = nodes[link["from"]], nodes[link["to"]]
            pair = (min(start.pk, end.pk), max(start.pk, end.pk))
            if start.pk == end.pk or pair in seen:
                continue
            seen.add(pair)
            distance = link["distance"]
            if distance is None:
                distance = _distance(start, end, link["kind"], link["line"])
            edge = Edge(
                municipality=location.municipality,
                building=building,
                start=start,
                end=end,
                kind=link["kind"],
                distance=round(distance, 2),
                steps=link["steps"],
                width_cm=link["width_cm"],
            )
            try:
                full_clean_or_fail(edge, exclude=["municipality", "building", "start", "end"])
            except ValidationFailed as error:
                problems.extend(
                    f"{link['where']}: {name}: {' '.join(msgs)}"
                    for name, msgs in error.fields.items()
                )
                continue
            edges.append(edge)
        if problems:
            raise ValidationFailed(fields={"floors": problems[:50]})
        Edge.objects.bulk_create(edges)
        audit_record(
            municipality=location.municipality,
            action="assistant.building.imported",
            actor=actor,
            target=building,
            data={"floors": len(floor_rows), "places": len(nodes), "connections": len(edges)},
        )
    return building


def _reference(value: Any, level: int) -> tuple[int, str] | None:
    if not isinstance(value, str) or not value or len(value) > 80:
        return None
    head, sep, tail = value.partition(":")
    if sep and head.lstrip("-").isdigit():
        return (int(head), tail)
    return (level, value)


def _distance(start: Node, end: Node, kind: str, line: list[tuple[float, ...]]) -> float:
    if kind == Edge.Kind.LIFT:
        return LIFT_DISTANCE_M
    if kind == Edge.Kind.STAIRS and start.floor_id != end.floor_id:
        return STAIRS_DISTANCE_M
    points = line if len(line) >= 2 else [(start.x, start.y), (end.x, end.y)]
    return sum(math.dist(a, b) for a, b in itertools.pairwise(points))


def building_floors_read(raw: bytes) -> list[Any]:
    """Floor documents from an upload: one FeatureCollection, or a JSON list of them."""
    if len(raw) > MAX_IMPORT_BYTES:
        raise ValidationFailed(fields={"file": [_("The file is larger than 2 MB.")]})
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ValidationFailed(fields={"file": [_("The file is not valid JSON.")]}) from None
    return data if isinstance(data, list) else [data]


def node_update(
    *, node: Node, actor: Any, name_de: str, name_en: str, room: str, kind: str, x: float, y: float
) -> Node:
    """Change a place of the building model."""
    with transaction.atomic():
        node.name_de, node.name_en, node.room = name_de.strip(), name_en.strip(), room.strip()
        node.kind, node.x, node.y = kind, x, y
        full_clean_or_fail(node, exclude=["municipality", "floor"])
        node.save()
        audit_record(
            municipality=node.municipality,
            action="assistant.place.changed",
            actor=actor,
            target=node,
        )
    return node


def edge_create(
    *,
    building: Building,
    actor: Any,
    start: Node,
    end: Node,
    kind: str,
    steps: int = 0,
    width_cm: int | None = None,
    distance: float | None = None,
) -> Edge:
    """Connect two places of the building (both must belong to it)."""
    if start.floor.building_id != building.pk or end.floor.building_id != building.pk:
        raise NotFound
    if start.pk == end.pk:
        raise ValidationFailed(fields={"end": [_("Choose two different places.")]})
    with transaction.atomic():
        edge = Edge(
            municipality=building.municipality,
            building=building,
            start=start,
            end=end,
            kind=kind,
            steps=steps,
            width_cm=width_cm,
            distance=distance if distance is not None else _distance(start, end, kind, []),
        )
        full_clean_or_fail(edge, exclude=["municipality", "building", "start", "end"])
        if Edge.objects.filter(
            building=building, start__in=[start, end], end__in=[start, end]
        ).exists():
            raise ValidationFailed(fields={"end": [_("These places are already connected.")]})
        try:
            with transaction.atomic():
                edge.save()
        except IntegrityError:
            raise ValidationFailed(
                fields={"end": [_("These places are already connected.")]}
            ) from None
        audit_record(
            municipality=building.municipality,
            action="assistant.connection.added",
            actor=actor,
            target=edge,
        )
    return edge


def edge_delete(*, edge: Edge, actor: Any) -> None:
    """Remove a connection of the building model."""
    with transaction.atomic():
        audit_record(
            municipality=edge.municipality,
            action="assistant.connection.removed",
            actor=actor,
            target=edge,
        )
        edge.delete()


# --- devices ---------------------------------------------------------------------------


def device_create(
    *,
    municipality: Municipality,
    actor: Any,
    name: str,
    kind: str,
    location: Location | None = None,
    position: Node | None = None,
    can_use_stairs: bool = False,
    can_use_lifts: bool = False,
) -> tuple[Device, str]:
    """Register a kiosk or robot; returns it with its secret (shown this once only)."""
    if location is not None and location.municipality_id != municipality.pk:
        raise NotFound
    if position is not None and position.municipality_id != municipality.pk:
        raise NotFound
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        device = Device(
            municipality=municipality,
            name=" ".join(name.split()),
            kind=kind,
            key_id="dev_" + secrets.token_hex(12),
            secret=secret,
            location=location,
            position=position,
            can_use_stairs=can_use_stairs,
            can_use_lifts=can_use_lifts,
        )
        full_clean_or_fail(device, exclude=["municipality", "secret", "key_id"])
        device.save()
        audit_record(
            municipality=municipality, action="assistant.device.created", actor=actor, target=device
        )
    return device, secret


def device_deactivate(*, device: Device, actor: Any) -> None:
    """Withdraw a device's access at once."""
    with transaction.atomic():
        Device.objects.filter(pk=device.pk).update(is_active=False)
        audit_record(
            municipality=device.municipality,
            action="assistant.device.deactivated",
            actor=actor,
            target=device,
        )


def signature_of(
    *, secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes
) -> str:
    """The request signature a device sends (``core.signed_requests``)."""
    return request_signature(
        key=secret, method=method, path=path, timestamp=timestamp, nonce=nonce, body=body
    )


def device_authenticate(
    *,
    municipality: Municipality,
    key_id: str,
    timestamp: str,
    nonce: str,
    signature: str,
    method: str,
    path: str,
    body: bytes,
) -> Device:
    """The device that signed this request, or ``DeviceRefused`` (unknown, inactive,
    another municipality's, wrong signature, stale timestamp, or a replayed nonce)."""
    refused = DeviceRefused(_("The device could not be authenticated."))
    if not (key_id and timestamp and nonce and signature) or len(nonce) > 64 or len(nonce) < 16:
        raise refused
    device = Device.objects.filter(
        key_id=key_id[:40], municipality=municipality, is_active=True
    ).first()
    if device is None:
        raise refused
    expected = signature_of(
        secret=device.secret, method=method, path=path, timestamp=timestamp, nonce=nonce, body=body
    )
    if not signature_matches(expected=expected, given=signature[:64]):
        raise refused
    try:
        sent = float(timestamp)
    except ValueError:
        raise refused from None
    now = timezone.now()
    if not math.isfinite(sent) or abs(now.timestamp() - sent) > MAX_CLOCK_SKEW.total_seconds():
        raise DeviceRefused(
            _("The request is too old or from the future; check the clock."), code="stale_request"
        )
    try:
        with transaction.atomic():
            DeviceNonce.objects.create(device=device, nonce=nonce)
    except IntegrityError:
        raise DeviceRefused(_("This request was already used."), code="replayed_request") from None
    Device.objects.filter(pk=device.pk).update(last_seen_at=now)
    return device


def device_nonces_purge(*, before: Any = None) -> int:
    """Forget nonces older than the clock skew allows (a replay of them is stale anyway)."""
    cutoff = before or timezone.now() - 2 * MAX_CLOCK_SKEW
    deleted, _detail = DeviceNonce.objects.filter(created_at__lt=cutoff).delete()
    return deleted


# --- statistics ------------------------------------------------------------------------


def question_record(*, municipality: Municipality, answer: Answer, channel: str) -> None:
    """Count the question anonymously (its folded content words, per day and channel)."""
    words = question_words(answer.question)
    if not words:
        return
    top = answer.results[0] if answer.results else None
    values = {
        "top_service": top.service if top else None,
        "top_score": top.score if top else 0,
        "answered": answer.answered,
    }
    key = {
        "municipality": municipality,
        "day": date.today(),
        "channel": channel,
        "language": answer.language,
        "words": words,
    }
    for _attempt in range(2):
        try:
            with transaction.atomic():
                stat, created = QuestionStat.objects.get_or_create(
                    **key, defaults={**values, "count": 1}
                )
                if not created:
                    QuestionStat.objects.filter(pk=stat.pk).update(count=F("count") + 1, **values)
            return
        except IntegrityError:
            continue


def feedback_record(
    *, municipality: Municipality, question: str, language: str, channel: str, helpful: bool
) -> None:
    """Count whether the answer to a question helped (anonymously, like the question)."""
    words = question_words(question)
    if not words:
        raise ValidationFailed(fields={"question": [_("Enter a question.")]})
    stat = QuestionStat.objects.filter(
        municipality=municipality, day=date.today(), channel=channel, language=language, words=words
    ).first()
    if stat is None:
        raise NotFound(_("There is no such question today."))
    column = "helpful" if helpful else "not_helpful"
    QuestionStat.objects.filter(pk=stat.pk).update(**{column: F(column) + 1})


# --- hand-over to the Bürgerbüro -------------------------------------------------------


def assistant_ticket_draw(
    *,
    municipality: Municipality,
    location: Location,
    service: Service,
    language: str = "de",
    phone: str = "",
) -> Any:
    """Draw a queue ticket for ``service`` at ``location`` from the assistant (kiosk,
    robot, web); the Bürgerbüro's rules apply (open hours, ticket stop, services offered)."""
    from rathaus.buergerbuero.services import ticket_draw

    if location.municipality_id != municipality.pk or service.municipality_id != municipality.pk:
        raise NotFound
    if not service.is_public:
        raise NotFound
    return ticket_draw(
        location=location, services=[service], channel="assistant", language=language, phone=phone
    )
