"""The device API: signatures, replays, ask, route, ticket hand-over, slots, feedback."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client

from rathaus.assistant.models import Device, DeviceNonce, QuestionStat
from rathaus.assistant.services import device_create, device_deactivate, device_nonces_purge
from rathaus.buergerbuero.models import Ticket
from rathaus.core.models import Municipality
from tests.assistant.conftest import SignedClient

pytestmark = pytest.mark.django_db

ASK = "/api/v1/assistant/ask/"
ROUTE = "/api/v1/assistant/route/"
TICKETS = "/api/v1/assistant/tickets/"


def assert_error(response: Any, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    if code:
        assert body["error"]["code"] == code


def test_unsigned_and_badly_signed_requests_are_refused(
    client: Client, signed: SignedClient
) -> None:
    assert_error(client.post(ASK, {"question": "Pass"}, content_type="application/json"), 401)
    body = b'{"question": "Pass"}'
    headers = signed.headers("POST", ASK, body, secret="wrong")
    assert_error(client.post(ASK, body, content_type="application/json", **headers), 401)
    # A signature over another body (tampered in transit).
    headers = signed.headers("POST", ASK, b'{"question": "Other"}')
    assert_error(client.post(ASK, body, content_type="application/json", **headers), 401)
    headers = signed.headers("POST", ASK, body)
    headers["HTTP_X_DEVICE_KEY"] = "dev_unknown"
    assert_error(client.post(ASK, body, content_type="application/json", **headers), 401)
    headers = signed.headers("POST", ASK, body, nonce="short")
    assert_error(client.post(ASK, body, content_type="application/json", **headers), 401)


def test_replayed_and_stale_requests_are_refused(client: Client, signed: SignedClient) -> None:
    body = b'{"question": "Reisepass"}'
    headers = signed.headers("POST", ASK, body, nonce="n" * 20)
    assert client.post(ASK, body, content_type="application/json", **headers).status_code == 200
    replay = client.post(ASK, body, content_type="application/json", **headers)
    assert_error(replay, 401, "replayed_request")
    stale = signed.post(ASK, {"question": "Reisepass"}, timestamp=time.time() - 3600)
    assert_error(stale, 401, "stale_request")
    future = signed.post(ASK, {"question": "Reisepass"}, timestamp=time.time() + 3600)
    assert_error(future, 401, "stale_request")
    assert DeviceNonce.objects.count() == 1
    assert device_nonces_purge(before=None) == 0


def test_locked_device_and_other_tenants_device(
    client: Client,
    other_client: Client,
    signed: SignedClient,
    robot: tuple[Device, str],
    other_municipality: Municipality,
) -> None:
    other = SignedClient(other_client, signed.key_id, signed.secret)
    assert_error(other.post(ASK, {"question": "Pass"}), 401)
    device_deactivate(device=robot[0], actor=None)
    assert_error(signed.post(ASK, {"question": "Pass"}), 401)


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"question": ""},
        {"question": 42},
        {"question": ["Pass"]},
        {"question": "x" * 1001},
        {"question": "\x00\x01"},
        {"question": "Pass", "language": "fr"},
        {"question": "Pass", "limit": 0},
        {"question": "Pass", "location_id": "abc"},
    ],
)
def test_ask_hostile_input(signed: SignedClient, payload: dict[str, Any]) -> None:
    assert_error(signed.post(ASK, payload), 400)


def test_ask_route_and_ticket_hand_over(
    clock: Any, client: Client, municipality: Municipality, office_building: Any
) -> None:
    office, service, _building = office_building
    device, secret = device_create(
        municipality=municipality,
        actor=None,
        name="Kiosk Foyer",
        kind=Device.Kind.KIOSK,
        location=office.location,
    )
    api = SignedClient(client, device.key_id, secret)
    answer = api.post(ASK, {"question": "Ich brauche einen neuen Pass", "language": "de"})
    assert answer.status_code == 200, answer.content
    best = answer.json()["results"][0]
    assert best["id"] == service.pk
    assert best["location_id"] == office.location.pk
    assert best["room"] == "E.01"
    assert best["can_draw_ticket"] is True
    assert best["waiting"]["is_open"] is True
    assert QuestionStat.objects.get().channel == QuestionStat.Channel.KIOSK

    route = api.post(ROUTE, {"to": best["place"], "barrier_free": True, "language": "en"})
    assert route.status_code == 200, route.content
    data = route.json()
    assert data["steps"][-1].startswith("You have arrived")
    assert data["waypoints"][0]["key"] == "kiosk"
    assert data["stop_at"] is None  # a kiosk is not a robot

    ticket = api.post(TICKETS, {"service": service.pk})
    assert ticket.status_code == 201, ticket.content
    drawn = Ticket.objects.get()
    assert ticket.json()["number"] == drawn.number
    assert drawn.channel == Ticket.Channel.ASSISTANT
    assert list(drawn.services.all()) == [service]


def test_ticket_refusals_change_nothing(
    clock: Any,
    client: Client,
    municipality: Municipality,
    other_municipality: Municipality,
    office_building: Any,
) -> None:
    from tests.catalog.factories import ServiceFactory

    office, service, _building = office_building
    device, secret = device_create(
        municipality=municipality, actor=None, name="K", kind="kiosk", location=office.location
    )
    api = SignedClient(client, device.key_id, secret)
    foreign = ServiceFactory(municipality=other_municipality)
    assert_error(api.post(TICKETS, {"service": foreign.pk}), 404)
    assert_error(api.post(TICKETS, {"service": "x"}), 400)
    not_here = ServiceFactory(municipality=municipality)
    response = api.post(TICKETS, {"service": not_here.pk})
    assert response.status_code in (400, 404, 409, 422)
    clock.move_to("2026-12-07 19:30:00+01:00")
    assert api.post(TICKETS, {"service": service.pk}).status_code >= 400
    assert not Ticket.objects.exists()


def test_robot_route_stops_and_unknown_places(signed: SignedClient) -> None:
    response = signed.post(ROUTE, {"to": "1.02", "barrier_free": True})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["stop_at"] == "lift"
    assert data["tell_visitor"]
    assert data["waypoints"][-1]["key"] == "lift"
    assert_error(signed.post(ROUTE, {"to": "Z.99"}), 404, "unknown_place")
    assert_error(signed.post(ROUTE, {"to": "1.02", "location_id": 999999}), 404)
    assert_error(signed.post(ROUTE, {"to": 5}), 400)


def test_slots_and_feedback(
    clock: Any, client: Client, municipality: Municipality, office_building: Any
) -> None:
    office, service, _building = office_building
    device, secret = device_create(
        municipality=municipality, actor=None, name="K", kind="kiosk", location=office.location
    )
    api = SignedClient(client, device.key_id, secret)
    slots = api.get(f"/api/v1/assistant/slots/?service={service.pk}&days=3")
    assert slots.status_code == 200, slots.content
    assert isinstance(slots.json(), list)
    assert_error(api.get("/api/v1/assistant/slots/?service=abc"), 404)
    assert_error(api.get(f"/api/v1/assistant/slots/?service={service.pk}&days=x"), 400)
    feedback = {"question": "Reisepass", "helpful": True}
    assert_error(api.post("/api/v1/assistant/feedback/", feedback), 404)
    assert api.post(ASK, {"question": "Reisepass"}).status_code == 200
    assert api.post("/api/v1/assistant/feedback/", feedback).status_code == 204
    assert QuestionStat.objects.get().helpful == 1
