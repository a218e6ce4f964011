"""Access rules for back-office views."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

View = Callable[..., HttpResponse]


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
