"""State of the dev IdP: its signing keys, authorization codes and access tokens.

Kept in the database (not the cache) so that every web worker sees the same codes.
Nothing here belongs to a municipality: the dev IdP serves every tenant host alike.
"""

from django.db import models


class SigningKey(models.Model):
    """An RSA key the dev IdP signs ID tokens with; the JWKS publishes all of them."""

    kid = models.CharField(max_length=64, unique=True)
    private_key_pem = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.kid


class AuthorizationCode(models.Model):
    """A single-use code, bound to client, redirect URI, PKCE challenge and nonce."""

    code_hash = models.CharField(max_length=64, unique=True)
    issuer = models.CharField(max_length=300)
    client_id = models.CharField(max_length=100)
    redirect_uri = models.CharField(max_length=500)
    code_challenge = models.CharField(max_length=64)
    nonce = models.CharField(max_length=255)
    scope = models.CharField(max_length=300)
    persona = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index("created_at", name="devidp_code_created")]

    def __str__(self) -> str:
        return f"code for {self.persona}"


class AccessToken(models.Model):
    """A bearer token for the userinfo endpoint; dies with the code it came from."""

    token_hash = models.CharField(max_length=64, unique=True)
    code = models.ForeignKey(
        AuthorizationCode, on_delete=models.CASCADE, related_name="access_tokens"
    )
    issuer = models.CharField(max_length=300)
    persona = models.CharField(max_length=40)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"access token for {self.persona}"
