"""Signing in through an OpenID Connect provider: from the callback to a session.

Who the person is becomes an account like this. Citizens: a known identity signs in
its account; a signed-in person stepping up links the identity to their account; a
new person gets a citizen account from the claims. Staff: only an existing, active
staff account of this municipality, found by linked identity or verified e-mail;
staff accounts are never created here. Every refusal is written to the audit trail.
"""

import contextlib
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rathaus.accounts.models import User
from rathaus.accounts.services import session_login, user_create
from rathaus.accounts.trust import TrustLevel
from rathaus.audit.services import audit_record
from rathaus.core.errors import ApplicationError
from rathaus.core.http import client_address
from rathaus.core.models import Municipality
from rathaus.core.tenancy import request_municipality
from rathaus.oidc import protocol
from rathaus.oidc.config import ProviderConfig
from rathaus.oidc.models import ExternalIdentity
from rathaus.oidc.pending import PendingLogin
from rathaus.oidc.protocol import InvalidResponse, OidcError

PROFILE_FIELDS = ("first_name", "last_name", "date_of_birth", "street", "postcode", "city")
CONTROL_CHARS_RE = re.compile(r"[\x00-\x1f\x7f]")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class LoginRefused(OidcError):
    """The provider vouched for the person, but rathaus will not sign them in (403)."""

    status = 403
    default_code = "oidc_login_refused"
    default_message = _("This sign-in cannot be used here.")


@dataclass(frozen=True)
class ProviderIdentity:
    """What a provider said about a person, checked and mapped to account fields."""

    subject: str
    level: TrustLevel
    profile: dict[str, Any]
    email_verified: bool


def claim_value(claims: dict[str, Any], path: str) -> Any:
    """The claim at a dotted ``path`` (``address.locality``), or None."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _clean_text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        return ""
    model_field = User._meta.get_field(field)
    limit = model_field.max_length if isinstance(model_field, models.CharField) else None
    return CONTROL_CHARS_RE.sub("", value).strip()[: limit or 200]


def claims_map(provider: ProviderConfig, claims: dict[str, Any]) -> dict[str, Any]:
    """Account fields from ``claims`` per the provider's mapping; unusable values dropped."""
    profile: dict[str, Any] = {}
    for field, path in provider.claims.items():
        value = claim_value(claims, path)
        if field == "date_of_birth":
            # OpenID Connect allows "0000-MM-DD" and "YYYY" for partly unknown dates.
            if isinstance(value, str) and DATE_RE.match(value):
                with contextlib.suppress(ValueError):
                    profile[field] = date.fromisoformat(value)
            continue
        text = _clean_text(value, field)
        if field == "email" and text:
            try:
                validate_email(text)
            except ValidationError:
                continue
        if text:
            profile[field] = text
    return profile


def oidc_login_failure_record(
    *, request: HttpRequest, provider: str, reason: str, subject: str = ""
) -> None:
    """Write a failed provider sign-in to the audit trail (outside any rolled-back work)."""
    user = request.user if request.user.is_authenticated else None
    data = {"method": f"oidc:{provider}", "reason": reason[:100]}
    if subject:
        data["subject"] = subject
    audit_record(
        municipality=getattr(request, "municipality", None),
        action="accounts.login.failed",
        actor=user,
        data=data,
        ip=client_address(request),
    )


def oidc_login_complete(
    *,
    request: HttpRequest,
    provider: ProviderConfig,
    pending: PendingLogin,
    code: str,
    issuer: str = "",
) -> User:
    """Finish a sign-in the provider sent back with ``code``; returns the signed-in user.

    Redeems the code (with the pending PKCE verifier), checks the ID token against the
    pending nonce, reads userinfo, checks the trust level asked for, finds or creates
    the account and signs it in. Any failure is audited and raised as ``OidcError``.
    """
    subject = ""
    try:
        if issuer and issuer != provider.issuer:
            # RFC 9207: the answer came from another provider than we asked (mix-up).
            raise InvalidResponse("issuer_mismatch")
        found = protocol.discovery(provider)
        tokens = protocol.token_exchange(
            provider,
            found,
            code=code,
            redirect_uri=pending.redirect_uri,
            code_verifier=pending.code_verifier,
        )
        claims = protocol.id_token_validate(
            provider, found, id_token=tokens.id_token, nonce=pending.nonce
        )
        subject = claims["sub"]
        # Only the signed ID token says how strongly the person was identified.
        level = provider.level_of(claims)
        if provider.userinfo:
            info = protocol.userinfo_fetch(found, access_token=tokens.access_token, subject=subject)
            claims = {**info, **claims}
        required = pending.trust_level
        if required is not None and level < required:
            raise LoginRefused(
                "level_too_low",
                _(
                    "This sign-in reached trust level “%(reached)s”, but “%(required)s” is "
                    "needed. Please choose a sign-in method with that level."
                )
                % {"reached": level.label, "required": required.label},
            )
        identity = ProviderIdentity(
            subject=subject,
            level=level,
            profile=claims_map(provider, claims),
            email_verified=claims.get("email_verified") is True,
        )
        return _login(request=request, provider=provider, identity=identity)
    except OidcError as error:
        oidc_login_failure_record(
            request=request, provider=provider.name, reason=error.reason, subject=subject
        )
        raise


def _login(*, request: HttpRequest, provider: ProviderConfig, identity: ProviderIdentity) -> User:
    municipality = request_municipality(request)
    try:
        with transaction.atomic():
            link = (
                ExternalIdentity.objects.select_for_update()
                .select_related("user")
                .filter(municipality=municipality, provider=provider.name, subject=identity.subject)
                .first()
            )
            if provider.for_staff:
                user, link = _staff_account(request, municipality, provider, identity, link)
            else:
                user, link = _citizen_account(request, municipality, provider, identity, link)
            ExternalIdentity.objects.filter(pk=link.pk).update(last_login_at=timezone.now())
            session_login(
                request=request, user=user, level=identity.level, method=f"oidc:{provider.name}"
            )
    except IntegrityError as error:
        # Two first sign-ins with the same identity at once: the other one won.
        raise LoginRefused(
            "conflict", _("Another sign-in with this identity happened at the same time.")
        ) from error
    except OidcError:
        raise
    except ApplicationError as error:
        raise LoginRefused(error.code, error.message) from error
    return user


def _link(
    request: HttpRequest,
    municipality: Municipality,
    provider: ProviderConfig,
    identity: ProviderIdentity,
    user: User,
) -> ExternalIdentity:
    link = ExternalIdentity.objects.create(
        municipality=municipality, user=user, provider=provider.name, subject=identity.subject
    )
    audit_record(
        municipality=municipality,
        action="oidc.identity.linked",
        actor=user,
        target=user,
        data={"provider": provider.name, "subject": identity.subject},
        ip=client_address(request),
    )
    return link


def _citizen_account(
    request: HttpRequest,
    municipality: Municipality,
    provider: ProviderConfig,
    identity: ProviderIdentity,
    link: ExternalIdentity | None,
) -> tuple[User, ExternalIdentity]:
    current = request.user if request.user.is_authenticated else None
    if link is not None:
        if current is not None and current.pk != link.user_id:
            raise LoginRefused(
                "identity_linked_to_other_user",
                _(
                    "This identity is already connected to another account. Sign out first "
                    "if you want to use that account."
                ),
            )
        _profile_update(request, link.user, identity, created=False)
        return link.user, link
    if current is not None:
        # Stepping up: the signed-in person proves who they are with a new identity.
        if current.municipality_id != municipality.pk:
            raise LoginRefused("wrong_municipality")
        user = User.objects.select_for_update().get(pk=current.pk)
        link = _link(request, municipality, provider, identity, user)
        _profile_update(request, user, identity, created=False)
        return user, link
    email = identity.profile.get("email", "")
    if not email:
        raise LoginRefused(
            "email_missing",
            _(
                "The identity provider did not tell us your e-mail address, which an "
                "account needs. Please allow the provider to pass it on."
            ),
        )
    if User.objects.filter(municipality=municipality, email__iexact=email).exists():
        # Never take over an existing account on the strength of an e-mail address.
        raise LoginRefused(
            "email_taken",
            _(
                "An account with this e-mail address already exists. Sign in with your "
                "password first, then confirm your identity to connect it to the account."
            ),
        )
    user = user_create(
        municipality=municipality,
        email=email,
        password=None,
        first_name=identity.profile.get("first_name", ""),
        last_name=identity.profile.get("last_name", ""),
    )
    audit_record(
        municipality=municipality,
        action="oidc.account.created",
        actor=user,
        target=user,
        data={"provider": provider.name, "trust_level": int(identity.level)},
        ip=client_address(request),
    )
    link = _link(request, municipality, provider, identity, user)
    _profile_update(request, user, identity, created=True)
    return user, link


def _staff_account(
    request: HttpRequest,
    municipality: Municipality,
    provider: ProviderConfig,
    identity: ProviderIdentity,
    link: ExternalIdentity | None,
) -> tuple[User, ExternalIdentity]:
    no_account = LoginRefused(
        "no_staff_account",
        _("No staff account of this administration belongs to this sign-in."),
    )
    if link is not None:
        user = link.user
    else:
        email = identity.profile.get("email", "")
        if not email or not identity.email_verified:
            raise no_account
        found = User.objects.filter(
            municipality=municipality, email__iexact=email, is_staff=True, is_active=True
        ).first()
        if found is None:
            raise no_account
        user = found
        link = _link(request, municipality, provider, identity, user)
    if not (user.is_staff and user.is_active and user.municipality_id == municipality.pk):
        raise no_account
    return user, link


def _profile_update(
    request: HttpRequest, user: User, identity: ProviderIdentity, *, created: bool
) -> None:
    """Take name, date of birth and address from the provider.

    A login at "substantial" or "high" was identified by the state (ELSTER, eID), so its
    data replaces what the account holds; a "basic" one only fills empty fields.
    """
    authoritative = created or identity.level >= TrustLevel.SUBSTANTIAL
    changed = []
    for field in PROFILE_FIELDS:
        value = identity.profile.get(field)
        if value in (None, "") or getattr(user, field) == value:
            continue
        if authoritative or not getattr(user, field):
            setattr(user, field, value)
            changed.append(field)
    email = identity.profile.get("email", "")
    if (
        identity.email_verified
        and user.email_verified_at is None
        and email
        and email.lower() == user.email.lower()
    ):
        user.email_verified_at = timezone.now()
        changed.append("email_verified_at")
    if changed:
        user.save(update_fields=changed)
        if not created:
            audit_record(
                municipality=user.municipality,
                action="oidc.profile.updated",
                actor=user,
                target=user,
                data={"fields": changed, "trust_level": int(identity.level)},
                ip=client_address(request),
            )
