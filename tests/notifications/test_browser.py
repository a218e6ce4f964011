"""The message list and the preference form in a real Chromium, checked by axe-core."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from rathaus.accounts.models import User
from rathaus.notifications.models import Notification, NotificationPreference
from tests.browser.conftest import axe_violations
from tests.notifications.factories import NotificationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIST = "/konto/nachrichten/"
PREFERENCES = "/konto/benachrichtigungen/"


def _sign_in(context: object, base: str, user: User, language: str) -> None:
    """A session made on the server side: these tests are about our pages, not the login."""
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies(  # type: ignore[attr-defined]
        [
            {"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base},
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base},
        ]
    )


def _messages(user: User, count: int) -> None:
    start = timezone.now() - timedelta(days=count)
    for number in range(count):
        message = NotificationFactory(
            recipient=user,
            subject=f"Ihr Antrag A-{number} ist eingegangen",
            body="Guten Tag,\n\nIhr Antrag ist eingegangen.",
            url="/konto/benachrichtigungen/" if number % 2 else "",
            read_at=timezone.now() if number % 3 == 0 else None,
        )
        Notification.objects.filter(pk=message.pk).update(created_at=start + timedelta(days=number))


@pytest.mark.parametrize("language", ["de", "en"])
def test_messages_and_preferences_are_axe_clean(
    page: object, live_server: object, citizen: User, language: str
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    _messages(citizen, 22)
    _sign_in(page.context, base, citizen, language)  # type: ignore[attr-defined]
    found = {}
    for url in [LIST, LIST + "?seite=2", PREFERENCES]:
        page.goto(base + url)  # type: ignore[attr-defined]
        assert page.locator("html").get_attribute("lang") == language  # type: ignore[attr-defined]
        assert page.locator("h1").count() == 1  # type: ignore[attr-defined]
        found[url] = axe_violations(page)
    # The form with errors (a value no browser offers, as a forged request would send)
    page.locator("#id_digest_frequency_0").evaluate("el => el.value = 'hourly'")  # type: ignore[attr-defined]
    page.locator("#id_digest_frequency_0").check()  # type: ignore[attr-defined]
    page.locator("main form button[type=submit]").click()  # type: ignore[attr-defined]
    page.locator("#id_digest_frequency_error").wait_for()  # type: ignore[attr-defined]
    found["preferences with errors"] = axe_violations(page)
    assert {url: v for url, v in found.items() if v} == {}
    assert not NotificationPreference.objects.exists()


def test_mark_read_updates_the_message_in_place(
    page: object, live_server: object, citizen: User
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    message = NotificationFactory(recipient=citizen, subject="Your request A-1 has been received")
    _sign_in(page.context, base, citizen, "en")  # type: ignore[attr-defined]
    page.goto(base + LIST)  # type: ignore[attr-defined]
    page.evaluate("window.__marker = 'same page'")  # type: ignore[attr-defined]
    button = page.get_by_role(  # type: ignore[attr-defined]
        "button", name="Mark as read (Your request A-1 has been received)", exact=True
    )
    with page.expect_response(lambda r: r.url.endswith("/gelesen/")):  # type: ignore[attr-defined]
        button.click()
    # htmx swapped in the read message: no button any more ("Unread" also contains "read")
    button.wait_for(state="detached")
    assert page.locator(f"#nachricht-{message.pk} .muted").inner_text().startswith("Read")  # type: ignore[attr-defined]
    assert page.evaluate("window.__marker") == "same page"  # type: ignore[attr-defined]
    message.refresh_from_db()
    assert message.read_at is not None
    assert axe_violations(page) == []


def test_preferences_work_without_javascript(
    browser: object, live_server: object, citizen: User
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    context = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    _sign_in(context, base, citizen, "en")
    page = context.new_page()
    page.goto(base + PREFERENCES)
    page.get_by_label("Send me e-mails").uncheck()
    page.get_by_label("once a week").check()
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Your notification settings are saved.").wait_for()
    context.close()
    preference = NotificationPreference.objects.get(user=citizen)
    # text messages stay off: they are opt-in
    assert (preference.email_enabled, preference.sms_enabled, preference.digest_frequency) == (
        False,
        False,
        "weekly",
    )
