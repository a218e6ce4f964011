"""Sign-ins under way, kept in the session until the provider sends the browser back.

Each pending sign-in has its own ``state`` (the key), ``nonce`` and PKCE verifier; at
most ``MAX_PENDING`` are kept (a person may start in several tabs) and each expires
after ten minutes. Taking one removes it, so a callback can be used only once.
"""

import secrets
import time
from dataclasses import asdict, dataclass

from django.http import HttpRequest

from rathaus.accounts.trust import TrustLevel
from rathaus.oidc import protocol

SESSION_KEY = "rathaus_oidc_pending"
MAX_PENDING = 5
LIFETIME_SECONDS = 10 * 60


@dataclass(frozen=True)
class PendingLogin:
    provider: str
    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    next_url: str
    level: int | None
    started: float

    @property
    def trust_level(self) -> TrustLevel | None:
        """The level asked for (a step-up), or None for a plain sign-in."""
        return TrustLevel(self.level) if self.level is not None else None


def _live(request: HttpRequest) -> dict[str, dict[str, object]]:
    entries = request.session.get(SESSION_KEY)
    if not isinstance(entries, dict):
        return {}
    now = time.time()
    return {
        state: entry
        for state, entry in entries.items()
        if isinstance(entry, dict)
        and isinstance(entry.get("started"), int | float)
        and now - float(entry["started"]) < LIFETIME_SECONDS
    }


def pending_login_begin(
    request: HttpRequest,
    *,
    provider: str,
    redirect_uri: str,
    next_url: str,
    level: TrustLevel | None,
) -> tuple[PendingLogin, str]:
    """Remember a new sign-in; returns it and the PKCE challenge to send."""
    verifier, challenge = protocol.pkce_pair()
    pending = PendingLogin(
        provider=provider,
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        code_verifier=verifier,
        redirect_uri=redirect_uri,
        next_url=next_url,
        level=int(level) if level is not None else None,
        started=time.time(),
    )
    entries = _live(request)
    while len(entries) >= MAX_PENDING:
        oldest = min(entries, key=lambda state: float(entries[state]["started"]))  # type: ignore[arg-type]
        del entries[oldest]
    entries[pending.state] = asdict(pending)
    request.session[SESSION_KEY] = entries
    return pending, challenge


def pending_login_take(request: HttpRequest, *, state: str, provider: str) -> PendingLogin | None:
    """The pending sign-in for ``state`` at ``provider``, removed; None if none is valid."""
    if SESSION_KEY not in request.session:
        return None  # nothing to take; and no session is created for a stray callback
    entries = _live(request)
    entry = entries.pop(state, None) if state else None
    request.session[SESSION_KEY] = entries
    if entry is None or entry.get("provider") != provider:
        return None
    try:
        return PendingLogin(**entry)  # type: ignore[arg-type]
    except TypeError:
        return None
