"""Fixtures of the e-invoice tests: the official test suite, a town hall with an ordering
unit and its Leitweg-ID, clerks, and helpers to make invoices from test-suite instances."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from rathaus.accounts.models import User
from rathaus.core.models import Municipality
from rathaus.organisation.models import OrgUnit, Role
from rathaus.workflow import handlers as workflow_handlers
from rathaus.workflow import services as workflow
from rathaus.workflow.models import ServiceJob
from tests.factories import StaffFactory
from tests.organisation.factories import OrgUnitFactory, RoleFactory, RoleGrantFactory

SHARED = Path(settings.RATHAUS_SHARED_DIR) / "data" / "xrechnung"
SUITE = SHARED / "testsuite"
UBL = SUITE / "business-cases" / "standard" / "01.01a-INVOICE_ubl.xml"
CII = SUITE / "business-cases" / "standard" / "01.01a-INVOICE_uncefact.xml"
TAX_EXCLUSIVE = '<cbc:TaxExclusiveAmount currencyID="EUR">314.86</cbc:TaxExclusiveAmount>'
LEITWEG = "04011000-12345-03"  # the buyer reference of the 01.01a instances
CLERK_PERMISSIONS = ["einvoice.approve_invoice", "workflow.work_on_tasks"]
FINANCE_PERMISSIONS = [
    "einvoice.receive_invoice",
    "einvoice.export_invoice",
    "einvoice.manage_einvoice",
]
HANDLERS = ("einvoice.payment_order", "einvoice.reject")


def suite_files() -> list[Path]:
    return sorted(SUITE.rglob("*.xml"))


@pytest.fixture(autouse=True)
def _our_handlers() -> None:
    """The workflow tests replace handlers and unregister them; make sure ours are in."""
    from rathaus.einvoice import workflow_handlers as ours

    workflow_handlers.handlers_load()
    current = [workflow_handlers.handler_get(name) for name in HANDLERS]
    if any(h is None or h.function.__module__ != ours.__name__ for h in current):
        importlib.reload(ours)


@pytest.fixture(autouse=True)
def _english(settings: Any) -> None:
    settings.LANGUAGE_CODE = "en"


def run_worker() -> None:
    call_command("db_worker", batch=True, interval=0, verbosity=0)


def run_jobs() -> list[str]:
    now = timezone.now()
    return [
        workflow.service_job_run(job_id=job_id, now=now)
        for job_id in ServiceJob.objects.filter(
            status="pending", next_attempt_at__lte=now
        ).values_list("pk", flat=True)
    ]


def sign_in(client: Client, user: User) -> Client:
    from tests.conftest import strong_login

    strong_login(client, user)
    return client


def ubl_with(replace: dict[str, str], source: Path = UBL) -> bytes:
    """A test-suite instance with text replaced (to break or vary it)."""
    text = source.read_text(encoding="utf-8")
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return text.encode("utf-8")


@pytest.fixture
def root(municipality: Municipality) -> OrgUnit:
    return OrgUnitFactory(municipality=municipality, code="SV", name_de="Stadtverwaltung")


@pytest.fixture
def ordering_unit(root: OrgUnit) -> OrgUnit:
    return OrgUnitFactory(
        municipality=root.municipality, parent=root, code="HA", name_de="Hauptamt"
    )


@pytest.fixture
def other_unit(root: OrgUnit) -> OrgUnit:
    return OrgUnitFactory(municipality=root.municipality, parent=root, code="BA", name_de="Bauamt")


@pytest.fixture
def clerk_role(municipality: Municipality) -> Role:
    return RoleFactory(
        municipality=municipality,
        key="rechnung",
        name_de="Rechnungsprüfung",
        permissions=CLERK_PERMISSIONS,
    )


@pytest.fixture
def finance_role(municipality: Municipality) -> Role:
    return RoleFactory(
        municipality=municipality,
        key="finanzen",
        name_de="Finanzen",
        permissions=FINANCE_PERMISSIONS,
    )


def staff_in(unit: OrgUnit, role: Role, **fields: Any) -> User:
    user: User = StaffFactory(municipality=unit.municipality, **fields)
    RoleGrantFactory(user=user, role=role, org_unit=unit)
    return user


@pytest.fixture
def clerk(ordering_unit: OrgUnit, clerk_role: Role) -> User:
    return staff_in(ordering_unit, clerk_role, email="erste@musterstadt.example")


@pytest.fixture
def second_clerk(ordering_unit: OrgUnit, clerk_role: Role) -> User:
    return staff_in(ordering_unit, clerk_role, email="zweite@musterstadt.example")


@pytest.fixture
def third_clerk(ordering_unit: OrgUnit, clerk_role: Role) -> User:
    return staff_in(ordering_unit, clerk_role, email="dritte@musterstadt.example")


@pytest.fixture
def outsider(other_unit: OrgUnit, clerk_role: Role) -> User:
    return staff_in(other_unit, clerk_role, email="bauamt@musterstadt.example")


@pytest.fixture
def finance(root: OrgUnit, finance_role: Role) -> User:
    return staff_in(root, finance_role, email="kasse@musterstadt.example")


@pytest.fixture
def route(municipality: Municipality, ordering_unit: OrgUnit) -> Any:
    from rathaus.einvoice.models import LeitwegRoute

    return LeitwegRoute.objects.create(
        municipality=municipality, leitweg_id=LEITWEG, org_unit=ordering_unit
    )
