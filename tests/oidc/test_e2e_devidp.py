"""End to end over real HTTP: rathaus as relying party signs in at its own dev IdP.

A stdlib HTTP client plays the browser against the live server; the relying party's
back-channel calls (discovery, token, JWKS, userinfo) go over HTTP to the same server.
"""

import http.cookiejar
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date
from html import unescape
from typing import Any
from urllib.parse import urlencode, urljoin

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import override_settings

from rathaus.accounts.models import User
from rathaus.accounts.trust import SESSION_KEY as TRUST_KEY
from rathaus.audit.models import AuditEvent
from rathaus.core.models import Municipality
from rathaus.oidc.models import ExternalIdentity

pytestmark = pytest.mark.django_db(transaction=True)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Answer:
    status: int
    url: str
    location: str
    body: str


class Browser:
    """Cookies, no automatic redirects: each hop is visible to the test."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )

    def open(self, url: str, data: dict[str, str] | None = None) -> Answer:
        url = urljoin(self.base, url)
        request = urllib.request.Request(  # noqa: S310 - the live test server
            url,
            data=urlencode(data).encode() if data is not None else None,
            headers={"Accept-Language": "en"},
        )
        try:
            response = self.opener.open(request, timeout=20)
        except urllib.error.HTTPError as error:
            response = error
        with response:
            return Answer(
                response.status,
                url,
                response.headers.get("Location", ""),
                response.read().decode(),
            )

    def cookie(self, name: str) -> str:
        return next(cookie.value for cookie in self.cookies if cookie.name == name)  # type: ignore[misc]


def _hidden_fields(page: str) -> dict[str, str]:
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)
    return {name: unescape(value) for name, value in fields}


@override_settings(RATHAUS_DEV_IDP=True, RATHAUS_OIDC_PROVIDERS={})
def test_a_citizen_steps_up_with_erika_and_comes_back_at_level_high(
    live_server: Any, municipality: Municipality
) -> None:
    browser = Browser(live_server.url)
    # The citizen is asked for level "high" and offered the test provider
    step_up = browser.open("/anmelden/vertrauensniveau/?level=3&next=/konto/")
    assert step_up.status == 200
    link = re.search(r'href="(/anmelden/oidc/devidp/[^"]+)"', step_up.body)
    assert link is not None
    # Starting sends the browser to the dev IdP, asking for a fresh login at "high"
    start = browser.open(unescape(link.group(1)))
    assert start.status == 302
    assert start.location.startswith(live_server.url + "/dev-idp/authorize?")
    assert "acr_values=urn%3Arathaus%3Aloa%3Ahigh" in start.location
    # The dev IdP shows its warning and the test people
    authorize = browser.open(start.location)
    assert authorize.status == 200
    assert "test identity provider \N{EN DASH} not for real sign-ins" in authorize.body
    # Choosing Erika (eID) returns a code to rathaus
    chosen = browser.open(
        "/dev-idp/authorize", {**_hidden_fields(authorize.body), "persona": "erika"}
    )
    assert chosen.status == 302
    assert chosen.location.startswith(live_server.url + "/anmelden/oidc/devidp/callback/?code=")
    # rathaus redeems it over HTTP and signs her in
    done = browser.open(chosen.location)
    assert (done.status, done.location) == (302, "/konto/"), done.body
    user = User.objects.get()
    assert (user.municipality, user.email, user.first_name, user.last_name) == (
        municipality,
        "erika.mustermann@example.org",
        "Erika",
        "Mustermann",
    )
    assert (user.date_of_birth, user.street, user.postcode, user.city) == (
        date(1964, 8, 12),
        "Heidestraße 17",
        "51147",
        "Köln",
    )
    assert user.email_verified_at is not None
    assert ExternalIdentity.objects.get().subject == "devidp-7c1e5b2a-erika"
    session = SessionStore(session_key=browser.cookie("sessionid"))
    assert session["_auth_user_id"] == str(user.pk)
    assert session[TRUST_KEY]["level"] == 3
    assert session[TRUST_KEY]["method"] == "oidc:devidp"
    login = AuditEvent.objects.get(action="accounts.login.succeeded")
    assert (login.actor_id, login.data) == (user.pk, {"method": "oidc:devidp", "trust_level": 3})
    # The same callback cannot be used twice
    assert browser.open(chosen.location).status == 400


@override_settings(RATHAUS_DEV_IDP=True, RATHAUS_OIDC_PROVIDERS={})
def test_a_basic_persona_cannot_satisfy_a_step_up_to_high(
    live_server: Any, municipality: Municipality
) -> None:
    browser = Browser(live_server.url)
    start = browser.open("/anmelden/oidc/devidp/?level=3&next=/konto/")
    authorize = browser.open(start.location)
    chosen = browser.open(
        "/dev-idp/authorize", {**_hidden_fields(authorize.body), "persona": "anna"}
    )
    refused = browser.open(chosen.location)
    assert refused.status == 403
    assert "needed" in refused.body
    assert User.objects.count() == 0
    failed = AuditEvent.objects.get(action="accounts.login.failed")
    assert failed.data == {
        "method": "oidc:devidp",
        "reason": "level_too_low",
        "subject": "devidp-b2e86c07-anna",
    }
