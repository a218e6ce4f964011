"""The whole way of a document, end to end through the real device protocol: arrival,
two-person loading, the PIN by e-mail (loopback SMTP) or text message (test gateway),
pickup with verification, and the terminal data deleted by the retention rule; and the
expiry path back to the counter."""

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from rathaus.accounts.models import User
from rathaus.audit.models import AuditEvent
from rathaus.core.models import Municipality
from rathaus.idpickup import services
from rathaus.idpickup.device_client import TerminalClient
from rathaus.idpickup.models import Compartment, IdOrder, OrderTransition, Terminal
from rathaus.privacy.retention import retention_apply
from tests.idpickup.conftest import (
    STAFF,
    actions,
    last_audit_id,
    loaded,
    pin_from_mail,
    pin_from_sms,
)

pytestmark = pytest.mark.django_db

S = IdOrder.Status


def test_arrival_loading_pin_by_email_pickup_and_deletion(
    device: TerminalClient,
    terminal: Terminal,
    make_order: Any,
    alice: User,
    bob: User,
    smtp_server: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    order = make_order(until="in_production")
    # Arrival: scanned by a case worker.
    results = services.orders_arrive(
        municipality=order.municipality, actor=alice, barcodes=[order.document_barcode]
    )
    assert [r.outcome for r in results] == ["arrived"]

    # Loading by two staff members; the terminal gets a fitting compartment to open.
    answer = device.load(staff=STAFF, barcode=order.document_barcode)
    assert answer.status == 200
    number = answer.body["compartment"]
    order.refresh_from_db()
    assert order.status == S.LOADING
    assert order.compartment.number == number
    assert smtp_server.messages == []  # no PIN before the door is closed
    assert device.event("door_opened", compartment=number).body["outcome"] == "door_opened"
    with django_capture_on_commit_callbacks(execute=True):
        closed = device.event("door_closed", compartment=number, empty=False)
    assert closed.status == 201
    assert closed.body["outcome"] == "loaded"

    # The PIN arrives by e-mail at the loopback SMTP server; only its digest is stored.
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert mail["To"] == "erika@example.org"
    pin = pin_from_mail(mail.get_payload(decode=True).decode())
    order.refresh_from_db()
    assert order.status == S.NOTIFIED
    assert pin not in order.pin_hash
    assert len(order.pin_hash) == 64
    assert order.pickup_deadline is not None
    transition = OrderTransition.objects.get(order=order, to_status=S.LOADING)
    assert (transition.actor, transition.second_actor) == (alice, bob)

    # Pickup: PIN, fingerprint, confirmation of the PIN letter; door closed and empty.
    since = last_audit_id()
    identified = device.identify(pin=pin)
    assert identified.status == 200
    assert identified.body["fingerprint_ref"] == "FP-4711"
    verified = device.verify(session=identified.body["session"], method="fingerprint")
    assert verified.status == 200
    assert verified.body["compartment"] == number
    device.event("door_opened", compartment=number)
    done = device.event("door_closed", compartment=number, empty=True)
    assert done.body["outcome"] == "picked_up"
    order.refresh_from_db()
    assert order.status == S.PICKED_UP
    assert order.compartment is None
    assert order.handed_over_at is not None
    assert order.verification == "fingerprint"
    assert order.receipt_confirmed_at is not None
    opened = AuditEvent.objects.filter(pk__gt=since, action="idpickup.compartment.opened").get()
    assert opened.data["by"] == "citizen"
    assert opened.data["order"] == order.booking_number
    assert "idpickup.pickup.started" in actions(since)

    # The retention rule deletes fingerprint reference, PIN digest and contact; logged.
    since = last_audit_id()
    retention_apply(now=timezone.now() + timedelta(seconds=1))
    order.refresh_from_db()
    assert (order.fingerprint_ref, order.pin_hash, order.contact_address) == ("", "", "")
    assert order.terminal_data_deleted_at is not None
    assert order.status == S.PICKED_UP  # the handover record stays
    assert "idpickup.terminal_data.deleted" in actions(since)
    assert AuditEvent.objects.filter(
        pk__gt=since, action="retention.applied", data__rule="idpickup.terminal_data"
    ).exists()
    # Running again changes nothing.
    since = last_audit_id()
    retention_apply(now=timezone.now() + timedelta(seconds=2))
    assert "idpickup.terminal_data.deleted" not in actions(since)


def test_pin_by_text_message_and_pickup_with_old_id_card(
    device: TerminalClient,
    make_order: Any,
    alice: User,
    bob: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    order = make_order(channel="sms", address="+49 151 2345678")
    number, _closed = loaded(device, order, django_capture_on_commit_callbacks)
    pin = pin_from_sms("+491512345678")
    identified = device.identify(pin=pin, booking_number=order.booking_number)
    # The old ID card's chip must be reported as invalidated.
    refused = device.verify(
        session=identified.body["session"], method="old_document", old_document_invalidated=False
    )
    assert refused.status == 403
    assert refused.code == "identity_not_verified"
    identified = device.identify(pin=pin)
    verified = device.verify(
        session=identified.body["session"], method="old_document", old_document_invalidated=True
    )
    assert verified.status == 200
    device.event("door_opened", compartment=number)
    device.event("door_closed", compartment=number, empty=True)
    order.refresh_from_db()
    assert order.status == S.PICKED_UP
    assert order.old_document_invalidated


def test_receipt_of_pin_letter_must_be_confirmed(
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
    identified = device.identify(pin=pin)
    answer = device.verify(session=identified.body["session"], receipt_confirmed=False)
    assert answer.status == 400
    assert answer.code == "receipt_not_confirmed"
    order.refresh_from_db()
    assert order.status == S.NOTIFIED
    # The session is spent: a second verify with it is refused.
    again = device.verify(session=identified.body["session"])
    assert again.code == "session_invalid"


def test_expiry_reminder_return_and_counter_pickup(
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
    order.refresh_from_db()
    deadline = order.pickup_deadline
    assert deadline - order.status_changed_at <= timedelta(days=7, seconds=5)

    # A day before: one reminder, however often the job runs.
    with django_capture_on_commit_callbacks(execute=True):
        assert services.orders_expire(now=deadline - timedelta(hours=20)) == {
            "reminded": 1,
            "expired": 0,
        }
        assert services.orders_expire(now=deadline - timedelta(hours=19))["reminded"] == 0
    assert len(mailoutbox) == 2
    assert (
        "wartet noch im Abholterminal" in mailoutbox[1].body
    )  # German: the citizen's language is unknown

    # After the window: expired; the PIN is refused as expired (not as unknown).
    assert services.orders_expire(now=deadline + timedelta(minutes=1))["expired"] == 1
    order.refresh_from_db()
    assert order.status == S.EXPIRED
    answer = device.identify(pin=pin)
    assert answer.status == 403
    assert answer.code == "pin_expired"

    # Unloading needs two staff, too; then the citizen is told it is at the counter.
    alone = device.unload(staff=STAFF[:1], compartment=number)
    assert alone.code == "two_staff_required"
    assert device.unload(staff=STAFF, compartment=number).status == 200
    device.event("door_opened", compartment=number)
    with django_capture_on_commit_callbacks(execute=True):
        assert device.event("door_closed", compartment=number, empty=True).body["outcome"] == (
            "returned"
        )
    order.refresh_from_db()
    assert order.status == S.RETURNED
    assert order.compartment is None
    assert "liegt jetzt am Schalter" in mailoutbox[-1].body

    services.order_counter_handover(order=order, actor=alice)
    order.refresh_from_db()
    assert order.status == S.PICKED_UP_COUNTER
    retention_apply(now=timezone.now() + timedelta(seconds=1))
    order.refresh_from_db()
    assert order.pin_hash == ""
    assert order.fingerprint_ref == ""
    assert order.contact_address == ""
    assert [t.to_status for t in order.transitions.order_by("pk")] == [
        S.APPLIED,
        S.IN_PRODUCTION,
        S.ARRIVED,
        S.LOADING,
        S.LOADED,
        S.NOTIFIED,
        S.EXPIRED,
        S.UNLOADING,
        S.RETURNED,
        S.PICKED_UP_COUNTER,
    ]


def test_storage_days_follow_the_municipal_setting(
    municipality: Municipality,
    device: TerminalClient,
    make_order: Any,
    alice: User,
    bob: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    municipality.settings = {"idpickup.storage_days": 10}
    municipality.save(update_fields=["settings"])
    order = make_order()
    loaded(device, order, django_capture_on_commit_callbacks)
    order.refresh_from_db()
    assert order.pickup_deadline - order.status_changed_at > timedelta(days=9, hours=23)


def test_pin_not_sent_raises_alarm_and_new_pin_can_be_issued(
    device: TerminalClient,
    terminal: Terminal,
    make_order: Any,
    alice: User,
    bob: User,
    settings: Any,
    mailoutbox: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    order = make_order(channel="sms", address="+491701234567")
    settings.RATHAUS_SMS_GATEWAY = ""  # this installation sends no SMS
    loaded(device, order, django_capture_on_commit_callbacks)
    order.refresh_from_db()
    assert order.status == S.LOADED
    assert order.pin_delivery_failed
    assert terminal.alarms.filter(kind="pin_not_sent", cleared_at=None).count() == 1
    settings.RATHAUS_SMS_GATEWAY = "rathaus.notifications.channels.TestSmsGateway"
    with django_capture_on_commit_callbacks(execute=True):
        services.order_pin_resend(order=order, actor=alice)
    order.refresh_from_db()
    assert order.status == S.NOTIFIED
    assert not order.pin_delivery_failed
    assert device.identify(pin=pin_from_sms("+491701234567")).status == 200


def test_low_compartment_for_wheelchair_users_and_high_ones_for_others(
    device: TerminalClient, terminal: Terminal, make_order: Any, alice: User, bob: User
) -> None:
    low = make_order(low=True)
    other = make_order()
    assert device.load(staff=STAFF, barcode=other.document_barcode).body["compartment"] == 2
    assert device.load(staff=STAFF, barcode=low.document_barcode).body["compartment"] == 1
    third = make_order(low=True)
    full = device.load(staff=STAFF, barcode=third.document_barcode)
    assert full.status == 409
    assert full.code == "terminal_full"
    third.refresh_from_db()
    assert third.status == S.ARRIVED
    assert third.compartment is None
    assert Compartment.objects.get(terminal=terminal, number=3).size == "m"


def test_other_tenant_host_cannot_use_the_terminal(
    terminal_with_key: Any, other_municipality: Municipality, other_client: Client
) -> None:
    from tests.idpickup.conftest import DjangoTransport

    terminal, key = terminal_with_key
    stranger = TerminalClient(
        device_id=terminal.device_id, key=key, transport=DjangoTransport(other_client)
    )
    answer = stranger.heartbeat()
    assert answer.status == 401
    assert answer.code == "device_auth_failed"
