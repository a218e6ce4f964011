"""Pages of parking management.

Public: the map and list of sites with live values and a forecast for a chosen arrival
(``/parken/``; the list works without JavaScript and without the map, htmx refreshes it),
a site's page with its forecast and reservable spaces (``/parken/<id>/``).
Citizens: reserve a space and show the QR code (``/parken/reservierungen/``).
Staff: live overview, refused readings and the site import (``/verwaltung/parken/``);
guidance signs with their lines, event modes and DATEX II sources
(``/verwaltung/parken/anzeigen/``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from rathaus.core.errors import ApplicationError
from rathaus.core.forms import form_show_error
from rathaus.core.maps import map_tiles, map_tiles_allow
from rathaus.core.tenancy import request_municipality
from rathaus.organisation.decorators import staff_member_required
from rathaus.parking import access, selectors, services
from rathaus.parking.forms import (
    ArrivalForm,
    DatexSourceForm,
    EventModeForm,
    ImportForm,
    ReservationForm,
    SignForm,
    SignLineFormSet,
    sign_lines,
)
from rathaus.parking.models import (
    MANAGE_PARKING,
    DatexSource,
    EventMode,
    ParkingSite,
    Rejection,
    Sign,
)

POLL_SECONDS = 10


def _arrival(request: HttpRequest) -> tuple[ArrivalForm, datetime | None]:
    form = ArrivalForm(request.GET or None)
    if form.is_bound and form.is_valid() and form.cleaned_data["ankunft"]:
        arrival: datetime = form.cleaned_data["ankunft"]
        now = timezone.now()
        if now - timedelta(minutes=5) <= arrival <= now + timedelta(days=7):
            return form, arrival
        form.add_error("ankunft", _("Choose an arrival within the next seven days."))
    return form, None


def _rows(request: HttpRequest, arrival: datetime | None) -> list[dict[str, Any]]:
    now = timezone.now()
    rows = []
    for site in selectors.sites_public(municipality=request_municipality(request)):
        state = selectors.site_state(site, now=now)
        forecast = None
        if arrival is not None:
            prediction = selectors.site_forecast(site, arrival=arrival, now=now)
            if prediction is not None:
                forecast = selectors.free_from_occupancy(site, prediction.occupancy)
        rows.append(
            {
                "site": site,
                "state": state,
                "forecast": forecast,
                "restrictions": list(site.restrictions.all()),
            }
        )
    return rows


def _list_context(request: HttpRequest, arrival: datetime | None) -> dict[str, Any]:
    query = request.GET.urlencode() if arrival else ""
    return {
        "rows": _rows(request, arrival),
        "arrival": arrival,
        "now": timezone.now(),
        "query": query,
        "poll_seconds": POLL_SECONDS,
    }


@require_http_methods(["GET", "HEAD"])
def map_page(request: HttpRequest) -> HttpResponse:
    form, arrival = _arrival(request)
    tiles = map_tiles()
    context = {
        "form": form,
        "tile_url": tiles.url,
        "tile_attribution": tiles.attribution,
        **_list_context(request, arrival),
    }
    response = render(request, "parking/map.html", context, status=400 if form.errors else 200)
    # Map tiles are the one thing the page loads from elsewhere.
    return map_tiles_allow(response, tiles)


@require_http_methods(["GET", "HEAD"])
def list_fragment(request: HttpRequest) -> HttpResponse:
    _form, arrival = _arrival(request)
    return render(request, "parking/_list.html", _list_context(request, arrival))


@require_http_methods(["GET", "HEAD"])
def site_page(request: HttpRequest, site_id: int) -> HttpResponse:
    site = access.site_public(municipality=request_municipality(request), site_id=site_id)
    spaces = list(selectors.reservable_spaces(site=site))
    return _site_render(request, site, ReservationForm(initial=_default_window(), spaces=spaces))


def _default_window() -> dict[str, datetime]:
    start = timezone.localtime().replace(second=0, microsecond=0) + timedelta(minutes=30)
    start -= timedelta(minutes=start.minute % 15)
    return {"starts_at": start, "ends_at": start + timedelta(hours=2)}


def _site_render(
    request: HttpRequest, site: ParkingSite, form: ReservationForm, status: int = 200
) -> HttpResponse:
    context = {
        "site": site,
        "state": selectors.site_state(site),
        "forecasts": selectors.site_forecasts(site),
        "restrictions": list(site.restrictions.all()),
        "has_spaces": bool(form.fields["space"].choices),  # type: ignore[attr-defined]
        "form": form,
    }
    return render(request, "parking/site.html", context, status=status)


@login_required
@require_POST
def reserve(request: HttpRequest, site_id: int) -> HttpResponse:
    municipality = request_municipality(request)
    site = access.site_public(municipality=municipality, site_id=site_id)
    form = ReservationForm(request.POST, spaces=list(selectors.reservable_spaces(site=site)))
    if not form.is_valid():
        return _site_render(request, site, form, status=400)
    space = access.space_reservable(
        user=request.user, municipality=municipality, space_id=form.cleaned_data["space"]
    )
    try:
        services.reservation_book(
            citizen=request.user,
            space=space,
            starts_at=form.cleaned_data["starts_at"],
            ends_at=form.cleaned_data["ends_at"],
            plate=form.cleaned_data["plate"],
        )
    except ApplicationError as error:
        status = form_show_error(form, error)
        return _site_render(request, site, form, status=status)
    messages.success(request, _("Your space is reserved."))
    return redirect("parking:reservations")


@login_required
@require_http_methods(["GET", "HEAD"])
def reservations(request: HttpRequest) -> HttpResponse:
    municipality = request_municipality(request)
    items = []
    for reservation in selectors.reservations_of(citizen=request.user, municipality=municipality):
        qr = (
            segno.make(reservation.code, error="m").svg_data_uri(scale=4)
            if reservation.status == "booked"
            else ""
        )
        items.append({"reservation": reservation, "qr": qr})
    return render(request, "parking/reservations.html", {"items": items})


@login_required
@require_POST
def reservation_cancel(request: HttpRequest, reservation_id: int) -> HttpResponse:
    reservation = access.reservation_for_citizen(
        user=request.user, municipality=request_municipality(request), reservation_id=reservation_id
    )
    try:
        services.reservation_cancel(reservation=reservation, actor=request.user)
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The reservation is cancelled."))
    return redirect("parking:reservations")


@staff_member_required(MANAGE_PARKING)
@require_http_methods(["GET", "HEAD", "POST"])
def staff_overview(request: HttpRequest) -> HttpResponse:
    municipality = request_municipality(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            fmt = "csv" if upload.name.lower().endswith(".csv") else "json"
            try:
                result = services.sites_import(
                    municipality=municipality, data=upload.read(), fmt=fmt, actor=request.user
                )
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                messages.success(
                    request,
                    _("%(created)d sites created, %(updated)d updated.")
                    % {"created": result.created, "updated": result.updated},
                )
                return redirect("parking:staff")
        else:
            status = 400
    now = timezone.now()
    context = {
        "form": form,
        "states": [
            selectors.site_state(site, now=now)
            for site in selectors.sites_public(municipality=municipality)
        ],
        "rejections": Rejection.objects.filter(municipality=municipality).order_by("-received_at")[
            :50
        ],
    }
    return render(request, "parking/staff.html", context, status=status)


# --- Configuration of signs, event modes and DATEX II sources ------------------------------


@staff_member_required(MANAGE_PARKING)
@require_http_methods(["GET", "HEAD"])
def guidance(request: HttpRequest) -> HttpResponse:
    """Signs with what they show now, event modes, DATEX II sources."""
    municipality = request_municipality(request)
    now = timezone.now()
    signs = [
        {"sign": sign, "display": selectors.sign_display(sign, now=now)}
        for sign in Sign.objects.filter(municipality=municipality).order_by("name")
    ]
    context = {
        "signs": signs,
        "modes": EventMode.objects.filter(municipality=municipality).order_by("-starts_at"),
        "active_mode": selectors.event_mode_active(municipality=municipality, now=now),
        "sources": DatexSource.objects.filter(municipality=municipality).order_by("name"),
    }
    return render(request, "parking/guidance.html", context)


def _line_initial(sign: Sign | None) -> list[dict[str, Any]]:
    if sign is None:
        return []
    return [
        {
            "site": line.site_id,
            "arrow": line.arrow,
            "label": line.label,
            "event_mode": line.event_mode_id,
        }
        for line in sign.lines.order_by("position", "pk")
    ]


@staff_member_required(MANAGE_PARKING)
@require_http_methods(["GET", "HEAD", "POST"])
def sign_edit(request: HttpRequest, sign_id: int | None = None) -> HttpResponse:
    municipality = request_municipality(request)
    sign = (
        access.sign_for_staff(municipality=municipality, sign_id=sign_id)
        if sign_id is not None
        else None
    )
    choices = {
        "sites": list(ParkingSite.objects.filter(municipality=municipality).order_by("name")),
        "modes": list(EventMode.objects.filter(municipality=municipality).order_by("starts_at")),
    }
    if request.method == "POST":
        form = SignForm(request.POST, instance=Sign())
        lines = SignLineFormSet(request.POST, prefix="lines", form_kwargs=choices)
    else:
        form = SignForm(instance=sign)
        lines = SignLineFormSet(initial=_line_initial(sign), prefix="lines", form_kwargs=choices)
    status = 200
    if request.method == "POST":
        if form.is_valid() and lines.is_valid():
            try:
                saved = services.sign_save(
                    municipality=municipality,
                    sign=sign,
                    key=form.cleaned_data["key"],
                    name=form.cleaned_data["name"],
                    kind=form.cleaned_data["kind"],
                    location=form.cleaned_data["location"],
                    lines=sign_lines(lines),
                    actor=request.user,
                )
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                messages.success(request, _("Sign %(name)s saved.") % {"name": saved.name})
                return redirect("parking:guidance")
        else:
            status = 400
    display = selectors.sign_display(sign) if sign is not None else None
    return render(
        request,
        "parking/sign_form.html",
        {"form": form, "lines": lines, "sign": sign, "display": display},
        status=status,
    )


@staff_member_required(MANAGE_PARKING)
@require_POST
def sign_delete(request: HttpRequest, sign_id: int) -> HttpResponse:
    sign = access.sign_for_staff(municipality=request_municipality(request), sign_id=sign_id)
    services.sign_delete(sign=sign, actor=request.user)
    messages.success(request, _("Sign %(name)s deleted.") % {"name": sign.name})
    return redirect("parking:guidance")


def _config_page(
    request: HttpRequest,
    form: forms.ModelForm,
    save: Callable[[dict[str, Any]], Any],
    saved: str,
    context: dict[str, Any],
) -> HttpResponse:
    """The form page of an event mode or a DATEX II source: on a valid POST ``save``
    (a service call) and back to the overview with ``saved`` (``%(name)s``), else the
    form with its errors."""
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                done = save(form.cleaned_data)
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                messages.success(request, saved % {"name": done.name})
                return redirect("parking:guidance")
        else:
            status = 400
    return render(request, "parking/config_form.html", {"form": form, **context}, status=status)


@staff_member_required(MANAGE_PARKING)
@require_http_methods(["GET", "HEAD", "POST"])
def event_mode_edit(request: HttpRequest, mode_id: int | None = None) -> HttpResponse:
    municipality = request_municipality(request)
    mode = (
        access.event_mode_for_staff(municipality=municipality, mode_id=mode_id)
        if mode_id is not None
        else None
    )
    form = EventModeForm(
        request.POST or None,
        instance=EventMode() if request.method == "POST" or mode is None else mode,
    )

    def save(data: dict[str, Any]) -> EventMode:
        return services.event_mode_save(
            municipality=municipality,
            mode=mode,
            name=data["name"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            message=data["message"],
            actor=request.user,
        )

    return _config_page(
        request,
        form,
        save,
        _("Event mode %(name)s saved."),
        {
            "title": mode.name if mode is not None else _("New event mode"),
            "object": mode,
            "delete_url": "parking:event_mode_delete",
            "intro": _(
                "While the mode runs, signs that have lines for it show those lines "
                "instead of their own, with the message."
            ),
        },
    )


@staff_member_required(MANAGE_PARKING)
@require_POST
def event_mode_delete(request: HttpRequest, mode_id: int) -> HttpResponse:
    mode = access.event_mode_for_staff(municipality=request_municipality(request), mode_id=mode_id)
    services.event_mode_delete(mode=mode, actor=request.user)
    messages.success(request, _("Event mode %(name)s deleted.") % {"name": mode.name})
    return redirect("parking:guidance")


@staff_member_required(MANAGE_PARKING)
@require_http_methods(["GET", "HEAD", "POST"])
def datex_source_edit(request: HttpRequest, source_id: int | None = None) -> HttpResponse:
    municipality = request_municipality(request)
    source = (
        access.datex_source_for_staff(municipality=municipality, source_id=source_id)
        if source_id is not None
        else None
    )
    form = DatexSourceForm(
        request.POST or None,
        instance=DatexSource() if request.method == "POST" or source is None else source,
    )

    def save(data: dict[str, Any]) -> DatexSource:
        return services.datex_source_save(
            municipality=municipality,
            source=source,
            name=data["name"],
            url=data["url"],
            every_minutes=data["every_minutes"],
            is_active=data["is_active"],
            actor=request.user,
        )

    return _config_page(
        request,
        form,
        save,
        _("DATEX II source %(name)s saved."),
        {
            "title": source.name if source is not None else _("New DATEX II source"),
            "object": source,
            "delete_url": "parking:datex_source_delete",
            "source": source,
            "intro": _(
                "Pulled on schedule; its parking records update the car parks with the "
                "same identifier."
            ),
        },
    )


@staff_member_required(MANAGE_PARKING)
@require_POST
def datex_source_delete(request: HttpRequest, source_id: int) -> HttpResponse:
    source = access.datex_source_for_staff(
        municipality=request_municipality(request), source_id=source_id
    )
    services.datex_source_delete(source=source, actor=request.user)
    messages.success(request, _("DATEX II source %(name)s deleted.") % {"name": source.name})
    return redirect("parking:guidance")
