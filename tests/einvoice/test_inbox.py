"""Receiving, routing, the four-eyes approval through the workflow engine, rejection,
duplicates, export and the archive, through the services."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from rathaus.core.errors import Conflict, PermissionDenied, ValidationFailed
from rathaus.einvoice import services
from rathaus.einvoice.documents import leitweg_check_digits, leitweg_valid
from rathaus.einvoice.models import Approval, Invoice, LeitwegRoute, Reminder
from rathaus.workflow.models import UserTask
from tests.einvoice.conftest import CII, LEITWEG, UBL, run_jobs, run_worker, suite_files, ubl_with

pytestmark = pytest.mark.django_db


def receive(municipality: Any, data: bytes, **kwargs: Any) -> tuple[Invoice, bool]:
    kwargs.setdefault("file_name", "rechnung.xml")
    kwargs.setdefault("channel", Invoice.Channel.UPLOAD)
    return services.invoice_receive(municipality=municipality, data=data, **kwargs)


def test_leitweg_check_digits() -> None:
    assert leitweg_valid("04011000-1234512345-06")
    assert leitweg_valid(LEITWEG)
    assert not leitweg_valid("04011000-1234512345-07")
    assert not leitweg_valid("0401100A-12345-03")
    assert not leitweg_valid("1-12345-03")
    assert leitweg_check_digits("04011000", "1234512345") == "06"


def test_valid_invoice_is_routed_and_approval_starts(
    municipality: Any, route: LeitwegRoute
) -> None:
    invoice, created = receive(municipality, UBL.read_bytes())
    assert created
    assert invoice.accepted
    assert invoice.status == Invoice.Status.IN_APPROVAL
    assert invoice.org_unit == route.org_unit
    assert invoice.leitweg_valid
    assert invoice.number == "123456XX"
    assert invoice.amount_due == Decimal("336.90")
    assert bytes(invoice.original) == UBL.read_bytes()
    assert services.open_step(invoice) == Approval.Step.FACTUAL
    task = UserTask.objects.get(instance_id=invoice.workflow_instance_id, status="open")
    assert task.candidate_org_unit == route.org_unit


def test_same_bytes_twice_are_one_invoice(municipality: Any, route: LeitwegRoute) -> None:
    first, created = receive(municipality, UBL.read_bytes())
    again, created_again = receive(municipality, UBL.read_bytes(), channel=Invoice.Channel.API)
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert Invoice.objects.count() == 1


def test_same_invoice_other_bytes_is_a_probable_duplicate(
    municipality: Any, route: LeitwegRoute, clerk: Any
) -> None:
    first, _ = receive(municipality, UBL.read_bytes())
    variant = UBL.read_bytes().replace(b"<cbc:Note>", b"<cbc:Note>Kopie. ", 1)
    second, created = receive(municipality, variant)
    assert created
    assert (second.duplicate, second.duplicate_of_id) == (Invoice.Duplicate.SUSPECTED, first.pk)
    rejected = services.invoice_duplicate_resolve(invoice=second, user=clerk, distinct=False)
    assert rejected.status == Invoice.Status.REJECTED
    assert "123456XX" in rejected.rejection_reason


@pytest.mark.django_db(transaction=True)
def test_invalid_invoice_is_kept_and_sender_told(
    municipality: Any,
    route: LeitwegRoute,
    smtp_server: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    data = ubl_with({"<cbc:BuyerReference>04011000-12345-03</cbc:BuyerReference>": ""})
    with django_capture_on_commit_callbacks(execute=True):
        invoice, created = receive(
            municipality, data, channel=Invoice.Channel.EMAIL, sender="lieferant@example.org"
        )
    assert created
    assert not invoice.accepted
    assert invoice.status == Invoice.Status.INVALID
    assert "BR-DE-15" in [m["code"] for m in invoice.report["messages"]]
    run_worker()
    assert smtp_server.arrived.wait(5)
    message = smtp_server.messages[0]
    assert message["To"] == "lieferant@example.org"
    body = message.get_payload(decode=True).decode()
    assert "BR-DE-15" in body


def test_unknown_leitweg_waits_for_routing(
    municipality: Any, ordering_unit: Any, finance: Any
) -> None:
    invoice, _ = receive(municipality, UBL.read_bytes())
    assert invoice.status == Invoice.Status.UNROUTED
    assert invoice.workflow_instance_id is None
    routed = services.invoice_route(invoice=invoice, org_unit=ordering_unit, user=finance)
    assert routed.status == Invoice.Status.IN_APPROVAL
    assert services.open_step(routed) == Approval.Step.FACTUAL
    with pytest.raises(Conflict):
        services.invoice_route(invoice=routed, org_unit=ordering_unit, user=finance)


def test_four_eyes_and_export(
    municipality: Any, route: LeitwegRoute, clerk: Any, second_clerk: Any, finance: Any
) -> None:
    invoice, _ = receive(municipality, UBL.read_bytes())
    services.invoice_decide(invoice=invoice, user=clerk, step="factual", approved=True)
    # The same person cannot confirm the second step: refused by the service itself.
    with pytest.raises(PermissionDenied) as refused:
        services.invoice_decide(invoice=invoice, user=clerk, step="arithmetic", approved=True)
    assert refused.value.code == "four_eyes"
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.IN_APPROVAL
    approved = services.invoice_decide(
        invoice=invoice, user=second_clerk, step="arithmetic", approved=True
    )
    assert approved.status == Invoice.Status.APPROVED
    assert run_jobs() == ["succeeded"]
    approved.refresh_from_db()
    assert approved.payment_ordered_at is not None
    export = services.export_create(municipality=municipality, user=finance)
    rows = list(csv.DictReader(io.StringIO(export.csv), delimiter=";"))
    assert [
        (r["invoice_number"], r["vat_rate"], r["taxable_amount"], r["vat_amount"]) for r in rows
    ] == [("123456XX", "7", "314.86", "22.04")]
    assert json.loads(export.json)["rows"][0]["amount_due"] == "336.90"
    approved.refresh_from_db()
    assert approved.exported_at is not None
    # Nothing new: a second export is refused; a re-export of the same invoice works.
    with pytest.raises(ValidationFailed):
        services.export_create(municipality=municipality, user=finance)
    again = services.export_create(
        municipality=municipality, user=finance, invoice_ids=[approved.pk]
    )
    assert again.csv == export.csv


def test_extra_approval_above_the_limit(
    municipality: Any, route: LeitwegRoute, clerk: Any, second_clerk: Any, third_clerk: Any
) -> None:
    municipality.settings = {"einvoice.extra_approval_eur": 100}
    municipality.save()
    invoice, _ = receive(municipality, UBL.read_bytes())  # 336.90 EUR
    services.invoice_decide(invoice=invoice, user=clerk, step="factual", approved=True)
    after = services.invoice_decide(
        invoice=invoice, user=second_clerk, step="arithmetic", approved=True
    )
    assert after.status == Invoice.Status.IN_APPROVAL
    assert services.open_step(after) == Approval.Step.EXTRA
    with pytest.raises(PermissionDenied):
        services.invoice_decide(invoice=invoice, user=second_clerk, step="extra", approved=True)
    done = services.invoice_decide(invoice=invoice, user=third_clerk, step="extra", approved=True)
    assert done.status == Invoice.Status.APPROVED


@pytest.mark.django_db(transaction=True)
def test_rejection_needs_reason_and_tells_the_seller(
    municipality: Any, route: LeitwegRoute, clerk: Any, smtp_server: Any
) -> None:
    invoice, _ = receive(
        municipality,
        UBL.read_bytes(),
        channel=Invoice.Channel.EMAIL,
        sender="buchhaltung@lieferant.example",
    )
    with pytest.raises(ValidationFailed):
        services.invoice_decide(invoice=invoice, user=clerk, step="factual", approved=False)
    rejected = services.invoice_decide(
        invoice=invoice, user=clerk, step="factual", approved=False, comment="Ware nicht geliefert"
    )
    assert rejected.status == Invoice.Status.REJECTED
    assert run_jobs() == ["succeeded"]
    run_worker()
    assert smtp_server.arrived.wait(5)
    assert "Ware nicht geliefert" in smtp_server.messages[0].get_payload(decode=True).decode()


def test_outsider_cannot_approve(municipality: Any, route: LeitwegRoute, outsider: Any) -> None:
    invoice, _ = receive(municipality, UBL.read_bytes())
    with pytest.raises(PermissionDenied):
        services.invoice_decide(invoice=invoice, user=outsider, step="factual", approved=True)
    assert not Approval.objects.exists()


def test_wrong_step_is_a_conflict(municipality: Any, route: LeitwegRoute, clerk: Any) -> None:
    invoice, _ = receive(municipality, UBL.read_bytes())
    with pytest.raises(Conflict):
        services.invoice_decide(invoice=invoice, user=clerk, step="arithmetic", approved=True)


def test_oversized_and_empty_files_are_refused_before_storing(municipality: Any) -> None:
    municipality.settings = {"einvoice.upload_max_mb": 1}
    municipality.save()
    with pytest.raises(ValidationFailed) as big:
        receive(municipality, b"<a/>" + b" " * (1024 * 1024))
    assert big.value.code == "too_large"
    with pytest.raises(ValidationFailed):
        receive(municipality, b"")
    assert not Invoice.objects.exists()


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"\x00\x01binary", "XML-SYNTAX"),
        (b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://example.org/x.dtd"><x/>', "XML-DTD"),
        (
            b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n",
            "PDF-NO-INVOICE",
        ),
        (b"<a/>", "NO-SCENARIO"),
    ],
)
def test_bad_input_is_stored_as_invalid_with_reason(
    municipality: Any, data: bytes, code: str
) -> None:
    invoice, _ = receive(municipality, data)
    assert invoice.status == Invoice.Status.INVALID
    assert [m["code"] for m in invoice.report["messages"]] == [code]


def zugferd_pdf(xml: bytes) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(text="Rechnung")
    pdf.embed_file(bytes=xml, basename="factur-x.xml", compress=True)
    return bytes(pdf.output())


def test_zugferd_pdf_is_read_from_its_embedded_cii(municipality: Any, route: LeitwegRoute) -> None:
    invoice, _ = receive(municipality, zugferd_pdf(CII.read_bytes()), file_name="rechnung.pdf")
    assert invoice.container == "pdf"
    assert invoice.accepted, invoice.report
    assert invoice.scenario == "EN16931 XRechnung (CII)"
    assert bytes(invoice.xml) == CII.read_bytes()
    assert invoice.number == "123456XX"


def test_model_has_the_same_business_terms_in_both_syntaxes() -> None:
    from lxml import etree

    from rathaus.einvoice.model import invoice_model

    ubl = invoice_model(etree.fromstring(UBL.read_bytes()))
    cii = invoice_model(etree.fromstring(CII.read_bytes()))
    for key in ("number", "issue_date", "currency", "buyer_reference", "totals", "vat_breakdown"):
        assert ubl[key] == cii[key], key
    assert [line["net"] for line in ubl["lines"]] == [line["net"] for line in cii["lines"]]
    assert ubl["seller"]["name"] == cii["seller"]["name"]


def test_every_official_instance_through_the_inbox(municipality: Any) -> None:
    accepted = [
        receive(municipality, path.read_bytes(), file_name=path.name)[0].accepted
        for path in suite_files()
    ]
    assert accepted.count(True) == 86


def test_reminders_for_due_date_and_skonto_once(
    municipality: Any, route: LeitwegRoute, clerk: Any
) -> None:
    data = ubl_with(
        {
            "<cbc:IssueDate>2016-04-04</cbc:IssueDate>": "<cbc:IssueDate>2026-11-20</cbc:IssueDate>"
            "<cbc:DueDate>2026-12-10</cbc:DueDate>",
        }
    )
    invoice, _ = receive(municipality, data)
    assert invoice.due_date == date(2026, 12, 10)
    invoice.data["payment"]["skonto"] = [{"days": "14", "percent": "2.00", "base": ""}]
    Invoice.objects.filter(pk=invoice.pk).update(data=invoice.data)
    assert services.reminders_send(today=date(2026, 12, 1)) == 1  # skonto 2026-12-04
    assert services.reminders_send(today=date(2026, 12, 1)) == 0
    assert services.reminders_send(today=date(2026, 12, 8)) == 1  # due 2026-12-10
    assert set(Reminder.objects.values_list("kind", flat=True)) == {"due", "skonto"}


def test_retention_keeps_ten_years_from_end_of_year(municipality: Any, route: LeitwegRoute) -> None:
    invoice, _ = receive(
        municipality, ubl_with({"<cbc:BuyerReference>04011000-12345-03</cbc:BuyerReference>": ""})
    )
    received = invoice.created_at
    assert services.retention_purge(today=received.date() + timedelta(days=365 * 10)) == 0
    assert services.retention_purge(today=date(received.year + 11, 1, 1)) == 1
    assert not Invoice.objects.exists()


def test_archive_is_unchanged_by_the_whole_process(
    municipality: Any, route: LeitwegRoute, clerk: Any, second_clerk: Any, finance: Any
) -> None:
    invoice, _ = receive(municipality, UBL.read_bytes())
    before = Invoice.objects.values("original", "sha256", "report", "data", "xml").get(
        pk=invoice.pk
    )
    services.invoice_decide(invoice=invoice, user=clerk, step="factual", approved=True)
    services.invoice_decide(invoice=invoice, user=second_clerk, step="arithmetic", approved=True)
    run_jobs()
    services.export_create(municipality=municipality, user=finance)
    receive(municipality, UBL.read_bytes())  # the same bytes again change nothing either
    after = Invoice.objects.values("original", "sha256", "report", "data", "xml").get(pk=invoice.pk)
    assert {k: bytes(v) if isinstance(v, memoryview) else v for k, v in after.items()} == {
        k: bytes(v) if isinstance(v, memoryview) else v for k, v in before.items()
    }
    assert bytes(after["original"]) == UBL.read_bytes()


def test_leitweg_register_checks_digits(
    municipality: Any, finance: Any, ordering_unit: Any
) -> None:
    with pytest.raises(ValidationFailed):
        services.leitweg_route_add(
            municipality=municipality,
            user=finance,
            leitweg_id="04011000-12345-04",
            org_unit=ordering_unit,
        )
    route = services.leitweg_route_add(
        municipality=municipality, user=finance, leitweg_id=LEITWEG, org_unit=ordering_unit
    )
    assert route.leitweg_id == LEITWEG
    with pytest.raises(ValidationFailed):
        services.leitweg_route_add(
            municipality=municipality, user=finance, leitweg_id=LEITWEG, org_unit=ordering_unit
        )


def test_missing_artefacts_refuse_receipt_with_instructions(
    municipality: Any, settings: Any, tmp_path: Any, caplog: Any
) -> None:
    from rathaus.einvoice import engine

    settings.RATHAUS_EINVOICE_ARTEFACTS_DIR = str(tmp_path)
    settings.VAR_DIR = tmp_path / "var"
    engine.validator_reset()
    try:
        with pytest.raises(services.ValidatorUnavailable) as refused:
            receive(municipality, UBL.read_bytes())
        assert refused.value.status == 503
        assert "einvoice artefacts --download" in caplog.text
        assert not Invoice.objects.exists()
    finally:
        engine.validator_reset()
