"""Demo data of parking management: four car parks of Musterstadt with two weeks of
history (a plausible weekday/weekend pattern), two guidance signs, a Christmas-market
event mode and two reservable spaces.

Loaded idempotently by ``rathaus load_demo``."""

import json
import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from rathaus.core.models import Municipality
from rathaus.parking.models import (
    Arrow,
    EventMode,
    Observation,
    ParkingSite,
    Sign,
    SignLine,
    Source,
)
from rathaus.parking.services import forecasts_retrain, sites_import

BERLIN = ZoneInfo("Europe/Berlin")
SITES = [
    {
        "id": "marstall",
        "name": "Marstall",
        "type": "CAR_PARK",
        "lat": 48.8951,
        "lon": 9.1903,
        "capacity": 420,
        "address": "Marstallstraße 1",
        "operator": "Stadtwerke Musterstadt",
        "opening_hours": "Mo-Sa 06:00-24:00; Su,PH 09:00-22:00",
        "fee_per_hour": "2.00",
        "fee_description": "2,00 € je Stunde, Tageshöchstsatz 14 €",
        "max_height_cm": 200,
        "restrictions": [{"kind": "DISABLED", "capacity": 12}, {"kind": "CHARGING", "capacity": 8}],
        "entrances": [{"name": "Einfahrt Marstallstraße", "lat": 48.8953, "lon": 9.1899}],
        "spaces": [
            {"id": "R1", "reservable": True},
            {"id": "R2", "reservable": True, "restriction": "CHARGING"},
        ],
    },
    {
        "id": "schloss",
        "name": "Schloss",
        "type": "UNDERGROUND",
        "lat": 48.8990,
        "lon": 9.1960,
        "capacity": 250,
        "address": "Schlossstraße 10",
        "opening_hours": "24/7",
        "fee_per_hour": "2.50",
        "fee_description": "2,50 € je Stunde",
        "max_height_cm": 190,
        "restrictions": [{"kind": "DISABLED", "capacity": 6}, {"kind": "FAMILY", "capacity": 10}],
    },
    {
        "id": "bahnhof-pr",
        "name": "P+R Bahnhof",
        "type": "PARK_AND_RIDE",
        "lat": 48.8925,
        "lon": 9.1849,
        "capacity": 300,
        "opening_hours": "24/7",
        "fee_per_hour": "0",
        "fee_description": "kostenlos mit Fahrschein",
    },
    {
        "id": "marktplatz",
        "name": "Marktplatz",
        "type": "OFF_STREET_PARKING_GROUND",
        "lat": 48.8970,
        "lon": 9.1925,
        "capacity": 80,
        "opening_hours": "Mo-Sa 07:00-20:00",
        "fee_per_hour": "1.50",
        "max_stay_minutes": 120,
        "fee_description": "1,50 € je Stunde, höchstens 2 Stunden",
    },
]


def _occupancy(local_hour: float, weekday: int, site_index: int) -> float:
    peak = 0.85 if weekday < 5 else 0.65
    shape = math.exp(-((local_hour - 13) ** 2) / 12)
    return min(0.98, 0.1 + (peak - 0.1) * shape + 0.03 * site_index)


def parking_demo_load(*, municipality: Municipality) -> None:
    """Create the demo car parks, signs and history of ``municipality``; safe to rerun
    (sites already there are left as they are, so a rerun records no import)."""
    if not ParkingSite.objects.filter(municipality=municipality).exists():
        sites_import(
            municipality=municipality, data=json.dumps({"sites": SITES}).encode(), fmt="json"
        )
    now = timezone.now().replace(second=0, microsecond=0)
    now -= timedelta(minutes=now.minute % 15)
    sites = {s.external_id: s for s in ParkingSite.objects.filter(municipality=municipality)}
    for index, spec in enumerate(SITES):
        site = sites[str(spec["id"])]
        if Observation.objects.filter(site=site).exists():
            continue
        rows = []
        for step in range(14 * 96, -1, -1):
            at = now - timedelta(minutes=15 * step)
            local = at.astimezone(BERLIN)
            occupied = _occupancy(local.hour + local.minute / 60, local.weekday(), index)
            rows.append(
                Observation(
                    site=site,
                    at=at,
                    free=round(site.capacity * (1 - occupied)),
                    source=Source.MANUAL,
                )
            )
        Observation.objects.bulk_create(rows)
        site.realtime_free, site.realtime_at = rows[-1].free, rows[-1].at
        site.save(update_fields=["realtime_free", "realtime_at"])
    entrance, _ = Sign.objects.get_or_create(
        municipality=municipality,
        key="ortseingang-nord",
        defaults={"name": "Ortseingang Nord", "kind": Sign.Kind.BOARD},
    )
    ring, _ = Sign.objects.get_or_create(
        municipality=municipality,
        key="ring-west",
        defaults={"name": "Ring West", "kind": Sign.Kind.MATRIX},
    )
    if not entrance.lines.exists():
        for position, (key, arrow) in enumerate(
            [("marstall", Arrow.LEFT), ("schloss", Arrow.STRAIGHT), ("bahnhof-pr", Arrow.RIGHT)]
        ):
            SignLine.objects.create(sign=entrance, site=sites[key], arrow=arrow, position=position)
        SignLine.objects.create(sign=ring, site=sites["marktplatz"], arrow=Arrow.RIGHT, position=0)
    if not EventMode.objects.filter(municipality=municipality).exists():
        year = timezone.localdate().year
        market = EventMode.objects.create(
            municipality=municipality,
            name="Weihnachtsmarkt",
            starts_at=datetime(year, 11, 26, 10, tzinfo=BERLIN),
            ends_at=datetime(year, 12, 23, 22, tzinfo=BERLIN),
            message="Weihnachtsmarkt",
        )
        SignLine.objects.create(
            sign=entrance,
            event_mode=market,
            site=sites["bahnhof-pr"],
            arrow=Arrow.RIGHT,
            position=0,
        )
        SignLine.objects.create(
            sign=entrance,
            event_mode=market,
            site=sites["schloss"],
            arrow=Arrow.STRAIGHT,
            position=1,
        )
    forecasts_retrain(municipality=municipality)
