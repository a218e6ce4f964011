"""The citizen's mailbox pages: inbox, a message, the reply form and downloads, including
other citizens' and other tenants' ids and hostile input."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rathaus.accounts.models import User
from rathaus.accounts.services import consent_withdraw
from rathaus.accounts.trust import TrustLevel
from rathaus.core.models import Municipality
from rathaus.organisation.models import OrgUnit
from rathaus.postfach.models import Attachment, Delivery, Message
from tests.factories import UserFactory
from tests.postfach.conftest import (
    audit_trail,
    last_event_id,
    pdf,
    sign_in,
    upload,
)
from tests.postfach.factories import PDF_BYTES, DeliveryFactory, MessageFactory
from tests.postfach.test_attachments import EXE, SVG

pytestmark = pytest.mark.django_db

INBOX = "/konto/postfach/"


def _url(message: Message, suffix: str = "") -> str:
    return f"/konto/postfach/{message.pk}/{suffix}"


def _messages_for(citizen: User, unit: OrgUnit, count: int) -> list[Message]:
    """``count`` messages with delivery records, the first one the oldest."""
    start = timezone.now() - timedelta(days=count)
    made = []
    for number in range(count):
        message = MessageFactory(citizen=citizen, org_unit=unit, subject=f"Nachricht {number}")
        DeliveryFactory(message=message)
        Message.objects.filter(pk=message.pk).update(created_at=start + timedelta(days=number))
        made.append(message)
    return made


# The inbox.


def test_inbox_needs_a_sign_in(client: Client, municipality: Municipality) -> None:
    response = client.get(INBOX)
    assert response.status_code == 302
    assert response["Location"] == "/anmelden/?next=/konto/postfach/"


def test_inbox_lists_own_messages_unread_first_then_newest(
    client: Client, citizen: User, neighbour: User, bb: OrgUnit, sta: OrgUnit
) -> None:
    # Given three messages, the middle one opened, and a message to someone else
    _old, middle, _new = _messages_for(citizen, bb, 3)
    Message.objects.filter(pk=middle.pk).update(read_at=timezone.now())
    _messages_for(neighbour, sta, 1)
    # When the citizen opens the inbox
    response = sign_in(client, citizen).get(INBOX)
    # Then they see only their own messages, unread first, then newest
    assert response.status_code == 200
    assert [m.subject for m in response.context["page_obj"]] == [
        "Nachricht 2",
        "Nachricht 0",
        "Nachricht 1",
    ]
    page = response.content.decode()
    assert page.count("<strong>Unread</strong>") == 2
    assert "Citizens&#x27; office" in page
    assert response["Cache-Control"].startswith("max-age=0")


def test_inbox_shows_the_consent_state_with_a_link_to_the_consents(
    client: Client, consenting: User
) -> None:
    sign_in(client, consenting)
    page = client.get(INBOX).content.decode()
    assert "to receive notices (Bescheide) here" in page
    assert 'href="/konto/einwilligungen/"' in page
    consent_withdraw(user=consenting, purpose="postfach")
    page = client.get(INBOX).content.decode()
    assert "You have not agreed to receive notices (Bescheide) here" in page


def test_inbox_hides_the_subject_of_messages_above_the_session_level(
    client: Client, citizen: User, bb: OrgUnit
) -> None:
    [message] = _messages_for(citizen, bb, 1)
    Message.objects.filter(pk=message.pk).update(
        subject="Steuerbescheid", min_trust_level=TrustLevel.HIGH
    )
    page = sign_in(client, citizen).get(INBOX).content.decode()
    assert "Steuerbescheid" not in page
    assert "Message for a sign-in at trust level “high”" in page
    page = sign_in(client, citizen, TrustLevel.HIGH).get(INBOX).content.decode()
    assert "Steuerbescheid" in page


def test_inbox_is_paginated_with_a_constant_number_of_queries(
    client: Client, citizen: User, bb: OrgUnit
) -> None:
    sign_in(client, citizen)
    _messages_for(citizen, bb, 3)
    client.get(INBOX)  # warm the tenant cache
    with CaptureQueriesContext(connection) as few:
        assert client.get(INBOX).status_code == 200
    _messages_for(citizen, bb, 22)
    with CaptureQueriesContext(connection) as many:
        response = client.get(INBOX)
    # session, user, consent, count, page, unread notifications and mailbox (layout)
    assert len(few) == len(many) == 7
    assert len(response.context["page_obj"].object_list) == 20
    second = client.get(INBOX + "?seite=2")
    assert len(second.context["page_obj"].object_list) == 5
    # A page number that is no number shows the first page
    assert client.get(INBOX + "?seite=%3Cscript%3E").context["page_obj"].number == 1


# A message.


def test_message_page_shows_text_attachments_and_delivery_record(
    client: Client, send: Callable[..., Message], consenting: User
) -> None:
    message = send(consenting, attachments=[pdf("Grundsteuer-4711.pdf")])
    response = sign_in(client, consenting).get(_url(message))
    assert response.status_code == 200
    page = response.content.decode()
    attachment = message.attachments.get()
    assert "Die Grundsteuer für Flurstück 4711 beträgt 412,00 EUR." in page
    assert f'href="/konto/postfach/{message.pk}/anhang/{attachment.pk}/"' in page
    assert "Delivery record" in page
    assert "Deemed delivered on" in page
    delivery = Delivery.objects.get(message=message)
    assert delivery.deemed_delivered_on is not None
    assert delivery.deemed_delivered_on.strftime("%Y-%m-%d") in page
    assert 'href="/konto/postfach/"' in page
    assert response["Cache-Control"].startswith("max-age=0")


def test_another_citizens_message_is_404_and_nothing_is_retrieved(
    client: Client, send: Callable[..., Message], consenting: User, neighbour: User
) -> None:
    message = send(consenting, attachments=[pdf()])
    attachment = message.attachments.get()
    before = last_event_id()
    sign_in(client, neighbour, TrustLevel.HIGH)
    for url in (
        _url(message),
        _url(message, f"anhang/{attachment.pk}/"),
    ):
        assert client.get(url).status_code == 404
    assert client.post(_url(message, "antworten/"), {"body": "Hallo"}).status_code == 404
    assert Delivery.objects.get(message=message).retrieved_at is None
    assert Message.objects.count() == 1
    assert audit_trail(since=before) == []


def test_unknown_ids_are_404(client: Client, citizen: User) -> None:
    sign_in(client, citizen)
    assert client.get("/konto/postfach/999999/").status_code == 404
    assert client.get("/konto/postfach/999999/anhang/1/").status_code == 404


def test_another_municipalitys_citizen_gets_404_for_our_ids(
    other_client: Client,
    other_municipality: Municipality,
    send: Callable[..., Message],
    consenting: User,
) -> None:
    message = send(consenting, attachments=[pdf()])
    attachment = message.attachments.get()
    stranger = UserFactory(municipality=other_municipality, email="erika@example.org")
    sign_in(other_client, stranger, TrustLevel.HIGH)
    assert other_client.get(_url(message)).status_code == 404
    assert other_client.get(_url(message, f"anhang/{attachment.pk}/")).status_code == 404
    assert Delivery.objects.get(message=message).retrieved_at is None


def test_our_citizen_signed_in_here_is_anonymous_at_another_municipality(
    other_client: Client,
    other_municipality: Municipality,
    send: Callable[..., Message],
    consenting: User,
) -> None:
    message = send(consenting)
    sign_in(other_client, consenting)
    response = other_client.get(_url(message))
    assert response.status_code == 302
    assert response["Location"].startswith("/anmelden/")
    assert Delivery.objects.get(message=message).retrieved_at is None


def test_the_message_page_answers_only_get(
    client: Client, send: Callable[..., Message], consenting: User
) -> None:
    message = send(consenting)
    sign_in(client, consenting)
    assert client.post(_url(message)).status_code == 405
    assert client.head(_url(message)).status_code == 405
    assert Delivery.objects.get(message=message).retrieved_at is None


# Downloads.


def test_attachment_downloads_as_a_file_with_a_strict_policy(
    client: Client, send: Callable[..., Message], consenting: User
) -> None:
    message = send(consenting, attachments=[pdf("Grundsteuer 2026 (Entwurf).pdf")])
    attachment = message.attachments.get()
    before = last_event_id()
    response = sign_in(client, consenting).get(_url(message, f"anhang/{attachment.pk}/"))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES  # type: ignore[attr-defined]
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        'attachment; filename="Grundsteuer 2026 (Entwurf).pdf"'
    )
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    # Fetching the file is a retrieval of the notice
    assert [a for a, *_ in audit_trail(since=before)] == ["postfach.message.retrieved"]
    assert Delivery.objects.get(message=message).retrieved_at is not None


def test_attachment_of_a_high_message_needs_the_step_up(
    client: Client, send: Callable[..., Message], consenting: User
) -> None:
    message = send(consenting, attachments=[pdf()], min_trust_level=TrustLevel.HIGH)
    attachment = message.attachments.get()
    response = sign_in(client, consenting).get(_url(message, f"anhang/{attachment.pk}/"))
    assert response.status_code == 302
    assert response["Location"] == (
        f"/anmelden/vertrauensniveau/?level=3&next=%2Fkonto%2Fpostfach%2F{message.pk}%2F"
    )
    assert Delivery.objects.get(message=message).retrieved_at is None


def test_attachment_id_of_another_message_is_404(
    client: Client, send: Callable[..., Message], consenting: User
) -> None:
    first = send(consenting, kind="information", attachments=[pdf()])
    second = send(consenting, kind="information")
    attachment = first.attachments.get()
    sign_in(client, consenting)
    assert client.get(_url(second, f"anhang/{attachment.pk}/")).status_code == 404


# Replies.


def test_reply_goes_to_the_unit_in_the_same_conversation(
    client: Client, send: Callable[..., Message], consenting: User, bb: OrgUnit
) -> None:
    message = send(consenting)
    sign_in(client, consenting)
    client.get(_url(message))
    before = last_event_id()
    response = client.post(
        _url(message, "antworten/"),
        {"body": "Ich bitte um Ratenzahlung.", "attachments": [pdf("Nachweis.pdf")]},
    )
    assert response.status_code == 302
    assert response["Location"] == _url(message)
    reply = Message.objects.get(direction="inbound")
    assert (reply.kind, reply.citizen, reply.org_unit, reply.thread, reply.parent) == (
        "reply",
        consenting,
        bb,
        message,
        message,
    )
    assert (reply.subject, reply.body, reply.reference) == (
        "Re: Grundsteuerbescheid 2026",
        "Ich bitte um Ratenzahlung.",
        "GS-2026-0042",
    )
    attachment = reply.attachments.get()
    assert attachment.original_name == "Nachweis.pdf"
    assert audit_trail(since=before) == [
        (
            "postfach.reply.received",
            consenting.pk,
            "postfach.message",
            str(reply.pk),
            {"parent": message.pk, "org_unit": bb.pk, "attachments": [attachment.sha256]},
        )
    ]
    # And the answer is shown in the conversation, its file downloadable by the citizen
    page = client.get(_url(message)).content.decode()
    assert "Ich bitte um Ratenzahlung." in page
    assert f'href="/konto/postfach/{reply.pk}/anhang/{attachment.pk}/"' in page
    assert client.get(f"/konto/postfach/{reply.pk}/anhang/{attachment.pk}/").status_code == 200


def test_hostile_reply_text_is_stored_as_typed_and_shown_escaped(
    client: Client, send: Callable[..., Message], consenting: User
) -> None:
    message = send(consenting)
    sign_in(client, consenting)
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    client.post(_url(message, "antworten/"), {"body": hostile})
    reply = Message.objects.get(direction="inbound")
    assert reply.body == hostile
    page = client.get(_url(message)).content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"body": ""}, "This field is required."),
        ({"body": "   \n  "}, "This field is required."),
        ({"body": "x" * 10_001}, "Ensure this value has at most 10000 characters (it has 10001)."),
        ({"body": "Hallo\x00Welt"}, "Null characters are not allowed."),
    ],
)
def test_malformed_replies_are_refused_and_nothing_changes(
    client: Client, send: Callable[..., Message], consenting: User, data: dict[str, str], error: str
) -> None:
    message = send(consenting)
    sign_in(client, consenting)
    response = client.post(_url(message, "antworten/"), data)
    assert response.status_code == 400
    assert response.context["form"].errors == {"body": [error]}
    assert 'aria-invalid="true"' in response.content.decode()
    assert not Message.objects.filter(direction="inbound").exists()


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        (
            "antrag.pdf",
            EXE,
            "“antrag.pdf” cannot be attached: it is a program, which is not accepted.",
        ),
        (
            "bild.svg",
            SVG,
            "“bild.svg” cannot be attached: HTML, SVG and other markup are not accepted.",
        ),
    ],
)
def test_reply_with_a_forbidden_file_is_refused_with_the_reason(
    client: Client,
    send: Callable[..., Message],
    consenting: User,
    name: str,
    content: bytes,
    reason: str,
) -> None:
    message = send(consenting)
    sign_in(client, consenting)
    response = client.post(
        _url(message, "antworten/"), {"body": "Anbei", "attachments": [upload(name, content)]}
    )
    assert response.status_code == 400
    assert response.context["form"].errors == {"attachments": [reason]}
    assert reason in response.content.decode()
    assert not Message.objects.filter(direction="inbound").exists()
    assert Attachment.objects.count() == 0


def test_reply_to_a_high_message_needs_the_step_up(
    client: Client, send: Callable[..., Message], consenting: User
) -> None:
    message = send(consenting, min_trust_level=TrustLevel.HIGH)
    sign_in(client, consenting, TrustLevel.SUBSTANTIAL)
    response = client.post(_url(message, "antworten/"), {"body": "Hallo"})
    assert response.status_code == 302
    assert response["Location"].startswith("/anmelden/vertrauensniveau/?level=3")
    assert not Message.objects.filter(direction="inbound").exists()


def test_reply_without_csrf_token_is_refused(
    send: Callable[..., Message], consenting: User
) -> None:
    message = send(consenting)
    browser = Client(enforce_csrf_checks=True)
    browser.cookies["rathaus_language"] = "en"
    sign_in(browser, consenting)
    assert browser.post(_url(message, "antworten/"), {"body": "Hallo"}).status_code == 403
    assert not Message.objects.filter(direction="inbound").exists()


def test_reply_page_answers_only_post(
    client: Client, send: Callable[..., Message], consenting: User
) -> None:
    message = send(consenting)
    assert sign_in(client, consenting).get(_url(message, "antworten/")).status_code == 405


def test_unread_count_for_the_navigation_counts_only_unopened_own_messages(
    rf: object, citizen: User, neighbour: User, bb: OrgUnit
) -> None:
    from django.contrib.auth.models import AnonymousUser

    from rathaus.postfach.context_processors import unread_count

    first, _second = _messages_for(citizen, bb, 2)
    _messages_for(neighbour, bb, 1)
    Message.objects.filter(pk=first.pk).update(read_at=timezone.now())
    request = rf.get("/")  # type: ignore[attr-defined]
    request.user = citizen
    assert unread_count(request)["postfach_unread"]() == 1
    request.user = AnonymousUser()
    assert unread_count(request) == {"postfach_unread": 0}


def test_a_notice_not_opened_in_time_says_it_comes_another_way(
    client: Client, send: Callable[..., Message], consenting: User
) -> None:
    from rathaus.postfach.services import deliveries_check
    from tests.postfach.conftest import berlin

    message = send(consenting, now=berlin(2026, 3, 2, 10, 0))
    deliveries_check(now=berlin(2026, 3, 13, 0, 15))
    page = sign_in(client, consenting).get(_url(message)).content.decode()
    assert "Not delivered digitally:" in page
    assert "This notice was not opened within the retrieval period." in page
    assert "It will be delivered to you another way" in page
    delivery = Delivery.objects.get(message=message)
    assert (delivery.status, delivery.deemed_delivered_on) == ("failed", None)
