"""Fixtures of the workflow tests: an administration with roles, staff, test handlers."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from rathaus.accounts.models import User
from rathaus.core.models import Municipality
from rathaus.organisation.models import OrgUnit, Role
from rathaus.workflow import services
from rathaus.workflow.handlers import (
    HandlerContext,
    handler_unregister,
    handlers_load,
    workflow_handler,
)
from rathaus.workflow.models import ProcessInstance, ServiceJob, UserTask
from tests.organisation.factories import OrgUnitFactory, RoleFactory, RoleGrantFactory
from tests.workflow.factories import staff_with_role

SHIPPED_HANDLERS = (
    "postfach.request_documents",
    "postfach.send_reminder",
    "postfach.deliver_notice",
    "einvoice.payment_order",
    "einvoice.reject",
    "fragdenob.publish_answer",
    "test.echo",
)


@dataclass
class HandlerLog:
    """What the test handlers were called with; ``fail`` makes a handler raise."""

    calls: list[tuple[str, dict[str, Any], HandlerContext]] = field(default_factory=list)
    fail: dict[str, Exception] = field(default_factory=dict)

    def names(self) -> list[str]:
        return [name for name, _params, _context in self.calls]

    def params(self, name: str) -> list[dict[str, Any]]:
        return [params for called, params, _context in self.calls if called == name]


@pytest.fixture
def handlers() -> Iterator[HandlerLog]:
    """Test stand-ins for the handlers the shipped models call (the modules come later)."""
    log = HandlerLog()

    def make(name: str) -> Any:
        def handler(context: HandlerContext, **params: Any) -> dict[str, Any]:
            log.calls.append((name, params, context))
            if name in log.fail:
                raise log.fail[name]
            return {"handled_by": name, "attempt": context.attempt}

        return handler

    # Discover the modules' own handlers first, so the stand-ins replace them for the test
    # and the real ones come back afterwards.
    real = handlers_load()
    for name in SHIPPED_HANDLERS:
        workflow_handler(name, retries=2, backoff_seconds=10)(make(name))
    yield log
    for name in SHIPPED_HANDLERS:
        handler_unregister(name)
        if name in real:
            original = real[name]
            workflow_handler(
                name, retries=original.retries, backoff_seconds=original.backoff_seconds
            )(original.function)


@dataclass
class Administration:
    """Musterstadt's units, roles and staff for the shipped processes."""

    municipality: Municipality
    root: OrgUnit
    units: dict[str, OrgUnit]
    roles: dict[str, Role]
    clerk: User  # sachbearbeitung in FB 1 (with subunits)
    clerk2: User  # sachbearbeitung in FB 1
    finance: User  # works on tasks of FB 2 (ordering unit)
    auditor: User  # rechnungspruefung at the root
    auditor_and_finance: User  # both: the four-eyes test person
    office: User  # buero-ob
    mayor: User  # buergermeister
    building: User  # works on tasks of FB 3
    monitor: User  # monitor_instances + manage_processes at the root
    outsider: User  # staff without any grant


@pytest.fixture
def admin_tree(municipality: Municipality) -> Administration:
    root = OrgUnitFactory(municipality=municipality, code="SV", name_de="Stadtverwaltung")
    units = {
        code: OrgUnitFactory(municipality=municipality, parent=root, code=code, name_de=code)
        for code in ("FB 1", "FB 2", "FB 3", "OB")
    }
    units["BB"] = OrgUnitFactory(municipality=municipality, parent=units["FB 1"], code="BB")
    work = ["workflow.work_on_tasks"]
    roles = {
        key: RoleFactory(municipality=municipality, key=key, permissions=work)
        for key in ("sachbearbeitung", "rechnungspruefung", "buero-ob", "buergermeister")
    }
    roles["admin"] = RoleFactory(
        municipality=municipality,
        key="workflow-admin",
        permissions=["workflow.monitor_instances", "workflow.manage_processes"],
    )
    auditor_and_finance = staff_with_role(roles["rechnungspruefung"], root)
    RoleGrantFactory(
        user=auditor_and_finance, role=roles["sachbearbeitung"], org_unit=units["FB 2"]
    )
    return Administration(
        municipality=municipality,
        root=root,
        units=units,
        roles=roles,
        clerk=staff_with_role(roles["sachbearbeitung"], units["FB 1"]),
        clerk2=staff_with_role(roles["sachbearbeitung"], units["FB 1"]),
        finance=staff_with_role(roles["sachbearbeitung"], units["FB 2"]),
        auditor=staff_with_role(roles["rechnungspruefung"], root),
        auditor_and_finance=auditor_and_finance,
        office=staff_with_role(roles["buero-ob"], units["OB"]),
        mayor=staff_with_role(roles["buergermeister"], units["OB"]),
        building=staff_with_role(roles["sachbearbeitung"], units["FB 3"]),
        monitor=staff_with_role(roles["admin"], root),
        outsider=staff_with_role(None, None, municipality=municipality),
    )


@pytest.fixture
def shipped(municipality: Municipality, handlers: HandlerLog) -> None:
    services.process_shipped_deploy(municipality=municipality)


def open_task(instance: ProcessInstance, element_id: str) -> UserTask:
    """The one open user task of ``instance`` at ``element_id``."""
    return UserTask.objects.get(instance=instance, element_id=element_id, status="open")


def open_elements(instance: ProcessInstance) -> list[str]:
    return sorted(
        UserTask.objects.filter(instance=instance, status="open").values_list(
            "element_id", flat=True
        )
    )


def run_jobs(now: datetime | None = None) -> list[str]:
    """Run every pending service job that is due at ``now`` (what the worker does)."""
    now = now or timezone.now()
    results = []
    for job_id in ServiceJob.objects.filter(status="pending", next_attempt_at__lte=now).values_list(
        "pk", flat=True
    ):
        results.append(services.service_job_run(job_id=job_id, now=now))
    return results


def later(days: float = 0, seconds: float = 0) -> datetime:
    return timezone.now() + timedelta(days=days, seconds=seconds)
