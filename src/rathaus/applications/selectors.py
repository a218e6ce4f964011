"""Reads of the online applications: lists for citizens and case workers, timelines, forms."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Count, QuerySet

from rathaus.applications.models import (
    HANDLE_APPLICATIONS,
    Application,
    Document,
    FormDefinition,
    Payment,
    TimelineEvent,
)
from rathaus.core.models import Municipality
from rathaus.organisation.permissions import units_where
from rathaus.workflow.models import UserTask

if TYPE_CHECKING:
    from rathaus.accounts.models import User


def application_list_for_citizen(*, user: User) -> QuerySet[Application]:
    """The citizen's applications, newest first (one query with the service)."""
    return (
        Application.objects.filter(citizen=user, municipality=user.municipality)
        .exclude(status=Application.Status.WITHDRAWN, submitted_at__isnull=True)
        .select_related("service")
        .defer("data")
        .order_by("-created_at", "-pk")
    )


def application_list_for_staff(
    *, user: User, municipality: Municipality, status: str = ""
) -> QuerySet[Application]:
    """Submitted applications of the units where ``user`` handles applications (with the
    units below a grant that includes them), newest first."""
    units = units_where(user=user, permission=HANDLE_APPLICATIONS).filter(municipality=municipality)
    applications = (
        Application.objects.filter(municipality=municipality, org_unit__in=units)
        .exclude(status=Application.Status.DRAFT)
        .select_related("service", "citizen", "org_unit")
        .defer("data")
        .order_by("-submitted_at", "-pk")
    )
    if status in Application.Status.values:
        applications = applications.filter(status=status)
    return applications


def timeline_of(*, application: Application, public_only: bool) -> QuerySet[TimelineEvent]:
    """The application's history, oldest first; citizens see the public entries."""
    events = TimelineEvent.objects.filter(application=application).select_related("actor")
    if public_only:
        events = events.filter(public=True)
    return events.order_by("created_at", "pk")


def documents_of(*, application: Application, kind: str | None = None) -> QuerySet[Document]:
    documents = Document.objects.filter(application=application).order_by("created_at", "pk")
    return documents.filter(kind=kind) if kind else documents


def payments_of(*, application: Application) -> QuerySet[Payment]:
    return Payment.objects.filter(application=application).order_by("created_at", "pk")


def form_definition_list(*, municipality: Municipality) -> QuerySet[FormDefinition]:
    """Every application form of the municipality with its service, unit and current
    version, and how many applications were submitted (one query)."""
    return (
        FormDefinition.objects.filter(municipality=municipality)
        .select_related("service", "org_unit", "current_version")
        .annotate(submitted=Count("versions__applications__submitted_at"))
        .order_by("key")
    )


def form_for_service(*, service_id: int) -> FormDefinition | None:
    """The open online form of a service, if it has a published one (for "apply online")."""
    return (
        FormDefinition.objects.filter(
            service_id=service_id, is_active=True, current_version__isnull=False
        )
        .select_related("current_version")
        .first()
    )


def draft_for(*, user: User, service_id: int) -> Application | None:
    """The citizen's newest unfinished draft for a service, to resume it."""
    return (
        Application.objects.filter(
            citizen=user, service_id=service_id, status=Application.Status.DRAFT
        )
        .order_by("-created_at")
        .first()
    )


def open_tasks_of(*, application: Application) -> list[UserTask]:
    """The open workflow tasks of the application's process (for the case worker's page)."""
    if application.workflow_instance_id is None:
        return []
    return list(
        UserTask.objects.filter(
            instance_id=application.workflow_instance_id, status=UserTask.Status.OPEN
        ).order_by("pk")
    )
