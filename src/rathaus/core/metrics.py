"""Prometheus metrics. In a multi-process server (gunicorn with several workers) the
``PROMETHEUS_MULTIPROC_DIR`` environment variable makes the samples shared."""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "rathaus_http_requests_total",
    "HTTP requests by method, route and status",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "rathaus_http_request_duration_seconds",
    "HTTP request latency by route",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def observe_request(*, method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method=method, route=route, status=str(status)).inc()
    LATENCY.labels(route=route).observe(seconds)


def exposition() -> tuple[bytes, str]:
    """The current samples in Prometheus' text format."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
