"""The staff pages under /verwaltung/postfach/: compose, the list of messages with their
delivery records, reading (audited), the follow-ups; wrong unit, tenant and hostile input."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from rathaus.accounts.models import User
from rathaus.accounts.trust import TrustLevel
from rathaus.core.models import Municipality
from rathaus.notifications.models import Notification
from rathaus.organisation.models import OrgUnit
from rathaus.organisation.services import organisation_defaults_ensure
from rathaus.postfach.models import Delivery, DeliveryFollowUp, Message
from rathaus.postfach.services import deliveries_check
from tests.factories import StaffFactory, UserFactory
from tests.organisation.factories import RoleFactory, RoleGrantFactory
from tests.postfach.conftest import audit_trail, berlin, last_event_id, pdf, sign_in, upload
from tests.postfach.test_attachments import EXE

pytestmark = pytest.mark.django_db

LIST = "/verwaltung/postfach/"
COMPOSE = "/verwaltung/postfach/neu/"
FOLLOW_UPS = "/verwaltung/postfach/zustellung/"


def _compose_data(bb: OrgUnit, **changes: object) -> dict[str, object]:
    return {
        "recipient_email": "Erika@Example.org",
        "org_unit": str(bb.pk),
        "kind": "notice",
        "min_trust_level": "1",
        "reference": "GS-2026-0042",
        "subject": "Grundsteuerbescheid 2026",
        "body": "Die Grundsteuer beträgt 412,00 EUR.",
        **changes,
    }


def _state() -> tuple[int, int, int]:
    return (Message.objects.count(), Delivery.objects.count(), Notification.objects.count())


# The gate.


@pytest.mark.parametrize("url", [LIST, COMPOSE, FOLLOW_UPS])
def test_anonymous_visitors_are_sent_to_the_login(
    client: Client, municipality: Municipality, url: str
) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/anmelden/?next={url}"


@pytest.mark.parametrize("url", [LIST, COMPOSE, FOLLOW_UPS])
def test_citizens_and_staff_without_the_permission_are_forbidden(
    client: Client, citizen: User, units: dict[str, OrgUnit], url: str
) -> None:
    assert sign_in(client, citizen).get(url).status_code == 403
    staff = StaffFactory(municipality=citizen.municipality)
    assert sign_in(client, staff).get(url).status_code == 403


def test_staff_without_the_permission_cannot_post_a_message(
    client: Client, consenting: User, bb: OrgUnit
) -> None:
    staff = StaffFactory(municipality=consenting.municipality)
    RoleGrantFactory(
        user=staff,
        org_unit=bb,
        role=RoleFactory(municipality=bb.municipality, permissions=["organisation.view_orgunit"]),
    )
    response = sign_in(client, staff).post(COMPOSE, _compose_data(bb))
    assert response.status_code == 403
    assert _state() == (0, 0, 0)


# Compose.


def test_clerk_sends_a_notice_with_an_attachment(
    client: Client, clerk: User, consenting: User, bb: OrgUnit, sta: OrgUnit
) -> None:
    sign_in(client, clerk)
    # The form offers only the units the clerk acts for
    form = client.get(COMPOSE).context["form"]
    assert list(form.fields["org_unit"].queryset) == [bb]
    response = client.post(
        COMPOSE, {**_compose_data(bb), "attachments": [pdf("Bescheid.pdf")]}, HTTP_HOST="testserver"
    )
    message = Message.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/verwaltung/postfach/{message.pk}/"
    assert (message.citizen, message.org_unit, message.staff_sender, message.kind) == (
        consenting,
        bb,
        clerk,
        "notice",
    )
    assert message.attachments.get().original_name == "Bescheid.pdf"
    # The announcement links to the address the clerk worked at
    assert Notification.objects.get().context == {
        "link": f"http://testserver/konto/postfach/{message.pk}/"
    }


def test_notice_to_a_citizen_without_consent_is_refused_and_recorded(
    client: Client, clerk: User, citizen: User, bb: OrgUnit
) -> None:
    before = last_event_id()
    response = sign_in(client, clerk).post(COMPOSE, _compose_data(bb))
    assert response.status_code == 409
    assert response.context["form"].non_field_errors() == [
        "This citizen has not agreed to receive notices digitally. Send the notice by post instead."
    ]
    assert _state() == (0, 0, 0)
    assert [a for a, *_ in audit_trail(since=before)] == ["postfach.notice.refused"]


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        (
            {"recipient_email": "nobody@example.org"},
            "recipient_email",
            "There is no citizen account with this address.",
        ),
        (
            {"recipient_email": "clerk@musterstadt.example"},
            "recipient_email",
            "There is no citizen account with this address.",
        ),
        ({"recipient_email": "not an address"}, "recipient_email", "Enter a valid email address."),
        (
            {"kind": "reply"},
            "kind",
            "Select a valid choice. reply is not one of the available choices.",
        ),
        (
            {"min_trust_level": "0"},
            "min_trust_level",
            "Select a valid choice. 0 is not one of the available choices.",
        ),
        (
            {"min_trust_level": "9"},
            "min_trust_level",
            "Select a valid choice. 9 is not one of the available choices.",
        ),
        ({"subject": ""}, "subject", "This field is required."),
        (
            {"subject": "x" * 201},
            "subject",
            "Ensure this value has at most 200 characters (it has 201).",
        ),
        ({"body": ""}, "body", "This field is required."),
        ({"body": "a\x00b"}, "body", "Null characters are not allowed."),
        (
            {"reference": "r" * 101},
            "reference",
            "Ensure this value has at most 100 characters (it has 101).",
        ),
        (
            {"org_unit": "abc"},
            "org_unit",
            "Select a valid choice. That choice is not one of the available choices.",
        ),
    ],
)
def test_malformed_compose_input_is_refused_and_nothing_changes(
    client: Client,
    clerk: User,
    consenting: User,
    bb: OrgUnit,
    changes: dict[str, str],
    field: str,
    error: str,
) -> None:
    response = sign_in(client, clerk).post(COMPOSE, _compose_data(bb, **changes))
    assert response.status_code == 400
    assert response.context["form"].errors == {field: [error]}
    assert _state() == (0, 0, 0)


def test_compose_for_a_unit_of_someone_else_is_refused(
    client: Client, clerk: User, consenting: User, bb: OrgUnit, sta: OrgUnit
) -> None:
    response = sign_in(client, clerk).post(COMPOSE, _compose_data(bb, org_unit=str(sta.pk)))
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["org_unit"]
    assert _state() == (0, 0, 0)


def test_compose_to_a_citizen_of_another_municipality_is_refused(
    client: Client, clerk: User, bb: OrgUnit, other_municipality: Municipality
) -> None:
    UserFactory(municipality=other_municipality, email="erika@example.org")
    response = sign_in(client, clerk).post(COMPOSE, _compose_data(bb, kind="information"))
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "recipient_email": ["There is no citizen account with this address."]
    }
    assert _state() == (0, 0, 0)


def test_compose_with_a_renamed_program_is_refused_with_the_reason(
    client: Client, clerk: User, consenting: User, bb: OrgUnit
) -> None:
    response = sign_in(client, clerk).post(
        COMPOSE, {**_compose_data(bb), "attachments": [upload("bescheid.pdf", EXE)]}
    )
    assert response.status_code == 400
    reason = "“bescheid.pdf” cannot be attached: it is a program, which is not accepted."
    assert response.context["form"].errors == {"attachments": [reason]}
    assert reason in response.content.decode()
    assert _state() == (0, 0, 0)


def test_the_answer_form_keeps_the_citizen_and_the_conversation(
    client: Client, send: Callable[..., Message], clerk: User, consenting: User, bb: OrgUnit
) -> None:
    first = send(consenting, kind="information")
    sign_in(client, clerk)
    page = client.get(f"{COMPOSE}?antwort_auf={first.pk}")
    assert page.context["form"].initial["subject"] == "Re: Grundsteuerbescheid 2026"
    # A forged address is ignored: the answer goes to the conversation's citizen
    response = client.post(
        COMPOSE,
        _compose_data(bb, kind="information", antwort_auf=str(first.pk), recipient_email="x@y.z"),
    )
    assert response.status_code == 302
    answer = Message.objects.exclude(pk=first.pk).get()
    assert (answer.citizen, answer.thread, answer.parent) == (consenting, first, first)


def test_answer_to_a_message_of_another_unit_or_a_bad_id_is_404(
    client: Client, send: Callable[..., Message], registrar: User, consenting: User
) -> None:
    first = send(consenting, kind="information")
    sign_in(client, registrar)
    assert client.get(f"{COMPOSE}?antwort_auf={first.pk}").status_code == 404
    assert client.get(f"{COMPOSE}?antwort_auf=1%20OR%201=1").status_code == 404
    assert Message.objects.count() == 1


# The list and reading.


def test_list_shows_the_messages_of_own_units_only_in_constant_queries(
    client: Client,
    send: Callable[..., Message],
    clerk: User,
    registrar: User,
    consenting: User,
    sta: OrgUnit,
) -> None:
    for number in range(3):
        send(consenting, kind="information", subject=f"Bürgerbüro {number}")
    send(consenting, kind="information", subject="Standesamt", sender=registrar, sender_unit=sta)
    sign_in(client, clerk)
    client.get(LIST)
    with CaptureQueriesContext(connection) as few:
        response = client.get(LIST)
    assert [m.subject for m in response.context["page_obj"]] == [
        "Bürgerbüro 2",
        "Bürgerbüro 1",
        "Bürgerbüro 0",
    ]
    for number in range(3, 25):
        send(consenting, kind="information", subject=f"Bürgerbüro {number}")
    with CaptureQueriesContext(connection) as many:
        response = client.get(LIST)
    # session, user, privileged role check, role grants, role permissions, count, page, and
    # the user and group permissions the navigation asks Django's ModelBackend for
    assert len(few) == len(many) == 9
    assert len(response.context["page_obj"].object_list) == 20
    assert "Standesamt" not in response.content.decode()


def test_reading_a_message_is_recorded_as_a_read_of_personal_data(
    client: Client, send: Callable[..., Message], clerk: User, consenting: User
) -> None:
    message = send(consenting, attachments=[pdf()])
    attachment = message.attachments.get()
    sign_in(client, clerk)
    before = last_event_id()
    page = client.get(f"/verwaltung/postfach/{message.pk}/")
    assert page.status_code == 200
    content = page.content.decode()
    assert "Die Grundsteuer für Flurstück 4711 beträgt 412,00 EUR." in content
    assert "Consent to digital delivery" in content
    assert f'href="/verwaltung/postfach/{message.pk}/anhang/{attachment.pk}/"' in content
    download = client.get(f"/verwaltung/postfach/{message.pk}/anhang/{attachment.pk}/")
    assert download.status_code == 200
    assert download["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert audit_trail(since=before) == [
        (
            "privacy.personal_data.read",
            clerk.pk,
            "accounts.user",
            str(consenting.pk),
            {"purpose": f"Postfach-Nachricht {message.pk} lesen"},
        ),
        (
            "privacy.personal_data.read",
            clerk.pk,
            "accounts.user",
            str(consenting.pk),
            {"purpose": f"Anhang {attachment.pk} der Postfach-Nachricht {message.pk} öffnen"},
        ),
    ]
    # Staff reading is not the citizen's retrieval
    assert Delivery.objects.get(message=message).retrieved_at is None


def test_a_citizens_reply_is_marked_read_by_the_first_staff_reading(
    client: Client, send: Callable[..., Message], clerk: User, consenting: User
) -> None:
    from rathaus.postfach.services import message_reply

    message = send(consenting)
    reply = message_reply(
        message=message, user=consenting, body="Danke.", trust_level=TrustLevel.BASIC
    )
    sign_in(client, clerk)
    assert "(unread)" in client.get(LIST).content.decode()
    assert client.get(f"/verwaltung/postfach/{reply.pk}/").status_code == 200
    reply.refresh_from_db()
    assert reply.read_at is not None
    assert "(unread)" not in client.get(LIST).content.decode()


def test_messages_of_another_unit_or_tenant_are_404_and_not_recorded(
    client: Client,
    send: Callable[..., Message],
    registrar: User,
    consenting: User,
    other_municipality: Municipality,
) -> None:
    message = send(consenting, attachments=[pdf()])
    attachment = message.attachments.get()
    sign_in(client, registrar)
    before = last_event_id()
    assert client.get(f"/verwaltung/postfach/{message.pk}/").status_code == 404
    assert (
        client.get(f"/verwaltung/postfach/{message.pk}/anhang/{attachment.pk}/").status_code == 404
    )
    assert audit_trail(since=before) == []
    # Staff of another municipality with the same rights at home get 404 for our ids
    other_units = organisation_defaults_ensure(municipality=other_municipality)
    before = last_event_id()
    stranger = StaffFactory(municipality=other_municipality)
    RoleGrantFactory(
        user=stranger,
        org_unit=other_units["SV"],
        role=RoleFactory(municipality=other_municipality, permissions=["postfach.send_message"]),
    )
    other = Client(HTTP_HOST="beispielheim.localhost")
    sign_in(other, stranger)
    assert other.get(f"/verwaltung/postfach/{message.pk}/").status_code == 404
    assert audit_trail(since=before) == []


# Follow-ups.


@pytest.fixture
def failed(send: Callable[..., Message], consenting: User) -> DeliveryFollowUp:
    send(consenting, now=berlin(2026, 3, 2, 10, 0))
    deliveries_check(now=berlin(2026, 3, 13, 0, 15))
    return DeliveryFollowUp.objects.get()


def test_follow_up_list_shows_own_units_only(
    client: Client, failed: DeliveryFollowUp, clerk: User, registrar: User
) -> None:
    response = sign_in(client, clerk).get(FOLLOW_UPS)
    assert list(response.context["page_obj"]) == [failed]
    assert f'href="/verwaltung/postfach/zustellung/{failed.pk}/"' in response.content.decode()
    assert list(sign_in(client, registrar).get(FOLLOW_UPS).context["page_obj"]) == []
    assert client.get(f"{FOLLOW_UPS}{failed.pk}/").status_code == 404


def test_follow_up_is_recorded_as_done_once(
    client: Client, failed: DeliveryFollowUp, clerk: User
) -> None:
    url = f"{FOLLOW_UPS}{failed.pk}/"
    sign_in(client, clerk)
    assert client.get(url).status_code == 200
    response = client.post(url, {"note": "  "})
    assert response.status_code == 400
    assert response.context["form"].errors == {"note": ["This field is required."]}
    before = last_event_id()
    response = client.post(url, {"note": "Per Post mit Zustellungsurkunde am 14.3."})
    assert response.status_code == 302
    assert response["Location"] == FOLLOW_UPS
    failed.refresh_from_db()
    assert (failed.done_by, failed.note) == (clerk, "Per Post mit Zustellungsurkunde am 14.3.")
    assert audit_trail(since=before) == [
        (
            "postfach.followup.done",
            clerk.pk,
            "postfach.message",
            str(failed.message_id),
            {"follow_up": failed.pk, "note": "Per Post mit Zustellungsurkunde am 14.3."},
        )
    ]
    # A second time (e.g. a form sent twice) is refused
    response = client.post(url, {"note": "nochmal"})
    assert response.status_code == 409
    failed.refresh_from_db()
    assert failed.note == "Per Post mit Zustellungsurkunde am 14.3."


def test_follow_up_list_has_a_constant_number_of_queries(
    client: Client, send: Callable[..., Message], consenting: User, clerk: User
) -> None:
    sign_in(client, clerk)
    send(consenting, now=berlin(2026, 3, 2, 10, 0))
    deliveries_check(now=berlin(2026, 3, 13, 0, 15))
    client.get(FOLLOW_UPS)
    with CaptureQueriesContext(connection) as few:
        client.get(FOLLOW_UPS)
    for day in range(5):
        send(consenting, now=berlin(2026, 3, 2, 10, 0) + timedelta(days=day))
    deliveries_check(now=berlin(2026, 3, 20, 0, 15))
    with CaptureQueriesContext(connection) as many:
        response = client.get(FOLLOW_UPS)
    assert len(response.context["page_obj"].object_list) == 6
    assert len(few) == len(many) == 9
