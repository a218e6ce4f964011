"""Every write of the online applications: forms, drafts, documents, payments, submission,
the case (documents requested, reminders, the notice) and what the citizen sees of it.

An application is a draft while the citizen fills its pages (what was typed is kept, even
when invalid). Submission checks every page again against the form version it was filled
against, needs the fee paid where there is one, gives the reference number, makes the
acknowledgement of receipt (PDF) and starts the generic application process (ADR 0011),
all in one transaction. The process calls back through ``workflow_handlers.py``: documents
requested, reminders, the notice. Every change of status is in the timeline and e-mailed
to the citizen (``notifications``, without the content).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from rathaus.applications import documents as document_rules
from rathaus.applications import formschema, payments
from rathaus.applications.fees import fee_compute, format_cents
from rathaus.applications.models import (
    MANAGE_FORMS,
    Application,
    Document,
    FormDefinition,
    FormVersion,
    Payment,
    ReferenceCounter,
    TimelineEvent,
)
from rathaus.applications.pdf import template_pdf
from rathaus.audit.services import audit_personal_data_read, audit_record
from rathaus.catalog.models import Service
from rathaus.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from rathaus.core.models import Municipality
from rathaus.notifications.services import notify
from rathaus.organisation.models import OrgUnit
from rathaus.organisation.permissions import user_can_anywhere
from rathaus.postfach.models import Message
from rathaus.postfach.services import NoConsent, message_send, site_url_of
from rathaus.workflow import services as workflow
from rathaus.workflow.models import ProcessInstance, ProcessVersion

if TYPE_CHECKING:
    from rathaus.accounts.models import User

logger = logging.getLogger(__name__)

BERLIN = ZoneInfo("Europe/Berlin")
PROCESS_KEY = "generic_application"
DOCUMENTS_MESSAGE = "documents_received"
STATUS_EVENT = "applications.status_changed"
STATUS_TEMPLATE = "applications_status"
NOTE_MAX_CHARS = 2000
KEY_MAX_CHARS = 64
# A payment nobody reported on for this long is asked about (reconciliation).
RECONCILE_AFTER = timedelta(minutes=10)


# The reasons the shipped decision table (workflow/models_bpmn/application_decision.dmn)
# gives, in English; the German notice shows their translation.
DECISION_TABLE_REASONS = (
    gettext_noop("The application is incomplete."),
    gettext_noop("All requirements are met."),
    gettext_noop("The requirements are not met."),
)


class PaymentRequired(ValidationFailed):
    default_code = "payment_required"


# --- forms (back office) ------------------------------------------------------------------


STARTER_SCHEMA: dict[str, Any] = {
    "title_de": "Antrag",
    "title_en": "Application",
    "pages": [
        {
            "id": "angaben",
            "title_de": "Angaben",
            "title_en": "Details",
            "fields": [
                {
                    "id": "anliegen",
                    "type": "text",
                    "label_de": "Ihr Anliegen",
                    "label_en": "Your request",
                    "required": True,
                    "constraints": {"max_length": 2000, "multiline": True},
                }
            ],
        }
    ],
}


def _require_form_manager(user: User, municipality: Municipality) -> None:
    if getattr(user, "municipality_id", None) != municipality.pk or not user_can_anywhere(
        user=user, permission=MANAGE_FORMS
    ):
        raise PermissionDenied()


def _schema_checked(schema: Any) -> dict[str, Any]:
    try:
        return formschema.schema_validate(schema)
    except formschema.SchemaInvalid as error:
        raise ValidationFailed(
            _("The form schema has errors."),
            code="invalid_schema",
            fields={"schema": error.problems},
        ) from error


def form_definition_create(
    *,
    municipality: Municipality,
    service: Service,
    key: str,
    org_unit: OrgUnit,
    user: User | None,
    schema: Mapping[str, Any] | None = None,
    min_trust_level: int = 1,
) -> FormDefinition:
    """A new application form for ``service``, handled by ``org_unit``, with a first draft
    version (``schema``, or a one-field starter). One form per service. ``user`` None is
    the system (demo data); a person needs ``applications.manage_forms``."""
    if user is not None:
        _require_form_manager(user, municipality)
    if service.municipality_id != municipality.pk or org_unit.municipality_id != municipality.pk:
        raise NotFound()
    checked = _schema_checked(dict(schema) if schema is not None else STARTER_SCHEMA)
    if min_trust_level not in (1, 2, 3):
        raise ValidationFailed(fields={"min_trust_level": [_("Choose a trust level.")]})
    with transaction.atomic():
        if FormDefinition.objects.filter(service=service).exists():
            raise ValidationFailed(
                fields={"service": [_("This service already has an application form.")]}
            )
        if FormDefinition.objects.filter(municipality=municipality, key=key).exists():
            raise ValidationFailed(fields={"key": [_("This key is already used.")]})
        definition = FormDefinition.objects.create(
            municipality=municipality,
            service=service,
            key=key,
            org_unit=org_unit,
            min_trust_level=min_trust_level,
        )
        FormVersion.objects.create(
            municipality=municipality, definition=definition, number=1, schema=checked
        )
        audit_record(
            municipality=municipality,
            action="applications.form.created",
            actor=user,
            target=definition,
            data={"key": key, "service": service.pk, "org_unit": org_unit.pk},
        )
    return definition


def form_definition_update(
    *,
    definition: FormDefinition,
    user: User,
    org_unit: OrgUnit,
    min_trust_level: int,
    is_active: bool,
) -> FormDefinition:
    """Change who handles the form, the trust level it needs and whether it is open."""
    _require_form_manager(user, definition.municipality)
    if org_unit.municipality_id != definition.municipality_id:
        raise NotFound()
    if min_trust_level not in (1, 2, 3):
        raise ValidationFailed(fields={"min_trust_level": [_("Choose a trust level.")]})
    with transaction.atomic():
        definition = FormDefinition.objects.select_for_update().get(pk=definition.pk)
        definition.org_unit = org_unit
        definition.min_trust_level = min_trust_level
        definition.is_active = is_active
        definition.save(update_fields=["org_unit", "min_trust_level", "is_active", "updated_at"])
        audit_record(
            municipality=definition.municipality,
            action="applications.form.updated",
            actor=user,
            target=definition,
            data={
                "org_unit": org_unit.pk,
                "min_trust_level": min_trust_level,
                "is_active": is_active,
            },
        )
    return definition


def form_draft_save(*, definition: FormDefinition, schema: Any, user: User | None) -> FormVersion:
    """Store ``schema`` as the draft version of the form (a new draft after a publication).

    Refused with every problem listed if the schema is invalid; published versions are
    never changed.
    """
    if user is not None:
        _require_form_manager(user, definition.municipality)
    checked = _schema_checked(schema)
    with transaction.atomic():
        definition = FormDefinition.objects.select_for_update().get(pk=definition.pk)
        draft = definition.versions.filter(status=FormVersion.Status.DRAFT).first()
        if draft is None:
            number = (
                definition.versions.order_by("-number").values_list("number", flat=True).first()
                or 0
            ) + 1
            draft = FormVersion.objects.create(
                municipality_id=definition.municipality_id,
                definition=definition,
                number=number,
                schema=checked,
            )
        else:
            draft.schema = checked
            draft.save(update_fields=["schema", "updated_at"])
    return draft


def form_version_publish(
    *, version: FormVersion, user: User | None, now: datetime | None = None
) -> FormVersion:
    """Publish a draft: new applications use it; drafts started earlier keep their version.

    The previous published version is retired. ``Conflict`` if it is not a draft.
    """
    definition = version.definition
    if user is not None:
        _require_form_manager(user, definition.municipality)
    now = now or timezone.now()
    with transaction.atomic():
        definition = FormDefinition.objects.select_for_update().get(pk=definition.pk)
        version = FormVersion.objects.select_for_update().get(pk=version.pk)
        if version.status != FormVersion.Status.DRAFT:
            raise Conflict(_("Only a draft can be published."), code="not_a_draft")
        _schema_checked(version.schema)
        definition.versions.filter(status=FormVersion.Status.PUBLISHED).update(
            status=FormVersion.Status.RETIRED, updated_at=now
        )
        version.status = FormVersion.Status.PUBLISHED
        version.published_at = now
        version.published_by = user
        version.save(update_fields=["status", "published_at", "published_by", "updated_at"])
        definition.current_version = version
        definition.save(update_fields=["current_version", "updated_at"])
        audit_record(
            municipality=definition.municipality,
            action="applications.form.published",
            actor=user,
            target=version,
            data={"key": definition.key, "version": version.number},
        )
    return version


# --- status, timeline, e-mail ---------------------------------------------------------------


def _event(
    application: Application,
    kind: str,
    *,
    actor: Any = None,
    note: str = "",
    public: bool = True,
    data: dict[str, Any] | None = None,
) -> TimelineEvent:
    return TimelineEvent.objects.create(
        municipality_id=application.municipality_id,
        application=application,
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        public=public,
        note=note[:NOTE_MAX_CHARS],
        data=data or {},
    )


def _status_set(
    application: Application,
    status: str,
    *,
    event_kind: str,
    actor: Any = None,
    note: str = "",
    extra_fields: Sequence[str] = (),
) -> TimelineEvent:
    """Change the status, note it in the timeline and e-mail the citizen (after commit)."""
    previous = application.status
    application.status = status
    application.save(update_fields=["status", "updated_at", *extra_fields])
    event = _event(
        application,
        event_kind,
        actor=actor,
        note=note,
        data={"from": previous, "to": status},
    )
    _status_notify(application, event)
    return event


def _status_notify(application: Application, event: TimelineEvent) -> None:
    path = reverse("applications:detail", args=[application.pk])
    notify(
        recipient=application.citizen,
        event=STATUS_EVENT,
        key=f"application-{application.pk}-event-{event.pk}",
        template=STATUS_TEMPLATE,
        context={
            "reference": application.reference,
            "status": application.status,
            "service_de": application.service.name_de,
            "service_en": application.service.name_en or application.service.name_de,
            "link": site_url_of(application.municipality).rstrip("/") + path,
        },
        channels=("email",),
        url=path,
    )


# --- drafts ------------------------------------------------------------------------------------


def _citizen_check(citizen: User, municipality: Municipality) -> None:
    if (
        getattr(citizen, "municipality_id", None) != municipality.pk
        or not citizen.is_active
        or citizen.is_staff
    ):
        raise PermissionDenied(
            _("Applications are made with a citizen account of this municipality.")
        )


def application_start(
    *,
    citizen: User,
    service: Service,
    idempotency_key: str,
    now: datetime | None = None,
) -> Application:
    """Start a draft application for ``service`` against its current form version.

    ``idempotency_key`` comes from the page that offered the start: repeating the request
    (double click, retry after a timeout) returns the same application. ``NotFound`` when
    the service has no open online form.
    """
    municipality = service.municipality
    _citizen_check(citizen, municipality)
    key = (idempotency_key or "").strip()
    if not key or len(key) > KEY_MAX_CHARS:
        raise ValidationFailed(fields={"idempotency_key": [_("The request is incomplete.")]})
    existing = Application.objects.filter(citizen=citizen, idempotency_key=key).first()
    if existing is not None:
        if existing.service_id != service.pk:
            raise Conflict(_("This request was already used for another service."))
        return existing
    definition = (
        FormDefinition.objects.select_related("current_version")
        .filter(service=service, is_active=True, current_version__isnull=False)
        .first()
    )
    if definition is None or definition.current_version is None:
        raise NotFound(_("This service cannot be applied for online."))
    try:
        with transaction.atomic():
            application = Application.objects.create(
                municipality=municipality,
                citizen=citizen,
                service=service,
                form_version=definition.current_version,
                org_unit_id=definition.org_unit_id,
                idempotency_key=key,
            )
            _event(application, TimelineEvent.Kind.CREATED, actor=citizen)
    except IntegrityError:
        # The same key arrived twice at once: the other request created it.
        existing = Application.objects.filter(citizen=citizen, idempotency_key=key).first()
        if existing is None:
            raise
        return existing
    return application


def _editable(application: Application) -> None:
    if application.status != Application.Status.DRAFT:
        raise Conflict(_("The application has been submitted and cannot be changed."))
    if application.payment_status in (
        Application.PaymentStatus.PENDING,
        Application.PaymentStatus.PAID,
    ):
        raise Conflict(
            _("The fee has been paid or a payment is in progress, so the data cannot change."),
            code="payment_started",
        )


def application_page_save(
    *, application: Application, page_index: int, values: Mapping[str, Any]
) -> Application:
    """Store what the citizen entered on one page of a draft (typed text or clean values)."""
    schema = application.form_version.schema
    if not 0 <= page_index < formschema.page_count(schema):
        raise NotFound()
    page = schema["pages"][page_index]
    allowed = {spec["id"] for spec in page["fields"] if spec["type"] != "file"}
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        _editable(locked)
        data = dict(locked.data or {})
        for name, value in values.items():
            if name in allowed:
                data[name] = value
        locked.data = data
        locked.save(update_fields=["data", "updated_at"])
    application.data = locked.data
    return locked


def _stored_totals(application: Application) -> tuple[int, int]:
    totals = Document.objects.filter(application=application, kind=Document.Kind.UPLOAD).aggregate(
        size=Sum("size")
    )
    count = Document.objects.filter(application=application, kind=Document.Kind.UPLOAD).count()
    return count, int(totals["size"] or 0)


def _store_document(
    application: Application,
    *,
    kind: str,
    name: str,
    content_type: str,
    size: int,
    sha256: str,
    content: Any,
    field_id: str = "",
    scan_status: str = Document.ScanStatus.NOT_SCANNED,
    scan_detail: str = "",
    on_request: bool = False,
) -> Document:
    document = Document(
        municipality_id=application.municipality_id,
        application=application,
        kind=kind,
        field_id=field_id,
        original_name=name,
        content_type=content_type,
        size=size,
        sha256=sha256,
        scan_status=scan_status,
        scan_detail=scan_detail[:200],
        supplied_on_request=on_request,
    )
    # The storage name is random (models.document_path); the given name is ignored.
    document.file.save("upload", content, save=False)
    document.save()
    stored = _stored_files.get()
    if stored is not None:
        stored.append((document.file.storage, document.file.name))
    return document


_stored_files: ContextVar[list[tuple[Any, str]] | None] = ContextVar(
    "applications_stored_files", default=None
)


@contextmanager
def _files_guard() -> Iterator[None]:
    """Delete the files stored inside the block if it fails (its transaction rolls back;
    Django has no rollback hook)."""
    if _stored_files.get() is not None:
        yield  # an outer guard is in charge
        return
    files: list[tuple[Any, str]] = []
    token = _stored_files.set(files)
    try:
        yield
    except BaseException:
        for storage, name in files:
            try:
                storage.delete(name)
            except Exception:
                logger.warning("could not remove a file of a failed write", exc_info=True)
        raise
    finally:
        _stored_files.reset(token)


def documents_upload(
    *,
    application: Application,
    citizen: User,
    uploads: Sequence[UploadedFile],
    field_id: str = "",
    on_request: bool = False,
    ip: str | None = None,
) -> list[Document]:
    """Add the citizen's files to an application (a file field of a draft, or documents
    asked for later). Each file is checked by its content and scanned; refused files raise
    ``ValidationFailed`` with one reason per file (field ``documents``) and nothing is
    stored; infected files are audited."""
    if application.citizen_id != citizen.pk:
        raise NotFound()
    if on_request:
        if application.status != Application.Status.DOCUMENTS_REQUESTED:
            raise Conflict(_("No documents are requested for this application."))
    else:
        _editable(application)
        specs = {f["id"]: f for f in formschema.file_fields(application.form_version.schema)}
        if field_id not in specs:
            raise NotFound()
    if not uploads:
        raise ValidationFailed(fields={"documents": [_("Choose at least one file.")]})
    count, size = _stored_totals(application)
    outcome = document_rules.documents_check(uploads, stored_count=count, stored_bytes=size)
    infected = [name for name, _reason, code in outcome.refused if code == "infected"]
    if infected:
        audit_record(
            municipality=application.municipality,
            action="applications.document.infected",
            actor=citizen,
            target=application,
            data={"files": infected},
            ip=ip,
        )
    errors = [reason for _name, reason, _code in outcome.refused]
    if outcome.limit_error:
        errors.append(outcome.limit_error)
    if not on_request:
        limit = specs[field_id].get("constraints", {}).get("max_files", 1)
        present = Document.objects.filter(application=application, field_id=field_id).count()
        if present + len(uploads) > limit:
            errors.append(_("At most %(count)d files can be uploaded here.") % {"count": limit})
    if errors:
        raise ValidationFailed(fields={"documents": errors})
    stored = []
    with _files_guard(), transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        if on_request and locked.status != Application.Status.DOCUMENTS_REQUESTED:
            raise Conflict(_("No documents are requested for this application."))
        if not on_request:
            _editable(locked)
        for checked in outcome.accepted:
            stored.append(
                _store_document(
                    locked,
                    kind=Document.Kind.UPLOAD,
                    name=checked.name,
                    content_type=checked.content_type,
                    size=checked.size,
                    sha256=checked.sha256,
                    content=checked.upload,
                    field_id=field_id,
                    scan_status=checked.scan.status,
                    scan_detail=checked.scan.detail,
                    on_request=on_request,
                )
            )
        if on_request:
            _event(
                locked,
                TimelineEvent.Kind.DOCUMENT_UPLOADED,
                actor=citizen,
                note=", ".join(d.original_name for d in stored),
            )
    return stored


def document_remove(*, document: Document, citizen: User) -> None:
    """The citizen removes a file from their draft."""
    application = document.application
    if application.citizen_id != citizen.pk or document.kind != Document.Kind.UPLOAD:
        raise NotFound()
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        _editable(locked)
        document.delete()  # the file goes after commit (signals.py)


# --- validation, fee, submission ---------------------------------------------------------------


def documents_by_field(application: Application) -> dict[str, int]:
    """How many documents each file field of the application has."""
    counts: dict[str, int] = {}
    for field_id in Document.objects.filter(
        application=application, kind=Document.Kind.UPLOAD
    ).values_list("field_id", flat=True):
        counts[field_id] = counts.get(field_id, 0) + 1
    return counts


def application_validate(
    application: Application,
) -> tuple[dict[str, Any], dict[int, list[str]]]:
    """Check every page of the application against its form version.

    Returns the cleaned data (canonical values) and the problems per page index (empty
    when the application can be submitted).
    """
    schema = application.form_version.schema
    documents = documents_by_field(application)
    cleaned: dict[str, Any] = {}
    problems: dict[int, list[str]] = {}
    for index, page in enumerate(schema["pages"]):
        form_data, counts = formschema.page_input(page, application.data or {})
        form = formschema.PageForm(page, data=form_data, counts=counts, documents=documents)
        if form.is_valid():
            cleaned.update(form.values())
            continue
        found: list[str] = []
        for name, field_errors in form.errors.items():
            if name == "__all__":
                continue
            label = form.fields[name].label if name in form.fields else name
            found.extend(f"{label}: {error}" for error in field_errors)
        for spec_id, group_errors in form.group_errors.items():
            spec = next(s for s in page["fields"] if s["id"] == spec_id)
            found.extend(f"{formschema.localised(spec, 'label')}: {e}" for e in group_errors)
        problems[index] = found
    return cleaned, problems


def application_fee(application: Application, data: Mapping[str, Any] | None = None) -> int:
    """The fee in cents for the application's (cleaned) data; 0 when there is none."""
    if data is None:
        data, _problems = application_validate(application)
    return fee_compute(
        fees=application.service.fees or [],
        schema=application.form_version.schema,
        data=data,
    )


def _reference_next(municipality: Municipality, now: datetime) -> str:
    year = now.astimezone(BERLIN).year
    counter, _created = ReferenceCounter.objects.get_or_create(municipality=municipality, year=year)
    ReferenceCounter.objects.filter(pk=counter.pk).update(last=F("last") + 1)
    number = ReferenceCounter.objects.values_list("last", flat=True).get(pk=counter.pk)
    prefix = (municipality.slug[:2] or "RH").upper()
    return f"{prefix}-{year}-{number:06d}"


def generic_process_ensure(*, municipality: Municipality) -> None:
    """Deploy the shipped generic application process for a municipality that has none."""
    if ProcessVersion.objects.filter(
        municipality=municipality, definition__key=PROCESS_KEY, is_default=True
    ).exists():
        return
    names = workflow.SHIPPED[PROCESS_KEY]
    workflow.process_deploy(
        municipality=municipality,
        files=[(name, (workflow.SHIPPED_DIR / name).read_bytes()) for name in names],
    )


def application_submit(
    *,
    application: Application,
    citizen: User,
    ip: str | None = None,
    now: datetime | None = None,
) -> Application:
    """Submit a draft: validate every page, check the fee is paid, give the reference
    number, make the acknowledgement of receipt and start the process.

    Idempotent: submitting an application that is already submitted returns it unchanged
    (a double click, a retry after a timeout). Raises ``ValidationFailed`` listing the
    problems per page, ``PaymentRequired`` (code ``payment_required``) while the fee is
    not paid.
    """
    if application.citizen_id != citizen.pk:
        raise NotFound()
    now = now or timezone.now()
    with _files_guard(), transaction.atomic():
        locked = (
            Application.objects.select_for_update(of=("self",))
            .select_related("form_version", "service", "municipality", "citizen")
            .get(pk=application.pk)
        )
        if locked.status != Application.Status.DRAFT:
            return locked
        cleaned, problems = application_validate(locked)
        if problems:
            raise ValidationFailed(
                _("Some entries are missing or not valid."),
                code="incomplete",
                fields={f"page_{index}": messages for index, messages in problems.items()},
            )
        fee = application_fee(locked, cleaned)
        paid = locked.payment_status == Application.PaymentStatus.PAID
        if fee > 0 and not paid and payments.provider() is not None:
            raise PaymentRequired(_("Please pay the fee before submitting."))
        locked.data = cleaned
        locked.fee_cents = fee if fee > 0 else None
        if fee == 0:
            locked.payment_status = Application.PaymentStatus.NOT_REQUIRED
        elif not paid:
            # No online payment here: the fee is owed and collected with the notice.
            locked.payment_status = Application.PaymentStatus.OPEN
        locked.reference = _reference_next(locked.municipality, now)
        locked.submitted_at = now
        locked.save(
            update_fields=[
                "data",
                "fee_cents",
                "payment_status",
                "reference",
                "submitted_at",
                "updated_at",
            ]
        )
        _receipt_store(locked, now=now)
        _status_set(
            locked,
            Application.Status.SUBMITTED,
            event_kind=TimelineEvent.Kind.SUBMITTED,
            actor=citizen,
            note=locked.reference,
        )
        audit_record(
            municipality=locked.municipality,
            action="applications.application.submitted",
            actor=citizen,
            target=locked,
            data={
                "reference": locked.reference,
                "service": locked.service_id,
                "form_version": locked.form_version_id,
                "fee_cents": locked.fee_cents,
            },
            ip=ip,
        )
        generic_process_ensure(municipality=locked.municipality)
        instance = workflow.instance_start(
            municipality=locked.municipality,
            process_key=PROCESS_KEY,
            business_object=locked,
            variables={
                "reference": locked.reference,
                "service": locked.service.name_de[:200],
                "org_unit": locked.org_unit_id,
            },
            now=now,
        )
        locked.workflow_instance = instance
        locked.save(update_fields=["workflow_instance", "updated_at"])
    return locked


def _berlin(moment: datetime) -> str:
    return moment.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M")


def _document_rows(application: Application) -> list[dict[str, Any]]:
    return [
        {"name": d.original_name, "size": d.size, "sha256": d.sha256[:16]}
        for d in Document.objects.filter(application=application, kind=Document.Kind.UPLOAD)
    ]


def _receipt_store(application: Application, *, now: datetime) -> Document:
    """The acknowledgement of receipt as a PDF, in the citizen's language."""
    language = application.citizen.language or "de"
    with translation.override(language):
        schema = application.form_version.schema
        paid = application.payments.filter(status=Payment.Status.PAID).first()
        content = template_pdf(
            "applications/pdf/receipt.txt",
            {
                "application": application,
                "municipality": application.municipality,
                "service_name": application.service.name,
                "submitted": _berlin(now),
                "pages": formschema.summary(schema, application.data),
                "documents": _document_rows(application),
                "fee": format_cents(application.fee_cents) if application.fee_cents else "",
                "payment": paid,
            },
            title=_("Acknowledgement of receipt %(reference)s")
            % {"reference": application.reference},
            header_text=application.municipality.name,
            footer_text=application.reference,
            created=now,
        )
    return _store_document(
        application,
        kind=Document.Kind.RECEIPT,
        name=f"Eingangsbestaetigung-{application.reference}.pdf",
        content_type="application/pdf",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=ContentFile(content),
        scan_status=Document.ScanStatus.CLEAN,
    )


def application_withdraw(
    *, application: Application, citizen: User, reason: str = "", ip: str | None = None
) -> Application:
    """The citizen withdraws a draft or an application that is still being handled; its
    process is cancelled. ``Conflict`` once a decision was taken."""
    if application.citizen_id != citizen.pk:
        raise NotFound()
    reason = " ".join(reason.split())[:NOTE_MAX_CHARS]
    with transaction.atomic():
        locked = (
            Application.objects.select_for_update(of=("self",))
            .select_related("service", "municipality", "citizen")
            .get(pk=application.pk)
        )
        if not (locked.is_draft or locked.is_open):
            raise Conflict(_("This application can no longer be withdrawn."))
        if locked.workflow_instance_id is not None:
            instance = ProcessInstance.objects.get(pk=locked.workflow_instance_id)
            if instance.state not in ("completed", "cancelled"):
                workflow.instance_cancel(
                    instance=instance, user=None, reason="withdrawn by the applicant"
                )
        locked.closed_at = timezone.now()
        _status_set(
            locked,
            Application.Status.WITHDRAWN,
            event_kind=TimelineEvent.Kind.WITHDRAWN,
            actor=citizen,
            note=reason,
            extra_fields=["closed_at"],
        )
        audit_record(
            municipality=locked.municipality,
            action="applications.application.withdrawn",
            actor=citizen,
            target=locked,
            data={"reference": locked.reference},
            ip=ip,
        )
    return locked


# --- payments ------------------------------------------------------------------------------------


def payment_start(*, application: Application, citizen: User, return_url: str) -> Payment:
    """Start paying the fee: the provider creates a payment, the citizen is sent to
    ``payment.redirect_url``. An unfinished payment of the same amount is reused.

    ``ValidationFailed`` while the application has problems; ``Conflict`` when nothing is
    to be paid or it is paid.
    """
    if application.citizen_id != citizen.pk:
        raise NotFound()
    if application.status != Application.Status.DRAFT:
        raise Conflict(_("The application has been submitted."))
    if application.payment_status == Application.PaymentStatus.PAID:
        raise Conflict(_("The fee has been paid."), code="already_paid")
    cleaned, problems = application_validate(application)
    if problems:
        raise ValidationFailed(
            _("Please complete the application before paying."), code="incomplete"
        )
    fee = application_fee(application, cleaned)
    if fee <= 0:
        raise Conflict(_("There is no fee to pay."), code="no_fee")
    provider = payments.provider()
    if provider is None:
        raise Conflict(_("Fees cannot be paid online here."), code="no_payment_provider")
    unfinished = (
        Payment.objects.filter(
            application=application,
            provider=provider.key,
            amount_cents=fee,
            status__in=(Payment.Status.OPEN, Payment.Status.PENDING),
        )
        .order_by("-created_at")
        .first()
    )
    if unfinished is not None and unfinished.redirect_url:
        return unfinished
    with translation.override("de"):
        description = f"{application.service.name_de} ({application.municipality.name})"
    # The provider is called before our transaction: if storing fails afterwards, the
    # provider holds an unpaid payment nobody was sent to, which is harmless.
    created = provider.payment_create(
        amount_cents=fee, currency="EUR", description=description, return_url=return_url
    )
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        if locked.payment_status == Application.PaymentStatus.PAID:
            raise Conflict(_("The fee has been paid."), code="already_paid")
        payment = Payment.objects.create(
            municipality_id=locked.municipality_id,
            application=locked,
            provider=provider.key,
            provider_reference=created.reference,
            amount_cents=fee,
            status=Payment.Status.PENDING,
            redirect_url=created.redirect_url,
            history=[{"at": timezone.now().isoformat(), "status": "pending", "source": "created"}],
        )
        locked.fee_cents = fee
        locked.payment_status = Application.PaymentStatus.PENDING
        locked.save(update_fields=["fee_cents", "payment_status", "updated_at"])
        audit_record(
            municipality=locked.municipality,
            action="applications.payment.started",
            actor=citizen,
            target=payment,
            data={"amount_cents": fee, "provider": provider.key},
        )
    return payment


def _application_payment_status(application: Application) -> str:
    statuses = set(Payment.objects.filter(application=application).values_list("status", flat=True))
    if Payment.Status.PAID in statuses:
        return Application.PaymentStatus.PAID
    if statuses & {Payment.Status.OPEN, Payment.Status.PENDING}:
        return Application.PaymentStatus.PENDING
    if Payment.Status.REFUNDED in statuses:
        return Application.PaymentStatus.REFUNDED
    return Application.PaymentStatus.OPEN


def payment_report_apply(
    *,
    provider_key: str,
    report: payments.ProviderReport,
    source: str,
    now: datetime | None = None,
) -> Payment:
    """Apply what the provider says about a payment, exactly once.

    Moves only along ``payments.TRANSITIONS`` (a late "cancelled" never undoes "paid"; a
    late "paid" is always recorded); repeats change nothing. Every report is kept in the
    payment's history. ``NotFound`` for an unknown reference; ``ValidationFailed`` when
    the amount differs from ours (audited).
    """
    now = now or timezone.now()
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update()
            .select_related("application", "application__municipality")
            .filter(provider=provider_key, provider_reference=report.reference)
            .first()
        )
        if payment is None:
            raise NotFound(_("Unknown payment."))
        application = Application.objects.select_for_update().get(pk=payment.application_id)
        if report.amount_cents is not None and report.amount_cents != payment.amount_cents:
            audit_record(
                municipality=application.municipality,
                action="applications.payment.amount_mismatch",
                target=payment,
                data={"reported": report.amount_cents, "expected": payment.amount_cents},
            )
            raise ValidationFailed(_("The payment amount does not match."), code="amount")
        payment.last_checked_at = now
        entry = {"at": now.isoformat(), "status": report.status, "source": source}
        changed = report.status != payment.status and report.status in payments.TRANSITIONS.get(
            payment.status, set()
        )
        if changed:
            previous = payment.status
            payment.status = report.status
            if report.status == Payment.Status.PAID:
                payment.paid_at = now
            payment.history = [*payment.history, entry][-50:]
            payment.save(
                update_fields=["status", "paid_at", "history", "last_checked_at", "updated_at"]
            )
            application.payment_status = _application_payment_status(application)
            application.save(update_fields=["payment_status", "updated_at"])
            _event(
                application,
                TimelineEvent.Kind.PAYMENT,
                note=f"{format_cents(payment.amount_cents)}: {report.status}",
                data={"payment": payment.pk, "status": report.status},
            )
            audit_record(
                municipality=application.municipality,
                action="applications.payment.status_changed",
                target=payment,
                data={"from": previous, "to": report.status, "source": source},
            )
            if (
                report.status == Payment.Status.PAID
                and application.payments.filter(status=Payment.Status.PAID).count() > 1
            ):
                audit_record(
                    municipality=application.municipality,
                    action="applications.payment.duplicate",
                    target=application,
                    data={"payment": payment.pk},
                )
        else:
            payment.history = [*payment.history, {**entry, "ignored": True}][-50:]
            payment.save(update_fields=["history", "last_checked_at", "updated_at"])
    return payment


def payment_callback_handle(*, params: Mapping[str, str], ip: str | None = None) -> Payment:
    """A callback of the configured provider (the browser returning, or a notification).

    ``ValidationFailed`` (code ``invalid_callback``, audited) for a forged or broken one;
    nothing changes then.
    """
    provider = payments.provider()
    if provider is None:
        raise ValidationFailed(
            _("The payment confirmation could not be verified."), code="invalid_callback"
        )
    try:
        report = provider.callback_verify(params=params)
    except payments.CallbackInvalid as error:
        audit_record(
            municipality=None,
            action="applications.payment.callback_refused",
            data={"provider": provider.key, "reason": str(error)[:200]},
            ip=ip,
        )
        raise ValidationFailed(
            _("The payment confirmation could not be verified."), code="invalid_callback"
        ) from error
    return payment_report_apply(provider_key=provider.key, report=report, source="callback")


def payments_reconcile(*, now: datetime | None = None, limit: int = 200) -> int:
    """Ask the provider about payments without a final answer (a lost callback, a citizen
    who closed the browser) and apply what it says; returns how many changed."""
    now = now or timezone.now()
    provider = payments.provider()
    if provider is None:
        return 0
    waiting = list(
        Payment.objects.filter(
            provider=provider.key,
            status__in=(Payment.Status.OPEN, Payment.Status.PENDING),
            created_at__lte=now - RECONCILE_AFTER,
        )
        .order_by("created_at")
        .values_list("pk", "provider_reference", "status")[:limit]
    )
    changed = 0
    for _pk, reference, status in waiting:
        try:
            report = provider.status_query(reference=reference)
        except Exception:
            logger.warning("payment status query failed", exc_info=True)
            continue
        if report.status == status or report.status == "pending":
            Payment.objects.filter(pk=_pk).update(last_checked_at=now)
            continue
        try:
            payment = payment_report_apply(
                provider_key=provider.key, report=report, source="reconciliation", now=now
            )
        except (NotFound, ValidationFailed):
            logger.warning("payment reconciliation refused a report", exc_info=True)
            continue
        if payment.status != status:
            changed += 1
    return changed


# --- the case: documents requested, reminders, the notice ------------------------------------


def application_documents_request(
    *, application: Application, note: str, now: datetime | None = None
) -> Message:
    """The case worker found documents missing (the process calls this): the citizen gets
    a request in the Postfach and sees it on the application's page."""
    note = (note or "").strip()[:NOTE_MAX_CHARS]
    now = now or timezone.now()
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        if locked.status in (Application.Status.WITHDRAWN, Application.Status.CLOSED):
            raise Conflict(_("The application is closed."))
        with translation.override(locked.citizen.language or "de"):
            subject = _("Documents missing for your application %(reference)s") % {
                "reference": locked.reference
            }
            body = _(
                "Please supply the following for your application %(reference)s "
                "(%(service)s):\n\n%(note)s\n\nUpload the documents on the page of your "
                "application: %(link)s"
            ) % {
                "reference": locked.reference,
                "service": locked.service.name,
                "note": note or _("(see the application page)"),
                "link": site_url_of(locked.municipality).rstrip("/")
                + reverse("applications:detail", args=[locked.pk]),
            }
        message = message_send(
            sender=None,
            sender_unit=locked.org_unit,
            recipient=locked.citizen,
            kind=Message.Kind.REQUEST,
            subject=subject,
            body=body,
            reference=locked.reference,
            business_object=locked,
            now=now,
        )
        locked.documents_requested_note = note
        locked.documents_requested_at = now
        _status_set(
            locked,
            Application.Status.DOCUMENTS_REQUESTED,
            event_kind=TimelineEvent.Kind.DOCUMENTS_REQUESTED,
            note=note,
            extra_fields=["documents_requested_note", "documents_requested_at"],
        )
    return message


def application_reminder_send(
    *, application: Application, number: int, now: datetime | None = None
) -> Message:
    """Remind the citizen of the requested documents (the process calls this)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        with translation.override(locked.citizen.language or "de"):
            subject = _("Reminder: documents missing for your application %(reference)s") % {
                "reference": locked.reference
            }
            body = _(
                "We are still waiting for the following for your application %(reference)s:"
                "\n\n%(note)s\n\nUpload the documents on the page of your application: "
                "%(link)s"
            ) % {
                "reference": locked.reference,
                "note": locked.documents_requested_note or "-",
                "link": site_url_of(locked.municipality).rstrip("/")
                + reverse("applications:detail", args=[locked.pk]),
            }
        message = message_send(
            sender=None,
            sender_unit=locked.org_unit,
            recipient=locked.citizen,
            kind=Message.Kind.REQUEST,
            subject=subject,
            body=body,
            reference=locked.reference,
            business_object=locked,
            now=now,
        )
        _event(
            locked,
            TimelineEvent.Kind.REMINDER,
            note=str(number),
            data={"number": number, "message": message.pk},
        )
    return message


def documents_supplied(
    *,
    application: Application,
    citizen: User,
    uploads: Sequence[UploadedFile],
    note: str = "",
    ip: str | None = None,
    now: datetime | None = None,
) -> list[Document]:
    """The citizen uploads what was asked for: the files are stored, the case worker's
    process continues (message ``documents_received``) and the status is "in review"."""
    now = now or timezone.now()
    note = " ".join((note or "").split())[:NOTE_MAX_CHARS]
    with _files_guard(), transaction.atomic():
        stored = documents_upload(
            application=application, citizen=citizen, uploads=uploads, on_request=True, ip=ip
        )
        locked = (
            Application.objects.select_for_update(of=("self",))
            .select_related("service", "citizen", "municipality")
            .get(pk=application.pk)
        )
        caught = workflow.message_correlate(
            municipality=locked.municipality,
            message_name=DOCUMENTS_MESSAGE,
            business_object=locked,
            payload={"documents": [d.original_name for d in stored], "note": note},
            now=now,
        )
        locked.documents_requested_note = ""
        _status_set(
            locked,
            Application.Status.IN_REVIEW,
            event_kind=TimelineEvent.Kind.DOCUMENTS_SUPPLIED,
            actor=citizen,
            note=note,
            extra_fields=["documents_requested_note"],
        )
        if not caught:
            logger.warning(
                "documents supplied but no process waited", extra={"application": locked.pk}
            )
    return stored


def application_notice_issue(
    *, application: Application, decision: str, reason: str, now: datetime | None = None
) -> Application:
    """Record the decision, make the notice (Bescheid, PDF from a template) and deliver it
    to the citizen's Postfach; without their consent to digital delivery it must go by
    post, which staff see on the application's page (the process calls this)."""
    if decision not in Application.Decision.values:
        raise ValidationFailed(fields={"decision": [_("Unknown decision.")]})
    now = now or timezone.now()
    reason = (reason or "").strip()[:5000]
    with _files_guard(), transaction.atomic():
        locked = (
            Application.objects.select_for_update(of=("self",))
            .select_related("service", "citizen", "municipality", "org_unit")
            .get(pk=application.pk)
        )
        if locked.notice_message_id is not None or locked.notice_by_post_required:
            return locked  # issued already (a retried call)
        locked.decision = decision
        locked.decision_reason = reason
        locked.decided_at = now
        locked.save(update_fields=["decision", "decision_reason", "decided_at", "updated_at"])
        _event(
            locked,
            TimelineEvent.Kind.DECIDED,
            note=locked.get_decision_display(),
            data={"decision": decision},
            public=False,
        )
        content = _notice_pdf(locked, now=now)
        name = f"Bescheid-{locked.reference}.pdf"
        _store_document(
            locked,
            kind=Document.Kind.NOTICE,
            name=name,
            content_type="application/pdf",
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            content=ContentFile(content),
            scan_status=Document.ScanStatus.CLEAN,
        )
        with translation.override(locked.citizen.language or "de"):
            subject = _("Notice on your application %(reference)s") % {
                "reference": locked.reference
            }
            body = _(
                "The notice (Bescheid) on your application %(reference)s (%(service)s) is attached."
            ) % {"reference": locked.reference, "service": locked.service.name}
        try:
            message = message_send(
                sender=None,
                sender_unit=locked.org_unit,
                recipient=locked.citizen,
                kind=Message.Kind.NOTICE,
                subject=subject,
                body=body,
                attachments=[SimpleUploadedFile(name, content, "application/pdf")],
                reference=locked.reference,
                business_object=locked,
                now=now,
            )
        except NoConsent:
            locked.notice_by_post_required = True
            _status_set(
                locked,
                Application.Status.DECIDED,
                event_kind=TimelineEvent.Kind.NOTICE_BY_POST,
                extra_fields=["notice_by_post_required"],
            )
        else:
            locked.notice_message = message
            _status_set(
                locked,
                Application.Status.NOTICE_ISSUED,
                event_kind=TimelineEvent.Kind.NOTICE_ISSUED,
                extra_fields=["notice_message"],
            )
        audit_record(
            municipality=locked.municipality,
            action="applications.notice.issued",
            target=locked,
            data={
                "reference": locked.reference,
                "decision": decision,
                "channel": "post" if locked.notice_by_post_required else "postfach",
            },
        )
    return locked


def _notice_pdf(application: Application, *, now: datetime) -> bytes:
    with translation.override("de"):
        return template_pdf(
            "applications/pdf/notice.txt",
            {
                "application": application,
                "municipality": application.municipality,
                "unit": application.org_unit,
                "citizen": application.citizen,
                "service_name": application.service.name_de,
                "date": now.astimezone(BERLIN).strftime("%d.%m.%Y"),
                "submitted": _berlin(application.submitted_at or now),
                "approved": application.decision == Application.Decision.APPROVE,
                "reason": _(application.decision_reason)
                if application.decision_reason in DECISION_TABLE_REASONS
                else application.decision_reason,
                "fee": format_cents(application.fee_cents) if application.fee_cents else "",
            },
            title=f"Bescheid {application.reference}",
            header_text=f"{application.municipality.name} - {application.org_unit.name_de}",
            footer_text=f"Bescheid {application.reference}",
            created=now,
        )


def _require_handler(user: User, application: Application) -> None:
    from rathaus.applications.models import HANDLE_APPLICATIONS
    from rathaus.organisation.permissions import user_can

    if not user_can(user=user, permission=HANDLE_APPLICATIONS, org_unit=application.org_unit):
        raise PermissionDenied()


def notice_posted_record(
    *, application: Application, user: User, note: str, ip: str | None = None
) -> Application:
    """Staff record that the notice went by post (the citizen had not agreed to digital
    delivery)."""
    _require_handler(user, application)
    note = " ".join((note or "").split())[:NOTE_MAX_CHARS]
    if not note:
        raise ValidationFailed(fields={"note": [_("Say how and when the notice was sent.")]})
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        if not locked.notice_by_post_required or locked.notice_by_post_sent_at is not None:
            raise Conflict(_("No notice is waiting to be sent by post."))
        locked.notice_by_post_sent_at = timezone.now()
        _status_set(
            locked,
            Application.Status.NOTICE_ISSUED,
            event_kind=TimelineEvent.Kind.NOTICE_POSTED,
            actor=user,
            note=note,
            extra_fields=["notice_by_post_sent_at"],
        )
        audit_record(
            municipality=locked.municipality,
            action="applications.notice.posted",
            actor=user,
            target=locked,
            data={"note": note},
            ip=ip,
        )
    return locked


def application_close(
    *, application: Application, user: User, ip: str | None = None
) -> Application:
    """Staff close an application whose notice was issued (the file is complete)."""
    _require_handler(user, application)
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        if locked.status != Application.Status.NOTICE_ISSUED:
            raise Conflict(_("Only an application whose notice was issued can be closed."))
        locked.closed_at = timezone.now()
        _status_set(
            locked,
            Application.Status.CLOSED,
            event_kind=TimelineEvent.Kind.CLOSED,
            actor=user,
            extra_fields=["closed_at"],
        )
        audit_record(
            municipality=locked.municipality,
            action="applications.application.closed",
            actor=user,
            target=locked,
            ip=ip,
        )
    return locked


def application_staff_read(*, application: Application, user: User, ip: str | None = None) -> None:
    """A case worker opens an application: a read of the citizen's personal data."""
    audit_personal_data_read(
        municipality=application.municipality,
        actor=user,
        subject=application.citizen,
        purpose=f"Antrag {application.reference or application.pk} bearbeiten",
        ip=ip,
    )
