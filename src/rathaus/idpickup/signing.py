"""The cryptography of the terminal protocol, in one place (ADR 0018).

- Device keys are derived: ``HMAC-SHA256(SECRET_KEY, "idpickup.device:" + device_id + ":"
  + salt)``. The database keeps only the salt, so a copy of the database alone cannot sign
  requests; a new salt revokes the old key.
- A request is signed with ``HMAC-SHA256(key, canonical)`` where ``canonical`` is the
  method, the path with query, the timestamp, the nonce and the SHA-256 of the body, one
  per line (``canonical_request``). The simulator and the kiosk page use the same rule.
- Pickup PINs are kept as ``HMAC-SHA256(SECRET_KEY, "idpickup.pin:" + order id + ":" +
  PIN)``: six digits are too few for any hash to hide them from someone with the database,
  so the server secret (a pepper) is what protects them, and the comparison is
  constant-time.
"""

import hashlib
import hmac
import secrets

from django.conf import settings

from rathaus.core.signed_requests import body_digest as body_digest
from rathaus.core.signed_requests import request_canonical, signature_matches
from rathaus.core.signed_requests import request_signature as request_signature

SIGNATURE_HEADER = "HTTP_X_SIGNATURE"
DEVICE_HEADER = "HTTP_X_DEVICE_ID"
TIMESTAMP_HEADER = "HTTP_X_TIMESTAMP"
NONCE_HEADER = "HTTP_X_NONCE"

PIN_DIGITS = 6


def _secret() -> bytes:
    return str(settings.SECRET_KEY).encode()


def device_key(*, device_id: str, salt: str) -> str:
    """The shared key of a terminal (hex), computed, never stored."""
    message = f"idpickup.device:{device_id}:{salt}".encode()
    return hmac.new(_secret(), message, hashlib.sha256).hexdigest()


def new_salt() -> str:
    return secrets.token_hex(16)


# The request signature is the platform's (rathaus.core.signed_requests), re-exported for
# the terminal client and the tests.
canonical_request = request_canonical
signature_valid = signature_matches


def pin_new() -> str:
    """A random pickup PIN of ``PIN_DIGITS`` digits."""
    return "".join(secrets.choice("0123456789") for _ in range(PIN_DIGITS))


def pin_digest(*, order_id: int, pin: str) -> str:
    message = f"idpickup.pin:{order_id}:{pin}".encode()
    return hmac.new(_secret(), message, hashlib.sha256).hexdigest()


def pin_matches(*, order_id: int, pin: str, stored: str) -> bool:
    """Constant-time check of a PIN against the stored digest (False if none is stored)."""
    expected = pin_digest(order_id=order_id, pin=pin)
    # Compare even when nothing is stored, so timing does not tell whether a PIN exists.
    return hmac.compare_digest(expected.encode(), (stored or "0" * 64).encode()) and bool(stored)


def card_digest(token: str) -> str:
    """SHA-256 of a staff card token (long random values; found by this digest)."""
    return hashlib.sha256(f"idpickup.card:{token}".encode()).hexdigest()


def session_token() -> str:
    return secrets.token_urlsafe(24)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
