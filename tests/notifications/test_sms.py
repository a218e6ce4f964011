"""Text messages: the test gateway's outbox and a real HTTP gateway on loopback."""

import json
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured

from rathaus.accounts.models import User
from rathaus.notifications import tasks
from rathaus.notifications.channels import HttpSmsGateway, TestSmsGateway, sms_gateway
from rathaus.notifications.models import (
    Notification,
    NotificationPreference,
    SmsTestMessage,
    Status,
)
from rathaus.notifications.services import RETRY_DELAYS, notify
from tests.conftest import _free_port
from tests.notifications.conftest import CONTEXT, queued_deliveries, travel

pytestmark = pytest.mark.django_db

GERMAN_SMS = "Musterstadt: Ihr Antrag A-17 ist eingegangen."


@pytest.fixture(autouse=True)
def _sms_opt_in(citizen: User) -> None:
    """Text messages are opt-in; the citizen of these tests has switched them on."""
    NotificationPreference.objects.update_or_create(user=citizen, defaults={"sms_enabled": True})


def _notify_sms(user: User, **kwargs: object) -> Notification:
    options: dict[str, object] = {
        "recipient": user,
        "event": "tests.request_received",
        "key": "A-17",
        "template": "test_message",
        "context": CONTEXT,
        "channels": ["sms"],
        **kwargs,
    }
    [notification] = notify(**options)  # type: ignore[arg-type]
    return notification


def _deliver(notification: Notification) -> str:
    return tasks.notification_deliver.call(notification_id=notification.pk)


def test_test_gateway_keeps_the_message_in_its_outbox(
    citizen: User, django_capture_on_commit_callbacks: object
) -> None:
    # Given the default (test) gateway outside production
    assert isinstance(sms_gateway(), TestSmsGateway)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        sms = _notify_sms(citizen)
    assert (sms.status, sms.body, sms.address) == (Status.PENDING, GERMAN_SMS, "+49 151 23456789")
    # When it is delivered
    assert _deliver(sms) == "sent"
    # Then the outbox holds it, addressed without spaces
    [kept] = SmsTestMessage.objects.all()
    assert (kept.to, kept.text) == ("+4915123456789", GERMAN_SMS)
    sms.refresh_from_db()
    assert (sms.status, sms.provider_id) == (Status.SENT, kept.message_id)


def test_english_text_message(english_citizen: User) -> None:
    User.objects.filter(pk=english_citizen.pk).update(phone="+44 7700 900123")
    english_citizen.refresh_from_db()
    sms = _notify_sms(english_citizen)
    assert sms.body == "Musterstadt: your request A-17 has been received."


def test_without_number_or_consent_no_text_message_is_sent(
    citizen: User, english_citizen: User, django_capture_on_commit_callbacks: object
) -> None:
    NotificationPreference.objects.filter(user=citizen).update(sms_enabled=False)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        no_number = _notify_sms(english_citizen)
        turned_off = _notify_sms(citizen)
        mandatory = _notify_sms(citizen, key="pin-1", mandatory=True)
    assert (no_number.status, no_number.detail) == (Status.SKIPPED, "no mobile number")
    assert (turned_off.status, turned_off.detail) == (
        Status.SKIPPED,
        "text messages turned off by the recipient",
    )
    assert mandatory.status == Status.PENDING
    assert [q.args_kwargs["kwargs"]["notification_id"] for q in queued_deliveries()] == [
        mandatory.pk
    ]


def test_invalid_number_fails_at_once(
    citizen: User, django_capture_on_commit_callbacks: object
) -> None:
    User.objects.filter(pk=citizen.pk).update(phone="0151 2345")
    citizen.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        sms = _notify_sms(citizen)
        assert _deliver(sms) == "failed"
    sms.refresh_from_db()
    assert (sms.status, sms.detail, sms.attempts) == (Status.FAILED, "invalid mobile number", 1)
    assert SmsTestMessage.objects.count() == 0


def test_text_too_long_for_one_sms_fails_that_channel_only(
    citizen: User, django_capture_on_commit_callbacks: object, caplog: pytest.LogCaptureFixture
) -> None:
    # Given data that makes the text longer than one SMS
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        sms, email = notify(
            recipient=citizen,
            event="tests.request_received",
            key="long",
            template="test_message",
            context={"name": "Erika", "reference": "X" * 130},
            channels=["sms", "email"],
        )
    # Then the text message failed with a clear reason, the e-mail goes out all the same
    assert sms.status == Status.FAILED
    assert sms.detail == (
        "the text message of 'test_message' has 171 characters; at most 160 fit into one SMS"
    )
    assert email.status == Status.PENDING
    assert [q.args_kwargs["kwargs"]["notification_id"] for q in queued_deliveries()] == [email.pk]
    assert "notification not rendered" in [r.message for r in caplog.records]
    # While exactly 160 characters fit
    fits = _notify_sms(citizen, key="fits", context={"name": "Erika", "reference": "X" * 119})
    assert (fits.status, len(fits.body)) == (Status.PENDING, 160)


# A provider's HTTP endpoint on loopback.


@dataclass
class SmsProvider:
    url: str
    status: int = 200
    reply: bytes = b'{"id": "gw-1"}'
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    requests: list[dict[str, object]] = field(default_factory=list)


@pytest.fixture
def sms_provider(settings: object) -> Iterator[SmsProvider]:
    server: ThreadingHTTPServer
    provider = SmsProvider(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            provider.requests.append(
                {
                    "path": self.path,
                    "authorization": self.headers.get("Authorization"),
                    "content_type": self.headers.get("Content-Type"),
                    "json": json.loads(self.rfile.read(length)),
                }
            )
            time.sleep(provider.delay)
            self.send_response(provider.status)
            for name, value in provider.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(provider.reply)))
            self.end_headers()
            self.wfile.write(provider.reply)

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            # a client that gave up (the timeout test) is expected, not a failure to print
            if not isinstance(sys.exc_info()[1], BrokenPipeError | ConnectionResetError):
                super().handle_error(request, client_address)  # type: ignore[arg-type]

    server = Server(("127.0.0.1", 0), Handler)
    provider.url = f"http://127.0.0.1:{server.server_address[1]}/v1/messages"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.RATHAUS_SMS_GATEWAY = "rathaus.notifications.channels.HttpSmsGateway"  # type: ignore[attr-defined]
    settings.RATHAUS_SMS_GATEWAY_URL = provider.url  # type: ignore[attr-defined]
    settings.RATHAUS_SMS_GATEWAY_TOKEN = "secret-token"  # type: ignore[attr-defined]
    settings.RATHAUS_SMS_GATEWAY_TIMEOUT = 0.5  # type: ignore[attr-defined]
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()


def test_http_gateway_posts_json_with_the_bearer_token(
    citizen: User, sms_provider: SmsProvider, django_capture_on_commit_callbacks: object
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        sms = _notify_sms(citizen)
    assert _deliver(sms) == "sent"
    assert sms_provider.requests == [
        {
            "path": "/v1/messages",
            "authorization": "Bearer secret-token",
            "content_type": "application/json",
            "json": {"to": "+4915123456789", "text": GERMAN_SMS},
        }
    ]
    sms.refresh_from_db()
    assert (sms.status, sms.provider_id, sms.attempts) == (Status.SENT, "gw-1", 1)
    assert SmsTestMessage.objects.count() == 0


@pytest.mark.parametrize("status", [500, 503, 429])
def test_http_gateway_overloaded_is_retried(
    citizen: User,
    sms_provider: SmsProvider,
    django_capture_on_commit_callbacks: object,
    status: int,
) -> None:
    # Given the provider is overloaded
    sms_provider.status, sms_provider.reply = status, b'{"error": "busy"}'
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        sms = _notify_sms(citizen)
        assert _deliver(sms) == "retry"
    sms.refresh_from_db()
    assert (sms.status, sms.attempts, sms.detail) == (
        Status.PENDING,
        1,
        f"SMS gateway answered {status}",
    )
    retry = queued_deliveries()[-1]
    assert retry.run_after == sms.next_attempt_at
    # When it recovers and the retry is due
    sms_provider.status, sms_provider.reply = 200, b'{"id": "gw-2"}'
    travel(RETRY_DELAYS[0])
    assert _deliver(sms) == "sent"
    sms.refresh_from_db()
    assert (sms.status, sms.attempts, sms.provider_id) == (Status.SENT, 2, "gw-2")
    assert len(sms_provider.requests) == 2


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_http_gateway_refusal_fails_at_once(
    citizen: User,
    sms_provider: SmsProvider,
    django_capture_on_commit_callbacks: object,
    status: int,
) -> None:
    sms_provider.status, sms_provider.reply = status, b'{"error": "invalid"}'
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        sms = _notify_sms(citizen)
        assert _deliver(sms) == "failed"
    sms.refresh_from_db()
    assert (sms.status, sms.attempts, sms.detail) == (
        Status.FAILED,
        1,
        f"SMS gateway refused the message ({status})",
    )
    assert len(queued_deliveries()) == 1  # no retry


def test_http_gateway_redirect_is_not_followed(
    citizen: User, sms_provider: SmsProvider, django_capture_on_commit_callbacks: object
) -> None:
    # A redirect would carry the token to another address.
    sms_provider.status = 307
    sms_provider.headers = {"Location": "http://127.0.0.1:9/steal"}
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        sms = _notify_sms(citizen)
        assert _deliver(sms) == "failed"
    sms.refresh_from_db()
    assert sms.detail == "SMS gateway refused the message (307)"
    assert len(sms_provider.requests) == 1


def test_http_gateway_timeout_and_closed_port_are_transient(
    citizen: User, sms_provider: SmsProvider, settings: object
) -> None:
    sms_provider.delay = 1.0  # longer than the 0.5 s timeout
    slow = _notify_sms(citizen, key="slow")
    assert _deliver(slow) == "retry"
    slow.refresh_from_db()
    assert slow.detail.startswith("SMS gateway not reachable")
    settings.RATHAUS_SMS_GATEWAY_URL = f"http://127.0.0.1:{_free_port()}/"  # type: ignore[attr-defined]
    closed = _notify_sms(citizen, key="closed")
    assert _deliver(closed) == "retry"
    closed.refresh_from_db()
    assert closed.detail.startswith("SMS gateway not reachable")


def test_http_gateway_accepts_a_reply_without_id(sms_provider: SmsProvider) -> None:
    sms_provider.reply = b"OK"
    assert HttpSmsGateway().send(to="+4915123456789", text="Hallo") == ""


def test_http_gateway_needs_an_http_url(settings: object) -> None:
    settings.RATHAUS_SMS_GATEWAY_URL = "file:///etc/passwd"  # type: ignore[attr-defined]
    with pytest.raises(ImproperlyConfigured):
        HttpSmsGateway()


def test_deploy_check_warns_about_the_test_gateway(settings: object) -> None:
    from rathaus.notifications.apps import sms_gateway_check

    settings.RATHAUS_SMS_GATEWAY = "rathaus.notifications.channels.TestSmsGateway"  # type: ignore[attr-defined]
    assert [m.id for m in sms_gateway_check()] == ["notifications.W001"]
    settings.RATHAUS_SMS_GATEWAY = "rathaus.notifications.channels.HttpSmsGateway"  # type: ignore[attr-defined]
    settings.RATHAUS_SMS_GATEWAY_URL = ""  # type: ignore[attr-defined]
    assert [m.id for m in sms_gateway_check()] == ["notifications.E001"]
    settings.RATHAUS_SMS_GATEWAY_URL = "https://sms.example/v1/messages"  # type: ignore[attr-defined]
    assert sms_gateway_check() == []


def test_an_installation_without_text_messages_skips_them(
    citizen: User, settings: object, django_capture_on_commit_callbacks: object
) -> None:
    # Given a text message is queued, then the installation turns text messages off
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        queued = _notify_sms(citizen, key="before")
    settings.RATHAUS_SMS_GATEWAY = ""  # type: ignore[attr-defined]
    # Then new ones are skipped, even mandatory ones, and the queued one fails
    after = _notify_sms(citizen, key="after", mandatory=True)
    assert (after.status, after.detail) == (Status.SKIPPED, "text messages are not set up")
    assert _deliver(queued) == "failed"
    queued.refresh_from_db()
    assert queued.detail == "text messages are not set up"
    assert SmsTestMessage.objects.count() == 0
