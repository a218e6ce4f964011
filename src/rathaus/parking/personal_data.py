"""What parking management holds about a citizen: their reservations (with number
plates). Closing the account deletes them; nothing is kept."""

from typing import Any

from django.utils.translation import gettext_lazy as _

from rathaus.parking.models import Reservation
from rathaus.privacy import personal_data
from rathaus.privacy.personal_data import Erasure, Kept


@personal_data.register
class ParkingData:
    key = "parking.reservations"
    title = _("Parking reservations")

    def export(self, user: Any) -> list[dict[str, Any]]:
        return [
            {
                "site": r.space.site.name,
                "space": r.space.external_id,
                "starts_at": r.starts_at,
                "ends_at": r.ends_at,
                "plate": r.plate,
                "status": r.status,
                "checked_in_at": r.checked_in_at,
            }
            for r in Reservation.objects.filter(citizen=user)
            .select_related("space__site")
            .order_by("starts_at")
        ]

    def erase(self, user: Any) -> Erasure:
        deleted, _counts = Reservation.objects.filter(citizen=user).delete()
        return Erasure(deleted=deleted, kept=[])

    def retained(self, user: Any) -> list[Kept]:
        return []
