"""The bot hook of the booking form: a proof-of-work or captcha can be plugged in.

``RATHAUS_BUERGERBUERO_CHALLENGE`` (a setting, optional) names a class with
``fields(request) -> str`` (HTML for inside the form, e.g. a captcha widget; trusted) and
``verify(request) -> bool``. Unset: no challenge (the per-contact and per-address limits
still apply). A refused challenge is a ``ValidationFailed`` on the form.
"""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.http import HttpRequest
from django.utils.module_loading import import_string


class BookingChallenge(Protocol):
    def fields(self, request: HttpRequest) -> str: ...

    def verify(self, request: HttpRequest) -> bool: ...


class NoChallenge:
    """Lets every booking through (the default)."""

    def fields(self, request: HttpRequest) -> str:
        return ""

    def verify(self, request: HttpRequest) -> bool:
        return True


def booking_challenge() -> BookingChallenge:
    path = getattr(settings, "RATHAUS_BUERGERBUERO_CHALLENGE", "")
    if not path:
        return NoChallenge()
    challenge: BookingChallenge = import_string(path)()
    return challenge
