"""How long charging data is kept.

Charge detail records are accounting records (§ 147 AO, § 257 HGB: ten years); the
token that links a record to a person is only needed while the session can be billed
and disputed, so it is removed after 400 days and the record stays anonymous. Meter
readings only back a bill (400 days); station events and commands are operations
data (two years, one year).
"""

from typing import Any

from django.db.models import QuerySet

from rathaus.charging.models import ChargingSession, Command, MeterSample, StationEvent
from rathaus.privacy import retention

PSEUDONYMISE_DAYS = 400
RECORD_DAYS = 10 * 365


def _unlink(sessions: QuerySet[Any]) -> int:
    return sessions.exclude(id_tag="", token=None).update(id_tag="", token=None)


retention.register(
    retention.RetentionRule(
        key="charging.session_tokens",
        model=ChargingSession,
        date_field="stopped_at",
        default_days=PSEUDONYMISE_DAYS,
        action="anonymise",
        anonymise=_unlink,
        only={"status": ChargingSession.Status.FINISHED},
    )
)
retention.register(
    retention.RetentionRule(
        key="charging.sessions",
        model=ChargingSession,
        date_field="stopped_at",
        default_days=RECORD_DAYS,
        action="delete",
        only={"status": ChargingSession.Status.FINISHED},
    )
)
retention.register(
    retention.RetentionRule(
        key="charging.meter_samples",
        model=MeterSample,
        date_field="timestamp",
        default_days=PSEUDONYMISE_DAYS,
        action="delete",
        tenant_field="session__municipality",
    )
)
retention.register(
    retention.RetentionRule(
        key="charging.station_events",
        model=StationEvent,
        date_field="created_at",
        default_days=2 * 365,
        action="delete",
    )
)
retention.register(
    retention.RetentionRule(
        key="charging.commands",
        model=Command,
        date_field="created_at",
        default_days=365,
        action="delete",
    )
)
