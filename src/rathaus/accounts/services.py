"""Writes on accounts."""

import secrets
import uuid
from datetime import datetime

from django.contrib.auth import login
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from rathaus.accounts.models import ApiToken, User, hash_token
from rathaus.accounts.trust import TrustLevel, session_trust_set
from rathaus.audit.services import audit_record
from rathaus.core.errors import PermissionDenied, ValidationFailed, full_clean_or_fail
from rathaus.core.http import client_address
from rathaus.core.models import Municipality


def user_create(
    *,
    municipality: Municipality | None,
    email: str,
    password: str | None,
    first_name: str = "",
    last_name: str = "",
    is_staff: bool = False,
    is_superuser: bool = False,
) -> User:
    """Create an account; e-mail addresses are unique per municipality, case-insensitively."""
    email = User.objects.normalize_email(email).strip()
    if not email:
        raise ValidationFailed(fields={"email": ["required"]})
    exists = User.objects.filter(municipality=municipality, email__iexact=email).exists()
    if exists:
        raise ValidationFailed(fields={"email": ["taken"]}, code="email_taken")
    user = User(
        # An internal handle only; people sign in with their e-mail address.
        username=uuid.uuid4().hex,
        municipality=municipality,
        email=email,
        first_name=first_name,
        last_name=last_name,
        is_staff=is_staff,
        is_superuser=is_superuser,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    full_clean_or_fail(user, exclude=["password"])
    user.save()
    return user


def api_token_create(
    *, user: User, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Issue a token for ``user``; returns the row and the secret, which is not stored."""
    raw = "rh_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, prefix=raw[3:11], key_hash=hash_token(raw), expires_at=expires_at
        )
    return token, raw


def api_token_revoke(*, token: ApiToken) -> None:
    """Revoke a token at once; it cannot be used again."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def session_login(*, request: HttpRequest, user: User, level: TrustLevel, method: str) -> None:
    """Sign ``user`` in on this request's session at ``level``, proven by ``method``.

    ``method`` names how the person proved who they are: ``password``, ``totp``,
    ``oidc:<provider>``. The session key is rotated (no session fixation) and the login
    is written to the audit trail.
    """
    if not user.is_active:
        raise PermissionDenied(code="inactive")
    municipality = getattr(request, "municipality", None)
    if user.municipality_id is not None and (
        municipality is None or user.municipality_id != municipality.pk
    ):
        raise PermissionDenied(code="wrong_municipality")
    login(request, user, backend="rathaus.accounts.authentication.MunicipalityEmailBackend")
    session_trust_set(request, level=level, method=method)
    audit_record(
        municipality=municipality,
        action="accounts.login.succeeded",
        actor=user,
        target=user,
        data={"method": method, "trust_level": int(level)},
        ip=client_address(request),
    )
