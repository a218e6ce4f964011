"""The one error type of rathaus.

Services raise ``ApplicationError`` (or a subclass); the API turns it into
``{"error": {"code", "message", "fields"}}`` and pages show the message. The code is
stable and machine-readable; the message is translated and meant for people.
"""

from collections.abc import Mapping, Sequence
from typing import ClassVar

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    """A failure a user can understand and act on."""

    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "invalid"
    default_message: ClassVar[str | Promise] = _("The request could not be processed.")

    def __init__(
        self,
        message: str | Promise | None = None,
        *,
        code: str | None = None,
        fields: Mapping[str, Sequence[str | Promise]] | None = None,
    ) -> None:
        self.message = message if message is not None else self.default_message
        self.code = code or self.default_code
        self.fields = {name: [str(m) for m in msgs] for name, msgs in (fields or {}).items()}
        super().__init__(str(self.message))


class ValidationFailed(ApplicationError):
    status = 400
    default_code = "invalid"
    default_message = _("Some fields are not valid.")


class PermissionDenied(ApplicationError):
    status = 403
    default_code = "permission_denied"
    default_message = _("You are not allowed to do this.")


class NotFound(ApplicationError):
    status = 404
    default_code = "not_found"
    default_message = _("Not found.")


class RateLimited(ApplicationError):
    status = 429
    default_code = "rate_limited"
    default_message = _("You have sent several requests in a short time. Please try again later.")


class Conflict(ApplicationError):
    status = 409
    default_code = "conflict"
    default_message = _("This was changed by someone else in the meantime.")


def error_body(
    *, code: str, message: str | Promise, fields: Mapping[str, Sequence[str]] | None = None
) -> dict[str, dict[str, object]]:
    """The single JSON error shape of rathaus."""
    return {"error": {"code": code, "message": str(message), "fields": dict(fields or {})}}


def full_clean_or_fail(instance: object, *, exclude: list[str] | None = None) -> None:
    """Run model validation and raise it as ``ValidationFailed`` with per-field messages."""
    from django.core.exceptions import ValidationError

    try:
        instance.full_clean(exclude=exclude)  # type: ignore[attr-defined]
    except ValidationError as error:
        raise ValidationFailed(fields=error.message_dict) from error
