"""Fixtures shared by the whole suite."""

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from django.core.cache import cache
from django.db import OperationalError
from django.test import Client
from freezegun import freeze_time

from rathaus.core.models import Municipality
from rathaus.legal.services import legal_pages_ensure
from tests.factories import MunicipalityFactory

IN_CI = os.environ.get("CI") == "true"

# One Chromium for every browser test in the suite.
pytest_plugins = ["tests.playwright_fixtures"]


def require_service(name: str, reason: str) -> None:
    """Fail in CI, skip with the reason elsewhere: CI must never silently skip."""
    if IN_CI:
        pytest.fail(f"CI requires {name}: {reason}")
    pytest.skip(f"{name} not available: {reason}")


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def municipality(db: None) -> Municipality:
    """The default tenant, served at testserver/localhost."""
    municipality = MunicipalityFactory(slug="musterstadt", name="Musterstadt", ags="08999001")
    legal_pages_ensure(municipality=municipality)
    return municipality


@pytest.fixture
def other_municipality(db: None) -> Municipality:
    """A second tenant, served at beispielheim.localhost."""
    municipality = MunicipalityFactory(slug="beispielheim", name="Beispielheim", ags="08999002")
    legal_pages_ensure(municipality=municipality)
    return municipality


@pytest.fixture
def other_client() -> Client:
    """A browser at the second tenant's address."""
    return Client(HTTP_HOST="beispielheim.localhost")


@dataclass
class SmtpSink:
    """A real SMTP server on loopback that keeps what arrives."""

    host: str
    port: int
    messages: list[Message] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))  # type: ignore[attr-defined]
        self.arrived.set()
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server(settings: object) -> Iterator[SmtpSink]:
    """aiosmtpd on loopback; Django sends real SMTP to it."""
    sink = SmtpSink(host="127.0.0.1", port=_free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # type: ignore[attr-defined]
    settings.EMAIL_HOST = sink.host  # type: ignore[attr-defined]
    settings.EMAIL_PORT = sink.port  # type: ignore[attr-defined]
    settings.EMAIL_USE_TLS = False  # type: ignore[attr-defined]
    try:
        yield sink
    finally:
        controller.stop()


def strong_login(client: Client, user: object) -> None:
    """Sign in as if with password and second factor, as privileged staff must."""
    from django.utils import timezone

    from rathaus.accounts.trust import TrustLevel, session_trust_set

    if not user.totp_confirmed_at:  # type: ignore[attr-defined]
        user.totp_secret, user.totp_confirmed_at = "A" * 32, timezone.now()  # type: ignore[attr-defined]
        user.save(update_fields=["totp_secret", "totp_confirmed_at"])  # type: ignore[attr-defined]
    client.force_login(user)  # type: ignore[arg-type]
    session = client.session
    request = type("R", (), {"session": session})()
    session_trust_set(request, level=TrustLevel.BASIC, method="password+totp")  # type: ignore[arg-type]
    session.save()


def wait_until(condition: Callable[[], bool], seconds: float = 30) -> bool:
    """Poll ``condition`` until it holds or ``seconds`` pass (for work done by another
    thread, such as an MQTT subscriber)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except OperationalError:
            pass  # SQLite: the ingester's thread holds the table for a moment
        time.sleep(0.05)
    return condition()


#: A Monday morning in Berlin (7 December 2026, no holiday) for tests whose pages depend on
#: office hours.
OFFICE_HOURS = datetime.fromisoformat("2026-12-07T10:00:00+01:00")


@pytest.fixture
def office_hours() -> Iterator[None]:
    """The server's clock on :data:`OFFICE_HOURS`, ticking, for browser tests that depend
    on the time of day: with the real clock the Bürgerbüro's failed in the last half hour
    of every day (an office open "all of today" rightly gives no more tickets), and Frag
    den OB's "answered within the same day" failed when a run crossed midnight.
    Playwright's event loop keeps the real clock (its timeouts)."""
    with freeze_time(OFFICE_HOURS, tick=True, ignore=["asyncio", "playwright", "greenlet"]):
        yield
