"""HMAC-signed requests of devices (robots, kiosks, pickup terminals).

A device signs each request with its key over one canonical text: the method, the path with
its query, the timestamp, a nonce and the SHA-256 of the body, one per line. The apps keep
their own device records and nonce stores (a replayed nonce is refused by a unique
constraint there); the signature itself is computed and compared here, once.
"""

import hashlib
import hmac


def body_digest(body: bytes) -> str:
    """The hex SHA-256 of a request body."""
    return hashlib.sha256(body).hexdigest()


def request_canonical(*, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """The text a device signs: method, path (with query), timestamp, nonce, body hash."""
    return "\n".join([method.upper(), path, timestamp, nonce, body_digest(body)])


def request_signature(
    *, key: str, method: str, path: str, timestamp: str, nonce: str, body: bytes
) -> str:
    """The hex HMAC-SHA256 of one request under ``key``."""
    canonical = request_canonical(
        method=method, path=path, timestamp=timestamp, nonce=nonce, body=body
    )
    return hmac.new(key.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def signature_matches(*, expected: str, given: str) -> bool:
    """Whether ``given`` is ``expected``, compared in constant time."""
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())
