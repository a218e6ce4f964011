"""Health, readiness, metrics, request ids and structured logs."""

import json
import logging

import pytest
from django.test import Client

from rathaus.core.logging import RequestIdFilter, request_id_var
from rathaus.core.models import Municipality

pytestmark = pytest.mark.django_db


def test_healthz_is_constant(client: Client) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.content) == (200, b"ok")


def test_readyz_reports_every_dependency(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "task_queue": "ok"},
    }


def test_readyz_fails_when_the_cache_is_unreachable(client: Client, settings: object) -> None:
    settings.CACHES = {  # type: ignore[attr-defined]
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            # Port 9 (discard) on loopback: nothing listens there.
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == "error"
    assert response.json()["checks"]["database"] == "ok"


def test_metrics_are_loopback_only_without_a_token(client: Client) -> None:
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    denied = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_ACCEPT="application/json")
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "permission_denied"


def test_metrics_with_a_token_require_it_everywhere(client: Client, settings: object) -> None:
    settings.RATHAUS_METRICS_TOKEN = "s3cret-metrics-token"  # type: ignore[attr-defined]
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    ok = client.get(
        "/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token", REMOTE_ADDR="203.0.113.9"
    )
    assert ok.status_code == 200


def test_metrics_count_requests_by_route(client: Client, municipality: Municipality) -> None:
    client.get("/api/v1/legal-pages/")
    body = client.get("/metrics").content.decode()
    assert 'rathaus_http_requests_total{method="GET",route="api-legal-pages",status="200"}' in body


def test_request_id_is_returned_and_kept_from_the_proxy(client: Client) -> None:
    generated = client.get("/healthz")["X-Request-ID"]
    assert len(generated) == 32
    kept = client.get("/healthz", HTTP_X_REQUEST_ID="lb-0123456789abcdef")
    assert kept["X-Request-ID"] == "lb-0123456789abcdef"
    # A header that could forge log lines is replaced.
    forged = client.get("/healthz", HTTP_X_REQUEST_ID='x" injected\nline')
    assert forged["X-Request-ID"] != 'x" injected\nline'


def test_log_lines_are_json_with_the_request_id() -> None:
    from pythonjsonlogger.json import JsonFormatter

    record = logging.LogRecord("rathaus.request", logging.INFO, __file__, 1, "request", None, None)
    token = request_id_var.set("abc123def456")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = JsonFormatter("%(levelname)s %(name)s %(message)s %(request_id)s").format(record)
    assert json.loads(line) == {
        "levelname": "INFO",
        "name": "rathaus.request",
        "message": "request",
        "request_id": "abc123def456",
    }


def test_proxied_metrics_request_needs_the_token(client: Client) -> None:
    # A reverse proxy on the same machine connects from loopback.
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("203.0.113.5", "", "203.0.113.5"),
        # An untrusted peer's header is ignored.
        ("203.0.113.5", "10.9.9.9", "203.0.113.5"),
        # Behind the trusted balancer: the right-most address it saw.
        ("10.0.0.2", "198.51.100.7", "198.51.100.7"),
        # A client cannot pick its address by prepending one.
        ("10.0.0.2", "1.2.3.4, 198.51.100.7", "198.51.100.7"),
        ("10.0.0.2", "198.51.100.7, 10.0.0.3", "198.51.100.7"),
    ],
)
def test_client_address_looks_through_trusted_proxies(
    rf: object, settings: object, remote: str, forwarded: str, expected: str
) -> None:
    from rathaus.core.http import client_address

    settings.RATHAUS_TRUSTED_PROXIES = ["10.0.0.2", "10.0.0.3"]  # type: ignore[attr-defined]
    request = rf.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)  # type: ignore[attr-defined]
    assert client_address(request) == expected
