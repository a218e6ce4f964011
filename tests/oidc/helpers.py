"""Helpers of the OpenID Connect tests."""

from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.test import Client

from tests.oidc.fake_provider import CLIENT_ID, CLIENT_SECRET, FakeProvider

ERIKA = {
    "given_name": "Erika",
    "family_name": "Mustermann",
    "email": "erika@example.org",
    "email_verified": True,
    "birthdate": "1964-08-12",
    "address": {"street_address": "Heidestraße 17", "postal_code": "51147", "locality": "Köln"},
}


def provider_settings(op: FakeProvider) -> dict[str, Any]:
    common = {"issuer": op.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    return {
        "ext": {
            **common,
            "label": "Landeskonto",
            "scopes": ["openid", "profile", "email", "address"],
            "audience": "citizens",
            "claims": {
                "first_name": "given_name",
                "last_name": "family_name",
                "email": "email",
                "date_of_birth": "birthdate",
                "street": "address.street_address",
                "postcode": "address.postal_code",
                "city": "address.locality",
            },
            "trust": {
                "claim": "acr",
                "values": {"urn:eid:high": 3, "urn:elster": 2},
                "default": 1,
            },
        },
        "pw": {**common, "label": "Passwortkonto", "trust": {"fixed": 1}},
        "staff-sso": {
            **common,
            "label": "Verwaltungs-SSO",
            "audience": "staff",
            "scopes": ["openid", "email", "profile"],
            "trust": {"fixed": 2},
        },
    }


def authorization_params(response: Any) -> dict[str, str]:
    """The query of the redirect to the provider's authorization endpoint."""
    assert response.status_code == 302, response.content
    return {
        name: values[0] for name, values in parse_qs(urlsplit(response["Location"]).query).items()
    }


def sign_in(
    client: Client,
    op: FakeProvider,
    provider: str = "ext",
    *,
    query: dict[str, str] | None = None,
    userinfo: dict[str, Any] | None = None,
    **claims: Any,
) -> Any:
    """Start at rathaus, let the fake provider authorise, come back: the callback's response."""
    params = authorization_params(client.get(f"/anmelden/oidc/{provider}/", query or {}))
    code = op.grant(
        nonce=params["nonce"], userinfo=ERIKA if userinfo is None else userinfo, **claims
    )
    return client.get(
        f"/anmelden/oidc/{provider}/callback/", {"code": code, "state": params["state"]}
    )
