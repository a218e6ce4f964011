"""The dev IdP sign-in clicked through in Chromium, checked by axe-core on the way."""

from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import override_settings

from rathaus.accounts.models import User
from rathaus.accounts.trust import SESSION_KEY as TRUST_KEY
from rathaus.core.models import Municipality
from tests.browser.conftest import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("language", ["de", "en"])
@override_settings(RATHAUS_DEV_IDP=True, RATHAUS_OIDC_PROVIDERS={})
def test_stepping_up_through_the_dev_idp_in_a_browser(
    page: Any, live_server: Any, municipality: Municipality, language: str
) -> None:
    base = live_server.url
    page.context.add_cookies([{"name": "rathaus_language", "value": language, "url": base}])
    # The step-up page explains the level and offers the (test) provider
    page.goto(base + "/anmelden/vertrauensniveau/?level=3&next=/impressum/")
    assert page.locator("html").get_attribute("lang") == language
    assert page.locator("h1").count() == 1
    assert axe_violations(page) == []
    page.locator('main a[href^="/anmelden/oidc/devidp/"]').click()
    # The dev IdP's page: warned, accessible, and Erika can be chosen
    page.wait_for_url("**/dev-idp/authorize?**")
    assert page.locator("header").first.inner_text().startswith("TEST-Identitätsanbieter")
    assert page.locator("h1").count() == 1
    assert axe_violations(page) == []
    page.locator('button[name="persona"][value="erika"]').click()
    # Back at rathaus, signed in at level high
    page.wait_for_url(base + "/impressum/")
    user = User.objects.get()
    assert (user.first_name, user.last_name, str(user.date_of_birth)) == (
        "Erika",
        "Mustermann",
        "1964-08-12",
    )
    session_id = next(c["value"] for c in page.context.cookies() if c["name"] == "sessionid")
    assert SessionStore(session_key=session_id)[TRUST_KEY]["level"] == 3


@override_settings(RATHAUS_DEV_IDP=True, RATHAUS_OIDC_PROVIDERS={})
def test_the_dev_idp_works_without_javascript(
    browser: Any, live_server: Any, municipality: Municipality
) -> None:
    context = browser.new_context(java_script_enabled=False, locale="de-DE")
    page = context.new_page()
    page.goto(live_server.url + "/anmelden/oidc/devidp/?next=/impressum/")
    page.locator('button[name="persona"][value="max"]').click()
    page.wait_for_url(live_server.url + "/impressum/")
    context.close()
    assert User.objects.get().last_name == "Mustermann"
