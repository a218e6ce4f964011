"""The back-office form editor: create, edit the draft as validated JSON with a preview,
publish; published versions never change and applications keep theirs."""

import json

import pytest
from django.test import Client

from rathaus.accounts.models import User
from rathaus.applications import services
from rathaus.applications.models import Application, FormDefinition, FormVersion
from rathaus.audit.models import AuditEvent
from rathaus.catalog.models import Service
from rathaus.organisation.models import OrgUnit
from tests.applications.conftest import sign_in
from tests.applications.factories import full_schema, simple_schema

pytestmark = pytest.mark.django_db


def test_an_editor_creates_edits_previews_and_publishes_a_form(
    client: Client, form_editor: User, dog_service: Service, tax_office: OrgUnit
) -> None:
    sign_in(client, form_editor)
    response = client.post(
        "/verwaltung/formulare/",
        {
            "service": dog_service.pk,
            "key": "hundesteuer",
            "org_unit": tax_office.pk,
            "min_trust_level": "1",
        },
    )
    definition = FormDefinition.objects.get(key="hundesteuer")
    assert response["Location"] == f"/verwaltung/formulare/{definition.pk}/"
    url = response["Location"]
    # A broken schema is refused with every problem, the draft stays
    broken = full_schema()
    broken["pages"][0]["fields"][0]["type"] = "blob"
    response = client.post(url, {"_action": "save", "schema": json.dumps(broken)})
    assert response.status_code == 400
    assert "pages[0].fields[0] (name): type must be one of" in response.content.decode()
    response = client.post(url, {"_action": "save", "schema": "{not json"})
    assert response.status_code == 400
    assert "This is not valid JSON (line 1, column 2" in response.content.decode()
    # The preview renders the form as citizens will see it
    response = client.post(url, {"_action": "preview", "schema": json.dumps(full_schema())})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="vorschau-plz"' in html
    assert "Proof of liability insurance" in html
    # Save and publish
    client.post(url, {"_action": "save", "schema": json.dumps(full_schema())})
    client.post(url, {"_action": "publish"})
    definition.refresh_from_db()
    version = definition.current_version
    assert version is not None
    assert (version.number, version.status) == (1, "published")
    assert version.schema == full_schema()
    assert AuditEvent.objects.filter(action="applications.form.published").count() == 1


def test_published_versions_never_change_and_applications_keep_theirs(
    citizen: User, simple_form: FormDefinition, free_service: Service, form_editor: User
) -> None:
    first = simple_form.current_version
    assert first is not None
    application = services.application_start(
        citizen=citizen, service=free_service, idempotency_key="v" * 32
    )
    # Editing after publication makes a new draft version
    changed = simple_schema()
    changed["pages"][0]["fields"][0]["label_de"] = "Vollständiger Name"
    draft = services.form_draft_save(definition=simple_form, schema=changed, user=form_editor)
    assert draft.number == 2
    first.refresh_from_db()
    assert first.schema == simple_schema()
    # Publishing it retires the first; the application keeps its version
    services.form_version_publish(version=draft, user=form_editor)
    first.refresh_from_db()
    assert first.status == FormVersion.Status.RETIRED
    application.refresh_from_db()
    assert application.form_version_id == first.pk
    newer = services.application_start(
        citizen=citizen, service=free_service, idempotency_key="w" * 32
    )
    assert newer.form_version_id == draft.pk
    # A published version cannot be published again
    with pytest.raises(services.Conflict):
        services.form_version_publish(version=draft, user=form_editor)


def test_a_person_without_the_permission_cannot_change_forms(
    simple_form: FormDefinition, clerk: User
) -> None:
    with pytest.raises(services.PermissionDenied):
        services.form_draft_save(definition=simple_form, schema=simple_schema(), user=clerk)
    assert simple_form.versions.count() == 1


def test_the_settings_close_a_form_for_new_applications(
    client: Client,
    form_editor: User,
    simple_form: FormDefinition,
    free_service: Service,
    citizen: User,
    building_office: OrgUnit,
) -> None:
    sign_in(client, form_editor)
    client.post(
        f"/verwaltung/formulare/{simple_form.pk}/",
        {"_action": "settings", "org_unit": building_office.pk, "min_trust_level": "2"},
    )
    simple_form.refresh_from_db()
    assert (simple_form.org_unit_id, simple_form.min_trust_level, simple_form.is_active) == (
        building_office.pk,
        2,
        False,
    )
    with pytest.raises(services.NotFound):
        services.application_start(citizen=citizen, service=free_service, idempotency_key="c" * 32)
    assert not Application.objects.exists()
