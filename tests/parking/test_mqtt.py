"""The ingester against the real Mosquitto: QoS 1, persistent session, acks after the
database write. Messages published while the ingester is down arrive after its restart;
bad messages are logged and do not stop it."""

import json
import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from rathaus.parking.models import Observation, ParkingSite, Rejection
from rathaus.parking.mqtt import Ingester, tenant_topic
from tests.conftest import wait_until
from tests.parking.conftest import mqtt_session_end, publish_all

pytestmark = pytest.mark.django_db(transaction=True)


def _start(client_id: str) -> tuple[Ingester, threading.Thread]:
    ingester = Ingester(client_id=client_id, batch_size=50, flush_seconds=0.05)
    thread = threading.Thread(target=ingester.run, daemon=True)
    thread.start()
    assert ingester.connected.wait(10)
    return ingester, thread


def _stop(ingester: Ingester, thread: threading.Thread) -> None:
    ingester.stop()
    thread.join(10)


def test_ingests_survives_restart_and_bad_messages(mqtt_broker: object, site: ParkingSite) -> None:
    client_id = f"test-parking-{uuid.uuid4().hex[:8]}"
    t0 = site.realtime_at
    ingester, thread = _start(client_id)
    try:
        publish_all(
            [
                (
                    tenant_topic(site.municipality, "marstall"),
                    {"free": 100 - i, "at": (t0 + timedelta(seconds=i + 1)).isoformat()},
                )
                for i in range(20)
            ]
            + [
                (tenant_topic(site.municipality, "marstall"), b"\xff not json"),
                (tenant_topic(site.municipality, "marstall"), b"x" * 5000),
                (tenant_topic(site.municipality, "unknown"), {"free": 1, "at": t0.isoformat()}),
            ]
        )
        assert wait_until(lambda: Observation.objects.filter(site=site).count() == 20)
        assert wait_until(lambda: Rejection.objects.count() == 3)
        assert sorted(Rejection.objects.values_list("reason", flat=True)) == [
            "malformed",
            "oversized",
            "unknown_site",
        ]
    finally:
        _stop(ingester, thread)
    # While the ingester is away the broker keeps its session and queues the messages.
    publish_all(
        [
            (
                tenant_topic(site.municipality, "marstall"),
                {"free": 50 - i, "at": (t0 + timedelta(seconds=30 + i)).isoformat()},
            )
            for i in range(10)
        ]
    )
    ingester, thread = _start(client_id)
    try:
        assert wait_until(lambda: Observation.objects.filter(site=site).count() == 30)
        site.refresh_from_db()
        assert site.realtime_free == 41
    finally:
        _stop(ingester, thread)
        mqtt_session_end(client_id)


def test_sensor_values_reach_the_site(mqtt_broker: object, site: ParkingSite) -> None:
    """A fresh reading replaces a stale one and the site counts as current again."""
    ParkingSite.objects.filter(pk=site.pk).update(realtime_at=timezone.now() - timedelta(hours=2))
    client_id = f"test-parking-{uuid.uuid4().hex[:8]}"
    ingester, thread = _start(client_id)
    try:
        publish_all(
            [
                (
                    tenant_topic(site.municipality, "marstall"),
                    {"free": 7, "at": timezone.now().isoformat()},
                )
            ]
        )
        assert wait_until(lambda: ParkingSite.objects.get(pk=site.pk).realtime_free == 7)
        assert not ParkingSite.objects.get(pk=site.pk).is_stale()
    finally:
        _stop(ingester, thread)
        mqtt_session_end(client_id)


def test_a_failing_batch_is_retried_and_a_poison_message_isolated(
    site: ParkingSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a broker: the database refuses a batch while it holds one bad reading; the
    good readings are written one by one and the bad one is refused, nothing blocks."""
    import paho.mqtt.client as mqtt

    from rathaus.parking import mqtt as ingest_module

    original = ingest_module.readings_ingest

    def fragile(*, readings: list[Any], source: str) -> Any:
        if any(r.free == 666 for r in readings):
            raise RuntimeError("a bug triggered by one reading")
        return original(readings=readings, source=source)

    monkeypatch.setattr(ingest_module, "readings_ingest", fragile)
    ingester = Ingester(client_id=f"test-parking-{uuid.uuid4().hex[:8]}", batch_size=10)
    monkeypatch.setattr(ingester._stopping, "wait", lambda seconds: False)
    t0 = site.realtime_at
    assert t0 is not None
    for i, free in enumerate([10, 666, 12]):
        message = mqtt.MQTTMessage(
            mid=i + 1, topic=tenant_topic(site.municipality, "marstall").encode()
        )
        message.payload = json.dumps(
            {"free": free, "at": (t0 + timedelta(seconds=i + 1)).isoformat()}
        ).encode()
        message.qos = 1
        ingester._on_message(ingester.client, None, message)
    for _ in range(20):
        ingester.flush()
    assert sorted(Observation.objects.filter(site=site).values_list("free", flat=True)) == [10, 12]
    assert list(Rejection.objects.values_list("reason", flat=True)) == ["ingest_error"]
    assert ingester._pending == []
