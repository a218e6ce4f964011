"""Pages of the online applications.

Citizens: start an application from a service (``/leistungen/<slug>/antrag/``), fill its
pages, upload documents, review, pay, submit, and follow it (``/konto/antraege/...``).
Staff: the applications of their units (``/verwaltung/antraege/``) and the form editor
(``/verwaltung/formulare/``). The test payment provider's page is ``/zahlung/test/...``.
Everything works without JavaScript: a group's "add another" posts the page back.
"""

from __future__ import annotations

import json
import re
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
)
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from rathaus.accounts.models import User
from rathaus.accounts.trust import TrustLevel, session_trust_level
from rathaus.applications import access, formschema, payments, selectors, services
from rathaus.applications.fees import fee_item, format_cents
from rathaus.applications.forms import (
    FormCreateForm,
    FormSettingsForm,
    NoticePostedForm,
    SchemaForm,
    StartForm,
    SubmitForm,
    SupplyForm,
    WithdrawForm,
)
from rathaus.applications.models import (
    HANDLE_APPLICATIONS,
    MANAGE_FORMS,
    Application,
    Document,
    FormVersion,
)
from rathaus.applications.payments import TestPaymentProvider
from rathaus.catalog.access import service_for_public
from rathaus.core.errors import ApplicationError
from rathaus.core.forms import form_show_error
from rathaus.core.http import client_address
from rathaus.core.tenancy import request_municipality
from rathaus.oidc.links import step_up_url
from rathaus.organisation.decorators import staff_member_required
from rathaus.workflow.models import UserTask

PAGE_SIZE = 25
PAGE_PARAMETER = "seite"
DOWNLOAD_CSP = "default-src 'none'; sandbox"
_GROUP_ACTION = re.compile(r"^(add|remove):([a-z][a-z0-9_]{0,39})(?::(\d{1,2}))?$")
_DOCUMENT_ACTION = re.compile(r"^delete_document:(\d{1,18})$")


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _download(document: Document) -> HttpResponse:
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=document.original_name,
        content_type=document.content_type,
    )
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    # A streaming response; typed as the page views' response for the decorators.
    return cast(HttpResponse, response)


def _trust_redirect(request: HttpRequest, level: int) -> HttpResponseRedirect | None:
    """Send a session below the form's trust level to the step-up page."""
    if session_trust_level(request) < level:
        return HttpResponseRedirect(
            step_up_url(level=TrustLevel(level), next_url=request.get_full_path())
        )
    return None


def _citizen_application(request: HttpRequest, application_id: int) -> Application:
    return access.application_for_citizen(
        user=request.user,
        municipality=request_municipality(request),
        application_id=application_id,
    )


def _min_trust(application: Application) -> int:
    return int(application.form_version.definition.min_trust_level)


# --- start --------------------------------------------------------------------------------------


@login_required
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def service_apply(request: HttpRequest, slug: str) -> HttpResponse:
    """The start page of an online application for a service."""
    municipality = request_municipality(request)
    service = service_for_public(municipality=municipality, slug=slug)
    definition = selectors.form_for_service(service_id=service.pk)
    if definition is None or definition.current_version is None:
        raise Http404
    if (gate := _trust_redirect(request, definition.min_trust_level)) is not None:
        return gate
    user = _user(request)
    form = StartForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                application = services.application_start(
                    citizen=user,
                    service=service,
                    idempotency_key=form.cleaned_data["idempotency_key"],
                )
            except ApplicationError as error:
                form_show_error(form, error)
                status = error.status
            else:
                return redirect("applications:step", application.pk, 1)
    schema = definition.current_version.schema
    return render(
        request,
        "applications/start.html",
        {
            "service": service,
            "definition": definition,
            "title": formschema.localised(schema, "title"),
            "pages": [formschema.localised(page, "title") for page in schema["pages"]],
            "fee": fee_item(service.fees or [], schema),
            "draft": selectors.draft_for(user=user, service_id=service.pk),
            "form": form,
            "is_staff": user.is_staff,
        },
        status=status,
    )


# --- filling the pages ----------------------------------------------------------------------


def _blocks_for(
    form: formschema.PageForm, by_field: dict[str, list[Document]]
) -> list[tuple[str, Any]]:
    """The page's blocks for ``_blocks.html``; file fields with their documents."""
    blocks: list[tuple[str, Any]] = []
    for kind, item in form.blocks():
        if kind != "file":
            blocks.append((kind, item))
            continue
        blocks.append(
            (
                kind,
                {
                    "spec": item,
                    "label": formschema.localised(item, "label"),
                    "help": formschema.localised(item, "help"),
                    "required": bool(item.get("required")),
                    "documents": by_field.get(item["id"], []),
                    "errors": form.group_errors.get(item["id"], []),
                    "input_name": f"_file_{form.prefix + '-' if form.prefix else ''}{item['id']}",
                    "max_files": item.get("constraints", {}).get("max_files", 1),
                },
            )
        )
    return blocks


def _step_context(
    application: Application, index: int, form: formschema.PageForm
) -> dict[str, Any]:
    schema = application.form_version.schema
    by_field: dict[str, list[Document]] = {}
    for document in selectors.documents_of(application=application, kind=Document.Kind.UPLOAD):
        by_field.setdefault(document.field_id, []).append(document)
    blocks = _blocks_for(form, by_field)
    pages = [formschema.localised(page, "title") for page in schema["pages"]]
    return {
        "application": application,
        "title": formschema.localised(schema, "title"),
        "page_title": pages[index],
        "pages": pages,
        "index": index,
        "number": index + 1,
        "is_last": index == len(pages) - 1,
        "form": form,
        "blocks": blocks,
        "has_files": any(kind == "file" for kind, _item in blocks),
    }


def _locked_page(request: HttpRequest, application: Application) -> HttpResponse:
    messages.info(
        request,
        _("The fee has been paid or a payment is in progress, so the data cannot change."),
    )
    return redirect("applications:review", application.pk)


@login_required
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def application_step(request: HttpRequest, application_id: int, number: int) -> HttpResponse:
    """One page of the form: save the draft, go on, go back, add or remove a group's
    entries, upload or remove files. Invalid input comes back with field errors and
    everything typed."""
    application = _citizen_application(request, application_id)
    if (gate := _trust_redirect(request, _min_trust(application))) is not None:
        return gate
    if not application.is_draft:
        return redirect("applications:detail", application.pk)
    schema = application.form_version.schema
    index = number - 1
    if not 0 <= index < formschema.page_count(schema):
        raise Http404
    page = schema["pages"][index]
    step_url = reverse("applications:step", args=[application.pk, number])
    if request.method != "POST":
        form = formschema.PageForm(
            page, initial=application.data, documents=services.documents_by_field(application)
        )
        return render(request, "applications/step.html", _step_context(application, index, form))

    if application.payment_status in (
        Application.PaymentStatus.PENDING,
        Application.PaymentStatus.PAID,
    ):
        return _locked_page(request, application)
    user = _user(request)
    action = str(request.POST.get("_action", "save"))[:80]
    counts = formschema.post_counts(page, request.POST)
    raw = formschema.raw_values(page, request.POST, counts)
    file_errors: dict[str, list[str]] = {}

    # Files first: what was typed on the page is kept whatever happens to them.
    for spec in page["fields"]:
        if spec["type"] != "file":
            continue
        uploads = request.FILES.getlist(f"_file_{spec['id']}")
        if not uploads:
            continue
        try:
            services.documents_upload(
                application=application,
                citizen=user,
                uploads=uploads,
                field_id=spec["id"],
                ip=client_address(request),
            )
        except ApplicationError as error:
            file_errors[spec["id"]] = error.fields.get("documents") or [str(error.message)]

    if match := _DOCUMENT_ACTION.match(action):
        document = access.document_for_citizen(
            user=user,
            municipality=request_municipality(request),
            application_id=application.pk,
            document_id=int(match.group(1)),
        )
        try:
            services.document_remove(document=document, citizen=user)
        except ApplicationError as error:
            messages.error(request, str(error.message))
    elif match := _GROUP_ACTION.match(action):
        verb, group_id, position = match.groups()
        group = next(
            (s for s in page["fields"] if s["id"] == group_id and s["type"] == "group"), None
        )
        if group is None:
            raise Http404
        items = list(raw.get(group_id, []))
        if verb == "add" and len(items) < int(group.get("max", 1)):
            items.append({})
        elif verb == "remove" and position is not None and int(position) < len(items):
            items.pop(int(position))
        raw[group_id] = items

    try:
        services.application_page_save(application=application, page_index=index, values=raw)
    except ApplicationError as error:
        messages.error(request, str(error.message))
        return redirect("applications:review", application.pk)

    documents = services.documents_by_field(application)
    if file_errors or action in ("next", "save"):
        form = formschema.PageForm(page, data=request.POST, counts=counts, documents=documents)
        valid = form.is_valid() and not file_errors
        if file_errors:
            for field_id, problems in file_errors.items():
                form.group_errors.setdefault(field_id, []).extend(problems)
            form.add_error(None, _("Some files were not accepted."))
        if action == "next" and valid:
            services.application_page_save(
                application=application, page_index=index, values=form.values()
            )
            if index + 1 < formschema.page_count(schema):
                return redirect("applications:step", application.pk, number + 1)
            return redirect("applications:review", application.pk)
        if action == "save" and not file_errors:
            messages.success(
                request, _("Your draft was saved. You can come back to it at any time.")
            )
            return redirect(step_url)
        if not valid:
            return render(
                request,
                "applications/step.html",
                _step_context(application, index, form),
                status=400,
            )
    if action == "back" and index > 0:
        return redirect("applications:step", application.pk, number - 1)
    return redirect(step_url)


@login_required
@never_cache
@require_http_methods(["GET", "HEAD"])
def application_review(request: HttpRequest, application_id: int) -> HttpResponse:
    """Everything entered, the problems left, the fee and the submit button."""
    application = _citizen_application(request, application_id)
    if (gate := _trust_redirect(request, _min_trust(application))) is not None:
        return gate
    if not application.is_draft:
        return redirect("applications:detail", application.pk)
    return _review_page(request, application, SubmitForm())


def _review_page(
    request: HttpRequest, application: Application, form: SubmitForm, status: int = 200
) -> HttpResponse:
    schema = application.form_version.schema
    cleaned, problems = services.application_validate(application)
    fee = services.application_fee(application, cleaned) if not problems else None
    summary_data = cleaned if not problems else application.data
    pages = formschema.summary(schema, summary_data)
    for index, page in enumerate(pages):
        page["number"] = index + 1
        page["problems"] = problems.get(index, [])
    documents = list(selectors.documents_of(application=application, kind=Document.Kind.UPLOAD))
    labels = {f["id"]: formschema.localised(f, "label") for f in formschema.file_fields(schema)}
    return render(
        request,
        "applications/review.html",
        {
            "application": application,
            "title": formschema.localised(schema, "title"),
            "pages": pages,
            "has_problems": bool(problems),
            "documents": [(labels.get(d.field_id, ""), d) for d in documents],
            "fee": fee,
            "fee_text": format_cents(fee) if fee else "",
            "paid": application.payment_status == Application.PaymentStatus.PAID,
            "online_payment": payments.provider() is not None,
            "payment_pending": application.payment_status == Application.PaymentStatus.PENDING,
            "form": form,
            "page_titles": [page["title"] for page in pages],
        },
        status=status,
    )


@login_required
@never_cache
@require_http_methods(["POST"])
def application_submit(request: HttpRequest, application_id: int) -> HttpResponse:
    """Submit (idempotent: a second POST finds it submitted and shows the confirmation)."""
    application = _citizen_application(request, application_id)
    if (gate := _trust_redirect(request, _min_trust(application))) is not None:
        return gate
    if not application.is_draft:
        return redirect("applications:confirmation", application.pk)
    form = SubmitForm(request.POST)
    if not form.is_valid():
        return _review_page(request, application, form, status=400)
    try:
        services.application_submit(
            application=application, citizen=_user(request), ip=client_address(request)
        )
    except ApplicationError as error:
        form.add_error(None, str(error.message))
        return _review_page(request, application, form, status=error.status)
    return redirect("applications:confirmation", application.pk)


@login_required
@never_cache
@require_http_methods(["GET", "HEAD"])
def application_confirmation(request: HttpRequest, application_id: int) -> HttpResponse:
    application = _citizen_application(request, application_id)
    if application.is_draft:
        return redirect("applications:review", application.pk)
    receipt = selectors.documents_of(application=application, kind=Document.Kind.RECEIPT).first()
    return render(
        request,
        "applications/confirmation.html",
        {"application": application, "receipt": receipt},
    )


# --- payment ------------------------------------------------------------------------------


@login_required
@never_cache
@require_http_methods(["POST"])
def payment_begin(request: HttpRequest, application_id: int) -> HttpResponse:
    """Create the payment at the provider and send the citizen there."""
    application = _citizen_application(request, application_id)
    if (gate := _trust_redirect(request, _min_trust(application))) is not None:
        return gate
    return_url = request.build_absolute_uri(
        reverse("applications:payment_return", args=[application.pk])
    )
    try:
        payment = services.payment_start(
            application=application, citizen=_user(request), return_url=return_url
        )
    except ApplicationError as error:
        messages.error(request, str(error.message))
        return redirect("applications:review", application.pk)
    return HttpResponseRedirect(payment.redirect_url)


@login_required
@never_cache
@require_http_methods(["GET"])
def payment_return(request: HttpRequest, application_id: int) -> HttpResponse:
    """The provider sends the citizen back here with its signed result."""
    application = _citizen_application(request, application_id)
    try:
        payment = services.payment_callback_handle(
            params=request.GET.dict(), ip=client_address(request)
        )
    except ApplicationError as error:
        messages.error(request, str(error.message))
        return redirect("applications:review", application.pk)
    if payment.application_id != application.pk:
        raise Http404
    if payment.status == "paid":
        messages.success(request, _("Thank you, the fee has been paid."))
    elif payment.status in ("cancelled", "failed"):
        messages.error(request, _("The payment was not completed. You can try again."))
    return redirect("applications:review", application.pk)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def test_provider_page(request: HttpRequest, reference: str) -> HttpResponse:
    """The test payment provider's own page: marked TEST, "pay" or "cancel"."""
    if not isinstance(payments.provider(), TestPaymentProvider):
        raise Http404
    record = access.test_provider_payment(reference=reference)
    if request.method == "POST":
        outcome = request.POST.get("outcome")
        if outcome not in ("paid", "cancelled"):
            return render(
                request,
                "applications/test_provider.html",
                {"record": record, "amount": format_cents(record.amount_cents)},
                status=400,
            )
        link = TestPaymentProvider.decide(reference=record.reference, outcome=outcome)
        if not url_has_allowed_host_and_scheme(
            link, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            raise Http404
        return HttpResponseRedirect(link)
    return render(
        request,
        "applications/test_provider.html",
        {
            "record": record,
            "amount": format_cents(record.amount_cents),
            "return_link": TestPaymentProvider.return_link(record)
            if record.status in ("paid", "cancelled")
            else "",
        },
    )


# --- following an application ------------------------------------------------------------------


@login_required
@never_cache
@require_http_methods(["GET", "HEAD"])
def application_list(request: HttpRequest) -> HttpResponse:
    paginator = Paginator(selectors.application_list_for_citizen(user=_user(request)), PAGE_SIZE)
    return render(
        request,
        "applications/list.html",
        {"page_obj": paginator.get_page(request.GET.get(PAGE_PARAMETER))},
    )


def _detail_page(
    request: HttpRequest,
    application: Application,
    *,
    supply_form: SupplyForm | None = None,
    status: int = 200,
) -> HttpResponse:
    documents = list(selectors.documents_of(application=application))
    return render(
        request,
        "applications/detail.html",
        {
            "application": application,
            "timeline": selectors.timeline_of(application=application, public_only=True),
            "uploads": [d for d in documents if d.kind == Document.Kind.UPLOAD],
            "receipt": next((d for d in documents if d.kind == Document.Kind.RECEIPT), None),
            "supply_form": supply_form or SupplyForm(),
            "withdraw_form": WithdrawForm(),
            "can_withdraw": application.is_draft or application.is_open,
        },
        status=status,
    )


@login_required
@never_cache
@require_http_methods(["GET", "HEAD"])
def application_detail(request: HttpRequest, application_id: int) -> HttpResponse:
    """Status, timeline, documents; the request for documents with the upload form."""
    application = _citizen_application(request, application_id)
    if (gate := _trust_redirect(request, _min_trust(application))) is not None:
        return gate
    return _detail_page(request, application)


@login_required
@never_cache
@require_http_methods(["POST"])
def documents_supply(request: HttpRequest, application_id: int) -> HttpResponse:
    """The citizen uploads the documents the case worker asked for."""
    application = _citizen_application(request, application_id)
    if (gate := _trust_redirect(request, _min_trust(application))) is not None:
        return gate
    form = SupplyForm(request.POST, request.FILES)
    if not form.is_valid():
        return _detail_page(request, application, supply_form=form, status=400)
    try:
        services.documents_supplied(
            application=application,
            citizen=_user(request),
            uploads=form.cleaned_data["documents"],
            note=form.cleaned_data["note"],
            ip=client_address(request),
        )
    except ApplicationError as error:
        form_show_error(form, error)
        return _detail_page(request, application, supply_form=form, status=error.status)
    messages.success(request, _("Thank you, the documents were sent to the case worker."))
    return redirect("applications:detail", application.pk)


@login_required
@never_cache
@require_http_methods(["POST"])
def application_withdraw(request: HttpRequest, application_id: int) -> HttpResponse:
    application = _citizen_application(request, application_id)
    form = WithdrawForm(request.POST)
    if form.is_valid():
        try:
            services.application_withdraw(
                application=application,
                citizen=_user(request),
                reason=form.cleaned_data["reason"],
                ip=client_address(request),
            )
        except ApplicationError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, _("The application was withdrawn."))
    return redirect("applications:detail", application.pk)


@login_required
@require_http_methods(["GET"])
def document_download(request: HttpRequest, application_id: int, document_id: int) -> HttpResponse:
    document = access.document_for_citizen(
        user=request.user,
        municipality=request_municipality(request),
        application_id=application_id,
        document_id=document_id,
    )
    if (gate := _trust_redirect(request, _min_trust(document.application))) is not None:
        return gate
    return _download(document)


# --- case workers ----------------------------------------------------------------------------


@staff_member_required(HANDLE_APPLICATIONS)
@never_cache
@require_http_methods(["GET", "HEAD"])
def staff_list(request: HttpRequest) -> HttpResponse:
    status = str(request.GET.get("status", ""))[:30]
    queryset = selectors.application_list_for_staff(
        user=_user(request), municipality=request_municipality(request), status=status
    )
    paginator = Paginator(queryset, PAGE_SIZE)
    return render(
        request,
        "applications/staff_list.html",
        {
            "page_obj": paginator.get_page(request.GET.get(PAGE_PARAMETER)),
            "statuses": [s for s in Application.Status.choices if s[0] != "draft"],
            "status": status if status in Application.Status.values else "",
        },
    )


def _task_link(task: UserTask) -> str:
    try:
        return reverse("workflow:task_detail", args=[task.pk])
    except NoReverseMatch:  # the workflow pages are not installed
        return ""


def _staff_page(
    request: HttpRequest,
    application: Application,
    *,
    posted_form: NoticePostedForm | None = None,
    status: int = 200,
) -> HttpResponse:
    schema = application.form_version.schema
    documents = list(selectors.documents_of(application=application))
    labels = {f["id"]: formschema.localised(f, "label") for f in formschema.file_fields(schema)}
    tasks = selectors.open_tasks_of(application=application)
    notice = application.notice_message
    return render(
        request,
        "applications/staff_detail.html",
        {
            "application": application,
            "pages": formschema.summary(schema, application.data),
            "documents": [(labels.get(d.field_id, ""), d) for d in documents],
            "payments": selectors.payments_of(application=application),
            "timeline": selectors.timeline_of(application=application, public_only=False),
            "tasks": [(task, _task_link(task)) for task in tasks],
            "instance": application.workflow_instance,
            "notice": notice,
            "delivery": getattr(notice, "delivery", None) if notice else None,
            "posted_form": posted_form or NoticePostedForm(),
            "fee_text": format_cents(application.fee_cents) if application.fee_cents else "",
        },
        status=status,
    )


def _staff_application(request: HttpRequest, application_id: int) -> Application:
    return access.application_for_staff(
        user=request.user,
        municipality=request_municipality(request),
        application_id=application_id,
    )


@staff_member_required(HANDLE_APPLICATIONS)
@never_cache
@require_http_methods(["GET", "HEAD"])
def staff_detail(request: HttpRequest, application_id: int) -> HttpResponse:
    """An application with all data, documents, payments, timeline and its open tasks."""
    application = _staff_application(request, application_id)
    services.application_staff_read(
        application=application, user=_user(request), ip=client_address(request)
    )
    return _staff_page(request, application)


@staff_member_required(HANDLE_APPLICATIONS)
@never_cache
@require_http_methods(["POST"])
def staff_notice_posted(request: HttpRequest, application_id: int) -> HttpResponse:
    application = _staff_application(request, application_id)
    form = NoticePostedForm(request.POST)
    if form.is_valid():
        try:
            services.notice_posted_record(
                application=application,
                user=_user(request),
                note=form.cleaned_data["note"],
                ip=client_address(request),
            )
        except ApplicationError as error:
            form_show_error(form, error)
            return _staff_page(request, application, posted_form=form, status=error.status)
        messages.success(request, _("Recorded: the notice was sent by post."))
        return redirect("applications:staff_detail", application.pk)
    return _staff_page(request, application, posted_form=form, status=400)


@staff_member_required(HANDLE_APPLICATIONS)
@never_cache
@require_http_methods(["POST"])
def staff_close(request: HttpRequest, application_id: int) -> HttpResponse:
    application = _staff_application(request, application_id)
    try:
        services.application_close(
            application=application, user=_user(request), ip=client_address(request)
        )
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The application was closed."))
    return redirect("applications:staff_detail", application.pk)


@staff_member_required(HANDLE_APPLICATIONS)
@require_http_methods(["GET"])
def staff_document(request: HttpRequest, application_id: int, document_id: int) -> HttpResponse:
    document = access.document_for_staff(
        user=request.user,
        municipality=request_municipality(request),
        application_id=application_id,
        document_id=document_id,
    )
    return _download(document)


# --- the form editor ---------------------------------------------------------------------------


@staff_member_required(MANAGE_FORMS)
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def form_list(request: HttpRequest) -> HttpResponse:
    """The application forms, and a new one."""
    municipality = request_municipality(request)
    form = FormCreateForm(request.POST or None, municipality=municipality)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                definition = services.form_definition_create(
                    municipality=municipality,
                    service=data["service"],
                    key=data["key"],
                    org_unit=data["org_unit"],
                    min_trust_level=data["min_trust_level"],
                    user=_user(request),
                )
            except ApplicationError as error:
                form_show_error(form, error)
                status = error.status
            else:
                messages.success(request, _("The form was created as a draft."))
                return redirect("applications:form_edit", definition.pk)
    return render(
        request,
        "applications/form_list.html",
        {"definitions": selectors.form_definition_list(municipality=municipality), "form": form},
        status=status,
    )


@staff_member_required(MANAGE_FORMS)
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def form_edit(request: HttpRequest, definition_id: int) -> HttpResponse:
    """Edit the draft schema (validated JSON with a preview), the settings, and publish."""
    municipality = request_municipality(request)
    user = _user(request)
    definition = access.form_definition_for_editor(
        user=user, municipality=municipality, definition_id=definition_id
    )
    draft = definition.versions.filter(status=FormVersion.Status.DRAFT).first()
    shown = draft or definition.current_version
    action = request.POST.get("_action", "")
    settings_form = FormSettingsForm(
        request.POST if action == "settings" else None,
        municipality=municipality,
        initial={
            "org_unit": definition.org_unit_id,
            "min_trust_level": definition.min_trust_level,
            "is_active": definition.is_active,
        },
    )
    schema_form = SchemaForm(
        request.POST if action in ("save", "preview") else None,
        initial={"schema": formschema_json(shown.schema if shown else {})},
    )
    preview_schema = shown.schema if shown else None
    status = 200
    if request.method == "POST":
        status = 400
        try:
            if action == "settings" and settings_form.is_valid():
                data = settings_form.cleaned_data
                services.form_definition_update(
                    definition=definition,
                    user=user,
                    org_unit=data["org_unit"],
                    min_trust_level=data["min_trust_level"],
                    is_active=data["is_active"],
                )
                messages.success(request, _("The settings were saved."))
                return redirect("applications:form_edit", definition.pk)
            if action in ("save", "preview") and schema_form.is_valid():
                schema = schema_form.cleaned_data["schema"]
                if action == "preview":
                    preview_schema = formschema.schema_validate(schema)
                    status = 200
                else:
                    services.form_draft_save(definition=definition, schema=schema, user=user)
                    messages.success(request, _("The draft was saved."))
                    return redirect("applications:form_edit", definition.pk)
            if action == "publish":
                if draft is None:
                    messages.error(request, _("There is no draft to publish."))
                    return redirect("applications:form_edit", definition.pk)
                services.form_version_publish(version=draft, user=user)
                messages.success(
                    request,
                    _("Version %(number)d was published.") % {"number": draft.number},
                )
                return redirect("applications:form_edit", definition.pk)
        except formschema.SchemaInvalid as error:
            for problem in error.problems:
                schema_form.add_error("schema", problem)
            preview_schema = None
        except ApplicationError as error:
            target = schema_form if action in ("save", "preview", "publish") else settings_form
            form_show_error(target, error)
            status = error.status
            preview_schema = None
    preview = []
    if preview_schema:
        for page in preview_schema["pages"]:
            page_form = formschema.PageForm(page, prefix="vorschau")
            preview.append((formschema.localised(page, "title"), _blocks_for(page_form, {})))
    return render(
        request,
        "applications/form_edit.html",
        {
            "definition": definition,
            "draft": draft,
            "versions": definition.versions.order_by("-number"),
            "settings_form": settings_form,
            "schema_form": schema_form,
            "preview": preview,
        },
        status=status,
    )


def formschema_json(schema: Any) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2)
