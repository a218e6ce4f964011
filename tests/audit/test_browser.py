"""The audit trail pages in a real Chromium, checked by axe-core."""

import pytest

from rathaus.core.models import Municipality
from tests.audit.factories import AUDITOR_PERMISSIONS, AuditEventFactory
from tests.browser.conftest import axe_violations
from tests.browser.test_shell import _sign_in
from tests.factories import StaffFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("language", ["de", "en"])
def test_auditor_pages_are_axe_clean(
    page: object,
    live_server: object,
    municipality: Municipality,
    language: str,
) -> None:
    # Given an auditor and a few entries, one with an invalid search afterwards
    StaffFactory(
        municipality=municipality, email="pruefer@example.org", permissions=AUDITOR_PERMISSIONS
    )
    clerk = StaffFactory(municipality=municipality, email="clerk@example.org")
    citizen = UserFactory(municipality=municipality)
    event = AuditEventFactory(
        municipality=municipality,
        action="privacy.personal_data.read",
        actor=clerk,
        target=citizen,
        data={"purpose": "Antrag prüfen"},
    )
    base = live_server.url  # type: ignore[attr-defined]
    page.context.add_cookies(  # type: ignore[attr-defined]
        [{"name": "rathaus_language", "value": language, "url": base}]
    )
    # When the auditor signs in and opens the trail, an entry and a failed search
    _sign_in(page, base, "pruefer@example.org")
    found = {}
    for url in [
        "/verwaltung/protokoll/",
        f"/verwaltung/protokoll/{event.pk}/",
        "/verwaltung/protokoll/?von=2026-03-02&bis=2026-03-01",
    ]:
        page.goto(base + url)  # type: ignore[attr-defined]
        assert page.locator("html").get_attribute("lang") == language  # type: ignore[attr-defined]
        assert page.locator("h1").count() == 1  # type: ignore[attr-defined]
        found[url] = axe_violations(page)
    # Then the list shows the entry, and no page has a violation
    page.goto(base + "/verwaltung/protokoll/")  # type: ignore[attr-defined]
    assert "privacy.personal_data.read" in page.locator("tbody").inner_text()  # type: ignore[attr-defined]
    assert {url: v for url, v in found.items() if v} == {}
