"""The staff dashboard and the terminal simulator in a real Chromium, axe-checked in German
and English; the simulator's JavaScript signs real device requests (under the strict CSP)
and runs a loading and a pickup end to end."""

from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

from rathaus.accounts.models import User
from rathaus.idpickup.models import IdOrder, Terminal
from tests.browser.conftest import axe_violations
from tests.idpickup.conftest import CARD_A, CARD_B, PIN_A, PIN_B, pin_from_mail

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _hand_over(context: Any, base: str, user: User, language: str) -> None:
    client = Client()
    client.force_login(user)
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
def test_staff_pages_and_simulator_are_axe_clean(
    browser: Any,
    live_server: Any,
    terminal: Terminal,
    make_order: Any,
    alice: User,
    bob: User,
    language: str,
) -> None:
    base = live_server.url
    order = make_order()
    context = browser.new_context(bypass_csp=True)
    _hand_over(context, base, alice, language)
    page = context.new_page()
    found: dict[str, object] = {}
    for url in [
        "/verwaltung/ausweisabholung/",
        "/verwaltung/ausweisabholung/auftraege/",
        f"/verwaltung/ausweisabholung/auftraege/{order.pk}/",
        "/verwaltung/ausweisabholung/auftraege/neu/",
        "/verwaltung/ausweisabholung/eingang/",
        f"/verwaltung/ausweisabholung/terminals/{terminal.pk}/",
        "/verwaltung/ausweisabholung/karte/",
        f"/kiosk/ausweisabholung/{terminal.pk}/",
        "/ausweisabholung/status/",
    ]:
        page.goto(base + url)
        assert page.locator("html").get_attribute("lang") == language
        assert page.locator("h1").count() == 1
        found[f"{url} ({language})"] = axe_violations(page)
    # A form sent empty shows linked errors.
    page.goto(base + "/verwaltung/ausweisabholung/eingang/")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#id_barcodes").get_attribute("aria-invalid") == "true"
    found[f"arrivals with errors ({language})"] = axe_violations(page)
    context.close()
    assert {url: v for url, v in found.items() if v} == {}


def test_simulator_loads_and_hands_over_under_the_real_csp(
    browser: Any, live_server: Any, terminal: Terminal, make_order: Any, alice: User, bob: User
) -> None:
    base = live_server.url
    order = make_order()
    context = browser.new_context()  # the page's own Content-Security-Policy applies
    _hand_over(context, base, alice, "en")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{base}/kiosk/ausweisabholung/{terminal.pk}/")

    # Two staff members load the document and close the door.
    page.get_by_label("Card token").first.fill(CARD_A)
    page.locator("#pin1").fill(PIN_A)
    page.locator("#card2").fill(CARD_B)
    page.locator("#pin2").fill(PIN_B)
    page.get_by_label("Barcode of the document").fill(order.document_barcode)
    page.get_by_role("button", name="Scan and load").click()
    close = page.get_by_role("button", name="Put the document in and close the door")
    page.locator("#load-close:not([disabled])").wait_for()
    close.click()
    page.locator("#log li", has_text="loaded").wait_for()
    order.refresh_from_db()
    assert order.status == IdOrder.Status.NOTIFIED
    pin = pin_from_mail(mail.outbox[-1].body)

    # The citizen enters the PIN, confirms identity and receipt, takes the document.
    page.get_by_label("Pickup PIN").fill(pin)
    page.get_by_role("button", name="Enter PIN").click()
    page.get_by_label("I confirm that I received the PIN letter.").check()
    page.get_by_role("button", name="Confirm").click()
    page.locator("#pickup-close:not([disabled])").wait_for()
    page.get_by_role("button", name="Take the document and close the door").click()
    page.locator("#log li", has_text="picked_up").wait_for()
    context.close()
    order.refresh_from_db()
    assert order.status == IdOrder.Status.PICKED_UP
    assert errors == []
