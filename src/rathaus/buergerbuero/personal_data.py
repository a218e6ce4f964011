"""What the Bürgerbüro holds about a signed-in citizen: their appointments."""

from typing import Any

from django.utils.translation import gettext_lazy as _

from rathaus.buergerbuero.models import Appointment
from rathaus.privacy import personal_data
from rathaus.privacy.personal_data import Erasure, Kept


@personal_data.register
class AppointmentsData:
    key = "buergerbuero.appointments"
    title = _("Appointments at the citizen office")

    def export(self, user: Any) -> list[dict[str, Any]]:
        return [
            {
                "code": a.code,
                "office": a.office.location.name_de,
                "services": [s.name_de for s in a.services.all()],
                "start": a.start,
                "end": a.end,
                "status": a.status,
                "name": a.name,
                "email": a.email,
                "phone": a.phone,
                "created_at": a.created_at,
            }
            for a in Appointment.objects.filter(citizen=user)
            .select_related("office__location")
            .prefetch_related("services")
            .order_by("start", "pk")
        ]

    def erase(self, user: Any) -> Erasure:
        # The visit stays for the statistics; who it was goes.
        anonymised = Appointment.objects.filter(citizen=user).update(
            name="", email="", phone="", citizen=None, client_ip=None, anonymised=True
        )
        return Erasure(anonymised=anonymised, kept=self.retained(user))

    def retained(self, user: Any) -> list[Kept]:
        if not Appointment.objects.filter(citizen=user).exists():
            return []
        return [
            Kept(
                what=_("Time, office and services of your appointments, without your name"),
                why=_("They are counted in the office's statistics."),
            )
        ]
