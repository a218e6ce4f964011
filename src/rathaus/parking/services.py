"""Every write of parking management: site import, live readings, forecasts,
reservations, DATEX II pulls, and the configuration of guidance signs, event modes and
DATEX II sources."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from rathaus.audit.services import audit_record
from rathaus.core.errors import Conflict, PermissionDenied, ValidationFailed, full_clean_or_fail
from rathaus.core.models import Municipality
from rathaus.core.municipal_settings import municipal_setting
from rathaus.parking import datex
from rathaus.parking.forecast import forecast_train
from rathaus.parking.inbound import Reading
from rathaus.parking.models import (
    Arrow,
    DatexSource,
    EventMode,
    ForecastModel,
    Observation,
    ParkingSite,
    Rejection,
    Reservation,
    Restriction,
    RestrictionKind,
    Sign,
    SignLine,
    SiteEntrance,
    SiteKind,
    Source,
    Space,
)
from rathaus.parking.opening_hours import opening_hours_parse

logger = logging.getLogger(__name__)
BERLIN = ZoneInfo("Europe/Berlin")
# A sensor clock may run a little fast; beyond this a reading "from the future" is refused.
CLOCK_TOLERANCE = timedelta(minutes=2)
MAX_IMPORT_BYTES = 2 * 1024 * 1024
MAX_IMPORT_SITES = 2000
PLATE_RE = re.compile(r"^[A-ZÄÖÜ]{1,3}-[A-Z]{1,2} ?[1-9][0-9]{0,3}[EH]?$")
MAX_RESERVATION = timedelta(hours=24)
BOOKING_HORIZON = timedelta(days=14)
MAX_ACTIVE_RESERVATIONS = 3
FORECAST_HISTORY = timedelta(weeks=8)


# --- Import -----------------------------------------------------------------------------


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0


def _decimal(value: object, name: str, row: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as error:
        raise ValidationFailed(
            _("%(row)s: %(name)s is not a number.") % {"row": row, "name": name}
        ) from error


def _integer(value: object, name: str, row: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not re.fullmatch(r"\d{1,7}", str(value).strip()):
        raise ValidationFailed(
            _("%(row)s: %(name)s is not a whole number.") % {"row": row, "name": name}
        )
    return int(str(value).strip())


def _import_rows(data: bytes, fmt: str) -> list[dict[str, Any]]:
    if len(data) > MAX_IMPORT_BYTES:
        raise ValidationFailed(_("The file is larger than 2 MB."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValidationFailed(_("The file is not UTF-8 encoded.")) from error
    if fmt == "json":
        try:
            body = json.loads(text)
        except ValueError as error:
            raise ValidationFailed(_("The file is not valid JSON.")) from error
        sites = body.get("sites") if isinstance(body, dict) else None
        if not isinstance(sites, list) or not all(isinstance(s, dict) for s in sites):
            raise ValidationFailed(_("The JSON file needs a list “sites” of objects."))
        return sites
    if fmt == "csv":
        rows: list[dict[str, Any]] = []
        for row in csv.DictReader(io.StringIO(text), delimiter=";" if ";" in text[:500] else ","):
            item: dict[str, Any] = {k.strip(): (v or "").strip() for k, v in row.items() if k}
            restrictions = {}
            for kind in RestrictionKind.values:
                value = item.pop(f"capacity_{kind.lower()}", "")
                if value:
                    restrictions[kind] = value
            item["restrictions"] = [{"kind": k, "capacity": v} for k, v in restrictions.items()]
            rows.append(item)
        return rows
    raise ValidationFailed(_("Unknown file format."))


def sites_import(
    *, municipality: Municipality, data: bytes, fmt: str, actor: Any = None
) -> ImportResult:
    """Create or update sites from the documented JSON or CSV format (all or nothing).

    Sites are matched by their identifier; restrictions and entrances of a site in the
    file replace the stored ones. Live values are kept.
    """
    rows = _import_rows(data, fmt)
    if not rows:
        raise ValidationFailed(_("The file contains no sites."))
    if len(rows) > MAX_IMPORT_SITES:
        raise ValidationFailed(_("At most 2000 sites per file."))
    result = ImportResult()
    seen: set[str] = set()
    with transaction.atomic():
        for index, row in enumerate(rows, start=1):
            label = _("Site %(number)d") % {"number": index}
            external_id = str(row.get("id", "")).strip()
            if external_id in seen:
                raise ValidationFailed(
                    _("%(row)s: the identifier %(id)s appears twice.")
                    % {"row": label, "id": external_id[:64]}
                )
            seen.add(external_id)
            site = ParkingSite.objects.filter(
                municipality=municipality, external_id=external_id
            ).first()
            created = site is None
            site = site or ParkingSite(municipality=municipality, external_id=external_id)
            site.name = str(row.get("name", "")).strip()
            site.kind = str(row.get("type", "")).strip()
            site.lat = _decimal(row.get("lat"), "lat", label)  # type: ignore[assignment]
            site.lon = _decimal(row.get("lon"), "lon", label)  # type: ignore[assignment]
            site.capacity = _integer(row.get("capacity"), "capacity", label)  # type: ignore[assignment]
            site.address = str(row.get("address", "")).strip()
            site.operator = str(row.get("operator", "")).strip()
            site.opening_hours = str(row.get("opening_hours", "")).strip()
            site.fee_per_hour = _decimal(row.get("fee_per_hour"), "fee_per_hour", label)
            site.fee_description = str(row.get("fee_description", "")).strip()
            site.max_stay_minutes = _integer(row.get("max_stay_minutes"), "max_stay_minutes", label)
            site.max_height_cm = _integer(row.get("max_height_cm"), "max_height_cm", label)
            site.counts_from_spaces = row.get("counts_from_spaces") in (True, "true", "1")
            _site_validate(site, label)
            site.save()
            _children_replace(site, row, label)
            if created:
                result.created += 1
            else:
                result.updated += 1
        audit_record(
            municipality=municipality,
            action="parking.sites.imported",
            actor=actor,
            data={"created": result.created, "updated": result.updated, "format": fmt},
        )
    return result


def _site_validate(site: ParkingSite, label: str) -> None:
    if site.kind not in SiteKind.values:
        raise ValidationFailed(
            _("%(row)s: unknown type; use one of %(types)s.")
            % {"row": label, "types": ", ".join(SiteKind.values)}
        )
    if site.opening_hours:
        opening_hours_parse(site.opening_hours)
    try:
        full_clean_or_fail(site, exclude=["municipality"])
    except ValidationFailed as error:
        raise ValidationFailed(
            _("%(row)s is not valid.") % {"row": label}, fields=error.fields
        ) from error


def _children_replace(site: ParkingSite, row: dict[str, Any], label: str) -> None:
    restrictions = row.get("restrictions") or []
    entrances = row.get("entrances") or []
    spaces = row.get("spaces") or []
    if not all(isinstance(x, list) for x in (restrictions, entrances, spaces)):
        raise ValidationFailed(
            _("%(row)s: restrictions, entrances and spaces must be lists.") % {"row": label}
        )
    site.restrictions.all().delete()
    for item in restrictions:
        kind = str(item.get("kind", "")) if isinstance(item, dict) else ""
        capacity = _integer(
            item.get("capacity") if isinstance(item, dict) else None, "capacity", label
        )
        if kind not in RestrictionKind.values or capacity is None or capacity > site.capacity:
            raise ValidationFailed(_("%(row)s: a restriction is not valid.") % {"row": label})
        Restriction.objects.create(site=site, kind=kind, capacity=capacity)
    site.entrances.all().delete()
    for item in entrances:
        if not isinstance(item, dict):
            raise ValidationFailed(_("%(row)s: an entrance is not valid.") % {"row": label})
        entrance = SiteEntrance(
            site=site,
            name=str(item.get("name", ""))[:120],
            lat=_decimal(item.get("lat"), "lat", label),  # type: ignore[misc]
            lon=_decimal(item.get("lon"), "lon", label),
        )
        full_clean_or_fail(entrance, exclude=["site"])
        entrance.save()
    keep = []
    for item in spaces:
        if not isinstance(item, dict):
            raise ValidationFailed(_("%(row)s: a space is not valid.") % {"row": label})
        space = Space.objects.filter(
            site=site, external_id=str(item.get("id", ""))
        ).first() or Space(
            municipality=site.municipality, site=site, external_id=str(item.get("id", ""))
        )
        space.restriction = str(item.get("restriction", ""))
        space.reservable = item.get("reservable") is True
        full_clean_or_fail(space, exclude=["municipality", "site"])
        space.save()
        keep.append(space.pk)
    # Spaces with reservations stay (PROTECT); the others that left the file go.
    site.spaces.exclude(pk__in=keep).filter(reservations__isnull=True).delete()


# --- Live readings ----------------------------------------------------------------------


@dataclass
class IngestResult:
    accepted: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    corrected: list[tuple[str, str]] = field(default_factory=list)


def rejection_log(
    *,
    municipality: Municipality | None,
    source: str,
    reason: str,
    detail: str,
    corrected: bool = False,
) -> Rejection:
    """Record (and log) a refused or corrected reading."""
    logger.warning(
        "parking reading %s",
        "corrected" if corrected else "rejected",
        extra={"source": source, "reason": reason, "detail": detail[:500]},
    )
    return Rejection.objects.create(
        municipality=municipality,
        source=source,
        reason=reason,
        detail=detail[:500],
        corrected=corrected,
    )


def readings_ingest(
    *,
    readings: Sequence[Reading],
    source: str,
    municipality: Municipality | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Validate and store a batch of readings in one transaction.

    With ``municipality`` (HTTP push, DATEX pull) every reading must belong to it.
    Refused: unknown site or space, negative counts, timestamps in the future, a second
    value for the instant of the current one (``conflict``), readings already stored
    (``duplicate``; MQTT redelivers after a restart, so duplicates are normal).
    Corrected: more free spaces than capacity (set to capacity); a count older than the
    site's current one (``late``: kept in the history, the current value stays). Every
    refusal and correction is logged with its reason. Sites are locked in id order so
    concurrent batches queue instead of overwriting each other's newer values.
    """
    now = now or timezone.now()
    result = IngestResult()
    rejections: list[Rejection] = []

    def refuse(
        tenant: Municipality | None, reason: str, detail: str, corrected: bool = False
    ) -> None:
        (result.corrected if corrected else result.rejected).append((reason, detail))
        rejections.append(
            Rejection(
                municipality=tenant,
                source=source,
                reason=reason,
                detail=detail[:500],
                corrected=corrected,
                received_at=now,
            )
        )

    with transaction.atomic():
        if municipality is not None:
            tenants = {municipality.slug: municipality}
        else:
            slugs = {r.tenant for r in readings}
            tenants = {
                m.slug: m for m in Municipality.objects.filter(slug__in=slugs, is_active=True)
            }
        keys = {(r.tenant, r.site) for r in readings if r.tenant in tenants}
        site_q = Q(pk__in=[])
        by_tenant: dict[int, set[str]] = {}
        for tenant_slug, site_id in keys:
            by_tenant.setdefault(tenants[tenant_slug].pk, set()).add(site_id)
        for tenant_pk, ids in by_tenant.items():
            site_q |= Q(municipality_id=tenant_pk, external_id__in=ids)
        sites = {
            (s.municipality_id, s.external_id): s
            for s in ParkingSite.objects.select_for_update()
            .filter(site_q, is_active=True)
            .order_by("pk")
        }
        space_keys = {(r.site, r.space) for r in readings if r.space}
        spaces: dict[tuple[int, str], Space] = {}
        if space_keys:
            site_pks = [s.pk for s in sites.values()]
            for space in (
                Space.objects.select_for_update()
                .filter(site_id__in=site_pks, external_id__in={k[1] for k in space_keys})
                .order_by("pk")
            ):
                spaces[(space.site_id, space.external_id)] = space
        observations: list[Observation] = []
        late: list[tuple[Municipality, ParkingSite, datetime, int, str]] = []
        changed_sites: dict[int, ParkingSite] = {}
        changed_spaces: dict[int, Space] = {}
        recount: set[int] = set()
        for reading in sorted(readings, key=lambda r: r.at):
            tenant = tenants.get(reading.tenant)
            label = f"{reading.tenant}/{reading.site}" + (
                f"/{reading.space}" if reading.space else ""
            )
            if tenant is None:
                refuse(None, "unknown_municipality", label)
                continue
            if municipality is not None and tenant != municipality:
                refuse(municipality, "unknown_site", label)
                continue
            site = sites.get((tenant.pk, reading.site))
            if site is None:
                refuse(tenant, "unknown_site", label)
                continue
            if reading.at > now + CLOCK_TOLERANCE:
                refuse(tenant, "future", f"{label} at {reading.at.isoformat()}")
                continue
            if reading.space is not None:
                found = spaces.get((site.pk, reading.space))
                if found is None:
                    refuse(tenant, "unknown_space", label)
                    continue
                space = found
                if space.occupied_at is not None and reading.at <= space.occupied_at:
                    same = reading.at == space.occupied_at and reading.occupied == space.occupied
                    refuse(tenant, "duplicate" if same else "out_of_order", label)
                    continue
                space.occupied, space.occupied_at = reading.occupied, reading.at
                changed_spaces[space.pk] = space
                if site.counts_from_spaces:
                    recount.add(site.pk)
                result.accepted += 1
                continue
            free = reading.free
            assert free is not None
            if free < 0:
                refuse(tenant, "negative", f"{label} free={free}")
                continue
            if free > site.capacity:
                refuse(tenant, "above_capacity", f"{label} free={free} > {site.capacity}", True)
                free = site.capacity
            if site.realtime_at is not None and reading.at == site.realtime_at:
                same = free == site.realtime_free
                refuse(tenant, "duplicate" if same else "conflict", label)
                continue
            if site.realtime_at is not None and reading.at < site.realtime_at:
                late.append((tenant, site, reading.at, free, label))
                continue
            site.realtime_free, site.realtime_at = free, reading.at
            changed_sites[site.pk] = site
            observations.append(
                Observation(site=site, at=reading.at, free=free, source=source, received_at=now)
            )
            result.accepted += 1
        if late:
            stored = set(
                Observation.objects.filter(
                    site_id__in={site.pk for _, site, *_ in late},
                    at__in={at for _, _, at, *_ in late},
                ).values_list("site_id", "at")
            )
            for tenant, site, at, free, label in late:
                if (site.pk, at) in stored:
                    refuse(tenant, "duplicate", label)
                    continue
                stored.add((site.pk, at))
                refuse(tenant, "late", f"{label} at {at.isoformat()}", True)
                observations.append(
                    Observation(site=site, at=at, free=free, source=source, received_at=now)
                )
                result.accepted += 1
        if changed_spaces:
            _rows_update(
                Space._meta.db_table,
                ["occupied", "occupied_at"],
                [(s.occupied, s.occupied_at, s.pk) for s in changed_spaces.values()],
            )
        for site in sites.values():
            if site.pk in recount:
                _site_recount(site, observations, source, now)
                changed_sites[site.pk] = site
        if observations:
            Observation.objects.bulk_create(observations, ignore_conflicts=True)
        if changed_sites:
            _rows_update(
                ParkingSite._meta.db_table,
                ["realtime_free", "realtime_at"],
                [(s.realtime_free, s.realtime_at, s.pk) for s in changed_sites.values()],
            )
        if rejections:
            Rejection.objects.bulk_create(rejections)
    for rejection in rejections:
        logger.warning(
            "parking reading %s",
            "corrected" if rejection.corrected else "rejected",
            extra={"source": source, "reason": rejection.reason, "detail": rejection.detail},
        )
    return result


def _rows_update(table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """``UPDATE table SET columns WHERE id`` for many rows in one round of statements.

    ``bulk_update`` builds a CASE expression per row and field, which costs more than the
    rest of a batch together; psycopg pipelines ``executemany`` instead. Timestamps and
    their time zones are adapted as in any ORM query.
    """
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(c)} = %s" for c in columns)
    adapted = [
        tuple(
            connection.ops.adapt_datetimefield_value(v) if isinstance(v, datetime) else v
            for v in row
        )
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {quote(table)} SET {assignments} WHERE id = %s", adapted)  # noqa: S608 (names from the models)


def _site_recount(
    site: ParkingSite, observations: list[Observation], source: str, now: datetime
) -> None:
    """Free spaces of a fully sensored site from its bays' sensors."""
    state = site.spaces.aggregate(latest=Max("occupied_at"))
    free = site.spaces.filter(occupied=False).count()
    latest = state["latest"]
    if latest is None or (site.realtime_at is not None and latest <= site.realtime_at):
        return
    site.realtime_free, site.realtime_at = min(free, site.capacity), latest
    observations.append(
        Observation(site=site, at=latest, free=site.realtime_free, source=source, received_at=now)
    )


# --- DATEX II pull ----------------------------------------------------------------------


def datex_source_pull(*, source: DatexSource, fetch: Any = None) -> IngestResult:
    """Fetch the source's DATEX II ParkingStatusPublication and ingest its records."""
    import urllib.request

    def default_fetch(url: str) -> bytes:
        if not url.startswith(("http://", "https://")):
            raise ValueError("only http and https sources are pulled")
        request = urllib.request.Request(url, headers={"Accept": "application/xml"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 (checked above)
            return bytes(response.read(datex.MAX_BYTES + 1))

    fetch = fetch or default_fetch
    now = timezone.now()
    try:
        raw = fetch(source.url)
        records = datex.status_parse(raw)
    except (OSError, ValueError) as error:
        DatexSource.objects.filter(pk=source.pk).update(
            last_fetch_at=now, last_error=str(error)[:500]
        )
        rejection_log(
            municipality=source.municipality,
            source=Source.DATEX,
            reason="fetch_failed",
            detail=f"{source.name}: {error}",
        )
        return IngestResult(rejected=[("fetch_failed", str(error))])
    readings = [
        Reading(tenant=source.municipality.slug, site=record.site, at=record.at, free=record.free)
        for record in records
    ]
    result = readings_ingest(
        readings=readings, source=Source.DATEX, municipality=source.municipality
    )
    DatexSource.objects.filter(pk=source.pk).update(last_fetch_at=now, last_error="")
    return result


def datex_sources_pull_due(*, now: datetime | None = None) -> int:
    """Pull every active source whose interval has passed; returns how many were pulled."""
    now = now or timezone.now()
    pulled = 0
    for source in DatexSource.objects.select_related("municipality").filter(is_active=True):
        if source.last_fetch_at is None or now - source.last_fetch_at >= timedelta(
            minutes=source.every_minutes
        ):
            datex_source_pull(source=source)
            pulled += 1
    return pulled


# --- Forecasts --------------------------------------------------------------------------


def forecasts_retrain(
    *, municipality: Municipality | None = None, now: datetime | None = None
) -> int:
    """Fit the forecast of every active site from its last eight weeks; returns how many
    sites got a model (sites with too little history keep the fallback)."""
    now = now or timezone.now()
    sites = ParkingSite.objects.filter(is_active=True)
    if municipality is not None:
        sites = sites.filter(municipality=municipality)
    trained = 0
    for site in sites:
        rows = Observation.objects.filter(site=site, at__gte=now - FORECAST_HISTORY).values_list(
            "at", "free"
        )
        readings = [
            (at.astimezone(BERLIN).replace(tzinfo=None), (site.capacity - free) / site.capacity)
            for at, free in rows
        ]
        params = forecast_train(readings)
        if params is None:
            ForecastModel.objects.filter(site=site).delete()
            continue
        ForecastModel.objects.update_or_create(
            site=site, defaults={"params": params, "trained_at": now, "samples": len(readings)}
        )
        trained += 1
    return trained


# --- Reservations -----------------------------------------------------------------------


def plate_normalise(value: str) -> str:
    """``"s-ab 123"`` → ``"S-AB 123"``; raises ``ValidationFailed`` if it is no German plate."""
    plate = " ".join(value.upper().split())
    if not PLATE_RE.match(plate):
        raise ValidationFailed(
            fields={"plate": [_("Enter a German number plate such as S-AB 123.")]}
        )
    return plate


def reservation_book(
    *,
    citizen: Any,
    space: Space,
    starts_at: datetime,
    ends_at: datetime,
    plate: str,
    now: datetime | None = None,
) -> Reservation:
    """Book ``space`` for a time window. The space row is locked, so of two concurrent
    bookings of overlapping windows one succeeds and the other gets ``Conflict``."""
    now = now or timezone.now()
    plate = plate_normalise(plate)
    if not space.reservable or getattr(citizen, "municipality_id", None) != space.municipality_id:
        raise PermissionDenied(_("This space cannot be reserved."))
    errors: dict[str, list[str]] = {}
    if starts_at < now - timedelta(minutes=5):
        errors["starts_at"] = [_("The start lies in the past.")]
    elif starts_at > now + BOOKING_HORIZON:
        errors["starts_at"] = [_("Spaces can be reserved up to 14 days ahead.")]
    if ends_at <= starts_at:
        errors["ends_at"] = [_("The end must be after the start.")]
    elif ends_at - starts_at > MAX_RESERVATION:
        errors["ends_at"] = [_("A reservation lasts at most 24 hours.")]
    if errors:
        raise ValidationFailed(fields=errors)
    active = (Reservation.Status.BOOKED, Reservation.Status.CHECKED_IN)
    with transaction.atomic():
        Space.objects.select_for_update().get(pk=space.pk)
        if Reservation.objects.filter(
            space=space, status__in=active, starts_at__lt=ends_at, ends_at__gt=starts_at
        ).exists():
            raise Conflict(_("This space is already reserved for that time."), code="space_taken")
        if (
            Reservation.objects.filter(citizen=citizen, status__in=active, ends_at__gt=now).count()
            >= MAX_ACTIVE_RESERVATIONS
        ):
            raise Conflict(_("You already hold three reservations."), code="too_many")
        reservation = Reservation.objects.create(
            municipality_id=space.municipality_id,
            space=space,
            citizen=citizen,
            starts_at=starts_at,
            ends_at=ends_at,
            plate=plate,
        )
        audit_record(
            municipality=space.municipality,
            action="parking.reservation.booked",
            actor=citizen,
            target=reservation,
        )
    return reservation


def reservation_cancel(*, reservation: Reservation, actor: Any) -> Reservation:
    """Cancel a reservation that has not been used yet."""
    with transaction.atomic():
        locked = Reservation.objects.select_for_update().get(pk=reservation.pk)
        if locked.status != Reservation.Status.BOOKED:
            raise Conflict(_("This reservation can no longer be cancelled."))
        locked.status = Reservation.Status.CANCELLED
        locked.save(update_fields=["status", "updated_at"])
        audit_record(
            municipality=locked.space.municipality,
            action="parking.reservation.cancelled",
            actor=actor,
            target=locked,
        )
    return locked


def reservation_check_in(
    *, space: Space, code: str = "", plate: str = "", now: datetime | None = None
) -> Reservation:
    """At arrival: the QR code or the number plate must match a booking of ``space``
    that is due now (from 15 minutes before its start to its end)."""
    now = now or timezone.now()
    if not code and not plate:
        raise ValidationFailed(_("Scan the code or enter the number plate."))
    with transaction.atomic():
        candidates = Reservation.objects.select_for_update().filter(
            space=space,
            status=Reservation.Status.BOOKED,
            starts_at__lte=now + timedelta(minutes=15),
            ends_at__gt=now,
        )
        if code:
            candidates = candidates.filter(code=code[:32])
        else:
            candidates = candidates.filter(plate=plate_normalise(plate))
        reservation = candidates.first()
        if reservation is None:
            raise PermissionDenied(
                _("No reservation for this space matches."), code="no_reservation"
            )
        reservation.status = Reservation.Status.CHECKED_IN
        reservation.checked_in_at = now
        reservation.save(update_fields=["status", "checked_in_at", "updated_at"])
    return reservation


def reservations_release(*, now: datetime | None = None) -> int:
    """Release bookings nobody arrived for within the grace period; returns how many."""
    now = now or timezone.now()
    released = 0
    due = Reservation.objects.select_related("municipality").filter(
        status=Reservation.Status.BOOKED, starts_at__lt=now
    )
    for reservation in due:
        grace = timedelta(
            minutes=municipal_setting(reservation.municipality, "parking.reservation_grace_minutes")
        )
        if reservation.starts_at + grace > now:
            continue
        with transaction.atomic():
            updated = Reservation.objects.filter(
                pk=reservation.pk, status=Reservation.Status.BOOKED
            ).update(status=Reservation.Status.RELEASED, updated_at=now)
            released += updated
    return released


# --- Configuration: guidance signs, event modes, DATEX II sources ---------------------------

#: Lines one sign may have (normal and event-mode lines together); a matrix display shows
#: three or four, a large board up to eight.
MAX_SIGN_LINES = 12


@dataclass(frozen=True)
class SignLineSpec:
    """One line of a sign as staff enter it: a site of the municipality, an arrow, a
    label instead of the site's name, and the event mode it belongs to (or none)."""

    site_id: int
    arrow: str = ""
    label: str = ""
    event_mode_id: int | None = None


def _config_save(
    target: Any, action: str, *, created: bool, actor: Any, data: dict[str, Any]
) -> None:
    """Validate and store a configuration object, audited as ``<action>.created`` or
    ``<action>.changed``."""
    full_clean_or_fail(target, exclude=["municipality"])
    with transaction.atomic():
        target.save()
        audit_record(
            municipality=target.municipality,
            action=f"{action}.created" if created else f"{action}.changed",
            actor=actor,
            target=target,
            data=data,
        )


def _config_delete(target: Any, action: str, *, actor: Any, data: dict[str, Any]) -> None:
    with transaction.atomic():
        audit_record(
            municipality=target.municipality, action=action, actor=actor, target=target, data=data
        )
        target.delete()


def sign_save(
    *,
    municipality: Municipality,
    sign: Sign | None,
    key: str,
    name: str,
    kind: str,
    location: str,
    lines: Sequence[SignLineSpec],
    actor: Any = None,
) -> Sign:
    """Create a sign (``sign`` None) or change one, and replace its lines; all or
    nothing. Sites and event modes must be the municipality's own; the key is unique per
    municipality, because sign controllers poll by it."""
    if sign is not None and sign.municipality_id != municipality.pk:
        raise PermissionDenied(_("This sign belongs to another municipality."))
    if len(lines) > MAX_SIGN_LINES:
        raise ValidationFailed(_("A sign has at most %(count)d lines.") % {"count": MAX_SIGN_LINES})
    sites = ParkingSite.objects.filter(
        municipality=municipality, pk__in={line.site_id for line in lines}
    ).in_bulk()
    modes = EventMode.objects.filter(
        municipality=municipality,
        pk__in={line.event_mode_id for line in lines if line.event_mode_id is not None},
    ).in_bulk()
    for number, line in enumerate(lines, start=1):
        where = _("Line %(number)d") % {"number": number}
        if line.site_id not in sites:
            raise ValidationFailed(_("%(line)s: unknown car park.") % {"line": where})
        if line.event_mode_id is not None and line.event_mode_id not in modes:
            raise ValidationFailed(_("%(line)s: unknown event mode.") % {"line": where})
        if line.arrow not in Arrow.values:
            raise ValidationFailed(_("%(line)s: unknown arrow.") % {"line": where})
        if len(line.label) > 24:
            raise ValidationFailed(
                _("%(line)s: the label has at most 24 characters.") % {"line": where}
            )
    created = sign is None
    target = sign or Sign(municipality=municipality)
    target.key = key.strip()
    target.name = name.strip()
    target.kind = kind
    target.location = location.strip()
    full_clean_or_fail(target, exclude=["municipality"])
    taken = Sign.objects.filter(municipality=municipality, key=target.key)
    if target.pk is not None:
        taken = taken.exclude(pk=target.pk)
    if taken.exists():
        raise ValidationFailed(
            fields={"key": [_("Another sign already uses the key %(key)s.") % {"key": target.key}]}
        )
    try:
        with transaction.atomic():
            target.save()
            SignLine.objects.filter(sign=target).delete()
            SignLine.objects.bulk_create(
                SignLine(
                    sign=target,
                    site=sites[line.site_id],
                    event_mode=modes.get(line.event_mode_id) if line.event_mode_id else None,
                    arrow=line.arrow,
                    label=line.label.strip(),
                    position=position,
                )
                for position, line in enumerate(lines)
            )
            audit_record(
                municipality=municipality,
                action="parking.sign.created" if created else "parking.sign.changed",
                actor=actor,
                target=target,
                data={"key": target.key, "lines": len(lines)},
            )
    except IntegrityError as error:  # a concurrent save took the key first
        if created:
            target.pk = None
        raise Conflict(
            _("Another sign already uses the key %(key)s.") % {"key": target.key}
        ) from error
    return target


def sign_delete(*, sign: Sign, actor: Any = None) -> None:
    _config_delete(sign, "parking.sign.deleted", actor=actor, data={"key": sign.key})


def event_mode_save(
    *,
    municipality: Municipality,
    mode: EventMode | None,
    name: str,
    starts_at: datetime,
    ends_at: datetime,
    message: str,
    actor: Any = None,
) -> EventMode:
    """Create or change an event mode. While it runs, its lines replace the normal lines
    of the signs that have some, and its message is shown."""
    if mode is not None and mode.municipality_id != municipality.pk:
        raise PermissionDenied(_("This event mode belongs to another municipality."))
    if ends_at <= starts_at:
        raise ValidationFailed(fields={"ends_at": [_("The end must be after the start.")]})
    created = mode is None
    target = mode or EventMode(municipality=municipality)
    target.name = name.strip()
    target.starts_at = starts_at
    target.ends_at = ends_at
    target.message = message.strip()
    _config_save(
        target,
        "parking.event_mode",
        created=created,
        actor=actor,
        data={"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()},
    )
    return target


def event_mode_delete(*, mode: EventMode, actor: Any = None) -> None:
    """Delete an event mode and its sign lines (the signs' normal lines stay)."""
    _config_delete(mode, "parking.event_mode.deleted", actor=actor, data={"name": mode.name})


def datex_source_save(
    *,
    municipality: Municipality,
    source: DatexSource | None,
    name: str,
    url: str,
    every_minutes: int,
    is_active: bool,
    actor: Any = None,
) -> DatexSource:
    """Create or change a DATEX II source to pull. Only http(s) addresses."""
    if source is not None and source.municipality_id != municipality.pk:
        raise PermissionDenied(_("This source belongs to another municipality."))
    if not url.lower().startswith(("https://", "http://")):
        raise ValidationFailed(fields={"url": [_("Enter an http or https address.")]})
    if not 1 <= every_minutes <= 1440:
        raise ValidationFailed(fields={"every_minutes": [_("Between 1 and 1440 minutes (a day).")]})
    created = source is None
    target = source or DatexSource(municipality=municipality)
    changed_url = target.url != url
    target.name = name.strip()
    target.url = url.strip()
    target.every_minutes = every_minutes
    target.is_active = is_active
    if changed_url:
        # the last error was about the old address
        target.last_error = ""
    _config_save(
        target,
        "parking.datex_source",
        created=created,
        actor=actor,
        data={"url": target.url, "every_minutes": every_minutes, "active": is_active},
    )
    return target


def datex_source_delete(*, source: DatexSource, actor: Any = None) -> None:
    _config_delete(source, "parking.datex_source.deleted", actor=actor, data={"url": source.url})
