"""An external OpenID Connect provider on loopback, driven by the test.

Real HTTP, real signatures: only the decisions a provider makes (which key, which
claims, which answer) are the test's. Like the SMTP sink, it stands in for a party
outside the municipality.
"""

import base64
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

CLIENT_ID = "rathaus-musterstadt"
CLIENT_SECRET = "s3cret:with spaces&symbols"


def public_jwk(key: Any, kid: str) -> dict[str, Any]:
    """The public JWK of a private key, with ``kid``."""
    if isinstance(key, rsa.RSAPrivateKey):
        jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        jwk["alg"] = "RS256"
    else:
        jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
        jwk["alg"] = "ES256"
    return {**jwk, "kid": kid, "use": "sig"}


@dataclass
class Grant:
    nonce: str
    claims: dict[str, Any]
    userinfo: dict[str, Any] | None


@dataclass
class FakeProvider:
    issuer: str
    key: Any
    kid: str
    published: list[dict[str, Any]]
    grants: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, Grant] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str], str]] = field(default_factory=list)
    # Replace a whole endpoint: path -> (status, body, headers)
    answers: dict[str, tuple[int, bytes, dict[str, str]]] = field(default_factory=dict)
    discovery_extra: dict[str, Any] = field(default_factory=dict)
    # Runs before keys are served: lets a test rotate keys between fetches.
    on_jwks: Callable[["FakeProvider"], None] | None = None
    delay: float = 0.0

    def fetches(self, path: str) -> int:
        return sum(1 for _method, seen, _h, _b in self.requests if seen == path)

    def sign(self, claims: dict[str, Any], *, key: Any = None, kid: str | None = None) -> str:
        key = key or self.key
        algorithm = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
        return jwt.encode(
            claims, key, algorithm=algorithm, headers={"kid": kid if kid is not None else self.kid}
        )

    def claims(self, *, nonce: str, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": "subject-erika",
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "acr": "urn:eid:high",
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def grant(
        self,
        *,
        nonce: str,
        userinfo: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """Authorise a sign-in: returns the code the browser brings back."""
        code = secrets.token_urlsafe(16)
        self.grants[code] = Grant(
            nonce=nonce, claims=self.claims(nonce=nonce, **claims), userinfo=userinfo
        )
        return code


class _Handler(BaseHTTPRequestHandler):
    provider: FakeProvider

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        provider = self.provider
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        provider.requests.append((method, path, dict(self.headers.items()), body))
        if provider.delay:
            time.sleep(provider.delay)
        if path in provider.answers:
            status, data, headers = provider.answers[path]
            self._send(status, data, headers)
        elif path == "/.well-known/openid-configuration":
            self._send(
                200,
                {
                    "issuer": provider.issuer,
                    "authorization_endpoint": provider.issuer + "/authorize?tenant=x",
                    "token_endpoint": provider.issuer + "/token",
                    "jwks_uri": provider.issuer + "/jwks",
                    "userinfo_endpoint": provider.issuer + "/userinfo",
                    **provider.discovery_extra,
                },
            )
        elif path == "/jwks":
            if provider.on_jwks:
                provider.on_jwks(provider)
            self._send(200, {"keys": provider.published})
        elif path == "/token" and method == "POST":
            self._token(body)
        elif path == "/userinfo":
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            grant = provider.tokens.get(token)
            if grant is None:
                self._send(401, {"error": "invalid_token"})
                return
            info = grant.userinfo if grant.userinfo is not None else {}
            self._send(200, {"sub": grant.claims.get("sub"), **info})
        else:
            self._send(404, {"error": "not_found"})

    def _token(self, body: str) -> None:
        provider = self.provider
        auth = self.headers.get("Authorization", "")
        expected = base64.b64encode(b"rathaus-musterstadt:s3cret%3Awith+spaces%26symbols").decode()
        if auth != f"Basic {expected}":
            self._send(401, {"error": "invalid_client"})
            return
        form = parse_qs(body)
        code = form.get("code", [""])[0]
        grant = provider.grants.pop(code, None)
        if grant is None:
            self._send(400, {"error": "invalid_grant"})
            return
        access_token = "at-" + secrets.token_urlsafe(8)
        provider.tokens[access_token] = grant
        self._send(
            200,
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "id_token": provider.sign(grant.claims),
            },
        )

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (the timeout test) is expected; stay quiet about it.
        pass


@contextmanager
def fake_provider(rsa_key: Any, *, kid: str = "key-1") -> Iterator[FakeProvider]:
    """Serve a provider on a free loopback port until the block ends."""
    server = _Server(("127.0.0.1", 0), _Handler)
    issuer = f"http://127.0.0.1:{server.server_address[1]}"
    provider = FakeProvider(
        issuer=issuer, key=rsa_key, kid=kid, published=[public_jwk(rsa_key, kid)]
    )
    server.RequestHandlerClass = type("Handler", (_Handler,), {"provider": provider})
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def new_ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())
