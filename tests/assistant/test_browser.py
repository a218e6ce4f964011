"""At the kiosk in Chromium, axe-checked on every page: a visitor asks in German, gets the
right service, opens the step-free route on the floor plan and draws a ticket that is then
in the Bürgerbüro's queue."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
from django.utils import timezone

from rathaus.assistant.demo import _counter_rooms, demo_floors
from rathaus.assistant.services import building_import
from rathaus.buergerbuero.models import Ticket
from rathaus.buergerbuero.selectors import queue_state
from rathaus.core.models import Municipality
from tests.browser.conftest import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def town_hall(municipality: Municipality, office_hours: None) -> Any:
    """A Bürgerbüro open all of the (frozen) day (a special day overrides weekly hours and
    holidays)."""
    from tests.buergerbuero.factories import (
        CounterFactory,
        OfficeFactory,
        ServiceFactory,
        SpecialDayFactory,
        offer,
    )

    office = OfficeFactory(municipality=municipality, location__name_de="Bürgerbüro Mitte")
    SpecialDayFactory(
        office=office,
        date=timezone.localdate(),
        closed=False,
        opens=time(0, 0),
        closes=time(23, 59),
    )
    CounterFactory(office=office, name="Schalter 1", room="E.01", floor="EG")
    CounterFactory(office=office, name="Schalter 2", room="E.02", floor="EG")
    passport = ServiceFactory(municipality=municipality, name_de="Reisepass", synonyms=["Pass"])
    offer(passport, office, 20)
    other = ServiceFactory(municipality=municipality, name_de="Hundesteuer")
    offer(other, office, 10)
    building_import(location=office.location, floors=demo_floors(_counter_rooms(office.location)))
    return office, passport


def test_kiosk_ask_route_and_ticket(page: Any, live_server: Any, town_hall: Any) -> None:
    office, passport = town_hall
    found: dict[str, Any] = {}
    page.goto(f"{live_server.url}/kiosk/assistent/?ort={office.location.pk}")
    found["start"] = axe_violations(page)
    page.locator("#id_q").fill("Ich brauche einen neuen Pass, ich sitze im Rollstuhl")
    page.get_by_role("button", name="Fragen").click()
    page.wait_for_load_state()
    first = page.locator(".assistant-result").first
    assert first.locator("h3").inner_text() == "Reisepass"
    assert "E.01" in first.inner_text()
    page.get_by_role("button", name="Hoher Kontrast").click()
    assert "assistant-contrast" in (page.locator("body").get_attribute("class") or "")
    found["answer"] = axe_violations(page)

    first.get_by_role("link", name="Stufenloser Weg").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Ihr stufenloser Weg"
    plan = page.locator("svg.assistant-plan").first
    assert plan.is_visible()
    assert plan.locator("polyline.plan-route").count() == 1
    steps = page.locator(".assistant-steps li").all_inner_texts()
    assert steps[-1].startswith("Sie sind angekommen: Schalter E.01")
    assert not any("Treppe" in step for step in steps)
    found["route"] = axe_violations(page)

    page.get_by_role("link", name="Zurück zu den Antworten").click()
    page.wait_for_load_state()
    page.locator(".assistant-result").first.locator("form button[type=submit]").click()
    page.wait_for_load_state()
    number = page.locator(".assistant-ticket").inner_text()
    found["ticket"] = axe_violations(page)

    ticket = Ticket.objects.get()
    assert ticket.number == number
    assert ticket.channel == Ticket.Channel.ASSISTANT
    assert list(ticket.services.all()) == [passport]
    assert ticket.pk in queue_state(office).tickets
    assert found == {"start": [], "answer": [], "route": [], "ticket": []}
