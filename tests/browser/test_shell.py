"""Every shell page in German and English, checked by axe-core in a real Chromium."""

import pytest

from rathaus.core.models import Municipality
from rathaus.demo.services import demo_load
from rathaus.legal.models import AccessibilityFeedback
from tests.browser.conftest import axe_violations
from tests.factories import PASSWORD, StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PUBLIC_PAGES = [
    "/",
    "/impressum/",
    "/datenschutz/",
    "/barrierefreiheit/",
    "/kiosk/",
    "/anmelden/",
    "/gibt-es-nicht/",
]
STAFF_PAGES = ["/verwaltung/", "/verwaltung/rechtliches/"]


@pytest.fixture
def demo(db: None) -> Municipality:
    demo_load()
    return Municipality.objects.get(slug="musterstadt")


def _switch_language(page: object, base: str, language: str) -> None:
    page.goto(base + "/")  # type: ignore[attr-defined]
    page.get_by_role("button", name="English" if language == "en" else "Deutsch").click()  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]


def _sign_in(page: object, base: str, email: str) -> None:
    page.goto(base + "/anmelden/")  # type: ignore[attr-defined]
    page.locator("#id_username").fill(email)  # type: ignore[attr-defined]
    page.locator("#id_password").fill(PASSWORD)  # type: ignore[attr-defined]
    page.locator("main form button[type=submit]").click()  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]


@pytest.mark.parametrize("language", ["de", "en"])
def test_every_shell_page_is_axe_clean(
    page: object, live_server: object, demo: Municipality, language: str
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    _switch_language(page, base, language)
    StaffFactory(
        municipality=demo, email="editor@example.org", permissions=["legal.change_legalpage"]
    )
    found = {}
    for url in PUBLIC_PAGES:
        page.goto(base + url)  # type: ignore[attr-defined]
        assert page.locator("html").get_attribute("lang") == language  # type: ignore[attr-defined]
        assert page.locator("h1").count() == 1  # type: ignore[attr-defined]
        found[url] = axe_violations(page)
    _sign_in(page, base, "editor@example.org")
    for url in [*STAFF_PAGES, f"/verwaltung/rechtliches/{demo_page_id(demo)}/"]:
        page.goto(base + url)  # type: ignore[attr-defined]
        assert page.locator("html").get_attribute("lang") == language  # type: ignore[attr-defined]
        found[url] = axe_violations(page)
    assert {url: v for url, v in found.items() if v} == {}


def demo_page_id(municipality: Municipality) -> int:
    from rathaus.legal.models import LegalPage

    return LegalPage.objects.get(municipality=municipality, kind="accessibility").pk


def test_pages_are_translated(page: object, live_server: object, demo: Municipality) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    _switch_language(page, base, "de")
    assert page.locator(".skip-link").inner_text() == "Zum Inhalt springen"  # type: ignore[attr-defined]
    _switch_language(page, base, "en")
    assert page.locator(".skip-link").inner_text() == "Skip to main content"  # type: ignore[attr-defined]


def test_skip_link_is_first_and_moves_focus_to_main(
    page: object, live_server: object, demo: Municipality
) -> None:
    page.goto(live_server.url + "/impressum/")  # type: ignore[attr-defined]
    page.keyboard.press("Tab")  # type: ignore[attr-defined]
    focused = page.evaluate("document.activeElement.className")  # type: ignore[attr-defined]
    assert focused == "skip-link"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")  # type: ignore[attr-defined]
    assert outline == "solid"
    page.keyboard.press("Enter")  # type: ignore[attr-defined]
    assert page.evaluate("location.hash") == "#main"  # type: ignore[attr-defined]


@pytest.mark.parametrize("url", ["/", "/barrierefreiheit/", "/kiosk/"])
def test_reflows_at_400_percent_zoom(
    browser: object, live_server: object, demo: Municipality, url: str
) -> None:
    # 1280 px at 400 % zoom is a 320 CSS px viewport (WCAG 1.4.10): no horizontal scrolling.
    context = browser.new_context(viewport={"width": 320, "height": 256}, bypass_csp=True)  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(live_server.url + url)  # type: ignore[attr-defined]
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    context.close()
    assert overflow <= 0


def test_feedback_form_updates_in_place_with_htmx(
    page: object, live_server: object, demo: Municipality
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    _switch_language(page, base, "de")
    page.goto(base + "/barrierefreiheit/")  # type: ignore[attr-defined]
    assert page.evaluate("typeof window.htmx") == "object", (
        "htmx must be built from frontend/package.json"
    )  # type: ignore[attr-defined]
    page.evaluate("window.__marker = 'same page'")  # type: ignore[attr-defined]
    # An empty message: the error appears in the form, the page is not reloaded
    page.get_by_role("button", name="Senden").click()  # type: ignore[attr-defined]
    page.locator("#id_message_error").wait_for()  # type: ignore[attr-defined]
    assert page.evaluate("window.__marker") == "same page"  # type: ignore[attr-defined]
    assert page.evaluate("document.activeElement.className") == "error-summary"  # type: ignore[attr-defined]
    assert axe_violations(page) == []
    # A real message is sent
    page.locator("#id_message").fill("Die Karte ist ohne Maus nicht bedienbar.")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Senden").click()  # type: ignore[attr-defined]
    page.get_by_text("Vielen Dank").wait_for()  # type: ignore[attr-defined]
    assert page.evaluate("window.__marker") == "same page"  # type: ignore[attr-defined]
    assert AccessibilityFeedback.objects.get().message == "Die Karte ist ohne Maus nicht bedienbar."


def test_feedback_form_works_without_javascript(
    browser: object, live_server: object, demo: Municipality
) -> None:
    context = browser.new_context(java_script_enabled=False, locale="de-DE")  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(live_server.url + "/barrierefreiheit/")
    page.locator("#id_message").fill("Ohne JavaScript")
    page.get_by_role("button", name="Senden").click()
    page.get_by_text("Vielen Dank").wait_for()
    context.close()
    assert AccessibilityFeedback.objects.get().message == "Ohne JavaScript"


def test_axe_check_reports_real_violations(page: object) -> None:
    # The checker itself must be able to fail: an image without text alternative.
    page.set_content(
        '<html lang="de"><title>T</title><body><main><img src="x.png"></main></body></html>'
    )  # type: ignore[attr-defined]
    assert [v["id"] for v in axe_violations(page)] == ["image-alt"]
