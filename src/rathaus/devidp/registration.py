"""The dev IdP's one client registration, as a relying party would be told it.

The dev IdP stands alone (it imports nothing of accounts or oidc); the relying party
reads this module the way it would read a registration handed over by a real provider.
"""

import hashlib
import hmac

from django.conf import settings
from django.http import HttpRequest

CLIENT_ID = "rathaus-dev"
ISSUER_PATH = "/dev-idp"
# The only redirect URI the dev IdP accepts, on the origin it is reached at.
REDIRECT_PATH = "/anmelden/oidc/devidp/callback/"

ACR_HIGH = "urn:rathaus:loa:high"
ACR_SUBSTANTIAL = "urn:rathaus:loa:substantial"
ACR_BASIC = "urn:rathaus:loa:basic"
# Strongest first: the order acr_values are offered in.
ACR_VALUES = (ACR_HIGH, ACR_SUBSTANTIAL, ACR_BASIC)

WARNING = (
    "TEST-Identitätsanbieter – keine echten Anmeldungen / "  # noqa: RUF001 - a dash, on purpose
    "test identity provider – not for real sign-ins"  # noqa: RUF001
)


def enabled() -> bool:
    """Whether the dev IdP serves anything (``RATHAUS_DEV_IDP``; never in production)."""
    return bool(getattr(settings, "RATHAUS_DEV_IDP", False))


def client_secret() -> str:
    """The client secret of ``CLIENT_ID``, derived from SECRET_KEY so nobody configures it."""
    return hmac.new(
        settings.SECRET_KEY.encode(), b"rathaus.devidp.client-secret", hashlib.sha256
    ).hexdigest()


def issuer_for(request: HttpRequest) -> str:
    """The issuer at the origin of ``request``: every tenant host has its own."""
    return request.build_absolute_uri(ISSUER_PATH)


def redirect_uri_for(request: HttpRequest) -> str:
    """The one redirect URI accepted for requests at this origin."""
    return request.build_absolute_uri(REDIRECT_PATH)
