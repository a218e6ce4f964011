"""The whole citizen identity journey in Chromium, axe-checked on every page:
register, confirm the e-mail (real SMTP), sign in, set up and use the second factor,
step up to "high" through the development identity provider, download the data and
close the account."""

import json
import re
from typing import Any

import pyotp
import pytest
from django.core.management import call_command
from django.test import override_settings

from rathaus.accounts.models import User
from rathaus.audit.models import AuditEvent
from rathaus.core.models import Municipality
from tests.browser.conftest import axe_violations
from tests.conftest import SmtpSink

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Sonnenblume-Rathaus-7"


def _clean(page: Any, found: dict[str, Any]) -> None:
    found[page.url] = axe_violations(page)


def _code(secret: str) -> str:
    return pyotp.TOTP(secret).now()


@pytest.mark.parametrize("language", ["de", "en"])
@override_settings(RATHAUS_DEV_IDP=True, RATHAUS_OIDC_PROVIDERS={})
def test_citizen_identity_journey(
    page: Any, live_server: Any, municipality: Municipality, smtp_server: SmtpSink, language: str
) -> None:
    base = live_server.url
    page.context.add_cookies([{"name": "rathaus_language", "value": language, "url": base}])
    found: dict[str, Any] = {}

    # Register
    page.goto(base + "/registrieren/")
    _clean(page, found)
    page.locator("#id_first_name").fill("Erika")
    page.locator("#id_last_name").fill("Mustermann")
    page.locator("#id_email").fill("erika@example.org")
    page.locator("#id_new_password1").fill(PASSWORD)
    page.locator("#id_new_password2").fill(PASSWORD)
    page.locator("#id_accept_terms").check()
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    _clean(page, found)

    # Confirm the address with the link from the e-mail
    call_command("db_worker", batch=True, interval=0)
    body = smtp_server.messages[-1].get_payload(decode=True).decode()
    link = re.search(r"(http://\S+/registrieren/bestaetigen/\S+/)", body)
    assert link, body
    page.goto(link.group(1))
    _clean(page, found)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(base + "/anmelden/")

    # Sign in with the password
    page.locator("#id_username").fill("erika@example.org")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form.form button[type=submit]").first.click()
    page.wait_for_url(base + "/konto/")
    _clean(page, found)

    # Set up the second factor from the key shown on the page
    page.goto(base + "/konto/sicherheit/")
    _clean(page, found)
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    page.locator("#id_code").fill(_code(secret))
    page.locator("main form.form button[type=submit]").click()
    page.wait_for_load_state()
    recovery = page.locator("ul.codes li").all_inner_texts()
    assert len(recovery) == 10
    _clean(page, found)

    # Sign out and in again: now the code is asked for
    page.locator("nav form button.link-button").click()
    page.wait_for_url(base + "/")
    page.goto(base + "/anmelden/")
    page.locator("#id_username").fill("erika@example.org")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form.form button[type=submit]").first.click()
    page.wait_for_url(base + "/anmelden/code/")
    _clean(page, found)
    page.locator("#id_code").fill(_code(secret))
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(base + "/konto/")

    # Step up to "high" with the (test) eID
    page.goto(base + "/anmelden/vertrauensniveau/?level=3&next=/konto/")
    _clean(page, found)
    page.locator('main a[href^="/anmelden/oidc/devidp/"]').click()
    page.wait_for_url("**/dev-idp/authorize?**")
    page.locator('button[name="persona"][value="erika"]').click()
    page.wait_for_url(base + "/konto/")
    assert ("hoch" if language == "de" else "high") in page.locator("main").inner_text()
    user = User.objects.get(email="erika@example.org")
    assert str(user.date_of_birth) == "1964-08-12"

    # Download the data
    page.goto(base + "/konto/daten/")
    _clean(page, found)
    export = page.request.get(base + "/konto/daten/meine-daten.json")
    document = json.loads(export.body())
    assert document["sections"]["accounts.account"]["data"]["email"] == "erika@example.org"

    # Close the account (the password and a second factor are asked for again)
    page.goto(base + "/konto/loeschen/")
    page.wait_for_url("**/konto/bestaetigen/**")
    _clean(page, found)
    page.locator("#id_password").fill(PASSWORD)
    # A TOTP code is accepted once; the sign-in used this window's, so a recovery code
    page.locator("#id_code").fill(recovery[0])
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(base + "/konto/loeschen/")
    _clean(page, found)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#id_confirm").check()
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    _clean(page, found)

    user.refresh_from_db()
    assert (user.is_active, user.first_name) == (False, "")
    assert AuditEvent.objects.filter(action="accounts.deleted", actor_id=user.pk).exists()
    assert {url: v for url, v in found.items() if v} == {}
