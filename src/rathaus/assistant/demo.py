"""Demo data of the service assistant: the Musterstadt town hall as a building model.

Loaded idempotently by ``rathaus load_demo``. The building belongs to the location where
the Bürgerbüro demo runs its queue (else the first location offering the Personalausweis);
the Bürgerbüro's counters get rooms on the plan so that routes lead to them.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rathaus.assistant.models import Building, LexiconEntry
from rathaus.assistant.services import building_import
from rathaus.catalog.models import Location
from rathaus.core.models import Municipality

logger = logging.getLogger(__name__)

DEFAULT_ROOMS = [("E.01", 0), ("E.02", 0), ("E.03", 0), ("E.04", 0), ("1.01", 1), ("1.02", 1)]


def _demo_location(municipality: Municipality) -> Location | None:
    try:
        from rathaus.buergerbuero.models import Office

        office = (
            Office.objects.filter(municipality=municipality, is_active=True)
            .select_related("location")
            .order_by("pk")
            .first()
        )
        if office is not None:
            return office.location
    except ImportError:  # pragma: no cover - the Bürgerbüro app is part of the project
        pass
    return (
        Location.objects.filter(
            municipality=municipality, is_public=True, offers__service__name_de="Personalausweis"
        )
        .order_by("pk")
        .first()
        or Location.objects.filter(municipality=municipality, is_public=True).order_by("pk").first()
    )


def _level(floor: str) -> int:
    match = re.search(r"-?\d+", floor or "")
    if match:
        return max(-2, min(int(match.group()), 3))
    return 0


def _counter_rooms(location: Location) -> list[tuple[str, int]]:
    try:
        from rathaus.buergerbuero.models import Counter
    except ImportError:  # pragma: no cover
        return DEFAULT_ROOMS
    rooms: list[tuple[str, int]] = []
    for counter in Counter.objects.filter(office__location=location).order_by("position", "name"):
        room = (counter.room or counter.name).strip()[:40]
        if room and room not in [r for r, _level_ in rooms]:
            rooms.append((room, 0 if not counter.floor else _level(counter.floor)))
    return rooms or DEFAULT_ROOMS


def _point(
    key: str, kind: str, x: float, y: float, de: str = "", en: str = "", room: str = ""
) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [x, y]},
        "properties": {"key": key, "kind": kind, "name_de": de, "name_en": en, "room": room},
    }


def _line(a: str, b: str, kind: str = "walk", **extra: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": []},
        "properties": {"from": a, "to": b, "kind": kind, **extra},
    }


def demo_floors(rooms: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """The demo town hall as GeoJSON floors (also an example of the import format).

    Ground floor: main entrance with three steps, a side entrance with a ramp, the hall with
    the information desk and kiosk, the waiting area, counters along the corridor, toilets,
    lift and stairs. First floor: a corridor with offices, lift and stairs.
    """
    ground = [
        _point("entrance", "entrance", 2, 10, "Haupteingang", "Main entrance"),
        _point(
            "side-entrance", "entrance", 10, 22, "Seiteneingang (Rampe)", "Side entrance (ramp)"
        ),
        _point("hall", "corridor", 10, 10, "Foyer", "Foyer"),
        _point("info", "room", 12, 6, "Information", "Information desk", "E.00"),
        _point("kiosk", "room", 8, 8, "Infoterminal", "Information kiosk"),
        _point(
            "waiting", "waiting", 20, 6, "Wartebereich Bürgerbüro", "Citizen office waiting area"
        ),
        _point("toilets", "toilet", 14, 16, "Toiletten (barrierefrei)", "Toilets (accessible)"),
        _point("lift", "lift", 30, 16, "Aufzug", "Lift"),
        _point("stairs", "stairs", 32, 10, "Treppenhaus", "Staircase"),
    ]
    ground_links = [
        _line("entrance", "hall", "door", steps=3, width_cm=120),
        _line("side-entrance", "hall", "ramp", width_cm=150),
        _line("hall", "kiosk"),
        _line("hall", "info"),
        _line("hall", "waiting"),
        _line("hall", "toilets", "door", width_cm=95),
    ]
    first = [
        _point("landing", "corridor", 32, 10, "Flur 1. OG", "Corridor, 1st floor"),
        _point("lift", "lift", 30, 16, "Aufzug", "Lift"),
        _point("stairs", "stairs", 32, 12, "Treppenhaus", "Staircase"),
    ]
    first_links = [
        _line("stairs", "landing"),
        _line("lift", "landing"),
        _line("0:stairs", "stairs", "stairs"),
        _line("0:lift", "lift", "lift"),
    ]
    previous = {0: "waiting", 1: "landing"}
    x_position = {0: 22.0, 1: 14.0}
    for room, level in rooms:
        level = 1 if level >= 1 else 0
        key = "room-" + re.sub(r"[^a-z0-9]+", "-", room.lower()).strip("-")[:50]
        corridor_key = f"{key}-door"
        x = x_position[level]
        x_position[level] += 4
        nodes = ground if level == 0 else first
        links = ground_links if level == 0 else first_links
        name = f"Schalter {room}" if level == 0 else f"Zimmer {room}"
        name_en = f"Counter {room}" if level == 0 else f"Room {room}"
        nodes.append(_point(corridor_key, "corridor", x, 10 if level == 0 else 8))
        nodes.append(
            _point(
                key,
                "counter" if level == 0 else "room",
                x,
                4 if level == 0 else 3,
                name,
                name_en,
                room,
            )
        )
        links.append(_line(previous[level], corridor_key))
        links.append(_line(corridor_key, key, "door", width_cm=100))
        previous[level] = corridor_key
    ground_links.append(_line(previous[0], "stairs"))
    ground_links.append(_line(previous[0], "lift"))
    ground_links.append(_line("hall", "stairs"))
    return [
        {
            "type": "FeatureCollection",
            "properties": {"level": 0, "name_de": "Erdgeschoss", "name_en": "ground floor"},
            "features": ground + ground_links,
        },
        {
            "type": "FeatureCollection",
            "properties": {"level": 1, "name_de": "1. Obergeschoss", "name_en": "first floor"},
            "features": first + first_links,
        },
    ]


DEMO_LEXICON = [
    ("Bürgeramt, Einwohnermeldeamt", "Bürgerbüro, Wohnsitzanmeldung", "Names used in other towns"),
]


def assistant_demo_load(*, municipality: Municipality) -> None:
    """Build the demo town hall (once) and an editor's lexicon entry."""
    location = _demo_location(municipality)
    if location is None:
        logger.info("assistant demo: no location; no building model loaded")
        return
    if not Building.objects.filter(location=location).exists():
        building_import(location=location, floors=demo_floors(_counter_rooms(location)))
    for terms, expansions, note in DEMO_LEXICON:
        LexiconEntry.objects.get_or_create(
            municipality=municipality,
            terms=terms,
            defaults={"expansions": expansions, "note": note},
        )
