"""What the online applications hold about a citizen, for export and for closing the account.

Drafts without a payment are deleted with the account; submitted applications (and drafts
with a payment) are the municipality's case files and stay for the retention period.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _

from rathaus.applications.models import Application, Document
from rathaus.applications.retention import CASE_DAYS
from rathaus.privacy import personal_data
from rathaus.privacy.personal_data import Erasure, Kept


@personal_data.register
class ApplicationsData:
    key = "applications.applications"
    title = _("Online applications")

    def export(self, user: Any) -> list[dict[str, Any]]:
        applications = (
            Application.objects.filter(citizen=user)
            .select_related("service", "form_version", "form_version__definition")
            .prefetch_related("documents", "payments", "timeline")
            .order_by("created_at", "pk")
        )
        return [
            {
                "service": application.service.name_de,
                "form": f"{application.form_version.definition.key} "
                f"v{application.form_version.number}",
                "reference": application.reference,
                "status": application.status,
                "created_at": application.created_at,
                "submitted_at": application.submitted_at,
                "data": application.data,
                "decision": application.decision,
                "documents": [
                    {"name": d.original_name, "kind": d.kind, "size": d.size, "sha256": d.sha256}
                    for d in application.documents.all()
                ],
                "payments": [
                    {
                        "amount_cents": p.amount_cents,
                        "status": p.status,
                        "provider": p.provider,
                        "reference": p.provider_reference,
                        "paid_at": p.paid_at,
                    }
                    for p in application.payments.all()
                ],
                "timeline": [
                    {"at": e.created_at, "kind": e.kind, "note": e.note}
                    for e in application.timeline.all()
                    if e.public
                ],
            }
            for application in applications
        ]

    def erase(self, user: Any) -> Erasure:
        drafts = Application.objects.filter(
            citizen=user, status=Application.Status.DRAFT, payments__isnull=True
        )
        # Documents go first, one by one, so their files leave the storage (signals.py).
        for document in Document.objects.filter(application__in=drafts):
            document.delete()
        deleted, _counts = drafts.delete()
        return Erasure(deleted=deleted, kept=self.retained(user))

    def retained(self, user: Any) -> list[Kept]:
        kept = Application.objects.filter(citizen=user).exclude(
            status=Application.Status.DRAFT, payments__isnull=True
        )
        if not kept.exists():
            return []
        return [
            Kept(
                what=_("Your submitted applications, with their documents and payments"),
                why=_(
                    "They are the case files of the town hall's decisions, which it must "
                    "keep by records and budget law."
                ),
                until=_("%(years)d years after submission") % {"years": CASE_DAYS // 365},
            )
        ]
