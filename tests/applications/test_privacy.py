"""Personal data: the export shows a citizen's applications; closing the account deletes
drafts and keeps the case files; the retention rules delete abandoned drafts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from rathaus.accounts.models import User
from rathaus.applications import services
from rathaus.applications.models import Application, Document, FormDefinition
from rathaus.applications.personal_data import ApplicationsData
from rathaus.catalog.models import Service
from rathaus.privacy.retention import retention_apply
from tests.applications.conftest import submitted_simple

pytestmark = pytest.mark.django_db


def test_export_erase_and_retained(
    citizen: User, simple_form: FormDefinition, free_service: Service
) -> None:
    case = submitted_simple(citizen, free_service)
    draft = services.application_start(
        citizen=citizen, service=free_service, idempotency_key="e" * 32
    )
    exported = ApplicationsData().export(citizen)
    assert [(item["reference"], item["status"]) for item in exported] == [
        (case.reference, "submitted"),
        ("", "draft"),
    ]
    assert exported[0]["data"] == {"name": "Erika Mustermann"}
    assert exported[0]["documents"][0]["kind"] == "receipt"
    erasure = ApplicationsData().erase(citizen)
    assert not Application.objects.filter(pk=draft.pk).exists()
    assert Application.objects.filter(pk=case.pk).exists()
    assert len(erasure.kept) == 1


def test_abandoned_drafts_are_deleted_by_the_retention_rule(
    citizen: User, simple_form: FormDefinition, free_service: Service
) -> None:
    case = submitted_simple(citizen, free_service)
    old = services.application_start(
        citizen=citizen, service=free_service, idempotency_key="o" * 32
    )
    fresh = services.application_start(
        citizen=citizen, service=free_service, idempotency_key="n" * 32
    )
    Application.objects.filter(pk__in=[old.pk, case.pk]).update(
        updated_at=timezone.now() - timedelta(days=200)
    )
    retention_apply(now=timezone.now())
    remaining = set(Application.objects.values_list("pk", flat=True))
    assert remaining == {case.pk, fresh.pk}
    assert Document.objects.filter(application=case).exists()
