"""Production runs cache, sessions and (to scale out) the task queue on Redis: the same
code paths against a real Redis server."""

import os

import pytest
from django.test import Client

from rathaus.core.models import Municipality
from tests.conftest import require_service
from tests.factories import PASSWORD, StaffFactory

REDIS_URL = os.environ.get("RATHAUS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

pytestmark = [pytest.mark.redis, pytest.mark.django_db]


@pytest.fixture
def redis_settings(settings: object) -> object:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).flushdb()
    except redis.exceptions.ConnectionError as error:
        require_service("Redis", str(error))
    settings.CACHES = {  # type: ignore[attr-defined]
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "t",
        }
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"  # type: ignore[attr-defined]
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}  # type: ignore[attr-defined]
    return settings


def test_readiness_with_redis_everywhere(
    client: Client, redis_settings: object, municipality: Municipality
) -> None:
    response = client.get("/readyz")
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "task_queue": "ok"},
    }


def test_sessions_and_login_throttling_live_in_redis(
    client: Client, redis_settings: object, municipality: Municipality
) -> None:
    import redis

    staff = StaffFactory(municipality=municipality, email="clerk@example.org")
    assert (
        client.post("/anmelden/", {"username": staff.email, "password": PASSWORD}).status_code
        == 302
    )
    assert client.get("/verwaltung/").status_code == 200
    keys = {key.decode() for key in redis.Redis.from_url(REDIS_URL).keys("*")}
    assert any("django.contrib.sessions.cache" in key for key in keys)
    # Lockouts are shared by every web process through the cache.
    other = Client()
    for _ in range(6):
        other.post("/anmelden/", {"username": "ghost@example.org", "password": "x"})
    assert (
        Client().post("/anmelden/", {"username": "ghost@example.org", "password": "x"}).status_code
        == 429
    )
