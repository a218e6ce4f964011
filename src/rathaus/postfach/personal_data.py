"""What the mailbox holds about a citizen, for export and for closing the account.

Notices (Bescheide) and their delivery records stay after the account is closed: they
prove when a decision took effect (retention in ``retention.py``). Everything else is
deleted with its files. The export leaves out the content of messages that need a
higher trust level than a basic sign-in: a data export must not bypass that protection.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _

from rathaus.accounts.trust import TrustLevel
from rathaus.postfach.models import Delivery, Message
from rathaus.postfach.retention import NOTICE_DAYS
from rathaus.privacy import personal_data
from rathaus.privacy.personal_data import Erasure, Kept


def _delivery(message: Message) -> dict[str, Any] | None:
    delivery: Delivery | None = getattr(message, "delivery", None)
    if delivery is None:
        return None
    return {
        "status": delivery.status,
        "formal": delivery.is_formal,
        "sent_at": delivery.sent_at,
        "announced_at": delivery.announced_at,
        "retrieved_at": delivery.retrieved_at,
        "deemed_delivered_on": delivery.deemed_delivered_on,
        "not_delivered_since": delivery.failed_at,
    }


@personal_data.register
class PostfachData:
    key = "postfach.messages"
    title = _("Mailbox")

    def export(self, user: Any) -> list[dict[str, Any]]:
        messages = (
            Message.objects.filter(citizen=user)
            .select_related("org_unit", "delivery")
            .prefetch_related("attachments")
            .order_by("created_at", "pk")
        )
        result = []
        for message in messages:
            protected = message.min_trust_level > TrustLevel.BASIC
            result.append(
                {
                    "direction": message.direction,
                    "kind": message.kind,
                    "org_unit": message.org_unit.name_de,
                    "reference": message.reference,
                    "created_at": message.created_at,
                    "opened_at": message.read_at,
                    "min_trust_level": message.min_trust_level,
                    "subject": None if protected else message.subject,
                    "text": (
                        str(_("Shown in your mailbox after a sign-in at the required level."))
                        if protected
                        else message.body
                    ),
                    "attachments": [
                        {"name": a.original_name, "size": a.size, "sha256": a.sha256}
                        for a in message.attachments.all()
                    ],
                    "delivery": _delivery(message),
                }
            )
        return result

    def erase(self, user: Any) -> Erasure:
        # Deleting through the ORM sends post_delete for each attachment, which removes
        # its file from storage after commit (signals.py).
        deleted, _counts = (
            Message.objects.filter(citizen=user).exclude(kind=Message.Kind.NOTICE).delete()
        )
        return Erasure(deleted=deleted, kept=self.retained(user))

    def retained(self, user: Any) -> list[Kept]:
        if not Message.objects.filter(citizen=user, kind=Message.Kind.NOTICE).exists():
            return []
        return [
            Kept(
                what=_(
                    "Notices (Bescheide) delivered to your mailbox, with their delivery records"
                ),
                why=_(
                    "The town hall must be able to prove when a notice was delivered "
                    "(§ 41 (2a) VwVfG) as long as it can be challenged and records law "
                    "requires it."
                ),
                until=_("%(years)d years after the notice was sent")
                % {"years": NOTICE_DAYS // 365},
            )
        ]
