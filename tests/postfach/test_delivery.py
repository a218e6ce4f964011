"""The legal delivery of a notice (§ 41 (2a) VwVfG), with time travel.

Consent missing: refused and recorded. Consent given: sent, announced by an e-mail without
content over real SMTP, retrieval recorded once, deemed delivered on the next calendar day
in Germany; unretrieved after ten days: not delivered, a follow-up for staff, audited.
"""

from collections.abc import Callable
from datetime import date, datetime, timedelta
from email.header import decode_header, make_header
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from rathaus.accounts.models import ConsentRecord, User
from rathaus.accounts.services import consent_withdraw
from rathaus.accounts.trust import TrustLevel
from rathaus.core.errors import NotFound, PermissionDenied, ValidationFailed
from rathaus.core.models import Municipality
from rathaus.core.schedule import registered
from rathaus.notifications.models import Notification
from rathaus.notifications.models import Status as NotificationStatus
from rathaus.oidc.trust import TrustLevelTooLow
from rathaus.organisation.models import OrgUnit
from rathaus.organisation.services import organisation_defaults_ensure
from rathaus.postfach import tasks
from rathaus.postfach.models import Delivery, DeliveryFollowUp, Message
from rathaus.postfach.services import (
    NoConsent,
    deliveries_check,
    message_open,
    retrieval_deadline,
)
from tests.conftest import SmtpSink
from tests.factories import UserFactory
from tests.postfach.conftest import (
    audit_trail,
    berlin,
    last_event_id,
    pdf,
    run_worker,
    sign_in,
)

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")
SUBJECT = "Grundsteuerbescheid 2026"
BODY = "Die Grundsteuer für Flurstück 4711 beträgt 412,00 EUR."
REFERENCE = "GS-2026-0042"
SENT = berlin(2026, 3, 2, 10, 0)  # a Monday morning in winter time (UTC+1)


def _mail_text(message: Any) -> tuple[str, str]:
    subject = str(make_header(decode_header(message["Subject"])))
    parts = []
    for part in message.walk():
        if not part.is_multipart():
            payload = part.get_payload(decode=True)
            parts.append(payload.decode(part.get_content_charset() or "utf-8"))
    return subject, "\n".join(parts).replace("\r\n", "\n")


# Consent.


def test_notice_without_consent_is_refused_and_the_refusal_recorded(
    send: Callable[..., Message], citizen: User, clerk: User, bb: OrgUnit
) -> None:
    # Given a citizen who has not agreed to digital delivery
    before = last_event_id()
    # When the clerk sends them a notice
    with pytest.raises(NoConsent) as refused:
        send(citizen, attachments=[pdf()])
    # Then it is refused with the stable code, so the caller sends it by post
    assert (refused.value.code, refused.value.status) == ("no_consent", 409)
    # And nothing was stored or announced
    assert not Message.objects.exists()
    assert not Delivery.objects.exists()
    assert not Notification.objects.exists()
    # And the refusal is in the audit trail
    assert audit_trail(since=before) == [
        (
            "postfach.notice.refused",
            clerk.pk,
            "accounts.user",
            str(citizen.pk),
            {"reason": "no_consent", "org_unit": bb.pk, "reference": REFERENCE},
        )
    ]


def test_withdrawn_consent_refuses_the_next_notice(
    send: Callable[..., Message], consenting: User
) -> None:
    # Given a citizen who agreed and then withdrew
    consent_withdraw(user=consenting, purpose="postfach")
    # When a notice is sent, then it is refused
    with pytest.raises(NoConsent):
        send(consenting)
    assert not Message.objects.exists()


def test_information_needs_no_consent_and_is_not_a_formal_delivery(
    send: Callable[..., Message], citizen: User
) -> None:
    # Given a citizen without consent
    # When the clerk sends information (not a notice)
    message = send(citizen, kind="information", subject="Öffnungszeiten", body="Neu ab Mai.")
    # Then it is sent, with an informal delivery record
    delivery = message.delivery
    assert (delivery.is_formal, delivery.consent_recorded, delivery.status) == (
        False,
        False,
        Delivery.Status.ANNOUNCED,
    )
    # And it never fails, however long it stays unread
    assert deliveries_check(now=delivery.sent_at + timedelta(days=60)) == 0


# Sending and the announcement.


@pytest.mark.django_db(transaction=True)
def test_notice_with_consent_is_sent_and_announced_by_an_email_without_content(
    send: Callable[..., Message], consenting: User, clerk: User, bb: OrgUnit, smtp_server: SmtpSink
) -> None:
    consent = ConsentRecord.objects.get(user=consenting, purpose="postfach")
    before = last_event_id()
    # When the clerk sends a notice with a PDF to a citizen who agreed
    message = send(consenting, attachments=[pdf("Grundsteuer-4711.pdf")], now=SENT)
    # Then the delivery record holds the consent, the sending and the announcement
    delivery = Delivery.objects.get(message=message)
    assert delivery.is_formal is True
    assert (delivery.consent_recorded, delivery.consent_record_id) == (True, consent.pk)
    assert (delivery.consent_text_version, delivery.consent_granted_at) == (
        consent.text_version,
        consent.granted_at,
    )
    assert (delivery.sent_at, delivery.announced_at) == (SENT, SENT)
    assert (delivery.retrieved_at, delivery.deemed_delivered_on, delivery.failed_at) == (
        None,
        None,
        None,
    )
    assert delivery.status == Delivery.Status.ANNOUNCED
    # And the announcement waits in the queue as a mandatory e-mail
    notification = Notification.objects.get()
    assert delivery.announcement_id == notification.pk
    assert (notification.event, notification.channel, notification.mandatory) == (
        "postfach.new_message",
        "email",
        True,
    )
    assert notification.status == NotificationStatus.PENDING
    # And the trail has the sending and the announcement, exactly
    assert audit_trail(since=before) == [
        (
            "postfach.message.sent",
            clerk.pk,
            "postfach.message",
            str(message.pk),
            {
                "kind": "notice",
                "citizen": consenting.pk,
                "org_unit": bb.pk,
                "reference": REFERENCE,
                "min_trust_level": 1,
                "attachments": [message.attachments.get().sha256],
                "formal": True,
                "consent_record": consent.pk,
            },
        ),
        (
            "postfach.message.announced",
            None,
            "postfach.message",
            str(message.pk),
            {"notification": notification.pk, "channel": "email", "detail": ""},
        ),
    ]
    # When the task worker runs
    run_worker()
    # Then exactly one e-mail arrived at the SMTP server, for the citizen
    [mail] = smtp_server.messages
    assert mail["To"] == "erika@example.org"
    subject, text = _mail_text(mail)
    # And it says only that a message is waiting, with a link to it
    link = f"https://musterstadt.localhost/konto/postfach/{message.pk}/"
    assert subject == "A new message is waiting in your mailbox at Musterstadt"
    assert text == (
        "Hello,\n\n"
        "a new message from Musterstadt is waiting in the mailbox of your citizen account. "
        "Sign in to read it:\n\n"
        f"{link}\n\n"
        "For your protection this e-mail contains nothing of the message itself.\n"
        "If the message is a notice (Bescheid), it counts as delivered on the day after you "
        "open it. If it is not opened within the retrieval period, it will be delivered to "
        "you another way.\n\n"
        "Musterstadt\n"
    )
    # And nothing of the message is in it, nor in the stored notification
    notification.refresh_from_db()
    stored = f"{notification.subject}\n{notification.body}\n{notification.context}"
    for secret in (SUBJECT, BODY, "Grundsteuer", "412", REFERENCE, "4711", "Bürgerbüro"):
        assert secret not in subject
        assert secret not in text
        assert secret not in stored
    assert notification.status == NotificationStatus.SENT


def test_the_link_uses_the_address_the_clerk_worked_at(
    send: Callable[..., Message], consenting: User
) -> None:
    message = send(consenting, site_url="https://service.musterstadt.de/")
    notification = Notification.objects.get()
    assert notification.context == {
        "link": f"https://service.musterstadt.de/konto/postfach/{message.pk}/"
    }
    assert notification.url == f"/konto/postfach/{message.pk}/"


def test_the_business_object_is_referenced_and_must_be_of_the_same_municipality(
    send: Callable[..., Message],
    consenting: User,
    bb: OrgUnit,
    other_municipality: Municipality,
) -> None:
    # Any row of the municipality can be the business object (here a unit stands in for a case)
    message = send(consenting, business_object=bb)
    assert (message.business_object_type.model, message.business_object_id) == (
        "orgunit",
        str(bb.pk),
    )
    assert message.business_object == bb
    foreign = organisation_defaults_ensure(municipality=other_municipality)["BB"]
    with pytest.raises(ValidationFailed):
        send(consenting, business_object=foreign)
    assert Message.objects.count() == 1


def test_an_account_never_confirmed_nor_used_gets_no_messages(
    send: Callable[..., Message], citizen: User
) -> None:
    User.objects.filter(pk=citizen.pk).update(email_verified_at=None, last_login=None)
    citizen.refresh_from_db()
    with pytest.raises(ValidationFailed) as refused:
        send(citizen, kind="information")
    assert refused.value.fields == {
        "recipient": ["This citizen has not confirmed the account yet."]
    }
    assert not Message.objects.exists()


def test_clerk_of_another_unit_may_not_send_for_the_buergerbuero(
    send: Callable[..., Message], consenting: User, registrar: User
) -> None:
    # Given the registrar acts for the Standesamt only
    # When they send a notice in the name of the Bürgerbüro
    with pytest.raises(PermissionDenied):
        send(consenting, sender=registrar)
    # Then nothing was sent
    assert not Message.objects.exists()
    assert not Notification.objects.exists()


def test_recipient_of_another_municipality_is_refused(
    send: Callable[..., Message], other_municipality: Municipality
) -> None:
    stranger = UserFactory(municipality=other_municipality, email="x@example.org")
    with pytest.raises(ValidationFailed) as refused:
        send(stranger, kind="information")
    assert refused.value.fields == {"recipient": ["There is no citizen account with this address."]}
    assert not Message.objects.exists()


# Retrieval.


def test_retrieval_is_recorded_once_and_the_notice_deemed_delivered_the_next_day(
    send: Callable[..., Message], consenting: User
) -> None:
    message = send(consenting, now=SENT)
    before = last_event_id()
    opened = berlin(2026, 3, 4, 8, 15)
    # When the citizen opens the notice two days later
    message_open(
        message=message, user=consenting, trust_level=TrustLevel.BASIC, ip="192.0.2.7", now=opened
    )
    # Then the retrieval is recorded, and the notice counts as delivered on the next day
    delivery = Delivery.objects.get(message=message)
    assert delivery.retrieved_at == opened
    assert delivery.deemed_delivered_on == date(2026, 3, 5)
    assert delivery.status == Delivery.Status.RETRIEVED
    message.refresh_from_db()
    assert message.read_at == opened
    # When they open it again a week later
    message_open(
        message=message,
        user=consenting,
        trust_level=TrustLevel.BASIC,
        now=opened + timedelta(days=7),
    )
    # Then nothing changes: the first retrieval counts
    delivery.refresh_from_db()
    assert (delivery.retrieved_at, delivery.deemed_delivered_on) == (opened, date(2026, 3, 5))
    assert audit_trail(since=before) == [
        (
            "postfach.message.retrieved",
            consenting.pk,
            "postfach.message",
            str(message.pk),
            {
                "trust_level": 1,
                "formal": True,
                "deemed_delivered_on": "2026-03-05",
                "after_failure": False,
            },
        )
    ]
    # And a retrieved notice does not fail later
    assert deliveries_check(now=opened + timedelta(days=30)) == 0


@pytest.mark.parametrize(
    ("opened_utc", "deemed"),
    [
        # Winter time (UTC+1): 22:59 UTC is still 23:59 on the 3rd in Germany ...
        (datetime(2026, 3, 3, 22, 59, tzinfo=UTC), date(2026, 3, 4)),
        # ... 23:30 UTC is already 00:30 on the 4th.
        (datetime(2026, 3, 3, 23, 30, tzinfo=UTC), date(2026, 3, 5)),
        # Summer time (UTC+2): 21:59 UTC is 23:59 on 1 July, 22:30 UTC is 00:30 on 2 July.
        (datetime(2026, 7, 1, 21, 59, tzinfo=UTC), date(2026, 7, 2)),
        (datetime(2026, 7, 1, 22, 30, tzinfo=UTC), date(2026, 7, 3)),
    ],
)
def test_the_day_after_retrieval_is_counted_in_german_time_across_midnight(
    send: Callable[..., Message], consenting: User, opened_utc: datetime, deemed: date
) -> None:
    message = send(consenting, now=opened_utc - timedelta(hours=5))
    message_open(message=message, user=consenting, trust_level=TrustLevel.BASIC, now=opened_utc)
    assert Delivery.objects.get(message=message).deemed_delivered_on == deemed


def test_only_the_recipient_can_open_and_a_refused_opening_records_nothing(
    send: Callable[..., Message], consenting: User, neighbour: User, clerk: User
) -> None:
    message = send(consenting)
    before = last_event_id()
    for intruder in (neighbour, clerk):
        with pytest.raises(NotFound):
            message_open(message=message, user=intruder, trust_level=TrustLevel.HIGH)
    assert Delivery.objects.get(message=message).retrieved_at is None
    assert audit_trail(since=before) == []


def test_a_session_below_the_trust_level_cannot_retrieve(
    send: Callable[..., Message], consenting: User
) -> None:
    message = send(consenting, min_trust_level=TrustLevel.HIGH)
    before = last_event_id()
    with pytest.raises(TrustLevelTooLow) as refused:
        message_open(message=message, user=consenting, trust_level=TrustLevel.SUBSTANTIAL)
    assert (refused.value.required, refused.value.current) == (
        TrustLevel.HIGH,
        TrustLevel.SUBSTANTIAL,
    )
    assert Delivery.objects.get(message=message).retrieved_at is None
    assert audit_trail(since=before) == []
    message_open(message=message, user=consenting, trust_level=TrustLevel.HIGH)
    assert Delivery.objects.get(message=message).retrieved_at is not None


# Not retrieved in time.


def test_the_retrieval_period_ends_with_the_tenth_day_after_the_announcement() -> None:
    # Announced on Monday 2 March: the day itself does not count, 3 ... 12 March are the ten
    assert retrieval_deadline(announced_at=SENT, days=10) == date(2026, 3, 12)
    # Announced at 00:30 German time on 3 March (23:30 UTC on the 2nd): the 3rd is day zero
    late = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    assert retrieval_deadline(announced_at=late, days=10) == date(2026, 3, 13)


def test_notice_not_retrieved_in_ten_days_is_not_delivered_and_staff_get_a_follow_up(
    send: Callable[..., Message], consenting: User, bb: OrgUnit
) -> None:
    message = send(consenting, now=SENT)
    before = last_event_id()
    # When the daily check runs at the last minute of the tenth day (German time)
    assert deliveries_check(now=berlin(2026, 3, 12, 23, 59)) == 0
    # Then the notice is still waiting
    assert Delivery.objects.get(message=message).status == Delivery.Status.ANNOUNCED
    # When it runs just after midnight
    failed_at = berlin(2026, 3, 13, 0, 15)
    assert deliveries_check(now=failed_at) == 1
    # Then the delivery failed
    delivery = Delivery.objects.get(message=message)
    assert delivery.status == Delivery.Status.FAILED
    assert (delivery.failed_at, delivery.failure_reason) == (failed_at, "not_retrieved")
    assert (delivery.retrieved_at, delivery.deemed_delivered_on) == (None, None)
    # And the Bürgerbüro must deliver it another way within three days
    follow_up = DeliveryFollowUp.objects.get()
    assert (follow_up.message, follow_up.org_unit, follow_up.reason) == (
        message,
        bb,
        "not_retrieved",
    )
    assert (follow_up.due, follow_up.done_at) == (date(2026, 3, 16), None)
    # And the trail says so
    assert audit_trail(since=before) == [
        (
            "postfach.delivery.failed",
            None,
            "postfach.message",
            str(message.pk),
            {
                "reason": "not_retrieved",
                "announced_at": "2026-03-02T09:00:00+00:00",
                "retrieval_days": 10,
                "follow_up": follow_up.pk,
                "org_unit": bb.pk,
            },
        )
    ]
    # When the check runs again, nothing more happens
    assert deliveries_check(now=failed_at + timedelta(days=1)) == 0
    assert DeliveryFollowUp.objects.count() == 1


def test_opening_after_the_failure_is_recorded_but_does_not_deliver(
    send: Callable[..., Message], consenting: User
) -> None:
    message = send(consenting, now=SENT)
    deliveries_check(now=berlin(2026, 3, 13, 0, 15))
    before = last_event_id()
    opened = berlin(2026, 3, 14, 9, 0)
    message_open(message=message, user=consenting, trust_level=TrustLevel.BASIC, now=opened)
    delivery = Delivery.objects.get(message=message)
    assert (delivery.status, delivery.retrieved_at, delivery.deemed_delivered_on) == (
        Delivery.Status.FAILED,
        opened,
        None,
    )
    assert audit_trail(since=before)[0][4] == {
        "trust_level": 1,
        "formal": True,
        "deemed_delivered_on": None,
        "after_failure": True,
    }


def test_opening_after_the_period_before_the_nightly_check_does_not_deliver(
    send: Callable[..., Message], consenting: User, bb: OrgUnit
) -> None:
    # Given a notice announced on 2 March whose period ended with 12 March
    message = send(consenting, now=SENT)
    before = last_event_id()
    # When the citizen opens it at 00:05 on 13 March, before the nightly check ran
    opened = berlin(2026, 3, 13, 0, 5)
    message_open(message=message, user=consenting, trust_level=TrustLevel.BASIC, now=opened)
    # Then it is not delivered: failed at that moment, with a follow-up for staff
    delivery = Delivery.objects.get(message=message)
    assert (delivery.status, delivery.failed_at, delivery.retrieved_at) == (
        "failed",
        opened,
        opened,
    )
    assert delivery.deemed_delivered_on is None
    assert DeliveryFollowUp.objects.get().org_unit == bb
    assert [action for action, *_ in audit_trail(since=before)] == [
        "postfach.delivery.failed",
        "postfach.message.retrieved",
    ]
    # And the nightly check finds nothing left to do
    assert deliveries_check(now=berlin(2026, 3, 13, 0, 15)) == 0


def test_a_notice_retrieved_on_the_tenth_day_is_delivered(
    send: Callable[..., Message], consenting: User
) -> None:
    message = send(consenting, now=SENT)
    message_open(
        message=message,
        user=consenting,
        trust_level=TrustLevel.BASIC,
        now=berlin(2026, 3, 12, 23, 50),
    )
    assert deliveries_check(now=berlin(2026, 3, 13, 0, 15)) == 0
    delivery = Delivery.objects.get(message=message)
    assert (delivery.status, delivery.deemed_delivered_on) == ("retrieved", date(2026, 3, 13))
    assert not DeliveryFollowUp.objects.exists()


def test_a_notice_whose_email_cannot_be_sent_fails_at_the_next_check(
    send: Callable[..., Message], consenting: User, bb: OrgUnit
) -> None:
    # Given a citizen account without an e-mail address (e.g. from an eID sign-in)
    User.objects.filter(pk=consenting.pk).update(email="")
    consenting.refresh_from_db()
    before = last_event_id()
    message = send(consenting, now=SENT)
    # Then the announcement was not sent, and the trail says why
    delivery = Delivery.objects.get(message=message)
    assert delivery.announced_at is None
    assert [(a, d) for a, _, _, _, d in audit_trail(since=before)][1] == (
        "postfach.message.not_announced",
        {
            "notification": delivery.announcement_id,
            "channel": "email",
            "detail": "no e-mail address",
        },
    )
    # When the daily check runs the next night
    assert deliveries_check(now=berlin(2026, 3, 3, 0, 15)) == 1
    # Then the notice must be delivered another way at once
    delivery.refresh_from_db()
    assert (delivery.status, delivery.failure_reason) == ("failed", "announcement_failed")
    assert DeliveryFollowUp.objects.get().reason == "announcement_failed"


def test_the_retrieval_period_is_the_municipality_setting(
    send: Callable[..., Message], consenting: User, municipality: Municipality
) -> None:
    # The law fixes ten days: a stored value outside 10..10 is ignored
    municipality.settings = {"postfach.retrieval_days": 3}
    municipality.save()
    send(consenting, now=SENT)
    assert deliveries_check(now=berlin(2026, 3, 6, 0, 15)) == 0
    assert deliveries_check(now=berlin(2026, 3, 13, 0, 15)) == 1


def test_the_daily_task_is_scheduled_and_runs_the_check(
    send: Callable[..., Message], consenting: User
) -> None:
    job = registered()["rathaus.postfach.tasks.postfach_deliveries_check"]
    assert (job.every, job.offset) == (timedelta(days=1), timedelta(hours=23, minutes=15))
    send(consenting, now=berlin(2020, 1, 6, 10, 0))
    assert tasks.postfach_deliveries_check.call() == 1
    assert DeliveryFollowUp.objects.count() == 1


# Trust level "high" through the pages.


def test_high_message_sends_a_basic_session_to_step_up_and_opens_after_an_eid_login(
    send: Callable[..., Message], consenting: User, client: Client
) -> None:
    message = send(consenting, min_trust_level=TrustLevel.HIGH)
    url = f"/konto/postfach/{message.pk}/"
    # Given a session signed in with a password
    sign_in(client, consenting, TrustLevel.BASIC)
    # When the citizen opens the message, then they are sent to the step-up page
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == (
        f"/anmelden/vertrauensniveau/?level=3&next=%2Fkonto%2Fpostfach%2F{message.pk}%2F"
    )
    # And nothing was retrieved
    assert Delivery.objects.get(message=message).retrieved_at is None
    # When they sign in at "high" (online ID card)
    sign_in(client, consenting, TrustLevel.HIGH)
    response = client.get(url)
    # Then the notice opens and its retrieval is recorded
    assert response.status_code == 200
    assert BODY in response.content.decode()
    assert Delivery.objects.get(message=message).retrieved_at is not None
