"""The relying party's side of OpenID Connect, over plain HTTP.

Discovery documents and key sets are fetched with short timeouts and kept in the
Django cache; ID tokens are checked as OpenID Connect Core 3.1.3.7 asks: signature
(RS256 or ES256 only, key chosen by ``kid`` from the provider's JWKS, which is fetched
again once when a key is unknown, for key rotation), ``iss``, ``aud``, ``azp``, ``exp``,
``iat`` with a small leeway, and ``nonce``.
"""

import base64
import hashlib
import http.client
import json
import logging
import re
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

import jwt
from django.core.cache import cache
from django.utils.crypto import constant_time_compare
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from rathaus.accounts.trust import TrustLevel
from rathaus.core.errors import ApplicationError
from rathaus.oidc.config import ProviderConfig, url_allowed

logger = logging.getLogger(__name__)

HTTP_TIMEOUT = 5.0
MAX_RESPONSE_BYTES = 256 * 1024
DISCOVERY_TTL = 60 * 60
JWKS_TTL = 60 * 60
# At most one forced JWKS fetch per provider in this many seconds: tokens naming
# unknown keys must not make us hammer the provider.
JWKS_REFETCH_INTERVAL = 10
LEEWAY = 60
# ID tokens come straight from the token endpoint; an old one is a replayed one.
MAX_ID_TOKEN_AGE = 10 * 60
MAX_ID_TOKEN_CHARS = 16 * 1024
# The only signature algorithms accepted, and the key type each needs. Never "none",
# never HS256 (which would let anyone holding the public key sign).
ALGORITHMS = {"RS256": "RSA", "ES256": "EC"}
TOKEN_CHARS_RE = re.compile(r"^[\x21-\x7e]{1,4096}$")
ERROR_CODE_RE = re.compile(r"^[a-z_]{1,40}$")


class OidcError(ApplicationError):
    """A sign-in through a provider failed; ``reason`` is the audit trail's short word."""

    status = 400
    default_code = "oidc_login_failed"
    default_message = _("The sign-in could not be completed. Please start it again.")

    def __init__(
        self, reason: str, message: str | Promise | None = None, *, code: str | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.reason = reason


class ProviderUnavailable(OidcError):
    status = 502
    default_code = "oidc_provider_unavailable"
    default_message = _(
        "The identity provider cannot be reached at the moment. Please try again later."
    )


class InvalidResponse(OidcError):
    default_code = "oidc_invalid_response"
    default_message = _(
        "The answer of the identity provider could not be verified. Please start the sign-in again."
    )


@dataclass(frozen=True)
class Discovery:
    """The parts of a provider's metadata the relying party uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str = ""


@dataclass(frozen=True)
class Tokens:
    id_token: str
    access_token: str


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Back-channel endpoints answer directly; a redirect could lead anywhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect())


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _connect_target(url: str) -> tuple[str, str | None]:
    """Where to connect, and the Host header to send.

    ``*.localhost`` names belong to this machine (RFC 6761), but the system resolver
    may not know them; the demo's tenants live there, so connect to loopback directly.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme == "http" and host.endswith(".localhost"):
        netloc = "127.0.0.1" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc)), parts.netloc
    return url, None


def _read(response: Any) -> bytes:
    body: bytes = response.read(MAX_RESPONSE_BYTES + 1)
    if len(body) > MAX_RESPONSE_BYTES:
        raise ProviderUnavailable("response_too_large")
    return body


def http_fetch(
    url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """GET (or POST ``data`` to) ``url``; returns status and body. Network trouble raises."""
    if not url_allowed(url):
        raise ProviderUnavailable("insecure_url")
    target, host = _connect_target(url)
    all_headers = {"User-Agent": "rathaus-oidc", **(headers or {})}
    if host:
        all_headers["Host"] = host
    request = urllib.request.Request(  # noqa: S310 - scheme checked by url_allowed
        target, data=data, headers=all_headers, method="POST" if data is not None else "GET"
    )
    try:
        with _OPENER.open(request, timeout=HTTP_TIMEOUT) as response:
            return int(response.status), _read(response)
    except urllib.error.HTTPError as error:
        with error:
            return int(error.code), _read(error)
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as error:
        logger.warning("oidc request failed", extra={"url": url, "error": str(error)})
        raise ProviderUnavailable("unreachable") from error


def _json_object(body: bytes, *, reason: str, unavailable: bool = False) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        value = None
    if not isinstance(value, dict):
        raise (ProviderUnavailable if unavailable else InvalidResponse)(reason)
    return value


def discovery(provider: ProviderConfig) -> Discovery:
    """The provider's metadata, from the cache or its ``.well-known`` address."""
    key = f"oidc:discovery:{_digest(provider.issuer)}"
    cached = cache.get(key)
    if isinstance(cached, dict):
        return Discovery(**cached)
    status, body = http_fetch(provider.issuer.rstrip("/") + "/.well-known/openid-configuration")
    if status != 200:
        raise ProviderUnavailable("discovery_failed")
    doc = _json_object(body, reason="discovery_invalid", unavailable=True)
    # OpenID Connect Discovery 4.3: the document must name exactly the configured issuer.
    if doc.get("issuer") != provider.issuer:
        raise ProviderUnavailable("discovery_issuer_mismatch")
    endpoints = {}
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
        value = doc.get(name, "")
        if name == "userinfo_endpoint" and value == "":
            endpoints[name] = ""
            continue
        if not isinstance(value, str) or not url_allowed(value):
            raise ProviderUnavailable("discovery_invalid")
        endpoints[name] = value
    result = Discovery(issuer=provider.issuer, **endpoints)
    cache.set(key, asdict(result), DISCOVERY_TTL)
    return result


def jwks(found: Discovery, *, refresh: bool = False) -> tuple[list[dict[str, Any]], bool]:
    """The provider's public keys, and whether they were fetched just now."""
    key = f"oidc:jwks:{_digest(found.jwks_uri)}"
    if not refresh:
        cached = cache.get(key)
        if isinstance(cached, list):
            return cached, False
    status, body = http_fetch(found.jwks_uri)
    if status != 200:
        raise ProviderUnavailable("jwks_failed")
    keys = _json_object(body, reason="jwks_invalid", unavailable=True).get("keys")
    if not isinstance(keys, list) or not all(isinstance(item, dict) for item in keys):
        raise ProviderUnavailable("jwks_invalid")
    cache.set(key, keys, JWKS_TTL)
    return keys, True


def _select_key(keys: list[dict[str, Any]], kid: str | None, alg: str) -> Any | None:
    """The one signing key that fits ``kid`` and ``alg``, as a cryptography key, or None."""
    candidates = [
        jwk
        for jwk in keys
        if jwk.get("kty") == ALGORITHMS[alg]
        and jwk.get("use", "sig") == "sig"
        and jwk.get("alg", alg) == alg
        and (jwk.get("kty") != "EC" or jwk.get("crv") == "P-256")
        and (kid is None or jwk.get("kid") == kid)
    ]
    if len(candidates) != 1:
        return None
    try:
        return jwt.PyJWK(candidates[0], algorithm=alg).key
    except jwt.PyJWTError:
        return None


def _claims_checked(token: str, key: Any, alg: str, provider: ProviderConfig) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=provider.client_id,
            issuer=provider.issuer,
            leeway=LEEWAY,
            options={"require": ["iss", "sub", "aud", "exp", "iat"]},
        )
    except jwt.InvalidSignatureError as error:
        raise InvalidResponse("id_token_signature") from error
    except jwt.ExpiredSignatureError as error:
        raise InvalidResponse("id_token_expired") from error
    except jwt.InvalidIssuerError as error:
        raise InvalidResponse("id_token_issuer") from error
    except jwt.InvalidAudienceError as error:
        raise InvalidResponse("id_token_audience") from error
    except (jwt.ImmatureSignatureError, jwt.InvalidIssuedAtError) as error:
        raise InvalidResponse("id_token_iat") from error
    except jwt.MissingRequiredClaimError as error:
        raise InvalidResponse("id_token_claim_missing") from error
    except jwt.PyJWTError as error:
        raise InvalidResponse("id_token_invalid") from error
    return claims


def id_token_validate(
    provider: ProviderConfig, found: Discovery, *, id_token: object, nonce: str
) -> dict[str, Any]:
    """The claims of ``id_token`` once every check has passed; InvalidResponse otherwise."""
    if not isinstance(id_token, str) or not 0 < len(id_token) <= MAX_ID_TOKEN_CHARS:
        raise InvalidResponse("id_token_malformed")
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError as error:
        raise InvalidResponse("id_token_malformed") from error
    alg, kid = header.get("alg"), header.get("kid")
    if not isinstance(alg, str) or alg not in ALGORITHMS:
        raise InvalidResponse("id_token_algorithm")
    if kid is not None and not isinstance(kid, str):
        raise InvalidResponse("id_token_malformed")
    keys, fresh = jwks(found)
    key = _select_key(keys, kid, alg)
    if (
        key is None
        and not fresh
        and cache.add(f"oidc:jwks-refetch:{_digest(found.jwks_uri)}", 1, JWKS_REFETCH_INTERVAL)
    ):
        # The provider may have rotated its keys since we cached them.
        keys, _fresh = jwks(found, refresh=True)
        key = _select_key(keys, kid, alg)
    if key is None:
        raise InvalidResponse("id_token_unknown_key")
    claims = _claims_checked(id_token, key, alg, provider)
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") != provider.client_id:
        raise InvalidResponse("id_token_azp")
    if not isinstance(claims["iat"], int | float) or (
        time.time() - claims["iat"] > MAX_ID_TOKEN_AGE + LEEWAY
    ):
        raise InvalidResponse("id_token_iat")
    claim_nonce = claims.get("nonce")
    if not isinstance(claim_nonce, str) or not constant_time_compare(claim_nonce, nonce):
        raise InvalidResponse("id_token_nonce")
    subject = claims["sub"]
    if not isinstance(subject, str) or not 0 < len(subject) <= 255:
        raise InvalidResponse("id_token_subject")
    return claims


def pkce_pair() -> tuple[str, str]:
    """A fresh PKCE code verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_url(
    provider: ProviderConfig,
    found: Discovery,
    *,
    redirect_uri: str,
    state: str,
    nonce: str,
    code_challenge: str,
    level: TrustLevel | None,
    language: str = "",
) -> str:
    """Where to send the browser to sign in; a level asks for a fresh login at it."""
    params = {
        "response_type": "code",
        "client_id": provider.client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(provider.scopes),
        "state": state,
        "nonce": nonce,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    }
    if level is not None:
        params["prompt"] = "login"
        if acr_values := provider.acr_values_for(level):
            params["acr_values"] = " ".join(acr_values)
    if language:
        params["ui_locales"] = language
    parts = urlsplit(found.authorization_endpoint)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def token_exchange(
    provider: ProviderConfig,
    found: Discovery,
    *,
    code: str,
    redirect_uri: str,
    code_verifier: str,
) -> Tokens:
    """Redeem ``code`` at the token endpoint (client_secret_basic)."""
    # RFC 6749 2.3.1: both parts are form-encoded before they are joined.
    credentials = f"{quote_plus(provider.client_id)}:{quote_plus(provider.client_secret)}"
    status, body = http_fetch(
        found.token_endpoint,
        data=urlencode(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": code_verifier,
            }
        ).encode(),
        headers={
            "Authorization": "Basic " + base64.b64encode(credentials.encode()).decode(),
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        },
    )
    if status >= 500:
        raise ProviderUnavailable("token_endpoint_failed")
    if status != 200:
        try:
            error = str(json.loads(body).get("error", ""))
        except (ValueError, AttributeError, UnicodeDecodeError):
            error = ""
        raise InvalidResponse(f"token_error:{error if ERROR_CODE_RE.match(error) else 'unknown'}")
    doc = _json_object(body, reason="token_response_invalid")
    token_type, id_token = doc.get("token_type"), doc.get("id_token")
    access_token = doc.get("access_token", "")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise InvalidResponse("token_response_invalid")
    if not isinstance(id_token, str) or not id_token:
        raise InvalidResponse("token_response_no_id_token")
    if not isinstance(access_token, str) or (
        access_token and not TOKEN_CHARS_RE.match(access_token)
    ):
        raise InvalidResponse("token_response_invalid")
    return Tokens(id_token=id_token, access_token=access_token)


def userinfo_fetch(found: Discovery, *, access_token: str, subject: str) -> dict[str, Any]:
    """The userinfo claims, or {} if the provider has no userinfo endpoint."""
    if not found.userinfo_endpoint or not access_token:
        return {}
    status, body = http_fetch(
        found.userinfo_endpoint,
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
    )
    if status >= 500:
        raise ProviderUnavailable("userinfo_failed")
    if status != 200:
        raise InvalidResponse("userinfo_refused")
    claims = _json_object(body, reason="userinfo_invalid")
    # OpenID Connect Core 5.3.2: userinfo of anyone else must not be used.
    if claims.get("sub") != subject:
        raise InvalidResponse("userinfo_subject_mismatch")
    return claims
