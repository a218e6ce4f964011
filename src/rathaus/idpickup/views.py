"""Pages of the ID document pickup: the staff dashboard and order pages
(/verwaltung/ausweisabholung/), the citizen's status (/konto/ausweisabholung/ and the
public lookup /ausweisabholung/status/) and the terminal simulator (/kiosk/ausweisabholung/)."""

from typing import Any

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from rathaus.accounts.decorators import staff_required
from rathaus.core.errors import ApplicationError, ValidationFailed
from rathaus.core.forms import form_show_error
from rathaus.core.http import client_address
from rathaus.core.tenancy import request_municipality
from rathaus.idpickup import access, selectors, services
from rathaus.idpickup.forms import (
    ArrivalsForm,
    CredentialForm,
    OrderForm,
    ProductionForm,
    StatusForm,
    TerminalForm,
)
from rathaus.idpickup.models import MANAGE_PERMISSION, TERMINAL_PERMISSION, IdOrder

PAGE_SIZE = 25


def _qr_svg(text: str) -> str:
    # segno writes plain SVG elements without style attributes (CSP-safe).
    return str(segno.make(text, error="m").svg_inline(scale=4, title=text))


@staff_required(MANAGE_PERMISSION)
def dashboard(request: HttpRequest) -> HttpResponse:
    data = selectors.dashboard(municipality=request_municipality(request))
    return render(request, "idpickup/dashboard.html", data)


@staff_required(MANAGE_PERMISSION)
def order_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")[:20]
    query = request.GET.get("q", "")[:100]
    orders = selectors.order_list(
        municipality=request_municipality(request), status=status, query=query
    )
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("seite"))
    return render(
        request,
        "idpickup/order_list.html",
        {"page_obj": page, "status": status, "q": query, "statuses": IdOrder.Status.choices},
    )


@staff_required(MANAGE_PERMISSION)
@require_http_methods(["GET", "POST"])
def order_new(request: HttpRequest) -> HttpResponse:
    municipality = request_municipality(request)
    form = OrderForm(request.POST or None, municipality=municipality)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                order = services.order_create(
                    municipality=municipality,
                    actor=request.user,
                    kind=data["kind"],
                    given_name=data["given_name"],
                    family_name=data["family_name"],
                    date_of_birth=data["date_of_birth"],
                    location=data["location"],
                    size=data["size"],
                    terminal_opt_in=data["terminal_opt_in"],
                    consent=data["consent"],
                    contact_channel=data["contact_channel"],
                    contact_address=data["contact_address"],
                    fingerprint_ref=data["fingerprint_ref"],
                    needs_low_compartment=data["needs_low_compartment"],
                )
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                messages.success(request, _("The order was recorded."))
                return redirect("idpickup:order", order.pk)
        else:
            status = 400
    return render(request, "idpickup/order_new.html", {"form": form}, status=status)


@staff_required(MANAGE_PERMISSION)
@require_http_methods(["GET", "POST"])
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    municipality = request_municipality(request)
    order = access.order_for_staff(user=request.user, municipality=municipality, order_id=order_id)
    form = ProductionForm(request.POST if request.POST.get("action") == "production" else None)
    status = 200
    action_error = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "production":
                if not form.is_valid():
                    raise ValidationFailed()
                services.order_production_start(
                    order=order,
                    actor=request.user,
                    document_barcode=form.cleaned_data["document_barcode"],
                )
                messages.success(request, _("The document is in production."))
            elif action == "cancel":
                services.order_cancel(order=order, actor=request.user)
                messages.success(request, _("The order was cancelled."))
            elif action == "counter":
                services.order_counter_handover(order=order, actor=request.user)
                messages.success(request, _("The handover at the counter was recorded."))
            elif action == "pin":
                services.order_pin_resend(order=order, actor=request.user)
                messages.success(request, _("A new PIN is being sent."))
            else:
                return HttpResponse(status=400)
        except ApplicationError as error:
            if form.is_bound:
                status = form_show_error(form, error)
            else:
                status, action_error = error.status, str(error.message)
        else:
            return redirect("idpickup:order", order.pk)
    return render(
        request,
        "idpickup/order_detail.html",
        {
            "order": order,
            "form": form,
            "action_error": action_error,
            "transitions": order.transitions.select_related("actor", "second_actor"),
            "qr": mark_safe(_qr_svg(order.booking_number)),  # noqa: S308  (segno's own SVG)
        },
        status=status,
    )


@staff_required(MANAGE_PERMISSION)
@require_http_methods(["GET", "POST"])
def arrivals(request: HttpRequest) -> HttpResponse:
    form = ArrivalsForm(request.POST or None)
    results: list[services.ArrivalResult] = []
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                results = services.orders_arrive(
                    municipality=request_municipality(request),
                    actor=request.user,
                    barcodes=form.barcode_list(),
                )
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                form = ArrivalsForm()
        else:
            status = 400
    return render(
        request, "idpickup/arrivals.html", {"form": form, "results": results}, status=status
    )


@staff_required(MANAGE_PERMISSION)
def terminal_list(request: HttpRequest) -> HttpResponse:
    data = selectors.dashboard(municipality=request_municipality(request))
    return render(request, "idpickup/terminal_list.html", {"terminals": data["terminals"]})


@staff_required(MANAGE_PERMISSION)
@never_cache
@require_http_methods(["GET", "POST"])
def terminal_new(request: HttpRequest) -> HttpResponse:
    municipality = request_municipality(request)
    form = TerminalForm(request.POST or None, municipality=municipality)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                terminal, key = services.terminal_register(
                    municipality=municipality,
                    actor=request.user,
                    location=data["location"],
                    name=data["name"],
                    compartments=data["layout"],
                    simulator=data["simulator"],
                )
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                # The key is shown this once; it is not stored (signing.device_key).
                return render(
                    request, "idpickup/terminal_key.html", {"terminal": terminal, "key": key}
                )
        else:
            status = 400
    return render(request, "idpickup/terminal_new.html", {"form": form}, status=status)


@staff_required(MANAGE_PERMISSION)
@never_cache
@require_http_methods(["GET", "POST"])
def terminal_detail(request: HttpRequest, terminal_id: int) -> HttpResponse:
    municipality = request_municipality(request)
    terminal = access.terminal_for_staff(
        user=request.user, municipality=municipality, terminal_id=terminal_id
    )
    if request.method == "POST":
        if request.POST.get("action") != "rotate":
            return HttpResponse(status=400)
        key = services.terminal_key_rotate(terminal=terminal, actor=request.user)
        return render(request, "idpickup/terminal_key.html", {"terminal": terminal, "key": key})
    return render(
        request,
        "idpickup/terminal_detail.html",
        {
            "terminal": terminal,
            "compartments": selectors.compartments_of(terminal=terminal),
            "events": terminal.events.all()[:30],
        },
    )


@staff_required(MANAGE_PERMISSION)
@require_POST
def alarm_clear(request: HttpRequest, alarm_id: int) -> HttpResponse:
    alarm = access.alarm_for_staff(
        user=request.user, municipality=request_municipality(request), alarm_id=alarm_id
    )
    services.alarm_clear(alarm=alarm, actor=request.user)
    messages.success(request, _("The alarm was marked as dealt with."))
    return redirect("idpickup:dashboard")


@staff_required(TERMINAL_PERMISSION)
@never_cache
@require_http_methods(["GET", "POST"])
def credential(request: HttpRequest) -> HttpResponse:
    form = CredentialForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.staff_credential_set(
                    user=request.user,
                    card_token=form.cleaned_data["card_token"],
                    pin=form.cleaned_data["pin"],
                )
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                messages.success(request, _("Your terminal credential was saved."))
                return redirect("idpickup:credential")
        else:
            status = 400
    has_credential = hasattr(request.user, "idpickup_credential")
    return render(
        request,
        "idpickup/credential.html",
        {"form": form, "has_credential": has_credential},
        status=status,
    )


@login_required
def my_orders(request: HttpRequest) -> HttpResponse:
    orders = selectors.orders_of_citizen(user=request.user)
    return render(request, "idpickup/my_orders.html", {"orders": orders})


@never_cache
@require_http_methods(["GET", "POST"])
def status_lookup(request: HttpRequest) -> HttpResponse:
    form = StatusForm(request.POST or None)
    order: IdOrder | None = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                order = services.order_status_lookup(
                    municipality=request_municipality(request),
                    booking_number=form.cleaned_data["booking_number"],
                    date_of_birth=form.cleaned_data["date_of_birth"],
                    ip=client_address(request),
                )
            except ApplicationError as error:
                status = form_show_error(form, error)
        else:
            status = 400
    return render(
        request, "idpickup/status_lookup.html", {"form": form, "order": order}, status=status
    )


@staff_required(MANAGE_PERMISSION)
@never_cache
def simulator(request: HttpRequest, terminal_id: int) -> HttpResponse:
    """The kiosk-style terminal simulator: its JavaScript signs requests with the demo
    terminal's key and calls the real device endpoints (only for simulator terminals)."""
    terminal = access.terminal_for_staff(
        user=request.user, municipality=request_municipality(request), terminal_id=terminal_id
    )
    try:
        key = services.terminal_key(terminal=terminal)
    except ApplicationError:
        return render(
            request, "idpickup/simulator_disabled.html", {"terminal": terminal}, status=403
        )
    context: dict[str, Any] = {
        "terminal": terminal,
        "key": key,
        "compartments": selectors.compartments_of(terminal=terminal),
    }
    response = render(request, "idpickup/simulator.html", context)
    response["Cache-Control"] = "private, no-store"
    return response
