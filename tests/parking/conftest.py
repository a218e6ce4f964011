"""Fixtures of the parking tests."""

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone, translation

from rathaus.accounts.models import User
from rathaus.accounts.services import api_token_create
from rathaus.core.models import Municipality
from rathaus.organisation.models import OrgUnit
from rathaus.parking.models import ParkingSite
from tests.conftest import require_service
from tests.factories import StaffFactory
from tests.organisation.factories import OrgUnitFactory, RoleFactory, RoleGrantFactory
from tests.parking.factories import ParkingSiteFactory

MQTT = ("127.0.0.1", 1883)


def staff_with(municipality: Municipality, permissions: list[str]) -> User:
    """A staff member holding ``permissions`` through a role at the root unit."""
    root = OrgUnit.objects.filter(municipality=municipality, parent=None).first() or OrgUnitFactory(
        municipality=municipality
    )
    role = RoleFactory(municipality=municipality, permissions=permissions)
    user: User = StaffFactory(municipality=municipality)
    RoleGrantFactory(org_unit=root, user=user, role=role, include_subunits=True)
    return user


def token_for(user: User) -> str:
    _token, raw = api_token_create(user=user, name="test")
    return raw


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages asserted in English whatever an earlier test left active."""
    with translation.override("en"):
        yield


@pytest.fixture
def site(municipality: Municipality) -> ParkingSite:
    return ParkingSiteFactory(
        municipality=municipality,
        external_id="marstall",
        name="Marstall",
        capacity=200,
        realtime_free=123,
        realtime_at=timezone.now(),
    )


@pytest.fixture
def mqtt_broker() -> tuple[str, int]:
    """The real Mosquitto on loopback."""
    try:
        socket.create_connection(MQTT, timeout=1).close()
    except OSError:
        require_service("mosquitto", "MQTT broker on 127.0.0.1:1883")
    return MQTT


def publish_all(messages: list[tuple[str, Any]]) -> None:
    """Publish ``(topic, payload)`` with QoS 1 and wait until the broker has them all."""
    import json
    import uuid

    import paho.mqtt.client as mqtt

    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=f"test-pub-{uuid.uuid4().hex[:8]}",
        protocol=mqtt.MQTTv5,
    )
    client.connect(*MQTT)
    client.loop_start()
    try:
        infos = []
        for topic, payload in messages:
            raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            infos.append(client.publish(topic, raw, qos=1))
        for info in infos:
            info.wait_for_publish(timeout=10)
    finally:
        client.disconnect()
        client.loop_stop()


def mqtt_session_end(client_id: str) -> None:
    """End an ingester's persistent session at the broker so it stops queueing for it:
    connecting with the same client id and a clean session discards the kept one."""
    import paho.mqtt.client as mqtt

    cleanup = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311
    )
    cleanup.connect(*MQTT)
    cleanup.disconnect()
