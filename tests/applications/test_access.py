"""Who reaches what: another citizen's application or file is 404, another tenant's 404,
another unit's case worker 403, staff without the permission 403; nothing changes then.
The case worker's pages show everything and record the read; lists use few queries."""

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from rathaus.accounts.models import User
from rathaus.applications import services
from rathaus.applications.models import Application, Document, FormDefinition
from rathaus.audit.models import AuditEvent
from rathaus.catalog.models import Service
from rathaus.core.models import Municipality
from tests.applications.conftest import sign_in, submitted_simple
from tests.conftest import strong_login
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def application(citizen: User, simple_form: FormDefinition, free_service: Service) -> Application:
    return submitted_simple(citizen, free_service)


def citizen_urls(application: Application) -> list[str]:
    receipt = Document.objects.get(application=application, kind="receipt")
    base = f"/konto/antraege/{application.pk}"
    return [
        f"{base}/",
        f"{base}/schritt/1/",
        f"{base}/pruefen/",
        f"{base}/bestaetigung/",
        f"{base}/dokumente/{receipt.pk}/",
    ]


def citizen_posts(application: Application) -> list[str]:
    base = f"/konto/antraege/{application.pk}"
    return [
        f"{base}/schritt/1/",
        f"{base}/einreichen/",
        f"{base}/zahlung/",
        f"{base}/nachreichen/",
        f"{base}/zurueckziehen/",
    ]


def test_another_citizen_gets_404_everywhere_and_nothing_changes(
    client: Client, application: Application, neighbour: User
) -> None:
    sign_in(client, neighbour)
    for url in citizen_urls(application):
        assert client.get(url).status_code == 404, url
    for url in citizen_posts(application):
        assert client.post(url, {"confirm": "on", "name": "X"}).status_code == 404, url
    application.refresh_from_db()
    assert application.status == "submitted"
    assert application.data == {"name": "Erika Mustermann"}


def test_another_tenant_gets_404(
    other_client: Client, application: Application, other_municipality: Municipality
) -> None:
    stranger = UserFactory(municipality=other_municipality)
    sign_in(other_client, stranger)
    for url in citizen_urls(application):
        assert other_client.get(url).status_code == 404, url
    # Even a superuser of the other municipality
    staff = StaffFactory(municipality=other_municipality, is_superuser=True)
    strong_login(other_client, staff)
    assert other_client.get(f"/verwaltung/antraege/{application.pk}/").status_code == 404


def test_the_case_worker_sees_everything_and_the_read_is_recorded(
    client: Client, application: Application, clerk: User
) -> None:
    sign_in(client, clerk)
    response = client.get(f"/verwaltung/antraege/{application.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert application.reference in html
    assert "Erika Mustermann" in html
    assert "Check completeness" in html  # the open task, linked to the task page
    receipt = Document.objects.get(application=application, kind="receipt")
    assert f"/verwaltung/antraege/{application.pk}/dokumente/{receipt.pk}/" in html
    download = client.get(f"/verwaltung/antraege/{application.pk}/dokumente/{receipt.pk}/")
    assert download.status_code == 200
    assert download["Content-Security-Policy"] == "default-src 'none'; sandbox"
    read = AuditEvent.objects.filter(action="privacy.personal_data.read", actor_id=clerk.pk)
    assert read.count() == 1


def test_a_case_worker_of_another_unit_gets_403(
    client: Client, application: Application, builder: User
) -> None:
    sign_in(client, builder)
    assert client.get(f"/verwaltung/antraege/{application.pk}/").status_code == 403
    receipt = Document.objects.get(application=application, kind="receipt")
    assert (
        client.get(f"/verwaltung/antraege/{application.pk}/dokumente/{receipt.pk}/").status_code
        == 403
    )
    assert client.post(f"/verwaltung/antraege/{application.pk}/abschliessen/").status_code == 403
    # Their list does not show it
    assert application.reference not in client.get("/verwaltung/antraege/").content.decode()
    with pytest.raises(services.PermissionDenied):
        services.application_close(application=application, user=builder)


def test_staff_without_the_permission_and_citizens_are_refused(
    client: Client, application: Application, municipality: Municipality, citizen: User
) -> None:
    sign_in(client, StaffFactory(municipality=municipality))
    assert client.get("/verwaltung/antraege/").status_code == 403
    assert client.get(f"/verwaltung/antraege/{application.pk}/").status_code == 403
    sign_in(client, citizen)
    assert client.get("/verwaltung/antraege/").status_code == 403


def test_a_draft_is_not_visible_to_staff(
    client: Client, citizen: User, simple_form: FormDefinition, free_service: Service, clerk: User
) -> None:
    draft = services.application_start(
        citizen=citizen, service=free_service, idempotency_key="z" * 32
    )
    sign_in(client, clerk)
    assert client.get(f"/verwaltung/antraege/{draft.pk}/").status_code == 404


def test_the_staff_list_uses_a_fixed_number_of_queries(
    client: Client,
    citizen: User,
    neighbour: User,
    simple_form: FormDefinition,
    free_service: Service,
    clerk: User,
) -> None:
    submitted_simple(citizen, free_service)
    sign_in(client, clerk)
    client.get("/verwaltung/antraege/")
    with CaptureQueriesContext(connection) as few:
        assert client.get("/verwaltung/antraege/").status_code == 200
    for number in range(4):
        person = UserFactory(municipality=citizen.municipality, email=f"p{number}@example.org")
        submitted_simple(person, free_service)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/verwaltung/antraege/")
    assert len(many) == len(few)
    assert response.content.decode().count("/verwaltung/antraege/") >= 5


def test_staff_cannot_apply(
    client: Client, clerk: User, simple_form: FormDefinition, free_service: Service
) -> None:
    sign_in(client, clerk)
    response = client.post(
        f"/leistungen/{free_service.slug}/antrag/", {"idempotency_key": "s" * 32}
    )
    assert response.status_code == 403
    assert not Application.objects.exists()


def test_forms_need_the_permission(
    client: Client,
    clerk: User,
    form_editor: User,
    simple_form: FormDefinition,
    other_municipality: Any,
) -> None:
    sign_in(client, clerk)
    assert client.get("/verwaltung/formulare/").status_code == 403
    assert client.get(f"/verwaltung/formulare/{simple_form.pk}/").status_code == 403
    sign_in(client, form_editor)
    assert client.get("/verwaltung/formulare/").status_code == 200
    assert client.get("/verwaltung/formulare/999999/").status_code == 404
