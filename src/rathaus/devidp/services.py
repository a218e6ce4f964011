"""The dev IdP's protocol work: issuing and redeeming codes, tokens and user info."""

import base64
import hashlib
import hmac
import re
import secrets
from datetime import timedelta
from typing import Any

import jwt
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rathaus.core.errors import ApplicationError
from rathaus.devidp.keys import private_key, signing_key
from rathaus.devidp.models import AccessToken, AuthorizationCode
from rathaus.devidp.personas import Persona, persona_get

CODE_LIFETIME = timedelta(seconds=60)
ACCESS_TOKEN_LIFETIME = timedelta(minutes=10)
ID_TOKEN_LIFETIME = timedelta(minutes=5)
# Codes and their tokens are worthless after this; older rows are swept on the next issue.
KEEP_ROWS = timedelta(days=1)
# RFC 7636 4.1: 43 to 128 unreserved characters.
PKCE_VERIFIER_RE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
SCOPE_CLAIMS = {
    "profile": ("given_name", "family_name", "name", "birthdate"),
    "email": ("email", "email_verified"),
    "address": ("address",),
}


class OAuthError(ApplicationError):
    """An OAuth 2.0 error; ``code`` is the RFC 6749 ``error`` value."""

    status = 400
    default_code = "invalid_request"
    default_message = _("The request is not valid.")


class InvalidClient(OAuthError):
    status = 401
    default_code = "invalid_client"
    default_message = _("Client authentication failed.")


class InvalidGrant(OAuthError):
    default_code = "invalid_grant"
    default_message = _("The authorization code is invalid, expired or already used.")


class InvalidToken(OAuthError):
    status = 401
    default_code = "invalid_token"
    default_message = _("The access token is invalid or expired.")


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of ``verifier`` (RFC 7636 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_code_issue(
    *,
    issuer: str,
    client_id: str,
    redirect_uri: str,
    code_challenge: str,
    nonce: str,
    scope: str,
    persona: Persona,
) -> str:
    """Issue a code for ``persona``, valid for 60 seconds and once; returns the secret.

    Only its SHA-256 is stored, so a copy of the database redeems nothing.
    """
    raw = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        AuthorizationCode.objects.filter(created_at__lt=now - KEEP_ROWS).delete()
        AuthorizationCode.objects.create(
            code_hash=_digest(raw),
            issuer=issuer,
            client_id=client_id,
            redirect_uri=redirect_uri,
            code_challenge=code_challenge,
            nonce=nonce,
            scope=scope,
            persona=persona.key,
            expires_at=now + CODE_LIFETIME,
        )
    return raw


def authorization_code_redeem(
    *, issuer: str, client_id: str, code: str, redirect_uri: str, code_verifier: str
) -> dict[str, Any]:
    """Exchange a code for an ID token and an access token (the token endpoint's answer).

    The caller has authenticated the client. A code is used up by the first attempt to
    redeem it, successful or not; a second attempt also revokes the tokens the first
    one got (RFC 6749 4.1.2), because it means the code leaked.
    """
    now = timezone.now()
    row = AuthorizationCode.objects.filter(code_hash=_digest(code), issuer=issuer).first()
    if row is None:
        raise InvalidGrant
    # A conditional update is atomic on every database: exactly one attempt wins.
    claimed = AuthorizationCode.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now)
    if not claimed:
        AccessToken.objects.filter(code=row).delete()
        raise InvalidGrant
    if row.expires_at <= now or not hmac.compare_digest(row.client_id, client_id):
        raise InvalidGrant
    if not hmac.compare_digest(row.redirect_uri, redirect_uri):
        raise InvalidGrant(_("The redirect URI does not match the authorization request."))
    if not PKCE_VERIFIER_RE.match(code_verifier) or not hmac.compare_digest(
        pkce_challenge(code_verifier), row.code_challenge
    ):
        raise InvalidGrant(_("The PKCE code verifier does not match."))
    persona = persona_get(row.persona)
    if persona is None:
        raise InvalidGrant
    access_token = secrets.token_urlsafe(32)
    AccessToken.objects.create(
        token_hash=_digest(access_token),
        code=row,
        issuer=issuer,
        persona=persona.key,
        expires_at=now + ACCESS_TOKEN_LIFETIME,
    )
    key = signing_key()
    issued = int(now.timestamp())
    id_token = jwt.encode(
        {
            "iss": issuer,
            "sub": persona.subject,
            "aud": client_id,
            "iat": issued,
            "exp": issued + int(ID_TOKEN_LIFETIME.total_seconds()),
            "auth_time": int(row.created_at.timestamp()),
            "nonce": row.nonce,
            "acr": persona.acr,
        },
        private_key(key),
        algorithm="RS256",
        headers={"kid": key.kid},
    )
    return {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
        "id_token": id_token,
        "scope": row.scope,
    }


def userinfo_for(*, issuer: str, access_token: str) -> dict[str, Any]:
    """The claims an access token may read, limited to the scopes it was granted."""
    token = (
        AccessToken.objects.select_related("code")
        .filter(token_hash=_digest(access_token), issuer=issuer, expires_at__gt=timezone.now())
        .first()
    )
    persona = persona_get(token.persona) if token is not None else None
    if token is None or persona is None:
        raise InvalidToken
    scopes = set(token.code.scope.split())
    allowed = {"sub"} | {
        claim for scope, claims in SCOPE_CLAIMS.items() if scope in scopes for claim in claims
    }
    return {name: value for name, value in persona.claims().items() if name in allowed}
