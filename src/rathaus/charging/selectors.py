"""Reads of the charging module: limits, teams, public availability, dashboard, records."""

from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from rathaus.charging.models import (
    ChargingSession,
    Command,
    Connector,
    ConnectorStatus,
    Site,
    Station,
    StationEvent,
)
from rathaus.core.models import Municipality
from rathaus.organisation.models import RoleGrant

OPERATE_CODENAME = "operate_stations"


def site_effective_limit(*, site: Site, at: datetime) -> int:
    """The grid limit in force at ``at``: the lowest limit window covering the local time,
    else the site's default. Windows may wrap midnight (22:00-06:00)."""
    local = timezone.localtime(at).time()
    limit: int | None = None
    for window in site.limit_windows.all():
        if window.start_time <= window.end_time:
            inside = window.start_time <= local < window.end_time
        else:
            inside = local >= window.start_time or local < window.end_time
        if inside:
            limit = window.limit_w if limit is None else min(limit, window.limit_w)
    return site.grid_limit_w if limit is None else limit


def team_for_site(*, site: Site) -> list[Any]:
    """Active staff who operate stations at the site's unit (or above, inherited).

    Without a responsible unit, everyone with the permission at the municipality's units.
    """
    today = timezone.localdate()
    grants = RoleGrant.objects.filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=today),
        municipality_id=site.municipality_id,
        role__permissions__codename=OPERATE_CODENAME,
        role__permissions__content_type__app_label="charging",
    )
    if site.org_unit_id is not None:
        unit = site.org_unit
        assert unit is not None
        grants = grants.filter(
            Q(org_unit_id=unit.pk) | Q(org_unit_id__in=unit.ancestor_ids, include_subunits=True)
        )
    user_ids = set(grants.values_list("user_id", flat=True))
    user_model = get_user_model()
    return list(user_model.objects.filter(pk__in=user_ids, is_active=True).order_by("pk"))


def public_sites(*, municipality: Municipality) -> QuerySet[Site]:
    """Published sites with their stations and connectors (three queries)."""
    return (
        Site.objects.filter(municipality=municipality, is_public=True)
        .select_related("municipality")
        .prefetch_related(
            Prefetch(
                "stations",
                queryset=Station.objects.select_related("tariff").prefetch_related(
                    Prefetch("connectors", queryset=Connector.objects.order_by("connector_id"))
                ),
            )
        )
        .order_by("name", "pk")
    )


def connector_public_status(*, station: Station, connector: Connector) -> str:
    """What a driver sees: an offline station's connectors are unknown, not available."""
    if not station.is_online:
        return ConnectorStatus.UNKNOWN
    return connector.status


def site_availability(*, site: Site) -> dict[str, int]:
    """Counts of connectors by public status at a prefetched ``site``."""
    counts: dict[str, int] = {}
    for station in site.stations.all():
        for connector in station.connectors.all():
            status = connector_public_status(station=station, connector=connector)
            counts[status] = counts.get(status, 0) + 1
    return counts


def dashboard_figures(*, municipality: Municipality, at: datetime | None = None) -> dict[str, Any]:
    """Operator dashboard: online/offline, faults, running sessions, energy today."""
    at = at or timezone.now()
    start_of_day = timezone.localtime(at).replace(hour=0, minute=0, second=0, microsecond=0)
    stations = Station.objects.filter(municipality=municipality)
    counts = stations.aggregate(total=Count("pk"), online=Count("pk", filter=Q(is_online=True)))
    sessions = ChargingSession.objects.filter(municipality=municipality)
    finished_today = sessions.filter(stopped_at__gte=start_of_day).aggregate(
        energy=Sum("meter_last_wh"), start=Sum("meter_start_wh"), n=Count("pk")
    )
    running = list(
        sessions.filter(status=ChargingSession.Status.RUNNING).select_related("station")[:200]
    )
    energy_today = (finished_today["energy"] or 0) - (finished_today["start"] or 0)
    energy_today += sum(s.energy_wh for s in running)
    return {
        "total": counts["total"],
        "online": counts["online"],
        "offline": counts["total"] - counts["online"],
        "running": running,
        "finished_today": finished_today["n"],
        "energy_today_kwh": round(energy_today / 1000, 1),
        "faults": list(
            Connector.objects.filter(municipality=municipality, status=ConnectorStatus.FAULTED)
            .select_related("station")
            .order_by("station__name", "connector_id")[:100]
        ),
        "flagged": list(stations.filter(profile_rejected=True).order_by("name")[:100]),
        "events": list(
            StationEvent.objects.filter(municipality=municipality)
            .select_related("station")
            .order_by("-created_at", "-pk")[:20]
        ),
        "silent_since": at - timedelta(minutes=15),
    }


def station_list(*, municipality: Municipality) -> QuerySet[Station]:
    return (
        Station.objects.filter(municipality=municipality)
        .select_related("site")
        .annotate(faulted=Count("connectors", filter=Q(connectors__status=ConnectorStatus.FAULTED)))
        .order_by("site__name", "name", "pk")
    )


def station_commands(*, station: Station, limit: int = 20) -> list[Command]:
    return list(station.commands.select_related("requested_by").order_by("-pk")[:limit])


def station_statistics(*, station: Station) -> dict[str, Any]:
    """Sessions and energy of a station (finished sessions)."""
    finished = station.sessions.filter(status=ChargingSession.Status.FINISHED)
    agg = finished.aggregate(
        n=Count("pk"),
        last=Sum("meter_last_wh"),
        start=Sum("meter_start_wh"),
        revenue=Sum("cost_total_ct"),
    )
    return {
        "sessions": agg["n"],
        "energy_kwh": round(((agg["last"] or 0) - (agg["start"] or 0)) / 1000, 1),
        "revenue_ct": agg["revenue"] or 0,
    }


def site_statistics(*, municipality: Municipality) -> list[dict[str, Any]]:
    """Per-site sessions and energy of finished sessions."""
    rows = (
        ChargingSession.objects.filter(
            municipality=municipality, status=ChargingSession.Status.FINISHED
        )
        .values("station__site_id", "station__site__name")
        .annotate(
            n=Count("pk"),
            last=Sum("meter_last_wh"),
            start=Sum("meter_start_wh"),
            revenue=Sum("cost_total_ct"),
        )
        .order_by("station__site__name")
    )
    return [
        {
            "site": row["station__site__name"],
            "sessions": row["n"],
            "energy_kwh": round(((row["last"] or 0) - (row["start"] or 0)) / 1000, 1),
            "revenue_ct": row["revenue"] or 0,
        }
        for row in rows
    ]


def charge_detail_records(
    *, municipality: Municipality, since: datetime | None = None, until: datetime | None = None
) -> QuerySet[ChargingSession]:
    """Finished sessions of the municipality in the period (by stop time)."""
    sessions = ChargingSession.objects.filter(
        municipality=municipality, status=ChargingSession.Status.FINISHED
    ).select_related("station", "station__site", "token")
    if since:
        sessions = sessions.filter(stopped_at__gte=since)
    if until:
        sessions = sessions.filter(stopped_at__lt=until)
    return sessions.order_by("stopped_at", "pk")


CDR_FIELDS = [
    "id",
    "station",
    "site",
    "connector",
    "transaction",
    "token",
    "user_kind",
    "contract",
    "started_at",
    "charging_ended_at",
    "stopped_at",
    "duration_s",
    "idle_s",
    "energy_wh",
    "tariff",
    "cost_energy_ct",
    "cost_time_ct",
    "cost_blocking_ct",
    "cost_total_ct",
    "stop_reason",
]


def cdr_row(session: ChargingSession) -> dict[str, Any]:
    """One charge detail record as a flat dict (CSV and JSON export)."""
    assert session.stopped_at is not None
    idle = 0
    if session.charging_ended_at and session.charging_ended_at < session.stopped_at:
        idle = int((session.stopped_at - session.charging_ended_at).total_seconds())
    return {
        "id": session.pk,
        "station": session.station.identity,
        "site": session.station.site.name,
        "connector": session.connector_id,
        "transaction": session.transaction_ref,
        "token": session.id_tag,
        "user_kind": session.user_kind,
        "contract": session.token.contract_ref if session.token else "",
        "started_at": session.started_at.isoformat(),
        "charging_ended_at": (
            session.charging_ended_at.isoformat() if session.charging_ended_at else ""
        ),
        "stopped_at": session.stopped_at.isoformat(),
        "duration_s": int((session.stopped_at - session.started_at).total_seconds()),
        "idle_s": idle,
        "energy_wh": session.energy_wh,
        "tariff": session.tariff_snapshot.get("name", ""),
        "cost_energy_ct": session.cost_energy_ct,
        "cost_time_ct": session.cost_time_ct,
        "cost_blocking_ct": session.cost_blocking_ct,
        "cost_total_ct": session.cost_total_ct,
        "stop_reason": session.stop_reason,
    }


def station_credentials(*, identity: str) -> dict[str, Any] | None:
    """What the central system needs to admit a station at the handshake."""
    row = (
        Station.objects.filter(identity=identity)
        .values("pk", "municipality_id", "password_hash", "certificate_fingerprint")
        .first()
    )
    return dict(row) if row else None


# --------------------------------------------------------------------------- open data (OCPI)

OCPI_STATUS: dict[str, str] = {
    ConnectorStatus.AVAILABLE: "AVAILABLE",
    ConnectorStatus.CHARGING: "CHARGING",
    ConnectorStatus.OCCUPIED: "BLOCKED",
    ConnectorStatus.RESERVED: "RESERVED",
    ConnectorStatus.FAULTED: "OUTOFORDER",
    ConnectorStatus.UNAVAILABLE: "INOPERATIVE",
    ConnectorStatus.UNKNOWN: "UNKNOWN",
}
OCPI_FORMAT = {"DOMESTIC_F": "SOCKET", "IEC_62196_T2": "SOCKET"}


def _party_id(municipality: Municipality) -> str:
    return "".join(ch for ch in municipality.slug.upper() if ch.isalnum())[:3].ljust(3, "X")


def _ts(value: datetime | None) -> str:
    return (value or timezone.now()).astimezone(UTC).isoformat().replace("+00:00", "Z")


def ocpi_location(site: Site) -> dict[str, Any]:
    """A site as an OCPI 2.2.1 Location (static and dynamic AFIR data) from a prefetched
    ``public_sites`` row."""
    municipality = site.municipality
    party = _party_id(municipality)
    evses = []
    last = site.updated_at
    for station in site.stations.all():
        for connector in station.connectors.all():
            status = OCPI_STATUS.get(
                connector_public_status(station=station, connector=connector), "UNKNOWN"
            )
            updated = max(filter(None, [connector.status_at, connector.updated_at]))
            last = max(last, updated)
            dc = connector.plug_type in ("IEC_62196_T2_COMBO", "CHADEMO")
            evses.append(
                {
                    "uid": f"{station.identity}-{connector.connector_id}",
                    "evse_id": f"DE*{party}*E{station.identity}*{connector.connector_id}",
                    "status": status,
                    "capabilities": ["REMOTE_START_STOP_CAPABLE", "RFID_READER"],
                    "connectors": [
                        {
                            "id": "1",
                            "standard": connector.plug_type,
                            "format": OCPI_FORMAT.get(connector.plug_type, "CABLE"),
                            "power_type": "DC" if dc else "AC_3_PHASE",
                            "max_voltage": 920 if dc else 400,
                            "max_amperage": int(
                                connector.max_power_w / (920 if dc else 400 * 1.732)
                            ),
                            "max_electric_power": connector.max_power_w,
                            "tariff_ids": [str(station.tariff_id)] if station.tariff_id else [],
                            "last_updated": _ts(connector.updated_at),
                        }
                    ],
                    "last_updated": _ts(updated),
                }
            )
    return {
        "country_code": "DE",
        "party_id": party,
        "id": str(site.pk),
        "publish": True,
        "name": site.name,
        "address": site.street,
        "city": site.city,
        "postal_code": site.postal_code,
        "country": "DEU",
        "coordinates": {"latitude": f"{site.latitude:.6f}", "longitude": f"{site.longitude:.6f}"},
        "parking_type": "PARKING_LOT",
        "evses": evses,
        "operator": {"name": municipality.name},
        "time_zone": "Europe/Berlin",
        "opening_times": {
            "twentyfourseven": not site.access_hours,
            "description": site.access_hours,
        },
        "related_locations_url": site.parking_url,
        "last_updated": _ts(last),
    }


def ocpi_tariff(tariff: Any) -> dict[str, Any]:
    """A tariff as an OCPI 2.2.1 Tariff (prices in euro including VAT)."""
    components: list[dict[str, Any]] = [
        {"type": "ENERGY", "price": tariff.energy_ct_per_kwh / 100, "step_size": 1}
    ]
    elements: list[dict[str, Any]] = []
    if tariff.time_ct_per_hour:
        components.append({"type": "TIME", "price": tariff.time_ct_per_hour / 100, "step_size": 60})
    elements.append({"price_components": components, "restrictions": None})
    if tariff.blocking_ct_per_minute:
        elements.append(
            {
                "price_components": [
                    {
                        "type": "PARKING_TIME",
                        "price": tariff.blocking_ct_per_minute * 60 / 100,
                        "step_size": 60,
                    }
                ],
                "restrictions": {"min_duration": tariff.blocking_grace_minutes * 60},
            }
        )
    return {
        "country_code": "DE",
        "party_id": _party_id(tariff.municipality),
        "id": str(tariff.pk),
        "currency": "EUR",
        "type": "REGULAR",
        "tariff_alt_text": [{"language": "de", "text": tariff.name}],
        "elements": elements,
        "max_price": {"incl_vat": tariff.blocking_cap_ct / 100} if tariff.blocking_cap_ct else None,
        "last_updated": _ts(tariff.updated_at),
    }
