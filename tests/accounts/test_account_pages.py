"""The citizen's own pages: details, consents, data export and closing the account."""

import json

import pytest
from django.test import Client
from django.utils import timezone

from rathaus.accounts.models import ConsentRecord, User
from rathaus.audit.models import AuditEvent
from rathaus.core.models import Municipality
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def citizen(municipality: Municipality) -> User:
    return UserFactory(
        municipality=municipality,
        email="erika@example.org",
        email_verified_at=timezone.now(),
        street="Marktplatz 1",
        postcode="71634",
        city="Musterstadt",
    )


@pytest.fixture
def signed_in(client: Client, citizen: User) -> Client:
    client.post("/anmelden/", {"username": citizen.email, "password": PASSWORD})
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/konto/",
        "/konto/profil/",
        "/konto/sicherheit/",
        "/konto/einwilligungen/",
        "/konto/daten/",
        "/konto/daten/meine-daten.json",
        "/konto/loeschen/",
    ],
)
def test_account_pages_need_a_login(client: Client, municipality: Municipality, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/anmelden/?next=")


def test_profile_update_is_saved_and_audited(signed_in: Client, citizen: User) -> None:
    response = signed_in.post(
        "/konto/profil/",
        {
            "first_name": "Erika",
            "last_name": "Musterfrau",
            "date_of_birth": "1964-08-12",
            "street": "Schlossstraße 3",
            "postcode": "71634",
            "city": "Ludwigsburg",
            "phone": "+49 151 2345678",
            "language": "en",
        },
    )
    assert response.status_code == 302
    citizen.refresh_from_db()
    assert (citizen.last_name, str(citizen.date_of_birth), citizen.language) == (
        "Musterfrau",
        "1964-08-12",
        "en",
    )
    event = AuditEvent.objects.get(action="accounts.profile.updated")
    assert sorted(event.data["fields"]) == [
        "city",
        "date_of_birth",
        "language",
        "last_name",
        "phone",
        "street",
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("postcode", "7163"),
        ("phone", "0151 2345"),
        ("date_of_birth", "31.02.1990"),
        ("first_name", "x" * 151),
        ("language", "fr"),
    ],
)
def test_profile_rejects_bad_values_and_keeps_input(
    signed_in: Client, citizen: User, field: str, value: str
) -> None:
    data = {
        "first_name": "Erika",
        "last_name": "Mustermann",
        "street": "",
        "postcode": "",
        "city": "",
        "phone": "",
        "language": "de",
        field: value,
    }
    response = signed_in.post("/konto/profil/", data)
    assert response.status_code == 400
    assert f'id="id_{field}_error"' in response.content.decode()
    citizen.refresh_from_db()
    assert citizen.last_name == "Mustermann"


def test_consent_grant_and_withdraw(signed_in: Client, citizen: User) -> None:
    signed_in.post("/konto/einwilligungen/", {"purpose": "postfach", "action": "grant"})
    assert ConsentRecord.objects.get(user=citizen, purpose="postfach").withdrawn_at is None
    signed_in.post("/konto/einwilligungen/", {"purpose": "postfach", "action": "withdraw"})
    assert ConsentRecord.objects.get(user=citizen, purpose="postfach").withdrawn_at is not None
    assert (
        signed_in.post("/konto/einwilligungen/", {"purpose": "spam", "action": "grant"}).status_code
        == 400
    )
    assert list(
        AuditEvent.objects.filter(action__startswith="accounts.consent").values_list(
            "action", flat=True
        )
    ) == ["accounts.consent.granted", "accounts.consent.withdrawn"]


def test_data_export_contains_everything_and_is_audited(signed_in: Client, citizen: User) -> None:
    response = signed_in.get("/konto/daten/meine-daten.json")
    assert response["Content-Disposition"] == 'attachment; filename="meine-daten.json"'
    document = json.loads(response.content)
    account = document["sections"]["accounts.account"]["data"]
    assert (account["email"], account["street"], account["postcode"]) == (
        "erika@example.org",
        "Marktplatz 1",
        "71634",
    )
    actions = [e["action"] for e in document["sections"]["audit.events"]["data"]]
    assert "accounts.login.succeeded" in actions
    page = signed_in.get("/konto/daten/")
    assert "Marktplatz 1" in page.content.decode()
    assert (
        AuditEvent.objects.filter(
            action="privacy.personal_data.exported", actor_id=citizen.pk
        ).count()
        == 2
    )


def test_export_shows_only_ones_own_data(
    signed_in: Client, citizen: User, municipality: Municipality
) -> None:
    UserFactory(municipality=municipality, email="other@example.org", street="Geheimweg 9")
    assert "Geheimweg" not in signed_in.get("/konto/daten/meine-daten.json").content.decode()


def test_closing_the_account(signed_in: Client, citizen: User) -> None:
    # Given a recent password confirmation
    response = signed_in.get("/konto/loeschen/")
    assert response["Location"].startswith("/konto/bestaetigen/")
    signed_in.post("/konto/bestaetigen/", {"password": PASSWORD})
    page = signed_in.get("/konto/loeschen/")
    assert (
        "Security log entries" in page.content.decode()
        or "Sicherheitsprotokoll" in page.content.decode()
    )
    # Refused without the confirmation box
    assert signed_in.post("/konto/loeschen/", {"password": PASSWORD}).status_code == 400
    # When the citizen confirms
    response = signed_in.post("/konto/loeschen/", {"password": PASSWORD, "confirm": "on"})
    # Then the account is anonymised, signed out and cannot sign in again
    assert response.status_code == 200
    citizen.refresh_from_db()
    assert (citizen.is_active, citizen.street, citizen.first_name) == (False, "", "")
    assert citizen.email.endswith("@invalid.invalid")
    assert not citizen.has_usable_password()
    assert "_auth_user_id" not in signed_in.session
    assert (
        signed_in.post(
            "/anmelden/", {"username": "erika@example.org", "password": PASSWORD}
        ).status_code
        == 400
    )
    assert AuditEvent.objects.filter(action="accounts.deleted", actor_id=citizen.pk).exists()


def test_sms_consent_switches_text_messages_on_and_off(signed_in: Client, citizen: User) -> None:
    from rathaus.notifications.selectors import notification_preference_get

    assert notification_preference_get(user=citizen).sms_enabled is False
    signed_in.post("/konto/einwilligungen/", {"purpose": "sms", "action": "grant"})
    assert notification_preference_get(user=citizen).sms_enabled is True
    signed_in.post("/konto/einwilligungen/", {"purpose": "sms", "action": "withdraw"})
    assert notification_preference_get(user=citizen).sms_enabled is False
