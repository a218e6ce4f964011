"""Registration, e-mail verification and password reset, with real mail over SMTP."""

import re
from email.header import decode_header, make_header

import pytest
from django.core.management import call_command
from django.test import Client

from rathaus.accounts.models import ConsentRecord, User
from rathaus.audit.models import AuditEvent
from rathaus.core.models import Municipality
from tests.conftest import SmtpSink
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "Neues-Passwort-2026!"
FORM = {
    "first_name": "Erika",
    "last_name": "Mustermann",
    "email": "erika@example.org",
    "new_password1": NEW_PASSWORD,
    "new_password2": NEW_PASSWORD,
    "language": "de",
    "accept_terms": "on",
}


def _deliver() -> None:
    call_command("db_worker", batch=True, interval=0)


def _subject(message: object) -> str:
    return str(make_header(decode_header(message["Subject"]))).strip()  # type: ignore[index]


def _link(sink: SmtpSink, index: int = -1) -> str:
    body = sink.messages[index].get_payload(decode=True).decode()
    match = re.search(r"http://testserver(/\S+/)", body)
    assert match, body
    return match.group(1)


def test_register_verify_and_sign_in(
    client: Client, municipality: Municipality, smtp_server: SmtpSink
) -> None:
    # When Erika registers
    response = client.post("/registrieren/", FORM)
    assert response.status_code == 200
    user = User.objects.get(email="erika@example.org")
    assert user.email_verified_at is None
    assert ConsentRecord.objects.get(user=user).purpose == "terms"
    # Then a German e-mail with a link arrives at the SMTP server
    _deliver()
    message = smtp_server.messages[0]
    assert message["To"] == "erika@example.org"
    assert (
        _subject(message)
        == "Bestätigen Sie Ihre E-Mail-Adresse für das Bürgerkonto bei Musterstadt"
    )
    link = _link(smtp_server)
    # She cannot sign in before confirming
    assert (
        client.post(
            "/anmelden/", {"username": "erika@example.org", "password": NEW_PASSWORD}
        ).status_code
        == 403
    )
    # Opening the link shows a button; only the POST confirms (mail scanners follow GETs)
    assert client.get(link).status_code == 200
    user.refresh_from_db()
    assert user.email_verified_at is None
    assert client.post(link)["Location"] == "/anmelden/"
    user.refresh_from_db()
    assert user.email_verified_at is not None
    # The link works once
    assert client.post(link).status_code == 400
    assert (
        client.post(
            "/anmelden/", {"username": "erika@example.org", "password": NEW_PASSWORD}
        ).status_code
        == 302
    )


def test_registering_a_taken_address_reveals_nothing(
    client: Client, municipality: Municipality, smtp_server: SmtpSink
) -> None:
    UserFactory(municipality=municipality, email="erika@example.org")
    response = client.post("/registrieren/", {**FORM, "email": "Erika@Example.org"})
    # Same page as a new registration ...
    assert response.status_code == 200
    assert "accounts/check_mailbox.html" in [t.name for t in response.templates]
    assert User.objects.filter(email__iexact="erika@example.org").count() == 1
    # ... and the holder is told someone tried
    _deliver()
    assert len(smtp_server.messages) == 1
    assert "Musterstadt" in _subject(smtp_server.messages[0])
    assert "erika@example.org" not in smtp_server.messages[0].get_payload(decode=True).decode()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({"new_password1": "kurz", "new_password2": "kurz"}, "new_password1"),
        ({"new_password1": "1234567890123", "new_password2": "1234567890123"}, "new_password1"),
        ({"new_password2": "different-password-1"}, "new_password2"),
        ({"accept_terms": ""}, "accept_terms"),
        ({"first_name": "x" * 151}, "first_name"),
        ({"language": "xx"}, "language"),
    ],
)
def test_invalid_registration_keeps_input(
    client: Client, municipality: Municipality, change: dict[str, str], field: str
) -> None:
    response = client.post("/registrieren/", {**FORM, **change})
    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="id_{field}_error"' in page
    assert 'value="Mustermann"' in page
    assert not User.objects.filter(email="erika@example.org").exists()


@pytest.mark.parametrize("token", ["x", "a" * 600, "eyJ1Ijo.forged.sig", "../../etc/passwd"])
def test_forged_or_malformed_tokens_are_refused(
    client: Client, municipality: Municipality, token: str
) -> None:
    assert client.get(f"/registrieren/bestaetigen/{token}/").status_code in {400, 404}
    assert client.post(
        f"/passwort-vergessen/{token}/",
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    ).status_code in {400, 404}


def test_password_reset_end_to_end(
    client: Client, municipality: Municipality, smtp_server: SmtpSink
) -> None:
    user = UserFactory(municipality=municipality, email="max@example.org")
    # Unknown and known addresses get the same answer
    unknown = client.post("/passwort-vergessen/", {"email": "nobody@example.org"})
    known = client.post("/passwort-vergessen/", {"email": "max@example.org"})
    assert unknown.status_code == known.status_code == 200
    page = "accounts/check_mailbox.html"
    assert page in [t.name for t in unknown.templates]
    assert page in [t.name for t in known.templates]
    _deliver()
    assert [m["To"] for m in smtp_server.messages] == ["max@example.org"]
    link = _link(smtp_server)
    assert (
        client.post(link, {"new_password1": NEW_PASSWORD, "new_password2": "other"}).status_code
        == 400
    )
    assert (
        client.post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})[
            "Location"
        ]
        == "/anmelden/"
    )
    # The link is used up, the old password is gone, the new one works
    assert (
        client.post(
            link, {"new_password1": "Noch-ein-Passwort-1", "new_password2": "Noch-ein-Passwort-1"}
        ).status_code
        == 400
    )
    assert (
        client.post("/anmelden/", {"username": "max@example.org", "password": PASSWORD}).status_code
        == 400
    )
    assert (
        client.post(
            "/anmelden/", {"username": "max@example.org", "password": NEW_PASSWORD}
        ).status_code
        == 302
    )
    assert AuditEvent.objects.filter(action="accounts.password.reset", actor_id=user.pk).exists()


def test_reset_requests_are_rate_limited(
    client: Client, municipality: Municipality, smtp_server: SmtpSink
) -> None:
    UserFactory(municipality=municipality, email="max@example.org")
    for _ in range(8):
        assert client.post("/passwort-vergessen/", {"email": "max@example.org"}).status_code == 200
    # only the first five requests are acted on, whatever the number sent
    assert AuditEvent.objects.filter(action="accounts.password_reset.requested").count() == 5
    _deliver()
    assert 1 <= len(smtp_server.messages) <= 5


def test_reset_link_of_another_municipality_does_not_work_here(
    other_client: Client,
    municipality: Municipality,
    other_municipality: Municipality,
    smtp_server: SmtpSink,
) -> None:
    from rathaus.accounts.tokens import token_make

    user = UserFactory(municipality=municipality, email="max@example.org")
    token = token_make(user=user, purpose="reset-password")
    response = other_client.post(
        f"/passwort-vergessen/{token}/",
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 400
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
