"""Staff configure guidance signs with their lines, event modes and DATEX II sources in
the back office; what they save is what the sign API shows. Hostile input: another
municipality's car parks and ids, forged row counts, bad addresses and times."""

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from rathaus.audit.models import AuditEvent
from rathaus.core.errors import PermissionDenied, ValidationFailed
from rathaus.core.models import Municipality
from rathaus.parking import services
from rathaus.parking.models import (
    MANAGE_PARKING,
    DatexSource,
    EventMode,
    ParkingSite,
    Sign,
    SignLine,
)
from tests.conftest import strong_login
from tests.factories import UserFactory
from tests.parking.conftest import staff_with
from tests.parking.factories import EventModeFactory, ParkingSiteFactory, SignFactory

BASE = "/verwaltung/parken/anzeigen/"


@pytest.fixture
def clerk_client(municipality: Municipality) -> Client:
    """A parking clerk whose browser asks for English (messages asserted in English)."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    strong_login(client, staff_with(municipality, [MANAGE_PARKING]))
    return client


def sign_data(lines: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "key": "ring-nord",
        "name": "Ring Nord",
        "kind": "matrix",
        "location": "Friedrichstraße",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "12",
    }
    data.update(fields)
    for index, line in enumerate(lines):
        for name, value in line.items():
            data[f"lines-{index}-{name}"] = value
    return data


def test_the_pages_need_the_permission(client: Client, municipality: Municipality) -> None:
    assert client.get(BASE).status_code == 302
    client.force_login(UserFactory(municipality=municipality))
    assert client.get(BASE).status_code == 403
    assert client.post(BASE + "neu/", sign_data([])).status_code == 403
    assert not Sign.objects.exists()


def test_a_sign_with_normal_and_event_lines_is_what_the_sign_api_shows(
    clerk_client: Client, municipality: Municipality, site: ParkingSite
) -> None:
    # given two car parks and a running event mode
    other = ParkingSiteFactory(
        municipality=municipality, name="Arena", realtime_free=0, realtime_at=timezone.now()
    )
    mode = EventModeFactory(municipality=municipality, message="Stadion")
    page = clerk_client.get(BASE + "neu/")
    assert page.status_code == 200
    assert "Marstall" in page.content.decode()
    # when staff save a sign with one normal line and one line for the event
    response = clerk_client.post(
        BASE + "neu/",
        sign_data(
            [
                {"site": site.pk, "arrow": "left", "label": "", "event_mode": ""},
                {"site": other.pk, "arrow": "right", "label": "Arena", "event_mode": mode.pk},
                {"site": "", "arrow": "", "label": "", "event_mode": ""},
            ]
        ),
    )
    assert response.status_code == 302
    sign = Sign.objects.get(municipality=municipality)
    assert sign.key == "ring-nord"
    assert sign.lines.count() == 2
    # then, while the event runs, the sign controller gets its lines and message
    shown = clerk_client.get("/api/v1/parking/signs/ring-nord").json()
    assert shown["message"] == "Stadion"
    assert [line["text"] for line in shown["lines"]] == ["P Arena besetzt"]
    # and without it the normal line
    mode.delete()
    shown = clerk_client.get("/api/v1/parking/signs/ring-nord").json()
    assert [line["text"] for line in shown["lines"]] == ["P Marstall 123 frei"]
    assert shown["lines"][0]["arrow"] == "left"
    # the overview shows it, the change is audited, and editing replaces the lines
    assert "P Marstall 123 frei" in clerk_client.get(BASE).content.decode()
    edit = clerk_client.get(f"{BASE}{sign.pk}/")
    assert edit.status_code == 200
    assert f'value="{site.pk}" selected' in edit.content.decode()
    changed = clerk_client.post(
        f"{BASE}{sign.pk}/",
        sign_data([{"site": other.pk, "arrow": "straight"}], name="Ring Nord 2"),
    )
    assert changed.status_code == 302
    sign.refresh_from_db()
    assert sign.name == "Ring Nord 2"
    assert list(sign.lines.values_list("site_id", "arrow")) == [(other.pk, "straight")]
    assert AuditEvent.objects.filter(action="parking.sign.created").count() == 1
    assert AuditEvent.objects.filter(action="parking.sign.changed").count() == 1
    # deleting the sign removes it from the API
    assert clerk_client.post(f"{BASE}{sign.pk}/loeschen/").status_code == 302
    assert clerk_client.get("/api/v1/parking/signs/ring-nord").status_code == 404
    assert not SignLine.objects.exists()


@pytest.mark.parametrize(
    ("fields", "lines", "message"),
    [
        ({"key": "mit leerzeichen"}, [], "valid"),
        ({"key": ""}, [], "required"),
        ({"name": "x" * 121}, [], "at most 120"),
        ({"kind": "laser"}, [], "valid choice"),
        ({}, [{"site": "OWN", "label": "x" * 25}], "at most 24"),
        ({}, [{"site": "OWN", "arrow": "up"}], "valid choice"),
        ({}, [{"site": "999999"}], "valid choice"),
        ({}, [{"site": "OWN", "event_mode": "999999"}], "valid choice"),
        ({}, [{"site": "abc"}], "valid choice"),
    ],
)
def test_bad_sign_input_is_refused_and_nothing_is_saved(
    clerk_client: Client, site: ParkingSite, fields: dict, lines: list, message: str
) -> None:
    for line in lines:
        if line.get("site") == "OWN":
            line["site"] = site.pk
    response = clerk_client.post(BASE + "neu/", sign_data(lines, **fields))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Sign.objects.exists()
    assert not SignLine.objects.exists()


def test_another_municipalitys_car_parks_modes_and_signs_are_out_of_reach(
    clerk_client: Client, municipality: Municipality, other_municipality: Municipality
) -> None:
    foreign_site = ParkingSiteFactory(municipality=other_municipality, name="Fremd")
    foreign_mode = EventModeFactory(municipality=other_municipality)
    foreign_sign = SignFactory(municipality=other_municipality)
    own = ParkingSiteFactory(municipality=municipality)
    # not offered, and refused when forged
    assert "Fremd" not in clerk_client.get(BASE + "neu/").content.decode()
    for line in (
        {"site": foreign_site.pk},
        {"site": own.pk, "event_mode": foreign_mode.pk},
    ):
        response = clerk_client.post(BASE + "neu/", sign_data([line]))
        assert response.status_code == 400
    assert not Sign.objects.filter(municipality=municipality).exists()
    # another municipality's objects are 404, for reading, changing and deleting
    for url in (
        f"{BASE}{foreign_sign.pk}/",
        f"/verwaltung/parken/veranstaltungen/{foreign_mode.pk}/",
    ):
        assert clerk_client.get(url).status_code == 404
        assert clerk_client.post(url, {"name": "gekapert"}).status_code == 404
        assert clerk_client.post(url + "loeschen/").status_code == 404
    assert Sign.objects.filter(pk=foreign_sign.pk).exists()
    assert EventMode.objects.get(pk=foreign_mode.pk).name == "Stadionfest"


def test_the_key_is_unique_per_municipality_not_across(
    clerk_client: Client, municipality: Municipality, other_municipality: Municipality
) -> None:
    SignFactory(municipality=municipality, key="ring-nord")
    SignFactory(municipality=other_municipality, key="ring-sued")
    taken = clerk_client.post(BASE + "neu/", sign_data([]))
    assert taken.status_code == 400
    assert "Another sign already uses the key ring-nord" in taken.content.decode()
    assert clerk_client.post(BASE + "neu/", sign_data([], key="ring-sued")).status_code == 302
    assert Sign.objects.filter(key="ring-sued").count() == 2


def test_a_forged_row_count_cannot_add_more_than_twelve_lines(
    clerk_client: Client, site: ParkingSite
) -> None:
    lines = [{"site": site.pk} for _ in range(13)]
    response = clerk_client.post(BASE + "neu/", sign_data(lines))
    assert response.status_code == 400
    huge = sign_data([{"site": site.pk}])
    huge["lines-TOTAL_FORMS"] = "100000"
    assert clerk_client.post(BASE + "neu/", huge).status_code == 400
    broken = sign_data([])
    del broken["lines-TOTAL_FORMS"]
    assert clerk_client.post(BASE + "neu/", broken).status_code == 400
    assert not Sign.objects.exists()


def test_event_modes_are_created_changed_and_checked(
    clerk_client: Client, municipality: Municipality
) -> None:
    url = "/verwaltung/parken/veranstaltungen/neu/"
    start = timezone.localtime() + timedelta(days=1)
    data = {
        "name": "Weihnachtsmarkt",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M"),
        "message": "Markt: P+R",
    }
    assert clerk_client.get(url).status_code == 200
    assert clerk_client.post(url, data).status_code == 302
    mode = EventMode.objects.get(municipality=municipality)
    assert mode.message == "Markt: P+R"
    assert (mode.ends_at - mode.starts_at) == timedelta(hours=6)
    backwards = {**data, "ends_at": data["starts_at"]}
    response = clerk_client.post(f"/verwaltung/parken/veranstaltungen/{mode.pk}/", backwards)
    assert response.status_code == 400
    assert "The end must be after the start." in response.content.decode()
    for bad in ({"starts_at": "morgen"}, {"message": "x" * 25}, {"name": ""}):
        assert clerk_client.post(url, {**data, **bad}).status_code == 400
    assert EventMode.objects.count() == 1
    renamed = clerk_client.post(
        f"/verwaltung/parken/veranstaltungen/{mode.pk}/", {**data, "name": "Markt"}
    )
    assert renamed.status_code == 302
    mode.refresh_from_db()
    assert mode.name == "Markt"
    assert (
        clerk_client.post(f"/verwaltung/parken/veranstaltungen/{mode.pk}/loeschen/").status_code
        == 302
    )
    assert not EventMode.objects.exists()


def test_datex_sources_take_only_web_addresses_and_sane_intervals(
    clerk_client: Client, municipality: Municipality, other_municipality: Municipality
) -> None:
    url = "/verwaltung/parken/datex/neu/"
    data = {
        "name": "Parkhausbetreiber",
        "url": "https://betreiber.example/datex/parking.xml",
        "every_minutes": "5",
        "is_active": "on",
    }
    for bad in (
        {"url": "file:///etc/passwd"},
        {"url": "ftp://betreiber.example/x.xml"},
        {"url": "javascript:alert(1)"},
        {"url": "https://" + "a" * 600 + ".example/"},
        {"every_minutes": "0"},
        {"every_minutes": "100000"},
        {"every_minutes": "fünf"},
    ):
        assert clerk_client.post(url, {**data, **bad}).status_code == 400, bad
    assert not DatexSource.objects.exists()
    assert clerk_client.post(url, data).status_code == 302
    source = DatexSource.objects.get(municipality=municipality)
    assert source.is_active
    assert source.every_minutes == 5
    source.last_error = "HTTP 500"
    source.save()
    page = clerk_client.get(f"/verwaltung/parken/datex/{source.pk}/")
    assert "HTTP 500" in page.content.decode()
    # a new address clears the old address's error; unchecked means inactive
    moved = {**data, "url": "https://neu.example/parking.xml"}
    del moved["is_active"]
    assert clerk_client.post(f"/verwaltung/parken/datex/{source.pk}/", moved).status_code == 302
    source.refresh_from_db()
    assert (source.url, source.last_error, source.is_active) == (
        "https://neu.example/parking.xml",
        "",
        False,
    )
    foreign = DatexSource.objects.create(
        municipality=other_municipality, name="Fremd", url="https://fremd.example/"
    )
    assert clerk_client.get(f"/verwaltung/parken/datex/{foreign.pk}/").status_code == 404
    assert clerk_client.post(f"/verwaltung/parken/datex/{foreign.pk}/loeschen/").status_code == 404
    assert clerk_client.post(f"/verwaltung/parken/datex/{source.pk}/loeschen/").status_code == 302
    assert list(DatexSource.objects.all()) == [foreign]


def test_the_services_check_for_themselves(
    municipality: Municipality, other_municipality: Municipality, site: ParkingSite
) -> None:
    # the forms offer only the municipality's own choices; the services do not rely on it
    foreign_site = ParkingSiteFactory(municipality=other_municipality)
    foreign_mode = EventModeFactory(municipality=other_municipality)
    foreign_sign = SignFactory(municipality=other_municipality)
    common = {"key": "k", "name": "N", "kind": "matrix", "location": ""}
    with pytest.raises(ValidationFailed, match="unknown car park"):
        services.sign_save(
            municipality=municipality,
            sign=None,
            lines=[services.SignLineSpec(site_id=foreign_site.pk)],
            **common,
        )
    with pytest.raises(ValidationFailed, match="unknown event mode"):
        services.sign_save(
            municipality=municipality,
            sign=None,
            lines=[services.SignLineSpec(site_id=site.pk, event_mode_id=foreign_mode.pk)],
            **common,
        )
    with pytest.raises(ValidationFailed, match="unknown arrow"):
        services.sign_save(
            municipality=municipality,
            sign=None,
            lines=[services.SignLineSpec(site_id=site.pk, arrow="up")],
            **common,
        )
    with pytest.raises(ValidationFailed, match="at most 12 lines"):
        services.sign_save(
            municipality=municipality,
            sign=None,
            lines=[services.SignLineSpec(site_id=site.pk)] * 13,
            **common,
        )
    with pytest.raises(PermissionDenied):
        services.sign_save(municipality=municipality, sign=foreign_sign, lines=[], **common)
    now = timezone.now()
    with pytest.raises(ValidationFailed):
        services.event_mode_save(
            municipality=municipality, mode=None, name="x", starts_at=now, ends_at=now, message=""
        )
    with pytest.raises(ValidationFailed):
        services.datex_source_save(
            municipality=municipality,
            source=None,
            name="x",
            url="ftp://example.org/x.xml",
            every_minutes=5,
            is_active=True,
        )
    assert not Sign.objects.filter(municipality=municipality).exists()
    assert not EventMode.objects.filter(municipality=municipality).exists()
    assert not DatexSource.objects.exists()
