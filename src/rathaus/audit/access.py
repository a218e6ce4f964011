"""Who may read the audit trail, and the one place that scopes an event to its tenant."""

from typing import Any

from django.core.exceptions import PermissionDenied

from rathaus.audit.models import AuditEvent, chain_key
from rathaus.core.access import is_staff_of, one_or_404
from rathaus.core.models import Municipality

VIEW_PERMISSION = "audit.view_auditevent"
EXPORT_PERMISSION = "audit.export_auditevent"


def auditor_check(*, user: Any, municipality: Municipality, permission: str) -> None:
    """Raise ``PermissionDenied`` unless ``user`` is staff of ``municipality`` with ``permission``.

    Platform operators (staff without a municipality) are refused too: a tenant's trail
    records its citizens' personal data, which the municipality controls, not the
    operator. Operators check integrity with ``rathaus audit verify`` instead.
    """
    if not (is_staff_of(user, municipality) and user.has_perm(permission)):
        raise PermissionDenied


def audit_event_for_auditor(*, user: Any, municipality: Municipality, event_id: int) -> AuditEvent:
    """An event of ``municipality``'s chain that ``user`` may read; 403 or 404 otherwise."""
    auditor_check(user=user, municipality=municipality, permission=VIEW_PERMISSION)
    return one_or_404(
        AuditEvent.objects.filter(
            pk=event_id, municipality=municipality, chain=chain_key(municipality.pk)
        )
    )
