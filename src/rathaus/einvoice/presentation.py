"""The readable view of an invoice (HTML and PDF) and its report in plain words."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from rathaus.applications.pdf import render_lines
from rathaus.einvoice.models import Invoice

#: Lines shown in the page and PDF; the full invoice is in the original file.
LINES_SHOWN = 500


def _step_label(step: str) -> str:
    if step == "xml":
        return _("Reading the file")
    if step == "pdf":
        return _("Reading the PDF")
    if step == "scenario":
        return _("Choosing the rule set")
    if step == "xsd":
        return _("XML schema")
    if "XRechnung" in step:
        return _("XRechnung rules (German CIUS)")
    if step:
        return _("EN 16931 rules")
    return ""


def _level_label(level: str) -> str:
    return {
        "error": _("Error"),
        "warning": _("Warning"),
        "information": _("Note"),
    }.get(level, level)


def report_lines(invoice: Invoice) -> list[dict[str, str]]:
    """The validation findings, errors first, each with a plain label."""
    order = {"error": 0, "warning": 1, "information": 2}
    messages = sorted(
        (invoice.report or {}).get("messages", []), key=lambda m: order.get(m.get("level", ""), 3)
    )
    return [
        {
            "level": m.get("level", ""),
            "level_label": _level_label(m.get("level", "")),
            "code": m.get("code", ""),
            "text": m.get("text", ""),
            "location": m.get("location", ""),
            "step": _step_label(m.get("step", "")),
        }
        for m in messages
    ]


def verdict(invoice: Invoice) -> str:
    report = invoice.report or {}
    errors = sum(1 for m in report.get("messages", []) if m.get("level") == "error")
    warnings = sum(1 for m in report.get("messages", []) if m.get("level") == "warning")
    if invoice.accepted:
        if warnings:
            return _(
                "The invoice meets the XRechnung rules (%(scenario)s). There are %(warnings)s "
                "warnings: they do not stop the invoice, but are worth a look."
            ) % {"scenario": invoice.scenario, "warnings": warnings}
        return _("The invoice meets the XRechnung rules (%(scenario)s) without any finding.") % {
            "scenario": invoice.scenario
        }
    if not invoice.scenario:
        return _(
            "The file is not an XRechnung e-invoice we can check, so it was rejected. "
            "The reason is listed below."
        )
    return _(
        "The invoice breaks %(errors)s rules of the XRechnung standard (%(scenario)s) and was "
        "rejected. The seller has been told."
    ) % {"errors": errors, "scenario": invoice.scenario}


def invoice_view(invoice: Invoice) -> dict[str, Any]:
    model = invoice.data or {}
    lines = model.get("lines") or []
    return {
        "model": model,
        "lines": lines[:LINES_SHOWN],
        "lines_more": max(0, len(lines) - LINES_SHOWN),
        "report": report_lines(invoice),
        "verdict": verdict(invoice),
    }


def invoice_pdf(invoice: Invoice) -> bytes:
    """The readable view as PDF (language of the request)."""
    context = {"invoice": invoice, "view": invoice_view(invoice)}
    markup = render_to_string("einvoice/pdf/view.txt", context)
    title = _("Invoice %(number)s") % {"number": invoice.number or invoice.file_name}
    return render_lines(
        markup,
        title=title,
        header_text=f"{invoice.municipality.name} - {_('E-invoice')}",
        footer_text=f"SHA-256 {invoice.sha256[:16]}…",
        created=timezone.now(),
    )
