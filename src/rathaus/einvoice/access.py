"""The one place that scopes invoices to who is asking.

Another municipality's invoice is 404; an invoice of the municipality that the staff
member may neither receive (whole municipality) nor approve (its unit) is 403.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from rathaus.core.access import is_staff_of, one_or_404
from rathaus.core.models import Municipality
from rathaus.einvoice.models import APPROVE, EXPORT, RECEIVE, Export, Invoice
from rathaus.organisation.permissions import user_can


def invoice_for_staff(*, user: Any, municipality: Municipality, invoice_id: int) -> Invoice:
    """The invoice, or 404 (other tenant, unknown) / 403 (not theirs)."""
    if not is_staff_of(user, municipality):
        raise Http404
    invoice = one_or_404(
        Invoice.objects.select_related("org_unit", "municipality", "duplicate_of").filter(
            municipality=municipality, pk=invoice_id
        )
    )
    if user_can(user=user, permission=RECEIVE, org_unit=None):
        return invoice
    if invoice.org_unit is not None and user_can(
        user=user, permission=APPROVE, org_unit=invoice.org_unit
    ):
        return invoice
    raise PermissionDenied


def export_for_staff(*, user: Any, municipality: Municipality, export_id: int) -> Export:
    if not is_staff_of(user, municipality):
        raise Http404
    export = one_or_404(Export.objects.filter(municipality=municipality, pk=export_id))
    if not user_can(user=user, permission=EXPORT, org_unit=None):
        raise PermissionDenied
    return export
