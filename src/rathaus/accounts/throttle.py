"""Brute-force protection for every login form.

Failures are counted per client address and per account name (whether or not the
account exists, so the lockout itself reveals nothing). After a few failures a
lockout starts and doubles with every further failure, up to a day. Counters live in
the cache (Redis in production, shared by all web processes).
"""

import time
from dataclasses import dataclass

from django.core.cache import cache

FREE_FAILURES = 5
BASE_LOCKOUT_SECONDS = 30
MAX_LOCKOUT_SECONDS = 24 * 60 * 60
WINDOW_SECONDS = 24 * 60 * 60


@dataclass(frozen=True)
class Lockout:
    locked: bool
    retry_after: int = 0


def _keys(scope: str, ip: str, account: str) -> list[str]:
    return [f"throttle:{scope}:ip:{ip}", f"throttle:{scope}:acct:{account.strip().lower()[:254]}"]


def throttle_check(*, scope: str, ip: str, account: str) -> Lockout:
    """Whether attempts from this address or on this account are locked out right now."""
    now = time.time()
    until = [cache.get(f"{key}:locked") for key in _keys(scope, ip, account)]
    waits = [int(u - now) + 1 for u in until if u and u > now]
    if not waits:
        return Lockout(False)
    return Lockout(True, max(waits))


def throttle_fail(*, scope: str, ip: str, account: str) -> Lockout:
    """Count a failure; returns the lockout that now applies."""
    result = Lockout(False)
    for key in _keys(scope, ip, account):
        cache.add(key, 0, WINDOW_SECONDS)
        failures = cache.incr(key)
        # The address key tolerates more failures: several people may share one address.
        free = FREE_FAILURES * (4 if ":ip:" in key else 1)
        if failures > free:
            seconds = min(BASE_LOCKOUT_SECONDS * 2 ** (failures - free - 1), MAX_LOCKOUT_SECONDS)
            cache.set(f"{key}:locked", time.time() + seconds, seconds)
            result = Lockout(True, max(result.retry_after, seconds))
    return result


def throttle_reset(*, scope: str, ip: str, account: str) -> None:
    """A successful login clears the account's counter (not the address's)."""
    key = _keys(scope, ip, account)[1]
    cache.delete_many([key, f"{key}:locked"])
