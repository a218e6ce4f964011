"""The auditor's pages: search, read one entry, export. Nothing here writes to the trail
except the record of an export; there are no views to add, change or delete events."""

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from rathaus.audit import access, exports, selectors
from rathaus.audit.forms import AuditFilterForm, PageCursorForm
from rathaus.audit.models import chain_key
from rathaus.audit.services import ACTION_EXPORTED, audit_record
from rathaus.core.http import client_address, error_response
from rathaus.core.tenancy import request_municipality

View = Callable[..., HttpResponseBase]

#: The most rows one export may hold; narrower filters for more.
EXPORT_LIMIT = 100_000


def auditor_required(permission: str) -> Callable[[View], View]:
    """Staff of the request's municipality with ``permission``; anonymous to the login.

    The same rule as ``accounts.decorators.staff_required``, which this platform app may
    not import (it sits below accounts in the layer contract), plus the municipality
    check of ``access.auditor_check``.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            access.auditor_check(
                user=request.user,
                municipality=request_municipality(request),
                permission=permission,
            )
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _invalid_page_link(request: HttpRequest) -> HttpResponse:
    return error_response(
        request,
        status=400,
        code="invalid_page",
        message=_("This page link is not valid. Please start again from the first page."),
    )


@require_http_methods(["GET", "HEAD"])
@auditor_required(access.VIEW_PERMISSION)
def event_list(request: HttpRequest) -> HttpResponse:
    municipality = request_municipality(request)
    form, cursor = AuditFilterForm(request.GET), PageCursorForm(request.GET)
    if not cursor.is_valid():
        return _invalid_page_link(request)
    context: dict[str, Any] = {"form": form, "page": None}
    if not form.is_valid():
        return render(request, "audit/event_list.html", context, status=400)
    context["page"] = selectors.audit_event_page(
        municipality=municipality,
        filters=form.filters(),
        before=cursor.cleaned_data["vor"],
        after=cursor.cleaned_data["nach"],
    )
    context["paged"] = (
        cursor.cleaned_data["vor"] is not None or cursor.cleaned_data["nach"] is not None
    )
    return render(request, "audit/event_list.html", context)


@require_http_methods(["GET", "HEAD"])
@auditor_required(access.VIEW_PERMISSION)
def event_detail(request: HttpRequest, event_id: int) -> HttpResponse:
    event = access.audit_event_for_auditor(
        user=request.user, municipality=request_municipality(request), event_id=event_id
    )
    return render(
        request, "audit/event_detail.html", {"event": event, "details": _details(event.data)}
    )


def _details(data: Any) -> list[tuple[str, str]]:
    """An event's data as (key, text) pairs; nested values as compact JSON."""
    if not isinstance(data, dict):
        return [("", json.dumps(data, ensure_ascii=False))] if data else []
    return [
        (
            key,
            value
            if isinstance(value, str)
            else json.dumps(value, ensure_ascii=False, sort_keys=True),
        )
        for key, value in sorted(data.items())
    ]


def _export(request: HttpRequest, export_format: str) -> HttpResponseBase:
    municipality = request_municipality(request)
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "audit/event_list.html", {"form": form, "page": None}, status=400)
    filters = form.filters()
    count, up_to = selectors.audit_export_extent(municipality=municipality, filters=filters)
    if count > EXPORT_LIMIT:
        return error_response(
            request,
            status=400,
            code="export_too_large",
            message=_(
                "This export would hold %(count)s entries; at most %(limit)s can be exported "
                "at once. Please narrow the search, for example by date."
            )
            % {"count": count, "limit": EXPORT_LIMIT},
        )
    audit_record(
        municipality=municipality,
        action=ACTION_EXPORTED,
        actor=request.user,
        data={"filters": filters.as_data(), "format": export_format, "count": count},
        ip=client_address(request),
    )
    rows = selectors.audit_export_rows(municipality=municipality, filters=filters, up_to=up_to)
    stamp = timezone.localtime().strftime("%Y-%m-%d-%H%M%S")
    filename = f"protokoll-{municipality.slug}-{stamp}.{export_format}"
    response: StreamingHttpResponse
    if export_format == "csv":
        response = StreamingHttpResponse(
            exports.csv_lines(rows), content_type="text/csv; charset=utf-8"
        )
    else:
        head = {
            "municipality": municipality.slug,
            "chain": chain_key(municipality.pk),
            "filters": filters.as_data(),
            "count": count,
        }
        response = StreamingHttpResponse(
            exports.json_chunks(head, rows), content_type="application/json; charset=utf-8"
        )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


# GET only: a HEAD request would be recorded as an export without delivering one.
@require_http_methods(["GET"])
@auditor_required(access.VIEW_PERMISSION)
@auditor_required(access.EXPORT_PERMISSION)
def export_csv(request: HttpRequest) -> HttpResponseBase:
    return _export(request, "csv")


@require_http_methods(["GET"])
@auditor_required(access.VIEW_PERMISSION)
@auditor_required(access.EXPORT_PERMISSION)
def export_json(request: HttpRequest) -> HttpResponseBase:
    return _export(request, "json")
