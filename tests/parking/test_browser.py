"""In Chromium, axe-checked: the map and the list show live values that change when a
test sensor publishes over MQTT (the real ingester runs in a thread); a sign's text
follows; a citizen reserves a space and a second citizen's booking of the same space
and time is refused."""

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from rathaus.core.models import Municipality
from rathaus.parking import views
from rathaus.parking.models import Reservation
from rathaus.parking.mqtt import Ingester, tenant_topic
from tests.browser.conftest import axe_violations
from tests.factories import PASSWORD, UserFactory
from tests.parking.conftest import mqtt_session_end, publish_all
from tests.parking.factories import ParkingSiteFactory, SignFactory, SignLineFactory, SpaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page: Any, base: str, email: str) -> None:
    page.goto(base + "/anmelden/")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()


def _reserve(page: Any, base: str, site_id: int, start: str, end: str) -> None:
    page.goto(f"{base}/parken/{site_id}/")
    page.locator("#id_starts_at").fill(start)
    page.locator("#id_ends_at").fill(end)
    page.locator("#id_plate").fill("S-AB 123")
    page.locator("main form.parking-reserve button[type=submit]").click()
    page.wait_for_load_state()


def test_live_map_sign_and_reservation(
    page: Any,
    browser: Any,
    live_server: Any,
    municipality: Municipality,
    mqtt_broker: object,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = live_server.url
    # Tiles from loopback (they 404, which the map survives); no request leaves the machine.
    settings.RATHAUS_MAP_TILE_URL = base + "/static/parking-tiles/{z}/{x}/{y}.png"
    monkeypatch.setattr(views, "POLL_SECONDS", 1)
    site = ParkingSiteFactory(
        municipality=municipality,
        external_id="marstall",
        name="Marstall",
        capacity=200,
        realtime_free=123,
        realtime_at=timezone.now(),
    )
    sign = SignFactory(municipality=municipality, key="ortseingang")
    SignLineFactory(sign=sign, site=site, arrow="left")
    SpaceFactory(site=site, external_id="R1")
    for email in ("erika@example.org", "max@example.org"):
        UserFactory(municipality=municipality, email=email, email_verified_at=timezone.now())
    found: dict[str, Any] = {}
    client_id = f"test-parking-browser-{uuid.uuid4().hex[:8]}"
    ingester = Ingester(client_id=client_id, batch_size=50, flush_seconds=0.05)
    thread = threading.Thread(target=ingester.run, daemon=True)
    thread.start()
    try:
        assert ingester.connected.wait(10)
        page.goto(base + "/parken/")
        card = page.locator(f'#parking-list .parking-site[data-site="{site.pk}"] [data-role=free]')
        assert "123 von 200 frei" in card.inner_text()
        page.locator("#parking-map .leaflet-interactive").first.wait_for()
        assert page.locator("section.parking-map-section").is_visible()
        found["/parken/"] = axe_violations(page)
        assert (
            page.request.get(base + "/api/v1/parking/signs/ortseingang").json()["lines"][0]["text"]
            == "P Marstall 123 frei"
        )

        publish_all(
            [
                (
                    tenant_topic(municipality, "marstall"),
                    {"free": 42, "at": timezone.now().isoformat()},
                )
            ]
        )
        page.wait_for_function(
            "(sel) => document.querySelector(sel).innerText.includes('42 von 200 frei')",
            arg=f'#parking-list .parking-site[data-site="{site.pk}"] [data-role=free]',
            timeout=20_000,
        )
        assert (
            page.request.get(base + "/api/v1/parking/signs/ortseingang").json()["lines"][0]["text"]
            == "P Marstall 42 frei"
        )
        found["/parken/ (updated)"] = axe_violations(page)

        # Forecast for an arrival time.
        arrival = (timezone.localtime() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
        page.locator("#id_ankunft").fill(arrival)
        page.locator("main form.parking-arrival button[type=submit]").click()
        page.wait_for_load_state()
        assert page.locator("[data-role=forecast]").first.inner_text().strip().startswith("etwa")

        # A citizen reserves the space; a second one is refused for the same time.
        start = timezone.localtime() + timedelta(hours=2)
        window = (
            start.strftime("%Y-%m-%dT%H:%M"),
            (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        )
        _login(page, base, "erika@example.org")
        page.goto(f"{base}/parken/{site.pk}/")
        found["/parken/<id>/"] = axe_violations(page)
        _reserve(page, base, site.pk, *window)
        assert page.url.endswith("/parken/reservierungen/")
        assert page.locator("img.parking-qr").is_visible()
        found["/parken/reservierungen/"] = axe_violations(page)

        other = browser.new_context(locale="de-DE", bypass_csp=True)
        second = other.new_page()
        _login(second, base, "max@example.org")
        _reserve(second, base, site.pk, *window)
        assert "bereits reserviert" in second.locator(".error-summary").inner_text()
        found["/parken/<id>/ (refused)"] = axe_violations(second)
        other.close()
        assert Reservation.objects.count() == 1
    finally:
        ingester.stop()
        thread.join(10)
        mqtt_session_end(client_id)
    assert {url: v for url, v in found.items() if v} == {}
