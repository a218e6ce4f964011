"""RATHAUS_OIDC_PROVIDERS: the typed loader and the startup check's messages."""

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import RequestFactory

from rathaus.accounts.trust import TrustLevel
from rathaus.oidc.checks import oidc_providers_valid
from rathaus.oidc.config import provider_errors, providers, url_allowed

GOOD = {
    "label": "BundID",
    "issuer": "https://id.bund.example",
    "client_id": "rathaus",
    "client_secret": "secret",
}


def test_a_minimal_provider_gets_the_defaults(settings: Any) -> None:
    settings.RATHAUS_OIDC_PROVIDERS = {"bundid": GOOD}
    settings.RATHAUS_DEV_IDP = False
    config = providers()["bundid"]
    assert config.scopes == ("openid", "profile", "email", "address")
    assert config.audience == "citizens"
    assert config.claims["city"] == "address.locality"
    assert config.max_level == TrustLevel.BASIC
    assert config.userinfo is True
    assert config.is_test is False


def test_acr_mapping(settings: Any) -> None:
    settings.RATHAUS_OIDC_PROVIDERS = {
        "bundid": {
            **GOOD,
            "trust": {"claim": "acr", "values": {"eid": 3, "elster": 2}, "default": 1},
        }
    }
    config = providers()["bundid"]
    assert config.max_level == TrustLevel.HIGH
    assert config.level_of({"acr": "eid"}) == TrustLevel.HIGH
    assert config.level_of({"acr": "elster"}) == TrustLevel.SUBSTANTIAL
    assert config.level_of({"acr": ["eid"]}) == TrustLevel.BASIC
    assert config.level_of({}) == TrustLevel.BASIC
    assert config.acr_values_for(TrustLevel.SUBSTANTIAL) == ["eid", "elster"]
    assert config.acr_values_for(TrustLevel.HIGH) == ["eid"]


def test_the_dev_idp_is_added_per_request_host(settings: Any) -> None:
    settings.RATHAUS_OIDC_PROVIDERS = {}
    settings.RATHAUS_DEV_IDP = True
    request = RequestFactory().get("/", HTTP_HOST="beispielheim.localhost:8000")
    config = providers(request)["devidp"]
    assert config.issuer == "http://beispielheim.localhost:8000/dev-idp"
    assert config.is_test
    assert config.max_level == TrustLevel.HIGH
    assert "devidp" not in providers()  # without a request there is no origin
    settings.RATHAUS_DEV_IDP = False
    assert "devidp" not in providers(request)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ([], "must be a dict"),
        ({"Bund ID": GOOD}, "lower-case letters"),
        ({"bundid": "https://id.example"}, "must be an object"),
        ({"bundid": {**GOOD, "secret": "x"}}, "unknown keys ['secret']"),
        ({"bundid": {**GOOD, "client_secret": ""}}, '"client_secret" is required'),
        ({"bundid": {k: v for k, v in GOOD.items() if k != "label"}}, '"label" is required'),
        ({"bundid": {**GOOD, "issuer": "http://id.bund.example"}}, "must be an https:// URL"),
        ({"bundid": {**GOOD, "scopes": ["profile"]}}, 'including "openid"'),
        ({"bundid": {**GOOD, "scopes": "openid"}}, 'including "openid"'),
        ({"bundid": {**GOOD, "audience": "everyone"}}, '"audience" must be'),
        ({"bundid": {**GOOD, "claims": {"shoe_size": "x", "email": "email"}}}, "unknown fields"),
        ({"bundid": {**GOOD, "claims": {"first_name": "given_name"}}}, 'must map "email"'),
        ({"bundid": {**GOOD, "claims": {"email": 5}}}, "claim names like"),
        ({"bundid": {**GOOD, "trust": 3}}, '"trust" must be an object'),
        ({"bundid": {**GOOD, "trust": {"fixed": 4}}}, '"trust.fixed" must be 1'),
        ({"bundid": {**GOOD, "trust": {"fixed": True}}}, '"trust.fixed" must be 1'),
        ({"bundid": {**GOOD, "trust": {"fixed": [3]}}}, '"trust.fixed" must be 1'),
        ({"bundid": {**GOOD, "trust": {"fixed": 3, "claim": "acr"}}}, "takes no other keys"),
        ({"bundid": {**GOOD, "trust": {"values": {"x": 3}}}}, '"trust.claim" must name'),
        ({"bundid": {**GOOD, "trust": {"claim": "acr", "values": {}}}}, '"trust.values" must'),
        (
            {"bundid": {**GOOD, "trust": {"claim": "acr", "values": {"x": 5}}}},
            '"trust.values" must',
        ),
        (
            {"bundid": {**GOOD, "trust": {"claim": "acr", "values": {"x": 3}, "default": 0}}},
            '"trust.default" must',
        ),
        ({"bundid": {**GOOD, "userinfo": "yes"}}, '"userinfo" must be true or false'),
    ],
)
def test_each_mistake_has_a_clear_message(setting: Any, message: str, settings: Any) -> None:
    settings.RATHAUS_DEV_IDP = False
    errors = provider_errors(setting)
    assert len(errors) == 1, errors
    assert message in errors[0]
    settings.RATHAUS_OIDC_PROVIDERS = setting
    with pytest.raises(ImproperlyConfigured):
        providers()
    assert [m.id for m in oidc_providers_valid(None)] == ["rathaus_oidc.E001"]


def test_the_dev_idp_name_is_reserved_while_it_is_on(settings: Any) -> None:
    settings.RATHAUS_DEV_IDP = True
    assert "reserved" in provider_errors({"devidp": GOOD})[0]
    settings.RATHAUS_DEV_IDP = False
    assert provider_errors({"devidp": GOOD}) == []


def test_the_system_check_stops_manage_commands(settings: Any) -> None:
    settings.RATHAUS_OIDC_PROVIDERS = {"bundid": {**GOOD, "issuer": "http://x.example"}}
    with pytest.raises(SystemCheckError, match=r"rathaus_oidc\.E001"):
        call_command("check")


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://id.example/realms/x", True),
        ("http://localhost:8000/dev-idp", True),
        ("http://musterstadt.localhost/dev-idp", True),
        ("http://127.0.0.1:9000", True),
        ("http://[::1]:9000", True),
        ("http://id.example", False),
        ("http://localhost.evil.example", False),
        ("https://user:pw@id.example", False),
        ("https://id.example:99999", False),
        ("https://id.example/#frag", False),
        ("file:///etc/passwd", False),
        ("", False),
    ],
)
def test_url_allowed(url: str, allowed: bool) -> None:
    assert url_allowed(url) is allowed
