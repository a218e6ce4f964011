"""Fixtures of the postfach tests: Musterstadt's units, clerks with the send permission,
citizens with and without consent, sample files and a way to talk about time."""

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone, translation

from rathaus.accounts.models import User
from rathaus.accounts.services import consent_grant
from rathaus.accounts.trust import TrustLevel, session_trust_set
from rathaus.audit.models import AuditEvent
from rathaus.core.models import Municipality
from rathaus.organisation.models import OrgUnit, Role
from rathaus.organisation.services import organisation_defaults_ensure
from tests.factories import StaffFactory, UserFactory
from tests.organisation.factories import RoleFactory, RoleGrantFactory
from tests.postfach.factories import PDF_BYTES

BERLIN = ZoneInfo("Europe/Berlin")
PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
)
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def berlin(*args: int) -> datetime:
    """A moment given in German local time."""
    return datetime(*args, tzinfo=BERLIN)


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> Any:
    return SimpleUploadedFile(name, content, content_type=content_type)


def pdf(name: str = "bescheid.pdf", content: bytes = PDF_BYTES) -> Any:
    return upload(name, content, "application/pdf")


def run_worker() -> None:
    """Drain the task queue with the real database worker, as production runs it."""
    call_command("db_worker", batch=True, interval=0, verbosity=0)


def audit_trail(*, since: int = 0) -> list[tuple[str, int | None, str, str, dict[str, Any]]]:
    """(action, actor id, target type, target id, data) of every event after ``since``."""
    return [
        (e.action, e.actor_id, e.target_type, e.target_id, e.data)
        for e in AuditEvent.objects.filter(pk__gt=since).order_by("pk")
    ]


def last_event_id() -> int:
    last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    return last or 0


def sign_in(client: Client, user: User, level: TrustLevel = TrustLevel.BASIC) -> Client:
    """A session at ``level``, as a login at that level leaves it."""
    client.force_login(user)
    session = client.session
    request = type("R", (), {"session": session})()
    session_trust_set(request, level=level, method="test")  # type: ignore[arg-type]
    session.save()
    return client


@pytest.fixture(autouse=True)
def _english(client: Client, other_client: Client) -> Iterator[None]:
    """Source texts in services and pages, whatever the German catalogue's progress."""
    for browser in (client, other_client):
        browser.cookies["rathaus_language"] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def units(municipality: Municipality) -> dict[str, OrgUnit]:
    """Musterstadt's default tree: SV > OB, FB 1 > BB, STA, FB 2 > KÄM, KASSE, FB 3, FB 4."""
    return organisation_defaults_ensure(municipality=municipality)


@pytest.fixture
def mailbox_role(municipality: Municipality) -> Role:
    return RoleFactory(
        municipality=municipality,
        key="postfach",
        name_de="Postfach",
        permissions=["postfach.send_message"],
    )


def _staff_in(unit: OrgUnit, role: Role, **fields: Any) -> User:
    user = StaffFactory(municipality=unit.municipality, **fields)
    RoleGrantFactory(user=user, org_unit=unit, role=role, include_subunits=False)
    return user


@pytest.fixture
def bb(units: dict[str, OrgUnit]) -> OrgUnit:
    """The Bürgerbüro."""
    return units["BB"]


@pytest.fixture
def sta(units: dict[str, OrgUnit]) -> OrgUnit:
    """The Standesamt."""
    return units["STA"]


@pytest.fixture
def clerk(bb: OrgUnit, mailbox_role: Role) -> User:
    """May act for the mailbox in the Bürgerbüro only."""
    return _staff_in(
        bb, mailbox_role, email="clerk@musterstadt.example", first_name="Carla", last_name="Clerk"
    )


@pytest.fixture
def registrar(sta: OrgUnit, mailbox_role: Role) -> User:
    """May act for the mailbox in the Standesamt only."""
    return _staff_in(sta, mailbox_role, email="registrar@musterstadt.example", first_name="Rita")


@pytest.fixture
def citizen(municipality: Municipality) -> User:
    """An English-speaking citizen (the source texts, whatever the catalogue's state)."""
    return UserFactory(
        municipality=municipality,
        email="erika@example.org",
        first_name="Erika",
        last_name="Mustermann",
        language="en",
        email_verified_at=timezone.now(),
    )


@pytest.fixture
def consenting(citizen: User) -> User:
    """``citizen`` after agreeing to receive notices in the mailbox."""
    consent_grant(user=citizen, purpose="postfach", ip="192.0.2.10")
    return citizen


@pytest.fixture
def neighbour(municipality: Municipality) -> User:
    """Another citizen of Musterstadt."""
    user = UserFactory(
        municipality=municipality,
        email="max@example.org",
        language="en",
        email_verified_at=timezone.now(),
    )
    consent_grant(user=user, purpose="postfach")
    return user


@pytest.fixture
def send(clerk: User, bb: OrgUnit) -> Callable[..., Any]:
    """``message_send`` by the clerk for the Bürgerbüro, with overridable arguments."""
    from rathaus.postfach.services import message_send

    def _send(recipient: User, **kwargs: Any) -> Any:
        options: dict[str, Any] = {
            "sender": clerk,
            "sender_unit": bb,
            "recipient": recipient,
            "kind": "notice",
            "subject": "Grundsteuerbescheid 2026",
            "body": "Die Grundsteuer für Flurstück 4711 beträgt 412,00 EUR.",
            "attachments": [],
            "reference": "GS-2026-0042",
            **kwargs,
        }
        return message_send(**options)

    return _send
