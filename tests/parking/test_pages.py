"""The public map/list page, its polled fragment, and the staff overview with import."""

import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from rathaus.core.models import Municipality
from rathaus.parking.models import MANAGE_PARKING, ParkingSite
from tests.conftest import strong_login
from tests.factories import UserFactory
from tests.parking.conftest import staff_with
from tests.parking.factories import ParkingSiteFactory

pytestmark = pytest.mark.django_db


def test_map_page_lists_live_values_and_allows_the_tiles(
    client: Client,
    site: ParkingSite,
    municipality: Municipality,
    django_assert_max_num_queries: Any,
) -> None:
    ParkingSiteFactory(
        municipality=municipality,
        name="Alt",
        realtime_free=3,
        realtime_at=timezone.now() - timedelta(hours=1),
    )
    for _ in range(5):
        ParkingSiteFactory(municipality=municipality)
    with django_assert_max_num_queries(12):
        response = client.get("/parken/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "123 von 200 frei" in page
    assert "Keine aktuellen Daten" in page
    assert "https://tile.openstreetmap.org" in response["Content-Security-Policy"]
    fragment = client.get("/parken/liste/")
    assert fragment.status_code == 200
    assert 'id="parking-list"' in fragment.content.decode()


def test_forecast_for_an_arrival(client: Client, site: ParkingSite) -> None:
    arrival = (timezone.localtime() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    page = client.get("/parken/", {"ankunft": arrival}).content.decode()
    assert 'data-role="forecast"' in page
    bad = client.get("/parken/", {"ankunft": "2001-01-01T10:00"})
    assert bad.status_code == 400
    assert client.get("/parken/", {"ankunft": "kaputt"}).status_code == 400


def test_map_can_be_switched_off(client: Client, site: ParkingSite, settings: Any) -> None:
    settings.RATHAUS_MAP_TILE_URL = ""
    response = client.get("/parken/")
    assert "leaflet" not in response.content.decode()
    assert "tile.openstreetmap.org" not in response["Content-Security-Policy"]


def test_staff_page_needs_the_permission_and_imports(
    client: Client, municipality: Municipality
) -> None:
    assert client.get("/verwaltung/parken/").status_code == 302
    client.force_login(UserFactory(municipality=municipality))
    assert client.get("/verwaltung/parken/").status_code == 403
    clerk = staff_with(municipality, [MANAGE_PARKING])
    strong_login(client, clerk)
    assert client.get("/verwaltung/parken/").status_code == 200
    data = json.dumps(
        {
            "sites": [
                {
                    "id": "a",
                    "name": "A",
                    "type": "CAR_PARK",
                    "lat": 48.1,
                    "lon": 9.1,
                    "capacity": 10,
                }
            ]
        }
    )
    response = client.post(
        "/verwaltung/parken/", {"file": SimpleUploadedFile("sites.json", data.encode())}
    )
    assert response.status_code == 302
    assert ParkingSite.objects.get(municipality=municipality).name == "A"
    bad = client.post(
        "/verwaltung/parken/",
        {"file": SimpleUploadedFile("sites.json", b'{"sites": [{"id": "b"}]}')},
    )
    assert bad.status_code == 400
    assert ParkingSite.objects.count() == 1
    wrong = client.post("/verwaltung/parken/", {"file": SimpleUploadedFile("sites.exe", b"MZ")})
    assert wrong.status_code == 400


def test_another_tenants_site_page_is_404(
    other_client: Client, site: ParkingSite, other_municipality: Municipality
) -> None:
    assert other_client.get(f"/parken/{site.pk}/").status_code == 404
