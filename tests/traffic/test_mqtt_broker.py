"""`rathaus traffic mqtt` against a Mosquitto with the shipped configuration and ACL (a
broker of the test's own on a free loopback port): it signs in with its own user, a
municipality's devices reach it and read the outcome, and nobody reaches another
municipality's intersections."""

import json
import queue
import threading
import uuid
from collections.abc import Iterator

import paho.mqtt.client as paho
import pytest

from rathaus.core.models import Municipality
from rathaus.traffic import mqtt
from rathaus.traffic.models import Intersection, PriorityRequest
from tests.conftest import wait_until
from tests.mosquitto import OwnBroker, own_broker_running

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker(municipality: Municipality) -> Iterator[OwnBroker]:
    users = {"rathaus-traffic": "traffic-pw", municipality.slug: "town-pw", "elsewhere": "x-pw"}
    with own_broker_running(users) as own:
        yield own


@pytest.fixture
def subscriber(broker: OwnBroker) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(
        target=mqtt.run_forever,
        kwargs={
            "host": "127.0.0.1",
            "port": broker.port,
            "username": "rathaus-traffic",
            "password": "traffic-pw",
            "stop": stop,
        },
        daemon=True,
    )
    thread.start()
    yield
    stop.set()
    thread.join(10)


def device(broker: OwnBroker, user: str, password: str) -> tuple[paho.Client, queue.Queue]:
    """A field device signed in as ``user``, subscribed to its municipality's results."""
    inbox: queue.Queue[dict] = queue.Queue()
    connected = threading.Event()
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"dev-{uuid.uuid4().hex[:8]}")
    client.username_pw_set(user, password)

    def on_connect(c: paho.Client, u: object, flags: object, reason: object, p: object) -> None:
        c.subscribe(f"rathaus/{user}/traffic/result", qos=1)

    client.on_connect = on_connect
    client.on_subscribe = lambda *args: connected.set()
    client.on_message = lambda c, u, msg: inbox.put(json.loads(msg.payload))
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    assert connected.wait(10)
    return client, inbox


def request(vehicle: str) -> bytes:
    return json.dumps({"kind": "bus", "vehicle": vehicle, "group": 6}).encode()


def publish_until(client: paho.Client, topic: str, vehicle: str) -> bool:
    """Publish once a second until the request is stored (the subscriber may still be
    subscribing when the first one goes out)."""
    for _ in range(10):
        client.publish(topic, request(vehicle), qos=1).wait_for_publish(5)
        if wait_until(lambda: PriorityRequest.objects.filter(vehicle=vehicle).exists(), 1):
            return True
    return False


def test_a_priority_request_arrives_and_its_outcome_goes_back(
    broker: OwnBroker, subscriber: None, intersection: Intersection, municipality: Municipality
) -> None:
    client, results = device(broker, municipality.slug, "town-pw")
    topic = f"rathaus/{municipality.slug}/traffic/priority/{intersection.pk}"
    try:
        assert publish_until(client, topic, "Linie 421")
        outcome = results.get(timeout=10)
    finally:
        client.loop_stop()
        client.disconnect()
    assert outcome["ok"] is True
    stored = PriorityRequest.objects.filter(source="mqtt").first()
    assert stored is not None
    assert (stored.intersection_id, stored.vehicle) == (intersection.pk, "Linie 421")


def test_another_municipality_cannot_reach_our_intersections(
    broker: OwnBroker, subscriber: None, intersection: Intersection, municipality: Municipality
) -> None:
    ours, _ = device(broker, municipality.slug, "town-pw")
    theirs, _ = device(broker, "elsewhere", "x-pw")
    topic = f"rathaus/{municipality.slug}/traffic/priority/{intersection.pk}"
    try:
        assert publish_until(ours, topic, "eigen 1")  # the subscriber listens
        # MQTT 3.1.1 cannot refuse a publish: the broker acknowledges and drops it
        theirs.publish(topic, request("fremd"), qos=1).wait_for_publish(5)
        assert publish_until(ours, topic, "eigen 2")  # handled in order, after it
    finally:
        for client in (ours, theirs):
            client.loop_stop()
            client.disconnect()
    assert not PriorityRequest.objects.filter(vehicle="fremd").exists()


def test_without_credentials_the_broker_refuses(broker: OwnBroker) -> None:
    refused: queue.Queue[bool] = queue.Queue()
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="anonymous-device")
    client.on_connect = lambda c, u, f, reason, p: refused.put(reason.is_failure)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        assert refused.get(timeout=10) is True
    finally:
        client.loop_stop()
        client.disconnect()
