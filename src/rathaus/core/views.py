"""Operational endpoints and the error views Django calls."""

import hmac
from typing import Any

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from rathaus.core import health, metrics
from rathaus.core.branding import darken
from rathaus.core.http import error_response


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Also the benchmark's floor view."""
    return HttpResponse("ok", content_type="text/plain")


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: database, cache and task queue are reachable."""
    checks = health.run_checks()
    ready = all(state == "ok" for state in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )


def _metrics_allowed(request: HttpRequest) -> bool:
    token: str = settings.RATHAUS_METRICS_TOKEN
    if token:
        supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(supplied.encode(), token.encode())
    # A proxied request arrives from loopback too: without a token, only direct local
    # scrapes are allowed.
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    return request.META.get("REMOTE_ADDR") in settings.RATHAUS_METRICS_ALLOWED_IPS


@csrf_exempt
@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics: a bearer token when configured, else loopback only."""
    if not _metrics_allowed(request):
        return error_response(
            request, status=403, code="permission_denied", message=_("Metrics are not public.")
        )
    body, content_type = metrics.exposition()
    return HttpResponse(body, content_type=content_type)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(
        request, status=400, code="bad_request", message=_("The request could not be processed.")
    )


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(
        request,
        status=403,
        code="permission_denied",
        message=_("You are not allowed to see this page."),
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(
        request, status=404, code="not_found", message=_("There is nothing at this address.")
    )


def server_error(request: HttpRequest) -> HttpResponse:
    return error_response(
        request,
        status=500,
        code="server_error",
        message=_("We have been told about the problem. Please try again later."),
    )


def csrf_failure(request: HttpRequest, reason: str = "", **kwargs: Any) -> HttpResponse:
    return error_response(
        request,
        status=403,
        code="csrf_failed",
        message=_(
            "The form has expired or was sent from elsewhere. Please reload the page and try again."
        ),
    )


@require_GET
def branding_css(request: HttpRequest) -> HttpResponse:
    """The municipality's colours as CSS custom properties (CSP allows only our own styles)."""
    municipality = getattr(request, "municipality", None)
    colour = municipality.primary_colour if municipality is not None else "#1a4d80"
    css = f":root {{ --c-primary: {colour}; --c-primary-dark: {darken(colour)}; }}\n"
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_GET
def logo(request: HttpRequest) -> HttpResponse | FileResponse:
    municipality = getattr(request, "municipality", None)
    if municipality is None or not municipality.logo:
        return page_not_found(request)
    content_type = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}.get(
        municipality.logo.name.rsplit(".", 1)[-1], "application/octet-stream"
    )
    response = FileResponse(municipality.logo.open("rb"), content_type=content_type)
    response["Cache-Control"] = "public, max-age=300"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response
