"""Minimum trust levels for services and APIs (views use ``decorators.trust_required``)."""

from django.utils.translation import gettext_lazy as _

from rathaus.accounts.trust import TrustLevel
from rathaus.core.errors import PermissionDenied


class TrustLevelTooLow(PermissionDenied):
    """The session's trust level is below what the action needs (403)."""

    default_code = "trust_level_too_low"
    default_message = _("This needs a sign-in at a higher trust level.")

    def __init__(self, *, required: TrustLevel, current: TrustLevel) -> None:
        super().__init__(
            _(
                "This needs a sign-in at trust level “%(required)s”; "
                "you are signed in at “%(current)s”."
            )
            % {"required": required.label, "current": current.label}
        )
        self.required, self.current = required, current


def trust_require(*, request_level: TrustLevel, required: TrustLevel) -> None:
    """Raise ``TrustLevelTooLow`` unless ``request_level`` reaches ``required``."""
    if request_level < required:
        raise TrustLevelTooLow(required=required, current=request_level)
