"""Tokens in e-mail links: signed, expiring, and usable once.

A token binds the account to the state it changes (the verification time for an
e-mail confirmation, the password hash for a reset). Once used, that state differs
and the token no longer verifies.
"""

import hashlib
from datetime import timedelta

from django.core import signing

from rathaus.accounts.models import User
from rathaus.core.models import Municipality

PURPOSES = {
    "verify-email": timedelta(hours=48),
    "reset-password": timedelta(hours=2),
}


def _state(user: User, purpose: str) -> str:
    if purpose == "verify-email":
        material = f"{user.email.lower()}|{user.email_verified_at}"
    else:
        material = f"{user.password}|{user.last_login}"
    return hashlib.sha256(material.encode()).hexdigest()[:24]


def token_make(*, user: User, purpose: str) -> str:
    """A URL-safe token for ``purpose`` (see PURPOSES for how long it lives)."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose}")
    return signing.dumps(
        {"u": user.pk, "s": _state(user, purpose)},
        salt=f"rathaus.accounts.{purpose}",
        compress=True,
    )


def token_check(*, token: str, purpose: str, municipality: Municipality | None) -> User | None:
    """The user the token was made for, if it is genuine, fresh, unused and belongs to
    ``municipality`` (links work only at the municipality that sent them); else None."""
    if purpose not in PURPOSES or len(token) > 500:
        return None
    try:
        data = signing.loads(token, salt=f"rathaus.accounts.{purpose}", max_age=PURPOSES[purpose])
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = User.objects.filter(
        pk=data["u"], municipality=municipality, deleted_at__isnull=True
    ).first()
    if user is None or data.get("s") != _state(user, purpose):
        return None
    return user
