"""Pages of the e-invoice inbox: upload, list, readable view, checks, export, register."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from rathaus.accounts.decorators import staff_required
from rathaus.core.errors import ApplicationError
from rathaus.core.forms import form_show_error
from rathaus.core.tenancy import request_municipality
from rathaus.einvoice import access, presentation, selectors, services
from rathaus.einvoice.forms import DecisionForm, DuplicateForm, LeitwegForm, RouteForm, UploadForm
from rathaus.einvoice.models import APPROVE, EXPORT, MANAGE, RECEIVE, Export, Invoice, LeitwegRoute
from rathaus.organisation.permissions import user_can

if TYPE_CHECKING:
    from rathaus.accounts.models import User

PAGE_SIZE = 50


def _staff(request: HttpRequest) -> User:
    # The decorators let only signed-in staff through.
    return cast("User", request.user)


def _may_see_inbox(user: Any) -> bool:
    return bool(user.has_perm(RECEIVE) or user.has_perm(APPROVE))


@staff_required()
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def inbox(request: HttpRequest) -> HttpResponse:
    """The invoices the person may see, newest first; upload of several files."""
    user = _staff(request)
    if not _may_see_inbox(user):
        raise PermissionDenied
    municipality = request_municipality(request)
    may_upload = user_can(user=user, permission=RECEIVE, org_unit=None)
    form = UploadForm()
    status_code = 200
    if request.method == "POST":
        if not may_upload:
            raise PermissionDenied
        form = UploadForm(request.POST, request.FILES)
        status_code = 400
        if form.is_valid():
            results: list[dict[str, Any]] = []
            for upload in form.cleaned_data["invoices"]:
                name = str(upload.name)[:255]
                try:
                    if upload.size > services.max_bytes(municipality, Invoice.Channel.UPLOAD):
                        raise services.ValidationFailed(
                            _("The file is too large."), code="too_large"
                        )
                    invoice, created = services.invoice_receive(
                        municipality=municipality,
                        data=upload.read(),
                        file_name=name,
                        channel=Invoice.Channel.UPLOAD,
                        user=user,
                    )
                except ApplicationError as error:
                    results.append({"name": name, "error": str(error.message)})
                else:
                    results.append({"name": name, "invoice": invoice, "created": created})
            return render(request, "einvoice/upload_result.html", {"results": results}, status=200)
    status = str(request.GET.get("status", ""))[:20]
    status = status if status in Invoice.Status.values else ""
    queryset = selectors.invoices_for(user=user, municipality=municipality, status=status)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("seite"))
    return render(
        request,
        "einvoice/inbox.html",
        {
            "page_obj": page,
            "form": form,
            "may_upload": may_upload,
            "statuses": Invoice.Status.choices,
            "status": status,
            "may_export": user_can(user=user, permission=EXPORT, org_unit=None),
            "may_manage": user_can(user=user, permission=MANAGE, org_unit=None),
        },
        status=status_code,
    )


def _invoice(request: HttpRequest, invoice_id: int) -> Invoice:
    return access.invoice_for_staff(
        user=_staff(request), municipality=request_municipality(request), invoice_id=invoice_id
    )


def _detail_page(
    request: HttpRequest,
    invoice: Invoice,
    *,
    decision_form: DecisionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    step = services.open_step(invoice) if invoice.status == Invoice.Status.IN_APPROVAL else None
    user = request.user
    signed = invoice.approvals.filter(user_id=getattr(user, "pk", 0) or 0).exists()
    may_decide = (
        step is not None
        and not signed
        and invoice.org_unit is not None
        and user_can(user=user, permission=APPROVE, org_unit=invoice.org_unit)
    )
    return render(
        request,
        "einvoice/detail.html",
        {
            "invoice": invoice,
            "view": presentation.invoice_view(invoice),
            "approvals": invoice.approvals.select_related("user"),
            "step": step,
            "step_label": dict(services.Approval.Step.choices).get(step or "", ""),
            "signed": signed,
            "may_decide": may_decide,
            "decision_form": decision_form or DecisionForm(initial={"step": step}),
            "route_form": RouteForm(municipality=invoice.municipality)
            if invoice.status == Invoice.Status.UNROUTED
            and user_can(user=user, permission=MANAGE, org_unit=None)
            else None,
            "duplicate_form": DuplicateForm()
            if invoice.duplicate == Invoice.Duplicate.SUSPECTED and may_decide
            else None,
        },
        status=status,
    )


@staff_required()
@never_cache
@require_http_methods(["GET", "HEAD"])
def detail(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """The invoice in readable form with its validation report and approvals."""
    return _detail_page(request, _invoice(request, invoice_id))


@staff_required()
@never_cache
@require_http_methods(["POST"])
def decide(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = _invoice(request, invoice_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, invoice, decision_form=form, status=400)
    try:
        services.invoice_decide(
            invoice=invoice,
            user=_staff(request),
            step=form.cleaned_data["step"],
            approved=form.cleaned_data["approved"],
            comment=form.cleaned_data["comment"],
        )
    except ApplicationError as error:
        status = form_show_error(form, error)
        return _detail_page(request, invoice, decision_form=form, status=status)
    messages.success(request, _("Your check was recorded."))
    return redirect("einvoice:detail", invoice.pk)


@staff_required()
@require_http_methods(["POST"])
def route(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = _invoice(request, invoice_id)
    form = RouteForm(request.POST, municipality=invoice.municipality)
    if form.is_valid():
        try:
            services.invoice_route(
                invoice=invoice,
                org_unit=form.cleaned_data["org_unit"],
                user=_staff(request),
            )
        except ApplicationError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, _("The invoice was sent to the org unit for approval."))
    else:
        messages.error(request, _("Please choose an org unit."))
    return redirect("einvoice:detail", invoice.pk)


@staff_required()
@require_http_methods(["POST"])
def duplicate(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = _invoice(request, invoice_id)
    form = DuplicateForm(request.POST)
    if form.is_valid():
        try:
            services.invoice_duplicate_resolve(
                invoice=invoice,
                user=_staff(request),
                distinct=form.cleaned_data["distinct"],
            )
        except ApplicationError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, _("Your decision was recorded."))
    else:
        messages.error(request, _("Please choose a decision."))
    return redirect("einvoice:detail", invoice.pk)


@staff_required()
@require_http_methods(["GET"])
def original(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """The original file exactly as received (for the archive and auditors)."""
    invoice = _invoice(request, invoice_id)
    content_type = "application/pdf" if invoice.container == "pdf" else "application/xml"
    response = HttpResponse(bytes(invoice.original), content_type=content_type)
    safe = "".join(ch for ch in invoice.file_name if ch.isalnum() or ch in "._-")[:100] or "invoice"
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Digest"] = f"sha-256={invoice.sha256}"
    return response


@staff_required()
@require_http_methods(["GET"])
def view_pdf(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """The readable view as PDF, in the page's language."""
    invoice = _invoice(request, invoice_id)
    response = HttpResponse(presentation.invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="rechnung-{invoice.pk}.pdf"'
    return response


@staff_required(EXPORT)
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def exports(request: HttpRequest) -> HttpResponse:
    municipality = request_municipality(request)
    if request.method == "POST":
        try:
            export = services.export_create(municipality=municipality, user=_staff(request))
        except ApplicationError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, _("Export created."))
            return redirect(f"{request.path}#export-{export.pk}")
        return redirect("einvoice:exports")
    ready = Invoice.objects.filter(
        municipality=municipality, status=Invoice.Status.APPROVED, exported_at__isnull=True
    ).count()
    return render(
        request,
        "einvoice/exports.html",
        {
            "ready": ready,
            "exports": Export.objects.filter(municipality=municipality).prefetch_related(
                "invoices"
            )[:50],
        },
    )


@staff_required(EXPORT)
@require_http_methods(["POST"])
def export_again(request: HttpRequest, export_id: int) -> HttpResponse:
    municipality = request_municipality(request)
    export = access.export_for_staff(
        user=_staff(request), municipality=municipality, export_id=export_id
    )
    try:
        services.export_create(
            municipality=municipality,
            user=_staff(request),
            invoice_ids=list(export.invoices.values_list("pk", flat=True)),
        )
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Export created."))
    return redirect("einvoice:exports")


@staff_required(EXPORT)
@require_http_methods(["GET"])
def export_download(request: HttpRequest, export_id: int, kind: str) -> HttpResponse:
    export = access.export_for_staff(
        user=_staff(request), municipality=request_municipality(request), export_id=export_id
    )
    if kind == "csv":
        response = HttpResponse(
            export.csv.encode("utf-8-sig"), content_type="text/csv; charset=utf-8"
        )
    elif kind == "json":
        response = HttpResponse(export.json.encode("utf-8"), content_type="application/json")
    else:
        raise Http404
    response["Content-Disposition"] = f'attachment; filename="e-rechnungen-{export.pk}.{kind}"'
    return response


@staff_required(MANAGE)
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def leitweg(request: HttpRequest) -> HttpResponse:
    """The municipality's register of Leitweg-IDs and their org units."""
    municipality = request_municipality(request)
    form = LeitwegForm(request.POST or None, municipality=municipality)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.leitweg_route_add(
                    municipality=municipality,
                    user=_staff(request),
                    leitweg_id=form.cleaned_data["leitweg_id"],
                    org_unit=form.cleaned_data["org_unit"],
                    label=form.cleaned_data["label"],
                )
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                messages.success(request, _("The Leitweg-ID was added."))
                return redirect("einvoice:leitweg")
    return render(
        request,
        "einvoice/leitweg.html",
        {
            "form": form,
            "routes": LeitwegRoute.objects.filter(municipality=municipality).select_related(
                "org_unit"
            ),
        },
        status=status,
    )
