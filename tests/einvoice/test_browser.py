"""The approval path in Chromium, axe-checked on every page: the finance office uploads an
invoice, a first clerk confirms it factually correct, the same clerk cannot do the second
step, a second clerk confirms it arithmetically correct, and it appears in the export."""

from __future__ import annotations

from typing import Any

import pytest

from rathaus.einvoice.models import Invoice
from tests.browser.conftest import axe_violations
from tests.einvoice.conftest import UBL
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _submit(page: Any, selector: str) -> None:
    page.locator(selector).first.click()
    page.wait_for_load_state()


def _login(page: Any, base: str, email: str) -> None:
    page.context.clear_cookies()
    page.goto(base + "/anmelden/")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    _submit(page, "main form button[type=submit]")


def test_upload_four_eyes_and_export(
    page: Any,
    live_server: Any,
    route: Any,
    finance: Any,
    clerk: Any,
    second_clerk: Any,
) -> None:
    base = live_server.url
    found: dict[str, Any] = {}
    _login(page, base, finance.email)
    page.goto(base + "/verwaltung/e-rechnungen/")
    found["inbox"] = axe_violations(page)
    page.locator("#id_invoices").set_input_files(str(UBL))
    _submit(page, "main form[enctype] button[type=submit]")
    found["result"] = axe_violations(page)
    invoice = Invoice.objects.get()
    assert invoice.status == Invoice.Status.IN_APPROVAL

    _login(page, base, clerk.email)
    page.goto(f"{base}/verwaltung/e-rechnungen/{invoice.pk}/")
    found["detail"] = axe_violations(page)
    page.locator("input[name=approved][value=yes]").check()
    _submit(page, "main form[action$='/pruefen/'] button[type=submit]")
    # The same clerk sees that a second person must do the next step, and no form.
    assert page.locator("form[action$='/pruefen/']").count() == 0
    assert (
        page.locator("main").inner_text().count("four-eyes")
        + page.locator("main").inner_text().count("Vier-Augen")
        == 1
    )
    found["after first"] = axe_violations(page)

    _login(page, base, second_clerk.email)
    page.goto(f"{base}/verwaltung/e-rechnungen/{invoice.pk}/")
    page.locator("input[name=approved][value=yes]").check()
    _submit(page, "main form[action$='/pruefen/'] button[type=submit]")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.APPROVED
    assert sorted(invoice.approvals.values_list("user_id", flat=True)) == sorted(
        [clerk.pk, second_clerk.pk]
    )

    _login(page, base, finance.email)
    page.goto(base + "/verwaltung/e-rechnungen/export/")
    found["exports"] = axe_violations(page)
    _submit(page, "main form button[type=submit]")
    assert page.locator("main table").inner_text().count("123456XX") == 1
    found["exported"] = axe_violations(page)
    invoice.refresh_from_db()
    assert invoice.exported_at is not None
    assert {name: v for name, v in found.items() if v} == {}
