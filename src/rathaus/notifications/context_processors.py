"""The unread count of in-app messages, for the header of every page."""

from functools import partial
from typing import Any

from django.http import HttpRequest

from rathaus.notifications.selectors import inapp_unread_count

_CACHE_ATTRIBUTE = "_notifications_unread_count"


def request_unread_count(request: HttpRequest) -> int:
    """The signed-in person's unread count, counted at most once per request."""
    if not hasattr(request, _CACHE_ATTRIBUTE):
        user = request.user
        count = inapp_unread_count(user=user) if user.is_authenticated else 0
        setattr(request, _CACHE_ATTRIBUTE, count)
    cached: int = getattr(request, _CACHE_ATTRIBUTE)
    return cached


def unread_count(request: HttpRequest) -> dict[str, Any]:
    """``notifications_unread``: the number of unread in-app messages.

    No query for visitors. For people signed in it is a callable, which templates call
    when they show it: one query then, none on pages (or htmx fragments) that don't.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"notifications_unread": 0}
    return {"notifications_unread": partial(request_unread_count, request)}
