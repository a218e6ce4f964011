"""The in-app message list and the preference form, including hostile requests."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rathaus.accounts.models import User
from rathaus.audit.models import AuditEvent
from rathaus.core.models import Municipality
from rathaus.notifications.context_processors import unread_count
from rathaus.notifications.models import Channel, Notification, NotificationPreference
from tests.factories import UserFactory
from tests.notifications.factories import NotificationFactory

pytestmark = pytest.mark.django_db

LIST = "/konto/nachrichten/"
PREFERENCES = "/konto/benachrichtigungen/"


def _read_url(notification: Notification) -> str:
    return f"/konto/nachrichten/{notification.pk}/gelesen/"


@pytest.fixture(autouse=True)
def _english(client: Client, other_client: Client) -> None:
    """Pages in English: the source texts, independent of the catalogue's progress."""
    for browser in (client, other_client):
        browser.cookies["rathaus_language"] = "en"


@pytest.fixture
def signed_in(client: Client, citizen: User) -> Client:
    client.force_login(citizen)
    return client


def _messages_of(user: User, count: int) -> list[Notification]:
    """``count`` messages, the first one the oldest."""
    messages = []
    start = timezone.now() - timedelta(days=count)
    for number in range(count):
        message = NotificationFactory(recipient=user, subject=f"Nachricht {number}")
        Notification.objects.filter(pk=message.pk).update(created_at=start + timedelta(days=number))
        messages.append(message)
    return messages


def _subjects(response: object) -> list[str]:
    return [n.subject for n in response.context["page_obj"]]  # type: ignore[attr-defined]


# The list.


def test_list_needs_a_sign_in(client: Client, municipality: Municipality) -> None:
    response = client.get(LIST)
    assert response.status_code == 302
    assert response["Location"] == "/anmelden/?next=/konto/nachrichten/"


def test_list_shows_own_in_app_messages_unread_first_then_newest(
    signed_in: Client, citizen: User, english_citizen: User
) -> None:
    # Given three messages, the middle one read, and messages that are not the citizen's
    old, middle, new = _messages_of(citizen, 3)
    assert f'action="{_read_url(old)}"' in signed_in.get(LIST).content.decode()
    Notification.objects.filter(pk=middle.pk).update(read_at=timezone.now())
    NotificationFactory(recipient=english_citizen, subject="Fremde Nachricht")
    NotificationFactory(recipient=citizen, channel=Channel.EMAIL, subject="Nur per E-Mail")
    # When the citizen opens the list
    response = signed_in.get(LIST)
    # Then they see their own in-app messages, unread first, then newest
    assert response.status_code == 200
    assert _subjects(response) == ["Nachricht 2", "Nachricht 0", "Nachricht 1"]
    assert response.context["unread_count"] == 2
    html = response.content.decode()
    assert "Fremde Nachricht" not in html
    assert "Nur per E-Mail" not in html
    assert html.count('class="button button-secondary">Mark as read') == 2
    assert f'action="{_read_url(new)}"' in html
    assert f'action="{_read_url(middle)}"' not in html


def test_list_is_paginated_and_survives_hostile_page_numbers(
    signed_in: Client, citizen: User
) -> None:
    _messages_of(citizen, 25)
    assert len(_subjects(signed_in.get(LIST))) == 20
    assert _subjects(signed_in.get(LIST, {"seite": "2"})) == [
        f"Nachricht {n}" for n in range(4, -1, -1)
    ]
    for hostile in ["abc", "-1", "0", "99999999999999999999", "2 OR 1=1", "\x00"]:
        response = signed_in.get(LIST, {"seite": hostile})
        assert response.status_code == 200, hostile
        assert len(_subjects(response)) in (20, 5)


def test_list_costs_the_same_queries_for_few_and_many_messages(
    signed_in: Client, citizen: User, django_assert_num_queries: object
) -> None:
    signed_in.get(LIST)  # warm the tenant cache
    _messages_of(citizen, 3)
    # session, user, page count, page rows, unread count; unread mailbox messages (layout)
    with django_assert_num_queries(6):  # type: ignore[operator]
        assert len(_subjects(signed_in.get(LIST))) == 3
    _messages_of(citizen, 30)
    with django_assert_num_queries(6):  # type: ignore[operator]
        assert len(_subjects(signed_in.get(LIST))) == 20


def test_empty_list_says_so(signed_in: Client) -> None:
    html = signed_in.get(LIST).content.decode()
    assert "There are no messages in your account yet." in html
    assert "Mark all as read" not in html


def test_message_text_is_escaped(signed_in: Client, citizen: User) -> None:
    NotificationFactory(
        recipient=citizen, subject="<script>x</script>", body="<img src=x>\nZeile 2"
    )
    html = signed_in.get(LIST).content.decode()
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    assert "&lt;img src=x&gt;<br>Zeile 2" in html


# Marking as read.


def test_mark_read_marks_once_and_returns_to_the_page(signed_in: Client, citizen: User) -> None:
    [message] = _messages_of(citizen, 1)
    response = signed_in.post(_read_url(message), {"seite": "2"})
    assert response.status_code == 302
    assert response["Location"] == "/konto/nachrichten/?seite=2"
    message.refresh_from_db()
    first_read = message.read_at
    assert first_read is not None
    # again: still read, the time is kept
    signed_in.post(_read_url(message))
    message.refresh_from_db()
    assert message.read_at == first_read


def test_mark_read_with_htmx_returns_the_updated_message(signed_in: Client, citizen: User) -> None:
    [message] = _messages_of(citizen, 1)
    response = signed_in.post(_read_url(message), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith(f'<li id="nachricht-{message.pk}">')
    assert "Mark as read" not in html
    assert "Read" in html


@pytest.mark.parametrize(
    "page",
    ["javascript:alert(1)", "//evil.example", "2&x=1", "1234567", "https://evil.example", "²"],
)
def test_mark_read_never_redirects_elsewhere(signed_in: Client, citizen: User, page: str) -> None:
    [message] = _messages_of(citizen, 1)
    response = signed_in.post(_read_url(message), {"seite": page})
    assert response["Location"] == "/konto/nachrichten/"


def test_another_persons_message_is_not_found_and_stays_unread(
    signed_in: Client, citizen: User, english_citizen: User
) -> None:
    [foreign] = _messages_of(english_citizen, 1)
    own_email = NotificationFactory(recipient=citizen, channel=Channel.EMAIL)
    for target in [foreign, own_email]:
        assert signed_in.post(_read_url(target)).status_code == 404
    assert signed_in.post("/konto/nachrichten/999999999/gelesen/").status_code == 404
    assert signed_in.post("/konto/nachrichten/-1/gelesen/").status_code == 404
    assert signed_in.post("/konto/nachrichten/abc/gelesen/").status_code == 404
    assert not Notification.objects.filter(read_at__isnull=False).exists()


def test_mark_read_refuses_get_anonymous_and_forged_requests(client: Client, citizen: User) -> None:
    [message] = _messages_of(citizen, 1)
    # anonymous: to the sign-in page
    response = client.post(_read_url(message))
    assert (response.status_code, response["Location"]) == (
        302,
        f"/anmelden/?next={_read_url(message)}",
    )
    client.force_login(citizen)
    # GET does not change anything
    assert client.get(_read_url(message)).status_code == 405
    # a form posted from elsewhere (no CSRF token)
    forged = Client(enforce_csrf_checks=True)
    forged.force_login(citizen)
    assert forged.post(_read_url(message)).status_code == 403
    message.refresh_from_db()
    assert message.read_at is None


def test_other_tenant_cannot_reach_messages(
    client: Client,
    other_client: Client,
    citizen: User,
    other_municipality: Municipality,
) -> None:
    [message] = _messages_of(citizen, 1)
    # The citizen's session at the other municipality's address counts for nothing
    other_client.force_login(citizen)
    response = other_client.post(_read_url(message))
    assert response.status_code == 302
    assert response["Location"].startswith("/anmelden/")
    # A person of the other municipality cannot touch the citizen's message
    neighbour = UserFactory(municipality=other_municipality, email="nachbar@example.org")
    NotificationFactory(recipient=neighbour, subject="Nachbars Nachricht")
    other_client.force_login(neighbour)
    assert other_client.post(_read_url(message)).status_code == 404
    assert _subjects(other_client.get(LIST)) == ["Nachbars Nachricht"]
    message.refresh_from_db()
    assert message.read_at is None


def test_mark_all_read_marks_only_own_messages(
    signed_in: Client, citizen: User, english_citizen: User
) -> None:
    _messages_of(citizen, 3)
    [foreign] = _messages_of(english_citizen, 1)
    response = signed_in.post("/konto/nachrichten/alle-gelesen/")
    assert (response.status_code, response["Location"]) == (302, LIST)
    assert not Notification.objects.filter(recipient=citizen, read_at__isnull=True).exists()
    foreign.refresh_from_db()
    assert foreign.read_at is None
    assert signed_in.get("/konto/nachrichten/alle-gelesen/").status_code == 405


# Preferences.


def test_preference_form_shows_the_defaults(signed_in: Client) -> None:
    response = signed_in.get(PREFERENCES)
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial == {
        "email_enabled": True,
        "sms_enabled": False,
        "digest_frequency": "immediate",
    }
    html = response.content.decode()
    assert "<legend>How often should we e-mail you about news?</legend>" in html
    assert "Text messages go to the mobile number in your profile." in html


def test_saving_preferences_stores_them_and_audits_the_change(
    signed_in: Client, citizen: User
) -> None:
    response = signed_in.post(PREFERENCES, {"sms_enabled": "on", "digest_frequency": "weekly"})
    assert (response.status_code, response["Location"]) == (302, PREFERENCES)
    preference = NotificationPreference.objects.get(user=citizen)
    assert (preference.email_enabled, preference.sms_enabled, preference.digest_frequency) == (
        False,
        True,
        "weekly",
    )
    [event] = AuditEvent.objects.filter(action="notifications.preferences.changed")
    assert (event.actor_id, event.ip, event.data) == (
        citizen.pk,
        "127.0.0.1",
        {"email_enabled": False, "sms_enabled": True, "digest_frequency": "weekly"},
    )
    # Saving the same again changes nothing and records nothing
    signed_in.post(PREFERENCES, {"sms_enabled": "on", "digest_frequency": "weekly"})
    assert AuditEvent.objects.filter(action="notifications.preferences.changed").count() == 1


@pytest.mark.parametrize(
    "data",
    [
        {"email_enabled": "on"},  # frequency missing
        {"email_enabled": "on", "digest_frequency": "hourly"},
        {"digest_frequency": "daily" * 2000},
        {"digest_frequency": ["daily", "weekly", "<script>"]},
        {"digest_frequency": "\x00"},
    ],
)
def test_hostile_preferences_are_refused_and_nothing_changes(
    signed_in: Client, citizen: User, data: dict[str, object]
) -> None:
    response = signed_in.post(PREFERENCES, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="error-summary"' in html
    assert 'href="#id_digest_frequency_0"' in html
    assert 'aria-describedby="id_digest_frequency_help id_digest_frequency_error"' in html
    assert not NotificationPreference.objects.exists()
    assert not AuditEvent.objects.filter(action="notifications.preferences.changed").exists()


def test_preferences_need_a_sign_in_and_a_csrf_token(client: Client, citizen: User) -> None:
    response = client.post(PREFERENCES, {"digest_frequency": "daily"})
    assert (response.status_code, response["Location"]) == (
        302,
        "/anmelden/?next=/konto/benachrichtigungen/",
    )
    forged = Client(enforce_csrf_checks=True)
    forged.force_login(citizen)
    assert forged.post(PREFERENCES, {"digest_frequency": "daily"}).status_code == 403
    assert not NotificationPreference.objects.exists()


def test_without_mobile_number_the_form_says_so(client: Client, english_citizen: User) -> None:
    client.force_login(english_citizen)
    html = client.get(PREFERENCES).content.decode()
    assert "There is no mobile number in your profile, so no text messages are sent." in html


def test_without_text_messages_the_form_does_not_offer_them(
    signed_in: Client, citizen: User, settings: object
) -> None:
    settings.RATHAUS_SMS_GATEWAY = ""  # type: ignore[attr-defined]
    NotificationPreference.objects.create(user=citizen, sms_enabled=False)
    assert "Send me text messages" not in signed_in.get(PREFERENCES).content.decode()
    response = signed_in.post(
        PREFERENCES, {"email_enabled": "on", "sms_enabled": "on", "digest_frequency": "daily"}
    )
    assert response.status_code == 302
    preference = NotificationPreference.objects.get(user=citizen)
    assert (preference.sms_enabled, preference.digest_frequency) == (False, "daily")


def test_preferences_of_the_other_tenant_are_separate(
    other_client: Client, citizen: User, other_municipality: Municipality
) -> None:
    other_client.force_login(citizen)
    response = other_client.post(PREFERENCES, {"digest_frequency": "daily"})
    assert response.status_code == 302
    assert response["Location"].startswith("/anmelden/")
    assert not NotificationPreference.objects.exists()


# The unread count for the header.


def test_unread_count_costs_no_query_for_visitors_and_one_when_shown(
    citizen: User, english_citizen: User
) -> None:
    _messages_of(citizen, 2)
    NotificationFactory(recipient=citizen, read_at=timezone.now())
    _messages_of(english_citizen, 1)
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    with CaptureQueriesContext(connection) as queries:
        assert unread_count(request) == {"notifications_unread": 0}
    assert len(queries) == 0
    request.user = citizen
    with CaptureQueriesContext(connection) as queries:
        context = unread_count(request)
        assert len(queries) == 0  # lazy: pages that do not show it pay nothing
        assert context["notifications_unread"]() == 2
        assert context["notifications_unread"]() == 2  # counted once per request
    assert len(queries) == 1
    # As a template shows it
    rendered = Template("{{ n }} {% if n %}unread{% endif %}").render(
        Context({"n": context["notifications_unread"]})
    )
    assert rendered == "2 unread"
