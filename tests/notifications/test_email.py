"""E-mail notifications: in the person's language, over real SMTP, once, with retries."""

import logging
from dataclasses import dataclass
from datetime import timedelta
from email.header import decode_header, make_header
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from rathaus.accounts.models import User
from rathaus.notifications import tasks
from rathaus.notifications.models import Channel, Notification, NotificationPreference, Status
from rathaus.notifications.services import MAX_ATTEMPTS, RETRY_DELAYS, notify
from tests.conftest import SmtpSink, _free_port
from tests.notifications.conftest import CONTEXT, queued_deliveries, run_worker, travel

pytestmark = pytest.mark.django_db

GERMAN_BODY = (
    "Guten Tag Erika <Mustermann>,\n\n"
    "Ihr Antrag A-17 ist eingegangen & wird bald bearbeitet.\n\n"
    "Musterstadt\n"
)
GERMAN_HTML = (
    "<p>Guten Tag Erika &lt;Mustermann&gt;,</p>\n"
    "<p>Ihr Antrag <strong>A-17</strong> ist eingegangen &amp; wird bald bearbeitet.</p>"
)
ENGLISH_BODY = (
    "Hello Erika <Mustermann>,\n\nwe have received your request A-17 & will answer soon.\n\n"
    "Musterstadt\n"
)


def _subject(message: Message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def _parts(message: Message) -> dict[str, str]:
    """Content type → decoded text of each leaf part."""
    found = {}
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        charset = part.get_content_charset() or "utf-8"
        found[part.get_content_type()] = payload.decode(charset).replace("\r\n", "\n")  # type: ignore[union-attr]
    return found


def _notify(user: User, key: str = "A-17", **kwargs: object) -> list[Notification]:
    options: dict[str, object] = {
        "recipient": user,
        "event": "tests.request_received",
        "key": key,
        "template": "test_message",
        "context": CONTEXT,
        **kwargs,
    }
    return notify(**options)  # type: ignore[arg-type]


def _deliver(notification: Notification) -> str:
    return tasks.notification_deliver.call(notification_id=notification.pk)


@pytest.mark.django_db(transaction=True)
def test_german_mail_arrives_over_smtp_through_the_worker(
    citizen: User, smtp_server: SmtpSink
) -> None:
    # Given a German-speaking citizen is told about a received request
    email, inapp = _notify(citizen)
    # Then delivery waits in the queue, the in-app message is there at once
    assert [q.args_kwargs["kwargs"] for q in queued_deliveries()] == [{"notification_id": email.pk}]
    assert (email.status, inapp.status) == (Status.PENDING, Status.SENT)
    assert inapp.subject == "Ihr Antrag A-17 ist eingegangen"
    assert inapp.body == GERMAN_BODY
    # When the worker runs
    run_worker()
    # Then exactly this mail arrived at the SMTP server
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert _subject(mail) == "Ihr Antrag A-17 ist eingegangen"
    assert mail["To"] == "erika@example.org"
    assert mail["From"] == "rathaus <noreply@localhost>"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert _parts(mail) == {"text/plain": GERMAN_BODY, "text/html": GERMAN_HTML}
    email.refresh_from_db()
    assert email.status == Status.SENT
    assert email.attempts == 1
    assert email.sent_at is not None
    assert email.provider_id == mail["Message-ID"]
    assert (email.language, email.address) == ("de", "erika@example.org")
    assert email.context == CONTEXT


def test_english_mail_is_english(
    english_citizen: User, smtp_server: SmtpSink, django_capture_on_commit_callbacks: object
) -> None:
    # Given an English-speaking citizen
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        [email] = _notify(english_citizen, channels=["email"])
    # When the delivery task runs
    assert _deliver(email) == "sent"
    # Then the English text arrived
    [mail] = smtp_server.messages
    assert _subject(mail) == "Your request A-17 has been received"
    assert _parts(mail)["text/plain"] == ENGLISH_BODY
    assert "<p>Hello Erika &lt;Mustermann&gt;,</p>" in _parts(mail)["text/html"]


def test_same_event_and_key_twice_sends_one_mail(
    citizen: User, smtp_server: SmtpSink, django_capture_on_commit_callbacks: object
) -> None:
    # Given the same event is notified twice with the same key (e.g. a retried job)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        first = _notify(citizen)
        second = _notify(citizen, context={"name": "changed", "reference": "A-17"})
    # Then the second call returns the existing rows and queues nothing
    assert [n.pk for n in second] == [n.pk for n in first]
    assert Notification.objects.count() == 2
    assert len(queued_deliveries()) == 1
    # And a duplicate run of the delivery task is a no-op
    assert _deliver(first[0]) == "sent"
    assert _deliver(first[0]) == "not_due"
    assert len(smtp_server.messages) == 1
    assert _parts(smtp_server.messages[0])["text/plain"] == GERMAN_BODY
    # While another key is another message
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        [other] = _notify(citizen, key="A-18", channels=["email"])
    assert _deliver(other) == "sent"
    assert len(smtp_server.messages) == 2


def test_email_turned_off_is_respected_but_mandatory_mail_is_sent(
    citizen: User, smtp_server: SmtpSink, django_capture_on_commit_callbacks: object
) -> None:
    # Given the citizen turned e-mail off
    NotificationPreference.objects.create(user=citizen, email_enabled=False)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        email, inapp = _notify(citizen)
        # When a mandatory (security) mail is sent as well
        [security] = _notify(citizen, key="reset-1", channels=["email"], mandatory=True)
    # Then the ordinary mail is skipped with the reason, the in-app message is there
    assert (email.status, email.detail) == (Status.SKIPPED, "e-mail turned off by the recipient")
    assert inapp.status == Status.SENT
    # And only the mandatory one is queued and arrives
    assert [q.args_kwargs["kwargs"]["notification_id"] for q in queued_deliveries()] == [
        security.pk
    ]
    assert _deliver(security) == "sent"
    assert _deliver(email) == "not_due"
    assert len(smtp_server.messages) == 1


def test_digestible_mail_waits_for_the_digest_unless_mandatory(
    citizen: User, django_capture_on_commit_callbacks: object
) -> None:
    NotificationPreference.objects.create(user=citizen, digest_frequency="daily")
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        [digested] = _notify(citizen, channels=["email"], digestible=True)
        [immediate] = _notify(citizen, key="A-2", channels=["email"])
        [security] = _notify(
            citizen, key="A-3", channels=["email"], digestible=True, mandatory=True
        )
    assert digested.status == Status.DIGEST
    assert digested.subject == "Ihr Antrag A-17 ist eingegangen"  # kept for the digest
    assert (immediate.status, security.status) == (Status.PENDING, Status.PENDING)
    assert sorted(q.args_kwargs["kwargs"]["notification_id"] for q in queued_deliveries()) == [
        immediate.pk,
        security.pk,
    ]


def test_without_address_or_active_account_nothing_is_sent(
    citizen: User, english_citizen: User, django_capture_on_commit_callbacks: object
) -> None:
    User.objects.filter(pk=citizen.pk).update(email="")
    citizen.refresh_from_db()
    english_citizen.is_active = False
    english_citizen.save()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        [no_address] = _notify(citizen, channels=["email"], mandatory=True)
        inactive = _notify(english_citizen, mandatory=True)
    assert (no_address.status, no_address.detail) == (Status.SKIPPED, "no e-mail address")
    assert [(n.status, n.detail) for n in inactive] == [(Status.SKIPPED, "account inactive")] * 2
    assert queued_deliveries() == []


def test_invalid_address_fails_at_once(
    citizen: User, smtp_server: SmtpSink, django_capture_on_commit_callbacks: object
) -> None:
    # Given an address that slipped past validation (e.g. imported data)
    User.objects.filter(pk=citizen.pk).update(email="erika at example.org")
    citizen.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        [email] = _notify(citizen, channels=["email"])
        # When the delivery runs
        assert _deliver(email) == "failed"
    # Then it failed after one attempt, without a retry and without any SMTP traffic
    email.refresh_from_db()
    assert (email.status, email.attempts, email.detail) == (
        Status.FAILED,
        1,
        "invalid e-mail address",
    )
    assert email.next_attempt_at is None
    assert len(queued_deliveries()) == 1  # only the first delivery, no retry
    assert smtp_server.messages == []


@dataclass
class RefusingSink(SmtpSink):
    """A mail server that answers every recipient with ``reply``."""

    reply: str = "550 5.1.1 No such user here"

    async def handle_RCPT(  # noqa: N802
        self, server: object, session: object, envelope: object, address: str, options: object
    ) -> str:
        return self.reply


def test_recipient_refused_by_the_mail_server_fails_at_once(
    citizen: User, settings: object, django_capture_on_commit_callbacks: object
) -> None:
    # Given a real mail server that knows no such mailbox
    sink = RefusingSink(host="127.0.0.1", port=_free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # type: ignore[attr-defined]
    settings.EMAIL_HOST, settings.EMAIL_PORT = sink.host, sink.port  # type: ignore[attr-defined]
    try:
        with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
            [email] = _notify(citizen, channels=["email"])
            assert _deliver(email) == "failed"
    finally:
        controller.stop()
    email.refresh_from_db()
    assert (email.status, email.detail) == (
        Status.FAILED,
        "recipient refused by the mail server (550)",
    )
    assert len(queued_deliveries()) == 1


@pytest.fixture
def smtp_down(settings: object) -> int:
    """The SMTP settings point at a loopback port where nothing listens (yet)."""
    port = _free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # type: ignore[attr-defined]
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port  # type: ignore[attr-defined]
    settings.EMAIL_USE_TLS = False  # type: ignore[attr-defined]
    return port


@pytest.mark.django_db(transaction=True)
def test_mail_server_down_is_retried_later_and_then_delivered(
    citizen: User, smtp_down: int
) -> None:
    # Given the mail server is down when the worker first tries
    [email] = _notify(citizen, channels=["email"])
    before = timezone.now()
    run_worker()
    # Then the attempt failed and the delivery is scheduled again in one minute
    email.refresh_from_db()
    assert (email.status, email.attempts) == (Status.PENDING, 1)
    assert email.detail.startswith("mail server not reachable")
    assert email.next_attempt_at is not None
    assert before + RETRY_DELAYS[0] <= email.next_attempt_at <= timezone.now() + RETRY_DELAYS[0]
    [retry] = queued_deliveries()
    assert retry.run_after == email.next_attempt_at
    # And running the worker again before then does nothing
    run_worker()
    email.refresh_from_db()
    assert email.attempts == 1
    # When the server is back and the minute has passed
    sink = SmtpSink(host="127.0.0.1", port=smtp_down)
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    try:
        travel(RETRY_DELAYS[0])
        run_worker()
    finally:
        controller.stop()
    # Then the mail arrived on the second attempt
    email.refresh_from_db()
    assert (email.status, email.attempts, email.detail) == (Status.SENT, 2, "")
    assert [_subject(m) for m in sink.messages] == ["Ihr Antrag A-17 ist eingegangen"]
    assert queued_deliveries() == []


def test_after_the_last_attempt_the_mail_fails_and_is_logged(
    citizen: User,
    smtp_down: int,
    django_capture_on_commit_callbacks: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        [email] = _notify(citizen, channels=["email"])
    waits = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        started = timezone.now()
        with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
            outcome = _deliver(email)
        email.refresh_from_db()
        assert email.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert outcome == "retry"
            assert email.next_attempt_at is not None
            waits.append(email.next_attempt_at - started)
            # the delivery is not due before its time
            assert _deliver(email) == "not_due"
            travel(RETRY_DELAYS[attempt - 1])
        else:
            assert outcome == "failed"
    assert [round(w.total_seconds() / 60) for w in waits] == [1, 5, 30, 120]
    assert (email.status, email.next_attempt_at) == (Status.FAILED, None)
    assert email.detail.startswith("mail server not reachable")
    # one queued task per attempt: the first and the four retries
    assert len(queued_deliveries()) == MAX_ATTEMPTS
    assert [
        r.message
        for r in caplog.records
        if r.levelno == logging.ERROR and r.name.endswith("services")
    ] == ["notification delivery failed"]


def test_a_row_stuck_while_sending_or_overdue_is_queued_again(
    citizen: User, django_capture_on_commit_callbacks: object
) -> None:
    from rathaus.notifications.services import notifications_requeue

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        [stuck] = _notify(citizen, key="1", channels=["email"])
        [lost] = _notify(citizen, key="2", channels=["email"])
        [fresh] = _notify(citizen, key="3", channels=["email"])
    two_hours_ago = timezone.now() - timedelta(hours=2)
    Notification.objects.filter(pk=stuck.pk).update(
        status=Status.SENDING, updated_at=two_hours_ago, attempts=1
    )
    Notification.objects.filter(pk=lost.pk).update(next_attempt_at=two_hours_ago)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        assert notifications_requeue() == 2
    stuck.refresh_from_db()
    assert (stuck.status, stuck.detail) == (Status.PENDING, "interrupted while sending")
    queued = [q.args_kwargs["kwargs"]["notification_id"] for q in queued_deliveries()]
    assert sorted(queued) == sorted([stuck.pk, lost.pk, fresh.pk, stuck.pk, lost.pk])
    # queued once: a second sweep right after finds nothing overdue
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        assert notifications_requeue() == 0
    assert Notification.objects.get(pk=fresh.pk).status == Status.PENDING


def test_old_finished_notifications_are_pruned(citizen: User) -> None:
    from rathaus.notifications.services import notifications_prune
    from tests.notifications.factories import NotificationFactory

    old = NotificationFactory(recipient=citizen)
    waiting = NotificationFactory(recipient=citizen, channel=Channel.EMAIL, status=Status.DIGEST)
    recent = NotificationFactory(recipient=citizen)
    year_and_a_day = timezone.now() - timedelta(days=366)
    Notification.objects.filter(pk__in=[old.pk, waiting.pk]).update(created_at=year_and_a_day)
    assert notifications_prune() == 1
    assert set(Notification.objects.values_list("pk", flat=True)) == {waiting.pk, recent.pk}


def test_a_greylisting_mail_server_is_tried_again(
    citizen: User, settings: object, django_capture_on_commit_callbacks: object
) -> None:
    # Given a real mail server that answers "try again later" (4xx)
    sink = RefusingSink(host="127.0.0.1", port=_free_port(), reply="451 4.7.1 Greylisted")
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # type: ignore[attr-defined]
    settings.EMAIL_HOST, settings.EMAIL_PORT = sink.host, sink.port  # type: ignore[attr-defined]
    try:
        with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
            [email] = _notify(citizen, channels=["email"])
            assert _deliver(email) == "retry"
    finally:
        controller.stop()
    email.refresh_from_db()
    assert (email.status, email.attempts, email.detail) == (
        Status.PENDING,
        1,
        "recipient refused by the mail server (451)",
    )
    assert len(queued_deliveries()) == 2


def test_task_for_a_vanished_row_does_nothing() -> None:
    assert tasks.notification_deliver.call(notification_id=999_999) == "not_due"
