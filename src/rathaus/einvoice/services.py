"""Every write of the e-invoice inbox: receive, route, approve, reject, export, remind."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from lxml import etree

from rathaus.audit.services import audit_record
from rathaus.core.errors import ApplicationError, Conflict, PermissionDenied, ValidationFailed
from rathaus.core.models import Municipality
from rathaus.core.municipal_settings import municipal_setting
from rathaus.einvoice import engine
from rathaus.einvoice.documents import NoInvoiceInPdf, leitweg_valid, pdf_invoice_extract, pdf_is
from rathaus.einvoice.kosit import ArtefactError, ValidationResult
from rathaus.einvoice.kosit.validator import Message
from rathaus.einvoice.model import invoice_model
from rathaus.einvoice.models import (
    APPROVE,
    EXPORT,
    MANAGE,
    Approval,
    Export,
    Invoice,
    LeitwegRoute,
    Reminder,
)
from rathaus.organisation.models import OrgUnit
from rathaus.organisation.permissions import user_can
from rathaus.workflow import services as workflow
from rathaus.workflow.models import ProcessVersion, UserTask

if TYPE_CHECKING:
    from rathaus.accounts.models import User

logger = logging.getLogger(__name__)

PROCESS_KEY = "einvoice_approval"
BPMN_FILE = "einvoice_approval.bpmn"
#: The user task of each approval step in the shipped process.
STEP_TASKS: dict[str, tuple[str, str, str]] = {
    Approval.Step.FACTUAL.value: ("check_factual", "factually_correct", "factual_comment"),
    Approval.Step.ARITHMETIC.value: (
        "check_arithmetic",
        "arithmetically_correct",
        "arithmetic_comment",
    ),
    Approval.Step.EXTRA.value: ("check_extra", "extra_approved", "extra_comment"),
}
CODE_PDF = "PDF-NO-INVOICE"


class ValidatorUnavailable(ApplicationError):
    """The rule artefacts are missing or broken: nothing can be validated, so nothing is
    received (the sender retries; the operator is told in the log how to install them)."""

    status = 503
    default_code = "validator_unavailable"
    default_message = _(
        "E-invoices cannot be checked at the moment, so this invoice was not received. "
        "Please try again later."
    )


def max_bytes(municipality: Municipality, channel: str) -> int:
    """The size limit of one invoice on ``channel`` (municipal settings, in MB)."""
    key = "einvoice.email_max_mb" if channel == Invoice.Channel.EMAIL else "einvoice.upload_max_mb"
    return municipal_setting(municipality, key) * 1024 * 1024


def _decimal(value: str) -> Decimal | None:
    try:
        return Decimal(value).quantize(Decimal("0.01")) if value else None
    except InvalidOperation:
        return None


def _iso_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _inspect(data: bytes, *, limit: int) -> tuple[str, bytes, ValidationResult, dict[str, Any]]:
    """Container, invoice XML, verdict and model of the received bytes (never raises for
    bad input)."""
    container, xml = "xml", data
    if pdf_is(data):
        container = "pdf"
        try:
            _name, xml = pdf_invoice_extract(data, max_bytes=limit)
        except NoInvoiceInPdf as error:
            result = ValidationResult(
                accepted=False,
                scenario=None,
                messages=[Message(CODE_PDF, "error", str(error), step="pdf")],
            )
            return container, b"", result, {}
    result = engine.validator().validate(xml, max_bytes=limit)
    model: dict[str, Any] = {}
    if result.syntax:
        try:
            model = invoice_model(
                etree.fromstring(
                    xml, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
                )
            )
        except (ValueError, etree.XMLSyntaxError):
            model = {}
    return container, xml, result, model


def invoice_receive(
    *,
    municipality: Municipality,
    data: bytes,
    file_name: str,
    channel: str,
    sender: str = "",
    user: User | None = None,
) -> tuple[Invoice, bool]:
    """Receive one invoice file: validate, read, route, start the approval.

    Returns ``(invoice, created)``. The same bytes twice give the first invoice back
    (``created`` False). An invalid invoice is kept too (status ``invalid``, with its
    report) so nothing is silently lost; the sender is told by e-mail if we know them.
    Raises ``ValidationFailed`` (code ``too_large`` / ``empty``) before storing anything
    for a file over the municipality's limit or an empty one.
    """
    limit = max_bytes(municipality, channel)
    if not data:
        raise ValidationFailed(_("The file is empty."), code="empty")
    if len(data) > limit:
        raise ValidationFailed(
            _("The file is larger than %(mb)s MB.") % {"mb": limit // (1024 * 1024)},
            code="too_large",
        )
    digest = hashlib.sha256(data).hexdigest()
    existing = Invoice.objects.filter(municipality=municipality, sha256=digest).first()
    if existing is not None:
        return existing, False
    try:
        container, xml, result, model = _inspect(data, limit=limit)
    except ArtefactError as error:
        logger.error("e-invoice validator unavailable: %s", error)
        raise ValidatorUnavailable() from error
    leitweg = (model.get("buyer_reference") or "").strip()
    try:
        with transaction.atomic():
            invoice = _invoice_store(
                municipality=municipality,
                data=data,
                digest=digest,
                xml=xml,
                container=container,
                file_name=file_name,
                channel=channel,
                sender=sender,
                user=user,
                result=result,
                model=model,
                leitweg=leitweg,
            )
    except IntegrityError:
        # A concurrent receipt of the same bytes won: that one is the invoice.
        existing = Invoice.objects.filter(municipality=municipality, sha256=digest).first()
        if existing is None:
            raise
        return existing, False
    return invoice, True


def _invoice_store(
    *,
    municipality: Municipality,
    data: bytes,
    digest: str,
    xml: bytes,
    container: str,
    file_name: str,
    channel: str,
    sender: str,
    user: User | None,
    result: ValidationResult,
    model: dict[str, Any],
    leitweg: str,
) -> Invoice:
    route = (
        LeitwegRoute.objects.select_related("org_unit")
        .filter(municipality=municipality, leitweg_id__iexact=leitweg)
        .first()
        if leitweg
        else None
    )
    seller = model.get("seller") or {}
    invoice = Invoice(
        municipality=municipality,
        sha256=digest,
        original=data,
        xml=xml if container == "pdf" else b"",
        file_name=(file_name or "invoice")[:255],
        container=container,
        channel=channel,
        sender=sender[:254],
        received_by=user,
        accepted=result.accepted,
        scenario=(result.scenario or "")[:200],
        report=result.as_dict(),
        data=model,
        number=(model.get("number") or "")[:200],
        issue_date=_iso_date(model.get("issue_date") or ""),
        due_date=_iso_date(model.get("due_date") or ""),
        seller_name=(seller.get("name") or "")[:300],
        seller_vat_id=(seller.get("vat_id") or "")[:100],
        currency=(model.get("currency") or "")[:3],
        amount_due=_decimal((model.get("totals") or {}).get("due") or ""),
        leitweg_id=leitweg[:100],
        leitweg_valid=leitweg_valid(leitweg),
        org_unit=route.org_unit if route and result.accepted else None,
    )
    if not result.accepted:
        invoice.status = Invoice.Status.INVALID
    elif invoice.org_unit is None:
        invoice.status = Invoice.Status.UNROUTED
    else:
        invoice.status = Invoice.Status.IN_APPROVAL
    if result.accepted and invoice.number:
        twin = (
            Invoice.objects.filter(
                municipality=municipality,
                accepted=True,
                number=invoice.number,
                issue_date=invoice.issue_date,
                amount_due=invoice.amount_due,
                seller_name=invoice.seller_name,
            )
            .order_by("pk")
            .first()
        )
        if twin is not None:
            invoice.duplicate = Invoice.Duplicate.SUSPECTED
            invoice.duplicate_of = twin
    invoice.save()
    audit_record(
        municipality=municipality,
        action="einvoice.invoice.received",
        actor=user,
        target=invoice,
        data={
            "channel": channel,
            "sha256": digest,
            "accepted": result.accepted,
            "scenario": result.scenario,
            "errors": result.errors[:50],
            "duplicate_of": invoice.duplicate_of_id,
        },
    )
    if invoice.status == Invoice.Status.IN_APPROVAL:
        _approval_start(invoice, user=user)
    if invoice.status == Invoice.Status.INVALID:
        _rejection_queue(invoice)
    return invoice


def approval_process_ensure(*, municipality: Municipality) -> None:
    """Deploy the shipped approval process for a municipality that has none."""
    if ProcessVersion.objects.filter(
        municipality=municipality, definition__key=PROCESS_KEY, is_default=True
    ).exists():
        return
    from pathlib import Path

    source = (Path(__file__).resolve().parent / "bpmn" / BPMN_FILE).read_bytes()
    workflow.process_deploy(municipality=municipality, files=[(BPMN_FILE, source)])


def extra_approval_cents(municipality: Municipality) -> int:
    return municipal_setting(municipality, "einvoice.extra_approval_eur") * 100


def _approval_start(invoice: Invoice, *, user: User | None) -> None:
    approval_process_ensure(municipality=invoice.municipality)
    amount = invoice.amount_due or Decimal(0)
    instance = workflow.instance_start(
        municipality=invoice.municipality,
        process_key=PROCESS_KEY,
        business_object=invoice,
        variables={
            "ordering_unit": invoice.org_unit_id,
            "invoice_number": invoice.number[:200],
            "amount_cents": int(amount * 100),
            "extra_approval_cents": extra_approval_cents(invoice.municipality),
        },
        started_by=user,
    )
    invoice.workflow_instance = instance
    invoice.save(update_fields=["workflow_instance", "updated_at"])


def invoice_route(*, invoice: Invoice, org_unit: OrgUnit, user: User) -> Invoice:
    """Send a valid invoice without a known Leitweg-ID to an org unit and start approval."""
    if not user_can(user=user, permission=MANAGE, org_unit=None):
        raise PermissionDenied()
    if org_unit.municipality_id != invoice.municipality_id:
        raise ValidationFailed(fields={"org_unit": [_("Unknown org unit.")]})
    with transaction.atomic():
        locked = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice.pk)
        if locked.status != Invoice.Status.UNROUTED:
            raise Conflict(_("This invoice has already been routed."))
        locked.org_unit = org_unit
        locked.status = Invoice.Status.IN_APPROVAL
        locked.save(update_fields=["org_unit", "status", "updated_at"])
        audit_record(
            municipality=locked.municipality,
            action="einvoice.invoice.routed",
            actor=user,
            target=locked,
            data={"org_unit": org_unit.pk},
        )
        _approval_start(locked, user=user)
    return locked


def open_step(invoice: Invoice) -> str | None:
    """The approval step waiting for a person, if any."""
    if invoice.workflow_instance_id is None:
        return None
    element = (
        UserTask.objects.filter(
            instance_id=invoice.workflow_instance_id, status=UserTask.Status.OPEN
        )
        .values_list("element_id", flat=True)
        .first()
    )
    for step, (task_element, _field, _comment) in STEP_TASKS.items():
        if task_element == element:
            return str(step)
    return None


def invoice_decide(
    *,
    invoice: Invoice,
    user: User,
    step: str,
    approved: bool,
    comment: str = "",
) -> Invoice:
    """One person's check of one approval step (four-eyes principle).

    The person needs ``einvoice.approve_invoice`` in the invoice's org unit and may not
    have signed another step of the same invoice (``PermissionDenied`` code
    ``four_eyes``). A "no" needs a reason and rejects the invoice; the seller is told.
    Exactly one of two concurrent decisions on a step wins (``Conflict``).
    """
    if step not in STEP_TASKS:
        raise ValidationFailed(fields={"step": [_("Unknown approval step.")]})
    comment = (comment or "").strip()
    if not approved and not comment:
        raise ValidationFailed(fields={"comment": [_("Please give the reason for the rejection.")]})
    if len(comment) > 2000:
        raise ValidationFailed(fields={"comment": [_("At most 2000 characters.")]})
    with transaction.atomic():
        locked = (
            Invoice.objects.select_for_update(of=("self",))
            .select_related("org_unit", "municipality")
            .get(pk=invoice.pk)
        )
        if not user_can(user=user, permission=APPROVE, org_unit=locked.org_unit):
            raise PermissionDenied()
        if locked.status != Invoice.Status.IN_APPROVAL or open_step(locked) != step:
            raise Conflict(_("This step is not open (any more)."), code="step_closed")
        if Approval.objects.filter(invoice=locked, user=user).exists():
            raise PermissionDenied(
                _(
                    "Four-eyes principle: you have already checked this invoice, "
                    "so someone else must do this."
                ),
                code="four_eyes",
            )
        element, field, comment_field = STEP_TASKS[step]
        task = UserTask.objects.get(
            instance_id=locked.workflow_instance_id, element_id=element, status=UserTask.Status.OPEN
        )
        workflow.user_task_complete(
            task=task, user=user, data={field: approved, comment_field: comment}
        )
        Approval.objects.create(
            municipality=locked.municipality,
            invoice=locked,
            step=step,
            user=user,
            approved=approved,
            comment=comment,
        )
        if not approved:
            locked.status = Invoice.Status.REJECTED
            locked.rejection_reason = comment
        elif open_step(locked) is None:
            locked.status = Invoice.Status.APPROVED
        locked.save(update_fields=["status", "rejection_reason", "updated_at"])
        audit_record(
            municipality=locked.municipality,
            action="einvoice.invoice.decided",
            actor=user,
            target=locked,
            data={"step": step, "approved": approved, "status": locked.status},
        )
    return locked


def invoice_duplicate_resolve(
    *, invoice: Invoice, user: User, distinct: bool, reason: str = ""
) -> Invoice:
    """A person decides on a probable duplicate: not a duplicate (goes on), or a
    duplicate (rejected, the seller is told)."""
    with transaction.atomic():
        locked = (
            Invoice.objects.select_for_update(of=("self",))
            .select_related("org_unit", "municipality")
            .get(pk=invoice.pk)
        )
        if not user_can(user=user, permission=APPROVE, org_unit=locked.org_unit):
            raise PermissionDenied()
        if locked.duplicate != Invoice.Duplicate.SUSPECTED:
            raise Conflict(_("This invoice is not marked as a probable duplicate."))
        if distinct:
            locked.duplicate = Invoice.Duplicate.DISTINCT
            locked.save(update_fields=["duplicate", "updated_at"])
        else:
            locked.status = Invoice.Status.REJECTED
            locked.rejection_reason = (reason or "").strip()[:2000] or str(
                _("The invoice duplicates invoice %(number)s already received.")
                % {"number": locked.number}
            )
            locked.save(update_fields=["status", "rejection_reason", "updated_at"])
            if locked.workflow_instance is not None:
                workflow.instance_cancel(
                    instance=locked.workflow_instance, user=None, reason="duplicate"
                )
            _rejection_queue(locked)
        audit_record(
            municipality=locked.municipality,
            action="einvoice.invoice.duplicate_resolved",
            actor=user,
            target=locked,
            data={"distinct": distinct},
        )
    return locked


def _rejection_queue(invoice: Invoice) -> None:
    from rathaus.einvoice import tasks

    invoice_id = invoice.pk
    transaction.on_commit(lambda: tasks.rejection_mail_send.enqueue(invoice_id=invoice_id))


def rejection_recipient(invoice: Invoice) -> str:
    """Where the rejection goes: the sending address, else the seller's contact."""
    if invoice.sender:
        return invoice.sender
    seller = (invoice.data or {}).get("seller") or {}
    return (seller.get("contact") or {}).get("email") or ""


def payment_order_issue(*, invoice: Invoice, now: datetime | None = None) -> Invoice:
    """Record the payment order after the last approval (the process's service task)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice.pk)
        if locked.payment_ordered_at is None:
            locked.payment_ordered_at = now
            locked.status = Invoice.Status.APPROVED
            locked.save(update_fields=["payment_ordered_at", "status", "updated_at"])
            audit_record(
                municipality=locked.municipality,
                action="einvoice.invoice.payment_ordered",
                target=locked,
                data={"amount": str(locked.amount_due), "currency": locked.currency},
            )
    return locked


# --- export -------------------------------------------------------------------------

EXPORT_COLUMNS = [
    "invoice_id",
    "invoice_number",
    "issue_date",
    "due_date",
    "seller_name",
    "seller_vat_id",
    "leitweg_id",
    "org_unit",
    "currency",
    "vat_category",
    "vat_rate",
    "taxable_amount",
    "vat_amount",
    "amount_due",
    "iban",
    "remittance",
    "sha256",
]


def _export_rows(invoices: list[Invoice]) -> list[dict[str, str]]:
    rows = []
    for invoice in invoices:
        model = invoice.data or {}
        payment = model.get("payment") or {}
        breakdown = model.get("vat_breakdown") or [{}]
        for vat in breakdown:
            rows.append(
                {
                    "invoice_id": str(invoice.pk),
                    "invoice_number": invoice.number,
                    "issue_date": invoice.issue_date.isoformat() if invoice.issue_date else "",
                    "due_date": invoice.due_date.isoformat() if invoice.due_date else "",
                    "seller_name": invoice.seller_name,
                    "seller_vat_id": invoice.seller_vat_id,
                    "leitweg_id": invoice.leitweg_id,
                    "org_unit": invoice.org_unit.code if invoice.org_unit else "",
                    "currency": invoice.currency,
                    "vat_category": vat.get("category", ""),
                    "vat_rate": vat.get("rate", ""),
                    "taxable_amount": vat.get("taxable", ""),
                    "vat_amount": vat.get("amount", ""),
                    "amount_due": str(invoice.amount_due or ""),
                    "iban": payment.get("iban", ""),
                    "remittance": payment.get("remittance", ""),
                    "sha256": invoice.sha256,
                }
            )
    return rows


def _csv_safe(value: str) -> str:
    # Spreadsheet formula injection: a cell never starts with = + - @ from a supplier.
    if value[:1] in ("=", "+", "@", "\t", "\r") or (value[:1] == "-" and not _numeric(value)):
        return "'" + value
    return value


def _numeric(value: str) -> bool:
    try:
        Decimal(value)
    except InvalidOperation:
        return False
    return True


def export_create(
    *,
    municipality: Municipality,
    user: User,
    invoice_ids: list[int] | None = None,
) -> Export:
    """Export approved invoices to accounting: CSV and JSON, one row per invoice and VAT rate.

    Without ``invoice_ids``: every approved invoice not exported yet. With ids: exactly
    those (approved ones; already exported ones again = a re-export). Marks them exported.
    Raises ``ValidationFailed`` (code ``nothing``) when there is nothing to export.
    """
    if not user_can(user=user, permission=EXPORT, org_unit=None):
        raise PermissionDenied()
    with transaction.atomic():
        query = Invoice.objects.select_for_update(of=("self",)).filter(
            municipality=municipality, status=Invoice.Status.APPROVED
        )
        if invoice_ids is None:
            query = query.filter(exported_at__isnull=True)
        else:
            query = query.filter(pk__in=invoice_ids)
        invoices = list(query.order_by("pk"))
        if not invoices or (invoice_ids is not None and len(invoices) != len(set(invoice_ids))):
            raise ValidationFailed(_("There are no approved invoices to export."), code="nothing")
        unit_ids = {i.org_unit_id for i in invoices}
        units = {u.pk: u for u in OrgUnit.objects.filter(pk__in=unit_ids)}
        for invoice in invoices:
            if invoice.org_unit_id in units:
                invoice.org_unit = units[invoice.org_unit_id]
        rows = _export_rows(invoices)
        buffer = io.StringIO()
        writer = csv.DictWriter(
            buffer, fieldnames=EXPORT_COLUMNS, delimiter=";", lineterminator="\r\n"
        )
        writer.writeheader()
        for row in rows:
            writer.writerow({key: _csv_safe(value) for key, value in row.items()})
        export = Export.objects.create(
            municipality=municipality,
            created_by=user,
            csv=buffer.getvalue(),
            json=json.dumps(
                {"columns": EXPORT_COLUMNS, "rows": rows}, ensure_ascii=False, indent=1
            ),
        )
        export.invoices.set(invoices)
        now = timezone.now()
        Invoice.objects.filter(pk__in=[i.pk for i in invoices]).update(
            exported_at=now, updated_at=now
        )
        audit_record(
            municipality=municipality,
            action="einvoice.export.created",
            actor=user,
            target=export,
            data={"invoices": [i.pk for i in invoices]},
        )
    return export


# --- register ---------------------------------------------------------------------


def leitweg_route_add(
    *, municipality: Municipality, user: User, leitweg_id: str, org_unit: OrgUnit, label: str = ""
) -> LeitwegRoute:
    """Add a Leitweg-ID of the municipality to the register (check digits must hold)."""
    if not user_can(user=user, permission=MANAGE, org_unit=None):
        raise PermissionDenied()
    value = (leitweg_id or "").strip().upper()
    if not leitweg_valid(value):
        raise ValidationFailed(
            fields={"leitweg_id": [_("This is not a valid Leitweg-ID (syntax or check digits).")]}
        )
    if org_unit.municipality_id != municipality.pk:
        raise ValidationFailed(fields={"org_unit": [_("Unknown org unit.")]})
    try:
        with transaction.atomic():
            route = LeitwegRoute.objects.create(
                municipality=municipality, leitweg_id=value, org_unit=org_unit, label=label[:200]
            )
            audit_record(
                municipality=municipality,
                action="einvoice.leitweg.added",
                actor=user,
                target=route,
                data={"leitweg_id": value, "org_unit": org_unit.pk},
            )
    except IntegrityError as error:
        raise ValidationFailed(
            fields={"leitweg_id": [_("This Leitweg-ID is already registered.")]}
        ) from error
    return route


# --- reminders --------------------------------------------------------------------

REMIND_DAYS_BEFORE = 3


def skonto_deadline(invoice: Invoice) -> date | None:
    """The earliest cash-discount deadline (issue date + days of BT-20's #SKONTO#)."""
    if invoice.issue_date is None:
        return None
    days = []
    for term in ((invoice.data or {}).get("payment") or {}).get("skonto") or []:
        try:
            days.append(int(term.get("days", "")))
        except ValueError:
            continue
    return invoice.issue_date + timedelta(days=min(days)) if days else None


def reminders_send(*, today: date | None = None) -> int:
    """Remind the ordering unit of invoices in approval whose due date or cash-discount
    deadline is at most three days away; each deadline once. Returns reminders sent."""
    from rathaus.einvoice import selectors
    from rathaus.notifications.services import notify

    today = today or timezone.localdate()
    horizon = today + timedelta(days=REMIND_DAYS_BEFORE)
    sent = 0
    pending = Invoice.objects.select_related("municipality", "org_unit").filter(
        status__in=[Invoice.Status.IN_APPROVAL, Invoice.Status.UNROUTED]
    )
    for invoice in pending.iterator():
        deadlines = [
            (Reminder.Kind.DUE, invoice.due_date),
            (Reminder.Kind.SKONTO, skonto_deadline(invoice)),
        ]
        for kind, deadline in deadlines:
            if deadline is None or not (today <= deadline <= horizon):
                continue
            with transaction.atomic():
                _reminder, created = Reminder.objects.get_or_create(
                    municipality=invoice.municipality, invoice=invoice, kind=kind, deadline=deadline
                )
                if not created:
                    continue
                for recipient in selectors.approvers(invoice):
                    notify(
                        recipient=recipient,
                        event="einvoice.deadline",
                        key=f"{invoice.pk}:{kind}:{deadline.isoformat()}",
                        template="einvoice_deadline",
                        context={
                            "number": invoice.number,
                            "seller": invoice.seller_name,
                            "kind": str(kind),
                            "deadline": deadline.isoformat(),
                        },
                        url=f"/verwaltung/e-rechnungen/{invoice.pk}/",
                    )
                sent += 1
    return sent


# --- retention --------------------------------------------------------------------


def retention_purge(*, today: date | None = None) -> int:
    """Delete invoices whose retention period has ended, with their approvals.

    The period (setting ``einvoice.retention_years``, 10 by default, at least 8 as tax law
    asks) runs from the end of the calendar year of receipt (§ 147 (4) AO). Invoices still
    in approval are kept whatever their age. Returns the number deleted.
    """
    today = today or timezone.localdate()
    deleted = 0
    for municipality in Municipality.objects.all():
        years = municipal_setting(municipality, "einvoice.retention_years")
        # Received in year Y: kept until the end of Y + years.
        last_year = today.year - years - 1
        old = Invoice.objects.filter(
            municipality=municipality, created_at__year__lte=last_year
        ).exclude(status__in=[Invoice.Status.IN_APPROVAL, Invoice.Status.UNROUTED])
        ids = list(old.values_list("pk", flat=True))
        if not ids:
            continue
        with transaction.atomic():
            Invoice.objects.filter(duplicate_of_id__in=ids).update(duplicate_of=None)
            Approval.objects.filter(invoice_id__in=ids).delete()
            Export.invoices.through.objects.filter(invoice_id__in=ids).delete()
            _count, _detail = Invoice.objects.filter(pk__in=ids).delete()
            deleted += len(ids)
            audit_record(
                municipality=municipality,
                action="einvoice.retention.purged",
                data={"invoices": len(ids), "up_to_year": last_year},
            )
    return deleted


# --- e-mail channel -----------------------------------------------------------------

INVOICE_SUFFIXES = (".xml", ".pdf")


def mail_receive(*, municipality: Municipality, raw: bytes, sender: str) -> Invoice:
    """Receive one e-mail: exactly one invoice attachment (XML or ZUGFeRD PDF) per mail.

    The whole mail counts against ``einvoice.email_max_mb``. Raises ``ValidationFailed``
    (codes ``too_large``, ``no_invoice``, ``several_invoices``) so the SMTP endpoint can
    refuse the mail with the reason; nothing is stored then.
    """
    import email
    import email.policy

    limit = max_bytes(municipality, Invoice.Channel.EMAIL)
    if len(raw) > limit:
        raise ValidationFailed(
            _("The e-mail is larger than %(mb)s MB.") % {"mb": limit // 2**20}, code="too_large"
        )
    message = email.message_from_bytes(raw, policy=email.policy.default)
    found: list[tuple[str, bytes]] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        name = part.get_filename() or ""
        content_type = part.get_content_type()
        if name.lower().endswith(INVOICE_SUFFIXES) or content_type in (
            "application/xml",
            "text/xml",
            "application/pdf",
        ):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and payload:
                found.append((name or "invoice.xml", payload))
    if not found:
        raise ValidationFailed(
            _("The e-mail carries no invoice (XML or PDF attachment)."), code="no_invoice"
        )
    if len(found) > 1:
        raise ValidationFailed(_("Please send one invoice per e-mail."), code="several_invoices")
    name, payload = found[0]
    invoice, _created = invoice_receive(
        municipality=municipality,
        data=payload,
        file_name=name,
        channel=Invoice.Channel.EMAIL,
        sender=sender,
    )
    return invoice
