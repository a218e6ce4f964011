"""The inbox, a message and the staff compose page in a real Chromium, checked by axe-core
in German and English; the reply form works without JavaScript."""

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from rathaus.accounts.models import User
from rathaus.accounts.trust import TrustLevel
from rathaus.postfach.models import Delivery, Message
from rathaus.postfach.services import message_reply
from tests.browser.conftest import axe_violations
from tests.postfach.conftest import pdf, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _hand_over(context: Any, base: str, user: User, language: str) -> None:
    """A session made on the server side: these tests are about our pages, not the login."""
    client = sign_in(Client(), user, TrustLevel.BASIC)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": base,
            },
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base},
        ]
    )


@pytest.mark.parametrize("language", ["de", "en"])
def test_mailbox_pages_are_axe_clean(
    browser: Any,
    live_server: Any,
    send: Callable[..., Message],
    consenting: User,
    clerk: User,
    language: str,
) -> None:
    base = live_server.url
    notice = send(consenting, attachments=[pdf("Grundsteuer-4711.pdf")])
    send(consenting, kind="information", subject="Neue Öffnungszeiten", body="Ab Mai.")
    send(consenting, kind="request", subject="Ausweis", min_trust_level=TrustLevel.HIGH)
    message_reply(
        message=notice, user=consenting, body="Ich zahle in Raten.", trust_level=TrustLevel.BASIC
    )
    found: dict[str, object] = {}

    def visit(page: Any, url: str) -> None:
        page.goto(base + url)
        assert page.locator("html").get_attribute("lang") == language
        assert page.locator("h1").count() == 1
        found[f"{url} ({language})"] = axe_violations(page)

    # The citizen: inbox, the notice (with its conversation and delivery record)
    citizen_context = browser.new_context(locale="de-DE", bypass_csp=True)
    _hand_over(citizen_context, base, consenting, language)
    page = citizen_context.new_page()
    visit(page, "/konto/postfach/")
    visit(page, f"/konto/postfach/{notice.pk}/")
    assert Delivery.objects.get(message=notice).retrieved_at is not None
    # The reply form sent empty shows a linked error
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#id_body").get_attribute("aria-invalid") == "true"
    found[f"reply with errors ({language})"] = axe_violations(page)
    citizen_context.close()

    # The clerk: the compose page, empty and with errors, and the sent notice
    staff_context = browser.new_context(locale="de-DE", bypass_csp=True)
    _hand_over(staff_context, base, clerk, language)
    page = staff_context.new_page()
    visit(page, "/verwaltung/postfach/neu/")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#id_subject").get_attribute("aria-invalid") == "true"
    found[f"compose with errors ({language})"] = axe_violations(page)
    visit(page, "/verwaltung/postfach/")
    visit(page, f"/verwaltung/postfach/{notice.pk}/")
    staff_context.close()

    assert {url: v for url, v in found.items() if v} == {}


def test_reply_works_without_javascript(
    browser: Any, live_server: Any, send: Callable[..., Message], consenting: User
) -> None:
    base = live_server.url
    notice = send(consenting)
    context = browser.new_context(java_script_enabled=False)
    _hand_over(context, base, consenting, "en")
    page = context.new_page()
    page.goto(f"{base}/konto/postfach/{notice.pk}/")
    page.get_by_label("Your answer").fill("Ich bitte um Fristverlängerung.")
    page.get_by_role("button", name="Send answer").click()
    page.get_by_text("Your answer was sent.").wait_for()
    context.close()
    reply = Message.objects.get(direction="inbound")
    assert (reply.parent_id, reply.body) == (notice.pk, "Ich bitte um Fristverlängerung.")
