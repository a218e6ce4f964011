"""PINs and staff credentials at the terminal: lockouts, no oracle about documents, the
four-eyes principle."""

from typing import Any

import pytest
from django.test import Client

from rathaus.accounts.models import User
from rathaus.core.models import Municipality
from rathaus.idpickup import services
from rathaus.idpickup.device_client import TerminalClient
from rathaus.idpickup.models import Alarm, IdOrder, Size, StaffCredential, Terminal
from rathaus.notifications.models import Notification
from tests.factories import StaffFactory
from tests.idpickup.conftest import (
    CARD_A,
    CARD_B,
    PIN_A,
    STAFF,
    DjangoTransport,
    loaded,
    pin_from_mail,
)

pytestmark = pytest.mark.django_db

S = IdOrder.Status


def _wrong(pin: str) -> str:
    return f"{(int(pin) + 1) % 1_000_000:06d}"


def test_pin_lockout_per_document_alerts_staff(
    device: TerminalClient,
    terminal: Terminal,
    make_order: Any,
    alice: User,
    bob: User,
    mailoutbox: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    order = make_order()
    loaded(device, order, django_capture_on_commit_callbacks)
    pin = pin_from_mail(mailoutbox[0].body)
    with django_capture_on_commit_callbacks(execute=True):
        for _attempt in range(services.DOCUMENT_PIN_ATTEMPTS):
            answer = device.identify(pin=_wrong(pin), booking_number=order.booking_number)
            assert answer.status == 403
            assert answer.code == "pin_invalid"
    order.refresh_from_db()
    assert order.pin_locked
    # Even the right PIN is now refused, and staff were told (in-app and e-mail).
    locked = device.identify(pin=pin, booking_number=order.booking_number)
    assert locked.code == "pin_locked"
    alarm = Alarm.objects.get(terminal=terminal, kind=Alarm.Kind.PIN_LOCKOUT)
    assert alarm.detail == order.booking_number
    assert set(
        Notification.objects.filter(event="idpickup.alarm").values_list("recipient_id", flat=True)
    ) == {alice.pk, bob.pk}
    # Staff issue a new PIN; the old one is dead, the new one works.
    with django_capture_on_commit_callbacks(execute=True):
        services.order_pin_resend(order=order, actor=alice)
    new_pin = pin_from_mail(mailoutbox[-1].body)
    if new_pin != pin:  # one chance in a million that the new PIN is the old one
        assert device.identify(pin=pin).code == "pin_invalid"
    assert device.identify(pin=new_pin).ok


def test_pin_lockout_per_terminal(
    device: TerminalClient,
    terminal: Terminal,
    make_order: Any,
    alice: User,
    bob: User,
    mailoutbox: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    order = make_order()
    loaded(device, order, django_capture_on_commit_callbacks)
    pin = pin_from_mail(mailoutbox[0].body)
    for _attempt in range(services.TERMINAL_PIN_ATTEMPTS):
        assert device.identify(pin=_wrong(pin)).code == "pin_invalid"
    answer = device.identify(pin=pin)
    assert answer.status == 429
    assert answer.code == "terminal_locked"
    alarm = Alarm.objects.get(terminal=terminal, kind=Alarm.Kind.PIN_LOCKOUT, detail="")
    order.refresh_from_db()
    assert not order.pin_locked  # no booking number: no document was named
    # A staff member deals with the alarm: the terminal takes PINs again.
    services.alarm_clear(alarm=alarm, actor=alice)
    assert device.identify(pin=pin).ok


def test_no_oracle_about_documents(
    municipality: Municipality,
    location: Any,
    device: TerminalClient,
    terminal: Terminal,
    make_order: Any,
    alice: User,
    bob: User,
    client: Client,
    mailoutbox: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    order = make_order()
    loaded(device, order, django_capture_on_commit_callbacks)
    pin = pin_from_mail(mailoutbox[0].body)
    # A second terminal at the same location: the right PIN of the first is invalid there.
    other, key = services.terminal_register(
        municipality=municipality,
        actor=None,
        location=location,
        name="Keller",
        compartments=[(Size.MEDIUM, 100)],
    )
    elsewhere = TerminalClient(
        device_id=other.device_id, key=key, transport=DjangoTransport(client)
    )
    answers = [
        device.identify(pin=_wrong(pin)),  # wrong PIN
        device.identify(pin=_wrong(pin), booking_number="NOSUCHNUMBR"),  # unknown document
        device.identify(pin=_wrong(pin), booking_number=order.booking_number),  # real document
        device.identify(pin="12"),  # malformed
        elsewhere.identify(pin=pin),  # right PIN, other terminal
        elsewhere.identify(pin=pin, booking_number=order.booking_number),
    ]
    assert {(a.status, a.body["error"]["code"], a.body["error"]["message"]) for a in answers} == {
        (403, "pin_invalid", "This PIN is not valid here. Please check it and try again.")
    }


def test_a_single_staff_member_cannot_load(
    device: TerminalClient, make_order: Any, alice: User, bob: User
) -> None:
    order = make_order()
    alone = device.load(staff=[(CARD_A, PIN_A)], barcode=order.document_barcode)
    assert alone.status == 403
    assert alone.code == "two_staff_required"
    twice = device.load(staff=[(CARD_A, PIN_A), (CARD_A, PIN_A)], barcode=order.document_barcode)
    assert twice.status == 403
    assert twice.code == "same_credential"
    wrong = device.load(staff=[(CARD_A, PIN_A), (CARD_B, "0000")], barcode=order.document_barcode)
    assert wrong.status == 403
    assert wrong.code == "staff_credential_invalid"
    unknown = device.load(
        staff=[(CARD_A, PIN_A), ("CARD-NOBODY-0000000000", "1234")],
        barcode=order.document_barcode,
    )
    assert unknown.code == "staff_credential_invalid"
    order.refresh_from_db()
    assert order.status == S.ARRIVED
    assert order.compartment is None


def test_a_staff_card_locks_after_wrong_pins(
    device: TerminalClient, make_order: Any, alice: User, bob: User
) -> None:
    order = make_order()
    for _attempt in range(services.STAFF_PIN_ATTEMPTS):
        device.load(staff=[(CARD_A, PIN_A), (CARD_B, "9999")], barcode=order.document_barcode)
    assert StaffCredential.objects.get(user=bob).locked_until is not None
    # Locked: even the right PIN is refused for a while.
    answer = device.load(staff=STAFF, barcode=order.document_barcode)
    assert answer.code == "staff_credential_invalid"


def test_staff_without_the_terminal_permission_cannot_load(
    municipality: Municipality, device: TerminalClient, make_order: Any, alice: User, bob: User
) -> None:
    order = make_order()
    bob.user_permissions.clear()
    answer = device.load(staff=STAFF, barcode=order.document_barcode)
    assert answer.code == "staff_credential_invalid"


def test_credentials_are_stored_only_as_hashes(alice: User) -> None:
    credential = StaffCredential.objects.get(user=alice)
    assert CARD_A not in credential.card_hash
    assert PIN_A not in credential.pin_hash
    assert credential.pin_hash.startswith(("md5$", "argon2", "pbkdf2"))


def test_a_card_cannot_be_taken_over(municipality: Municipality, alice: User) -> None:
    mallory = StaffFactory(municipality=municipality, permissions=["idpickup.operate_terminal"])
    mallory = User.objects.get(pk=mallory.pk)
    with pytest.raises(services.Conflict):
        services.staff_credential_set(user=mallory, card_token=CARD_A, pin="1111")
    with pytest.raises(services.ValidationFailed):
        services.staff_credential_set(user=mallory, card_token="short", pin="12")


def test_citizens_cannot_get_a_credential(municipality: Municipality) -> None:
    from tests.factories import UserFactory

    citizen = UserFactory(municipality=municipality)
    with pytest.raises(services.PermissionDenied):
        services.staff_credential_set(user=citizen, card_token="X" * 20, pin="1234")


def test_the_wrong_terminal_location_refuses_the_document(
    municipality: Municipality, device: TerminalClient, make_order: Any, alice: User, bob: User
) -> None:
    from tests.catalog.factories import LocationFactory

    order = make_order()
    order.location = LocationFactory(municipality=municipality)
    order.save(update_fields=["location"])
    answer = device.load(staff=STAFF, barcode=order.document_barcode)
    assert answer.status == 409
    assert answer.code == "not_for_this_terminal"


def test_unknown_barcode_and_not_arrived(
    device: TerminalClient, make_order: Any, alice: User, bob: User
) -> None:
    assert device.load(staff=STAFF, barcode="NOSUCH123").code == "unknown_barcode"
    pending = make_order(until="in_production")
    assert device.load(staff=STAFF, barcode=pending.document_barcode).code == "not_arrived"
    assert device.load(staff=STAFF, barcode="bad code!").status == 400
