"""The one place that scopes applications, their files and forms to who is asking.

A citizen reaches only their own applications (404 for anyone else's, and for another
municipality's). A case worker reaches the applications of the units where they hold
``applications.handle_application``: 404 for another municipality's, 403 for one of
their municipality handled by another unit. Form editors need
``applications.manage_forms``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from rathaus.applications.models import (
    HANDLE_APPLICATIONS,
    MANAGE_FORMS,
    Application,
    Document,
    FormDefinition,
    TestProviderPayment,
)
from rathaus.core.access import is_member, is_staff_of, one_or_404
from rathaus.core.models import Municipality
from rathaus.organisation.permissions import user_can, user_can_anywhere


def application_for_citizen(
    *, user: Any, municipality: Municipality, application_id: int
) -> Application:
    """The citizen's own application, or 404."""
    if not is_member(user, municipality):
        raise Http404
    return one_or_404(
        Application.objects.select_related(
            "service", "form_version", "municipality", "citizen"
        ).filter(municipality=municipality, citizen_id=user.pk, pk=application_id)
    )


def application_for_staff(
    *, user: Any, municipality: Municipality, application_id: int
) -> Application:
    """A submitted application the case worker may handle: 404 for another tenant's (or a
    draft), 403 for another unit's."""
    if not is_staff_of(user, municipality):
        raise Http404
    application = one_or_404(
        Application.objects.select_related(
            "service", "form_version", "municipality", "citizen", "org_unit"
        )
        .filter(municipality=municipality, pk=application_id)
        .exclude(status=Application.Status.DRAFT)
    )
    if not user_can(user=user, permission=HANDLE_APPLICATIONS, org_unit=application.org_unit):
        raise PermissionDenied
    return application


def document_for_citizen(
    *, user: Any, municipality: Municipality, application_id: int, document_id: int
) -> Document:
    """A file of the citizen's own application: their uploads and the receipt. The notice
    is not here: it is retrieved in the Postfach, where the retrieval is recorded
    (§ 41 (2a) VwVfG)."""
    application = application_for_citizen(
        user=user, municipality=municipality, application_id=application_id
    )
    document = one_or_404(
        Document.objects.filter(application=application, pk=document_id).exclude(
            kind=Document.Kind.NOTICE
        )
    )
    document.application = application
    return document


def document_for_staff(
    *, user: Any, municipality: Municipality, application_id: int, document_id: int
) -> Document:
    application = application_for_staff(
        user=user, municipality=municipality, application_id=application_id
    )
    document = one_or_404(Document.objects.filter(application=application, pk=document_id))
    document.application = application
    return document


def form_definition_for_editor(
    *, user: Any, municipality: Municipality, definition_id: int
) -> FormDefinition:
    """A form of the user's municipality, for someone who may edit forms (403 / 404)."""
    if not is_member(user, municipality):
        raise Http404
    if not user_can_anywhere(user=user, permission=MANAGE_FORMS):
        raise PermissionDenied
    return one_or_404(
        FormDefinition.objects.select_related("service", "org_unit", "current_version").filter(
            municipality=municipality, pk=definition_id
        )
    )


def test_provider_payment(*, reference: str) -> TestProviderPayment:
    """A payment at the test provider, by its reference (the provider's own page)."""
    return one_or_404(TestProviderPayment.objects.filter(reference=reference[:100]))
