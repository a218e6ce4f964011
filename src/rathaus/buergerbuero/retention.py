"""How long the Bürgerbüro keeps personal data.

Statistics need times, services and outcomes, not people: after the period, appointments
lose name, e-mail, mobile number, account link and network address, tickets their mobile
number. The rows (and so every statistic) stay. Expired and cancelled reservations that
never became a visit are deleted after a month.
"""

from typing import Any

from django.db.models import QuerySet

from rathaus.buergerbuero.models import Appointment, Ticket
from rathaus.privacy import retention

APPOINTMENT_DAYS = 30
TICKET_DAYS = 7
RESERVATION_DAYS = 30


def _appointments_anonymise(queryset: QuerySet[Any]) -> int:
    return int(
        queryset.filter(anonymised=False).update(
            name="", email="", phone="", citizen=None, client_ip=None, anonymised=True
        )
    )


def _tickets_anonymise(queryset: QuerySet[Any]) -> int:
    return int(queryset.exclude(phone="").update(phone=""))


retention.register(
    retention.RetentionRule(
        key="buergerbuero.appointments",
        model=Appointment,
        date_field="end",
        default_days=APPOINTMENT_DAYS,
        action="anonymise",
        anonymise=_appointments_anonymise,
        only={"anonymised": False},
    )
)
retention.register(
    retention.RetentionRule(
        key="buergerbuero.tickets",
        model=Ticket,
        date_field="arrived_at",
        default_days=TICKET_DAYS,
        action="anonymise",
        anonymise=_tickets_anonymise,
    )
)
retention.register(
    retention.RetentionRule(
        key="buergerbuero.reservations",
        model=Appointment,
        date_field="created_at",
        default_days=RESERVATION_DAYS,
        action="delete",
        only={"status__in": ["expired", "cancelled"], "ticket__isnull": True},
    )
)
