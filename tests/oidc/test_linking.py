"""Which account a provider's identity signs in, and what it may change there."""

from datetime import date
from typing import Any

import pytest
from django.test import Client

from rathaus.accounts.models import User
from rathaus.accounts.trust import SESSION_KEY as TRUST_KEY
from rathaus.audit.models import AuditEvent
from rathaus.core.models import Municipality
from rathaus.oidc.models import ExternalIdentity
from tests.factories import UserFactory
from tests.oidc.factories import ExternalIdentityFactory
from tests.oidc.fake_provider import FakeProvider
from tests.oidc.helpers import ERIKA, sign_in

pytestmark = pytest.mark.django_db


def _reasons() -> list[str]:
    return [e.data["reason"] for e in AuditEvent.objects.filter(action="accounts.login.failed")]


def test_a_known_identity_signs_in_its_account(
    client: Client, municipality: Municipality, configured: Any, op: FakeProvider
) -> None:
    identity = ExternalIdentityFactory(municipality=municipality, subject="subject-erika")
    response = sign_in(client, op)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(identity.user.pk)
    assert User.objects.count() == 1
    identity.refresh_from_db()
    assert identity.last_login_at is not None


def test_a_signed_in_citizen_steps_up_and_the_identity_is_linked(
    client: Client, municipality: Municipality, configured: Any, op: FakeProvider
) -> None:
    # Given a citizen signed in with a password, with self-declared data
    user = UserFactory(
        municipality=municipality,
        email="e.m@example.org",
        first_name="Eri",
        last_name="Musterfrau",
        city="Bonn",
    )
    client.force_login(user)
    # When she proves who she is with her ID card
    response = sign_in(client, op, query={"level": "3", "next": "/antrag/"})
    # Then the eID identity is hers, the session is "high", and eID data replaces hers
    assert response.status_code == 302
    assert response["Location"] == "/antrag/"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.session[TRUST_KEY]["level"] == 3
    assert ExternalIdentity.objects.get().user == user
    user.refresh_from_db()
    assert (user.first_name, user.last_name, user.city, user.date_of_birth) == (
        "Erika",
        "Mustermann",
        "Köln",
        date(1964, 8, 12),
    )
    assert user.email == "e.m@example.org"  # the sign-in address is never changed
    assert user.email_verified_at is None  # the provider verified another address
    assert User.objects.count() == 1
    updated = AuditEvent.objects.get(action="oidc.profile.updated")
    assert updated.data == {
        "fields": ["first_name", "last_name", "date_of_birth", "street", "postcode", "city"],
        "trust_level": 3,
    }
    assert AuditEvent.objects.filter(action="oidc.identity.linked").count() == 1


def test_an_identity_of_someone_else_is_not_linked(
    client: Client, municipality: Municipality, configured: Any, op: FakeProvider
) -> None:
    owner = ExternalIdentityFactory(municipality=municipality, subject="subject-erika").user
    intruder = UserFactory(municipality=municipality, email="intruder@example.org")
    client.force_login(intruder)
    response = sign_in(client, op, query={"level": "3"})
    assert response.status_code == 403
    assert client.session["_auth_user_id"] == str(intruder.pk)
    assert client.session.get(TRUST_KEY) is None
    assert ExternalIdentity.objects.get().user == owner
    assert _reasons() == ["identity_linked_to_other_user"]
    failed = AuditEvent.objects.get(action="accounts.login.failed")
    assert failed.actor_id == intruder.pk
    assert failed.data["subject"] == "subject-erika"


def test_an_existing_account_is_not_taken_over_by_email(
    client: Client, municipality: Municipality, configured: Any, op: FakeProvider
) -> None:
    existing = UserFactory(municipality=municipality, email="Erika@Example.org")
    response = sign_in(client, op, query={"next": "/x/"})
    assert response.status_code == 403
    assert "/anmelden/?next=%2Fx%2F" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert list(User.objects.all()) == [existing]
    assert ExternalIdentity.objects.count() == 0
    assert _reasons() == ["email_taken"]


@pytest.mark.parametrize(
    "userinfo",
    [
        {k: v for k, v in ERIKA.items() if k != "email"},
        {**ERIKA, "email": "not an address"},
        {**ERIKA, "email": ["erika@example.org"]},
    ],
)
def test_a_new_account_needs_an_email_address(
    client: Client,
    municipality: Municipality,
    configured: Any,
    op: FakeProvider,
    userinfo: dict[str, Any],
) -> None:
    response = sign_in(client, op, userinfo=userinfo)
    assert response.status_code == 403
    assert User.objects.count() == 0
    assert _reasons() == ["email_missing"]


def test_an_unverified_email_is_not_marked_verified(
    client: Client, municipality: Municipality, configured: Any, op: FakeProvider
) -> None:
    assert sign_in(client, op, userinfo={**ERIKA, "email_verified": "true"}).status_code == 302
    assert User.objects.get().email_verified_at is None


def test_a_basic_login_only_fills_empty_fields(
    client: Client, municipality: Municipality, configured: Any, op: FakeProvider
) -> None:
    user = ExternalIdentityFactory(
        municipality=municipality,
        subject="subject-erika",
        user__first_name="Erika",
        user__last_name="Gabler",
        user__city="",
    ).user
    assert sign_in(client, op, acr=None).status_code == 302
    user.refresh_from_db()
    assert (user.last_name, user.city, user.street) == ("Gabler", "Köln", "Heidestraße 17")
    assert client.session[TRUST_KEY]["level"] == 1


def test_hostile_claims_are_cleaned(
    client: Client, municipality: Municipality, configured: Any, op: FakeProvider
) -> None:
    userinfo = {
        "email": "erika@example.org",
        "given_name": "Er\x00ika\n",
        "family_name": "M" * 500,
        "birthdate": "1964-13-45",
        "address": "Heidestraße 17, 51147 Köln",
    }
    assert sign_in(client, op, userinfo=userinfo).status_code == 302
    user = User.objects.get()
    assert user.first_name == "Erika"
    assert user.last_name == "M" * 150
    assert user.date_of_birth is None
    assert (user.street, user.postcode, user.city) == ("", "", "")


def test_an_inactive_account_is_not_signed_in(
    client: Client, municipality: Municipality, configured: Any, op: FakeProvider
) -> None:
    ExternalIdentityFactory(
        municipality=municipality, subject="subject-erika", user__is_active=False
    )
    response = sign_in(client, op)
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
    assert _reasons() == ["inactive"]


def test_a_partial_birthdate_is_ignored(
    client: Client, municipality: Municipality, configured: Any, op: FakeProvider
) -> None:
    assert sign_in(client, op, userinfo={**ERIKA, "birthdate": "1964"}).status_code == 302
    assert User.objects.get().date_of_birth is None
