"""Factories of the audit app: events are appended through the real writer."""

from datetime import datetime
from typing import Any
from unittest import mock

import factory

from rathaus.audit import services
from rathaus.audit.models import AuditEvent
from tests.factories import MunicipalityFactory

AUDITOR_PERMISSIONS = ["audit.view_auditevent", "audit.export_auditevent"]


class AuditEventFactory(factory.Factory):
    """``audit_record`` with defaults; ``occurred_at=`` appends as if at that moment.

    The writer stamps events with the current time itself (that is what makes the chain
    trustworthy), so a past time is given by holding the clock for the one call.
    """

    class Meta:
        model = AuditEvent

    municipality = factory.SubFactory(MunicipalityFactory)
    action = "accounts.login.succeeded"

    @classmethod
    def _create(cls, model_class: type[AuditEvent], *args: Any, **kwargs: Any) -> AuditEvent:
        occurred_at: datetime | None = kwargs.pop("occurred_at", None)
        if occurred_at is None:
            return services.audit_record(**kwargs)
        with mock.patch.object(services.timezone, "now", return_value=occurred_at):
            return services.audit_record(**kwargs)

    @classmethod
    def _build(cls, model_class: type[AuditEvent], *args: Any, **kwargs: Any) -> AuditEvent:
        raise NotImplementedError("audit events exist only as appended rows; use create()")
