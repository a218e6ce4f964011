"""The sign-in flow through the views: start, callback, and everything hostile on the way."""

import base64
import hashlib
import time
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.test import Client

from rathaus.accounts.models import User
from rathaus.accounts.trust import SESSION_KEY as TRUST_KEY
from rathaus.audit.models import AuditEvent
from rathaus.core.models import Municipality
from rathaus.oidc import pending as pending_module
from rathaus.oidc.models import ExternalIdentity
from rathaus.oidc.pending import SESSION_KEY as PENDING_KEY
from tests.oidc.fake_provider import CLIENT_ID, FakeProvider
from tests.oidc.helpers import ERIKA, authorization_params, sign_in

pytestmark = pytest.mark.django_db


def _failures() -> list[dict[str, Any]]:
    return [e.data for e in AuditEvent.objects.filter(action="accounts.login.failed")]


def _nobody_signed_in(client: Client) -> bool:
    return "_auth_user_id" not in client.session


# --- start -------------------------------------------------------------------------------


def test_start_sends_the_browser_to_the_provider_with_pkce_state_and_nonce(
    client: Client, municipality: Municipality, op: FakeProvider, configured: Any
) -> None:
    response = client.get("/anmelden/oidc/ext/", {"next": "/konto/?tab=1"})
    params = authorization_params(response)
    assert response["Location"].startswith(op.issuer + "/authorize?tenant=x&")
    assert params["response_type"] == "code"
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == "http://testserver/anmelden/oidc/ext/callback/"
    assert params["scope"] == "openid profile email address"
    assert params["code_challenge_method"] == "S256"
    assert "acr_values" not in params
    assert "prompt" not in params
    stored = client.session[PENDING_KEY][params["state"]]
    assert stored["nonce"] == params["nonce"]
    assert stored["next_url"] == "/konto/?tab=1"
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(stored["code_verifier"].encode()).digest()
    ).rstrip(b"=")
    assert params["code_challenge"] == challenge.decode()
    assert len(params["state"]) >= 43
    assert len(params["nonce"]) >= 43
    assert response["Cache-Control"].startswith("max-age=0")


def test_a_step_up_asks_for_a_fresh_login_with_the_acr_values(
    client: Client, municipality: Municipality, configured: Any
) -> None:
    params = authorization_params(client.get("/anmelden/oidc/ext/", {"level": "2"}))
    assert params["acr_values"] == "urn:eid:high urn:elster"
    assert params["prompt"] == "login"
    assert client.session[PENDING_KEY][params["state"]]["level"] == 2


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http://testserver/konto/",
        "/konto/\r\nSet-Cookie: x=1",
        "/" + "a" * 2001,
    ],
)
def test_an_open_redirect_in_next_is_refused(
    client: Client, municipality: Municipality, configured: Any, next_url: str
) -> None:
    response = client.get("/anmelden/oidc/ext/", {"next": next_url})
    assert response.status_code == 400
    assert PENDING_KEY not in client.session


@pytest.mark.parametrize("level", ["0", "4", "-1", "high", "3.0", ""])
def test_an_invalid_level_is_refused(
    client: Client, municipality: Municipality, configured: Any, level: str
) -> None:
    response = client.get("/anmelden/oidc/ext/", {"level": level})
    assert response.status_code == (302 if level == "" else 400)


def test_a_level_the_provider_cannot_give_is_refused(
    client: Client, municipality: Municipality, configured: Any
) -> None:
    assert client.get("/anmelden/oidc/pw/", {"level": "2"}).status_code == 400
    assert PENDING_KEY not in client.session


def test_an_unknown_provider_is_404(
    client: Client, municipality: Municipality, configured: Any
) -> None:
    assert client.get("/anmelden/oidc/nope/").status_code == 404
    assert client.get("/anmelden/oidc/nope/callback/").status_code == 404
    assert client.get("/anmelden/oidc/devidp/").status_code == 404  # dev IdP is off


def test_only_a_few_pending_sign_ins_are_kept(
    client: Client, municipality: Municipality, configured: Any
) -> None:
    states = [authorization_params(client.get("/anmelden/oidc/ext/"))["state"] for _ in range(7)]
    assert sorted(client.session[PENDING_KEY]) == sorted(states[-5:])


def test_an_unreachable_provider_gives_a_clear_page(
    client: Client, municipality: Municipality, configured: Any, op: FakeProvider
) -> None:
    op.answers["/.well-known/openid-configuration"] = (503, b"", {})
    response = client.get("/anmelden/oidc/ext/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 502
    assert "cannot be reached at the moment" in response.content.decode()


# --- callback ----------------------------------------------------------------------------


def test_a_first_sign_in_creates_the_citizen_account_at_the_level_reached(
    client: Client, municipality: Municipality, configured: Any, op: FakeProvider
) -> None:
    response = sign_in(client, op, query={"next": "/konto/"})
    assert response.status_code == 302
    assert response["Location"] == "/konto/"
    user = User.objects.get()
    assert (user.municipality, user.email, user.first_name, user.last_name) == (
        municipality,
        "erika@example.org",
        "Erika",
        "Mustermann",
    )
    assert (str(user.date_of_birth), user.street, user.postcode, user.city) == (
        "1964-08-12",
        "Heidestraße 17",
        "51147",
        "Köln",
    )
    assert user.email_verified_at is not None
    assert not user.has_usable_password()
    assert not user.is_staff
    identity = ExternalIdentity.objects.get()
    assert (identity.municipality, identity.user, identity.provider, identity.subject) == (
        municipality,
        user,
        "ext",
        "subject-erika",
    )
    assert identity.last_login_at is not None
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.session[TRUST_KEY]["level"] == 3
    assert client.session[TRUST_KEY]["method"] == "oidc:ext"
    assert client.session[PENDING_KEY] == {}
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions == ["oidc.account.created", "oidc.identity.linked", "accounts.login.succeeded"]
    assert AuditEvent.objects.get(action="accounts.login.succeeded").data == {
        "method": "oidc:ext",
        "trust_level": 3,
    }


@pytest.mark.parametrize(("acr", "level"), [("urn:elster", 2), ("urn:other", 1), (None, 1)])
def test_the_level_comes_from_the_acr_claim(
    client: Client,
    municipality: Municipality,
    configured: Any,
    op: FakeProvider,
    acr: str | None,
    level: int,
) -> None:
    assert sign_in(client, op, acr=acr).status_code == 302
    assert client.session[TRUST_KEY]["level"] == level


def test_the_level_is_never_taken_from_userinfo(
    client: Client, municipality: Municipality, configured: Any, op: FakeProvider
) -> None:
    response = sign_in(client, op, acr=None, userinfo={**ERIKA, "acr": "urn:eid:high"})
    assert response.status_code == 302
    assert client.session[TRUST_KEY]["level"] == 1


def test_the_default_redirect_is_the_start_page(
    client: Client, municipality: Municipality, configured: Any, op: FakeProvider
) -> None:
    assert sign_in(client, op)["Location"] == "/"


@pytest.mark.parametrize("state", ["forged", "", "s" * 5000])
def test_a_callback_without_a_pending_state_is_refused(
    client: Client, municipality: Municipality, configured: Any, op: FakeProvider, state: str
) -> None:
    authorization_params(client.get("/anmelden/oidc/ext/"))  # a real one is pending
    code = op.grant(nonce="whatever")
    response = client.get("/anmelden/oidc/ext/callback/", {"code": code, "state": state})
    assert response.status_code == 400
    assert _nobody_signed_in(client)
    assert User.objects.count() == 0
    assert _failures() == [{"method": "oidc:ext", "reason": "state_mismatch"}]
    assert op.fetches("/token") == 0


def test_a_state_from_another_browser_is_refused(
    client: Client, municipality: Municipality, configured: Any, op: FakeProvider
) -> None:
    # The attacker starts a sign-in and plants the callback in the victim's browser.
    attacker = Client()
    params = authorization_params(attacker.get("/anmelden/oidc/ext/"))
    code = op.grant(nonce=params["nonce"], sub="attacker")
    response = client.get("/anmelden/oidc/ext/callback/", {"code": code, "state": params["state"]})
    assert response.status_code == 400
    assert _nobody_signed_in(client)
    assert ExternalIdentity.objects.count() == 0


def test_a_callback_cannot_be_replayed(
    client: Client, municipality: Municipality, configured: Any, op: FakeProvider
) -> None:
    params = authorization_params(client.get("/anmelden/oidc/ext/"))
    code = op.grant(nonce=params["nonce"], userinfo=ERIKA)
    url = f"/anmelden/oidc/ext/callback/?code={code}&state={params['state']}"
    assert client.get(url).status_code == 302
    client.logout()
    assert client.get(url).status_code == 400
    assert _nobody_signed_in(client)


def test_a_state_for_another_provider_is_refused(
    client: Client, municipality: Municipality, configured: Any, op: FakeProvider
) -> None:
    params = authorization_params(client.get("/anmelden/oidc/pw/"))
    code = op.grant(nonce=params["nonce"])
    response = client.get("/anmelden/oidc/ext/callback/", {"code": code, "state": params["state"]})
    assert response.status_code == 400
    assert _nobody_signed_in(client)


def test_an_expired_pending_sign_in_is_refused(
    client: Client,
    municipality: Municipality,
    configured: Any,
    op: FakeProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    params = authorization_params(client.get("/anmelden/oidc/ext/"))
    code = op.grant(nonce=params["nonce"], userinfo=ERIKA)
    later = time.time() + pending_module.LIFETIME_SECONDS + 1
    monkeypatch.setattr(pending_module.time, "time", lambda: later)
    response = client.get("/anmelden/oidc/ext/callback/", {"code": code, "state": params["state"]})
    assert response.status_code == 400
    assert _nobody_signed_in(client)


@pytest.mark.parametrize(
    ("query", "reason", "text"),
    [
        ({"error": "access_denied"}, "provider_error:access_denied", "was cancelled"),
        ({"error": "<script>"}, "provider_error:unknown", "could not be completed"),
        ({}, "invalid_response", "could not be completed"),
        ({"code": "c" * 2049}, "invalid_response", "could not be completed"),
    ],
)
def test_a_callback_with_an_error_or_without_a_code_is_refused(
    client: Client,
    municipality: Municipality,
    configured: Any,
    op: FakeProvider,
    query: dict[str, str],
    reason: str,
    text: str,
) -> None:
    params = authorization_params(client.get("/anmelden/oidc/ext/"))
    response = client.get(
        "/anmelden/oidc/ext/callback/",
        {"state": params["state"], **query},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert text in response.content.decode()
    assert "<script>" not in response.content.decode()
    assert _failures() == [{"method": "oidc:ext", "reason": reason}]
    assert _nobody_signed_in(client)


@pytest.mark.parametrize(
    ("answer", "status", "reason"),
    [
        ((400, b'{"error": "invalid_grant"}', {}), 400, "token_error:invalid_grant"),
        ((401, b"nonsense", {}), 400, "token_error:unknown"),
        ((500, b"", {}), 502, "token_endpoint_failed"),
        ((200, b'{"token_type": "Bearer"}', {}), 400, "token_response_no_id_token"),
        ((200, b'{"token_type": "mac", "id_token": "x"}', {}), 400, "token_response_invalid"),
        ((200, b"[]", {}), 400, "token_response_invalid"),
    ],
)
def test_token_endpoint_failures_give_a_clear_page_and_an_audit_event(
    client: Client,
    municipality: Municipality,
    configured: Any,
    op: FakeProvider,
    answer: Any,
    status: int,
    reason: str,
) -> None:
    op.answers["/token"] = answer
    response = sign_in(client, op, query={"next": "/konto/"})
    assert response.status_code == status
    assert '<a href="/anmelden/?next=%2Fkonto%2F">' in response.content.decode()
    assert _failures() == [{"method": "oidc:ext", "reason": reason}]
    assert _nobody_signed_in(client)
    assert User.objects.count() == 0


def test_the_client_authenticates_with_client_secret_basic(
    client: Client, municipality: Municipality, configured: Any, op: FakeProvider
) -> None:
    assert sign_in(client, op).status_code == 302
    _method, _path, headers, body = next(r for r in op.requests if r[1] == "/token")
    form = parse_qs(body)
    assert form["grant_type"] == ["authorization_code"]
    assert form["redirect_uri"] == ["http://testserver/anmelden/oidc/ext/callback/"]
    assert len(form["code_verifier"][0]) >= 43
    assert "client_secret" not in form
    assert headers["Authorization"].startswith("Basic ")


def test_a_token_with_the_wrong_nonce_is_refused(
    client: Client, municipality: Municipality, configured: Any, op: FakeProvider
) -> None:
    params = authorization_params(client.get("/anmelden/oidc/ext/"))
    code = op.grant(nonce="someone-elses-nonce", userinfo=ERIKA)
    response = client.get("/anmelden/oidc/ext/callback/", {"code": code, "state": params["state"]})
    assert response.status_code == 400
    assert _failures() == [{"method": "oidc:ext", "reason": "id_token_nonce"}]
    assert _nobody_signed_in(client)


def test_an_answer_naming_another_issuer_is_refused(
    client: Client, municipality: Municipality, configured: Any, op: FakeProvider
) -> None:
    params = authorization_params(client.get("/anmelden/oidc/ext/"))
    code = op.grant(nonce=params["nonce"], userinfo=ERIKA)
    response = client.get(
        "/anmelden/oidc/ext/callback/",
        {"code": code, "state": params["state"], "iss": "https://evil.example"},
    )
    assert response.status_code == 400
    assert _failures() == [{"method": "oidc:ext", "reason": "issuer_mismatch"}]
    assert op.fetches("/token") == 0


def test_userinfo_about_someone_else_is_refused(
    client: Client, municipality: Municipality, configured: Any, op: FakeProvider
) -> None:
    op.answers["/userinfo"] = (200, b'{"sub": "someone-else", "email": "x@example.org"}', {})
    response = sign_in(client, op)
    assert response.status_code == 400
    assert _failures() == [
        {"method": "oidc:ext", "reason": "userinfo_subject_mismatch", "subject": "subject-erika"}
    ]
    assert User.objects.count() == 0


def test_a_step_up_that_does_not_reach_the_level_is_refused(
    client: Client, municipality: Municipality, configured: Any, op: FakeProvider
) -> None:
    response = sign_in(client, op, query={"level": "3", "next": "/antrag/"}, acr="urn:elster")
    assert response.status_code == 403
    page = response.content.decode()
    assert "/anmelden/vertrauensniveau/?level=3&amp;next=%2Fantrag%2F" in page
    assert _nobody_signed_in(client)
    assert User.objects.count() == 0
    assert _failures()[0]["reason"] == "level_too_low"


def test_an_identity_belongs_to_its_municipality(
    client: Client,
    other_client: Client,
    municipality: Municipality,
    other_municipality: Municipality,
    configured: Any,
    op: FakeProvider,
) -> None:
    # Given Erika signed in at Musterstadt
    assert sign_in(client, op).status_code == 302
    first = User.objects.get()
    # When the same identity signs in at Beispielheim
    response = sign_in(other_client, op)
    # Then Beispielheim gets an account of its own; Musterstadt's is untouched
    assert response.status_code == 302
    second = User.objects.exclude(pk=first.pk).get()
    assert second.municipality == other_municipality
    assert other_client.session["_auth_user_id"] == str(second.pk)
    assert ExternalIdentity.objects.filter(municipality=municipality).get().user == first
    assert ExternalIdentity.objects.filter(municipality=other_municipality).get().user == second
    token_requests = [parse_qs(body) for _m, path, _h, body in op.requests if path == "/token"]
    assert [form["redirect_uri"][0] for form in token_requests] == [
        "http://testserver/anmelden/oidc/ext/callback/",
        "http://beispielheim.localhost/anmelden/oidc/ext/callback/",
    ]
