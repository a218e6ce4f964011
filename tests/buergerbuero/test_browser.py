"""The Bürgerbüro in Chromium, axe-checked on every page: a citizen books, confirms by the
e-mail link and checks in at the kiosk; a walk-in draws a ticket at the kiosk first; the
clerk calls the appointment (due now) before the walk-in who came earlier, then the
walk-in, while the call display updates."""

import re
from datetime import time
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from rathaus.buergerbuero.models import Ticket
from rathaus.buergerbuero.selectors import BERLIN
from tests.browser.conftest import axe_violations
from tests.buergerbuero.factories import (
    CounterFactory,
    OfficeFactory,
    ServiceFactory,
    SpecialDayFactory,
    offer,
)
from tests.conftest import OFFICE_HOURS
from tests.factories import PASSWORD, StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _check(page: Any, found: dict[str, Any]) -> None:
    found[page.url] = axe_violations(page)


def _submit(page: Any, selector: str) -> None:
    page.locator(selector).first.click()
    page.wait_for_load_state()


@pytest.fixture
def office(municipality: Any, office_hours: None) -> Any:
    office = OfficeFactory(municipality=municipality, location__name_de="Bürgerbüro Mitte")
    # Open all of the (frozen) day (a special day beats holidays).
    SpecialDayFactory(
        office=office,
        date=timezone.now().astimezone(BERLIN).date(),
        closed=False,
        opens=time(0, 0),
        closes=time(23, 59),
    )
    CounterFactory(office=office, name="Schalter 1", room="E.01", floor="EG")
    CounterFactory(office=office, name="Schalter 2", room="E.02", floor="EG")
    return office


def test_book_check_in_walk_in_and_call(
    page: Any, browser: Any, live_server: Any, office: Any, municipality: Any
) -> None:
    base = live_server.url
    page.context.add_cookies([{"name": "rathaus_language", "value": "de", "url": base}])
    passport = ServiceFactory(municipality=municipality, name_de="Reisepass beantragen")
    pickup = ServiceFactory(municipality=municipality, name_de="Ausweis abholen")
    offer(passport, office, 10)
    offer(pickup, office, 5)
    StaffFactory(
        municipality=municipality,
        email="clara@musterstadt.example",
        permissions=["buergerbuero.serve_counter"],
    )
    found: dict[str, Any] = {}

    # A citizen books the next free time and confirms it by the e-mail link
    page.goto(base + "/termine/")
    _check(page, found)
    page.get_by_label("Reisepass beantragen").check()
    _submit(page, "main form button[type=submit]")
    _check(page, found)
    page.locator("input[name=start]").first.check()
    page.locator("#id_name").fill("Erika Mustermann")
    page.locator("#id_email").fill("erika@example.org")
    _submit(page, "main form button[type=submit]")
    assert "/termine/reserviert/" in page.url
    _check(page, found)
    link = re.search(r"https?://[^/]+(/termine/bestaetigen/\S+/)", mail.outbox[-1].body)
    assert link
    page.goto(base + link.group(1))
    _check(page, found)
    _submit(page, "main form button[type=submit]")
    code = page.locator(".bb-code").inner_text().strip()
    assert len(code) == 8
    _check(page, found)

    # A walk-in draws a number at the kiosk before the appointment holder arrives
    kiosk = f"{base}/kiosk/buergerbuero/{office.location_id}/"
    page.goto(kiosk)
    _check(page, found)
    page.get_by_role("button", name="Ausweis abholen").click()
    page.wait_for_load_state()
    assert page.locator("#ticket-number").inner_text() == "A001"
    # the live server runs on the test's clock, not the wall clock (office_hours)
    assert Ticket.objects.get(number="A001").day == OFFICE_HOURS.date()
    _check(page, found)

    # The appointment holder checks in with the code of the QR code
    page.goto(kiosk)
    page.get_by_role("link", name="Ich habe einen Termin").click()
    page.wait_for_load_state()
    _check(page, found)
    page.locator("#id_code").fill(code)
    _submit(page, "main form button[type=submit]")
    appointment_number = page.locator("#ticket-number").inner_text()
    assert appointment_number.startswith("T")

    # The call display, in its own window
    display_context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="de-DE", bypass_csp=True
    )
    display = display_context.new_page()
    display.goto(f"{base}/kiosk/buergerbuero/{office.location_id}/aufruf/")
    _check(display, found)

    # The clerk opens a counter and calls: the appointment first, then the walk-in
    page.goto(base + "/anmelden/")
    page.locator("#id_username").fill("clara@musterstadt.example")
    page.locator("#id_password").fill(PASSWORD)
    _submit(page, "main form button[type=submit]")
    page.goto(base + "/verwaltung/buergerbuero/")
    _check(page, found)
    page.get_by_role("link", name="Schalter 1").click()
    page.wait_for_load_state()
    _submit(page, "main form button[type=submit]")  # open the counter
    _check(page, found)
    _submit(page, "#call-next")
    assert appointment_number in page.locator(".bb-number").inner_text()
    _check(page, found)
    display.locator(".bb-call-now", has_text=appointment_number).wait_for(timeout=10000)
    assert "E.01" in display.locator(".bb-call-now").inner_text()
    _submit(page, "main form:has(input[value=finish]) button[type=submit]")
    _submit(page, "#call-next")
    assert "A001" in page.locator(".bb-number").inner_text()
    display.locator(".bb-call-now", has_text="A001").wait_for(timeout=10000)
    _check(display, found)
    # the display polls; the test's own queries wait until it is closed (CONTRIBUTING.md)
    display_context.close()
    assert list(Ticket.objects.order_by("called_at").values_list("number", flat=True)) == [
        appointment_number,
        "A001",
    ]
    assert {url: v for url, v in found.items() if v} == {}
