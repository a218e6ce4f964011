"""The dev IdP's endpoints: discovery, JWKS, authorize (a persona picker), token, userinfo.

A real, minimal OpenID Connect provider (authorization code flow with PKCE S256 only,
client_secret_basic, RS256), served only when ``RATHAUS_DEV_IDP`` is true.
"""

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import unquote_plus, urlencode

from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    QueryDict,
)
from django.shortcuts import render
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from rathaus.devidp import keys, registration, services
from rathaus.devidp.personas import PERSONAS, persona_get
from rathaus.devidp.registration import ACR_BASIC, ACR_HIGH, ACR_SUBSTANTIAL

View = Callable[..., HttpResponse]

LEVEL_LABELS = {
    ACR_HIGH: gettext_lazy("high"),
    ACR_SUBSTANTIAL: gettext_lazy("substantial"),
    ACR_BASIC: gettext_lazy("basic"),
}
MAX_PARAM = 512
MAX_TOKEN_PARAM = 1024
CHALLENGE_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "acr_values",
)


def dev_idp_only(view: View) -> View:
    """404 for every request unless the dev IdP is switched on."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not registration.enabled():
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


def _endpoint(request: HttpRequest, name: str) -> str:
    return f"{registration.issuer_for(request)}/{name}"


@dev_idp_only
@require_http_methods(["GET", "HEAD"])
def discovery(request: HttpRequest) -> HttpResponse:
    """The OpenID Provider metadata (OpenID Connect Discovery 1.0)."""
    return JsonResponse(
        {
            "issuer": registration.issuer_for(request),
            "authorization_endpoint": _endpoint(request, "authorize"),
            "token_endpoint": _endpoint(request, "token"),
            "userinfo_endpoint": _endpoint(request, "userinfo"),
            "jwks_uri": _endpoint(request, "jwks.json"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "profile", "email", "address"],
            "claims_supported": [
                "sub",
                "acr",
                "given_name",
                "family_name",
                "name",
                "birthdate",
                "email",
                "email_verified",
                "address",
            ],
            "acr_values_supported": list(registration.ACR_VALUES),
            "authorization_response_iss_parameter_supported": True,
            "x_rathaus_warning": registration.WARNING,
        }
    )


@dev_idp_only
@require_http_methods(["GET", "HEAD"])
def jwks(request: HttpRequest) -> HttpResponse:
    """The public signing keys."""
    keys.signing_key()  # publish a key before the first token needs one
    return JsonResponse(keys.jwks())


@dataclass(frozen=True)
class AuthorizeRequest:
    client_id: str
    redirect_uri: str
    scope: str
    state: str
    nonce: str
    code_challenge: str
    acr_values: tuple[str, ...]

    def hidden_fields(self) -> list[tuple[str, str]]:
        return [
            ("response_type", "code"),
            ("client_id", self.client_id),
            ("redirect_uri", self.redirect_uri),
            ("scope", self.scope),
            ("state", self.state),
            ("nonce", self.nonce),
            ("code_challenge", self.code_challenge),
            ("code_challenge_method", "S256"),
            ("acr_values", " ".join(self.acr_values)),
        ]


class _BadClient(Exception):
    """Client or redirect URI is wrong: never redirect, show a page."""


class _BadRequest(Exception):
    """Anything else is wrong: tell the client at its (verified) redirect URI."""

    def __init__(self, error: str, description: str, *, redirect_uri: str, state: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description
        self.redirect_uri, self.state = redirect_uri, state


def _single(params: QueryDict, name: str, limit: int = MAX_PARAM) -> str | None:
    """One parameter's value, or None if repeated or too long (RFC 6749 3.1)."""
    values = params.getlist(name)
    if len(values) > 1 or any(len(value) > limit for value in values):
        return None
    return values[0] if values else ""


def _parse_authorize(request: HttpRequest, params: QueryDict) -> AuthorizeRequest:
    client_id = _single(params, "client_id")
    redirect_uri = _single(params, "redirect_uri")
    if client_id != registration.CLIENT_ID:
        raise _BadClient(_("This client is not registered with the test identity provider."))
    if redirect_uri != registration.redirect_uri_for(request):
        raise _BadClient(_("This redirect address is not registered for the client."))
    values = {name: _single(params, name) for name in AUTHORIZE_PARAMS}
    state = values["state"] or ""

    def fail(error: str, description: str) -> _BadRequest:
        return _BadRequest(error, description, redirect_uri=redirect_uri, state=state)

    if any(value is None for value in values.values()):
        raise fail("invalid_request", "repeated or oversized parameter")
    if not state:
        raise fail("invalid_request", "state is required")
    if values["response_type"] != "code":
        raise fail("unsupported_response_type", "only the code flow is supported")
    scope = values["scope"] or ""
    if "openid" not in scope.split():
        raise fail("invalid_scope", "the openid scope is required")
    if not values["nonce"]:
        raise fail("invalid_request", "nonce is required")
    if values["code_challenge_method"] != "S256" or not CHALLENGE_RE.match(
        values["code_challenge"] or ""
    ):
        raise fail("invalid_request", "PKCE with S256 is required")
    return AuthorizeRequest(
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=scope,
        state=state,
        nonce=values["nonce"] or "",
        code_challenge=values["code_challenge"] or "",
        acr_values=tuple((values["acr_values"] or "").split()),
    )


def _back_to_client(
    request: HttpRequest, redirect_uri: str, params: dict[str, str]
) -> HttpResponse:
    # RFC 9207: name the issuer, so the client can tell which provider answered.
    params = {**params, "iss": registration.issuer_for(request)}
    return HttpResponseRedirect(f"{redirect_uri}?{urlencode(params)}")


def _error_page(request: HttpRequest, message: str) -> HttpResponse:
    return render(
        request,
        "devidp/error.html",
        {"warning": registration.WARNING, "message": message},
        status=400,
    )


@dev_idp_only
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    """Pick a test persona; the choice is answered with a single-use code."""
    params = request.POST if request.method == "POST" else request.GET
    try:
        auth = _parse_authorize(request, params)
    except _BadClient as error:
        return _error_page(request, str(error))
    except _BadRequest as error:
        answer = {"error": error.error, "error_description": error.description}
        if error.state:
            answer["state"] = error.state
        return _back_to_client(request, error.redirect_uri, answer)
    if request.method == "POST":
        if params.get("action") == "cancel":
            return _back_to_client(
                request, auth.redirect_uri, {"error": "access_denied", "state": auth.state}
            )
        persona = persona_get(params.get("persona", ""))
        if persona is None:
            return _error_page(request, _("Choose one of the test people."))
        code = services.authorization_code_issue(
            issuer=registration.issuer_for(request),
            client_id=auth.client_id,
            redirect_uri=auth.redirect_uri,
            code_challenge=auth.code_challenge,
            nonce=auth.nonce,
            scope=auth.scope,
            persona=persona,
        )
        return _back_to_client(request, auth.redirect_uri, {"code": code, "state": auth.state})
    requested = [LEVEL_LABELS[acr] for acr in auth.acr_values if acr in LEVEL_LABELS]
    personas = [
        {
            "persona": persona,
            "level": LEVEL_LABELS[persona.acr],
            "meets": persona.acr in auth.acr_values if auth.acr_values else None,
        }
        for persona in PERSONAS
    ]
    return render(
        request,
        "devidp/authorize.html",
        {
            "warning": registration.WARNING,
            "auth": auth,
            "requested": requested[0] if requested else None,
            "personas": personas,
        },
    )


def _client_from_basic_auth(request: HttpRequest) -> str:
    """The client id of a correct ``Authorization: Basic`` header (RFC 6749 2.3.1)."""
    scheme, _sep, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic" or not encoded or len(encoded) > MAX_TOKEN_PARAM:
        raise services.InvalidClient
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise services.InvalidClient from error
    raw_id, sep, raw_secret = decoded.partition(":")
    client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
    good_id = constant_time_compare(client_id, registration.CLIENT_ID)
    good_secret = constant_time_compare(secret, registration.client_secret())
    if not sep or not (good_id and good_secret):
        raise services.InvalidClient
    return client_id


def _oauth_error(error: services.OAuthError) -> JsonResponse:
    response = JsonResponse(
        {"error": error.code, "error_description": str(error.message)}, status=error.status
    )
    if isinstance(error, services.InvalidClient):
        response["WWW-Authenticate"] = 'Basic realm="dev-idp"'
    elif isinstance(error, services.InvalidToken):
        response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


@csrf_exempt  # a back-channel call from the relying party's server, authenticated below
@dev_idp_only
@require_http_methods(["POST"])
def token(request: HttpRequest) -> HttpResponse:
    """The token endpoint: code + PKCE verifier → ID token and access token."""
    try:
        client_id = _client_from_basic_auth(request)
        fields = {
            name: _single(request.POST, name, MAX_TOKEN_PARAM)
            for name in ("grant_type", "code", "redirect_uri", "code_verifier")
        }
        if fields["grant_type"] != "authorization_code":
            raise services.OAuthError(code="unsupported_grant_type")
        if not all(fields.values()):
            raise services.OAuthError(code="invalid_request")
        answer = services.authorization_code_redeem(
            issuer=registration.issuer_for(request),
            client_id=client_id,
            code=fields["code"] or "",
            redirect_uri=fields["redirect_uri"] or "",
            code_verifier=fields["code_verifier"] or "",
        )
    except services.OAuthError as error:
        return _no_store(_oauth_error(error))
    return _no_store(JsonResponse(answer))


@csrf_exempt  # called with a bearer token, never with the session
@dev_idp_only
@require_http_methods(["GET", "POST"])
def userinfo(request: HttpRequest) -> HttpResponse:
    """The claims of the person an access token was issued for."""
    scheme, _sep, raw = request.headers.get("Authorization", "").partition(" ")
    try:
        if scheme.lower() != "bearer" or not raw or len(raw) > MAX_TOKEN_PARAM:
            raise services.InvalidToken
        claims = services.userinfo_for(
            issuer=registration.issuer_for(request), access_token=raw.strip()
        )
    except services.OAuthError as error:
        return _no_store(_oauth_error(error))
    return _no_store(JsonResponse(claims))
