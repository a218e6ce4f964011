"""Daily and weekly digests: many waiting e-mails become one, once per period."""

from datetime import datetime

import pytest
from django.utils import translation

from rathaus.accounts.models import User
from rathaus.core.schedule import registered, schedule_tick
from rathaus.notifications import tasks
from rathaus.notifications.models import Channel, Notification, NotificationPreference, Status
from rathaus.notifications.services import (
    DIGEST_EVENT,
    digest_period_start,
    notification_digests_send,
    notify,
)
from tests.conftest import SmtpSink
from tests.notifications.conftest import aware, queued_deliveries, run_worker

pytestmark = pytest.mark.django_db

DAILY = "rathaus.notifications.tasks.notifications_digest_daily"
WEEKLY = "rathaus.notifications.tasks.notifications_digest_weekly"
# Friday 27 November 2026, just after the daily run's time (06:00 UTC).
FRIDAY = aware(2026, 11, 27, 6, 0, 30)
SATURDAY = aware(2026, 11, 28, 6, 0, 30)
MONDAY = aware(2026, 11, 30, 6, 0, 30)


def _wait_for_digest(user: User, reference: str, *, at: datetime, **kwargs: object) -> Notification:
    options: dict[str, object] = {
        "recipient": user,
        "event": "tests.request_received",
        "key": reference,
        "template": "test_message",
        "context": {"name": "X", "reference": reference},
        "channels": [Channel.EMAIL],
        "digestible": True,
        **kwargs,
    }
    [notification] = notify(**options)  # type: ignore[arg-type]
    Notification.objects.filter(pk=notification.pk).update(created_at=at)
    notification.refresh_from_db()
    return notification


def _digests() -> list[Notification]:
    return list(Notification.objects.filter(event=DIGEST_EVENT).order_by("pk"))


def _deliver(notification: Notification) -> str:
    return tasks.notification_deliver.call(notification_id=notification.pk)


def test_daily_digest_sends_one_mail_with_every_waiting_message(
    english_citizen: User, smtp_server: SmtpSink, django_capture_on_commit_callbacks: object
) -> None:
    # Given two messages waiting for an English-speaking person's daily digest
    NotificationPreference.objects.create(user=english_citizen, digest_frequency="daily")
    first = _wait_for_digest(
        english_citizen,
        "A-1",
        at=aware(2026, 11, 26, 8, 0),
        url="https://musterstadt.example/antraege/1/",
    )
    second = _wait_for_digest(
        english_citizen, "A-2", at=aware(2026, 11, 26, 9, 30), url="/konto/antraege/2/"
    )
    assert queued_deliveries() == []
    # When the daily digest runs on Friday morning
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        assert notification_digests_send(frequency="daily", now=FRIDAY) == 1
    # Then one digest e-mail is queued and carries both
    [digest] = _digests()
    assert (digest.key, digest.channel, digest.status) == (
        "daily:2026-11-27T06:00Z",
        Channel.EMAIL,
        Status.PENDING,
    )
    assert [q.args_kwargs["kwargs"]["notification_id"] for q in queued_deliveries()] == [digest.pk]
    assert _deliver(digest) == "sent"
    [mail] = smtp_server.messages
    assert mail["Subject"] == "Your daily summary: 2 new notifications"
    assert mail.get_payload(decode=True).decode().replace("\r\n", "\n") == (  # type: ignore[union-attr]
        "Hello,\n\n"
        "this is what happened in your account during the last day:\n\n"
        "- 11/26/2026 9 a.m.: Your request A-1 has been received\n"
        "  https://musterstadt.example/antraege/1/\n"
        "- 11/26/2026 10:30 a.m.: Your request A-2 has been received\n\n"
        "You chose to get these notifications as a summary. You can change this in your "
        "account under “How we notify you”.\n\n"
        "Musterstadt\n"
    )
    # And the collected messages point to the digest
    for item in (first, second):
        item.refresh_from_db()
        assert (item.status, item.digest_id, item.sent_at) == (Status.SENT, digest.pk, FRIDAY)


def test_digest_is_in_the_persons_language(
    citizen: User, django_capture_on_commit_callbacks: object
) -> None:
    NotificationPreference.objects.create(user=citizen, digest_frequency="daily")
    _wait_for_digest(citizen, "A-1", at=aware(2026, 11, 26, 8, 0))
    assert notification_digests_send(frequency="daily", now=FRIDAY) == 1
    [digest] = _digests()
    with translation.override("de"):
        expected_subject = translation.ngettext(
            "Your daily summary: %(count)s new notification",
            "Your daily summary: %(count)s new notifications",
            1,
        ) % {"count": 1}
    assert (digest.language, digest.subject) == ("de", expected_subject)
    assert "- 26.11.2026 09:00: Ihr Antrag A-1 ist eingegangen\n" in digest.body


def test_running_again_in_the_same_period_sends_nothing_twice(
    english_citizen: User, django_capture_on_commit_callbacks: object
) -> None:
    NotificationPreference.objects.create(user=english_citizen, digest_frequency="daily")
    _wait_for_digest(english_citizen, "A-1", at=aware(2026, 11, 26, 8, 0))
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        assert notification_digests_send(frequency="daily", now=FRIDAY) == 1
        # a message arrives after the run, then the run is repeated (a second scheduler)
        late = _wait_for_digest(english_citizen, "A-2", at=aware(2026, 11, 27, 7, 0))
        assert notification_digests_send(frequency="daily", now=aware(2026, 11, 27, 8)) == 0
    assert len(_digests()) == 1
    assert len(queued_deliveries()) == 1
    late.refresh_from_db()
    assert late.status == Status.DIGEST
    # The next day's digest takes it
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        assert notification_digests_send(frequency="daily", now=SATURDAY) == 1
    first, second = _digests()
    assert first.key == "daily:2026-11-27T06:00Z"
    assert second.key == "daily:2026-11-28T06:00Z"
    assert second.subject == "Your daily summary: 1 new notification"
    late.refresh_from_db()
    assert (late.status, late.digest_id) == (Status.SENT, second.pk)


def test_weekly_digest_runs_on_mondays_only_for_weekly_readers(
    citizen: User, english_citizen: User, django_capture_on_commit_callbacks: object
) -> None:
    # Given one person reads weekly, one daily
    NotificationPreference.objects.create(user=english_citizen, digest_frequency="weekly")
    NotificationPreference.objects.create(user=citizen, digest_frequency="daily")
    weekly_item = _wait_for_digest(english_citizen, "W-1", at=aware(2026, 11, 24, 12))
    daily_item = _wait_for_digest(citizen, "D-1", at=aware(2026, 11, 26, 12))
    # When the daily digest runs, only the daily reader gets one
    assert notification_digests_send(frequency="daily", now=FRIDAY) == 1
    assert [d.recipient_id for d in _digests()] == [citizen.pk]
    weekly_item.refresh_from_db()
    assert weekly_item.status == Status.DIGEST
    # When the weekly digest runs on Monday, the weekly reader gets theirs
    assert notification_digests_send(frequency="weekly", now=MONDAY) == 1
    daily_digest, weekly_digest = _digests()
    assert (weekly_digest.recipient_id, weekly_digest.key) == (
        english_citizen.pk,
        "weekly:2026-11-30T06:00Z",
    )
    assert weekly_digest.subject == "Your weekly summary: 1 new notification"
    assert "during the last week:" in weekly_digest.body
    daily_item.refresh_from_db()
    assert daily_item.digest_id == daily_digest.pk


def test_messages_left_after_switching_back_to_at_once_go_out_with_the_daily_run(
    english_citizen: User,
) -> None:
    preference = NotificationPreference.objects.create(
        user=english_citizen, digest_frequency="weekly"
    )
    left = _wait_for_digest(english_citizen, "A-1", at=aware(2026, 11, 26, 8))
    preference.digest_frequency = "immediate"
    preference.save()
    assert notification_digests_send(frequency="daily", now=FRIDAY) == 1
    left.refresh_from_db()
    assert left.status == Status.SENT


def test_no_digest_when_email_was_turned_off_meanwhile(english_citizen: User) -> None:
    preference = NotificationPreference.objects.create(
        user=english_citizen, digest_frequency="daily"
    )
    item = _wait_for_digest(english_citizen, "A-1", at=aware(2026, 11, 26, 8))
    preference.email_enabled = False
    preference.save()
    assert notification_digests_send(frequency="daily", now=FRIDAY) == 0
    [digest] = _digests()
    item.refresh_from_db()
    assert (digest.status, item.status, item.detail) == (
        Status.SKIPPED,
        Status.SKIPPED,
        "e-mail turned off by the recipient",
    )


@pytest.mark.parametrize("frequency", ["immediate", "hourly", ""])
def test_only_daily_and_weekly_digests_exist(frequency: str) -> None:
    with pytest.raises(ValueError, match="daily or weekly"):
        notification_digests_send(frequency=frequency, now=FRIDAY)


def test_nothing_waiting_means_no_digest(english_citizen: User) -> None:
    NotificationPreference.objects.create(user=english_citizen, digest_frequency="daily")
    [sent_at_once] = notify(
        recipient=english_citizen,
        event="tests.request_received",
        key="A-1",
        template="test_message",
        context={"name": "X", "reference": "A-1"},
        channels=["email"],
    )
    assert sent_at_once.status == Status.PENDING
    assert notification_digests_send(frequency="daily", now=FRIDAY) == 0
    assert _digests() == []


def test_digests_are_scheduled_daily_at_six_and_on_mondays() -> None:
    jobs = registered()
    daily, weekly = jobs[DAILY], jobs[WEEKLY]
    for now in [aware(2026, 11, 25, 12), aware(2026, 11, 30, 5, 59), MONDAY, SATURDAY]:
        assert daily.slot(now) == digest_period_start(frequency="daily", now=now)
        assert weekly.slot(now) == digest_period_start(frequency="weekly", now=now)
    # Wednesday noon belongs to the week that started on Monday 06:00 UTC
    assert weekly.slot(aware(2026, 11, 25, 12)) == aware(2026, 11, 23, 6)
    assert weekly.slot(aware(2026, 11, 30, 5, 59)) == aware(2026, 11, 23, 6)
    assert daily.slot(aware(2026, 11, 25, 5, 59)) == aware(2026, 11, 24, 6)
    # The scheduler starts both on a Monday, only the daily one on a Tuesday
    monday = schedule_tick(now=aware(2026, 11, 23, 6, 0, 30))
    assert DAILY in monday
    assert WEEKLY in monday
    tuesday = schedule_tick(now=aware(2026, 11, 24, 6, 0, 30))
    assert DAILY in tuesday
    assert WEEKLY not in tuesday


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_the_digest_and_delivers_it(
    english_citizen: User, smtp_server: SmtpSink
) -> None:
    NotificationPreference.objects.create(user=english_citizen, digest_frequency="daily")
    notify(
        recipient=english_citizen,
        event="tests.request_received",
        key="A-1",
        template="test_message",
        context={"name": "X", "reference": "A-1"},
        channels=["email"],
        digestible=True,
    )
    assert smtp_server.messages == []
    tasks.notifications_digest_daily.enqueue()
    run_worker()
    [mail] = smtp_server.messages
    assert mail["Subject"] == "Your daily summary: 1 new notification"
    assert mail["To"] == "john@example.org"
