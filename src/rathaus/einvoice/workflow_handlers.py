"""Handlers the shipped approval process calls (bpmn/einvoice_approval.bpmn, and the
workflow app's invoice_approval.bpmn that names the same handlers).

Each gets the ``Invoice`` as the instance's business object; anything else is a
permanent failure (an incident for an administrator), never a silent success.
"""

from __future__ import annotations

from typing import Any

from rathaus.einvoice import services
from rathaus.einvoice.models import Invoice
from rathaus.workflow.handlers import HandlerContext, PermanentHandlerError, workflow_handler


def _invoice(context: HandlerContext) -> Invoice:
    target = context.business_object
    if not isinstance(target, Invoice) or target.municipality_id != context.municipality.pk:
        raise PermanentHandlerError("the business object is not an invoice of this tenant")
    return target


@workflow_handler("einvoice.payment_order", retries=5, backoff_seconds=60)
def payment_order(context: HandlerContext, *, invoice_number: str = "") -> dict[str, Any]:
    """Record the payment order of an approved invoice (it is exported to accounting)."""
    invoice = services.payment_order_issue(invoice=_invoice(context))
    return {
        "invoice": invoice.pk,
        "ordered_at": invoice.payment_ordered_at.isoformat() if invoice.payment_ordered_at else "",
    }


@workflow_handler("einvoice.reject", retries=5, backoff_seconds=60)
def reject(context: HandlerContext, *, invoice_number: str = "") -> dict[str, Any]:
    """Tell the seller by e-mail that the invoice was rejected, with the reason."""
    from rathaus.einvoice import tasks

    invoice = _invoice(context)
    tasks.rejection_mail_send.enqueue(invoice_id=invoice.pk)
    return {"invoice": invoice.pk, "recipient": bool(services.rejection_recipient(invoice))}
