"""Uploads: type by content, names that lie, programs, archives, active PDFs, oversize,
too many, the scanning hook (EICAR), and the refusal reasons on the page."""

from typing import Any

import pytest
from django.test import Client

from rathaus.accounts.models import User
from rathaus.applications import services
from rathaus.applications.documents import EICAR, MAX_FILE_BYTES, MAX_FILES
from rathaus.applications.models import Application, Document, FormDefinition
from rathaus.audit.models import AuditEvent
from rathaus.catalog.models import Service
from tests.applications.conftest import PDF_BYTES, PNG_BYTES, pdf, sign_in, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def application(citizen: User, dog_form: FormDefinition, dog_service: Service) -> Application:
    return services.application_start(
        citizen=citizen, service=dog_service, idempotency_key="d" * 32
    )


def add(application: Application, citizen: User, *files: Any) -> list[Document]:
    return services.documents_upload(
        application=application, citizen=citizen, uploads=list(files), field_id="nachweis"
    )


def refusal(application: Application, citizen: User, *files: Any) -> list[str]:
    with pytest.raises(services.ValidationFailed) as refused:
        add(application, citizen, *files)
    assert not Document.objects.filter(application=application).exists()
    return refused.value.fields["documents"]


def test_a_pdf_and_a_png_are_accepted_by_their_content(
    application: Application, citizen: User
) -> None:
    [first] = add(application, citizen, upload("scan", PDF_BYTES))
    [second] = add(application, citizen, upload("foto.PNG", PNG_BYTES, "text/plain"))
    assert (first.original_name, first.content_type) == ("scan.pdf", "application/pdf")
    assert (second.original_name, second.content_type) == ("foto.PNG", "image/png")
    assert first.size == len(PDF_BYTES)
    assert len(first.sha256) == 64
    assert first.scan_status == "not_scanned"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("virus.pdf", b"MZ\x90\x00" + b"\x00" * 60, "it is a program, which is not accepted"),
        ("archiv.pdf", b"PK\x03\x04" + b"\x00" * 20, "it is an archive or office document"),
        ("brief.docx", b"PK\x03\x04" + b"\x00" * 20, "it is an archive or office document"),
        ("seite.pdf", b"<html><script>alert(1)</script></html>", "only PDF, PNG, JPEG, TIFF"),
        ("bild.png", PDF_BYTES, "its name ends in .png, but it is a PDF file"),
        ("leer.pdf", b"", "it is empty"),
        (
            "aktiv.pdf",
            b"%PDF-1.4\n<< /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>",
            "the PDF contains scripts",
        ),
    ],
)
def test_forbidden_files_are_refused_with_the_reason(
    application: Application, citizen: User, name: str, content: bytes, reason: str
) -> None:
    [message] = refusal(application, citizen, upload(name, content, "application/pdf"))
    assert message.startswith(f"“{name}” was not accepted: {reason}")


def test_an_oversized_file_is_refused(application: Application, citizen: User) -> None:
    big = PDF_BYTES + b"0" * MAX_FILE_BYTES
    [message] = refusal(application, citizen, pdf("gross.pdf", big))
    assert message == "“gross.pdf” was not accepted: it is larger than 10 MB."


def test_the_limits_per_field_and_per_application(application: Application, citizen: User) -> None:
    # The field takes two files
    add(application, citizen, pdf("a.pdf"), pdf("b.pdf"))
    assert refusal_after(application, citizen, pdf("c.pdf")) == [
        "At most 2 files can be uploaded here."
    ]
    # And an application at most MAX_FILES
    with pytest.raises(services.ValidationFailed) as refused:
        add(application, citizen, *[pdf(f"{n}.pdf") for n in range(MAX_FILES - 1)])
    assert refused.value.fields["documents"][0].startswith(
        f"An application can have at most {MAX_FILES} documents"
    )


def refusal_after(application: Application, citizen: User, *files: Any) -> list[str]:
    before = Document.objects.filter(application=application).count()
    with pytest.raises(services.ValidationFailed) as refused:
        add(application, citizen, *files)
    assert Document.objects.filter(application=application).count() == before
    return refused.value.fields["documents"]


def test_the_scanner_refuses_the_eicar_test_virus_and_audits_it(
    application: Application, citizen: User, settings: Any
) -> None:
    settings.RATHAUS_DOCUMENT_SCANNER = "rathaus.applications.documents.EicarTestScanner"
    infected = b"%PDF-1.4\n" + EICAR + b"\n%%EOF"
    [message] = refusal(application, citizen, pdf("rechnung.pdf", infected))
    assert message == (
        "“rechnung.pdf” was not accepted: the virus scanner found Eicar-Test-Signature in it."
    )
    event = AuditEvent.objects.get(action="applications.document.infected")
    assert event.data == {"files": ["rechnung.pdf"]}
    # A clean file passes the same scanner, recorded as scanned
    [clean] = add(application, citizen, pdf())
    assert clean.scan_status == "clean"


def test_the_page_shows_the_reason_and_keeps_the_typed_values(
    client: Client, application: Application, citizen: User
) -> None:
    sign_in(client, citizen)
    response = client.post(
        f"/konto/antraege/{application.pk}/schritt/2/",
        {
            "_count_hunde": "1",
            "hunde__0__hundename": "Bello",
            "_file_nachweis": upload("setup.pdf", b"MZ" + b"\x00" * 100),
            "_action": "upload",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "“setup.pdf” was not accepted: it is a program, which is not accepted." in html
    assert 'value="Bello"' in html
    assert not Document.objects.filter(application=application).exists()


def test_removing_a_file_from_the_draft(
    client: Client, application: Application, citizen: User, neighbour: User
) -> None:
    [document] = add(application, citizen, pdf())
    # Another citizen cannot remove it
    with pytest.raises(services.NotFound):
        services.document_remove(document=document, citizen=neighbour)
    sign_in(client, citizen)
    client.post(
        f"/konto/antraege/{application.pk}/schritt/2/",
        {"_count_hunde": "1", "_action": f"delete_document:{document.pk}"},
    )
    assert not Document.objects.filter(application=application).exists()
