"""Fixtures of the idpickup tests: a terminal at a Musterstadt location, two staff members
with terminal cards, orders ready to load, and a terminal client that speaks the real
protocol through Django's test client (the whole middleware and view stack)."""

import datetime
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation

from rathaus.accounts.models import User
from rathaus.audit.models import AuditEvent
from rathaus.catalog.models import Location
from rathaus.core.models import Municipality
from rathaus.idpickup import services
from rathaus.idpickup.device_client import Answer, TerminalClient
from rathaus.idpickup.models import IdOrder, Size, Terminal
from rathaus.notifications.models import SmsTestMessage
from tests.catalog.factories import LocationFactory
from tests.factories import StaffFactory

MANAGE = "idpickup.manage_idorder"
OPERATE = "idpickup.operate_terminal"
CARD_A, PIN_A = "CARD-ALICE-000000000001", "2468"
CARD_B, PIN_B = "CARD-BOB-00000000000002", "1357"
STAFF = [(CARD_A, PIN_A), (CARD_B, PIN_B)]


class DjangoTransport:
    """Sends the terminal's signed requests through Django's test client."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        response = self.client.post(
            path, data=body, content_type="application/json", headers=headers
        )
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        return Answer(response.status_code, payload)


@pytest.fixture(autouse=True)
def _english(client: Client, other_client: Client) -> Iterator[None]:
    for browser in (client, other_client):
        browser.cookies["rathaus_language"] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def location(municipality: Municipality) -> Location:
    return LocationFactory(municipality=municipality, name_de="Bürgerbüro Mitte")


@pytest.fixture
def terminal_with_key(municipality: Municipality, location: Location) -> tuple[Terminal, str]:
    return services.terminal_register(
        municipality=municipality,
        actor=None,
        location=location,
        name="Foyer",
        compartments=[(Size.SMALL, 40), (Size.SMALL, 140), (Size.MEDIUM, 160)],
        simulator=True,
    )


@pytest.fixture
def terminal(terminal_with_key: tuple[Terminal, str]) -> Terminal:
    return terminal_with_key[0]


@pytest.fixture
def device(terminal_with_key: tuple[Terminal, str], client: Client) -> TerminalClient:
    terminal, key = terminal_with_key
    return TerminalClient(device_id=terminal.device_id, key=key, transport=DjangoTransport(client))


def _staff(municipality: Municipality, name: str, card: str, pin: str) -> User:
    user = StaffFactory(
        municipality=municipality,
        first_name=name,
        email=f"{name.lower()}@musterstadt.example",
        permissions=[MANAGE, OPERATE],
    )
    user = User.objects.get(pk=user.pk)
    services.staff_credential_set(user=user, card_token=card, pin=pin)
    return user


@pytest.fixture
def alice(municipality: Municipality) -> User:
    return _staff(municipality, "Alice", CARD_A, PIN_A)


@pytest.fixture
def bob(municipality: Municipality) -> User:
    return _staff(municipality, "Bob", CARD_B, PIN_B)


@pytest.fixture
def make_order(
    municipality: Municipality, location: Location, alice: User
) -> Callable[..., IdOrder]:
    """An order up to the status ``until`` (applied, in_production or arrived)."""
    counter = iter(range(1, 10_000))

    def make(
        *,
        until: str = "arrived",
        channel: str = "email",
        address: str = "erika@example.org",
        size: str = Size.SMALL,
        low: bool = False,
        citizen: Any = None,
        barcode: str | None = None,
    ) -> IdOrder:
        order = services.order_create(
            municipality=municipality,
            actor=alice,
            kind=IdOrder.Kind.ID_CARD,
            given_name="Erika",
            family_name="Mustermann",
            date_of_birth=datetime.date(1980, 2, 29),
            location=location,
            size=size,
            citizen=citizen,
            terminal_opt_in=True,
            consent=True,
            contact_channel=channel,
            contact_address=address,
            fingerprint_ref="FP-4711",
            needs_low_compartment=low,
        )
        if until == "applied":
            return order
        code = barcode or f"T22{next(counter):07d}"
        services.order_production_start(order=order, actor=alice, document_barcode=code)
        if until == "arrived":
            services.orders_arrive(municipality=municipality, actor=alice, barcodes=[code])
        order.refresh_from_db()
        return order

    return make


PIN_IN_TEXT = re.compile(r"\b(\d{6})\b")


def pin_from_sms(number: str) -> str:
    message = SmsTestMessage.objects.filter(to=number).order_by("-pk").first()
    assert message is not None, "no text message to " + number
    match = PIN_IN_TEXT.search(message.text)
    assert match is not None, message.text
    return match.group(1)


def pin_from_mail(text: str) -> str:
    match = PIN_IN_TEXT.search(text)
    assert match is not None, text
    return match.group(1)


def actions(since: int = 0) -> list[str]:
    return list(
        AuditEvent.objects.filter(pk__gt=since).order_by("pk").values_list("action", flat=True)
    )


def last_audit_id() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def loaded(
    device: TerminalClient, order: IdOrder, capture: Callable[..., Any]
) -> tuple[int, Answer]:
    """Two-person loading of ``order`` with the door-closed report; returns compartment."""
    answer = device.load(staff=STAFF, barcode=order.document_barcode)
    assert answer.status == 200, answer.body
    number = int(answer.body["compartment"])
    device.event("door_opened", compartment=number)
    with capture(execute=True):
        closed = device.event("door_closed", compartment=number, empty=False)
    return number, closed


def body_text(answer: Answer) -> str:
    return json.dumps(answer.body, sort_keys=True)


def now() -> datetime.datetime:
    return timezone.now()
