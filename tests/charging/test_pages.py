"""Public list, operator pages and the open-data API: access, hostile input, exports."""

import csv
import io
import json

import pytest
from django.test import Client
from django.utils import timezone

from rathaus.charging.models import ChargingSession, Command, Connector, Site, Station
from tests.charging.factories import SiteFactory, StationFactory, TariffFactory
from tests.conftest import strong_login
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def station(municipality) -> Station:
    tariff = TariffFactory(municipality=municipality)
    station = StationFactory(
        site__municipality=municipality,
        site__name="Rathausplatz",
        tariff=tariff,
        connectors=2,
        is_online=True,
    )
    Connector.objects.filter(station=station, connector_id=1).update(status="Available")
    Connector.objects.filter(station=station, connector_id=2).update(status="Charging")
    return station


def test_the_public_list_shows_live_availability_without_javascript(
    client: Client, station: Station, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(12):
        response = client.get("/laden/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Rathausplatz" in body
    assert 'data-status="Available"' in body
    assert 'data-status="Charging"' in body
    assert "49 ct/kWh" in body
    assert "tile.openstreetmap.org" in response["Content-Security-Policy"]
    fragment = client.get("/laden/verfuegbarkeit/")
    assert fragment.status_code == 200
    assert "Rathausplatz" in fragment.content.decode()
    # Offline: the connectors are unknown to drivers, never "available".
    Station.objects.filter(pk=station.pk).update(is_online=False)
    body = client.get("/laden/verfuegbarkeit/").content.decode()
    assert 'data-status="Available"' not in body
    assert 'data-status="Unknown"' in body


def test_unpublished_sites_and_other_tenants_stay_hidden(
    client: Client, other_client: Client, station: Station, other_municipality
) -> None:
    StationFactory(site__municipality=other_municipality, site__name="Anderswo")
    SiteFactory(municipality=station.municipality, name="Geheim", is_public=False)
    body = client.get("/laden/").content.decode()
    assert "Anderswo" not in body
    assert "Geheim" not in body
    assert "Rathausplatz" not in other_client.get("/laden/").content.decode()


def test_the_open_data_api_follows_ocpi_locations(
    client: Client, other_client: Client, station, other_municipality
) -> None:
    response = client.get("/api/v1/charging/locations/")
    assert response.status_code == 200
    body = response.json()
    assert body["status_code"] == 1000
    [location] = body["data"]
    assert location["name"] == "Rathausplatz"
    assert location["country"] == "DEU"
    assert location["coordinates"] == {"latitude": "48.775800", "longitude": "9.182900"}
    assert [e["status"] for e in location["evses"]] == ["AVAILABLE", "CHARGING"]
    assert location["evses"][0]["evse_id"] == f"DE*MUS*E{station.identity}*1"
    assert location["evses"][0]["connectors"][0]["tariff_ids"] == [str(station.tariff_id)]
    assert location["opening_times"]["twentyfourseven"] is True
    detail = client.get(f"/api/v1/charging/locations/{station.site_id}/")
    assert detail.status_code == 200
    assert detail.json()["data"]["id"] == str(station.site_id)
    assert other_client.get(f"/api/v1/charging/locations/{station.site_id}/").status_code == 404
    missing = client.get("/api/v1/charging/locations/999999/")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    tariffs = client.get("/api/v1/charging/tariffs/").json()["data"]
    assert tariffs[0]["elements"][0]["price_components"][0] == {
        "type": "ENERGY",
        "price": 0.49,
        "step_size": 1,
    }
    assert tariffs[0]["elements"][1]["restrictions"] == {"min_duration": 3600}
    assert other_client.get("/api/v1/charging/tariffs/").json()["data"] == []


def test_operator_pages_need_the_permission(client: Client, station: Station, operator) -> None:
    assert client.get("/verwaltung/laden/").status_code == 302
    clerk = StaffFactory(municipality=station.municipality)
    strong_login(client, clerk)
    assert client.get("/verwaltung/laden/").status_code == 403
    assert client.get(f"/verwaltung/laden/stationen/{station.pk}/").status_code == 403
    assert (
        client.post(
            f"/verwaltung/laden/stationen/{station.pk}/", {"action": "reset", "kind": "Hard"}
        ).status_code
        == 403
    )
    assert client.get("/verwaltung/laden/ladevorgaenge/").status_code == 403
    assert not Command.objects.exists()
    client.logout()
    strong_login(client, operator)
    response = client.get("/verwaltung/laden/")
    assert response.status_code == 200
    assert station.name in response.content.decode()


def test_another_tenants_station_is_not_found(
    other_client: Client, station: Station, other_municipality
) -> None:
    from tests.organisation.factories import OrgUnitFactory, RoleFactory, RoleGrantFactory

    role = RoleFactory(municipality=other_municipality, permissions=["charging.operate_stations"])
    grant = RoleGrantFactory(org_unit=OrgUnitFactory(municipality=other_municipality), role=role)
    strong_login(other_client, grant.user)
    assert other_client.get(f"/verwaltung/laden/stationen/{station.pk}/").status_code == 404
    assert (
        other_client.post(
            f"/verwaltung/laden/stationen/{station.pk}/", {"action": "reset", "kind": "Hard"}
        ).status_code
        == 404
    )
    assert other_client.get(f"/verwaltung/laden/standorte/{station.site_id}/").status_code == 404
    assert not Command.objects.exists()


def test_an_operator_queues_commands_and_hostile_input_is_refused(
    client: Client, station: Station, operator
) -> None:
    strong_login(client, operator)
    url = f"/verwaltung/laden/stationen/{station.pk}/"
    response = client.post(url, {"action": "remote_start", "connector_id": "1", "id_tag": "APP-1"})
    assert response.status_code == 302
    command = Command.objects.get()
    assert command.params == {"connector_id": 1, "id_tag": "APP-1"}
    assert command.requested_by == operator
    assert command.status == "pending"
    # The app user without a card is recorded as an ad-hoc user.
    assert station.municipality.pk == command.municipality_id
    for hostile in (
        {"action": "remote_start", "connector_id": "9", "id_tag": "A"},
        {"action": "remote_start", "connector_id": "1", "id_tag": "A" * 400},
        {"action": "drop_tables"},
        {"action": "update_firmware", "location": "file:///etc/passwd"},
        {"action": "remote_stop", "transaction_ref": "<script>"},
    ):
        response = client.post(url, hostile)
        assert response.status_code == 400, hostile
        assert (
            'aria-invalid="true"' in response.content.decode()
            or "errors" in response.content.decode()
        )
    assert Command.objects.count() == 1
    page = client.get(url).content.decode()
    assert "remote_start" in page


def test_site_limits_are_validated_and_saved(client: Client, station: Station, operator) -> None:
    strong_login(client, operator)
    url = f"/verwaltung/laden/standorte/{station.site_id}/"
    assert client.get(url).status_code == 200
    assert client.post(url, {"form": "limit", "grid_limit_w": "-5"}).status_code == 400
    assert client.post(url, {"form": "limit", "grid_limit_w": "abc"}).status_code == 400
    assert (
        client.post(
            url, {"form": "window", "start_time": "10:00", "end_time": "10:00", "limit_w": "5000"}
        ).status_code
        == 400
    )
    assert client.post(url, {"form": "limit", "grid_limit_w": "30000"}).status_code == 302
    assert (
        client.post(
            url, {"form": "window", "start_time": "17:00", "end_time": "20:00", "limit_w": "11000"}
        ).status_code
        == 302
    )
    site = Site.objects.get(pk=station.site_id)
    assert site.grid_limit_w == 30000
    assert site.limit_windows.count() == 1


def test_registering_a_station_shows_its_secret_once(
    client: Client, station: Station, operator
) -> None:
    strong_login(client, operator)
    data = {
        "site": station.site_id,
        "identity": "CP-NEU-1",
        "name": "Neue Säule",
        "max_power_w": "11000",
        "connectors": "2",
        "plug_type": "IEC_62196_T2",
        "tariff": "",
    }
    response = client.post("/verwaltung/laden/stationen/neu/", data)
    assert response.status_code == 200
    new = Station.objects.get(identity="CP-NEU-1")
    assert new.connectors.count() == 2
    assert response["Cache-Control"] == "no-store"
    again = client.post("/verwaltung/laden/stationen/neu/", data)
    assert again.status_code == 409
    bad = client.post("/verwaltung/laden/stationen/neu/", {**data, "identity": "x y/z"})
    assert bad.status_code == 400
    assert Station.objects.filter(identity__startswith="CP-NEU").count() == 1


def test_charge_detail_records_export_as_csv_and_json(
    client: Client, station: Station, operator
) -> None:
    now = timezone.now()
    ChargingSession.objects.create(
        municipality=station.municipality,
        station=station,
        connector_id=1,
        transaction_ref="7",
        ocpp_version="1.6",
        started_at=now.replace(hour=1),
        stopped_at=now.replace(hour=2),
        status="finished",
        id_tag="=HYPERLINK(1)",
        meter_start_wh=0,
        meter_last_wh=5000,
        cost_total_ct=245,
        cost_energy_ct=245,
    )
    strong_login(client, operator)
    response = client.get("/verwaltung/laden/ladevorgaenge/", {"format": "csv"})
    assert response.status_code == 200
    [row] = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert row["energy_wh"] == "5000"
    assert row["cost_total_ct"] == "245"
    assert row["token"] == "'=HYPERLINK(1)"  # no formula in a spreadsheet
    data = json.loads(client.get("/verwaltung/laden/ladevorgaenge/", {"format": "json"}).content)
    assert data["cdrs"][0]["transaction"] == "7"
    assert client.get("/verwaltung/laden/ladevorgaenge/", {"since": "gestern"}).status_code == 400
    empty = client.get(
        "/verwaltung/laden/ladevorgaenge/", {"format": "json", "since": "2999-01-01"}
    )
    assert json.loads(empty.content)["cdrs"] == []
