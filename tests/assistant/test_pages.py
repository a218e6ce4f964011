"""Kiosk, portal and back-office pages: answers, routes, tickets, editing, access."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from rathaus.assistant.demo import DEFAULT_ROOMS, demo_floors
from rathaus.assistant.models import Building, Device, Edge, LexiconEntry, Node, QuestionStat
from rathaus.buergerbuero.models import Ticket
from rathaus.core.models import Municipality
from tests.assistant.conftest import make_location
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(municipality: Municipality) -> Any:
    return StaffFactory(
        municipality=municipality,
        permissions=["assistant.manage_assistant", "assistant.view_assistant_statistics"],
    )


def test_kiosk_start_page_shows_big_buttons(client: Client, building: Building) -> None:
    response = client.get("/kiosk/assistent/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="kiosk-choice"' in html
    assert 'data-idle-seconds="90"' in html
    assert f'name="ort" value="{building.location.pk}"' in html


def test_kiosk_answer_route_and_ticket(clock: Any, client: Client, office_building: Any) -> None:
    office, service, _building = office_building
    response = client.get("/kiosk/assistent/", {"q": "Pass beantragen", "ort": office.location.pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Reisepass" in html
    assert "E.01" in html
    assert "barrierefrei=1" in html
    assert f"/termine/zeiten/?service={service.pk}&amp;location={office.location.pk}" in html
    assert QuestionStat.objects.get().words == "pass beantragen"
    route = client.get(
        "/kiosk/assistent/weg/",
        {"ort": office.location.pk, "ziel": "0:room-e-01", "barrierefrei": "1"},
    )
    assert route.status_code == 200
    assert "<svg" in route.content.decode()
    assert "plan-route" in route.content.decode()
    ticket = client.post(
        "/kiosk/assistent/nummer/", {"ort": office.location.pk, "leistung": service.pk}
    )
    assert ticket.status_code == 201
    assert Ticket.objects.get().number in ticket.content.decode()


def test_kiosk_hostile_input(
    client: Client, building: Building, other_municipality: Municipality
) -> None:
    assert client.get("/kiosk/assistent/", {"q": ""}).status_code == 400
    assert client.get("/kiosk/assistent/", {"q": "x" * 5000}).status_code == 400
    assert client.get("/kiosk/assistent/", {"q": "<script>alert(1)</script>"}).status_code == 200
    assert (
        "<script>alert(1)</script>"
        not in client.get("/kiosk/assistent/", {"q": "<script>alert(1)</script>"}).content.decode()
    )
    assert client.get("/kiosk/assistent/", {"ort": "abc"}).status_code == 404
    foreign = make_location(other_municipality)
    assert client.get("/kiosk/assistent/", {"ort": foreign.pk}).status_code == 404
    assert (
        client.get(
            "/kiosk/assistent/weg/", {"ort": building.location.pk, "ziel": "Z.99"}
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/kiosk/assistent/nummer/", {"ort": building.location.pk, "leistung": "x"}
        ).status_code
        == 404
    )
    assert not Ticket.objects.exists()


def test_portal_page_and_route_page(client: Client, building: Building) -> None:
    assert client.get("/assistent/").status_code == 200
    response = client.get(
        "/assistent/weg/", {"ort": building.location.pk, "ziel": "1.01", "barrierefrei": "1"}
    )
    assert response.status_code == 200
    assert "plan-route" in response.content.decode()


def test_feedback_counts_anonymously(client: Client, building: Building) -> None:
    client.get("/assistent/", {"q": "Hundesteuer zahlen"})
    response = client.post(
        "/assistent/rueckmeldung/", {"q": "Hundesteuer zahlen", "kanal": "web", "hilfreich": "0"}
    )
    assert response.status_code == 302
    assert QuestionStat.objects.get().not_helpful == 1
    assert client.post("/assistent/rueckmeldung/", {"q": "x", "kanal": "evil"}).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/verwaltung/assistent/",
        "/verwaltung/assistent/lexikon/",
        "/verwaltung/assistent/gebaeude/",
        "/verwaltung/assistent/geraete/",
    ],
)
def test_back_office_needs_staff_with_permission(
    client: Client, municipality: Municipality, url: str
) -> None:
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(StaffFactory(municipality=municipality))
    assert client.get(url).status_code == 403


def test_editor_manages_lexicon(client: Client, editor: Any) -> None:
    client.force_login(editor)
    assert client.get("/verwaltung/assistent/lexikon/").status_code == 200
    response = client.post(
        "/verwaltung/assistent/lexikon/",
        {"terms": "Amtsschimmel, Behördengang", "expansions": "Bürgerbüro", "is_active": "on"},
    )
    assert response.status_code == 302
    entry = LexiconEntry.objects.get()
    assert entry.terms == "Amtsschimmel, Behördengang"
    bad = client.post("/verwaltung/assistent/lexikon/", {"terms": ",,,", "expansions": "x"})
    assert bad.status_code == 400
    assert LexiconEntry.objects.count() == 1
    assert (
        client.post(f"/verwaltung/assistent/lexikon/{entry.pk}/", {"loeschen": "1"}).status_code
        == 302
    )
    assert not LexiconEntry.objects.exists()


def test_editor_imports_and_edits_a_building(
    client: Client, editor: Any, municipality: Municipality
) -> None:
    client.force_login(editor)
    location = make_location(municipality)
    upload = SimpleUploadedFile(
        "plan.json", json.dumps(demo_floors(DEFAULT_ROOMS)).encode(), "application/json"
    )
    response = client.post(
        "/verwaltung/assistent/gebaeude/", {"location": location.pk, "file": upload}
    )
    assert response.status_code == 302
    building = Building.objects.get(location=location)
    page = client.get(f"/verwaltung/assistent/gebaeude/{building.pk}/")
    assert page.status_code == 200
    node = Node.objects.get(floor__building=building, key="info")
    edit = client.post(
        f"/verwaltung/assistent/gebaeude/{building.pk}/orte/{node.pk}/",
        {
            "name_de": "Info-Theke",
            "name_en": "Info desk",
            "room": "E.00",
            "kind": "room",
            "x": 12,
            "y": 6,
        },
    )
    assert edit.status_code == 302
    node.refresh_from_db()
    assert node.name_de == "Info-Theke"
    toilets = Node.objects.get(floor__building=building, key="toilets")
    count = Edge.objects.count()
    added = client.post(
        f"/verwaltung/assistent/gebaeude/{building.pk}/",
        {"start": node.pk, "end": toilets.pk, "kind": "walk", "steps": 0},
    )
    assert added.status_code == 302
    assert Edge.objects.count() == count + 1
    twice = client.post(
        f"/verwaltung/assistent/gebaeude/{building.pk}/",
        {"start": toilets.pk, "end": node.pk, "kind": "walk", "steps": 0},
    )
    assert twice.status_code == 400
    assert Edge.objects.count() == count + 1
    edge = Edge.objects.order_by("-pk").first()
    assert edge is not None
    assert (
        client.post(
            f"/verwaltung/assistent/gebaeude/{building.pk}/verbindungen/{edge.pk}/loeschen/"
        ).status_code
        == 302
    )
    bad = SimpleUploadedFile("plan.json", b"{not json", "application/json")
    assert (
        client.post(
            "/verwaltung/assistent/gebaeude/", {"location": location.pk, "file": bad}
        ).status_code
        == 400
    )


def test_other_tenants_objects_are_404(
    client: Client, editor: Any, other_municipality: Municipality
) -> None:
    foreign = Building.objects.create(
        municipality=other_municipality, location=make_location(other_municipality)
    )
    entry = LexiconEntry.objects.create(municipality=other_municipality, terms="a", expansions="b")
    client.force_login(editor)
    assert client.get(f"/verwaltung/assistent/gebaeude/{foreign.pk}/").status_code == 404
    assert client.get(f"/verwaltung/assistent/lexikon/{entry.pk}/").status_code == 404
    assert (
        client.post(f"/verwaltung/assistent/lexikon/{entry.pk}/", {"loeschen": "1"}).status_code
        == 404
    )
    assert LexiconEntry.objects.filter(pk=entry.pk).exists()


def test_device_registration_shows_the_secret_once(
    client: Client, editor: Any, building: Building
) -> None:
    client.force_login(editor)
    response = client.post(
        "/verwaltung/assistent/geraete/",
        {"name": "Roboter Foyer", "kind": "robot", "location": building.location.pk},
    )
    assert response.status_code == 201
    device = Device.objects.get()
    assert device.secret in response.content.decode()
    assert device.secret not in client.get("/verwaltung/assistent/geraete/").content.decode()
    assert client.post(f"/verwaltung/assistent/geraete/{device.pk}/sperren/").status_code == 302
    device.refresh_from_db()
    assert not device.is_active


def test_statistics_page(client: Client, editor: Any, building: Building) -> None:
    client.get("/assistent/", {"q": "Hundesteuer"})
    client.get("/assistent/", {"q": "Max Mustermann"})
    client.get("/kiosk/assistent/", {"q": "Hundesteuer"})
    client.force_login(editor)
    response = client.get("/verwaltung/assistent/")
    assert response.status_code == 200
    assert "hundesteuer" in response.content.decode()
    assert "mustermann" not in response.content.decode()  # asked once: never shown
