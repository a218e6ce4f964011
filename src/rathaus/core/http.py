"""One place that turns an error into a response: JSON for the API, a page for people."""

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from rathaus.core.errors import error_body

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"

TITLES = {
    400: lambda: _("The request could not be processed"),
    403: lambda: _("Access denied"),
    404: lambda: _("Page not found"),
    405: lambda: _("Method not allowed"),
    413: lambda: _("The request is too large"),
    429: lambda: _("Too many requests"),
    500: lambda: _("Something went wrong on our side"),
    503: lambda: _("Service unavailable"),
}


def client_address(request: HttpRequest) -> str:
    """The client's IP address, looking through the load balancers we trust.

    Behind trusted proxies (``RATHAUS_TRUSTED_PROXIES``) the address is the right-most
    X-Forwarded-For entry that is not itself a trusted proxy; anything a client wrote
    further left is ignored, so it cannot choose its own address.
    """
    remote = str(request.META.get("REMOTE_ADDR", ""))
    trusted = set(settings.RATHAUS_TRUSTED_PROXIES)
    if remote not in trusted:
        return remote
    forwarded = [
        part.strip()
        for part in request.headers.get("X-Forwarded-For", "").split(",")
        if part.strip()
    ]
    for address in reversed(forwarded):
        if address not in trusted:
            return address
    return remote


def wants_json(request: HttpRequest) -> bool:
    if request.path.startswith(API_PREFIX):
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(
    request: HttpRequest, *, status: int, code: str, message: str | Promise
) -> HttpResponse:
    """An error in the shape the client understands; never a stack trace."""
    if wants_json(request):
        return JsonResponse(error_body(code=code, message=message), status=status)
    title = TITLES.get(status, TITLES[400])()
    context = {"status": status, "code": code, "title": title, "message": str(message)}
    try:
        content = loader.render_to_string("errors/error.html", context, request=request)
    except Exception:
        # The error page must not fail in turn (e.g. a broken database behind a
        # context processor): fall back to a page without any context.
        logger.exception("error page could not be rendered")
        content = loader.render_to_string("errors/plain.html", context)
    return HttpResponse(content, status=status)
