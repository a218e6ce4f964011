"""Addresses of the sign-in pages, with their query parameters."""

from urllib.parse import urlencode

from django.urls import reverse

from rathaus.accounts.trust import TrustLevel


def step_up_url(*, level: TrustLevel, next_url: str) -> str:
    """The page that explains ``level`` and offers the sign-ins that reach it."""
    return reverse("oidc:step_up") + "?" + urlencode({"level": int(level), "next": next_url})


def start_url(provider: str, *, next_url: str = "", level: TrustLevel | None = None) -> str:
    """Where a sign-in with ``provider`` starts; ``level`` makes it a step-up."""
    params: dict[str, str] = {}
    if level is not None:
        params["level"] = str(int(level))
    if next_url:
        params["next"] = next_url
    url = reverse("oidc:start", args=[provider])
    return f"{url}?{urlencode(params)}" if params else url
