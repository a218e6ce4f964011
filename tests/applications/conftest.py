"""Fixtures of the applications tests: a town hall with a unit that handles dog-tax
applications, a case worker, citizens, a published form, sample files and helpers to run
the background work."""

import importlib
import io
from datetime import datetime
from typing import Any

import pypdf
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from rathaus.accounts.models import User
from rathaus.accounts.services import consent_grant
from rathaus.accounts.trust import TrustLevel, session_trust_set
from rathaus.applications import services
from rathaus.applications.models import Application, FormDefinition
from rathaus.applications.payments import TEST_PROVIDER
from rathaus.catalog.models import Service
from rathaus.core.models import Municipality
from rathaus.organisation.models import OrgUnit, Role
from rathaus.workflow import handlers as workflow_handlers
from rathaus.workflow import services as workflow
from rathaus.workflow.models import ServiceJob, UserTask
from tests.applications.factories import ServiceFactory, full_schema, simple_schema
from tests.factories import StaffFactory, UserFactory
from tests.organisation.factories import OrgUnitFactory, RoleFactory, RoleGrantFactory

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
CASE_WORKER_PERMISSIONS = [
    "applications.handle_application",
    "workflow.work_on_tasks",
    "postfach.send_message",
]
HANDLERS = ("postfach.request_documents", "postfach.send_reminder", "postfach.deliver_notice")


@pytest.fixture(autouse=True)
def _our_handlers() -> None:
    """The workflow tests replace these handlers by stand-ins and unregister them after;
    make sure ours are the registered ones."""
    from rathaus.applications import workflow_handlers as ours

    workflow_handlers.handlers_load()
    current = [workflow_handlers.handler_get(name) for name in HANDLERS]
    if any(h is None or h.function.__module__ != ours.__name__ for h in current):
        importlib.reload(ours)


@pytest.fixture(autouse=True)
def _english(settings: Any) -> None:
    """Pages and e-mails in English where the tests read them (German is the default)."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture(autouse=True)
def _test_payment_provider(settings: Any) -> None:
    """Fees are paid with the test provider (as in development)."""
    settings.RATHAUS_PAYMENT_PROVIDER = TEST_PROVIDER


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> Any:
    return SimpleUploadedFile(name, content, content_type=content_type)


def pdf(name: str = "nachweis.pdf", content: bytes = PDF_BYTES) -> Any:
    return upload(name, content, "application/pdf")


def run_worker() -> None:
    """Drain the task queue with the real database worker (e-mails, service jobs)."""
    call_command("db_worker", batch=True, interval=0, verbosity=0)


def run_jobs(now: datetime | None = None) -> list[str]:
    """Run the workflow's pending service jobs that are due at ``now``."""
    now = now or timezone.now()
    return [
        workflow.service_job_run(job_id=job_id, now=now)
        for job_id in ServiceJob.objects.filter(
            status="pending", next_attempt_at__lte=now
        ).values_list("pk", flat=True)
    ]


def open_task(application: Application, element_id: str) -> UserTask:
    return UserTask.objects.get(
        instance_id=application.workflow_instance_id, element_id=element_id, status="open"
    )


def sign_in(client: Client, user: User, level: TrustLevel = TrustLevel.BASIC) -> Client:
    """A session at ``level``, as a login at that level leaves it."""
    client.force_login(user)
    session = client.session
    request = type("R", (), {"session": session})()
    session_trust_set(request, level=level, method="test")  # type: ignore[arg-type]
    session.save()
    return client


@pytest.fixture
def root(municipality: Municipality) -> OrgUnit:
    return OrgUnitFactory(municipality=municipality, code="SV", name_de="Stadtverwaltung")


@pytest.fixture
def tax_office(root: OrgUnit) -> OrgUnit:
    return OrgUnitFactory(
        municipality=root.municipality, parent=root, code="STA", name_de="Steueramt"
    )


@pytest.fixture
def building_office(root: OrgUnit) -> OrgUnit:
    return OrgUnitFactory(municipality=root.municipality, parent=root, code="BA", name_de="Bauamt")


@pytest.fixture
def case_role(municipality: Municipality) -> Role:
    """The default case workers' role, with what handling applications needs."""
    return RoleFactory(
        municipality=municipality,
        key="sachbearbeitung",
        name_de="Sachbearbeitung",
        permissions=CASE_WORKER_PERMISSIONS,
    )


def staff_in(unit: OrgUnit, role: Role, **fields: Any) -> User:
    user: User = StaffFactory(municipality=unit.municipality, **fields)
    RoleGrantFactory(user=user, role=role, org_unit=unit)
    return user


@pytest.fixture
def clerk(tax_office: OrgUnit, case_role: Role) -> User:
    return staff_in(tax_office, case_role, first_name="Clara", last_name="Clerk")


@pytest.fixture
def builder(building_office: OrgUnit, case_role: Role) -> User:
    """A case worker of another unit."""
    return staff_in(building_office, case_role, first_name="Bob", last_name="Builder")


@pytest.fixture
def form_editor(root: OrgUnit, municipality: Municipality) -> User:
    role = RoleFactory(
        municipality=municipality, key="formulare", permissions=["applications.manage_forms"]
    )
    return staff_in(root, role)


@pytest.fixture
def citizen(municipality: Municipality) -> User:
    return UserFactory(
        municipality=municipality,
        email="erika@example.org",
        first_name="Erika",
        last_name="Mustermann",
        language="en",
        street="Marktplatz 1",
        postcode="71634",
        city="Musterstadt",
        email_verified_at=timezone.now(),
    )


@pytest.fixture
def consenting(citizen: User) -> User:
    """The citizen, agreeing to receive notices in the Postfach."""
    consent_grant(user=citizen, purpose="postfach")
    return citizen


@pytest.fixture
def neighbour(municipality: Municipality) -> User:
    return UserFactory(
        municipality=municipality,
        email="nachbar@example.org",
        language="de",
        email_verified_at=timezone.now(),
    )


DOG_TAX_FEES = [
    {
        "kind": "per_unit",
        "amount_cents": 9600,
        "amount_max_cents": None,
        "currency": "EUR",
        "unit_de": "Hund",
        "unit_en": "dog",
        "label_de": "",
        "label_en": "",
        "note_de": "",
        "note_en": "",
    }
]


@pytest.fixture
def free_service(municipality: Municipality) -> Service:
    return ServiceFactory(
        municipality=municipality, slug="hundesteuer-abmeldung", name_de="Hundesteuer Abmeldung"
    )


@pytest.fixture
def dog_service(municipality: Municipality) -> Service:
    return ServiceFactory(
        municipality=municipality,
        slug="hundesteuer",
        name_de="Hundesteuer \u2013 Anmeldung",
        name_en="Dog tax \u2013 registration",
        fees=DOG_TAX_FEES,
    )


def published(
    service: Service, unit: OrgUnit, schema: dict[str, Any], **kwargs: Any
) -> FormDefinition:
    definition = services.form_definition_create(
        municipality=service.municipality,
        service=service,
        key=service.slug,
        org_unit=unit,
        schema=schema,
        user=None,
        **kwargs,
    )
    services.form_version_publish(version=definition.versions.get(), user=None)
    definition.refresh_from_db()
    return definition


@pytest.fixture
def simple_form(free_service: Service, tax_office: OrgUnit) -> FormDefinition:
    """A one-field form without a fee."""
    return published(free_service, tax_office, simple_schema())


@pytest.fixture
def dog_form(dog_service: Service, tax_office: OrgUnit) -> FormDefinition:
    """The full dog-tax form: every field type, a group of dogs, a file; 96 EUR per dog."""
    return published(dog_service, tax_office, full_schema())


def draft(citizen: User, service: Service, key: str = "k" * 32) -> Application:
    return services.application_start(citizen=citizen, service=service, idempotency_key=key)


def filled_simple(citizen: User, service: Service, name: str = "Erika Mustermann") -> Application:
    application = draft(citizen, service)
    return services.application_page_save(
        application=application, page_index=0, values={"name": name}
    )


def submitted_simple(citizen: User, service: Service) -> Application:
    application = filled_simple(citizen, service)
    return services.application_submit(application=application, citizen=citizen)


FULL_PAGE_1 = {
    "name": "Erika Mustermann",
    "plz": "71634",
    "geboren": "1964-08-12",
    "land": "BW",
    "einverstanden": "on",
}
FULL_PAGE_2 = {
    "_count_hunde": "2",
    "hunde__0__hundename": "Bello",
    "hunde__0__rasse": "dackel",
    "hunde__0__gewicht": "9,5",
    "hunde__0__alter": "4",
    "hunde__1__hundename": "Luna",
    "hunde__1__rasse": "mischling",
    "hunde__1__gewicht": "",
    "hunde__1__alter": "",
    "spende": "12,50",
}


def pdf_text(content: bytes) -> str:
    """The text of a PDF, read with pypdf. (A regular expression over the raw content
    streams, used before, cut a compressed stream short whenever it happened to end in a
    carriage return: 111 of 1,500 generated receipts could not be read.)"""
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() or "" for page in reader.pages)
