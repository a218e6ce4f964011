"""ID token validation, discovery and key handling against a provider on loopback.

Keys are generated in the test; tokens are signed for real. No database is needed.
"""

import base64
import hashlib
import hmac
import json
import socket
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from rathaus.oidc import protocol
from rathaus.oidc.config import ProviderConfig, providers
from rathaus.oidc.protocol import InvalidResponse, ProviderUnavailable
from tests.oidc.fake_provider import CLIENT_ID, FakeProvider, public_jwk

NONCE = "n-0123456789"


@pytest.fixture
def ext(configured: dict[str, Any]) -> ProviderConfig:
    return providers()["ext"]


def _validate(op: FakeProvider, ext: ProviderConfig, token: str, nonce: str = NONCE) -> Any:
    found = protocol.discovery(ext)
    return protocol.id_token_validate(ext, found, id_token=token, nonce=nonce)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return ".".join(
        [_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()), _b64(signature)]
    )


def test_a_correct_rs256_token_gives_its_claims(op: FakeProvider, ext: ProviderConfig) -> None:
    claims = _validate(op, ext, op.sign(op.claims(nonce=NONCE)))
    assert (claims["sub"], claims["acr"], claims["aud"]) == (
        "subject-erika",
        "urn:eid:high",
        CLIENT_ID,
    )


def test_a_correct_es256_token_gives_its_claims(
    op: FakeProvider, ext: ProviderConfig, ec_key: Any
) -> None:
    op.published.append(public_jwk(ec_key, "ec-1"))
    claims = _validate(op, ext, op.sign(op.claims(nonce=NONCE), key=ec_key, kid="ec-1"))
    assert claims["sub"] == "subject-erika"


def _at_run_time(overrides: dict[str, Any]) -> dict[str, Any]:
    now = int(time.time())
    return {
        key: now + value[1] if isinstance(value, tuple) and value[:1] == ("now",) else value
        for key, value in overrides.items()
    }


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"iss": "https://evil.example"}, "id_token_issuer"),
        ({"aud": "another-client"}, "id_token_audience"),
        ({"aud": [CLIENT_ID, "another-client"]}, "id_token_azp"),
        ({"azp": "another-client"}, "id_token_azp"),
        # Times relative to the moment the test runs (see _at_run_time), not to collection:
        # the suite takes longer than these offsets.
        ({"exp": ("now", -120)}, "id_token_expired"),
        ({"iat": ("now", 600)}, "id_token_iat"),
        ({"iat": ("now", -3600)}, "id_token_iat"),
        ({"nonce": "another-nonce"}, "id_token_nonce"),
        ({"nonce": None}, "id_token_nonce"),
        ({"sub": None}, "id_token_claim_missing"),
        ({"exp": None}, "id_token_claim_missing"),
        ({"sub": "x" * 256}, "id_token_subject"),
    ],
)
def test_wrong_claims_are_refused(
    op: FakeProvider, ext: ProviderConfig, overrides: dict[str, Any], reason: str
) -> None:
    overrides = _at_run_time(overrides)
    with pytest.raises(InvalidResponse) as failure:
        _validate(op, ext, op.sign(op.claims(**{"nonce": NONCE, **overrides})))
    assert failure.value.reason == reason


def test_several_audiences_with_our_azp_are_accepted(op: FakeProvider, ext: ProviderConfig) -> None:
    token = op.sign(op.claims(nonce=NONCE, aud=[CLIENT_ID, "other"], azp=CLIENT_ID))
    assert _validate(op, ext, token)["azp"] == CLIENT_ID


def test_clock_skew_within_the_leeway_is_accepted(op: FakeProvider, ext: ProviderConfig) -> None:
    token = op.sign(op.claims(nonce=NONCE, exp=int(time.time()) - 30))
    assert _validate(op, ext, token)["sub"] == "subject-erika"


def test_a_signature_by_another_key_under_the_same_kid_is_refused(
    op: FakeProvider, ext: ProviderConfig, other_rsa_key: Any
) -> None:
    token = op.sign(op.claims(nonce=NONCE), key=other_rsa_key, kid="key-1")
    with pytest.raises(InvalidResponse) as failure:
        _validate(op, ext, token)
    assert failure.value.reason == "id_token_signature"


def test_a_tampered_payload_is_refused(op: FakeProvider, ext: ProviderConfig) -> None:
    header, _payload, signature = op.sign(op.claims(nonce=NONCE)).split(".")
    forged = _b64(json.dumps(op.claims(nonce=NONCE, sub="someone-else")).encode())
    with pytest.raises(InvalidResponse) as failure:
        _validate(op, ext, f"{header}.{forged}.{signature}")
    assert failure.value.reason == "id_token_signature"


def test_alg_none_is_refused(op: FakeProvider, ext: ProviderConfig) -> None:
    token = _unsigned({"alg": "none", "kid": "key-1"}, op.claims(nonce=NONCE))
    with pytest.raises(InvalidResponse) as failure:
        _validate(op, ext, token)
    assert failure.value.reason == "id_token_algorithm"


def test_hs256_signed_with_the_public_key_is_refused(
    op: FakeProvider, ext: ProviderConfig, rsa_key: Any
) -> None:
    # The classic confusion attack: the public key, known to all, used as an HMAC secret.
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64(json.dumps({"alg": "HS256", "kid": "key-1"}).encode())
    payload = _b64(json.dumps(op.claims(nonce=NONCE)).encode())
    mac = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    with pytest.raises(InvalidResponse) as failure:
        _validate(op, ext, f"{header}.{payload}.{_b64(mac)}")
    assert failure.value.reason == "id_token_algorithm"


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "x" * 20000, 42, None])
def test_malformed_tokens_are_refused(op: FakeProvider, ext: ProviderConfig, token: Any) -> None:
    with pytest.raises(InvalidResponse) as failure:
        _validate(op, ext, token)
    assert failure.value.reason == "id_token_malformed"


def test_an_es256_header_with_an_rsa_key_id_is_refused(
    op: FakeProvider, ext: ProviderConfig, ec_key: Any
) -> None:
    # kid "key-1" is an RSA key: an ES256 token cannot name it.
    token = op.sign(op.claims(nonce=NONCE), key=ec_key, kid="key-1")
    with pytest.raises(InvalidResponse) as failure:
        _validate(op, ext, token)
    assert failure.value.reason == "id_token_unknown_key"


def test_an_unknown_kid_fetches_the_keys_once_more(
    op: FakeProvider, ext: ProviderConfig, other_rsa_key: Any
) -> None:
    # Given keys cached before the provider rotated to key-2
    _validate(op, ext, op.sign(op.claims(nonce=NONCE)))
    assert op.fetches("/jwks") == 1
    op.published = [public_jwk(other_rsa_key, "key-2")]
    # When a token signed with the new key arrives
    claims = _validate(op, ext, op.sign(op.claims(nonce=NONCE), key=other_rsa_key, kid="key-2"))
    # Then the key set was fetched again, once, and the token accepted
    assert claims["sub"] == "subject-erika"
    assert op.fetches("/jwks") == 2


def test_a_kid_unknown_after_the_refetch_is_refused_without_hammering(
    op: FakeProvider, ext: ProviderConfig, other_rsa_key: Any
) -> None:
    _validate(op, ext, op.sign(op.claims(nonce=NONCE)))
    token = op.sign(op.claims(nonce=NONCE), key=other_rsa_key, kid="nobody-knows")
    for _attempt in range(3):
        with pytest.raises(InvalidResponse) as failure:
            _validate(op, ext, token)
        assert failure.value.reason == "id_token_unknown_key"
    # One fetch for the first token, one forced refetch; no more within the interval.
    assert op.fetches("/jwks") == 2


def test_discovery_and_keys_are_cached(op: FakeProvider, ext: ProviderConfig) -> None:
    for _attempt in range(3):
        _validate(op, ext, op.sign(op.claims(nonce=NONCE)))
    assert op.fetches("/.well-known/openid-configuration") == 1
    assert op.fetches("/jwks") == 1


def test_a_discovery_document_naming_another_issuer_is_refused(
    op: FakeProvider, ext: ProviderConfig
) -> None:
    op.discovery_extra = {"issuer": "https://evil.example"}
    with pytest.raises(ProviderUnavailable) as failure:
        protocol.discovery(ext)
    assert failure.value.reason == "discovery_issuer_mismatch"


@pytest.mark.parametrize(
    "endpoint",
    ["http://evil.example/token", "file:///etc/passwd", "ftp://x/token", "", None, 42],
)
def test_discovery_with_an_unsafe_endpoint_is_refused(
    op: FakeProvider, ext: ProviderConfig, endpoint: Any
) -> None:
    op.discovery_extra = {"token_endpoint": endpoint}
    with pytest.raises(ProviderUnavailable) as failure:
        protocol.discovery(ext)
    assert failure.value.reason == "discovery_invalid"


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ((500, b"oops", {}), "discovery_failed"),
        ((302, b"", {"Location": "https://evil.example/"}), "discovery_failed"),
        ((200, b"not json", {}), "discovery_invalid"),
        ((200, b"[1, 2]", {}), "discovery_invalid"),
        ((200, b" " * (protocol.MAX_RESPONSE_BYTES + 1), {}), "response_too_large"),
    ],
)
def test_broken_discovery_answers_are_refused(
    op: FakeProvider, ext: ProviderConfig, answer: Any, reason: str
) -> None:
    op.answers["/.well-known/openid-configuration"] = answer
    with pytest.raises(ProviderUnavailable) as failure:
        protocol.discovery(ext)
    assert failure.value.reason == reason
    assert op.fetches("/.well-known/openid-configuration") == 1  # no redirect followed


@pytest.mark.parametrize(
    "answer", [(500, b"", {}), (200, b'{"keys": "none"}', {}), (200, b'{"keys": [1]}', {})]
)
def test_broken_key_sets_are_refused(op: FakeProvider, ext: ProviderConfig, answer: Any) -> None:
    op.answers["/jwks"] = answer
    with pytest.raises(ProviderUnavailable):
        _validate(op, ext, op.sign(op.claims(nonce=NONCE)))


def test_an_unreachable_provider_is_reported(settings: Any, configured: dict[str, Any]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.RATHAUS_OIDC_PROVIDERS = {
        "ext": {**configured["ext"], "issuer": f"http://127.0.0.1:{port}"}
    }
    with pytest.raises(ProviderUnavailable) as failure:
        protocol.discovery(providers()["ext"])
    assert failure.value.reason == "unreachable"


def test_a_slow_provider_times_out(
    op: FakeProvider, ext: ProviderConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(protocol, "HTTP_TIMEOUT", 0.2)
    op.delay = 1.0
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable) as failure:
        protocol.discovery(ext)
    assert failure.value.reason == "unreachable"
    assert time.monotonic() - started < 1.0


def test_localhost_subdomains_are_reached_on_loopback(op: FakeProvider) -> None:
    # The demo's tenants live at <slug>.localhost, which the system may not resolve.
    port = op.issuer.rsplit(":", 1)[1]
    status, _body = protocol.http_fetch(
        f"http://beispielheim.localhost:{port}/.well-known/openid-configuration"
    )
    assert status == 200
    assert op.requests[-1][2]["Host"] == f"beispielheim.localhost:{port}"


@pytest.mark.parametrize(
    "url", ["http://example.org/x", "file:///etc/passwd", "https://user:pw@example.org/"]
)
def test_only_https_or_loopback_urls_are_fetched(url: str) -> None:
    with pytest.raises(ProviderUnavailable) as failure:
        protocol.http_fetch(url)
    assert failure.value.reason == "insecure_url"
