"""Minimum trust levels: the view decorator, the service check and the step-up page."""

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.http import HttpRequest, HttpResponse
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.utils import translation

from rathaus.accounts.trust import TrustLevel, session_trust_set
from rathaus.core.errors import ApplicationError
from rathaus.core.models import Municipality
from rathaus.oidc.decorators import trust_required
from rathaus.oidc.trust import TrustLevelTooLow, trust_require
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


@trust_required(TrustLevel.HIGH)
def _protected(request: HttpRequest) -> HttpResponse:
    return HttpResponse("secret")


def _request(user: Any, level: TrustLevel | None) -> HttpRequest:
    request = RequestFactory().get("/antrag/?id=7")
    request.user = user
    request.session = SessionStore()
    if level is not None:
        session_trust_set(request, level=level, method="test")
    return request


def test_anonymous_visitors_are_sent_to_the_login_page(municipality: Municipality) -> None:
    response = _protected(_request(AnonymousUser(), None))
    assert response.status_code == 302
    assert response["Location"] == "/anmelden/?next=/antrag/%3Fid%3D7"


@pytest.mark.parametrize("level", [None, TrustLevel.BASIC, TrustLevel.SUBSTANTIAL])
def test_a_lower_session_is_sent_to_the_step_up_page(
    municipality: Municipality, level: TrustLevel | None
) -> None:
    response = _protected(_request(UserFactory(municipality=municipality), level))
    assert response.status_code == 302
    assert response["Location"] == "/anmelden/vertrauensniveau/?level=3&next=%2Fantrag%2F%3Fid%3D7"


def test_a_session_at_the_level_gets_the_view(municipality: Municipality) -> None:
    response = _protected(_request(UserFactory(municipality=municipality), TrustLevel.HIGH))
    assert (response.status_code, response.content) == (200, b"secret")


def test_trust_require_for_services_and_apis() -> None:
    trust_require(request_level=TrustLevel.HIGH, required=TrustLevel.HIGH)
    trust_require(request_level=TrustLevel.HIGH, required=TrustLevel.SUBSTANTIAL)
    with pytest.raises(TrustLevelTooLow) as failure:
        trust_require(request_level=TrustLevel.BASIC, required=TrustLevel.SUBSTANTIAL)
    error = failure.value
    assert isinstance(error, ApplicationError)
    assert (error.status, error.code) == (403, "trust_level_too_low")
    assert (error.required, error.current) == (TrustLevel.SUBSTANTIAL, TrustLevel.BASIC)
    with pytest.raises(TrustLevelTooLow):
        trust_require(request_level=TrustLevel.NONE, required=TrustLevel.BASIC)


# --- the step-up page ------------------------------------------------------------------


def test_the_step_up_page_lists_the_providers_that_reach_the_level(
    client: Client, municipality: Municipality, configured: Any, settings: Any
) -> None:
    settings.RATHAUS_DEV_IDP = True
    client.force_login(UserFactory(municipality=municipality))
    response = client.get(
        "/anmelden/vertrauensniveau/", {"level": "3", "next": "/antrag/"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count("<h1>") == 1
    assert "trust level “high”" in page
    assert "signed in at the level “basic”" in page
    assert 'href="/anmelden/oidc/ext/?level=3&amp;next=%2Fantrag%2F"' in page
    assert 'href="/anmelden/oidc/devidp/?level=3&amp;next=%2Fantrag%2F"' in page
    assert "Test only" in page
    assert "/anmelden/oidc/pw/" not in page  # basic only
    assert "/anmelden/oidc/staff-sso/" not in page  # staff only, fixed at substantial


def test_staff_see_their_sso_on_the_step_up_page(
    client: Client, municipality: Municipality, configured: Any
) -> None:
    client.force_login(StaffFactory(municipality=municipality))
    page = client.get("/anmelden/vertrauensniveau/", {"level": "2"}).content.decode()
    assert 'href="/anmelden/oidc/staff-sso/?level=2"' in page


def test_the_step_up_page_says_when_nothing_reaches_the_level(
    client: Client, municipality: Municipality, settings: Any
) -> None:
    settings.RATHAUS_OIDC_PROVIDERS = {}
    settings.RATHAUS_DEV_IDP = False
    response = client.get("/anmelden/vertrauensniveau/", {"level": "3"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "No sign-in method for this trust level is available" in response.content.decode()


def test_a_session_already_at_the_level_goes_on(
    client: Client, municipality: Municipality, configured: Any
) -> None:
    client.force_login(UserFactory(municipality=municipality))
    response = client.get("/anmelden/vertrauensniveau/", {"level": "1", "next": "/antrag/"})
    assert (response.status_code, response["Location"]) == (302, "/antrag/")


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"level": "0"},
        {"level": "9"},
        {"level": "x" * 5000},
        {"level": "3", "next": "https://evil.example/"},
        {"level": "3", "next": "//evil.example/"},
    ],
)
def test_the_step_up_page_refuses_bad_parameters(
    client: Client, municipality: Municipality, configured: Any, query: dict[str, str]
) -> None:
    assert client.get("/anmelden/vertrauensniveau/", query).status_code == 400


def test_the_step_up_page_only_answers_get(
    client: Client, municipality: Municipality, configured: Any
) -> None:
    assert client.post("/anmelden/vertrauensniveau/?level=3").status_code == 405


# --- the login page fragment -----------------------------------------------------------


def _fragment(municipality: Municipality | None, next_url: str = "") -> str:
    request = RequestFactory().get("/anmelden/")
    request.municipality = municipality  # type: ignore[attr-defined]
    with translation.override("en"):
        return Template('{% include "oidc/_login_options.html" %}').render(
            Context({"request": request, "next": next_url})
        )


def test_the_login_fragment_marks_the_dev_idp_as_a_test(
    municipality: Municipality, configured: Any, settings: Any
) -> None:
    settings.RATHAUS_DEV_IDP = True
    html = _fragment(municipality, "/antrag/")
    assert 'href="/anmelden/oidc/devidp/?next=%2Fantrag%2F"' in html
    assert "TEST identity provider (not for real sign-ins)" in html
    assert html.count("Test only") == 1


def test_the_login_fragment_drops_a_next_that_is_not_a_path(
    municipality: Municipality, configured: Any
) -> None:
    html = _fragment(municipality, "https://evil.example/")
    assert 'href="/anmelden/oidc/ext/"' in html
    assert "evil" not in html


def test_the_login_fragment_is_empty_without_providers(
    municipality: Municipality, settings: Any
) -> None:
    settings.RATHAUS_OIDC_PROVIDERS = {}
    settings.RATHAUS_DEV_IDP = False
    assert _fragment(municipality).strip() == ""


def test_a_broken_configuration_does_not_break_the_login_page(
    municipality: Municipality, settings: Any
) -> None:
    settings.RATHAUS_OIDC_PROVIDERS = {"ext": {"label": "x"}}
    assert _fragment(municipality).strip() == ""
