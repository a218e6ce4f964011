"""What the terminal pickup holds about a citizen account, for export and erasure.

Orders linked to the account are exported with their timeline. On closing the account,
orders that are finished lose the link to the account (the handover record stays with the
office, see retention.py); the terminal data of finished orders is already gone.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _

from rathaus.idpickup.models import IdOrder
from rathaus.privacy import personal_data
from rathaus.privacy.personal_data import Erasure, Kept

FINISHED = [
    IdOrder.Status.PICKED_UP,
    IdOrder.Status.PICKED_UP_COUNTER,
    IdOrder.Status.CANCELLED,
]


@personal_data.register
class IdPickupData:
    key = "idpickup.orders"
    title = _("ID document pickup")

    def export(self, user: Any) -> list[dict[str, Any]]:
        result = []
        for order in (
            IdOrder.objects.filter(citizen=user)
            .select_related("location")
            .prefetch_related("transitions")
            .order_by("created_at", "pk")
        ):
            result.append(
                {
                    "booking_number": order.booking_number,
                    "kind": order.kind,
                    "status": order.status,
                    "given_name": order.given_name,
                    "family_name": order.family_name,
                    "date_of_birth": order.date_of_birth,
                    "location": order.location.name_de,
                    "terminal_pickup": order.terminal_opt_in,
                    "consent_at": order.consent_at,
                    "contact_channel": order.contact_channel,
                    "contact_address": order.contact_address,
                    "fingerprint_reference_stored": bool(order.fingerprint_ref),
                    "pickup_until": order.pickup_deadline,
                    "handed_over_at": order.handed_over_at,
                    "verification": order.verification,
                    "terminal_data_deleted_at": order.terminal_data_deleted_at,
                    "timeline": [
                        {"status": t.to_status, "at": t.at} for t in order.transitions.all()
                    ],
                }
            )
        return result

    def erase(self, user: Any) -> Erasure:
        unlinked = IdOrder.objects.filter(citizen=user, status__in=FINISHED).update(citizen=None)
        return Erasure(anonymised=unlinked, kept=self.retained(user))

    def retained(self, user: Any) -> list[Kept]:
        if not IdOrder.objects.filter(citizen=user).exclude(status__in=FINISHED).exists():
            return []
        return [
            Kept(
                what=_("ID documents that are still being produced or waiting for you"),
                why=_(
                    "The office must hand the document over to you; the order stays until "
                    "you picked it up."
                ),
            )
        ]
