"""Access rules for views: staff of the municipality, recent re-authentication."""

import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

View = Callable[..., HttpResponse]

REAUTH_SESSION_KEY = "rathaus_reauth_at"
REAUTH_MAX_AGE = 10 * 60


def staff_required(permission: str | None = None) -> Callable[[View], View]:
    """Signed-in staff of the request's municipality, optionally with ``permission``.

    Anonymous visitors are sent to the login page; everyone else without the right gets 403.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user.is_staff or (permission and not user.has_perm(permission)):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def reauth_mark(request: HttpRequest) -> None:
    """The person just proved again who they are (password, and code if they use one)."""
    request.session[REAUTH_SESSION_KEY] = time.time()


def recent_auth_required(view: View) -> View:
    """Sensitive actions (closing the account, turning off the second factor) ask for the
    password again unless it was given in the last ten minutes."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        at = request.session.get(REAUTH_SESSION_KEY, 0)
        if not isinstance(at, int | float) or time.time() - at > REAUTH_MAX_AGE:
            return redirect(
                reverse("accounts:reauth") + "?" + urlencode({"next": request.get_full_path()})
            )
        return view(request, *args, **kwargs)

    return wrapped
