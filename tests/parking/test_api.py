"""The open data and push API: ParkAPI v3 shape, DATEX II XML, stale as stale, sign
texts, forecasts, recommendations; pushes need a token with the permission."""

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from lxml import etree

from rathaus.core.models import Municipality
from rathaus.parking import datex
from rathaus.parking.models import PUSH_READINGS, Observation, ParkingSite
from tests.factories import UserFactory
from tests.parking.conftest import staff_with, token_for
from tests.parking.factories import (
    EventModeFactory,
    ParkingSiteFactory,
    RestrictionFactory,
    SignFactory,
    SignLineFactory,
)

pytestmark = pytest.mark.django_db
API = "/api/v1/parking"


def test_parkapi_sites_show_live_values_and_stale_as_stale(
    client: Client,
    site: ParkingSite,
    municipality: Municipality,
    other_municipality: Municipality,
    django_assert_max_num_queries: Any,
) -> None:
    RestrictionFactory(site=site, kind="DISABLED", capacity=6)
    stale = ParkingSiteFactory(
        municipality=municipality,
        name="Alt",
        realtime_free=50,
        realtime_at=timezone.now() - timedelta(minutes=31),
    )
    ParkingSiteFactory(municipality=other_municipality, name="Fremd")
    for _ in range(5):
        ParkingSiteFactory(municipality=municipality)
    with django_assert_max_num_queries(4):
        response = client.get(f"{API}/parkapi/v3/parking-sites")
    assert response.status_code == 200
    items = {item["name"]: item for item in response.json()["items"]}
    assert "Fremd" not in items
    assert len(items) == 7
    live = items["Marstall"]
    assert (live["realtime_free_capacity"], live["capacity"], live["realtime_data_outdated"]) == (
        123,
        200,
        False,
    )
    assert live["capacity_disabled"] == 6
    assert live["type"] == "CAR_PARK"
    assert items["Alt"]["realtime_free_capacity"] is None
    assert items["Alt"]["realtime_data_outdated"] is True
    assert (
        client.get(f"{API}/parkapi/v3/parking-sites/{stale.pk}").json()["realtime_data_outdated"]
        is True
    )


def test_another_municipalitys_site_is_404(
    other_client: Client, site: ParkingSite, other_municipality: Municipality
) -> None:
    response = other_client.get(f"{API}/parkapi/v3/parking-sites/{site.pk}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert other_client.get(f"{API}/sites/{site.pk}/forecast").status_code == 404


def test_datex_publication_is_valid_xml_and_round_trips(
    client: Client, site: ParkingSite, municipality: Municipality
) -> None:
    ParkingSiteFactory(
        municipality=municipality,
        external_id="alt",
        realtime_free=5,
        realtime_at=timezone.now() - timedelta(hours=1),
    )
    response = client.get(f"{API}/datex/status.xml", HTTP_ACCEPT="application/xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    root = etree.fromstring(response.content)
    statuses = {
        s.find(f"{{{datex.NS_PRK}}}parkingRecordReference").get("id"): s.findtext(
            f"{{{datex.NS_PRK}}}parkingSiteStatus"
        )
        for s in root.iter(f"{{{datex.NS_PRK}}}parkingRecordStatus")
    }
    assert statuses == {"marstall": "spacesAvailable", "alt": "unknown"}
    records = {r.site: r.free for r in datex.status_parse(response.content)}
    assert records == {"marstall": 123}  # the stale site carries no number


def test_sign_texts(client: Client, site: ParkingSite, municipality: Municipality) -> None:
    full = ParkingSiteFactory(
        municipality=municipality, name="Schloss", realtime_free=0, realtime_at=timezone.now()
    )
    silent = ParkingSiteFactory(municipality=municipality, name="Bahnhof")
    sign = SignFactory(municipality=municipality, key="ortseingang")
    SignLineFactory(sign=sign, site=site, position=0, arrow="left")
    SignLineFactory(sign=sign, site=full, position=1, arrow="straight")
    SignLineFactory(sign=sign, site=silent, position=2, arrow="right", label="P+R")
    body = client.get(f"{API}/signs/ortseingang").json()
    assert [line["text"] for line in body["lines"]] == [
        "P Marstall 123 frei",
        "P Schloss besetzt",
        "P P+R keine Daten",
    ]
    assert [line["arrow"] for line in body["lines"]] == ["left", "straight", "right"]
    assert body["event_mode"] is None
    # An event mode redirects the sign while it runs.
    mode = EventModeFactory(municipality=municipality, name="Weihnachtsmarkt", message="Markt")
    SignLineFactory(sign=sign, site=silent, event_mode=mode, arrow="right", label="P+R")
    body = client.get(f"{API}/signs/ortseingang").json()
    assert body["event_mode"] == "Weihnachtsmarkt"
    assert [line["text"] for line in body["lines"]] == ["P P+R keine Daten"]
    assert client.get(f"{API}/signs/unknown").status_code == 404


def test_closed_site_says_closed_not_a_number(client: Client, municipality: Municipality) -> None:
    night = ParkingSiteFactory(
        municipality=municipality,
        name="Nacht",
        opening_hours="Mo-Su off",
        realtime_free=30,
        realtime_at=timezone.now(),
    )
    sign = SignFactory(municipality=municipality, key="nacht")
    SignLineFactory(sign=sign, site=night)
    line = client.get(f"{API}/signs/nacht").json()["lines"][0]
    assert (line["status"], line["free"], line["text"]) == ("closed", None, "P Nacht geschlossen")


def test_forecast_and_recommendations(
    client: Client, site: ParkingSite, municipality: Municipality
) -> None:
    far = ParkingSiteFactory(
        municipality=municipality,
        name="Weit",
        lat="48.95",
        lon="9.25",
        realtime_free=150,
        realtime_at=timezone.now(),
    )
    body = client.get(f"{API}/sites/{site.pk}/forecast").json()
    assert [row["horizon"] for row in body["forecasts"]] == [15, 30, 60, 120]
    assert body["forecasts"][0]["free"] == 123  # persistence without a model
    assert body["forecasts"][-1]["free_low"] < 123 < body["forecasts"][-1]["free_high"]
    found = client.get(f"{API}/recommendations", {"lat": "48.8951", "lon": "9.1903"}).json()
    assert [r["name"] for r in found] == ["Marstall", "Weit"]
    assert found[0]["walking_minutes"] <= 1
    RestrictionFactory(site=far, kind="CHARGING", capacity=2)
    charging = client.get(
        f"{API}/recommendations", {"lat": "48.8951", "lon": "9.1903", "needs": "CHARGING"}
    ).json()
    assert [r["name"] for r in charging] == ["Weit"]
    bad = client.get(f"{API}/recommendations", {"lat": "999", "lon": "x", "needs": "JETPACK"})
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"lat", "lon", "needs"}


def test_push_json_with_token(
    client: Client, site: ParkingSite, municipality: Municipality
) -> None:
    raw = token_for(staff_with(municipality, [PUSH_READINGS]))
    at = (site.realtime_at + timedelta(seconds=1)).isoformat()
    response = client.post(
        f"{API}/push",
        {
            "readings": [
                {"site": "marstall", "free": 80, "at": at},
                {"site": "nope", "free": 1, "at": at},
                {"site": "marstall", "free": 999},
            ]
        },
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 1
    assert sorted(r["reason"] for r in body["rejected"]) == ["bad_timestamp", "unknown_site"]
    site.refresh_from_db()
    assert site.realtime_free == 80


def test_push_csv_with_token(client: Client, site: ParkingSite, municipality: Municipality) -> None:
    raw = token_for(staff_with(municipality, [PUSH_READINGS]))
    at = (site.realtime_at + timedelta(seconds=1)).isoformat()
    response = client.post(
        f"{API}/push.csv",
        f"site,free,at\nmarstall,70,{at}\n".encode(),
        content_type="text/csv",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    broken = client.post(
        f"{API}/push.csv",
        "site,free,at\nä".encode("latin-1"),
        content_type="text/csv",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert broken.status_code == 400
    assert broken.json()["error"]["code"] == "bad_encoding"


def test_spoofed_pushes_are_refused(
    client: Client,
    other_client: Client,
    site: ParkingSite,
    municipality: Municipality,
    other_municipality: Municipality,
) -> None:
    body = {"readings": [{"site": "marstall", "free": 1, "at": timezone.now().isoformat()}]}
    assert client.post(f"{API}/push", body, content_type="application/json").status_code in {
        401,
        403,
    }
    assert (
        client.post(
            f"{API}/push",
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION="Bearer rh_forged",
        ).status_code
        == 401
    )
    no_permission = token_for(staff_with(municipality, []))
    assert (
        client.post(
            f"{API}/push",
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {no_permission}",
        ).status_code
        == 403
    )
    citizen = token_for(UserFactory(municipality=municipality))
    assert (
        client.post(
            f"{API}/push",
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {citizen}",
        ).status_code
        == 403
    )
    # A token of another municipality does not work here, nor there for our sites.
    foreign = token_for(staff_with(other_municipality, [PUSH_READINGS]))
    assert (
        client.post(
            f"{API}/push",
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {foreign}",
        ).status_code
        == 401
    )
    there = other_client.post(
        f"{API}/push", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {foreign}"
    )
    assert there.json()["rejected"][0]["reason"] == "unknown_site"
    site.refresh_from_db()
    assert site.realtime_free == 123
    assert not Observation.objects.exists()


def test_oversized_and_malformed_pushes(
    client: Client, site: ParkingSite, municipality: Municipality
) -> None:
    raw = token_for(staff_with(municipality, [PUSH_READINGS]))
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    many = {"readings": [{"site": "marstall", "free": 1, "at": "2026-01-01T00:00:00Z"}] * 1001}
    response = client.post(f"{API}/push", many, content_type="application/json", **auth)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "oversized"
    assert (
        client.post(f"{API}/push", "{broken", content_type="application/json", **auth).status_code
        == 400
    )
    assert (
        client.post(f"{API}/push", [], content_type="application/json", **auth).status_code == 400
    )
    assert client.post(f"{API}/push", "x", content_type="text/plain", **auth).status_code == 415
