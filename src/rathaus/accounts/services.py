"""Writes on accounts."""

import secrets
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pyotp
from django.contrib.auth import authenticate, login
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rathaus.accounts.consent import CURRENT_VERSIONS
from rathaus.accounts.models import ApiToken, ConsentRecord, RecoveryCode, User, hash_token
from rathaus.accounts.throttle import throttle_check, throttle_fail, throttle_reset
from rathaus.accounts.tokens import token_check, token_make
from rathaus.accounts.trust import TrustLevel, session_trust_set
from rathaus.audit.services import audit_record
from rathaus.core.errors import (
    ApplicationError,
    PermissionDenied,
    ValidationFailed,
    full_clean_or_fail,
)
from rathaus.core.http import client_address
from rathaus.core.models import Municipality
from rathaus.notifications.selectors import notification_preference_get
from rathaus.notifications.services import notification_preference_update, notify
from rathaus.organisation.permissions import user_has_privileged_role
from rathaus.privacy import personal_data
from rathaus.privacy.personal_data import Erasure, Kept


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


# --- Citizens: registration, verification, password reset -------------------------


def citizen_register(
    *,
    municipality: Municipality,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    language: str,
    verify_url: Callable[[str], str],
    ip: str | None = None,
) -> User | None:
    """Register a citizen account and send the verification e-mail.

    The answer is the same whether or not the address is taken (no enumeration): an
    existing holder gets a note that someone tried to register with it instead.
    Returns the new, not yet usable account, or None when the address was taken.
    """
    email = User.objects.normalize_email(email).strip()
    existing = User.objects.filter(
        municipality=municipality, email__iexact=email, deleted_at__isnull=True
    ).first()
    if existing is not None:
        transaction.on_commit(lambda: _notify_registration_attempt(existing))
        audit_record(
            municipality=municipality,
            action="accounts.registration.duplicate",
            target=existing,
            ip=ip,
        )
        return None
    with transaction.atomic():
        user = user_create(
            municipality=municipality,
            email=email,
            password=password,
            first_name=first_name,
            last_name=last_name,
        )
        user.language = language if language in {"de", "en"} else "de"
        user.is_active = True
        user.save(update_fields=["language", "is_active"])
        consent_grant(user=user, purpose=ConsentRecord.Purpose.TERMS, ip=ip)
        audit_record(
            municipality=municipality, action="accounts.registered", actor=user, target=user, ip=ip
        )
        token = token_make(user=user, purpose="verify-email")
        link = verify_url(token)
        transaction.on_commit(lambda: _notify_verification(user, link))
    return user


def _notify_verification(user: User, link: str) -> None:
    notify(
        recipient=user,
        event="accounts.verify_email",
        key=f"{user.pk}:{user.email.lower()}:{link[-16:]}",
        template="accounts_verify_email",
        context={"link": link, "name": user.get_full_name()},
        channels=("email",),
        mandatory=True,
    )


def _notify_registration_attempt(user: User) -> None:
    notify(
        recipient=user,
        event="accounts.registration_attempt",
        key=f"{user.pk}:{timezone.now():%Y-%m-%dT%H}",
        template="accounts_registration_attempt",
        context={"name": user.get_full_name()},
        channels=("email",),
        mandatory=True,
    )


def email_verification_resend(*, user: User, verify_url: Callable[[str], str]) -> None:
    """Send a fresh verification link to an account that is not verified yet."""
    if user.email_verified_at is not None:
        return
    link = verify_url(token_make(user=user, purpose="verify-email"))
    transaction.on_commit(lambda: _notify_verification(user, link))


def email_verify(*, municipality: Municipality, token: str, ip: str | None = None) -> User:
    """Confirm the e-mail address the token was sent to; the token works once."""
    user = token_check(token=token, purpose="verify-email", municipality=municipality)
    if user is None:
        raise ValidationFailed(
            _("This link is invalid, expired or was already used. Sign in to request a new one."),
            code="token_invalid",
        )
    with transaction.atomic():
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
        audit_record(
            municipality=user.municipality,
            action="accounts.email.verified",
            actor=user,
            target=user,
            ip=ip,
        )
    return user


def password_reset_request(
    *,
    municipality: Municipality,
    email: str,
    reset_url: Callable[[str], str],
    ip: str | None = None,
) -> None:
    """Mail a reset link if such an account exists; the caller answers the same either way."""
    user = User.objects.filter(
        municipality=municipality,
        email__iexact=email.strip(),
        is_active=True,
        deleted_at__isnull=True,
    ).first()
    audit_record(
        municipality=municipality,
        action="accounts.password_reset.requested",
        target=user,
        data={"known": user is not None},
        ip=ip,
    )
    if user is None:
        return
    link = reset_url(token_make(user=user, purpose="reset-password"))
    transaction.on_commit(
        lambda: notify(
            recipient=user,
            event="accounts.password_reset",
            key=f"{user.pk}:{link[-16:]}",
            template="accounts_password_reset",
            context={"link": link, "name": user.get_full_name()},
            channels=("email",),
            mandatory=True,
        )
    )


def password_reset_complete(
    *, municipality: Municipality, token: str, password: str, ip: str | None = None
) -> User:
    """Set a new password with a reset token; the token and all sessions become invalid."""
    user = token_check(token=token, purpose="reset-password", municipality=municipality)
    if user is None:
        raise ValidationFailed(
            _("This link is invalid, expired or was already used."), code="token_invalid"
        )
    try:
        validate_password(password, user)
    except DjangoValidationError as error:
        raise ValidationFailed(fields={"new_password1": error.messages}) from error
    with transaction.atomic():
        user.set_password(password)
        # Proving control of the mailbox also verifies the address.
        user.email_verified_at = user.email_verified_at or timezone.now()
        user.save(update_fields=["password", "email_verified_at"])
        audit_record(
            municipality=user.municipality,
            action="accounts.password.reset",
            actor=user,
            target=user,
            ip=ip,
        )
    return user


# --- Consent -----------------------------------------------------------------------


def consent_grant(*, user: User, purpose: str, ip: str | None = None) -> ConsentRecord:
    """Record consent to the current version of ``purpose``'s text (idempotent)."""
    version = CURRENT_VERSIONS[purpose]
    with transaction.atomic():
        current = (
            ConsentRecord.objects.select_for_update()
            .filter(user=user, purpose=purpose, withdrawn_at__isnull=True)
            .first()
        )
        if current is not None and current.text_version == version:
            return current
        if current is not None:
            current.withdrawn_at = timezone.now()
            current.save(update_fields=["withdrawn_at"])
        record = ConsentRecord.objects.create(
            user=user, purpose=purpose, text_version=version, ip=ip
        )
        if purpose == ConsentRecord.Purpose.SMS:
            _sms_preference_set(user=user, enabled=True, ip=ip)
        audit_record(
            municipality=user.municipality,
            action="accounts.consent.granted",
            actor=user,
            target=user,
            data={"purpose": purpose, "version": version},
            ip=ip,
        )
    return record


def consent_withdraw(*, user: User, purpose: str, ip: str | None = None) -> bool:
    """Withdraw consent to ``purpose``; returns False when none was active."""
    with transaction.atomic():
        updated = ConsentRecord.objects.filter(
            user=user, purpose=purpose, withdrawn_at__isnull=True
        ).update(withdrawn_at=timezone.now())
        if updated and purpose == ConsentRecord.Purpose.SMS:
            _sms_preference_set(user=user, enabled=False, ip=ip)
        if updated:
            audit_record(
                municipality=user.municipality,
                action="accounts.consent.withdrawn",
                actor=user,
                target=user,
                data={"purpose": purpose},
                ip=ip,
            )
    return bool(updated)


def _sms_preference_set(*, user: User, enabled: bool, ip: str | None) -> None:
    # Text messages are opt-in: the consent switches the channel on and off.
    preference = notification_preference_get(user=user)
    notification_preference_update(
        user=user,
        email_enabled=preference.email_enabled,
        sms_enabled=enabled,
        digest_frequency=preference.digest_frequency,
        ip=ip,
    )


def consent_active(*, user: User, purpose: str) -> bool:
    return ConsentRecord.objects.filter(
        user=user, purpose=purpose, withdrawn_at__isnull=True
    ).exists()


# --- Password login and the second factor ------------------------------------------


class LoginLocked(ApplicationError):
    status = 429
    default_code = "locked"
    default_message = _("Too many failed attempts. Please wait a moment and try again.")

    def __init__(self, *, retry_after: int = 60) -> None:
        super().__init__()
        self.retry_after = retry_after


def password_check(*, request: HttpRequest, email: str, password: str) -> User:
    """Check e-mail and password at the request's municipality, with brute-force protection.

    Raises LoginLocked while locked out and ValidationFailed (one message for unknown
    address and wrong password) on failure; every outcome is audited.
    """
    municipality = getattr(request, "municipality", None)
    ip = client_address(request)
    lock = throttle_check(scope="login", ip=ip, account=email)
    if lock.locked:
        audit_record(
            municipality=municipality,
            action="accounts.login.locked",
            data={"account": email[:254]},
            ip=ip,
        )
        raise LoginLocked(retry_after=lock.retry_after)
    user = authenticate(request, username=email, password=password)
    if user is None:
        lock = throttle_fail(scope="login", ip=ip, account=email)
        audit_record(
            municipality=municipality,
            action="accounts.login.failed",
            data={"account": email[:254], "locked_for": lock.retry_after},
            ip=ip,
        )
        if lock.locked:
            raise LoginLocked(retry_after=lock.retry_after)
        raise ValidationFailed(_("E-mail address or password is wrong."), code="invalid_login")
    throttle_reset(scope="login", ip=ip, account=email)
    assert isinstance(user, User)
    return user


def totp_provisioning(*, user: User, secret: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def totp_enable(*, user: User, secret: str, code: str, ip: str | None = None) -> list[str]:
    """Turn on the second factor once a code from the app proves it was set up.

    Returns ten recovery codes; they are shown once and stored only as hashes.
    """
    if not pyotp.TOTP(secret).verify(code.strip(), valid_window=1):
        raise ValidationFailed(
            fields={"code": [_("The code is not correct. Check the time on your phone.")]}
        )
    codes = [secrets.token_hex(5) for _ in range(10)]
    with transaction.atomic():
        user.totp_secret, user.totp_confirmed_at = secret, timezone.now()
        user.save(update_fields=["totp_secret", "totp_confirmed_at"])
        RecoveryCode.objects.filter(user=user).delete()
        RecoveryCode.objects.bulk_create(
            RecoveryCode(user=user, code_hash=hash_token(c)) for c in codes
        )
        audit_record(
            municipality=user.municipality,
            action="accounts.totp.enabled",
            actor=user,
            target=user,
            ip=ip,
        )
    return codes


def totp_disable(*, user: User, ip: str | None = None) -> None:
    """Turn off the second factor (callers make sure the person re-authenticated)."""
    with transaction.atomic():
        user.totp_secret, user.totp_confirmed_at = "", None
        user.save(update_fields=["totp_secret", "totp_confirmed_at"])
        RecoveryCode.objects.filter(user=user).delete()
        audit_record(
            municipality=user.municipality,
            action="accounts.totp.disabled",
            actor=user,
            target=user,
            ip=ip,
        )


def second_factor_check(*, request: HttpRequest, user: User, code: str) -> str:
    """Check a TOTP or recovery code; returns which one was used. Throttled like passwords."""
    ip = client_address(request)
    account = f"2fa:{user.pk}"
    if throttle_check(scope="2fa", ip=ip, account=account).locked:
        raise LoginLocked()
    code = code.strip().replace(" ", "")
    if user.has_second_factor and len(code) == 6 and code.isdigit():
        totp = pyotp.TOTP(user.totp_secret)
        # A code is accepted once: it is remembered for its lifetime.
        if totp.verify(code, valid_window=1) and cache.add(f"totp:used:{user.pk}:{code}", 1, 90):
            throttle_reset(scope="2fa", ip=ip, account=account)
            return "totp"
    elif len(code) == 10:
        with transaction.atomic():
            used = RecoveryCode.objects.filter(
                user=user, code_hash=hash_token(code.lower()), used_at__isnull=True
            ).update(used_at=timezone.now())
        if used:
            audit_record(
                municipality=user.municipality,
                action="accounts.recovery_code.used",
                actor=user,
                target=user,
                ip=ip,
            )
            throttle_reset(scope="2fa", ip=ip, account=account)
            return "recovery_code"
    throttle_fail(scope="2fa", ip=ip, account=account)
    audit_record(
        municipality=user.municipality,
        action="accounts.login.second_factor_failed",
        target=user,
        ip=ip,
    )
    raise ValidationFailed(fields={"code": [_("The code is not correct.")]})


# --- Profile and the end of an account -------------------------------------------

PROFILE_FIELDS = [
    "first_name",
    "last_name",
    "date_of_birth",
    "street",
    "postcode",
    "city",
    "phone",
    "language",
]


def profile_update(*, user: User, data: dict[str, Any], ip: str | None = None) -> User:
    """Change the person's own details; the audit trail records which fields changed."""
    changed = [
        name for name in PROFILE_FIELDS if name in data and getattr(user, name) != data[name]
    ]
    if not changed:
        return user
    with transaction.atomic():
        for name in changed:
            setattr(user, name, data[name])
        full_clean_or_fail(user, exclude=["password", "username"])
        user.save(update_fields=changed)
        audit_record(
            municipality=user.municipality,
            action="accounts.profile.updated",
            actor=user,
            target=user,
            data={"fields": changed},
            ip=ip,
        )
    return user


def second_factor_required(*, user: User) -> bool:
    """Superusers and staff holding a privileged role must sign in with a second factor."""
    return user.is_superuser or (user.is_staff and user_has_privileged_role(user))


def account_deletion_preview(*, user: User) -> list[Kept]:
    """What would stay after closing the account, and why (shown before confirming)."""
    kept: list[Kept] = []
    for provider in personal_data.providers():
        kept.extend(provider.retained(user))
    return kept


def account_delete(*, user: User, ip: str | None = None) -> Erasure:
    """Close the account: every app erases what it may; the account row is anonymised.

    What the law requires to keep (the audit trail, records under retention periods)
    stays, detached from a usable account.
    """
    total = Erasure()
    with transaction.atomic():
        for provider in personal_data.providers():
            result = provider.erase(user)
            total.deleted += result.deleted
            total.anonymised += result.anonymised
            total.kept.extend(result.kept)
        audit_record(
            municipality=user.municipality,
            action="accounts.deleted",
            actor=user,
            target=user,
            data={"deleted": total.deleted, "anonymised": total.anonymised},
            ip=ip,
        )
        user.email = f"deleted-{user.pk}@invalid.invalid"
        user.first_name = user.last_name = user.street = user.postcode = user.city = user.phone = ""
        user.date_of_birth = None
        user.totp_secret, user.totp_confirmed_at = "", None
        user.is_active = False
        user.deleted_at = timezone.now()
        user.set_unusable_password()
        user.save()
        RecoveryCode.objects.filter(user=user).delete()
        ApiToken.objects.filter(user=user).delete()
        total.anonymised += 1
    return total
