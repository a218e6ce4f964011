"""The organisation pages in a real Chromium, checked by axe-core (German and English)."""

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from rathaus.core.models import Municipality
from rathaus.organisation import services
from rathaus.organisation.models import OrgUnit, Role, RoleGrant
from rathaus.organisation.services import organisation_defaults_ensure
from tests.browser.conftest import axe_violations
from tests.conftest import strong_login
from tests.factories import StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page: Any, base: str, user: object) -> None:
    """A session made by Django, handed to the browser (the login form is accounts' to test;
    administrators would be asked for their second factor there)."""
    client = Client()
    strong_login(client, user)  # type: ignore[arg-type]
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": base}]
    )


def _switch_language(page: Any, base: str, language: str) -> None:
    page.goto(base + "/")
    page.get_by_role("button", name="English" if language == "en" else "Deutsch").click()
    page.wait_for_load_state()


@pytest.mark.parametrize("language", ["de", "en"])
def test_tree_and_grant_pages_are_axe_clean_and_grant_works(
    page: Any, live_server: Any, municipality: Municipality, language: str
) -> None:
    base = live_server.url
    units = organisation_defaults_ensure(municipality=municipality)
    roles = {role.key: role for role in Role.objects.filter(municipality=municipality)}
    admin = StaffFactory(municipality=municipality, first_name="Ada", last_name="Admin")
    services.role_grant(
        granted_by=None, user=admin, role=roles["administration"], org_unit=units["SV"]
    )
    clerk = StaffFactory(municipality=municipality, first_name="Carla", last_name="Clerk")
    _switch_language(page, base, language)
    _sign_in(page, base, admin)
    found = {}

    def visit(url: str) -> None:
        page.goto(base + url)
        assert page.locator("html").get_attribute("lang") == language
        assert page.locator("h1").count() == 1
        found[url] = axe_violations(page)

    bb = units["BB"]
    for url in [
        "/verwaltung/organisation/",
        f"/verwaltung/organisation/{bb.pk}/",
        f"/verwaltung/organisation/{bb.pk}/bearbeiten/",
        f"/verwaltung/organisation/{bb.pk}/verschieben/",
        "/verwaltung/rollen/",
        f"/verwaltung/rollen/{roles['redaktion'].pk}/",
    ]:
        visit(url)

    # The grant form: sent empty it shows linked errors, then it grants
    grant_url = f"/verwaltung/organisation/{bb.pk}/rolle-vergeben/"
    visit(grant_url)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#id_user_error").count() == 1
    assert page.locator("#id_user").get_attribute("aria-invalid") == "true"
    found[grant_url + " (errors)"] = axe_violations(page)
    page.locator("#id_user").select_option(str(clerk.pk))
    page.locator("#id_role").select_option(str(roles["redaktion"].pk))
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.url == f"{base}/verwaltung/organisation/{bb.pk}/"
    assert page.locator("table th[scope=row]", has_text="Carla Clerk").count() == 1
    found["unit after grant"] = axe_violations(page)
    grant = RoleGrant.objects.get(user=clerk, role=roles["redaktion"], org_unit=bb)

    # And revokes after confirmation
    page.goto(f"{base}/verwaltung/organisation/rollenvergaben/{grant.pk}/entziehen/")
    found["revoke"] = axe_violations(page)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert not RoleGrant.objects.filter(pk=grant.pk).exists()
    assert OrgUnit.objects.get(pk=bb.pk).is_active
    assert {url: v for url, v in found.items() if v} == {}
