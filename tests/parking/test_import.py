"""Site import from the documented JSON and CSV formats: all or nothing, clear errors."""

import json

import pytest

from rathaus.core.errors import ValidationFailed
from rathaus.core.models import Municipality
from rathaus.parking.models import ParkingSite, Restriction, Space
from rathaus.parking.services import sites_import

pytestmark = pytest.mark.django_db

SITE = {
    "id": "marstall",
    "name": "Marstall",
    "type": "CAR_PARK",
    "lat": 48.8951,
    "lon": 9.1903,
    "capacity": 420,
    "opening_hours": "Mo-Sa 06:00-24:00",
    "fee_per_hour": "2.00",
    "restrictions": [{"kind": "DISABLED", "capacity": 12}],
    "entrances": [{"name": "Nord", "lat": 48.8953, "lon": 9.1899}],
    "spaces": [{"id": "R1", "reservable": True}],
}


def _json(*sites: dict[str, object]) -> bytes:
    return json.dumps({"sites": list(sites)}).encode()


def test_json_import_creates_then_updates(municipality: Municipality) -> None:
    result = sites_import(municipality=municipality, data=_json(SITE), fmt="json")
    assert (result.created, result.updated) == (1, 0)
    site = ParkingSite.objects.get(municipality=municipality, external_id="marstall")
    assert site.capacity == 420
    assert site.entrances.count() == 1
    assert Restriction.objects.get(site=site).capacity == 12
    assert Space.objects.get(site=site).reservable is True
    again = sites_import(
        municipality=municipality,
        data=_json({**SITE, "capacity": 400, "restrictions": []}),
        fmt="json",
    )
    assert (again.created, again.updated) == (0, 1)
    site.refresh_from_db()
    assert site.capacity == 400
    assert not site.restrictions.exists()


def test_csv_import(municipality: Municipality) -> None:
    raw = (
        "id;name;type;lat;lon;capacity;opening_hours;capacity_disabled;capacity_charging\n"
        "schloss;Schloss;UNDERGROUND;48.899;9.196;250;24/7;6;4\n"
    ).encode("utf-8-sig")
    assert sites_import(municipality=municipality, data=raw, fmt="csv").created == 1
    site = ParkingSite.objects.get(external_id="schloss")
    assert dict(site.restrictions.values_list("kind", "capacity")) == {"DISABLED": 6, "CHARGING": 4}


@pytest.mark.parametrize(
    ("data", "fmt", "message"),
    [
        (b"\xff\xfe\x00broken", "json", "UTF-8"),
        (b"{not json", "json", "not valid JSON"),
        (b'{"sites": {}}', "json", "list"),
        (_json({**SITE, "opening_hours": "Mo-Fr 25:00-26:00"}), "json", "opening hours"),
        (_json({**SITE, "type": "HANGAR"}), "json", "unknown type"),
        (_json({**SITE, "capacity": "viele"}), "json", "whole number"),
        (_json({**SITE, "lat": 123}), "json", "not valid"),
        (_json({**SITE, "id": "../x"}), "json", "not valid"),
        (_json(SITE, SITE), "json", "appears twice"),
        (
            _json({**SITE, "restrictions": [{"kind": "DISABLED", "capacity": 9999}]}),
            "json",
            "restriction",
        ),
        (b"x" * (2 * 1024 * 1024 + 1), "json", "2 MB"),
        (_json(), "json", "no sites"),
        ("id,name\nä,b\n".encode("latin-1"), "csv", "UTF-8"),
    ],
)
def test_bad_files_change_nothing(
    municipality: Municipality, data: bytes, fmt: str, message: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        sites_import(municipality=municipality, data=data, fmt=fmt)
    text = str(caught.value.message) + " ".join(" ".join(v) for v in caught.value.fields.values())
    assert message in text
    assert not ParkingSite.objects.exists()


def test_a_bad_second_site_rolls_back_the_first(municipality: Municipality) -> None:
    with pytest.raises(ValidationFailed):
        sites_import(
            municipality=municipality,
            data=_json(SITE, {**SITE, "id": "two", "capacity": -1}),
            fmt="json",
        )
    assert not ParkingSite.objects.exists()


def test_import_is_per_municipality(
    municipality: Municipality, other_municipality: Municipality
) -> None:
    sites_import(municipality=municipality, data=_json(SITE), fmt="json")
    sites_import(
        municipality=other_municipality, data=_json({**SITE, "name": "Anderswo"}), fmt="json"
    )
    assert ParkingSite.objects.get(municipality=municipality).name == "Marstall"
    assert ParkingSite.objects.get(municipality=other_municipality).name == "Anderswo"
