"""Signing in: password, brute-force protection, second factor, trust level, idle timeout."""

import json
import re
import time

import pyotp
import pytest
from django.test import Client

from rathaus.accounts.models import User
from rathaus.accounts.services import totp_enable
from rathaus.accounts.trust import SESSION_KEY, TrustLevel
from rathaus.audit.models import AuditEvent
from rathaus.core.models import Municipality
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def citizen(municipality: Municipality) -> User:
    from django.utils import timezone

    return UserFactory(
        municipality=municipality, email="erika@example.org", email_verified_at=timezone.now()
    )


def _login(client: Client, email: str, password: str = PASSWORD, **extra: str) -> object:
    return client.post("/anmelden/", {"username": email, "password": password, **extra})


def test_password_login_sets_basic_trust_and_is_audited(client: Client, citizen: User) -> None:
    response = _login(client, "Erika@Example.org", next="/konto/profil/")
    assert response.status_code == 302
    assert response["Location"] == "/konto/profil/"
    assert client.session[SESSION_KEY]["level"] == TrustLevel.BASIC
    assert client.session[SESSION_KEY]["method"] == "password"
    event = AuditEvent.objects.get(action="accounts.login.succeeded")
    assert (event.actor_id, event.data["method"]) == (citizen.pk, "password")


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"]
)
def test_login_never_redirects_elsewhere(client: Client, citizen: User, next_url: str) -> None:
    response = _login(client, citizen.email, next=next_url)
    assert response["Location"] == "/konto/"


def test_unknown_account_and_wrong_password_look_the_same(client: Client, citizen: User) -> None:
    unknown = _login(client, "nobody@example.org")
    wrong = _login(client, citizen.email, "wrong-password")
    assert unknown.status_code == wrong.status_code == 400

    def page(response: object) -> str:
        text = response.content.decode()  # type: ignore[attr-defined]
        text = re.sub(r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+', "", text)
        return text.replace("nobody@example.org", "X").replace(citizen.email, "X")

    assert page(unknown) == page(wrong)
    assert AuditEvent.objects.filter(action="accounts.login.failed").count() == 2


def test_account_of_another_municipality_cannot_sign_in_here(
    client: Client, other_municipality: Municipality, municipality: Municipality
) -> None:
    UserFactory(municipality=other_municipality, email="max@example.org")
    assert _login(client, "max@example.org").status_code == 400


def test_lockout_after_failures_with_backoff(client: Client, citizen: User) -> None:
    for _ in range(5):
        assert _login(client, citizen.email, "wrong").status_code == 400
    locked = _login(client, citizen.email, "wrong")
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == 30
    # Even the right password is refused while locked, and the lock is logged.
    assert _login(client, citizen.email).status_code == 429
    assert AuditEvent.objects.filter(action="accounts.login.locked").exists()


def test_lockout_applies_to_unknown_accounts_too(
    client: Client, municipality: Municipality
) -> None:
    for _ in range(5):
        _login(client, "ghost@example.org", "x")
    assert _login(client, "ghost@example.org", "x").status_code == 429


def test_unverified_citizen_is_asked_to_confirm(client: Client, municipality: Municipality) -> None:
    UserFactory(municipality=municipality, email="new@example.org", email_verified_at=None)
    response = _login(client, "new@example.org")
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "payload",
    [{"username": "x" * 300, "password": "p"}, {"username": "a@b.c", "password": "p" * 201}, {}],
)
def test_malformed_login_is_a_400(
    client: Client, municipality: Municipality, payload: dict[str, str]
) -> None:
    assert client.post("/anmelden/", payload).status_code == 400


class TestSecondFactor:
    @pytest.fixture
    def secret(self, citizen: User) -> str:
        secret = pyotp.random_base32(32)
        self.codes = totp_enable(user=citizen, secret=secret, code=pyotp.TOTP(secret).now())
        return secret

    def test_password_alone_is_not_enough(self, client: Client, citizen: User, secret: str) -> None:
        response = _login(client, citizen.email)
        assert response["Location"] == "/anmelden/code/"
        assert "_auth_user_id" not in client.session
        assert client.get("/konto/").status_code == 302

    def test_code_completes_the_login_once(
        self, client: Client, citizen: User, secret: str
    ) -> None:
        _login(client, citizen.email)
        code = pyotp.TOTP(secret).now()
        response = client.post("/anmelden/code/", {"code": code})
        assert response.status_code == 302
        assert client.session[SESSION_KEY]["method"] == "password+totp"
        # The same code does not work a second time.
        other = Client()
        _login(other, citizen.email)
        assert other.post("/anmelden/code/", {"code": code}).status_code == 400

    def test_recovery_code_works_once(self, client: Client, citizen: User, secret: str) -> None:
        _login(client, citizen.email)
        assert client.post("/anmelden/code/", {"code": self.codes[0]}).status_code == 302
        again = Client()
        _login(again, citizen.email)
        assert again.post("/anmelden/code/", {"code": self.codes[0]}).status_code == 400

    def test_wrong_codes_lock_out(self, client: Client, citizen: User, secret: str) -> None:
        _login(client, citizen.email)
        statuses = [
            client.post("/anmelden/code/", {"code": "000000"}).status_code for _ in range(7)
        ]
        assert statuses[:5] == [400] * 5
        assert statuses[-1] == 429

    def test_pending_login_expires(self, client: Client, citizen: User, secret: str) -> None:
        _login(client, citizen.email)
        session = client.session
        session["rathaus_pending_2fa"]["at"] = time.time() - 301
        session.save()
        response = client.post("/anmelden/code/", {"code": pyotp.TOTP(secret).now()})
        assert response["Location"] == "/anmelden/"
        assert "_auth_user_id" not in client.session

    def test_code_page_without_password_step_redirects(
        self, client: Client, municipality: Municipality
    ) -> None:
        assert client.post("/anmelden/code/", {"code": "123456"})["Location"] == "/anmelden/"


def test_setting_up_totp_through_the_pages(client: Client, citizen: User) -> None:
    client.force_login(citizen)
    page = client.get("/konto/sicherheit/")
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    secret = client.session["rathaus_totp_setup"]
    assert client.post("/konto/sicherheit/", {"code": "12345"}).status_code == 400
    response = client.post("/konto/sicherheit/", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200
    assert len(response.context["codes"]) == 10
    citizen.refresh_from_db()
    assert citizen.has_second_factor


def test_turning_off_totp_needs_the_password_again(client: Client, citizen: User) -> None:
    secret = pyotp.random_base32(32)
    totp_enable(user=citizen, secret=secret, code=pyotp.TOTP(secret).now())
    client.force_login(citizen)
    response = client.post("/konto/sicherheit/zweiter-faktor-aus/")
    assert response["Location"].startswith("/konto/bestaetigen/?next=")
    citizen.refresh_from_db()
    assert citizen.has_second_factor
    assert (
        client.post("/konto/bestaetigen/", {"password": "wrong", "code": "000000"}).status_code
        == 400
    )
    client.post("/konto/bestaetigen/", {"password": PASSWORD, "code": pyotp.TOTP(secret).now()})
    client.post("/konto/sicherheit/zweiter-faktor-aus/")
    citizen.refresh_from_db()
    assert not citizen.has_second_factor


def test_idle_session_expires(client: Client, citizen: User) -> None:
    _login(client, citizen.email)
    assert client.get("/konto/").status_code == 200
    session = client.session
    session["rathaus_last_seen"] = time.time() - 31 * 60
    session.save()
    assert client.get("/konto/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_logout_needs_post_and_is_audited(client: Client, citizen: User) -> None:
    _login(client, citizen.email)
    assert client.get("/abmelden/").status_code == 405
    assert client.post("/abmelden/").status_code == 302
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="accounts.logout", actor_id=citizen.pk).exists()


def test_json_login_attempt_is_not_special(client: Client, citizen: User) -> None:
    response = client.post(
        "/anmelden/", json.dumps({"username": citizen.email}), content_type="application/json"
    )
    assert response.status_code == 400
