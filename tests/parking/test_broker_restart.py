"""The shipped broker configuration (deploy/mosquitto/rathaus.conf) on a Mosquitto of the
test's own, on a free loopback port: readings queued for the ingester survive a broker
restart, and the ACL keeps one municipality out of another's tree. The system broker
is not touched."""

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import paho.mqtt.client as mqtt
import pytest

from rathaus.parking.models import Observation, ParkingSite
from rathaus.parking.mqtt import Ingester, tenant_topic
from tests.conftest import wait_until
from tests.mosquitto import OwnBroker, own_broker_running

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def own_broker(site: ParkingSite) -> Iterator[OwnBroker]:
    users = {"rathaus-ingest": "ingest-pw", site.municipality.slug: "town-pw"}
    with own_broker_running(users) as broker:
        yield broker


def _publish(broker: OwnBroker, user: str, messages: list[tuple[str, dict[str, object]]]) -> int:
    """Publish with QoS 1 as ``user``; returns how many the broker acknowledged."""
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:8]}"
    )
    client.username_pw_set(user, "town-pw")
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        infos = [client.publish(t, json.dumps(p).encode(), qos=1) for t, p in messages]
        for info in infos:
            info.wait_for_publish(timeout=10)
        return sum(1 for info in infos if info.is_published())
    finally:
        client.disconnect()
        client.loop_stop()


def _ingester(broker: OwnBroker, client_id: str) -> tuple[Ingester, threading.Thread]:
    ingester = Ingester(
        port=broker.port,
        client_id=client_id,
        username="rathaus-ingest",
        password="ingest-pw",
        batch_size=50,
        flush_seconds=0.05,
    )
    thread = threading.Thread(target=ingester.run, daemon=True)
    thread.start()
    assert ingester.connected.wait(10)
    return ingester, thread


def test_queued_readings_survive_a_broker_restart(own_broker: OwnBroker, site: ParkingSite) -> None:
    client_id = f"test-parking-{uuid.uuid4().hex[:8]}"
    t0 = site.realtime_at
    assert t0 is not None
    ingester, thread = _ingester(own_broker, client_id)  # creates the session
    ingester.stop()
    thread.join(10)
    # Given readings queued at the broker for the absent ingester
    readings = [
        (
            tenant_topic(site.municipality, "marstall"),
            {"free": 60 + i, "at": (t0 + timedelta(seconds=i + 1)).isoformat()},
        )
        for i in range(30)
    ]
    assert _publish(own_broker, site.municipality.slug, readings) == 30
    # When the broker restarts before the ingester comes back
    own_broker.stop()
    own_broker.start()
    ingester, thread = _ingester(own_broker, client_id)
    try:
        # Then every reading arrives once, and the newest is the current value
        assert wait_until(lambda: Observation.objects.filter(site=site).count() == 30)
        site.refresh_from_db()
        assert (site.realtime_free, site.realtime_at) == (89, t0 + timedelta(seconds=30))
    finally:
        ingester.stop()
        thread.join(10)


def test_a_municipality_cannot_publish_into_another_tree(
    own_broker: OwnBroker, site: ParkingSite
) -> None:
    client_id = f"test-parking-{uuid.uuid4().hex[:8]}"
    ingester, thread = _ingester(own_broker, client_id)
    try:
        t0 = site.realtime_at
        assert t0 is not None
        other_tree = "rathaus/elsewhere/parking/sites/marstall/count"
        # The broker accepts the publish (MQTT 3.1.1 cannot refuse one) but drops it.
        _publish(
            own_broker,
            site.municipality.slug,
            [(other_tree, {"free": 1, "at": (t0 + timedelta(seconds=1)).isoformat()})],
        )
        _publish(
            own_broker,
            site.municipality.slug,
            [
                (
                    tenant_topic(site.municipality, "marstall"),
                    {"free": 2, "at": (t0 + timedelta(seconds=2)).isoformat()},
                )
            ],
        )
        assert wait_until(lambda: Observation.objects.filter(site=site).count() == 1)
        time.sleep(0.3)
        assert list(Observation.objects.values_list("free", flat=True)) == [2]
        assert ingester.stats.received == 1
    finally:
        ingester.stop()
        thread.join(10)
