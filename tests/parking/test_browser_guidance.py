"""In Chromium, axe-checked: a parking clerk sets up a guidance sign with a line and an
event mode in the back office, and the sign's page shows what it displays."""

from typing import Any

import pytest
from django.utils import timezone

from rathaus.core.models import Municipality
from rathaus.parking.models import MANAGE_PARKING, Sign
from tests.browser.conftest import axe_violations
from tests.factories import PASSWORD
from tests.parking.conftest import staff_with
from tests.parking.factories import ParkingSiteFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_clerk_configures_a_sign(page: Any, live_server: Any, municipality: Municipality) -> None:
    site = ParkingSiteFactory(
        municipality=municipality,
        name="Marstall",
        capacity=200,
        realtime_free=42,
        realtime_at=timezone.now(),
    )
    clerk = staff_with(municipality, [MANAGE_PARKING])
    base = live_server.url
    page.goto(base + "/anmelden/")
    page.locator("#id_username").fill(clerk.email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()

    page.goto(base + "/verwaltung/parken/anzeigen/")
    assert axe_violations(page) == []
    page.locator("main a[href$='/anzeigen/neu/']").click()
    page.wait_for_load_state()
    assert axe_violations(page) == []
    page.fill("#id_key", "ring-nord")
    page.fill("#id_name", "Ring Nord")
    page.select_option("#id_lines-0-site", str(site.pk))
    page.select_option("#id_lines-0-arrow", "left")
    page.locator("main form.form button[type=submit]").click()
    page.wait_for_load_state()
    assert "P Marstall 42 frei" in page.locator("main").inner_text()
    assert axe_violations(page) == []
    sign = Sign.objects.get(key="ring-nord")
    page.goto(f"{base}/verwaltung/parken/anzeigen/{sign.pk}/")
    assert "P Marstall 42 frei" in page.locator("main").inner_text()
    assert axe_violations(page) == []

    page.goto(base + "/verwaltung/parken/veranstaltungen/neu/")
    assert axe_violations(page) == []
    page.goto(base + "/verwaltung/parken/datex/neu/")
    assert axe_violations(page) == []
