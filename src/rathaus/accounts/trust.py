"""Trust levels of a signed-in session (eIDAS levels of assurance).

Every login records how the person proved who they are: a password is "basic", an
ELSTER certificate or similar "substantial", the online ID card (eID) "high". Views
and services ask for a minimum; a lower session must step up by signing in again at
that level.
"""

from django.db import models
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

SESSION_KEY = "rathaus_trust"


class TrustLevel(models.IntegerChoices):
    NONE = 0, _("not signed in")
    BASIC = 1, _("basic")
    SUBSTANTIAL = 2, _("substantial")
    HIGH = 3, _("high")


def session_trust_set(request: HttpRequest, *, level: TrustLevel, method: str) -> None:
    """Record the level and method of the login that just happened in this session."""
    request.session[SESSION_KEY] = {
        "level": int(level),
        "method": method,
        "at": timezone.now().isoformat(),
    }


def session_trust_level(request: HttpRequest) -> TrustLevel:
    """The trust level of the current session; NONE when nobody is signed in."""
    if not request.user.is_authenticated:
        return TrustLevel.NONE
    data = request.session.get(SESSION_KEY) or {}
    try:
        return TrustLevel(int(data.get("level", TrustLevel.BASIC)))
    except (TypeError, ValueError):
        return TrustLevel.BASIC


def session_trust_method(request: HttpRequest) -> str:
    data = request.session.get(SESSION_KEY) or {}
    return str(data.get("method", "password"))
