"""Page gate for the back office, without reaching up into ``accounts`` (layering)."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from rathaus.organisation.permissions import user_can_anywhere

View = Callable[..., HttpResponse]


def staff_member_required(permission: str | None = None) -> Callable[[View], View]:
    """Signed-in, active staff of the request's municipality; with ``permission``, holding it
    through a role in at least one unit. Which unit the object is in is checked by
    ``access.py``. Anonymous visitors go to the login page, everyone else gets 403."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            municipality = getattr(request, "municipality", None)
            if (
                not user.is_active
                or not getattr(user, "is_staff", False)
                or getattr(user, "municipality_id", None)
                not in (None, getattr(municipality, "pk", None))
            ):
                raise PermissionDenied
            if permission and not user_can_anywhere(user=user, permission=permission):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
