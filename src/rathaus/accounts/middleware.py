"""Session expiry after inactivity, per municipality setting."""

import time
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from rathaus.accounts.services import second_factor_required
from rathaus.accounts.trust import TrustLevel, session_trust_level, session_trust_method
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


BACK_OFFICE_PREFIX = "/verwaltung/"
STRONG_METHODS = ("+totp", "+recovery_code")


class PrivilegedSecondFactorMiddleware:
    """Staff holding a privileged role reach the back office only with a second factor.

    Without one set up they are sent to set it up; a session that was opened without
    it (e.g. before the role was granted) must sign in again.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            request.path.startswith(BACK_OFFICE_PREFIX)
            and user.is_authenticated
            and (user.is_staff or user.is_superuser)
            and second_factor_required(user=user)
        ):
            method = session_trust_method(request)
            strong = method.endswith(STRONG_METHODS) or (
                method.startswith("oidc:")
                and session_trust_level(request) >= TrustLevel.SUBSTANTIAL
            )
            if not strong:
                if not user.has_second_factor:
                    return redirect(reverse("accounts:security") + "?pflicht=1")
                logout(request)
                messages.info(request, _("Your role requires signing in with your second factor."))
                return redirect_to_login(request.get_full_path())
        return self.get_response(request)
