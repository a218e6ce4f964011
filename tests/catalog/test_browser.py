"""The catalogue pages in a real Chromium with the real Munich catalogue, checked by axe-core."""

from typing import Any

import pytest

from rathaus.catalog.models import Location
from rathaus.catalog.services import ImportReport
from tests.browser.conftest import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("language", ["de", "en"])
def test_browse_search_and_read_a_service(
    page: Any, live_server: Any, munich_catalog: ImportReport, language: str
) -> None:
    base = live_server.url
    page.goto(base + "/")
    page.get_by_role("button", name="English" if language == "en" else "Deutsch").click()
    page.wait_for_load_state()
    found = {}

    def check(url: str) -> None:
        assert page.locator("html").get_attribute("lang") == language
        assert page.locator("h1").count() == 1
        found[url] = axe_violations(page)

    # The start of the catalogue: a search box and the life situations
    page.goto(base + "/leistungen/")
    check("/leistungen/")
    # Searching without JavaScript semantics: type, submit, land on the results
    page.get_by_role("searchbox").fill("Personalausweis")
    page.get_by_role("searchbox").press("Enter")
    page.wait_for_url("**/leistungen/suche/?q=Personalausweis")
    check("search")
    page.get_by_role("link", name="Personalausweis", exact=True).first.click()
    page.wait_for_url("**/leistungen/personalausweis/")
    check("/leistungen/personalausweis/")
    assert page.get_by_text("Landeshauptstadt München, Servicedatenbank").is_visible()
    # An office that offers it
    office = Location.objects.get(source_id="102522")
    page.goto(base + f"/standorte/{office.pk}/")
    check("office")
    page.goto(base + "/leistungen/lebenslagen/umzug/")
    check("life situation")
    assert found == {url: [] for url in found}
