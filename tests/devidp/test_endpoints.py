"""The development identity provider as a client sees it, and everything hostile."""

import base64
import hashlib
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlencode, urlsplit

import jwt
import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from rathaus.core.models import Municipality
from rathaus.devidp import registration
from rathaus.devidp.models import AccessToken, AuthorizationCode, SigningKey

pytestmark = pytest.mark.django_db

REDIRECT_URI = "http://testserver/anmelden/oidc/devidp/callback/"
ISSUER = "http://testserver/dev-idp"


@pytest.fixture(autouse=True)
def _dev_idp_on(settings: Any, municipality: Municipality) -> None:
    settings.RATHAUS_DEV_IDP = True


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _authorize_params(challenge: str, **overrides: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": registration.CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email address",
        "state": "state-123",
        "nonce": "nonce-456",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "acr_values": "urn:rathaus:loa:high",
    }
    params.update(overrides)
    return {name: value for name, value in params.items() if value is not None}


def _basic(client_id: str = registration.CLIENT_ID, secret: str | None = None) -> str:
    secret = registration.client_secret() if secret is None else secret
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def _query(response: Any) -> dict[str, str]:
    assert response.status_code == 302, response.content
    parts = urlsplit(response["Location"])
    return {k: v[0] for k, v in parse_qs(parts.query).items()}


def _code(client: Client, persona: str = "erika", **overrides: str) -> tuple[str, str]:
    verifier, challenge = _pkce()
    response = client.post(
        "/dev-idp/authorize", {**_authorize_params(challenge, **overrides), "persona": persona}
    )
    assert response["Location"].startswith(REDIRECT_URI + "?")
    return _query(response)["code"], verifier


def _redeem(
    client: Client,
    code: str,
    verifier: str,
    *,
    auth: str | None = None,
    fields: dict[str, str] | None = None,
) -> Any:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
        **(fields or {}),
    }
    return client.post(
        "/dev-idp/token",
        urlencode(data),
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=auth if auth is not None else _basic(),
    )


ENDPOINTS = [
    ("get", "/dev-idp/.well-known/openid-configuration"),
    ("get", "/dev-idp/jwks.json"),
    ("get", "/dev-idp/authorize"),
    ("post", "/dev-idp/token"),
    ("get", "/dev-idp/userinfo"),
]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_everything_is_404_while_switched_off(
    client: Client, settings: Any, method: str, url: str
) -> None:
    settings.RATHAUS_DEV_IDP = False
    assert getattr(client, method)(url).status_code == 404
    assert SigningKey.objects.count() == 0


def test_discovery_names_the_issuer_of_the_host_it_is_reached_at(
    client: Client, other_client: Client, other_municipality: Municipality
) -> None:
    doc = client.get("/dev-idp/.well-known/openid-configuration").json()
    assert doc["issuer"] == ISSUER
    assert doc["token_endpoint"] == ISSUER + "/token"
    assert doc["jwks_uri"] == ISSUER + "/jwks.json"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert "TEST" in doc["x_rathaus_warning"]
    other = other_client.get("/dev-idp/.well-known/openid-configuration").json()
    assert other["issuer"] == "http://beispielheim.localhost/dev-idp"


def test_the_signing_key_is_made_once_and_published(client: Client) -> None:
    first = client.get("/dev-idp/jwks.json").json()["keys"]
    second = client.get("/dev-idp/jwks.json").json()["keys"]
    assert first == second
    assert len(first) == 1
    assert (first[0]["kty"], first[0]["alg"], first[0]["use"]) == ("RSA", "RS256", "sig")
    assert first[0]["kid"] == SigningKey.objects.get().kid
    assert "d" not in first[0]  # no private part


def test_the_authorize_page_shows_the_warning_and_the_personas(client: Client) -> None:
    _verifier, challenge = _pkce()
    response = client.get(
        "/dev-idp/authorize", _authorize_params(challenge), HTTP_ACCEPT_LANGUAGE="en"
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "TEST-Identitätsanbieter \N{EN DASH} keine echten Anmeldungen" in page
    assert "test identity provider \N{EN DASH} not for real sign-ins" in page
    assert page.count("<h1>") == 1
    for name in ("Erika Mustermann", "Max Mustermann", "Anna Beispiel"):
        assert f"Sign in as {name}" in page
    assert "1964-08-12" in page
    assert "Heidestraße 17, 51147 Köln" in page
    assert page.count("(meets the level asked for)") == 1
    assert page.count("(below the level asked for)") == 2
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": "someone-else"},
        {"client_id": None},
        {"redirect_uri": "https://evil.example/anmelden/oidc/devidp/callback/"},
        {"redirect_uri": "http://testserver/anmelden/oidc/ext/callback/"},
        {"redirect_uri": "https://testserver/anmelden/oidc/devidp/callback/"},
        {"redirect_uri": REDIRECT_URI + "?x=1"},
        {"redirect_uri": None},
    ],
)
def test_an_unknown_client_or_redirect_uri_is_never_redirected_to(
    client: Client, overrides: dict[str, str]
) -> None:
    _verifier, challenge = _pkce()
    for method in (client.get, client.post):
        response = method(
            "/dev-idp/authorize", {**_authorize_params(challenge, **overrides), "persona": "erika"}
        )
        assert response.status_code == 400
        assert "TEST-Identitätsanbieter" in response.content.decode()
    assert AuthorizationCode.objects.count() == 0


def test_a_redirect_uri_of_another_tenant_host_is_refused(
    other_client: Client, other_municipality: Municipality
) -> None:
    _verifier, challenge = _pkce()
    response = other_client.get("/dev-idp/authorize", _authorize_params(challenge))
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"nonce": None}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"nonce": "n" * 600}, "invalid_request"),
    ],
)
def test_a_bad_authorization_request_is_answered_at_the_redirect_uri(
    client: Client, overrides: dict[str, str], error: str
) -> None:
    _verifier, challenge = _pkce()
    query = _query(client.get("/dev-idp/authorize", _authorize_params(challenge, **overrides)))
    assert (query["error"], query["state"], query["iss"]) == (error, "state-123", ISSUER)
    assert "code" not in query


def test_a_request_without_state_is_refused(client: Client) -> None:
    _verifier, challenge = _pkce()
    query = _query(client.get("/dev-idp/authorize", _authorize_params(challenge, state=None)))
    assert query["error"] == "invalid_request"
    assert "state" not in query


def test_a_repeated_parameter_is_refused(client: Client) -> None:
    _verifier, challenge = _pkce()
    params = urlencode(_authorize_params(challenge)) + "&nonce=second"
    query = _query(client.get("/dev-idp/authorize?" + params))
    assert query["error"] == "invalid_request"


def test_choosing_a_persona_returns_a_single_use_code(client: Client) -> None:
    _verifier, challenge = _pkce()
    response = client.post(
        "/dev-idp/authorize", {**_authorize_params(challenge), "persona": "erika"}
    )
    query = _query(response)
    assert (query["state"], query["iss"]) == ("state-123", ISSUER)
    row = AuthorizationCode.objects.get()
    assert row.code_hash == hashlib.sha256(query["code"].encode()).hexdigest()
    assert (row.persona, row.nonce, row.code_challenge, row.used_at) == (
        "erika",
        "nonce-456",
        challenge,
        None,
    )
    assert timedelta(seconds=59) < row.expires_at - row.created_at <= timedelta(seconds=61)


def test_cancelling_answers_access_denied(client: Client) -> None:
    _verifier, challenge = _pkce()
    response = client.post(
        "/dev-idp/authorize", {**_authorize_params(challenge), "action": "cancel"}
    )
    assert _query(response) == {"error": "access_denied", "state": "state-123", "iss": ISSUER}
    assert AuthorizationCode.objects.count() == 0


@pytest.mark.parametrize("persona", ["", "mallory", "erika" * 100])
def test_an_unknown_persona_is_refused(client: Client, persona: str) -> None:
    _verifier, challenge = _pkce()
    response = client.post(
        "/dev-idp/authorize", {**_authorize_params(challenge), "persona": persona}
    )
    assert response.status_code == 400
    assert AuthorizationCode.objects.count() == 0


def test_choosing_a_persona_needs_the_csrf_token(municipality: Municipality) -> None:
    browser = Client(enforce_csrf_checks=True)
    _verifier, challenge = _pkce()
    response = browser.post(
        "/dev-idp/authorize", {**_authorize_params(challenge), "persona": "erika"}
    )
    assert response.status_code == 403
    assert AuthorizationCode.objects.count() == 0


def test_the_token_endpoint_answers_a_signed_id_token_and_an_access_token(
    client: Client,
) -> None:
    code, verifier = _code(client)
    response = _redeem(client, code, verifier)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    answer = response.json()
    assert answer["token_type"] == "Bearer"
    key = jwt.PyJWK(client.get("/dev-idp/jwks.json").json()["keys"][0]).key
    claims = jwt.decode(answer["id_token"], key, algorithms=["RS256"], audience="rathaus-dev")
    assert jwt.get_unverified_header(answer["id_token"])["kid"] == SigningKey.objects.get().kid
    assert (claims["iss"], claims["sub"], claims["nonce"], claims["acr"]) == (
        ISSUER,
        "devidp-7c1e5b2a-erika",
        "nonce-456",
        "urn:rathaus:loa:high",
    )
    assert claims["exp"] - claims["iat"] == 300
    info = client.get(
        "/dev-idp/userinfo", HTTP_AUTHORIZATION=f"Bearer {answer['access_token']}"
    ).json()
    assert info == {
        "sub": "devidp-7c1e5b2a-erika",
        "given_name": "Erika",
        "family_name": "Mustermann",
        "name": "Erika Mustermann",
        "email": "erika.mustermann@example.org",
        "email_verified": True,
        "birthdate": "1964-08-12",
        "address": {
            "street_address": "Heidestraße 17",
            "postal_code": "51147",
            "locality": "Köln",
            "country": "DE",
        },
    }


def test_userinfo_gives_only_the_granted_scopes(client: Client) -> None:
    code, verifier = _code(client, "max", scope="openid email")
    token = _redeem(client, code, verifier).json()["access_token"]
    info = client.get("/dev-idp/userinfo", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert info == {
        "sub": "devidp-4d9f0a31-max",
        "email": "max.mustermann@example.org",
        "email_verified": True,
    }


def test_a_replayed_code_is_refused_and_revokes_what_it_gave(client: Client) -> None:
    code, verifier = _code(client)
    first = _redeem(client, code, verifier)
    assert first.status_code == 200
    replay = _redeem(client, code, verifier)
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")
    userinfo = client.get(
        "/dev-idp/userinfo", HTTP_AUTHORIZATION=f"Bearer {first.json()['access_token']}"
    )
    assert userinfo.status_code == 401
    assert AccessToken.objects.count() == 0


def test_a_wrong_pkce_verifier_is_refused_and_uses_the_code_up(client: Client) -> None:
    code, verifier = _code(client)
    wrong, _challenge = _pkce()
    response = _redeem(client, code, wrong)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")
    assert _redeem(client, code, verifier).status_code == 400
    assert AccessToken.objects.count() == 0


@pytest.mark.parametrize("verifier", ["short", "x" * 129, "ä" * 50])
def test_a_malformed_pkce_verifier_is_refused(client: Client, verifier: str) -> None:
    code, _verifier = _code(client)
    assert _redeem(client, code, verifier).json()["error"] == "invalid_grant"


def test_an_expired_code_is_refused(client: Client) -> None:
    code, verifier = _code(client)
    AuthorizationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _redeem(client, code, verifier).json()["error"] == "invalid_grant"


def test_a_code_is_bound_to_its_redirect_uri_and_host(
    client: Client, other_client: Client, other_municipality: Municipality
) -> None:
    code, verifier = _code(client)
    response = _redeem(client, code, verifier, fields={"redirect_uri": REDIRECT_URI + "x"})
    assert response.json()["error"] == "invalid_grant"
    code, verifier = _code(client)
    # The same code at another tenant's issuer is unknown there.
    assert _redeem(other_client, code, verifier).json()["error"] == "invalid_grant"
    assert AuthorizationCode.objects.filter(used_at__isnull=True).count() == 1


@pytest.mark.parametrize(
    "auth",
    [
        "",
        "Bearer abc",
        "Basic !!!",
        "Basic " + base64.b64encode(b"rathaus-dev").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
        "Basic " + "A" * 2000,
    ],
)
def test_the_token_endpoint_needs_client_authentication(client: Client, auth: str) -> None:
    code, verifier = _code(client)
    response = _redeem(client, code, verifier, auth=auth)
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    assert response["WWW-Authenticate"] == 'Basic realm="dev-idp"'
    assert AuthorizationCode.objects.get().used_at is None


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [("rathaus-dev", "wrong"), ("someone", None), ("rathaus-dev", "")],
)
def test_wrong_client_credentials_are_refused(
    client: Client, client_id: str, secret: str | None
) -> None:
    code, verifier = _code(client)
    response = _redeem(client, code, verifier, auth=_basic(client_id, secret))
    assert response.status_code == 401
    assert AuthorizationCode.objects.get().used_at is None


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"grant_type": ""}, "unsupported_grant_type"),
        ({"code": ""}, "invalid_request"),
        ({"code_verifier": ""}, "invalid_request"),
        ({"code": "c" * 2000}, "invalid_request"),
    ],
)
def test_malformed_token_requests_are_refused(
    client: Client, fields: dict[str, str], error: str
) -> None:
    code, verifier = _code(client)
    response = _redeem(client, code, verifier, fields=fields)
    assert (response.status_code, response.json()["error"]) == (400, error)
    assert AuthorizationCode.objects.get().used_at is None


def test_the_token_endpoint_is_post_only(client: Client) -> None:
    assert client.get("/dev-idp/token").status_code == 405


@pytest.mark.parametrize(
    "header", ["", "Bearer ", "Bearer nope", "Basic abc", "Bearer " + "x" * 2000]
)
def test_userinfo_needs_a_valid_access_token(client: Client, header: str) -> None:
    response = client.get("/dev-idp/userinfo", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_an_expired_access_token_is_refused(client: Client) -> None:
    code, verifier = _code(client)
    token = _redeem(client, code, verifier).json()["access_token"]
    AccessToken.objects.update(expires_at=timezone.now())
    assert client.get("/dev-idp/userinfo", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_old_codes_are_swept(client: Client) -> None:
    _code(client)
    AuthorizationCode.objects.update(created_at=timezone.now() - timedelta(days=2))
    _code(client)
    assert AuthorizationCode.objects.count() == 1


def test_the_deployment_check_warns_while_it_is_on(settings: Any, capsys: Any) -> None:
    call_command("check", "--deploy", "--tag", "security")
    assert "rathaus_devidp.W001" in capsys.readouterr().err
    settings.RATHAUS_DEV_IDP = False
    call_command("check", "--deploy", "--tag", "security")
    assert "rathaus_devidp.W001" not in capsys.readouterr().err
