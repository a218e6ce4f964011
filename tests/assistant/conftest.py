"""Fixtures of the assistant tests: the real Munich catalogue, a building, signed devices."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from rathaus.assistant.catalog_index import catalog_index_clear
from rathaus.assistant.demo import DEFAULT_ROOMS, demo_floors
from rathaus.assistant.models import Building, Device
from rathaus.assistant.services import building_import, device_create, signature_of
from rathaus.catalog.models import Location
from rathaus.catalog.services import ImportReport, catalog_import_dldb
from rathaus.core.models import Municipality
from tests.conftest import require_service


@pytest.fixture(autouse=True)
def _fresh_index() -> Iterator[None]:
    # Test databases reuse primary keys: never let an index of an earlier test answer.
    catalog_index_clear()
    yield
    catalog_index_clear()


def munich_paths() -> tuple[Path, Path]:
    folder = Path(settings.RATHAUS_SHARED_DIR) / "data" / "service-catalog"
    services = folder / "munich-dldb-services_de.json"
    locations = folder / "munich-dldb-locations_de.json"
    if not (services.is_file() and locations.is_file()):
        require_service("shared data", f"{folder} does not hold the Munich exports")
    return services, locations


# The services the tests ask about, and their neighbours that compete with them: a real
# slice of the Munich export keeps each test fast (the benchmark uses all 287).
SLICE = {
    "Personalausweis",
    "Reisepass",
    "Verlust oder Diebstahl Personalausweis",
    "Verlust oder Diebstahl Reisepass",
    "Zweitpass, weitere Reisepässe",
    "Vorläufiger Reisepass",
    "Wohnsitzanmeldung",
    "Wohnsitz abmelden",
    "Wohnsitzanmeldung \u2013 Familie",
    "Meldebescheinigung",
    "Führungszeugnis",
    "Geburt im Bundesgebiet",
    "Gewerbe-Anmeldung",
    "Gewerbe-Abmeldung",
    "Gewerbe-Ummeldung",
    "Bewohnerparkausweis",
    "Parkausweis",
    "Beglaubigung von bis zu 5 Dokumenten",
    "Beglaubigung von Unterschriften",
    "Verlust oder Diebstahl der Zulassungsbescheinigung Teil I",
    "Fahrzeug abmelden",
    "Waffenschein beantragen",
    "Kleiner Waffenschein",
    "Urkundenbestellung",
    "Vaterschaftsanerkennung ohne Sorgerechtserklärung vor Geburt/Geburtsbeurkundung des Kindes",
}


@pytest.fixture
def munich_catalog(municipality: Municipality, tmp_path: Path) -> ImportReport:
    """A real slice of Munich's catalogue (``SLICE``) imported into the default tenant."""
    services_path, locations_path = munich_paths()
    services = json.loads(services_path.read_text(encoding="utf-8"))
    services["data"] = [s for s in services["data"] if s.get("name") in SLICE]
    used = {str(o.get("location")) for s in services["data"] for o in s.get("locations") or []}
    locations = json.loads(locations_path.read_text(encoding="utf-8"))
    locations["data"] = [loc for loc in locations["data"] if str(loc.get("id")) in used]
    (tmp_path / "s.json").write_text(json.dumps(services), encoding="utf-8")
    (tmp_path / "l.json").write_text(json.dumps(locations), encoding="utf-8")
    return catalog_import_dldb(
        municipality=municipality,
        services_path=tmp_path / "s.json",
        locations_path=tmp_path / "l.json",
    )


def make_location(municipality: Municipality, name: str = "Bürgerbüro Mitte") -> Location:
    return Location.objects.create(
        municipality=municipality,
        source="test",
        source_id=f"loc-{secrets.token_hex(4)}",
        name_de=name,
        street="Marktplatz",
        house_number="1",
        postal_code="12345",
        city="Musterstadt",
    )


@pytest.fixture
def building(municipality: Municipality) -> Building:
    """The demo town hall: ground floor with counters, first floor with offices."""
    location = make_location(municipality)
    return building_import(location=location, floors=demo_floors(DEFAULT_ROOMS))


class SignedClient:
    """Sends requests signed like a device does (see docs/modules/assistant.md)."""

    def __init__(self, client: Client, key_id: str, secret: str) -> None:
        self.client, self.key_id, self.secret = client, key_id, secret

    def headers(
        self,
        method: str,
        path: str,
        body: bytes,
        *,
        nonce: str | None = None,
        timestamp: float | None = None,
        secret: str | None = None,
    ) -> dict[str, str]:
        stamp = str(int(timestamp if timestamp is not None else time.time()))
        nonce = nonce or secrets.token_hex(12)
        signature = signature_of(
            secret=secret or self.secret,
            method=method,
            path=path,
            timestamp=stamp,
            nonce=nonce,
            body=body,
        )
        return {
            "HTTP_X_DEVICE_KEY": self.key_id,
            "HTTP_X_TIMESTAMP": stamp,
            "HTTP_X_NONCE": nonce,
            "HTTP_X_SIGNATURE": signature,
        }

    def post(self, path: str, data: Any, **options: Any) -> Any:
        body = json.dumps(data).encode()
        return self.client.post(
            path,
            body,
            content_type="application/json",
            **self.headers("POST", path, body, **options),
        )

    def get(self, path: str, **options: Any) -> Any:
        return self.client.get(path, **self.headers("GET", path, b"", **options))


@pytest.fixture
def robot(municipality: Municipality, building: Building) -> tuple[Device, str]:
    """A robot that can neither climb stairs nor use the lift, standing at the kiosk."""
    position = building.floors.get(level=0).nodes.get(key="kiosk")
    return device_create(
        municipality=municipality,
        actor=None,
        name="L2B3",
        kind=Device.Kind.ROBOT,
        location=building.location,
        position=position,
    )


@pytest.fixture
def signed(client: Client, robot: tuple[Device, str]) -> SignedClient:
    device, secret = robot
    return SignedClient(client, device.key_id, secret)


@pytest.fixture
def clock() -> Iterator[Any]:
    """Monday 7 December 2026, 10:00 in Berlin: the Bürgerbüro is open."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from freezegun import freeze_time

    with freeze_time(datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))) as frozen:
        yield frozen


@pytest.fixture
def office_building(municipality: Municipality) -> Any:
    """A Bürgerbüro open on weekdays 8-18 with counters E.01/E.02 on the ground floor, its
    building model made by the demo (counters become rooms), and one service offered."""
    from rathaus.assistant.demo import _counter_rooms
    from tests.buergerbuero.factories import CounterFactory, OfficeFactory, ServiceFactory, offer

    office = OfficeFactory(municipality=municipality, location__name_de="Bürgerbüro Mitte")
    CounterFactory(office=office, name="Schalter 1", room="E.01", floor="EG")
    CounterFactory(office=office, name="Schalter 2", room="E.02", floor="EG")
    service = ServiceFactory(
        municipality=municipality, name_de="Reisepass", synonyms=["Pass"], appointment=False
    )
    offer(service, office, 20)
    building = building_import(
        location=office.location, floors=demo_floors(_counter_rooms(office.location))
    )
    return office, service, building
