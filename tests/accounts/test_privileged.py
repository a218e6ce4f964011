"""Staff with a privileged role need a second factor for the back office."""

import pyotp
import pytest
from django.test import Client

from rathaus.core.models import Municipality
from rathaus.demo.services import DEMO_PASSWORD, DEMO_TOTP_SECRET, demo_load

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db: None) -> Municipality:
    demo_load()
    return Municipality.objects.get(slug="musterstadt")


def test_demo_is_idempotent(demo: Municipality) -> None:
    from rathaus.accounts.models import User
    from rathaus.audit.models import AuditEvent

    users, events = User.objects.count(), AuditEvent.objects.count()
    demo_load()
    assert (User.objects.count(), AuditEvent.objects.count()) == (users, events)


def test_admin_needs_the_code_for_the_back_office(client: Client, demo: Municipality) -> None:
    response = client.post(
        "/anmelden/", {"username": "admin@musterstadt.example", "password": DEMO_PASSWORD}
    )
    assert response["Location"] == "/anmelden/code/"
    client.post("/anmelden/code/", {"code": pyotp.TOTP(DEMO_TOTP_SECRET).now()})
    assert client.get("/verwaltung/gemeinde/").status_code == 200
    assert client.get("/verwaltung/organisation/").status_code == 200


def test_privileged_session_without_second_factor_is_sent_to_set_it_up(
    client: Client, demo: Municipality
) -> None:
    from rathaus.accounts.models import User

    User.objects.filter(email="admin@musterstadt.example").update(
        totp_secret="", totp_confirmed_at=None
    )
    client.post("/anmelden/", {"username": "admin@musterstadt.example", "password": DEMO_PASSWORD})
    response = client.get("/verwaltung/gemeinde/")
    assert response["Location"] == "/konto/sicherheit/?pflicht=1"


def test_password_only_session_of_privileged_staff_must_sign_in_again(
    client: Client, demo: Municipality
) -> None:
    from rathaus.accounts.models import User

    # A session opened with the password only (e.g. before the role was granted)
    client.force_login(User.objects.get(email="admin@musterstadt.example"))
    response = client.get("/verwaltung/organisation/")
    assert response["Location"].startswith("/anmelden/?next=")
    assert "_auth_user_id" not in client.session


def test_ordinary_clerk_needs_no_second_factor(client: Client, demo: Municipality) -> None:
    client.post(
        "/anmelden/", {"username": "redaktion@musterstadt.example", "password": DEMO_PASSWORD}
    )
    assert client.get("/verwaltung/rechtliches/").status_code == 200
    assert client.get("/verwaltung/gemeinde/").status_code == 403
