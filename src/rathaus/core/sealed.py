"""Secrets the application must read back (second-factor seeds, device keys), sealed at rest.

Passwords and API tokens are stored as hashes; some secrets cannot be, because the server
needs them in clear to compute a code or a signature (a TOTP seed, a terminal's HMAC key).
``SealedCharField`` keeps them encrypted in the database (Fernet: AES-128-CBC with
HMAC-SHA256), so a leaked dump or backup does not give away second factors.

The key is derived (HKDF-SHA256) from ``SECRET_KEY``; the keys derived from
``SECRET_KEY_FALLBACKS`` still open older values, so the secret key can be rotated: values
are sealed with the new key the next time they are saved. Losing ``SECRET_KEY`` makes the
sealed values unreadable (people set up their second factor again).

Values written before sealing (plain text, which never starts with ``sealed:``) are read as
they are and sealed on the next save.
"""

import base64
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

_PREFIX = "sealed:"
_INFO = b"rathaus.core.sealed.v1"


class Unreadable(Exception):
    """A sealed value that none of the configured keys opens."""


def _fernet_for(secret: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


@lru_cache(maxsize=4)
def _keys(secret: str, fallbacks: tuple[str, ...]) -> MultiFernet:
    if not secret:
        raise ImproperlyConfigured("SECRET_KEY is needed to seal secrets")
    return MultiFernet([_fernet_for(key) for key in (secret, *fallbacks)])


def _multi() -> MultiFernet:
    return _keys(settings.SECRET_KEY, tuple(getattr(settings, "SECRET_KEY_FALLBACKS", ())))


def seal(value: str) -> str:
    """``value`` encrypted with the current key, as text for a database column."""
    return _PREFIX + _multi().encrypt(value.encode()).decode("ascii")


def unseal(stored: str) -> str:
    """The clear value of ``stored``; plain text from before sealing is returned as is."""
    if not stored.startswith(_PREFIX):
        return stored
    try:
        return _multi().decrypt(stored[len(_PREFIX) :].encode("ascii")).decode()
    except (InvalidToken, ValueError) as error:
        raise Unreadable("a sealed value cannot be opened with the configured keys") from error


def is_sealed(stored: str) -> bool:
    return stored.startswith(_PREFIX)


class SealedCharField(models.CharField):
    """A text column whose values are sealed in the database and clear in Python.

    ``max_length`` is the length of the clear value; the column is sized for the sealed
    form. Sealed values cannot be searched or compared in queries (only ``""`` is stored
    as is, so emptiness can be).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.clear_max_length = kwargs.pop("clear_max_length", None) or kwargs.get(
            "max_length", 255
        )
        kwargs["max_length"] = self.sealed_length(self.clear_max_length)
        super().__init__(*args, **kwargs)

    @staticmethod
    def sealed_length(clear: int) -> int:
        # Fernet: version, timestamp, IV, padded ciphertext and HMAC, then base64.
        token = 1 + 8 + 16 + (clear * 4 // 16 + 1) * 16 + 32
        return len(_PREFIX) + (token + 2) // 3 * 4

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["max_length"] = self.clear_max_length
        return name, path, args, kwargs

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return unseal(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return seal(value)
