"""Pages of the Bürgerbüro: booking (/termine/), the kiosk (/kiosk/buergerbuero/), the call
display, live waiting times, the clerk's counter and statistics (/verwaltung/buergerbuero/).

Thin: parse, scope through ``access``, call a service or selector, render."""

from __future__ import annotations

from collections import OrderedDict
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from rathaus.accounts.decorators import staff_required
from rathaus.buergerbuero import access, reports, selectors, services
from rathaus.buergerbuero.challenge import booking_challenge
from rathaus.buergerbuero.forms import (
    CheckInForm,
    ContactForm,
    FinishForm,
    OnlineTicketForm,
    RebookForm,
    TicketForm,
    TransferForm,
)
from rathaus.buergerbuero.models import (
    MANAGE_OFFICE,
    SERVE_COUNTER,
    VIEW_STATISTICS,
    Appointment,
    Counter,
)
from rathaus.buergerbuero.pdf import qr_svg, ticket_pdf
from rathaus.catalog.models import Service
from rathaus.core import charts
from rathaus.core.errors import ApplicationError, ValidationFailed
from rathaus.core.forms import form_show_error
from rathaus.core.http import client_address, error_response
from rathaus.core.tenancy import request_municipality

RESERVED_SESSION_KEY = "buergerbuero_reserved"
SLOT_DAYS_SHOWN = 5


def _error(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    return error_response(request, status=error.status, code=error.code, message=error.message)


def _language() -> str:
    return "en" if (get_language() or "de").startswith("en") else "de"


def _bookable_services(request: HttpRequest) -> list[Service]:
    return selectors.services_bookable(municipality=request_municipality(request))


def _services_of(request: HttpRequest, params: Any) -> list[Service]:
    return access.services_public(
        municipality=request_municipality(request), service_ids=params.getlist("service")
    )


def _slot_groups(slots: list[selectors.Slot]) -> list[tuple[date, list[selectors.Slot]]]:
    groups: OrderedDict[date, list[selectors.Slot]] = OrderedDict()
    for slot in slots:
        day = slot.start.astimezone(selectors.BERLIN).date()
        if day not in groups and len(groups) >= SLOT_DAYS_SHOWN:
            break
        groups.setdefault(day, []).append(slot)
    return list(groups.items())


# --- booking ---------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD"])
def book(request: HttpRequest) -> HttpResponse:
    """Choose one or more concerns and, if you like, an office."""
    municipality = request_municipality(request)
    return render(
        request,
        "buergerbuero/book.html",
        {
            "services": _bookable_services(request),
            "offices": selectors.offices_active(municipality=municipality),
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
def book_slots(request: HttpRequest) -> HttpResponse:
    """Free times for the chosen concerns, and the reservation form."""
    municipality = request_municipality(request)
    params = request.POST if request.method == "POST" else request.GET
    if not params.getlist("service"):
        return redirect("buergerbuero:book")
    services_chosen = _services_of(request, params)
    location = None
    if params.get("location"):
        location = access.location_public(
            municipality=municipality, location_id=params.get("location")
        )
    start = None
    if params.get("from"):
        try:
            start = date.fromisoformat(str(params.get("from")))
        except ValueError as error:
            raise Http404 from error
    form = ContactForm(request.POST or None)
    status = 200
    challenge = booking_challenge()
    if request.method == "POST" and form.is_valid() and not challenge.verify(request):
        form.add_error(None, _("Please complete the check against automated bookings."))
        status = 400
    elif request.method == "POST" and form.is_valid():
        location_id, slot_start = form.cleaned_data["start"]
        chosen = access.location_public(municipality=municipality, location_id=location_id)
        if location is not None and chosen.pk != location.pk:
            raise Http404
        try:
            appointment = services.appointment_reserve(
                location=chosen,
                services=services_chosen,
                start=slot_start,
                name=form.cleaned_data["name"],
                email=form.cleaned_data["email"],
                phone=form.cleaned_data["phone"],
                language=_language(),
                citizen=request.user if request.user.is_authenticated else None,
                client_ip=client_address(request),
            )
        except ApplicationError as error:
            status = form_show_error(form, error)
        else:
            request.session[RESERVED_SESSION_KEY] = appointment.pk
            return redirect("buergerbuero:reserved")
    elif request.method == "POST":
        status = 400
    if request.method == "GET" and request.user.is_authenticated:
        form.initial = {"name": request.user.get_full_name(), "email": request.user.email}
    slots = selectors.free_slots(
        location=location, services=services_chosen, municipality=municipality, start=start
    )
    groups = _slot_groups(slots)
    next_from = None
    if groups and len(groups) == SLOT_DAYS_SHOWN:
        next_from = groups[-1][0] + timedelta(days=1)
    return render(
        request,
        "buergerbuero/slots.html",
        {
            "form": form,
            "chosen": services_chosen,
            "location": location,
            "groups": groups,
            "next_from": next_from,
            "combinable": selectors.services_combinable(services_chosen),
            "challenge_fields": mark_safe(challenge.fields(request)),  # noqa: S308 - trusted plug-in
        },
        status=status,
    )


@require_http_methods(["GET", "HEAD"])
def reserved(request: HttpRequest) -> HttpResponse:
    """After reserving: confirm by the link in the e-mail."""
    appointment = selectors.reserved_appointment(
        municipality=request_municipality(request),
        appointment_id=request.session.get(RESERVED_SESSION_KEY),
    )
    if appointment is None:
        return redirect("buergerbuero:book")
    return render(request, "buergerbuero/reserved.html", {"appointment": appointment})


def _appointment_context(appointment: Appointment) -> dict[str, Any]:
    return {
        "appointment": appointment,
        "services": list(appointment.services.all()),
        "qr": qr_svg(f"BB:{appointment.code}"),
        "manage_token": services.appointment_token(appointment, "manage"),
    }


@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The e-mail link: a button confirms (link scanners that only GET confirm nothing)."""
    if request.method == "POST":
        try:
            appointment = services.appointment_confirm(
                municipality=request_municipality(request), token=token
            )
        except ApplicationError as error:
            return _error(request, error)
        return render(request, "buergerbuero/confirmed.html", _appointment_context(appointment))
    return render(request, "buergerbuero/confirm.html", {"token": token})


@require_http_methods(["GET", "HEAD", "POST"])
def manage(request: HttpRequest, token: str) -> HttpResponse:
    """See, cancel or move an appointment through the link of the e-mail (no login)."""
    municipality = request_municipality(request)
    try:
        appointment = services.appointment_for_token(municipality=municipality, token=token)
    except ApplicationError as error:
        return _error(request, error)
    form = RebookForm(request.POST or None)
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("action") == "cancel":
                services.appointment_cancel(municipality=municipality, token=token)
                return render(request, "buergerbuero/cancelled.html", {"appointment": appointment})
            if form.is_valid():
                _location_id, start = form.cleaned_data["start"]
                appointment = services.appointment_rebook(
                    municipality=municipality, token=token, start=start
                )
                return redirect(
                    "buergerbuero:manage", token=services.appointment_token(appointment, "manage")
                )
            status = 400
        except ApplicationError as error:
            status = form_show_error(form, error)
    slots = []
    if appointment.status == Appointment.Status.CONFIRMED:
        slots = selectors.free_slots(
            location=appointment.office.location,
            services=list(appointment.services.all()),
            municipality=municipality,
        )
    context = _appointment_context(appointment) | {
        "form": form,
        "groups": _slot_groups(slots),
        "token": token,
    }
    return render(request, "buergerbuero/manage.html", context, status=status)


@require_http_methods(["GET", "HEAD"])
def appointment_ics(request: HttpRequest, token: str) -> HttpResponse:
    try:
        appointment = services.appointment_for_token(
            municipality=request_municipality(request), token=token
        )
    except ApplicationError as error:
        return _error(request, error)
    response = HttpResponse(services.ics_of(appointment), content_type="text/calendar")
    response["Content-Disposition"] = f'attachment; filename="termin-{appointment.code}.ics"'
    return response


@login_required
@require_http_methods(["GET", "HEAD"])
def my_appointments(request: HttpRequest) -> HttpResponse:
    """The signed-in citizen's appointments (Bürgerkonto)."""
    appointments = selectors.appointments_of_citizen(request.user)  # type: ignore[arg-type]
    now = timezone.now()
    rows = [
        {
            "appointment": a,
            "upcoming": a.start > now and a.status in ("confirmed", "reserved"),
            "manage_token": services.appointment_token(a, "manage"),
        }
        for a in appointments
    ]
    return render(request, "buergerbuero/my_appointments.html", {"rows": rows})


@login_required
@require_http_methods(["POST"])
def my_appointment_cancel(request: HttpRequest, appointment_id: int) -> HttpResponse:
    appointment = access.appointment_for_citizen(
        user=request.user,
        municipality=request_municipality(request),
        appointment_id=appointment_id,
    )
    try:
        services.appointment_cancel_by_citizen(appointment=appointment, citizen=request.user)  # type: ignore[arg-type]
    except ApplicationError as error:
        return _error(request, error)
    return redirect("buergerbuero:my_appointments")


# --- tickets ---------------------------------------------------------------------------


def _walk_in_services(request: HttpRequest, office: Any) -> list[Service]:
    return [
        s
        for s in selectors.services_at(office)
        if selectors.service_mode(office, s) != "appointment"
    ]


@require_http_methods(["GET", "HEAD", "POST"])
def online_ticket(request: HttpRequest) -> HttpResponse:
    """Draw a ticket from home shortly before opening and follow your turn."""
    municipality = request_municipality(request)
    offices = [o for o in selectors.offices_active(municipality=municipality) if o.online_tickets]
    form = OnlineTicketForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            office = access.office_public(
                municipality=municipality, location_id=form.cleaned_data["location"]
            )
            chosen = access.services_public(
                municipality=municipality, service_ids=[form.cleaned_data["service"]]
            )
            try:
                ticket = services.ticket_draw(
                    location=office.location,
                    services=chosen,
                    channel="online",
                    language=_language(),
                    phone=form.cleaned_data["phone"],
                )
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                return redirect(ticket.status_path())
        else:
            status = 400
    choices = [(office, _walk_in_services(request, office)) for office in offices]
    return render(
        request,
        "buergerbuero/online_ticket.html",
        {"form": form, "choices": choices},
        status=status,
    )


@require_http_methods(["GET", "HEAD"])
def ticket_status(request: HttpRequest, token: str) -> HttpResponse:
    """The live place in the queue (polled by htmx; works without JavaScript on reload)."""
    ticket = access.ticket_by_token(municipality=request_municipality(request), token=token)
    context = {
        "ticket": ticket,
        "position": selectors.ticket_position(ticket),
        "status_url": request.build_absolute_uri(ticket.status_path()),
    }
    template = (
        "buergerbuero/_ticket_status.html"
        if request.headers.get("HX-Request")
        else "buergerbuero/ticket_status.html"
    )
    return render(request, template, context)


@require_http_methods(["GET", "HEAD"])
def ticket_pdf_view(request: HttpRequest, token: str) -> HttpResponse:
    ticket = access.ticket_by_token(municipality=request_municipality(request), token=token)
    width = 58 if request.GET.get("width") == "58" else 80
    content = ticket_pdf(
        ticket=ticket, status_url=request.build_absolute_uri(ticket.status_path()), width=width
    )
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="ticket-{ticket.number}.pdf"'
    return response


@require_http_methods(["GET", "HEAD"])
def waiting(request: HttpRequest) -> HttpResponse:
    """Live waiting times of every office ("ampel")."""
    municipality = request_municipality(request)
    rows = [
        {"office": office, "estimate": selectors.waiting_estimate(location=office.location)}
        for office in selectors.offices_active(municipality=municipality)
    ]
    template = (
        "buergerbuero/_waiting_rows.html"
        if request.headers.get("HX-Request")
        else "buergerbuero/waiting.html"
    )
    return render(request, template, {"rows": rows})


# --- kiosk -----------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def kiosk_ticket(request: HttpRequest, location_id: int) -> HttpResponse:
    """Touch kiosk: choose your concern, get a number."""
    municipality = request_municipality(request)
    office = access.office_public(municipality=municipality, location_id=location_id)
    form = TicketForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            chosen = access.services_public(
                municipality=municipality, service_ids=[form.cleaned_data["service"]]
            )
            try:
                ticket = services.ticket_draw(
                    location=office.location,
                    services=chosen,
                    channel="kiosk",
                    language=_language(),
                    phone=form.cleaned_data["phone"],
                )
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                return redirect("buergerbuero:kiosk_ticket_done", token=ticket.token)
        else:
            status = 400
    return render(
        request,
        "buergerbuero/kiosk_ticket.html",
        {
            "office": office,
            "form": form,
            "services": _walk_in_services(request, office),
            "estimate": selectors.waiting_estimate(location=office.location),
        },
        status=status,
    )


@require_http_methods(["GET", "HEAD"])
def kiosk_ticket_done(request: HttpRequest, token: str) -> HttpResponse:
    ticket = access.ticket_by_token(municipality=request_municipality(request), token=token)
    status_url = request.build_absolute_uri(ticket.status_path())
    return render(
        request,
        "buergerbuero/kiosk_ticket_done.html",
        {"ticket": ticket, "qr": qr_svg(status_url), "office": ticket.office},
    )


@require_http_methods(["GET", "HEAD", "POST"])
def kiosk_checkin(request: HttpRequest, location_id: int) -> HttpResponse:
    """Appointment holders scan their QR code (the scanner types the code)."""
    office = access.office_public(
        municipality=request_municipality(request), location_id=location_id
    )
    form = CheckInForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                ticket = services.appointment_check_in(
                    location=office.location, code=form.cleaned_data["code"]
                )
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                return redirect("buergerbuero:kiosk_ticket_done", token=ticket.token)
        else:
            status = 400
    return render(
        request, "buergerbuero/kiosk_checkin.html", {"office": office, "form": form}, status=status
    )


@require_http_methods(["GET", "HEAD"])
def call_display(request: HttpRequest, location_id: int) -> HttpResponse:
    """The Aufrufanzeige: current and last calls, polled every few seconds, with a chime."""
    office = access.office_public(
        municipality=request_municipality(request), location_id=location_id
    )
    calls = selectors.recent_calls(office)
    context = {
        "office": office,
        "current": calls[:1],
        "earlier": calls[1:],
        "latest": calls[0].pk if calls else 0,
        "estimate": selectors.waiting_estimate(location=office.location),
    }
    template = (
        "buergerbuero/_calls.html"
        if request.headers.get("HX-Request")
        else "buergerbuero/call_display.html"
    )
    return render(request, template, context)


# --- clerks ----------------------------------------------------------------------------


@staff_required(SERVE_COUNTER)
@require_http_methods(["GET", "HEAD"])
def staff_home(request: HttpRequest) -> HttpResponse:
    """The offices and their counters: choose yours."""
    municipality = request_municipality(request)
    offices = [
        (office, selectors.office_counters(office))
        for office in selectors.offices_active(municipality=municipality)
    ]
    mine = selectors.duty_today(request.user)
    return render(request, "buergerbuero/staff_home.html", {"offices": offices, "duty": mine})


def _counter_context(request: HttpRequest, counter: Counter) -> dict[str, Any]:
    office = counter.office
    current = selectors.counter_current(counter)
    state = selectors.queue_state(office)
    waiting = sorted(
        (state.tickets[w.key] for w in state.waiting if w.key > 0),
        key=lambda t: (
            t.estimated_call_at.timestamp() if t.estimated_call_at else float("inf"),
            t.seq,
        ),
    )
    duty = selectors.counter_duty(counter)
    offered = selectors.services_at(office)
    finish = FinishForm(
        choices=[(s.pk, s.name) for s in offered],
        initial={"services_done": [s.pk for s in current.services.all()] if current else []},
    )
    transfer = TransferForm(
        counters=[(c.pk, c.name) for c in selectors.office_counters(office) if c != counter],
        services=[(s.pk, s.name) for s in offered],
    )
    return {
        "counter": counter,
        "office": office,
        "current": current,
        "waiting": waiting,
        "is_open": bool(duty and duty.is_open and duty.clerk_id == request.user.pk),
        "finish_form": finish,
        "transfer_form": transfer,
        "estimate": selectors.waiting_estimate(location=office.location),
    }


@staff_required(SERVE_COUNTER)
@require_http_methods(["GET", "HEAD", "POST"])
def counter(request: HttpRequest, counter_id: int) -> HttpResponse:
    """The clerk's counter: open/close, call next, recall, no-show, transfer, finish."""
    municipality = request_municipality(request)
    counter = access.counter_for_clerk(
        user=request.user, municipality=municipality, counter_id=counter_id
    )
    user: Any = request.user
    status = 200
    error_message = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "open":
                services.duty_open(clerk=user, counter=counter)
            elif action == "close":
                services.duty_close(clerk=user, counter=counter)
            elif action == "call":
                services.ticket_call_next(clerk=user, counter=counter)
            elif action in {"recall", "no_show", "finish", "transfer"}:
                ticket = access.ticket_for_counter(
                    counter=counter, ticket_id=request.POST.get("ticket")
                )
                if action == "recall":
                    services.ticket_recall(ticket=ticket, clerk=user, counter=counter)
                elif action == "no_show":
                    services.ticket_no_show(ticket=ticket, clerk=user, counter=counter)
                elif action == "finish":
                    done = access.services_public(
                        municipality=municipality, service_ids=request.POST.getlist("services_done")
                    )
                    services.ticket_finish(
                        ticket=ticket, clerk=user, counter=counter, services_done=done
                    )
                else:
                    to_counter = None
                    if request.POST.get("to_counter"):
                        to_counter = access.counter_of_office(
                            counter=counter, counter_id=request.POST.get("to_counter")
                        )
                    new_services = (
                        access.services_public(
                            municipality=municipality, service_ids=[request.POST.get("service")]
                        )
                        if request.POST.get("service")
                        else []
                    )
                    services.ticket_transfer(
                        ticket=ticket,
                        clerk=user,
                        counter=counter,
                        to_counter=to_counter,
                        services=new_services,
                    )
            else:
                return error_response(
                    request, status=400, code="invalid", message=_("Unknown action.")
                )
        except ApplicationError as error:
            status = error.status
            error_message = str(error.message)
        else:
            return redirect("buergerbuero:counter", counter_id=counter.pk)
    context = _counter_context(request, counter) | {"error_message": error_message}
    return render(request, "buergerbuero/counter.html", context, status=status)


@staff_required(VIEW_STATISTICS)
@require_http_methods(["GET", "HEAD"])
def statistics_page(request: HttpRequest) -> HttpResponse:
    """Waits, service times, no-shows, load by hour and weekday; charts and CSV."""
    municipality = request_municipality(request)
    query = reports.StatisticsQuery.from_params(municipality=municipality, params=request.GET)
    report = reports.report(query)
    return render(
        request,
        "buergerbuero/statistics.html",
        {
            "query": query,
            "report": report,
            "offices": selectors.offices_active(municipality=municipality),
            "chart_hours": charts.bar_chart(
                title=_("Visits by hour of day"),
                description=_("One bar per opening hour: the number of visits that began then."),
                labels=[f"{hour}:00" for hour, _count in report.by_hour],
                series=[charts.Series(_("visits"), [count for _hour, count in report.by_hour])],
            ),
            "chart_weekdays": charts.bar_chart(
                title=_("Visits by weekday"),
                description=_("One bar per weekday: the number of visits in the period."),
                labels=[str(day) for day, _count in report.by_weekday_named()],
                series=[charts.Series(_("visits"), [n for _day, n in report.by_weekday_named()])],
            ),
        },
    )


@staff_required(VIEW_STATISTICS)
@require_http_methods(["GET", "HEAD"])
def statistics_csv(request: HttpRequest) -> HttpResponse:
    municipality = request_municipality(request)
    query = reports.StatisticsQuery.from_params(municipality=municipality, params=request.GET)
    response = HttpResponse(reports.csv_export(query), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="buergerbuero-statistik.csv"'
    return response


# --- set-up ----------------------------------------------------------------------------


@staff_required(MANAGE_OFFICE)
@require_http_methods(["GET", "HEAD", "POST"])
def setup_home(request: HttpRequest) -> HttpResponse:
    """Offices, and catalogue locations that could run one."""
    municipality = request_municipality(request)
    if request.method == "POST":
        location = access.location_of_municipality(
            municipality=municipality, location_id=request.POST.get("location")
        )
        office = services.office_open_at(actor=request.user, location=location)  # type: ignore[arg-type]
        return redirect("buergerbuero:setup_office", office_id=office.pk)
    return render(
        request,
        "buergerbuero/setup_home.html",
        {
            "offices": selectors.offices_all(municipality=municipality),
            "locations": selectors.locations_without_office(municipality=municipality),
        },
    )


def _date_or_none(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _time_or_none(value: Any) -> Any:
    from datetime import time as time_of_day

    try:
        return time_of_day.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


@staff_required(MANAGE_OFFICE)
@require_http_methods(["GET", "HEAD", "POST"])
def setup_office(request: HttpRequest, office_id: int) -> HttpResponse:
    """Counters, duty plan, skills, special days and service modes of one office."""
    municipality = request_municipality(request)
    office = access.office_for_manager(
        user=request.user, municipality=municipality, office_id=office_id
    )
    actor: Any = request.user
    status, error_message = 200, ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "counter":
                services.counter_create(
                    actor=actor,
                    office=office,
                    name=request.POST.get("name", "")[:100],
                    room=request.POST.get("room", "")[:100],
                    floor=request.POST.get("floor", "")[:100],
                )
            elif action == "counter_active":
                counter = access.counter_of(office=office, counter_id=request.POST.get("counter"))
                services.counter_active_set(
                    actor=actor, counter=counter, active=request.POST.get("active") == "1"
                )
            elif action == "duty":
                day = _date_or_none(request.POST.get("date"))
                if day is None:
                    raise ValidationFailed(fields={"date": [_("Enter a date.")]})
                services.duty_plan(
                    actor=actor,
                    counter=access.counter_of(
                        office=office, counter_id=request.POST.get("counter")
                    ),
                    clerk=access.staff_of(
                        municipality=municipality, user_id=request.POST.get("clerk")
                    ),
                    day=day,
                )
            elif action == "skills":
                services.skills_set(
                    actor=actor,
                    clerk=access.staff_of(
                        municipality=municipality, user_id=request.POST.get("clerk")
                    ),
                    services=access.services_public(
                        municipality=municipality, service_ids=request.POST.getlist("service")
                    ),
                )
            elif action == "special_day":
                day = _date_or_none(request.POST.get("date"))
                if day is None:
                    raise ValidationFailed(fields={"date": [_("Enter a date.")]})
                services.special_day_save(
                    actor=actor,
                    office=office,
                    day=day,
                    closed=request.POST.get("closed") == "1",
                    opens=_time_or_none(request.POST.get("opens")),
                    closes=_time_or_none(request.POST.get("closes")),
                    note=request.POST.get("note", ""),
                )
            elif action == "mode":
                service = access.services_public(
                    municipality=municipality, service_ids=[request.POST.get("service")]
                )[0]
                services.service_mode_set(
                    actor=actor, office=office, service=service, mode=request.POST.get("mode", "")
                )
            else:
                return error_response(
                    request, status=400, code="invalid", message=_("Unknown action.")
                )
        except ApplicationError as error:
            status = error.status
            error_message = " ".join(
                [str(error.message), *(m for ms in error.fields.values() for m in ms)]
            )
        else:
            return redirect("buergerbuero:setup_office", office_id=office.pk)
    return render(
        request,
        "buergerbuero/setup_office.html",
        {
            "office": office,
            "setup": selectors.office_setup(office),
            "staff": selectors.staff_members(municipality=municipality),
            "modes": [(m.value, m.label) for m in selectors.ServiceSetup.Mode],
            "error_message": error_message,
            "today": selectors.local_now().date(),
        },
        status=status,
    )
