"""Pages: the public map and list under /laden/, the operator pages under /verwaltung/laden/."""

import csv
import io
import json
from datetime import datetime, time
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from rathaus.accounts.decorators import staff_required
from rathaus.charging import access, selectors, services
from rathaus.charging.forms import (
    CommandForm,
    ExportForm,
    LimitWindowForm,
    SiteLimitForm,
    StationRegisterForm,
)
from rathaus.charging.models import EXPORT_PERMISSION, OPERATE_PERMISSION, Site, Tariff
from rathaus.core.errors import ApplicationError
from rathaus.core.forms import form_show_error
from rathaus.core.maps import map_tiles, map_tiles_allow
from rathaus.core.tenancy import request_municipality
from rathaus.organisation.permissions import user_can_anywhere

POLL_SECONDS = 15


def _public_rows(request: HttpRequest) -> list[dict[str, Any]]:
    rows = []
    for site in selectors.public_sites(municipality=request_municipality(request)):
        stations = []
        for station in site.stations.all():
            stations.append(
                {
                    "station": station,
                    "connectors": [
                        {
                            "connector": connector,
                            "status": selectors.connector_public_status(
                                station=station, connector=connector
                            ),
                        }
                        for connector in station.connectors.all()
                    ],
                }
            )
        rows.append(
            {"site": site, "stations": stations, "counts": selectors.site_availability(site=site)}
        )
    return rows


@require_http_methods(["GET", "HEAD"])
def public_list(request: HttpRequest) -> HttpResponse:
    tiles = map_tiles()
    context = {
        "rows": _public_rows(request),
        "now": timezone.now(),
        "poll_seconds": POLL_SECONDS,
        "tile_url": tiles.url,
        "tile_attribution": tiles.attribution,
    }
    response = render(request, "charging/public_list.html", context)
    # Map tiles are the one thing the page loads from elsewhere.
    return map_tiles_allow(response, tiles)


@require_http_methods(["GET", "HEAD"])
def public_fragment(request: HttpRequest) -> HttpResponse:
    context = {"rows": _public_rows(request), "now": timezone.now(), "poll_seconds": POLL_SECONDS}
    return render(request, "charging/_public_rows.html", context)


# --------------------------------------------------------------------------- operators


def _operator_gate(request: HttpRequest) -> None:
    if not user_can_anywhere(user=request.user, permission=OPERATE_PERMISSION):
        raise PermissionDenied


@staff_required()
@require_http_methods(["GET", "HEAD"])
def dashboard(request: HttpRequest) -> HttpResponse:
    _operator_gate(request)
    municipality = request_municipality(request)
    context = {
        "figures": selectors.dashboard_figures(municipality=municipality),
        "stations": selectors.station_list(municipality=municipality),
        "sites": Site.objects.filter(municipality=municipality).order_by("name"),
        "site_stats": selectors.site_statistics(municipality=municipality),
        "register_form": _register_form(request),
        "export_form": ExportForm(),
        "may_export": user_can_anywhere(user=request.user, permission=EXPORT_PERMISSION),
    }
    return render(request, "charging/dashboard.html", context)


def _register_form(request: HttpRequest, data: Any = None) -> StationRegisterForm:
    municipality = request_municipality(request)
    return StationRegisterForm(
        data,
        sites=Site.objects.filter(municipality=municipality).order_by("name"),
        tariffs=Tariff.objects.filter(municipality=municipality).order_by("name"),
    )


@staff_required()
@require_http_methods(["POST"])
def station_register(request: HttpRequest) -> HttpResponse:
    _operator_gate(request)
    form = _register_form(request, request.POST)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        access.site_for_operator(
            user=request.user,
            municipality=request_municipality(request),
            site_id=data["site"].pk,
        )
        try:
            station, secret = services.station_register(
                site=data["site"],
                identity=data["identity"],
                name=data["name"],
                max_power_w=data["max_power_w"],
                connectors=[(data["plug_type"], data["max_power_w"])] * data["connectors"],
                tariff=data["tariff"],
                actor=request.user,
            )
        except ApplicationError as error:
            status = form_show_error(form, error)
        else:
            response = render(
                request, "charging/station_secret.html", {"station": station, "secret": secret}
            )
            response["Cache-Control"] = "no-store"
            return response
    return render(request, "charging/station_register.html", {"form": form}, status=status)


@staff_required()
@require_http_methods(["GET", "HEAD", "POST"])
def station_detail(request: HttpRequest, station_id: int) -> HttpResponse:
    station = access.station_for_operator(
        user=request.user, municipality=request_municipality(request), station_id=station_id
    )
    form = CommandForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.command_request(
                    station=station,
                    action=form.cleaned_data["action"],
                    params=form.cleaned_data,
                    actor=request.user,
                )
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                messages.success(request, _("The command is queued and sent to the station."))
                return redirect("charging:station_detail", station_id=station.pk)
    context = {
        "station": station,
        "connectors": list(station.connectors.order_by("connector_id")),
        "sessions": list(station.sessions.select_related("token").order_by("-started_at")[:20]),
        "commands": selectors.station_commands(station=station),
        "events": list(station.events.order_by("-created_at", "-pk")[:20]),
        "statistics": selectors.station_statistics(station=station),
        "form": form,
    }
    return render(request, "charging/station_detail.html", context, status=status)


@staff_required()
@require_http_methods(["GET", "HEAD", "POST"])
def site_detail(request: HttpRequest, site_id: int) -> HttpResponse:
    site = access.site_for_operator(
        user=request.user, municipality=request_municipality(request), site_id=site_id
    )
    limit_form = SiteLimitForm(
        request.POST if request.POST.get("form") == "limit" else None,
        initial={"grid_limit_w": site.grid_limit_w},
    )
    window_form = LimitWindowForm(request.POST if request.POST.get("form") == "window" else None)
    status = 200
    if request.method == "POST":
        status = 400
        try:
            if limit_form.is_bound and limit_form.is_valid():
                services.site_limit_update(
                    site=site,
                    grid_limit_w=limit_form.cleaned_data["grid_limit_w"],
                    actor=request.user,
                )
                messages.success(request, _("The limit is saved; the stations get new profiles."))
                return redirect("charging:site_detail", site_id=site.pk)
            if window_form.is_bound and window_form.is_valid():
                data = window_form.cleaned_data
                services.site_limit_window_add(
                    site=site,
                    start_time=data["start_time"],
                    end_time=data["end_time"],
                    limit_w=data["limit_w"],
                    actor=request.user,
                )
                messages.success(request, _("The time window is saved."))
                return redirect("charging:site_detail", site_id=site.pk)
        except ApplicationError as error:
            status = form_show_error(window_form if window_form.is_bound else limit_form, error)
    context = {
        "site": site,
        "limit_form": limit_form,
        "window_form": window_form,
        "windows": list(site.limit_windows.all()),
        "effective_limit": selectors.site_effective_limit(site=site, at=timezone.now()),
        "stations": list(site.stations.order_by("name")),
    }
    return render(request, "charging/site_detail.html", context, status=status)


@staff_required()
@require_http_methods(["GET", "HEAD"])
def export(request: HttpRequest) -> HttpResponse:
    if not user_can_anywhere(user=request.user, permission=EXPORT_PERMISSION):
        raise PermissionDenied
    form = ExportForm(request.GET)
    if not form.is_valid():
        return render(request, "charging/export_invalid.html", {"form": form}, status=400)
    tz = timezone.get_current_timezone()
    data = form.cleaned_data

    def at(day: Any) -> datetime | None:
        return timezone.make_aware(datetime.combine(day, time.min), tz) if day else None

    records = [
        selectors.cdr_row(session)
        for session in selectors.charge_detail_records(
            municipality=request_municipality(request),
            since=at(data["since"]),
            until=at(data["until"]),
        )
    ]
    if data["format"] == "json":
        response = HttpResponse(
            json.dumps({"cdrs": records}, ensure_ascii=False, indent=1),
            content_type="application/json",
        )
        response["Content-Disposition"] = 'attachment; filename="ladevorgaenge.json"'
        return response
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=selectors.CDR_FIELDS)
    writer.writeheader()
    for row in records:
        # Spreadsheet formula injection: a token could start with "=".
        writer.writerow(
            {k: ("'" + v if isinstance(v, str) and v[:1] in "=+-@" else v) for k, v in row.items()}
        )
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="ladevorgaenge.csv"'
    return response
