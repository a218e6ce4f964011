"""The dev IdP's signing key: an RSA key generated on first use and kept in the database."""

import secrets
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from rathaus.devidp.models import SigningKey


def signing_key() -> SigningKey:
    """The newest signing key; the first call generates one.

    Two workers may both generate a key on their very first request; both are then
    published and each token names its own by ``kid``, so that race is harmless.
    """
    key = SigningKey.objects.first()
    if key is not None:
        return key
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    ).decode()
    return SigningKey.objects.create(kid=secrets.token_hex(8), private_key_pem=pem)


def private_key(key: SigningKey) -> rsa.RSAPrivateKey:
    """The usable private key of a stored ``SigningKey``."""
    loaded = serialization.load_pem_private_key(key.private_key_pem.encode(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise TypeError("the dev IdP signs with RSA keys only")
    return loaded


def jwks() -> dict[str, list[dict[str, Any]]]:
    """The public keys as a JSON Web Key Set."""
    keys = []
    for key in SigningKey.objects.all():
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(private_key(key).public_key(), as_dict=True)
        jwk.update({"kid": key.kid, "use": "sig", "alg": "RS256"})
        keys.append(jwk)
    return {"keys": keys}
