"""Request-level machinery: request ids, metrics, size limits, tenancy, error pages."""

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from rathaus.core import metrics
from rathaus.core.http import error_response
from rathaus.core.logging import request_id_var
from rathaus.core.tenancy import municipality_for_host

logger = logging.getLogger("rathaus.request")

GetResponse = Callable[[HttpRequest], HttpResponse]
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Paths that serve the deployment, not a municipality.
TENANT_EXEMPT_PREFIXES = (
    "/healthz",
    "/readyz",
    "/metrics",
    "/static/",
    "/api/v1/schema",
    "/favicon.ico",
)


class RequestIdMiddleware:
    """Gives every request an id (kept from a trusted proxy's X-Request-ID) for logs."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            if response.status_code >= 500:
                level = logging.ERROR
            elif response.status_code >= 400:
                level = logging.WARNING
            else:
                level = logging.INFO
            logger.log(
                level,
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            return response
        finally:
            request_id_var.reset(token)


class MetricsMiddleware:
    """Counts requests and their latency per route, for Prometheus."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        # Label by route name, never by raw path, to keep the label set bounded.
        route = match.view_name if match is not None and match.view_name else "unresolved"
        metrics.observe_request(
            method=request.method or "",
            route=route,
            status=response.status_code,
            seconds=time.perf_counter() - started,
        )
        return response


class BodySizeLimitMiddleware:
    """Refuses bodies over RATHAUS_MAX_REQUEST_BODY with 413 before anything reads them."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit: int = settings.RATHAUS_MAX_REQUEST_BODY
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw)
        except ValueError:
            return error_response(
                request,
                status=400,
                code="bad_content_length",
                message=_("Invalid Content-Length header."),
            )
        if length > limit:
            return error_response(
                request,
                status=413,
                code="too_large",
                message=_("The request body is larger than %(limit)d MB.")
                % {"limit": limit // (1024 * 1024)},
            )
        return self.get_response(request)


class TenantMiddleware:
    """Resolves the municipality from the host; unknown hosts get a clear 404."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.municipality = None  # type: ignore[attr-defined]
        if request.path.startswith(TENANT_EXEMPT_PREFIXES):
            return self.get_response(request)
        municipality = municipality_for_host(request.get_host().rsplit(":", 1)[0])
        if municipality is None:
            return error_response(
                request,
                status=404,
                code="unknown_municipality",
                message=_("No municipality is served at this address."),
            )
        request.municipality = municipality  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        user_municipality = getattr(user, "municipality_id", None)
        if user_municipality is not None and user_municipality != municipality.pk:
            # A session of another municipality's account is worth nothing here.
            request.user = AnonymousUser()
        return self.get_response(request)


class ErrorPageMiddleware:
    """Gives body-less error responses (e.g. 405 from a method decorator) the error shape."""

    CODES = {
        400: "bad_request",
        403: "permission_denied",
        404: "not_found",
        405: "method_not_allowed",
    }

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        status = response.status_code
        if (
            status in self.CODES
            and not getattr(response, "streaming", False)
            and not response.content
        ):
            replacement = error_response(
                request,
                status=status,
                code=self.CODES[status],
                message=_("This request is not supported here.")
                if status == 405
                else _("The request could not be processed."),
            )
            if status == 405 and response.has_header("Allow"):
                replacement["Allow"] = response["Allow"]
            return replacement
        return response
