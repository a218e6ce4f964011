"""The device protocol: signatures, replays, stale and forged requests, idempotent events,
late reports after offline periods, unexpected door openings, hostile bodies."""

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time

from rathaus.accounts.models import User
from rathaus.idpickup import services, signing
from rathaus.idpickup.device_client import DEVICE_PATH, TerminalClient
from rathaus.idpickup.models import Alarm, DeviceEvent, DeviceNonce, IdOrder, Terminal
from tests.idpickup.conftest import STAFF, loaded, pin_from_mail

pytestmark = pytest.mark.django_db

S = IdOrder.Status


def _raw(client: Client, device: TerminalClient, name: str, payload: Any, **overrides: Any) -> Any:
    path = DEVICE_PATH + name
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = device.signed_headers(path, body, **overrides)
    return client.post(path, data=body, content_type="application/json", headers=headers)


def test_a_replayed_request_is_rejected(client: Client, device: TerminalClient) -> None:
    path = DEVICE_PATH + "heartbeat/"
    body = json.dumps({"camera_ok": True}).encode()
    headers = device.signed_headers(path, body)
    first = client.post(path, data=body, content_type="application/json", headers=headers)
    assert first.status_code == 200
    replay = client.post(path, data=body, content_type="application/json", headers=headers)
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "replayed_request"
    assert DeviceNonce.objects.count() == 1


def test_a_stale_or_future_timestamp_is_rejected(client: Client, device: TerminalClient) -> None:
    for stamp in (int(time.time()) - 301, int(time.time()) + 400):
        response = _raw(client, device, "heartbeat/", {}, timestamp=stamp)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "stale_request"
    assert DeviceNonce.objects.count() == 0


@pytest.mark.parametrize(
    "tamper",
    ["signature", "body", "path", "device", "missing", "wrong_key", "nonce_short"],
)
def test_forged_requests_are_rejected(
    client: Client, device: TerminalClient, make_order: Any, alice: User, bob: User, tamper: str
) -> None:
    order = make_order()
    path = DEVICE_PATH + "load/"
    body = json.dumps(
        {"staff": [{"card": c, "pin": p} for c, p in STAFF], "barcode": order.document_barcode}
    ).encode()
    headers = device.signed_headers(path, body)
    if tamper == "signature":
        headers["X-Signature"] = "0" * 64
    elif tamper == "body":
        body = body.replace(b'"barcode"', b'"barcode" ')
    elif tamper == "path":
        path = DEVICE_PATH + "open/"
    elif tamper == "device":
        headers["X-Device-Id"] = "t-unknown"
    elif tamper == "missing":
        headers = {}
    elif tamper == "wrong_key":
        other = TerminalClient(device_id=device.device_id, key="f" * 64, transport=device.transport)
        headers = other.signed_headers(path, body)
    elif tamper == "nonce_short":
        headers = device.signed_headers(path, body, nonce="abc")
    response = client.post(path, data=body, content_type="application/json", headers=headers)
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "message", "fields"}
    order.refresh_from_db()
    assert order.status == S.ARRIVED
    assert order.compartment is None


def test_a_rotated_key_stops_the_old_one(
    device: TerminalClient, terminal: Terminal, alice: User
) -> None:
    assert device.heartbeat().ok
    new_key = services.terminal_key_rotate(terminal=terminal, actor=alice)
    assert device.heartbeat().code == "device_auth_failed"
    device.key = new_key
    assert device.heartbeat().ok


def test_an_inactive_terminal_is_refused(device: TerminalClient, terminal: Terminal) -> None:
    Terminal.objects.filter(pk=terminal.pk).update(active=False)
    assert device.heartbeat().status == 401


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[]",
        {"event_id": "x", "type": "explode", "occurred_at": "2026-01-01T00:00:00Z"},
        {"event_id": "x" * 65, "type": "alarm", "occurred_at": "2026-01-01T00:00:00Z"},
        {"event_id": "e 1", "type": "alarm", "occurred_at": "2026-01-01T00:00:00Z"},
        {"event_id": "x", "type": "door_closed", "occurred_at": "yesterday", "compartment": 1},
        {"event_id": "x", "type": "door_closed", "occurred_at": "2026-01-01T00:00:00Z"},
        {
            "event_id": "x",
            "type": "door_closed",
            "occurred_at": "2026-01-01T00:00:00Z",
            "compartment": 99,
        },
        {"event_id": 5, "type": "alarm", "occurred_at": "2026-01-01T00:00:00Z"},
        {"event_id": "x", "type": "alarm", "occurred_at": "2099-01-01T00:00:00Z"},
    ],
)
def test_malformed_events_are_refused_in_the_error_shape(
    client: Client, device: TerminalClient, payload: Any
) -> None:
    response = _raw(client, device, "events/", payload)
    assert response.status_code == 400
    assert set(response.json()["error"]) == {"code", "message", "fields"}
    assert DeviceEvent.objects.count() == 0


def test_an_oversized_staff_list_is_refused(client: Client, device: TerminalClient) -> None:
    response = _raw(
        client,
        device,
        "load/",
        {"staff": [{"card": "a" * 20, "pin": "1234"}] * 3, "barcode": "ABC123"},
    )
    assert response.status_code == 400


def test_an_event_sent_twice_is_recorded_once(device: TerminalClient, terminal: Terminal) -> None:
    first = device.event("alarm", event_id="evt-1", alarm="glass")
    second = device.event("alarm", event_id="evt-1", alarm="glass")
    assert (first.status, second.status) == (201, 200)
    assert second.body == {"event_id": "evt-1", "recorded": False, "outcome": "alarm_raised"}
    assert DeviceEvent.objects.filter(terminal=terminal).count() == 1
    assert Alarm.objects.filter(terminal=terminal).count() == 1


def test_a_door_opening_without_release_raises_an_alarm(
    device: TerminalClient,
    terminal: Terminal,
    make_order: Any,
    alice: User,
    bob: User,
    mailoutbox: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    order = make_order()
    number, _closed = loaded(device, order, django_capture_on_commit_callbacks)
    # After closing, the compartment reports "door open" again: nobody released it.
    answer = device.event("door_opened", compartment=number)
    assert answer.body["outcome"] == "door_open_unexpected"
    alarm = Alarm.objects.get(terminal=terminal, kind=Alarm.Kind.DOOR_OPEN)
    assert alarm.detail == str(number)
    order.refresh_from_db()
    assert order.status == S.NOTIFIED  # nothing handed over
    # Closing again with the document gone is reported as missing.
    gone = device.event("door_closed", compartment=number, empty=True)
    assert gone.body["outcome"] == "document_missing"
    order.refresh_from_db()
    assert order.status == S.NOTIFIED


def test_loading_aborted_when_the_door_closes_empty(
    device: TerminalClient, make_order: Any, alice: User, bob: User
) -> None:
    order = make_order()
    number = device.load(staff=STAFF, barcode=order.document_barcode).body["compartment"]
    device.event("door_opened", compartment=number)
    assert device.event("door_closed", compartment=number, empty=True).body["outcome"] == (
        "load_aborted"
    )
    order.refresh_from_db()
    assert order.status == S.ARRIVED
    assert order.compartment is None
    assert order.pin_hash == ""


def test_a_document_scanned_twice_at_loading(
    device: TerminalClient, make_order: Any, alice: User, bob: User
) -> None:
    order = make_order()
    assert device.load(staff=STAFF, barcode=order.document_barcode).status == 200
    again = device.load(staff=STAFF, barcode=order.document_barcode)
    assert again.status == 409
    assert again.code == "already_loaded"
    assert IdOrder.objects.filter(compartment__isnull=False).count() == 1


def test_offline_mid_pickup_then_late_reports_by_their_own_time(
    device: TerminalClient,
    terminal: Terminal,
    make_order: Any,
    alice: User,
    bob: User,
    mailoutbox: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    order = make_order()
    number, _closed = loaded(device, order, django_capture_on_commit_callbacks)
    pin = pin_from_mail(mailoutbox[0].body)
    start = timezone.now()
    with freeze_time(start):
        session = device.identify(pin=pin).body["session"]
        assert device.verify(session=session).status == 200
    # The terminal goes offline; the citizen takes the document a minute later, and the
    # reports arrive 40 minutes later, out of order: closed first, then the opening.
    opened_at = start + timedelta(seconds=30)
    taken_at = start + timedelta(minutes=1)
    with freeze_time(start + timedelta(minutes=40)):
        closed = device.event("door_closed", compartment=number, empty=True, occurred_at=taken_at)
        assert closed.body["outcome"] == "picked_up"
        late_open = device.event("door_opened", compartment=number, occurred_at=opened_at)
        assert late_open.body["outcome"] == "stale"
    order.refresh_from_db()
    assert order.status == S.PICKED_UP
    assert order.handed_over_at == taken_at
    assert order.transitions.get(to_status=S.PICKED_UP).at == taken_at
    assert not Alarm.objects.filter(terminal=terminal, kind=Alarm.Kind.DOOR_OPEN).exists()


def test_a_document_in_handover_is_never_expired(
    device: TerminalClient,
    make_order: Any,
    alice: User,
    bob: User,
    mailoutbox: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    order = make_order()
    loaded(device, order, django_capture_on_commit_callbacks)
    pin = pin_from_mail(mailoutbox[0].body)
    assert device.verify(session=device.identify(pin=pin).body["session"]).ok
    assert services.orders_expire(now=timezone.now() + timedelta(days=30))["expired"] == 0
    order.refresh_from_db()
    assert order.status == S.HANDOVER


def test_document_left_in_the_compartment_returns_to_waiting(
    device: TerminalClient,
    terminal: Terminal,
    make_order: Any,
    alice: User,
    bob: User,
    mailoutbox: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    order = make_order()
    number, _closed = loaded(device, order, django_capture_on_commit_callbacks)
    pin = pin_from_mail(mailoutbox[0].body)
    assert device.verify(session=device.identify(pin=pin).body["session"]).ok
    device.event("door_opened", compartment=number)
    assert device.event("door_closed", compartment=number, empty=False).body["outcome"] == (
        "not_taken"
    )
    order.refresh_from_db()
    assert order.status == S.NOTIFIED
    assert Alarm.objects.filter(terminal=terminal, kind=Alarm.Kind.NOT_TAKEN).exists()
    assert device.identify(pin=pin).ok  # the PIN still works


def test_heartbeat_reports_state_and_camera_alarm(
    device: TerminalClient, terminal: Terminal
) -> None:
    answer = device.heartbeat(camera_ok=True)
    assert answer.body["terminal"] == "Foyer"
    assert [c["number"] for c in answer.body["compartments"]] == [1, 2, 3]
    terminal.refresh_from_db()
    assert terminal.last_seen_at is not None
    assert terminal.camera_ok is True
    assert device.event("camera", ok=False).body["outcome"] == "camera_fault"
    terminal.refresh_from_db()
    assert terminal.camera_ok is False
    assert Alarm.objects.filter(terminal=terminal, detail="camera").exists()


def test_manual_opening_needs_two_staff_and_is_audited(
    device: TerminalClient, terminal: Terminal, alice: User, bob: User
) -> None:
    from rathaus.audit.models import AuditEvent

    alone = device.open(staff=STAFF[:1], compartment=2, reason="door stuck")
    assert alone.code == "two_staff_required"
    assert device.open(staff=STAFF, compartment=2, reason="door stuck").ok
    event = AuditEvent.objects.filter(action="idpickup.compartment.opened").get()
    assert event.actor_id == alice.pk
    assert event.data["second_staff"] == bob.pk
    assert event.data["reason"] == "manual: door stuck"
    assert device.event("door_opened", compartment=2).body["outcome"] == "door_opened"
    assert not terminal.alarms.exists()


def test_signing_is_the_documented_canonical_form() -> None:
    canonical = signing.canonical_request(
        method="post",
        path="/api/v1/idpickup/device/heartbeat/",
        timestamp="1",
        nonce="n",
        body=b"{}",
    )
    assert canonical.split("\n") == [
        "POST",
        "/api/v1/idpickup/device/heartbeat/",
        "1",
        "n",
        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    ]


def test_a_request_sent_to_another_municipality_spends_nothing(
    client: Client,
    other_client: Client,
    other_municipality: Any,
    device: TerminalClient,
    terminal: Terminal,
) -> None:
    """A terminal's signed request is bound to the path, not the host. Sent to another
    municipality's address, it must be refused like an unknown device without storing its
    nonce or touching the terminal, so the genuine request still goes through at home."""
    path = DEVICE_PATH + "heartbeat/"
    body = json.dumps({"camera_ok": True}).encode()
    headers = device.signed_headers(path, body)
    elsewhere = other_client.post(path, data=body, content_type="application/json", headers=headers)
    assert elsewhere.status_code == 401
    assert elsewhere.json()["error"]["code"] == "device_auth_failed"
    assert DeviceNonce.objects.count() == 0
    terminal.refresh_from_db()
    assert terminal.last_seen_at is None
    home = client.post(path, data=body, content_type="application/json", headers=headers)
    assert home.status_code == 200
    assert DeviceNonce.objects.filter(terminal=terminal).count() == 1
