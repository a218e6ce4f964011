"""The whole path of an online application in Chromium, axe-checked on every page, in
German and English: a citizen finds the service, applies online (a group grown without
JavaScript, a document uploaded), pays with the test provider and submits; a case worker
asks for a missing document; the citizen supplies it; the case worker decides; the notice
arrives in the Postfach; the citizen retrieves it; the next day the delivery record shows
it as delivered on that day."""

import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from rathaus.accounts.models import User
from rathaus.accounts.services import consent_grant
from rathaus.applications.models import Application
from rathaus.catalog.models import Service
from rathaus.core.models import Municipality
from rathaus.postfach.models import Delivery
from rathaus.postfach.services import deliveries_check
from tests.applications.conftest import (
    CASE_WORKER_PERMISSIONS,
    DOG_TAX_FEES,
    PDF_BYTES,
    pdf_text,
    published,
)
from tests.applications.factories import ServiceFactory, full_schema
from tests.browser.conftest import axe_violations
from tests.factories import PASSWORD, StaffFactory, UserFactory
from tests.organisation.factories import OrgUnitFactory, RoleFactory, RoleGrantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BERLIN = ZoneInfo("Europe/Berlin")


def _clean(page: Any, found: dict[str, Any]) -> None:
    found[page.url] = axe_violations(page)


def _submit(page: Any, selector: str = "main form.form button[type=submit]") -> None:
    page.locator(selector).first.click()
    page.wait_for_load_state()


def _login(page: Any, base: str, email: str) -> None:
    page.goto(base + "/anmelden/")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    _submit(page)


def _logout(page: Any) -> None:
    page.locator("nav form button.link-button").click()
    page.wait_for_load_state()


def _worker() -> None:
    call_command("db_worker", batch=True, interval=0, verbosity=0)


@pytest.fixture
def town(municipality: Municipality, tmp_path: Path, live_server: Any) -> dict[str, Any]:
    root = OrgUnitFactory(municipality=municipality, code="SV", name_de="Stadtverwaltung")
    office = OrgUnitFactory(municipality=municipality, parent=root, code="STA", name_de="Steueramt")
    role = RoleFactory(
        municipality=municipality, key="sachbearbeitung", permissions=CASE_WORKER_PERMISSIONS
    )
    clerk: User = StaffFactory(
        municipality=municipality, email="clara@musterstadt.example", first_name="Clara"
    )
    RoleGrantFactory(user=clerk, role=role, org_unit=office)
    citizen: User = UserFactory(
        municipality=municipality,
        email="erika@example.org",
        first_name="Erika",
        last_name="Mustermann",
        email_verified_at=timezone.now(),
    )
    consent_grant(user=citizen, purpose="postfach")
    service: Service = ServiceFactory(
        municipality=municipality,
        slug="hundesteuer",
        name_de="Hundesteuer Anmeldung",
        name_en="Dog tax registration",
        synonyms=["Hundesteuer"],
        fees=DOG_TAX_FEES,
        online_mode=Service.OnlineMode.ONLINE,
        online_url=live_server.url + "/leistungen/hundesteuer/antrag/",
    )
    published(service, office, full_schema())
    document = tmp_path / "versicherung.pdf"
    document.write_bytes(PDF_BYTES)
    certificate = tmp_path / "meldebescheinigung.pdf"
    certificate.write_bytes(PDF_BYTES)
    return {"clerk": clerk, "citizen": citizen, "files": (document, certificate)}


def _open_task(page: Any, base: str, found: dict[str, Any]) -> None:
    page.goto(base + "/verwaltung/aufgaben/")
    _clean(page, found)
    page.locator('main a[href^="/verwaltung/aufgaben/"][href$="/"]').first.click()
    page.wait_for_load_state()
    _clean(page, found)


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_whole_path_of_an_online_application(
    page: Any, live_server: Any, town: dict[str, Any], language: str
) -> None:
    base = live_server.url
    page.context.add_cookies([{"name": "rathaus_language", "value": language, "url": base}])
    found: dict[str, Any] = {}
    document, certificate = town["files"]

    # The citizen finds the service and starts the application
    _login(page, base, "erika@example.org")
    page.goto(base + "/leistungen/suche/?q=Hundesteuer")
    _clean(page, found)
    page.locator('main a[href="/leistungen/hundesteuer/"]').click()
    page.wait_for_load_state()
    _clean(page, found)
    page.locator('main a[href$="/leistungen/hundesteuer/antrag/"]').click()
    page.wait_for_load_state()
    _clean(page, found)
    _submit(page)
    assert re.search(r"/konto/antraege/\d+/schritt/1/$", page.url)
    _clean(page, found)

    # Step 1, first with a mistake: the error is shown at the field, the input kept
    page.locator("#id_name").fill("Erika Mustermann")
    page.locator("#id_plz").fill("7163")
    page.locator("#id_geboren").fill("1964-08-12")
    page.locator("#id_land").select_option("BW")
    page.locator("#id_einverstanden").check()
    page.locator('main button[name="_action"][value="next"]:not(.visually-hidden)').click()
    page.wait_for_load_state()
    assert page.locator("#id_plz_error").is_visible()
    assert page.locator("#id_name").input_value() == "Erika Mustermann"
    _clean(page, found)
    page.locator("#id_plz").fill("71634")
    page.locator('main button[name="_action"][value="next"]:not(.visually-hidden)').click()
    page.wait_for_load_state()
    assert page.url.endswith("/schritt/2/")
    _clean(page, found)

    # Step 2: a second dog by posting the page back, the insurance proof uploaded
    page.locator("#id_hunde__0__hundename").fill("Bello")
    page.locator("#id_hunde__0__rasse").select_option("dackel")
    page.locator('main button[value="add:hunde"]').click()
    page.wait_for_load_state()
    assert page.locator("#id_hunde__0__hundename").input_value() == "Bello"
    page.locator("#id_hunde__1__hundename").fill("Luna")
    page.locator("#id_hunde__1__rasse").select_option("mischling")
    page.locator("#id_file_nachweis").set_input_files(str(document))
    page.locator('main button[value="upload"]').click()
    page.wait_for_load_state()
    assert page.locator('main a[href*="/dokumente/"]').count() == 1
    _clean(page, found)
    page.locator('main button[name="_action"][value="next"]:not(.visually-hidden)').click()
    page.wait_for_load_state()
    assert page.url.endswith("/pruefen/")
    _clean(page, found)

    # Pay 2 x 96 EUR with the test provider, then submit
    application = Application.objects.get(citizen=town["citizen"])
    page.locator(f'main form[action="/konto/antraege/{application.pk}/zahlung/"] button').click()
    page.wait_for_load_state()
    assert "/zahlung/test/" in page.url
    _clean(page, found)
    page.locator('main button[value="paid"]').click()
    page.wait_for_load_state()
    assert page.url.endswith("/pruefen/")
    _clean(page, found)
    page.locator("#id_confirm").check()
    page.locator(f'main form[action="/konto/antraege/{application.pk}/einreichen/"] button').click()
    page.wait_for_load_state()
    assert page.url.endswith("/bestaetigung/")
    _clean(page, found)
    application.refresh_from_db()
    assert (application.status, application.payment_status, application.fee_cents) == (
        "submitted",
        "paid",
        19200,
    )
    assert application.reference in page.locator("main").inner_text()
    receipt = page.request.get(
        base + page.locator('main a[href*="/dokumente/"]').get_attribute("href")
    )
    assert application.reference in pdf_text(receipt.body())
    _logout(page)

    # The case worker finds the task, looks at the application, asks for a document
    _login(page, base, "clara@musterstadt.example")
    _open_task(page, base, found)
    page.locator(f'main a[href="/verwaltung/antraege/{application.pk}/"]').click()
    page.wait_for_load_state()
    assert "Bello" in page.locator("main").inner_text()
    _clean(page, found)
    page.go_back()
    page.locator("#id_f-complete").select_option("false")
    page.locator("#id_f-missing_documents").fill("Meldebescheinigung")
    page.locator('main form[action$="/erledigen/"] button[type=submit]').click()
    page.wait_for_load_state()
    _worker()
    application.refresh_from_db()
    assert application.status == "documents_requested"
    _logout(page)

    # The citizen sees the request and supplies the document
    _login(page, base, "erika@example.org")
    page.goto(base + f"/konto/antraege/{application.pk}/")
    assert "Meldebescheinigung" in page.locator("main").inner_text()
    _clean(page, found)
    page.locator("#id_documents").set_input_files(str(certificate))
    page.locator(
        f'main form[action="/konto/antraege/{application.pk}/nachreichen/"] button'
    ).click()
    page.wait_for_load_state()
    application.refresh_from_db()
    assert application.status == "in_review"
    _clean(page, found)
    _logout(page)

    # The case worker decides: complete, requirements met
    _login(page, base, "clara@musterstadt.example")
    _open_task(page, base, found)
    page.locator("#id_f-complete").select_option("true")
    page.locator("#id_f-requirements_met").select_option("yes")
    page.locator('main form[action$="/erledigen/"] button[type=submit]').click()
    page.wait_for_load_state()
    _worker()
    application.refresh_from_db()
    assert (application.status, application.decision) == ("notice_issued", "approve")
    _logout(page)

    # The notice is in the Postfach; the citizen opens it and downloads it
    _login(page, base, "erika@example.org")
    page.goto(base + f"/konto/antraege/{application.pk}/")
    _clean(page, found)
    page.locator(f'main a[href="/konto/postfach/{application.notice_message_id}/"]').click()
    page.wait_for_load_state()
    _clean(page, found)
    attachment = page.request.get(
        base + page.locator('main a[href*="/anhang/"]').first.get_attribute("href")
    )
    assert application.reference in pdf_text(attachment.body())
    delivery = Delivery.objects.get(message_id=application.notice_message_id)
    retrieved = delivery.retrieved_at
    assert retrieved is not None
    tomorrow = retrieved.astimezone(BERLIN).date() + timedelta(days=1)
    assert delivery.deemed_delivered_on == tomorrow

    # The next day: the daily delivery check leaves it delivered, on that day
    deliveries_check(now=retrieved + timedelta(days=1, hours=1))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.deemed_delivered_on) == ("retrieved", tomorrow)
    page.reload()
    assert f'datetime="{tomorrow.isoformat()}"' in page.content()
    _clean(page, found)
    _logout(page)
    _login(page, base, "clara@musterstadt.example")
    page.goto(base + f"/verwaltung/antraege/{application.pk}/")
    assert tomorrow.strftime("%Y") in page.locator("main").inner_text()
    _clean(page, found)

    assert {url: v for url, v in found.items() if v} == {}


@pytest.mark.parametrize("language", ["de", "en"])
def test_back_office_pages_are_accessible(
    page: Any, live_server: Any, town: dict[str, Any], municipality: Municipality, language: str
) -> None:
    base = live_server.url
    page.context.add_cookies([{"name": "rathaus_language", "value": language, "url": base}])
    found: dict[str, Any] = {}
    editor_role = RoleFactory(
        municipality=municipality,
        key="formulare",
        permissions=["applications.manage_forms", *CASE_WORKER_PERMISSIONS],
    )
    editor: User = StaffFactory(municipality=municipality, email="fiona@musterstadt.example")
    RoleGrantFactory(
        user=editor, role=editor_role, org_unit=town["clerk"].role_grants.first().org_unit
    )
    _login(page, base, "fiona@musterstadt.example")
    for path in ("/verwaltung/formulare/", "/verwaltung/antraege/", "/konto/antraege/"):
        page.goto(base + path)
        _clean(page, found)
    page.goto(base + "/verwaltung/formulare/")
    page.locator('main a[href^="/verwaltung/formulare/"]').first.click()
    page.wait_for_load_state()
    _clean(page, found)
    page.locator('main button[value="preview"]').click()
    page.wait_for_load_state()
    assert page.locator("#id_vorschau-plz").count() == 1
    _clean(page, found)
    assert {url: v for url, v in found.items() if v} == {}
