"""Single sign-on for staff: only existing staff of this municipality, never created."""

from typing import Any

import pytest
from django.test import Client

from rathaus.accounts.models import User
from rathaus.accounts.trust import SESSION_KEY as TRUST_KEY
from rathaus.audit.models import AuditEvent
from rathaus.core.models import Municipality
from rathaus.oidc.models import ExternalIdentity
from tests.factories import StaffFactory, UserFactory
from tests.oidc.factories import ExternalIdentityFactory
from tests.oidc.fake_provider import FakeProvider
from tests.oidc.helpers import sign_in

pytestmark = pytest.mark.django_db

CLERK = {"email": "p.amt@musterstadt.example", "email_verified": True, "given_name": "Petra"}


def _sso(client: Client, op: FakeProvider, userinfo: dict[str, Any] = CLERK, **claims: Any) -> Any:
    return sign_in(
        client,
        op,
        "staff-sso",
        query={"next": "/verwaltung/"},
        userinfo=userinfo,
        sub="staff-42",
        **claims,
    )


def _reasons() -> list[str]:
    return [e.data["reason"] for e in AuditEvent.objects.filter(action="accounts.login.failed")]


def test_staff_sign_in_by_verified_email_and_then_by_identity(
    client: Client, municipality: Municipality, configured: Any, op: FakeProvider
) -> None:
    clerk = StaffFactory(municipality=municipality, email="P.Amt@musterstadt.example")
    # First sign-in: found by verified e-mail, identity linked
    response = _sso(client, op)
    assert response.status_code == 302
    assert response["Location"] == "/verwaltung/"
    assert client.session["_auth_user_id"] == str(clerk.pk)
    assert client.session[TRUST_KEY] | {"at": None} == {
        "level": 2,
        "method": "oidc:staff-sso",
        "at": None,
    }
    assert ExternalIdentity.objects.get().user == clerk
    # Later: the identity is enough, even after the address changed at the provider
    client.logout()
    response = _sso(client, op, userinfo={"email": "petra@elsewhere.example"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(clerk.pk)
    assert User.objects.count() == 1
    clerk.refresh_from_db()
    assert clerk.email == "P.Amt@musterstadt.example"


@pytest.mark.parametrize(
    "userinfo",
    [
        {**CLERK, "email_verified": False},
        {k: v for k, v in CLERK.items() if k != "email_verified"},
        {**CLERK, "email": "nobody@musterstadt.example"},
        {"email_verified": True},
    ],
)
def test_staff_sign_in_without_a_matching_verified_account_is_refused(
    client: Client,
    municipality: Municipality,
    configured: Any,
    op: FakeProvider,
    userinfo: dict[str, Any],
) -> None:
    StaffFactory(municipality=municipality, email="p.amt@musterstadt.example")
    response = _sso(client, op, userinfo=userinfo)
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
    assert ExternalIdentity.objects.count() == 0
    assert User.objects.count() == 1
    assert _reasons() == ["no_staff_account"]


def test_staff_accounts_are_never_created(
    client: Client, municipality: Municipality, configured: Any, op: FakeProvider
) -> None:
    assert _sso(client, op).status_code == 403
    assert User.objects.count() == 0


def test_a_citizen_with_the_same_email_is_not_staff(
    client: Client, municipality: Municipality, configured: Any, op: FakeProvider
) -> None:
    UserFactory(municipality=municipality, email="p.amt@musterstadt.example")
    assert _sso(client, op).status_code == 403
    assert "_auth_user_id" not in client.session


def test_staff_of_another_municipality_is_refused(
    client: Client,
    municipality: Municipality,
    other_municipality: Municipality,
    configured: Any,
    op: FakeProvider,
) -> None:
    StaffFactory(municipality=other_municipality, email="p.amt@musterstadt.example")
    assert _sso(client, op).status_code == 403
    assert "_auth_user_id" not in client.session
    assert ExternalIdentity.objects.count() == 0


@pytest.mark.parametrize("change", [{"is_staff": False}, {"is_active": False}])
def test_a_linked_account_that_is_no_longer_staff_is_refused(
    client: Client,
    municipality: Municipality,
    configured: Any,
    op: FakeProvider,
    change: dict[str, bool],
) -> None:
    identity = ExternalIdentityFactory(
        municipality=municipality, provider="staff-sso", subject="staff-42", user__is_staff=True
    )
    User.objects.filter(pk=identity.user.pk).update(**change)
    assert _sso(client, op).status_code == 403
    assert "_auth_user_id" not in client.session
    assert _reasons() == ["no_staff_account"]


def test_the_login_page_offers_staff_sign_in_separately(
    client: Client, municipality: Municipality, configured: Any
) -> None:
    from django.template import Context, Template
    from django.test import RequestFactory

    request = RequestFactory().get("/anmelden/")
    request.municipality = municipality  # type: ignore[attr-defined]
    html = Template('{% include "oidc/_login_options.html" %}').render(
        Context({"request": request, "next": "/verwaltung/"})
    )
    citizens, staff = html.split('id="oidc-staff-heading"')
    assert 'href="/anmelden/oidc/ext/?next=%2Fverwaltung%2F"' in citizens
    assert 'href="/anmelden/oidc/pw/?next=%2Fverwaltung%2F"' in citizens
    assert "staff-sso" not in citizens
    assert 'href="/anmelden/oidc/staff-sso/?next=%2Fverwaltung%2F"' in staff
