"""The citizen's pages: start (idempotent), fill pages with field errors that keep what was
typed, groups without JavaScript, drafts and resume, review, submit (idempotent), the
receipt, the list with a fixed number of queries, and the trust level of a form."""

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from rathaus.accounts.models import User
from rathaus.accounts.trust import TrustLevel
from rathaus.applications import services
from rathaus.applications.models import Application, Document, FormDefinition
from rathaus.catalog.models import Service
from tests.applications.conftest import (
    FULL_PAGE_1,
    FULL_PAGE_2,
    pdf,
    pdf_text,
    sign_in,
    submitted_simple,
)

pytestmark = pytest.mark.django_db


def start(client: Client, service: Service, key: str = "a" * 32) -> Any:
    return client.post(f"/leistungen/{service.slug}/antrag/", {"idempotency_key": key})


def test_the_start_page_needs_a_sign_in_and_a_published_form(
    client: Client,
    citizen: User,
    simple_form: FormDefinition,
    free_service: Service,
    dog_service: Service,
) -> None:
    # Anonymous: to the sign-in
    response = client.get(f"/leistungen/{free_service.slug}/antrag/")
    assert response.status_code == 302
    assert response["Location"].startswith("/anmelden/")
    sign_in(client, citizen)
    response = client.get(f"/leistungen/{free_service.slug}/antrag/")
    assert response.status_code == 200
    assert "Start the application" in response.content.decode()
    # A service without a published form, and an unknown service: 404
    assert client.get(f"/leistungen/{dog_service.slug}/antrag/").status_code == 404
    assert client.get("/leistungen/gibt-es-nicht/antrag/").status_code == 404


def test_a_double_start_with_the_same_key_creates_one_draft(
    client: Client, citizen: User, simple_form: FormDefinition, free_service: Service
) -> None:
    sign_in(client, citizen)
    first = start(client, free_service)
    second = start(client, free_service)
    [application] = Application.objects.filter(citizen=citizen)
    assert first["Location"] == second["Location"] == f"/konto/antraege/{application.pk}/schritt/1/"
    assert application.form_version == simple_form.current_version
    # A broken key is refused and nothing is created
    response = start(client, free_service, key="short")
    assert response.status_code == 400
    assert Application.objects.filter(citizen=citizen).count() == 1


def test_invalid_input_gives_field_errors_and_keeps_what_was_typed(
    client: Client, citizen: User, dog_form: FormDefinition, dog_service: Service
) -> None:
    sign_in(client, citizen)
    url = start(client, dog_service)["Location"]
    response = client.post(
        url, {**FULL_PAGE_1, "plz": "7163x", "geboren": "31.02.1990", "_action": "next"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    # The errors are at their fields, linked for screen readers
    assert 'id="id_plz_error"' in html
    assert "Five digits, e.g. 71634." in html
    assert 'aria-describedby="id_plz_error"' in html or 'id_plz_error"' in html
    assert "Enter a valid date." in html
    # And what was typed is still there, also saved in the draft
    assert 'value="7163x"' in html
    assert 'value="Erika Mustermann"' in html
    application = Application.objects.get(citizen=citizen)
    assert application.data["plz"] == "7163x"
    assert application.data["einverstanden"] is True


def test_groups_grow_and_shrink_by_posting_back(
    client: Client, citizen: User, dog_form: FormDefinition, dog_service: Service
) -> None:
    sign_in(client, citizen)
    url = start(client, dog_service)["Location"]
    client.post(url, {**FULL_PAGE_1, "_action": "next"})
    page2 = url.replace("/schritt/1/", "/schritt/2/")
    # The group starts with its minimum of one dog
    html = client.get(page2).content.decode()
    assert 'name="hunde__0__hundename"' in html
    assert 'name="hunde__1__hundename"' not in html
    # "Add another" keeps what was typed and shows a second dog
    response = client.post(
        page2, {"_count_hunde": "1", "hunde__0__hundename": "Bello", "_action": "add:hunde"}
    )
    assert response.status_code == 302
    html = client.get(page2).content.decode()
    assert 'value="Bello"' in html
    assert 'name="hunde__1__hundename"' in html
    # Removing the first keeps the second
    client.post(
        page2,
        {
            "_count_hunde": "2",
            "hunde__0__hundename": "Bello",
            "hunde__1__hundename": "Luna",
            "_action": "remove:hunde:0",
        },
    )
    application = Application.objects.get(citizen=citizen)
    assert [dog["hundename"] for dog in application.data["hunde"]] == ["Luna"]
    # An unknown group is 404, nothing changes
    assert client.post(page2, {"_action": "add:katzen"}).status_code == 404


def test_a_draft_is_saved_and_resumed(
    client: Client, citizen: User, dog_form: FormDefinition, dog_service: Service
) -> None:
    sign_in(client, citizen)
    url = start(client, dog_service)["Location"]
    response = client.post(url, {"name": "Eri", "_action": "save"})
    assert response.status_code == 302
    # Later, in a new session
    other = Client()
    sign_in(other, citizen)
    html = other.get(url).content.decode()
    assert 'value="Eri"' in html
    # The start page offers to continue it
    assert (
        "Continue your draft"
        in other.get(f"/leistungen/{dog_service.slug}/antrag/").content.decode()
    )


def test_the_whole_form_with_upload_payment_and_submission(
    client: Client,
    consenting: User,
    dog_form: FormDefinition,
    dog_service: Service,
    django_capture_on_commit_callbacks: Any,
) -> None:
    sign_in(client, consenting)
    url = start(client, dog_service)["Location"]
    assert client.post(url, {**FULL_PAGE_1, "_action": "next"})["Location"].endswith("/schritt/2/")
    page2 = url.replace("/schritt/1/", "/schritt/2/")
    # Continue without the required proof: refused, the dogs are kept
    response = client.post(page2, {**FULL_PAGE_2, "_action": "next"})
    assert response.status_code == 400
    assert "Upload at least one file." in response.content.decode()
    assert 'value="Luna"' in response.content.decode()
    # With the proof
    response = client.post(
        page2, {**FULL_PAGE_2, "_file_nachweis": pdf("versicherung.pdf"), "_action": "next"}
    )
    application = Application.objects.get(citizen=consenting)
    assert response["Location"] == f"/konto/antraege/{application.pk}/pruefen/"
    # The review shows the data and asks for 2 dogs x 96 EUR
    review = client.get(response["Location"]).content.decode()
    assert "Bello" in review
    assert "192,00 EUR" in review
    assert "Submit the application" not in review
    # Submitting before paying is refused
    response = client.post(f"/konto/antraege/{application.pk}/einreichen/", {"confirm": "on"})
    assert response.status_code == 400
    assert "Please pay the fee before submitting." in response.content.decode()
    # Pay with the test provider
    response = client.post(f"/konto/antraege/{application.pk}/zahlung/")
    provider_page = response["Location"]
    assert provider_page.startswith("/zahlung/test/test_")
    assert "TEST" in client.get(provider_page).content.decode()
    back = client.post(provider_page, {"outcome": "paid"})["Location"]
    assert back.startswith(f"http://testserver/konto/antraege/{application.pk}/zahlung/zurueck/?")
    assert client.get(back)["Location"] == f"/konto/antraege/{application.pk}/pruefen/"
    application.refresh_from_db()
    assert application.payment_status == "paid"
    # Now the data is locked
    response = client.post(page2, {**FULL_PAGE_2, "_action": "save"})
    assert response["Location"] == f"/konto/antraege/{application.pk}/pruefen/"
    # Submit twice (a double click): one submission, one reference, one receipt
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(f"/konto/antraege/{application.pk}/einreichen/", {"confirm": "on"})
        second = client.post(f"/konto/antraege/{application.pk}/einreichen/", {"confirm": "on"})
    assert (
        first["Location"]
        == second["Location"]
        == (f"/konto/antraege/{application.pk}/bestaetigung/")
    )
    application.refresh_from_db()
    assert application.status == "submitted"
    assert application.reference.startswith("MU-")
    assert application.data["hunde"][0] == {
        "hundename": "Bello",
        "rasse": "dackel",
        "gewicht": "9.5",
        "alter": 4,
    }
    assert application.fee_cents == 19200
    receipts = Document.objects.filter(application=application, kind="receipt")
    assert receipts.count() == 1
    confirmation = client.get(first["Location"]).content.decode()
    assert application.reference in confirmation
    # The receipt names number, service, data and the fee paid
    download = client.get(f"/konto/antraege/{application.pk}/dokumente/{receipts[0].pk}/")
    assert download["Content-Type"] == "application/pdf"
    text = pdf_text(b"".join(download.streaming_content))
    assert application.reference in text
    assert "Bello" in text
    assert "192,00 EUR" in text
    assert "versicherung.pdf" in text


def test_the_list_of_applications_uses_a_fixed_number_of_queries(
    client: Client, citizen: User, simple_form: FormDefinition, free_service: Service
) -> None:
    sign_in(client, citizen)
    submitted_simple(citizen, free_service)
    client.get("/konto/antraege/")  # warm the session and caches
    with CaptureQueriesContext(connection) as few:
        assert client.get("/konto/antraege/").status_code == 200
    for number in range(5):
        application = services.application_start(
            citizen=citizen, service=free_service, idempotency_key=f"more-{number:028d}"
        )
    with CaptureQueriesContext(connection) as many:
        response = client.get("/konto/antraege/")
    assert len(many) == len(few)
    assert response.content.decode().count("Hundesteuer Abmeldung") == 6
    assert application.pk


def test_a_form_can_require_a_higher_trust_level(
    client: Client, citizen: User, free_service: Service, tax_office: Any
) -> None:
    from tests.applications.conftest import published
    from tests.applications.factories import simple_schema

    published(free_service, tax_office, simple_schema(), min_trust_level=TrustLevel.HIGH)
    sign_in(client, citizen, TrustLevel.BASIC)
    response = client.get(f"/leistungen/{free_service.slug}/antrag/")
    assert response.status_code == 302
    assert response["Location"].startswith("/anmelden/vertrauensniveau/?level=3")
    assert start(client, free_service).status_code == 302
    assert not Application.objects.filter(citizen=citizen).exists()
    sign_in(client, citizen, TrustLevel.HIGH)
    assert start(client, free_service)["Location"].endswith("/schritt/1/")


def test_the_template_tag_links_a_service_to_its_form(
    simple_form: FormDefinition, free_service: Service, dog_service: Service
) -> None:
    from django.template import Context, Template

    template = Template(
        "{% load applications %}{% application_start_url service as url %}[{{ url }}]"
    )
    assert template.render(Context({"service": free_service})) == (
        f"[/leistungen/{free_service.slug}/antrag/]"
    )
    assert template.render(Context({"service": dog_service})) == "[]"
