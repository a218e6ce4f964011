"""Audit events about a person: exported on request, never erased.

Lives in the privacy app because the audit app sits below it and knows nothing of
the registry."""

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rathaus.audit.models import AuditEvent
from rathaus.privacy import personal_data
from rathaus.privacy.personal_data import Erasure, Kept


def _events(user: Any) -> Any:
    return AuditEvent.objects.filter(
        Q(actor_id=user.pk) | Q(target_type=user._meta.label_lower, target_id=str(user.pk))
    ).order_by("chain", "sequence")


@personal_data.register
class AuditData:
    key = "audit.events"
    title = _("Security log entries about you")

    def export(self, user: Any) -> list[dict[str, Any]]:
        return [
            {"time": e.occurred_at, "action": e.action, "ip": e.ip, "details": e.data}
            for e in _events(user).iterator(chunk_size=500)
        ]

    def erase(self, user: Any) -> Erasure:
        return Erasure(kept=self.retained(user))

    def retained(self, user: Any) -> list[Kept]:
        return [
            Kept(
                what=_("Security log entries (sign-ins, changes to your account)"),
                why=_(
                    "The tamper-evident log proves how the administration handled data; "
                    "entries cannot be removed without breaking it (Art. 17 (3) (b) and (e) GDPR)."
                ),
            )
        ]
