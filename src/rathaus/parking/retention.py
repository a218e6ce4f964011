"""How long parking data is kept.

Reservations name a citizen and a number plate: they are needed to settle disputes about
a booking or a no-show, not longer; 90 days after the reserved time. Refused readings
are an operator's diagnostic log: 30 days. The occupancy history holds no personal data
and feeds the forecasts; two years are kept (the forecast uses the last eight weeks,
the rest serves planning).
"""

from rathaus.parking.models import Observation, Rejection, Reservation
from rathaus.privacy import retention

RESERVATION_DAYS = 90

retention.register(
    retention.RetentionRule(
        key="parking.reservations",
        model=Reservation,
        date_field="ends_at",
        default_days=RESERVATION_DAYS,
        action="delete",
    )
)
retention.register(
    retention.RetentionRule(
        key="parking.rejections",
        model=Rejection,
        date_field="received_at",
        default_days=30,
        action="delete",
    )
)
retention.register(
    retention.RetentionRule(
        key="parking.history",
        model=Observation,
        date_field="at",
        default_days=2 * 365,
        action="delete",
        tenant_field="site__municipality",
    )
)
