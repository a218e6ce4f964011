"""The number of unopened mailbox messages, for the portal's navigation."""

from functools import partial
from typing import Any

from django.http import HttpRequest

from rathaus.postfach.selectors import inbox_unread_count

_CACHE_ATTRIBUTE = "_postfach_unread_count"


def request_unread_count(request: HttpRequest) -> int:
    """The signed-in person's unopened messages, counted at most once per request."""
    if not hasattr(request, _CACHE_ATTRIBUTE):
        user = request.user
        count = inbox_unread_count(user=user) if user.is_authenticated else 0
        setattr(request, _CACHE_ATTRIBUTE, count)
    cached: int = getattr(request, _CACHE_ATTRIBUTE)
    return cached


def unread_count(request: HttpRequest) -> dict[str, Any]:
    """``postfach_unread``: a callable the template calls when it shows the count (one
    query then, none on pages that don't); 0 for visitors."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"postfach_unread": 0}
    return {"postfach_unread": partial(request_unread_count, request)}
