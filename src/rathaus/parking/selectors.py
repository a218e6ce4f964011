"""Reads of parking management: live states, forecasts, sign texts, recommendations and
the downsampled history."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Avg, Min, Prefetch, QuerySet
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from rathaus.core.models import Municipality
from rathaus.parking.forecast import HORIZONS, Prediction, Profile, forecast_predict
from rathaus.parking.models import (
    EventMode,
    ForecastModel,
    Observation,
    ParkingSite,
    Reservation,
    Restriction,
    Sign,
    SignLine,
    Space,
)
from rathaus.parking.opening_hours import opening_hours_parse

BERLIN = ZoneInfo("Europe/Berlin")
WALKING_METRES_PER_MINUTE = 80
# A site predicted to have fewer free spaces than this on arrival is recommended last.
TIGHT_SPACES = 5


def sites_public(*, municipality: Municipality) -> QuerySet[ParkingSite]:
    """Active sites with what the public pages and APIs show, in two queries' worth of
    prefetches (restrictions, forecast)."""
    return (
        ParkingSite.objects.filter(municipality=municipality, is_active=True)
        .select_related("forecast", "municipality")
        .prefetch_related(Prefetch("restrictions", queryset=Restriction.objects.order_by("kind")))
        .order_by("name")
    )


def site_is_open(site: ParkingSite, *, at: datetime, state: str = "") -> bool | None:
    """Open at ``at`` by its opening hours; ``None`` when it has none recorded."""
    if not site.opening_hours:
        return None
    try:
        return opening_hours_parse(site.opening_hours).is_open(at.astimezone(BERLIN), state=state)
    except Exception:  # a stored string that no longer parses: say nothing rather than lie
        return None


@dataclass(frozen=True)
class SiteState:
    site: ParkingSite
    free: int | None  # None: no current data
    at: datetime | None
    stale: bool
    open: bool | None

    @property
    def occupancy_percent(self) -> int | None:
        if self.free is None:
            return None
        return round(100 * (self.site.capacity - self.free) / self.site.capacity)


def site_state(site: ParkingSite, *, now: datetime | None = None) -> SiteState:
    now = now or timezone.now()
    stale = site.is_stale(now)
    return SiteState(
        site=site,
        free=None if stale else site.realtime_free,
        at=site.realtime_at,
        stale=stale,
        open=site_is_open(site, at=now, state=site.municipality.state),
    )


def _params(site: ParkingSite) -> dict[str, Any] | None:
    try:
        model: ForecastModel = site.forecast
    except ForecastModel.DoesNotExist:
        return None
    return model.params


def site_forecast(
    site: ParkingSite, *, arrival: datetime, now: datetime | None = None
) -> Prediction | None:
    """Predicted occupancy (fraction) at ``arrival``. From the current reading while it is
    fresh; from the profile alone when there is none (the deviation is then unknown);
    ``None`` for a site with neither a model nor a current reading."""
    now = now or timezone.now()
    params = _params(site)
    local_arrival = arrival.astimezone(BERLIN).replace(tzinfo=None)
    if site.is_stale(now) or site.realtime_free is None or site.realtime_at is None:
        if params is None:
            return None
        # Without a current deviation, a reading far in the past carries none forward.
        value = Profile(params).at(local_arrival)
        low, high = params["bands"][str(HORIZONS[-1])]
        return Prediction(0, value, max(0.0, value + low), min(1.0, value + high))
    horizon = max(0, round((arrival - site.realtime_at).total_seconds() / 60))
    occupancy = (site.capacity - site.realtime_free) / site.capacity
    local_at = site.realtime_at.astimezone(BERLIN).replace(tzinfo=None)
    return forecast_predict(params, at=local_at, occupancy=occupancy, horizon=horizon)


def free_from_occupancy(site: ParkingSite, occupancy: float) -> int:
    return max(0, round(site.capacity * (1 - occupancy)))


def site_forecasts(site: ParkingSite, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Free spaces at +15/+30/+60/+120 minutes with the band (empty without data)."""
    now = now or timezone.now()
    rows = []
    for horizon in HORIZONS:
        prediction = site_forecast(site, arrival=now + timedelta(minutes=horizon), now=now)
        if prediction is None:
            continue
        rows.append(
            {
                "horizon": horizon,
                "free": free_from_occupancy(site, prediction.occupancy),
                "free_low": free_from_occupancy(site, prediction.high),
                "free_high": free_from_occupancy(site, prediction.low),
            }
        )
    return rows


# --- Signs ------------------------------------------------------------------------------


def event_mode_active(*, municipality: Municipality, now: datetime) -> EventMode | None:
    return (
        EventMode.objects.filter(municipality=municipality, starts_at__lte=now, ends_at__gt=now)
        .order_by("starts_at")
        .first()
    )


def sign_line_text(line: SignLine, *, now: datetime) -> tuple[str, int | None, str]:
    """A sign line's text, its number and its status. Signs speak German, the language of
    the road; what counts as "no data" is the same 30 minutes as everywhere else."""
    site = line.site
    label = line.label or site.name
    state = site_state(site, now=now)
    if state.open is False:
        return f"P {label} geschlossen", None, "closed"
    if state.free is None:
        return f"P {label} keine Daten", None, "no_data"
    if state.free <= 0:
        return f"P {label} besetzt", 0, "full"
    return f"P {label} {state.free} frei", state.free, "free"


def sign_display(sign: Sign, *, now: datetime | None = None) -> dict[str, Any]:
    """What ``sign`` shows now: an active event mode's lines for it replace its own."""
    now = now or timezone.now()
    mode = event_mode_active(municipality=sign.municipality, now=now)
    lines = list(
        SignLine.objects.filter(sign=sign, event_mode=mode).select_related("site__municipality")
    )
    if mode is not None and not lines:
        lines = list(
            SignLine.objects.filter(sign=sign, event_mode=None).select_related("site__municipality")
        )
    out = []
    for line in lines:
        text, free, status = sign_line_text(line, now=now)
        out.append(
            {
                "text": text,
                "free": free,
                "status": status,
                "arrow": line.arrow,
                "site": line.site.external_id,
            }
        )
    return {
        "sign": sign.key,
        "name": sign.name,
        "generated_at": now,
        "event_mode": mode.name if mode else None,
        "message": mode.message if mode else "",
        "lines": out,
    }


# --- Recommendations --------------------------------------------------------------------


def distance_metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


@dataclass(frozen=True)
class Recommendation:
    site: ParkingSite
    free_on_arrival: int | None
    walking_minutes: int
    fee_per_hour: float | None
    score: float


def recommendations(
    *,
    municipality: Municipality,
    lat: float,
    lon: float,
    arrival: datetime,
    needs: set[str],
    vehicle_height_cm: int | None = None,
    limit: int = 5,
    now: datetime | None = None,
) -> list[Recommendation]:
    """Sites for a destination and arrival, best first.

    Sites that cannot serve the driver (no bay of a needed restriction, too low, closed
    on arrival) are left out. The score is in "minutes of inconvenience": walking time
    from the nearest entrance, plus 5 minutes per euro per hour, plus 30 when the site
    is predicted (or unknown) to have fewer than five free spaces on arrival.
    """
    now = now or timezone.now()
    found = []
    for site in sites_public(municipality=municipality).prefetch_related("entrances"):
        kinds = {r.kind for r in site.restrictions.all() if r.capacity > 0}
        if not needs <= kinds:
            continue
        if vehicle_height_cm and site.max_height_cm and vehicle_height_cm > site.max_height_cm:
            continue
        if site_is_open(site, at=arrival, state=municipality.state) is False:
            continue
        points = [(float(e.lat), float(e.lon)) for e in site.entrances.all()] or [
            (float(site.lat), float(site.lon))
        ]
        metres = min(distance_metres(lat, lon, a, b) for a, b in points)
        walking = math.ceil(metres / WALKING_METRES_PER_MINUTE)
        prediction = site_forecast(site, arrival=arrival, now=now)
        free = None if prediction is None else free_from_occupancy(site, prediction.occupancy)
        fee = float(site.fee_per_hour) if site.fee_per_hour is not None else None
        score = walking + 5 * (fee or 0) + (30 if free is None or free < TIGHT_SPACES else 0)
        found.append(Recommendation(site, free, walking, fee, score))
    found.sort(key=lambda r: (r.score, r.site.name))
    return found[:limit]


# --- History ----------------------------------------------------------------------------


def site_history(site: ParkingSite, *, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Free spaces between ``start`` and ``end``: raw up to two days, hourly averages up
    to 60 days, daily averages (with the daily minimum) beyond."""
    span = end - start
    rows = Observation.objects.filter(site=site, at__gte=start, at__lt=end)
    if span <= timedelta(days=2):
        return [
            {"at": at, "free": free, "min_free": free}
            for at, free in rows.order_by("at").values_list("at", "free")
        ]
    trunc = (
        TruncHour("at", tzinfo=BERLIN)
        if span <= timedelta(days=60)
        else TruncDay("at", tzinfo=BERLIN)
    )
    aggregated = (
        rows.annotate(bucket=trunc)
        .values("bucket")
        .annotate(avg=Avg("free"), low=Min("free"))
        .order_by("bucket")
    )
    return [{"at": r["bucket"], "free": round(r["avg"]), "min_free": r["low"]} for r in aggregated]


def reservable_spaces(*, site: ParkingSite) -> QuerySet[Space]:
    return Space.objects.filter(site=site, reservable=True).order_by("external_id")


def reservations_of(*, citizen: Any, municipality: Municipality) -> QuerySet[Reservation]:
    return (
        Reservation.objects.filter(municipality=municipality, citizen=citizen)
        .select_related("space__site")
        .order_by("-starts_at")
    )
