"""The pages, the API and the SMTP endpoint: who may do what, hostile input, real SMTP."""

from __future__ import annotations

import smtplib
import socket
from email.message import EmailMessage
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from rathaus.accounts.services import api_token_create
from rathaus.einvoice import services
from rathaus.einvoice.models import Approval, Invoice, LeitwegRoute
from tests.einvoice.conftest import CII, TAX_EXCLUSIVE, UBL, sign_in, suite_files, ubl_with

pytestmark = pytest.mark.django_db


def upload(client: Client, *files: tuple[str, bytes]) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        reverse("einvoice:inbox"),
        {
            "invoices": [
                SimpleUploadedFile(name, data, content_type="application/xml")
                for name, data in files
            ]
        },
    )


def test_upload_several_files_and_approve_in_the_pages(
    client: Client,
    municipality: Any,
    route: LeitwegRoute,
    finance: Any,
    clerk: Any,
    second_clerk: Any,
) -> None:
    sign_in(client, finance)
    response = upload(client, ("a.xml", UBL.read_bytes()), ("b.xml", b"kein xml"))
    assert response.status_code == 200
    assert Invoice.objects.count() == 2
    page = response.content.decode()
    assert "received and valid" in page
    assert "received, but not valid" in page
    invoice = Invoice.objects.get(file_name="a.xml")
    sign_in(client, clerk)
    detail = client.get(reverse("einvoice:detail", args=[invoice.pk]))
    assert detail.status_code == 200
    assert "123456XX" in detail.content.decode()
    decide = reverse("einvoice:decide", args=[invoice.pk])
    assert client.post(decide, {"step": "factual", "approved": "yes"}).status_code == 302
    # The same clerk again: refused with the four-eyes reason, nothing recorded.
    again = client.post(decide, {"step": "arithmetic", "approved": "yes"})
    assert again.status_code == 403
    assert "Four-eyes" in again.content.decode()
    assert Approval.objects.count() == 1
    sign_in(client, second_clerk)
    assert client.post(decide, {"step": "arithmetic", "approved": "yes"}).status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.APPROVED
    sign_in(client, finance)
    assert client.post(reverse("einvoice:exports")).status_code == 302
    export = invoice.exports.get()
    csv_response = client.get(reverse("einvoice:export_download", args=[export.pk, "csv"]))
    assert "123456XX" in csv_response.content.decode("utf-8-sig")
    assert (
        client.get(reverse("einvoice:export_download", args=[export.pk, "exe"])).status_code == 404
    )
    pdf = client.get(reverse("einvoice:pdf", args=[invoice.pk]))
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    original = client.get(reverse("einvoice:original", args=[invoice.pk]))
    assert original.content == UBL.read_bytes()


def test_page_in_german_by_default(
    client: Client, settings: Any, municipality: Any, route: LeitwegRoute, clerk: Any
) -> None:
    settings.LANGUAGE_CODE = "de"
    invoice, _ = services.invoice_receive(
        municipality=municipality, data=UBL.read_bytes(), file_name="a.xml", channel="upload"
    )
    sign_in(client, clerk)
    page = client.get(
        reverse("einvoice:detail", args=[invoice.pk]), HTTP_ACCEPT_LANGUAGE="de"
    ).content.decode()
    assert "Prüfbericht" in page


def test_access_other_unit_other_tenant_and_citizens(
    client: Client,
    other_client: Client,
    municipality: Any,
    other_municipality: Any,
    route: LeitwegRoute,
    outsider: Any,
) -> None:
    from tests.factories import StaffFactory, UserFactory

    invoice, _ = services.invoice_receive(
        municipality=municipality, data=UBL.read_bytes(), file_name="a.xml", channel="upload"
    )
    url = reverse("einvoice:detail", args=[invoice.pk])
    assert client.get(url).status_code == 302  # anonymous: to the login
    sign_in(client, outsider)
    assert client.get(url).status_code == 403
    assert (
        client.post(
            reverse("einvoice:decide", args=[invoice.pk]), {"step": "factual", "approved": "yes"}
        ).status_code
        == 403
    )
    assert client.get(reverse("einvoice:exports")).status_code == 403
    assert client.post(reverse("einvoice:inbox"), {}).status_code == 403
    citizen = UserFactory(municipality=municipality)
    client.force_login(citizen)
    assert client.get(reverse("einvoice:inbox")).status_code == 403
    stranger = StaffFactory(municipality=other_municipality, is_superuser=True)
    sign_in(other_client, stranger)
    assert other_client.get(url).status_code == 404
    assert not Approval.objects.exists()


def test_upload_limits_and_hostile_form(client: Client, municipality: Any, finance: Any) -> None:
    municipality.settings = {"einvoice.upload_max_mb": 1}
    municipality.save()
    sign_in(client, finance)
    response = upload(client, ("big.xml", b"<a>" + b"x" * (1024 * 1024 + 10) + b"</a>"))
    assert response.status_code == 200
    assert "not received" in response.content.decode()
    assert client.post(reverse("einvoice:inbox"), {}).status_code == 400
    too_many = upload(client, *[(f"{i}.xml", b"<a/>") for i in range(21)])
    assert too_many.status_code == 400
    assert not Invoice.objects.filter(file_name="big.xml").exists()


def test_leitweg_register_page(
    client: Client, municipality: Any, finance: Any, ordering_unit: Any
) -> None:
    sign_in(client, finance)
    url = reverse("einvoice:leitweg")
    bad = client.post(url, {"leitweg_id": "04011000-12345-99", "org_unit": ordering_unit.pk})
    assert bad.status_code == 400
    assert (
        client.post(
            url, {"leitweg_id": "04011000-12345-03", "org_unit": ordering_unit.pk}
        ).status_code
        == 302
    )
    assert LeitwegRoute.objects.filter(org_unit=ordering_unit).count() == 1


# --- API -------------------------------------------------------------------------------


def api(
    client: Client, token: str, data: bytes, content_type: str = "application/xml", **query: str
) -> Any:
    url = reverse("einvoice-invoice-receive")
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return client.generic(
        "POST", url, data, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {token}"
    )


def test_api_receives_all_86_and_is_idempotent(
    client: Client, municipality: Any, finance: Any
) -> None:
    _token, secret = api_token_create(user=finance, name="ERP")
    for path in suite_files():
        response = api(client, secret, path.read_bytes(), filename=path.name)
        assert response.status_code == 201, path.name
        assert response.json()["accepted"] is True, (path.name, response.json()["errors"])
    again = api(client, secret, UBL.read_bytes())
    assert again.status_code == 200
    read = client.get(
        reverse("einvoice-invoice-read", args=[again.json()["id"]]),
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert read.json()["number"] == "123456XX"


def test_api_rejections_and_error_shape(
    client: Client,
    other_client: Client,
    municipality: Any,
    finance: Any,
    clerk: Any,
    other_municipality: Any,
) -> None:
    _token, secret = api_token_create(user=finance, name="ERP")
    broken = api(
        client,
        secret,
        ubl_with({TAX_EXCLUSIVE: TAX_EXCLUSIVE.replace("314.86", "1.00")}),
    )
    assert broken.status_code == 201
    assert broken.json()["accepted"] is False
    assert "BR-CO-13" in broken.json()["errors"]
    empty = api(client, secret, b"")
    assert empty.status_code == 400
    assert "body" in empty.json()["error"]["fields"]
    wrong_type = api(client, secret, b"{}", content_type="application/json")
    assert wrong_type.status_code == 415
    _t, clerk_secret = api_token_create(user=clerk, name="clerk")
    assert api(client, clerk_secret, CII.read_bytes()).status_code == 403
    # The token is bound to its municipality.
    assert api(other_client, secret, CII.read_bytes()).status_code == 401
    assert client.generic(
        "POST", reverse("einvoice-invoice-receive"), b"<a/>", content_type="application/xml"
    ).status_code in (401, 403)
    missing = client.get(
        reverse("einvoice-invoice-read", args=[999999]), HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert missing.status_code == 404
    assert "error" in missing.json()


# --- SMTP ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _mail(attachments: list[tuple[str, bytes]]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "rechnung@lieferant.example"
    message["To"] = "e-rechnung@musterstadt.example"
    message["Subject"] = "Rechnung"
    message.set_content("Anbei unsere Rechnung.")
    for name, data in attachments:
        message.add_attachment(data, maintype="application", subtype="xml", filename=name)
    return message


@pytest.mark.django_db(transaction=True)
def test_smtp_endpoint_real_exchange(municipality: Any, route: LeitwegRoute) -> None:
    from rathaus.einvoice.smtp import smtp_controller

    port = _free_port()
    controller = smtp_controller(
        host="127.0.0.1", port=port, municipality_id=municipality.pk, max_bytes=200_000
    )
    controller.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            smtp.send_message(_mail([("rechnung.xml", UBL.read_bytes())]))
            with pytest.raises(smtplib.SMTPDataError) as none:
                smtp.send_message(_mail([]))
            assert none.value.smtp_code == 550
            with pytest.raises(smtplib.SMTPDataError) as two:
                smtp.send_message(_mail([("a.xml", UBL.read_bytes()), ("b.xml", CII.read_bytes())]))
            assert two.value.smtp_code == 550
        with (
            smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp,
            pytest.raises(smtplib.SMTPException),
        ):
            smtp.send_message(_mail([("big.xml", b"<a>" + b"x" * 300_000 + b"</a>")]))
    finally:
        controller.stop()
    invoice = Invoice.objects.get()
    assert (invoice.channel, invoice.sender, invoice.accepted) == (
        "email",
        "rechnung@lieferant.example",
        True,
    )
    assert invoice.status == Invoice.Status.IN_APPROVAL
