"""Views that need a minimum trust level."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from rathaus.accounts.trust import TrustLevel, session_trust_level
from rathaus.oidc.links import step_up_url

View = Callable[..., HttpResponse]


def trust_required(level: TrustLevel) -> Callable[[View], View]:
    """Only sessions at ``level`` or above get the view.

    Anonymous visitors go to the login page; a session below the level goes to the
    step-up page, which asks for a new login at that level and comes back here.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if session_trust_level(request) < level:
                return HttpResponseRedirect(
                    step_up_url(level=level, next_url=request.get_full_path())
                )
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
