"""Sign-in through OpenID Connect providers, and the step-up page."""

import re
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from rathaus.accounts.trust import TrustLevel, session_trust_level
from rathaus.core.http import error_response
from rathaus.oidc import protocol, services
from rathaus.oidc.config import ProviderConfig, provider_get, providers
from rathaus.oidc.links import start_url, step_up_url
from rathaus.oidc.pending import pending_login_begin, pending_login_take
from rathaus.oidc.protocol import OidcError

MAX_STATE = 128
MAX_CODE = 2048
MAX_NEXT = 2000
ERROR_CODE_RE = re.compile(r"^[a-z_]{1,40}$")


def safe_next(request: HttpRequest) -> str | None:
    """``next`` if it is a path on this host; "" if absent; None if it must be refused."""
    raw = request.GET.get("next", "")
    if raw == "":
        return ""
    if (
        len(raw) > MAX_NEXT
        or not raw.startswith("/")
        or raw.startswith("//")
        or "\\" in raw
        or any(ord(char) < 32 or ord(char) == 127 for char in raw)
        or not url_has_allowed_host_and_scheme(
            raw, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return None
    return raw


def _level_param(request: HttpRequest, *, required: bool) -> TrustLevel | None:
    """The ``level`` asked for, or None if absent; ValueError if invalid or missing."""
    raw = request.GET.get("level", "")
    if raw == "" and not required:
        return None
    if raw not in {"1", "2", "3"}:
        raise ValueError(raw)
    return TrustLevel(int(raw))


def _bad_parameter(request: HttpRequest, code: str, message: str) -> HttpResponse:
    return error_response(request, status=400, code=code, message=message)


def _provider_or_404(request: HttpRequest, name: str) -> ProviderConfig:
    config = provider_get(request, name)
    if config is None:
        raise Http404
    return config


def _failed(
    request: HttpRequest,
    *,
    status: int,
    message: str | Promise,
    next_url: str,
    level: int | None,
) -> HttpResponse:
    if level is not None:
        retry = step_up_url(level=TrustLevel(level), next_url=next_url or "/")
    else:
        retry = resolve_url(settings.LOGIN_URL)
        if next_url:
            retry += "?" + urlencode({"next": next_url})
    return render(
        request,
        "oidc/login_failed.html",
        {"message": message, "retry_url": retry},
        status=status,
    )


@never_cache
@require_http_methods(["GET", "HEAD"])
def start(request: HttpRequest, provider: str) -> HttpResponse:
    """Send the browser to the provider (authorization code flow with PKCE)."""
    config = _provider_or_404(request, provider)
    next_url = safe_next(request)
    if next_url is None:
        return _bad_parameter(
            request, "invalid_next", _("The address to return to must be a page of this site.")
        )
    try:
        level = _level_param(request, required=False)
    except ValueError:
        level = TrustLevel.NONE
    if level is not None and not TrustLevel.BASIC <= level <= config.max_level:
        return _bad_parameter(
            request,
            "invalid_level",
            _("This sign-in method cannot give the trust level asked for."),
        )
    try:
        found = protocol.discovery(config)
    except OidcError as error:
        return _failed(
            request, status=error.status, message=error.message, next_url=next_url, level=None
        )
    pending, challenge = pending_login_begin(
        request,
        provider=config.name,
        redirect_uri=request.build_absolute_uri(reverse("oidc:callback", args=[config.name])),
        next_url=next_url,
        level=level,
    )
    return HttpResponseRedirect(
        protocol.authorization_url(
            config,
            found,
            redirect_uri=pending.redirect_uri,
            state=pending.state,
            nonce=pending.nonce,
            code_challenge=challenge,
            level=level,
            language=get_language() or "",
        )
    )


@never_cache
@require_http_methods(["GET"])
def callback(request: HttpRequest, provider: str) -> HttpResponse:
    """The provider sends the browser back here with a code (or an error)."""
    config = _provider_or_404(request, provider)
    state = request.GET.get("state", "")
    pending = (
        pending_login_take(request, state=state, provider=config.name)
        if len(state) <= MAX_STATE
        else None
    )
    if pending is None:
        services.oidc_login_failure_record(
            request=request, provider=config.name, reason="state_mismatch"
        )
        return _failed(
            request,
            status=400,
            message=_(
                "This sign-in has expired or was started in another browser window. "
                "Please start again."
            ),
            next_url="",
            level=None,
        )
    error = request.GET.get("error")
    code = request.GET.get("code", "")
    if error is not None or not code or len(code) > MAX_CODE:
        reason = "invalid_response"
        message = _("The sign-in could not be completed. Please start it again.")
        if error is not None:
            reason = f"provider_error:{error if ERROR_CODE_RE.match(error) else 'unknown'}"
            if error == "access_denied":
                message = _("The sign-in was cancelled.")
        services.oidc_login_failure_record(request=request, provider=config.name, reason=reason)
        return _failed(
            request, status=400, message=message, next_url=pending.next_url, level=pending.level
        )
    try:
        services.oidc_login_complete(
            request=request,
            provider=config,
            pending=pending,
            code=code,
            issuer=request.GET.get("iss", ""),
        )
    except OidcError as failure:
        return _failed(
            request,
            status=failure.status,
            message=failure.message,
            next_url=pending.next_url,
            level=pending.level,
        )
    return HttpResponseRedirect(pending.next_url or resolve_url(settings.LOGIN_REDIRECT_URL))


@require_http_methods(["GET", "HEAD"])
def step_up(request: HttpRequest) -> HttpResponse:
    """Explain the trust level a page needs and offer the sign-ins that reach it."""
    try:
        level = _level_param(request, required=True)
    except ValueError:
        level = None
    next_url = safe_next(request)
    if level is None:
        return _bad_parameter(request, "invalid_level", _("Unknown trust level."))
    if next_url is None:
        return _bad_parameter(
            request, "invalid_next", _("The address to return to must be a page of this site.")
        )
    current = session_trust_level(request)
    if current >= level:
        return HttpResponseRedirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))
    is_staff = request.user.is_authenticated and request.user.is_staff
    options = [
        {
            "label": config.label,
            "is_test": config.is_test,
            "url": start_url(config.name, next_url=next_url, level=level),
        }
        for config in providers(request).values()
        if config.max_level >= level and (is_staff or not config.for_staff)
    ]
    return render(
        request,
        "oidc/step_up.html",
        {
            "required": level,
            "current": current,
            "options": options,
            "levels": [TrustLevel.BASIC, TrustLevel.SUBSTANTIAL, TrustLevel.HIGH],
            "next_url": next_url,
        },
    )
