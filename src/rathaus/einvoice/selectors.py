"""Reads of the e-invoice inbox."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet

from rathaus.accounts.models import User
from rathaus.core.models import Municipality
from rathaus.einvoice.models import APPROVE, RECEIVE, Invoice
from rathaus.organisation.permissions import units_where, user_can

if TYPE_CHECKING:
    pass


def invoices_for(*, user: Any, municipality: Municipality, status: str = "") -> QuerySet[Invoice]:
    """Invoices the staff member may see: all of the municipality with the receiving
    permission for the whole municipality, else those of units where they approve."""
    query = (
        Invoice.objects.filter(municipality=municipality)
        .select_related("org_unit")
        .defer("original", "xml", "data", "report")
    )
    if not user_can(user=user, permission=RECEIVE, org_unit=None):
        query = query.filter(org_unit__in=units_where(user=user, permission=APPROVE))
    if status:
        query = query.filter(status=status)
    return query


def approvers(invoice: Invoice) -> list[User]:
    """Active staff who may approve in the invoice's unit (for reminders)."""
    if invoice.org_unit is None:
        return []
    candidates = User.objects.filter(
        municipality_id=invoice.municipality_id, is_active=True, is_staff=True
    ).order_by("pk")[:200]
    return [
        u for u in candidates if user_can(user=u, permission=APPROVE, org_unit=invoice.org_unit)
    ]
