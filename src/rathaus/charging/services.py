"""Every write of the charging module.

The OCPP central system (``rathaus.charging.ocpp.server``) calls the ``station_*``,
``transaction_*`` and ``meter_samples_store`` services from its bounded database thread
pool; the web pages call the operator services. All are synchronous Django code.
"""

import hashlib
import hmac
import logging
import secrets
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from rathaus.audit.services import audit_record
from rathaus.charging.models import (
    ChargingSession,
    Command,
    Connector,
    ConnectorStatus,
    MeterSample,
    OcppVersion,
    Reservation,
    Site,
    SiteLimitWindow,
    Station,
    StationEvent,
    Token,
)
from rathaus.charging.selectors import site_effective_limit, team_for_site
from rathaus.core.errors import Conflict, ValidationFailed
from rathaus.notifications.services import notify

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- credentials


def password_hash(secret: str) -> str:
    """Salted SHA-256 of a station secret (see the field's comment on ``Station``)."""
    salt = secrets.token_hex(8)
    digest = hashlib.sha256(f"{salt}${secret}".encode()).hexdigest()
    return f"sha256${salt}${digest}"


def password_check(secret: str, stored: str) -> bool:
    """Whether ``secret`` matches ``stored``; constant time, never raises."""
    try:
        scheme, salt, digest = stored.split("$", 2)
    except ValueError:
        return False
    if scheme != "sha256":
        return False
    candidate = hashlib.sha256(f"{salt}${secret}".encode()).hexdigest()
    return hmac.compare_digest(candidate, digest)


def station_password_rotate(*, station: Station, actor: Any = None) -> str:
    """Give ``station`` a new random secret; returns it once (only its hash is kept)."""
    secret = secrets.token_urlsafe(24)
    with transaction.atomic():
        Station.objects.filter(pk=station.pk).update(password_hash=password_hash(secret))
        audit_record(
            municipality=station.municipality,
            action="charging.station.password_rotated",
            actor=actor,
            target=station,
        )
    station.password_hash = password_hash(secret)
    return secret


# --------------------------------------------------------------------------- events, alerts


def station_event_log(
    *, station_id: int, municipality_id: int, kind: str, code: str, detail: str = ""
) -> None:
    """Log a reason (anomaly, fault, protocol error) for the operators; never raises."""
    logger.warning(
        "station event", extra={"station": station_id, "kind": kind, "code": code, "detail": detail}
    )
    StationEvent.objects.create(
        station_id=station_id,
        municipality_id=municipality_id,
        kind=kind,
        code=code[:60],
        detail=detail[:500],
    )


def station_alert(*, station: Station, reason: str, key: str, detail: str = "") -> int:
    """Tell the site's responsible team about ``station`` (e-mail and in-app), once per key."""
    recipients = team_for_site(site=station.site)
    for user in recipients:
        notify(
            recipient=user,
            event="charging.station_alert",
            key=f"{station.pk}:{key}",
            template="charging_station_alert",
            context={
                "station": station.name,
                "identity": station.identity,
                "site": station.site.name,
                "reason": reason,
                "detail": detail,
            },
            url=f"/verwaltung/laden/stationen/{station.pk}/",
        )
    return len(recipients)


# --------------------------------------------------------------------------- connection state


def station_connected(*, station_id: int, ocpp_version: str) -> None:
    """The station opened a websocket with ``ocpp_version``."""
    now = timezone.now()
    Station.objects.filter(pk=station_id).update(
        is_online=True, last_seen_at=now, ocpp_version=ocpp_version, silent_alert_sent_at=None
    )


def station_disconnected(*, station_id: int) -> None:
    """The station's websocket closed."""
    Station.objects.filter(pk=station_id).update(is_online=False)


def stations_all_offline() -> None:
    """At start of the central system nobody is connected yet."""
    Station.objects.filter(is_online=True).update(is_online=False)


def stations_seen(*, station_ids: Iterable[int], at: datetime) -> None:
    """Batch update of ``last_seen_at`` (heartbeats and any other message)."""
    ids = list(station_ids)
    if ids:
        Station.objects.filter(pk__in=ids).update(last_seen_at=at)


def station_boot(
    *,
    station_id: int,
    vendor: str,
    model: str,
    serial_number: str = "",
    firmware_version: str = "",
) -> None:
    """Record what a BootNotification told about the station."""
    Station.objects.filter(pk=station_id).update(
        vendor=vendor[:50],
        model=model[:50],
        serial_number=(serial_number or "")[:50],
        firmware_version=(firmware_version or "")[:50],
        booted_at=timezone.now(),
    )


# OCPP 1.6 and 2.0.1 connector states mapped to the public availability.
_STATUS_MAP = {
    "Available": ConnectorStatus.AVAILABLE,
    "Preparing": ConnectorStatus.OCCUPIED,
    "Charging": ConnectorStatus.CHARGING,
    "SuspendedEV": ConnectorStatus.OCCUPIED,
    "SuspendedEVSE": ConnectorStatus.OCCUPIED,
    "Finishing": ConnectorStatus.OCCUPIED,
    "Occupied": ConnectorStatus.OCCUPIED,
    "Reserved": ConnectorStatus.RESERVED,
    "Unavailable": ConnectorStatus.UNAVAILABLE,
    "Faulted": ConnectorStatus.FAULTED,
}
# Connector states that mean the car is plugged in but no longer draws energy.
_IDLE_STATES = {"SuspendedEV", "Finishing"}


def connector_status_record(
    *,
    station_id: int,
    connector_id: int,
    ocpp_status: str,
    error_code: str = "",
    info: str = "",
    at: datetime | None = None,
) -> None:
    """A StatusNotification: update the connector's live state; faults alert the team.

    Connector 0 (the whole station in 1.6) only logs faults. A station whose connectors
    were not configured gets them created on first report, with default plug and power.
    """
    at = at or timezone.now()
    station = Station.objects.select_related("site").get(pk=station_id)
    faulted = ocpp_status == "Faulted" or error_code not in ("", "NoError")
    if faulted:
        station_event_log(
            station_id=station.pk,
            municipality_id=station.municipality_id,
            kind=StationEvent.Kind.FAULT,
            code=error_code or "Faulted",
            detail=f"connector {connector_id}: {info}"[:500],
        )
        transaction.on_commit(
            lambda: station_alert(
                station=station,
                reason=_("fault"),
                key=f"fault:{connector_id}:{error_code}:{at:%Y%m%d%H}",
                detail=f"{error_code} {info}".strip(),
            )
        )
    if connector_id == 0:
        return
    status = _STATUS_MAP.get(ocpp_status, ConnectorStatus.UNKNOWN)
    connector, _created = Connector.objects.get_or_create(
        station_id=station.pk,
        connector_id=connector_id,
        defaults={"municipality_id": station.municipality_id, "max_power_w": station.max_power_w},
    )
    # A late (replayed) notification must not overwrite a newer state.
    if connector.status_at and at < connector.status_at:
        return
    connector.status = status
    connector.ocpp_status = ocpp_status[:30]
    connector.error_code = "" if error_code == "NoError" else error_code[:50]
    connector.status_at = at
    connector.save(update_fields=["status", "ocpp_status", "error_code", "status_at", "updated_at"])
    if ocpp_status in _IDLE_STATES:
        ChargingSession.objects.filter(
            station_id=station.pk,
            connector_id=connector_id,
            status=ChargingSession.Status.RUNNING,
            charging_ended_at__isnull=True,
        ).update(charging_ended_at=at)
    elif ocpp_status == "Charging":
        ChargingSession.objects.filter(
            station_id=station.pk, connector_id=connector_id, status=ChargingSession.Status.RUNNING
        ).update(charging_ended_at=None)


def connector_statuses_store(*, statuses: dict[tuple[int, int], tuple[str, datetime]]) -> int:
    """Batch of ordinary (non-fault) StatusNotifications: ``(station, connector) ->
    (OCPP status, time)``; a status older than the stored one is ignored. Returns how
    many connectors changed."""
    station_ids = {station_id for station_id, _connector in statuses}
    connectors = {
        (c.station_id, c.connector_id): c
        for c in Connector.objects.filter(station_id__in=station_ids)
    }
    changed: list[Connector] = []
    idle: list[tuple[int, int, datetime]] = []
    charging: list[tuple[int, int]] = []
    for (station_id, connector_id), (ocpp_status, at) in statuses.items():
        connector = connectors.get((station_id, connector_id))
        if connector is None:
            # Not configured: created with defaults on first report, like the single path.
            connector_status_record(
                station_id=station_id, connector_id=connector_id, ocpp_status=ocpp_status, at=at
            )
            continue
        if connector.status_at and at < connector.status_at:
            continue
        connector.status = _STATUS_MAP.get(ocpp_status, ConnectorStatus.UNKNOWN)
        connector.ocpp_status = ocpp_status[:30]
        connector.error_code = ""
        connector.status_at = at
        changed.append(connector)
        if ocpp_status in _IDLE_STATES:
            idle.append((station_id, connector_id, at))
        elif ocpp_status == "Charging":
            charging.append((station_id, connector_id))
    with transaction.atomic():
        # Row by row, not ``bulk_update``: see ``meter_samples_store``.
        for connector in changed:
            Connector.objects.filter(pk=connector.pk).update(
                status=connector.status,
                ocpp_status=connector.ocpp_status,
                error_code=connector.error_code,
                status_at=connector.status_at,
            )
        running = ChargingSession.objects.filter(status=ChargingSession.Status.RUNNING)
        for station_id, connector_id, at in idle:
            running.filter(
                station_id=station_id, connector_id=connector_id, charging_ended_at__isnull=True
            ).update(charging_ended_at=at)
        for station_id, connector_id in charging:
            running.filter(
                station_id=station_id, connector_id=connector_id, charging_ended_at__isnull=False
            ).update(charging_ended_at=None)
    return len(changed)


# --------------------------------------------------------------------------- authorization


def token_authorize(*, municipality_id: int, id_tag: str, at: datetime | None = None) -> str:
    """OCPP authorization status of ``id_tag``: Accepted, Blocked, Expired or Invalid."""
    token = Token.objects.filter(municipality_id=municipality_id, uid=id_tag).first()
    if token is None:
        return "Invalid"
    if not token.is_active:
        return "Blocked"
    if token.valid_until and token.valid_until < (at or timezone.now()):
        return "Expired"
    return "Accepted"


# --------------------------------------------------------------------------- transactions


@dataclass(frozen=True)
class StartResult:
    transaction_id: int
    status: str
    session_id: int


def _station_for_update(station_id: int) -> Station:
    return Station.objects.select_related("site", "tariff").get(pk=station_id)


def _session_open(
    *,
    station: Station,
    connector_id: int,
    id_tag: str,
    transaction_ref: str,
    start_key: str,
    started_at: datetime,
    meter_start_wh: int,
    version: str,
) -> ChargingSession:
    token = Token.objects.filter(municipality_id=station.municipality_id, uid=id_tag).first()
    # A running session still open on the same connector means the station lost its stop
    # (or we never got it): close it with a logged reason instead of keeping two open.
    stale = ChargingSession.objects.filter(
        station=station, connector_id=connector_id, status=ChargingSession.Status.RUNNING
    ).exclude(transaction_ref=transaction_ref)
    for old in stale:
        station_event_log(
            station_id=station.pk,
            municipality_id=station.municipality_id,
            kind=StationEvent.Kind.ANOMALY,
            code="session_superseded",
            detail=f"transaction {old.transaction_ref} had no stop before {transaction_ref}",
        )
        _session_close(session=old, stopped_at=started_at, meter_stop_wh=None, reason="Superseded")
    return ChargingSession.objects.create(
        municipality_id=station.municipality_id,
        station=station,
        connector_id=connector_id,
        transaction_ref=transaction_ref,
        start_key=start_key,
        token=token,
        id_tag=id_tag,
        user_kind=token.kind if token else "",
        ocpp_version=version,
        started_at=started_at,
        meter_start_wh=meter_start_wh,
        meter_last_wh=meter_start_wh,
        meter_last_at=started_at,
        tariff_snapshot=station.tariff.snapshot() if station.tariff else {},
    )


def transaction_start_v16(
    *,
    station_id: int,
    connector_id: int,
    id_tag: str,
    meter_start: int,
    timestamp: datetime,
    reservation_id: int | None = None,
) -> StartResult:
    """A 1.6 StartTransaction; a repeated or replayed one gets the same transaction id.

    The start is recognised by connector, token, meter value and time (``start_key``):
    a station that did not receive our answer sends the identical message again.
    """
    start_key = f"{connector_id}|{id_tag}|{meter_start}|{timestamp.isoformat()}"
    station = _station_for_update(station_id)
    status = token_authorize(municipality_id=station.municipality_id, id_tag=id_tag, at=timestamp)
    existing = ChargingSession.objects.filter(station=station, start_key=start_key).first()
    if existing is not None:
        station_event_log(
            station_id=station.pk,
            municipality_id=station.municipality_id,
            kind=StationEvent.Kind.ANOMALY,
            code="start_repeated",
            detail=f"StartTransaction repeated, answered with {existing.transaction_ref}",
        )
        return StartResult(int(existing.transaction_ref), status, existing.pk)
    try:
        with transaction.atomic():
            session = _session_open(
                station=station,
                connector_id=connector_id,
                id_tag=id_tag,
                transaction_ref=f"new-{secrets.token_hex(8)}",
                start_key=start_key,
                started_at=timestamp,
                meter_start_wh=meter_start,
                version=OcppVersion.V16,
            )
            session.transaction_ref = str(session.pk)
            session.save(update_fields=["transaction_ref"])
            if reservation_id:
                Reservation.objects.filter(station=station, pk=reservation_id).update(
                    status=Reservation.Status.CANCELLED
                )
            transaction.on_commit(lambda: site_load_recalculate(site_id=station.site_id))
    except IntegrityError:
        # The same start arrived twice at once (two connections of one station).
        existing = ChargingSession.objects.get(station=station, start_key=start_key)
        return StartResult(int(existing.transaction_ref), status, existing.pk)
    return StartResult(session.pk, status, session.pk)


def _session_cost(session: ChargingSession) -> None:
    tariff = session.tariff_snapshot or {}
    if session.stopped_at is None:
        return
    energy_kwh = session.energy_wh / 1000
    duration_h = (session.stopped_at - session.started_at).total_seconds() / 3600
    session.cost_energy_ct = round(energy_kwh * int(tariff.get("energy_ct_per_kwh", 0)))
    session.cost_time_ct = round(max(0.0, duration_h) * int(tariff.get("time_ct_per_hour", 0)))
    blocking = 0
    if session.charging_ended_at and session.charging_ended_at < session.stopped_at:
        idle_min = (session.stopped_at - session.charging_ended_at).total_seconds() / 60
        billable = max(0.0, idle_min - int(tariff.get("blocking_grace_minutes", 0)))
        blocking = round(billable * int(tariff.get("blocking_ct_per_minute", 0)))
        cap = int(tariff.get("blocking_cap_ct", 0))
        if cap:
            blocking = min(blocking, cap)
    session.cost_blocking_ct = blocking
    session.cost_total_ct = session.cost_energy_ct + session.cost_time_ct + blocking


def _session_close(
    *, session: ChargingSession, stopped_at: datetime, meter_stop_wh: int | None, reason: str
) -> None:
    if meter_stop_wh is not None:
        if meter_stop_wh < session.meter_last_wh:
            station_event_log(
                station_id=session.station_id,
                municipality_id=session.municipality_id,
                kind=StationEvent.Kind.ANOMALY,
                code="meter_backwards",
                detail=(
                    f"transaction {session.transaction_ref}: stop value {meter_stop_wh} Wh "
                    f"below last reading {session.meter_last_wh} Wh; last reading kept"
                ),
            )
        else:
            session.meter_last_wh = meter_stop_wh
            session.meter_last_at = stopped_at
    session.stopped_at = max(stopped_at, session.started_at)
    session.status = ChargingSession.Status.FINISHED
    session.stop_reason = (reason or "Local")[:40]
    session.power_w = 0
    _session_cost(session)
    session.save()


def transaction_stop_v16(
    *,
    station_id: int,
    transaction_id: int,
    meter_stop: int,
    timestamp: datetime,
    reason: str = "",
) -> None:
    """A 1.6 StopTransaction; unknown or already stopped transactions are logged, not fatal."""
    station = _station_for_update(station_id)
    with transaction.atomic():
        session = (
            ChargingSession.objects.select_for_update()
            .filter(station=station, transaction_ref=str(transaction_id))
            .first()
        )
        if session is None:
            station_event_log(
                station_id=station.pk,
                municipality_id=station.municipality_id,
                kind=StationEvent.Kind.ANOMALY,
                code="stop_unknown_transaction",
                detail=f"StopTransaction for unknown transaction {transaction_id}",
            )
            return
        if session.status == ChargingSession.Status.FINISHED:
            station_event_log(
                station_id=station.pk,
                municipality_id=station.municipality_id,
                kind=StationEvent.Kind.ANOMALY,
                code="stop_repeated",
                detail=f"transaction {transaction_id} was already stopped",
            )
            return
        _session_close(
            session=session, stopped_at=timestamp, meter_stop_wh=meter_stop, reason=reason
        )
        transaction.on_commit(lambda: site_load_recalculate(site_id=station.site_id))


@dataclass(frozen=True)
class EventResult:
    id_token_status: str | None
    session_id: int | None


def transaction_event_v201(
    *,
    station_id: int,
    event_type: str,
    timestamp: datetime,
    seq_no: int,
    transaction_id: str,
    trigger_reason: str,
    evse_id: int | None,
    id_token: str | None,
    charging_state: str | None = None,
    stopped_reason: str | None = None,
    meter_wh: int | None = None,
) -> EventResult:
    """A 2.0.1 TransactionEvent (Started, Updated, Ended), matched by transaction id.

    Repeated sequence numbers (a replay of a message we already have) are ignored with a
    logged reason; an Ended event without Started opens and closes the session, so an
    offline station's whole transaction is recorded once. Meter values of the event are
    stored by the caller through ``meter_samples_store``.
    """
    station = _station_for_update(station_id)
    status = (
        token_authorize(municipality_id=station.municipality_id, id_tag=id_token, at=timestamp)
        if id_token
        else None
    )
    recalculate = False
    with transaction.atomic():
        session = (
            ChargingSession.objects.select_for_update()
            .filter(station=station, transaction_ref=transaction_id)
            .first()
        )
        if (
            session is not None
            and session.last_seq_no is not None
            and seq_no <= session.last_seq_no
            and event_type != "Ended"
        ):
            station_event_log(
                station_id=station.pk,
                municipality_id=station.municipality_id,
                kind=StationEvent.Kind.ANOMALY,
                code="event_repeated",
                detail=f"transaction {transaction_id}: seqNo {seq_no} already received",
            )
            return EventResult(status, session.pk)
        if event_type == "Started" and session is not None:
            if session.started_at != timestamp:
                station_event_log(
                    station_id=station.pk,
                    municipality_id=station.municipality_id,
                    kind=StationEvent.Kind.ANOMALY,
                    code="duplicate_transaction_id",
                    detail=f"a second Started for transaction {transaction_id}; ignored",
                )
            return EventResult(status, session.pk)
        if session is None:
            if event_type == "Updated" and evse_id is None:
                station_event_log(
                    station_id=station.pk,
                    municipality_id=station.municipality_id,
                    kind=StationEvent.Kind.ANOMALY,
                    code="event_unknown_transaction",
                    detail=f"{event_type} for unknown transaction {transaction_id}",
                )
                return EventResult(status, None)
            session = _session_open(
                station=station,
                connector_id=evse_id or 1,
                id_tag=id_token or "",
                transaction_ref=transaction_id,
                start_key="",
                started_at=timestamp,
                meter_start_wh=meter_wh or 0,
                version=OcppVersion.V201,
            )
            recalculate = True
        elif id_token and not session.id_tag:
            # Authorised after plug-in: the token arrives with an Updated event.
            session.id_tag = id_token
            session.token = Token.objects.filter(
                municipality_id=station.municipality_id, uid=id_token
            ).first()
            session.user_kind = session.token.kind if session.token else ""
        session.last_seq_no = max(seq_no, session.last_seq_no or -1)
        if charging_state in ("SuspendedEV", "EVConnected", "Idle") and not (
            session.charging_ended_at
        ):
            session.charging_ended_at = timestamp
        elif charging_state == "Charging":
            session.charging_ended_at = None
        if event_type == "Ended":
            if session.status == ChargingSession.Status.FINISHED:
                station_event_log(
                    station_id=station.pk,
                    municipality_id=station.municipality_id,
                    kind=StationEvent.Kind.ANOMALY,
                    code="stop_repeated",
                    detail=f"transaction {transaction_id} was already ended",
                )
                return EventResult(status, session.pk)
            _session_close(
                session=session,
                stopped_at=timestamp,
                meter_stop_wh=meter_wh,
                reason=stopped_reason or trigger_reason,
            )
            recalculate = True
        else:
            session.save()
            if charging_state:
                # 2.0.1 has no "Charging" connector status; the transaction tells it.
                Connector.objects.filter(
                    station=station, connector_id=session.connector_id
                ).exclude(status=ConnectorStatus.FAULTED).update(
                    status=ConnectorStatus.CHARGING
                    if charging_state == "Charging"
                    else ConnectorStatus.OCCUPIED,
                    ocpp_status=charging_state[:30],
                    status_at=timestamp,
                )
        if recalculate:
            transaction.on_commit(lambda: site_load_recalculate(site_id=station.site_id))
    return EventResult(status, session.pk)


@dataclass(frozen=True)
class SampleIn:
    station_id: int
    transaction_ref: str
    timestamp: datetime
    energy_wh: int | None
    power_w: int | None = None
    soc_percent: int | None = None


def meter_samples_store(*, samples: Sequence[SampleIn]) -> int:
    """Store a batch of meter readings; returns how many were kept.

    Readings of unknown transactions and readings whose energy goes backwards against a
    newer-or-equal earlier reading are dropped with a logged reason; a replayed reading
    (same session and time) is stored once.
    """
    if not samples:
        return 0
    keys = {(s.station_id, s.transaction_ref) for s in samples}
    station_ids = {k[0] for k in keys}
    refs = {k[1] for k in keys}
    sessions = {
        (s.station_id, s.transaction_ref): s
        for s in ChargingSession.objects.filter(
            station_id__in=station_ids, transaction_ref__in=refs
        )
    }
    rows: list[MeterSample] = []
    changed: dict[int, ChargingSession] = {}
    unknown: dict[tuple[int, str], int] = defaultdict(int)
    for sample in sorted(samples, key=lambda s: s.timestamp):
        session = sessions.get((sample.station_id, sample.transaction_ref))
        if session is None:
            unknown[(sample.station_id, sample.transaction_ref)] += 1
            continue
        if sample.energy_wh is None:
            continue
        last_at = session.meter_last_at or session.started_at
        if sample.timestamp >= last_at:
            if sample.energy_wh < session.meter_last_wh:
                station_event_log(
                    station_id=session.station_id,
                    municipality_id=session.municipality_id,
                    kind=StationEvent.Kind.ANOMALY,
                    code="meter_backwards",
                    detail=(
                        f"transaction {session.transaction_ref}: {sample.energy_wh} Wh at "
                        f"{sample.timestamp.isoformat()} below {session.meter_last_wh} Wh; dropped"
                    ),
                )
                continue
            if session.status == ChargingSession.Status.RUNNING:
                session.meter_last_wh = sample.energy_wh
                session.meter_last_at = sample.timestamp
                session.power_w = sample.power_w
                if sample.soc_percent is not None:
                    session.soc_percent = sample.soc_percent
                changed[session.pk] = session
        rows.append(
            MeterSample(
                session_id=session.pk,
                timestamp=sample.timestamp,
                energy_wh=sample.energy_wh,
                power_w=sample.power_w,
                soc_percent=sample.soc_percent,
            )
        )
    municipality_of = dict(
        Station.objects.filter(pk__in={k[0] for k in unknown}).values_list("pk", "municipality_id")
    )
    for (station_id, ref), count in unknown.items():
        if station_id in municipality_of:
            station_event_log(
                station_id=station_id,
                municipality_id=municipality_of[station_id],
                kind=StationEvent.Kind.ANOMALY,
                code="meter_unknown_transaction",
                detail=f"{count} meter value(s) for unknown transaction {ref}",
            )
    with transaction.atomic():
        MeterSample.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
        # One small UPDATE per session rather than ``bulk_update``: its CASE WHEN per row
        # and field costs twice the Python, in one piece, and the central system's event
        # loop waits for the GIL meanwhile; here the lock is released at every query.
        for session in changed.values():
            ChargingSession.objects.filter(pk=session.pk).update(
                meter_last_wh=session.meter_last_wh,
                meter_last_at=session.meter_last_at,
                power_w=session.power_w,
                soc_percent=session.soc_percent,
            )
    return len(rows)


# --------------------------------------------------------------------------- load management


def fair_shares(*, limit_w: int, caps: dict[int, int]) -> dict[int, int]:
    """Share ``limit_w`` equally among stations, none above its cap, leftovers redistributed.

    Water-filling: stations with the smallest caps are served first; what they cannot use
    goes to the rest. The sum never exceeds ``limit_w``.
    """
    shares: dict[int, int] = {}
    remaining = max(0, limit_w)
    ordered = sorted(caps.items(), key=lambda item: (item[1], item[0]))
    for index, (station_id, cap) in enumerate(ordered):
        left = len(ordered) - index
        share = min(cap, remaining // left)
        shares[station_id] = share
        remaining -= share
    return shares


def site_load_recalculate(*, site_id: int, at: datetime | None = None) -> dict[int, int]:
    """Recompute the site's charging limits and queue SetChargingProfile where they change.

    Stations with a running session share the site's current limit (``fair_shares``);
    each gets a station-wide maximum profile. Returns the allocation.
    """
    at = at or timezone.now()
    with transaction.atomic():
        site = Site.objects.select_for_update().get(pk=site_id)
        limit = site_effective_limit(site=site, at=at)
        active = {
            row["station_id"]: row["station__max_power_w"]
            for row in ChargingSession.objects.filter(
                station__site=site, status=ChargingSession.Status.RUNNING
            ).values("station_id", "station__max_power_w")
        }
        shares = fair_shares(limit_w=limit, caps=active)
        stations = {s.pk: s for s in Station.objects.filter(pk__in=list(shares))}
        for station_id, share in shares.items():
            station = stations[station_id]
            if station.allocated_w == share or (
                station.allocated_w is None and share >= station.max_power_w
            ):
                # Unchanged, or never limited and still free to use its full power: a
                # profile would change nothing.
                continue
            # An older profile not yet sent is superseded by this one.
            Command.objects.filter(
                station=station,
                action="set_charging_profile",
                source=Command.Source.LOAD,
                status=Command.Status.PENDING,
            ).update(status=Command.Status.EXPIRED, done_at=at, error="superseded")
            Command.objects.create(
                municipality_id=station.municipality_id,
                station=station,
                action="set_charging_profile",
                source=Command.Source.LOAD,
                params={"limit_w": share},
            )
            station.allocated_w = share
            station.save(update_fields=["allocated_w", "updated_at"])
        if site.applied_limit_w != limit:
            site.applied_limit_w = limit
            site.save(update_fields=["applied_limit_w", "updated_at"])
    return shares


def site_limits_apply(*, at: datetime | None = None) -> int:
    """Recalculate sites whose effective limit changed (a limit window began or ended)."""
    at = at or timezone.now()
    count = 0
    for site in Site.objects.all():
        if site_effective_limit(site=site, at=at) != site.applied_limit_w:
            site_load_recalculate(site_id=site.pk, at=at)
            count += 1
    return count


def site_limit_window_add(
    *, site: Site, start_time: time, end_time: time, limit_w: int, actor: Any = None
) -> SiteLimitWindow:
    """Add a daily limit window to ``site`` and apply it if it is in force now."""
    if start_time == end_time:
        raise ValidationFailed(fields={"end_time": [_("The window must not be empty.")]})
    with transaction.atomic():
        window = SiteLimitWindow.objects.create(
            municipality_id=site.municipality_id,
            site=site,
            start_time=start_time,
            end_time=end_time,
            limit_w=limit_w,
        )
        audit_record(
            municipality=site.municipality,
            action="charging.site.limit_window_added",
            actor=actor,
            target=site,
            data={"start": str(start_time), "end": str(end_time), "limit_w": limit_w},
        )
        transaction.on_commit(lambda: site_load_recalculate(site_id=site.pk))
    return window


def site_limit_update(*, site: Site, grid_limit_w: int, actor: Any = None) -> Site:
    """Change the site's grid connection limit and recalculate its stations."""
    if grid_limit_w < 1000 or grid_limit_w > 10_000_000:
        raise ValidationFailed(
            fields={"grid_limit_w": [_("Enter a limit between 1000 W and 10 MW.")]}
        )
    with transaction.atomic():
        old = site.grid_limit_w
        Site.objects.filter(pk=site.pk).update(grid_limit_w=grid_limit_w)
        site.grid_limit_w = grid_limit_w
        audit_record(
            municipality=site.municipality,
            action="charging.site.limit_changed",
            actor=actor,
            target=site,
            data={"old": old, "new": grid_limit_w},
        )
        transaction.on_commit(lambda: site_load_recalculate(site_id=site.pk))
    return site


# --------------------------------------------------------------------------- commands

# Operator commands and the parameters each accepts (validated here, translated for the
# station's OCPP version by the central system).
COMMAND_ACTIONS = {
    "remote_start": {"connector_id", "id_tag"},
    "remote_stop": {"transaction_ref"},
    "reset": {"kind"},
    "unlock": {"connector_id"},
    "get_configuration": {"key"},
    "change_configuration": {"key", "value"},
    "trigger_message": {"message", "connector_id"},
    "update_firmware": {"location"},
    "get_diagnostics": {"location"},
    "reserve": {"connector_id", "id_tag", "minutes"},
    "cancel_reservation": {"reservation_id"},
    "set_charging_profile": {"limit_w"},
}
TRIGGER_MESSAGES = {"BootNotification", "Heartbeat", "StatusNotification", "MeterValues"}


def _command_params_clean(action: str, params: dict[str, Any], station: Station) -> dict[str, Any]:
    allowed = COMMAND_ACTIONS.get(action)
    if allowed is None:
        raise ValidationFailed(fields={"action": [_("Unknown command.")]})
    clean = {k: v for k, v in params.items() if k in allowed and v not in (None, "")}
    errors: dict[str, list[str]] = {}
    for key in ("connector_id", "minutes", "limit_w", "reservation_id"):
        if key in clean:
            try:
                clean[key] = int(clean[key])
            except (TypeError, ValueError):
                errors[key] = [_("Enter a whole number.")]
                continue
            if clean[key] < 0 or clean[key] > 10_000_000:
                errors[key] = [_("The number is out of range.")]
    for key in ("id_tag", "key", "value", "location", "transaction_ref"):
        if key in clean and (not isinstance(clean[key], str) or len(clean[key]) > 500):
            errors[key] = [_("Enter a shorter text.")]
    if action in ("remote_start", "reserve") and not clean.get("id_tag"):
        errors["id_tag"] = [_("Enter a token.")]
    if action in ("remote_start", "unlock", "reserve") and not clean.get("connector_id"):
        errors["connector_id"] = [_("Choose a connector.")]
    if (
        clean.get("connector_id")
        and not errors.get("connector_id")
        and not station.connectors.filter(connector_id=clean["connector_id"]).exists()
    ):
        errors["connector_id"] = [_("This station has no such connector.")]
    if action == "remote_stop":
        ref = clean.get("transaction_ref")
        if (
            not ref
            or not station.sessions.filter(
                transaction_ref=ref, status=ChargingSession.Status.RUNNING
            ).exists()
        ):
            errors["transaction_ref"] = [_("No such session is running at this station.")]
    if action == "reset" and clean.get("kind", "Soft") not in ("Soft", "Hard"):
        errors["kind"] = [_("Choose soft or hard.")]
    if action == "change_configuration" and not clean.get("key"):
        errors["key"] = [_("Enter a key.")]
    if action == "trigger_message" and clean.get("message") not in TRIGGER_MESSAGES:
        errors["message"] = [_("Choose a message.")]
    if action in ("update_firmware", "get_diagnostics"):
        location = str(clean.get("location", ""))
        if not location.startswith(("https://", "ftp://", "ftps://", "http://")):
            errors["location"] = [_("Enter an address (https or ftp).")]
    if action == "reserve" and not 1 <= clean.get("minutes", 15) <= 24 * 60:
        errors["minutes"] = [_("Reserve for 1 minute up to 24 hours.")]
    if errors:
        raise ValidationFailed(fields=errors)
    return clean


def command_request(
    *, station: Station, action: str, params: dict[str, Any], actor: Any = None
) -> Command:
    """Queue an operator command for ``station``; the central system sends it (ADR 0023)."""
    clean = _command_params_clean(action, params, station)
    with transaction.atomic():
        if action == "reserve":
            reservation = Reservation.objects.create(
                municipality_id=station.municipality_id,
                station=station,
                connector_id=clean["connector_id"],
                id_tag=clean["id_tag"],
                expires_at=timezone.now() + timedelta(minutes=clean.get("minutes", 15)),
            )
            clean["reservation_id"] = reservation.pk
            clean["expires_at"] = reservation.expires_at.isoformat()
        if action == "remote_start":
            # An app user starting at the station without an RFID card is an ad-hoc user.
            Token.objects.get_or_create(
                municipality_id=station.municipality_id,
                uid=clean["id_tag"],
                defaults={"kind": Token.Kind.ADHOC},
            )
        command = Command.objects.create(
            municipality_id=station.municipality_id,
            station=station,
            action=action,
            params=clean,
            requested_by=actor if getattr(actor, "pk", None) else None,
        )
        audit_record(
            municipality=station.municipality,
            action=f"charging.command.{action}",
            actor=actor,
            target=station,
            data={"command": command.pk, "params": clean},
        )
    return command


@dataclass(frozen=True)
class CommandOut:
    id: int
    station_id: int
    action: str
    params: dict[str, Any]


def commands_claim(*, station_ids: Iterable[int], limit: int = 500) -> list[CommandOut]:
    """Pending commands of connected stations, marked as sent (each is sent once)."""
    connected = set(station_ids)
    if not connected:
        return []
    # The cheap check first, on the queue index and without the connected stations as
    # parameters: with thousands connected, an IN list of all of them cost the central
    # system tens of milliseconds of Python per poll (time the event loop then waited
    # for the GIL). Pending commands are few; intersect them here.
    pending = set(
        Command.objects.filter(status=Command.Status.PENDING)
        .values_list("station_id", flat=True)
        .distinct()
    )
    ids = pending & connected
    if not ids:
        return []
    now = timezone.now()
    claimed: list[CommandOut] = []
    with transaction.atomic():
        rows = Command.objects.filter(status=Command.Status.PENDING, station_id__in=ids).order_by(
            "pk"
        )
        if transaction.get_connection().features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        for command in rows[:limit]:
            if command.station_id not in ids:
                continue
            claimed.append(
                CommandOut(command.pk, command.station_id, command.action, command.params)
            )
        Command.objects.filter(pk__in=[c.id for c in claimed]).update(
            status=Command.Status.SENT, sent_at=now
        )
    return claimed


def commands_expire(*, older_than: timedelta = timedelta(minutes=10)) -> int:
    """Commands for stations that stayed offline are given up (the operator sees it)."""
    cutoff = timezone.now() - older_than
    return Command.objects.filter(status=Command.Status.PENDING, created_at__lt=cutoff).update(
        status=Command.Status.EXPIRED, done_at=timezone.now(), error="station offline"
    )


def command_result_record(
    *, command_id: int, accepted: bool, response: dict[str, Any], error: str = ""
) -> None:
    """Record the station's answer; a refused charging profile flags the station."""
    command = Command.objects.select_related("station", "station__site").get(pk=command_id)
    status = Command.Status.ACCEPTED if accepted else Command.Status.REJECTED
    if error:
        status = Command.Status.FAILED
    with transaction.atomic():
        Command.objects.filter(pk=command_id).update(
            status=status, response=response, error=error[:300], done_at=timezone.now()
        )
        station = command.station
        if command.action == "set_charging_profile":
            if status != Command.Status.ACCEPTED and not station.profile_rejected:
                Station.objects.filter(pk=station.pk).update(profile_rejected=True)
                station_event_log(
                    station_id=station.pk,
                    municipality_id=station.municipality_id,
                    kind=StationEvent.Kind.FAULT,
                    code="profile_rejected",
                    detail=f"SetChargingProfile {command.params.get('limit_w')} W: "
                    f"{response.get('status') or error}",
                )
                transaction.on_commit(
                    lambda: station_alert(
                        station=station,
                        reason=_("charging profile not accepted"),
                        key=f"profile:{command_id}",
                    )
                )
            elif status == Command.Status.ACCEPTED and station.profile_rejected:
                Station.objects.filter(pk=station.pk).update(profile_rejected=False)
        if command.action == "reserve" and "reservation_id" in command.params:
            Reservation.objects.filter(pk=command.params["reservation_id"]).update(
                status=Reservation.Status.ACTIVE if accepted else Reservation.Status.REJECTED
            )
        if command.action == "cancel_reservation" and accepted:
            Reservation.objects.filter(pk=command.params.get("reservation_id")).update(
                status=Reservation.Status.CANCELLED
            )


# --------------------------------------------------------------------------- supervision


def stations_silent_check(
    *, municipality_id: int, silent_after: timedelta, at: datetime | None = None
) -> int:
    """Alert the team once about stations not heard from for ``silent_after``."""
    at = at or timezone.now()
    cutoff = at - silent_after
    stations = Station.objects.select_related("site").filter(
        Q(last_seen_at__lt=cutoff) | Q(last_seen_at__isnull=True, booted_at__isnull=False),
        municipality_id=municipality_id,
        silent_alert_sent_at__isnull=True,
    )
    count = 0
    for station in stations:
        with transaction.atomic():
            updated = Station.objects.filter(
                pk=station.pk, silent_alert_sent_at__isnull=True
            ).update(silent_alert_sent_at=at)
            if not updated:
                continue
            station_event_log(
                station_id=station.pk,
                municipality_id=station.municipality_id,
                kind=StationEvent.Kind.CONNECTION,
                code="silent",
                detail=f"no message since {station.last_seen_at}",
            )
            station_alert(
                station=station,
                reason=_("silent for too long"),
                key=f"silent:{at:%Y%m%d%H%M}",
            )
        count += 1
    return count


def station_register(
    *,
    site: Site,
    identity: str,
    name: str,
    max_power_w: int,
    connectors: Sequence[tuple[str, int]],
    tariff: Any = None,
    actor: Any = None,
) -> tuple[Station, str]:
    """Register a charge point with its connectors; returns it and its new secret."""
    identity = identity.strip()
    if not identity or len(identity) > 48 or not all(c.isalnum() or c in "-_." for c in identity):
        raise ValidationFailed(
            fields={"identity": [_("Use up to 48 letters, digits, dots, dashes or underscores.")]}
        )
    secret = secrets.token_urlsafe(24)
    try:
        with transaction.atomic():
            station = Station.objects.create(
                municipality_id=site.municipality_id,
                site=site,
                identity=identity,
                name=name or identity,
                max_power_w=max_power_w,
                tariff=tariff,
                password_hash=password_hash(secret),
            )
            for number, (plug, power) in enumerate(connectors, start=1):
                Connector.objects.create(
                    municipality_id=site.municipality_id,
                    station=station,
                    connector_id=number,
                    plug_type=plug,
                    max_power_w=power,
                )
            audit_record(
                municipality=site.municipality,
                action="charging.station.registered",
                actor=actor,
                target=station,
            )
    except IntegrityError as error:
        raise Conflict(_("A station with this identity exists already.")) from error
    return station, secret
