"""Session expiry after inactivity, per municipality setting."""

import time
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from rathaus.core.municipal_settings import municipal_setting

LAST_SEEN = "rathaus_last_seen"
# Writing the session on every request would cost a write per page view; a minute of
# imprecision in the idle timeout is fine.
TOUCH_EVERY = 60


class IdleTimeoutMiddleware:
    """Signs people out after the municipality's idle time (default 30 minutes)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        municipality = getattr(request, "municipality", None)
        if municipality is not None and request.user.is_authenticated:
            now = time.time()
            last = request.session.get(LAST_SEEN)
            limit = municipal_setting(municipality, "accounts.session_idle_minutes") * 60
            if isinstance(last, int | float) and now - last > limit:
                logout(request)
                messages.info(request, _("You were signed out after a period of inactivity."))
            elif not isinstance(last, int | float) or now - last > TOUCH_EVERY:
                request.session[LAST_SEEN] = now
        return self.get_response(request)
