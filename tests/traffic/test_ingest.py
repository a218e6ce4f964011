"""Detector data and priority requests in: HTTP API and MQTT, validated, gaps reported."""

import json
import queue
import time as clock
from datetime import time, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time

from rathaus.accounts.models import User
from rathaus.accounts.services import api_token_create
from rathaus.core.models import Municipality
from rathaus.traffic import mqtt, services
from rathaus.traffic.models import DataGap, Detector, DetectorReading, Intersection, PriorityRequest
from tests.conftest import require_service
from tests.factories import StaffFactory
from tests.traffic.conftest import plan_for

pytestmark = pytest.mark.django_db

READINGS = "/api/v1/traffic/detector-readings/"
PRIORITY = "/api/v1/traffic/priority-requests/"


@pytest.fixture
def detector(intersection: Intersection) -> Detector:
    return intersection.detectors.order_by("pk").first()  # type: ignore[return-value]


@pytest.fixture
def api(engineer: User) -> Client:
    _token, raw = api_token_create(user=engineer, name="Feldgerät")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def post(client: Client, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def reading(detector: Detector, minutes_ago: float, /, **overrides: Any) -> dict[str, Any]:
    row = {
        "detector": detector.pk,
        "measured_at": (timezone.now() - timedelta(minutes=minutes_ago)).isoformat(),
        "count": 12,
        "occupancy": 0.25,
    }
    row.update(overrides)
    return row


def test_readings_are_stored_duplicates_skipped_and_gaps_reported(
    api: Client, detector: Detector
) -> None:
    rows = [reading(detector, 10), reading(detector, 9)]
    response = post(api, READINGS, {"readings": rows})
    assert response.status_code == 201, response.content
    assert response.json() == {"accepted": 2, "duplicates": 0, "gaps": []}
    again = post(api, READINGS, {"readings": rows[:1]})
    assert again.json() == {"accepted": 0, "duplicates": 1, "gaps": []}
    # a five-minute silence with a 60 s interval is a gap, reported and not filled
    late = post(api, READINGS, {"readings": [reading(detector, 1)]})
    assert late.status_code == 201
    assert len(late.json()["gaps"]) == 1
    assert DataGap.objects.filter(detector=detector).count() == 1
    assert DetectorReading.objects.filter(detector=detector).count() == 3
    live = Intersection.objects.get(pk=detector.intersection_id).live_state
    assert live["detectors"][detector.name]["count"] == 12


def test_exact_duplicate_is_counted_not_stored(api: Client, detector: Detector) -> None:
    row = reading(detector, 3)
    post(api, READINGS, {"readings": [row]})
    response = post(api, READINGS, {"readings": [row]})
    assert response.json()["duplicates"] == 1
    assert DetectorReading.objects.count() == 1


@pytest.mark.parametrize(
    "override",
    [
        {"count": -1},
        {"count": 5000},
        {"occupancy": 1.5},
        {"occupancy": -0.1},
        {"measured_at": (timezone.now() + timedelta(hours=1)).isoformat()},
        {"measured_at": (timezone.now() - timedelta(days=30)).isoformat()},
        {"detector": 999999},
    ],
)
def test_invalid_readings_reject_the_whole_batch(
    api: Client, detector: Detector, override: dict
) -> None:
    response = post(
        api, READINGS, {"readings": [reading(detector, 2), reading(detector, 1, **override)]}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "invalid"
    assert not DetectorReading.objects.exists()


@pytest.mark.parametrize(
    "body",
    [{}, {"readings": []}, {"readings": "x"}, {"readings": [{"detector": "a"}]}, [1, 2]],
)
def test_malformed_bodies(api: Client, body: Any) -> None:
    response = post(api, READINGS, body)
    assert response.status_code == 400
    assert "error" in response.json()


def test_oversized_batch_is_refused(api: Client, detector: Detector) -> None:
    rows = [reading(detector, 60 - i * 0.01) for i in range(501)]
    assert post(api, READINGS, {"readings": rows}).status_code == 400


def test_another_tenants_detector_is_unknown(
    api: Client, other_municipality: Municipality, cologne1_net: bytes
) -> None:
    theirs = services.network_import(
        municipality=other_municipality, content=cologne1_net, network="x"
    )[0]
    their_detector = theirs.detectors.first()
    response = post(api, READINGS, {"readings": [reading(their_detector, 1)]})  # type: ignore[arg-type]
    assert response.status_code == 400
    assert not DetectorReading.objects.exists()


def test_unauthenticated_and_unprivileged_callers(
    municipality: Municipality, detector: Detector
) -> None:
    assert post(Client(), READINGS, {"readings": [reading(detector, 1)]}).status_code in (401, 403)
    _t, raw = api_token_create(user=StaffFactory(municipality=municipality), name="x")
    plain = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert post(plain, READINGS, {"readings": [reading(detector, 1)]}).status_code == 403
    assert not DetectorReading.objects.exists()


def test_priority_requests(api: Client, intersection: Intersection) -> None:
    ok = post(
        api,
        PRIORITY,
        {"intersection": intersection.pk, "kind": "bus", "vehicle": "Linie 7", "group": 5},
    )
    assert ok.status_code == 201, ok.content
    assert ok.json()["group"] == 5
    unknown = post(
        api, PRIORITY, {"intersection": 999999, "kind": "bus", "vehicle": "x", "group": 0}
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_intersection"
    bad_group = post(
        api, PRIORITY, {"intersection": intersection.pk, "kind": "bus", "vehicle": "x", "group": 77}
    )
    assert bad_group.status_code == 400
    bad_kind = post(
        api, PRIORITY, {"intersection": intersection.pk, "kind": "ufo", "vehicle": "x", "group": 1}
    )
    assert bad_kind.status_code == 400
    assert PriorityRequest.objects.count() == 1


def test_intersection_list_api(api: Client, intersection: Intersection) -> None:
    response = api.get("/api/v1/traffic/intersections/")
    assert response.status_code == 200
    assert response.json()[0]["sumo_id"] == intersection.sumo_id


def test_the_timetable_of_approved_plans_for_field_controllers(
    api: Client,
    intersection: Intersection,
    engineer: User,
    second_engineer: User,
    other_municipality: Municipality,
    cologne1_net: bytes,
    municipality: Municipality,
) -> None:
    def plan(name: str, starts: time, ends: time) -> Any:
        return plan_for(intersection, name, starts, ends, author=engineer)

    day = services.plan_approve(plan=plan("Tag", time(6), time(22)), actor=second_engineer)
    night = services.plan_approve(plan=plan("Nacht", time(23), time(5)), actor=second_engineer)
    plan("Spitze", time(7), time(9))  # a draft: never sent to the field
    url = f"/api/v1/traffic/intersections/{intersection.pk}/timetable/"
    with freeze_time("2026-11-30T10:00:00Z"):  # 11:00 in Germany
        body = api.get(url).json()
    assert body["intersection"] == intersection.pk
    assert body["sumo_id"] == intersection.sumo_id
    assert body["time_zone"] == "Europe/Berlin"
    assert body["in_force"] == day.pk
    assert [(p["id"], p["starts_at"], p["ends_at"]) for p in body["plans"]] == [
        (day.pk, "06:00", "22:00"),
        (night.pk, "23:00", "05:00"),
    ]
    assert body["plans"][0]["cycle"] == day.cycle
    assert [g["green"] for g in body["plans"][0]["greens"]] == [g["green"] for g in day.greens]
    assert body["without_plan"] == [
        {"starts_at": "05:00", "ends_at": "06:00"},
        {"starts_at": "22:00", "ends_at": "23:00"},
    ]
    with freeze_time("2026-11-30T04:30:00Z"):  # 05:30: the base program
        assert api.get(url).json()["in_force"] is None
    # another municipality's intersection, one that does not exist, no token, no right
    theirs = services.network_import(
        municipality=other_municipality, content=cologne1_net, network="x"
    )[0]
    assert api.get(f"/api/v1/traffic/intersections/{theirs.pk}/timetable/").status_code == 404
    assert api.get("/api/v1/traffic/intersections/999999/timetable/").status_code == 404
    assert api.get("/api/v1/traffic/intersections/abc/timetable/").status_code == 404
    assert Client().get(url).status_code in (401, 403)
    _t, raw = api_token_create(user=StaffFactory(municipality=municipality), name="x")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get(url).status_code == 403


def test_mqtt_message_handling(
    detector: Detector, intersection: Intersection, municipality: Municipality
) -> None:
    topic = f"rathaus/{municipality.slug}/traffic/detector/{detector.pk}"
    payload = json.dumps(
        {"measured_at": timezone.now().isoformat(), "count": 3, "occupancy": 0.1}
    ).encode()
    assert mqtt.message_handle(topic, payload)["ok"] is True
    assert mqtt.message_handle(topic, payload)["duplicates"] == 1
    assert mqtt.message_handle(topic, b"{nope")["ok"] is False
    assert mqtt.message_handle(topic, b"[]")["ok"] is False
    assert mqtt.message_handle(topic, b"x" * 5000)["ok"] is False
    negative = json.dumps(
        {"measured_at": timezone.now().isoformat(), "count": -2, "occupancy": 0.1}
    )
    assert mqtt.message_handle(topic, negative.encode())["ok"] is False
    assert mqtt.message_handle("rathaus/x/traffic/other/1", payload)["ok"] is False
    assert (
        mqtt.message_handle(f"rathaus/nowhere/traffic/detector/{detector.pk}", payload)["ok"]
        is False
    )
    prio = f"rathaus/{municipality.slug}/traffic/priority/{intersection.pk}"
    assert (
        mqtt.message_handle(prio, b'{"kind": "emergency", "vehicle": "RTW 1", "group": 0}')["ok"]
        is True
    )
    assert (
        mqtt.message_handle(prio, b'{"kind": "bus", "vehicle": "7", "group": true}')["ok"] is False
    )
    assert DetectorReading.objects.filter(source="mqtt").count() == 1
    assert PriorityRequest.objects.filter(source="mqtt").count() == 1


def test_mqtt_round_trip_through_mosquitto(detector: Detector, municipality: Municipality) -> None:
    import socket

    import paho.mqtt.client as paho

    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=2).close()
    except OSError:
        require_service("mqtt", "Mosquitto on 127.0.0.1:1883")

    inbox: queue.Queue[tuple[str, bytes]] = queue.Queue()
    subscriber = mqtt.client_connect(
        host="127.0.0.1", port=1883, on_message=lambda t, p: inbox.put((t, p))
    )
    try:
        publisher = paho.Client(paho.CallbackAPIVersion.VERSION2)
        publisher.connect("127.0.0.1", 1883)
        publisher.loop_start()
        topic = f"rathaus/{municipality.slug}/traffic/detector/{detector.pk}"
        body = json.dumps({"measured_at": timezone.now().isoformat(), "count": 4, "occupancy": 0.2})
        deadline = clock.monotonic() + 10
        received = None
        while received is None and clock.monotonic() < deadline:
            publisher.publish(topic, body, qos=1).wait_for_publish(timeout=2)
            try:
                received = inbox.get(timeout=1)
            except queue.Empty:
                continue
        publisher.loop_stop()
        publisher.disconnect()
    finally:
        subscriber.loop_stop()
        subscriber.disconnect()
    assert received is not None
    assert mqtt.message_handle(*received)["ok"] is True
    assert DetectorReading.objects.get().count == 4
