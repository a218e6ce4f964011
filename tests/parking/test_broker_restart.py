"""The shipped broker configuration (deploy/mosquitto/rathaus.conf) on a Mosquitto of the
test's own, on a free loopback port: readings queued for the ingester survive a broker
restart, and the ACL keeps one municipality out of another's tree. The system broker
is not touched."""

import json
import os
import pwd
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from rathaus.parking.models import Observation, ParkingSite
from rathaus.parking.mqtt import Ingester, tenant_topic
from tests.conftest import require_service
from tests.parking.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

MOSQUITTO = Path("/usr/sbin/mosquitto")
USERS_TOOL = Path("/usr/bin/mosquitto_passwd")
SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "rathaus.conf"
LOCAL = {"listener", "persistence_location", "password_file", "acl_file", "log_dest", "user"}
ACL = "user ingest\ntopic read rathaus/+/parking/#\n\npattern write rathaus/%u/parking/#\n"


class OwnBroker:
    def __init__(self, directory: Path, users: dict[str, str]) -> None:
        self.directory = directory
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        passwd = directory / "passwd"
        passwd.write_text("")
        for user, password in users.items():
            subprocess.run([USERS_TOOL, "-b", passwd, user, password], check=True)  # noqa: S603 (fixed binary, our arguments)
        (directory / "acl").write_text(ACL)
        kept = [
            line
            for line in SHIPPED.read_text().splitlines()
            if line.split() and line.split()[0] not in LOCAL
        ]
        (directory / "mosquitto.conf").write_text(
            "\n".join(
                [
                    *kept,
                    f"listener {self.port} 127.0.0.1",
                    f"persistence_location {directory}/",
                    f"password_file {passwd}",
                    f"acl_file {directory / 'acl'}",
                    f"log_dest file {directory / 'mosquitto.log'}",
                    "",
                ]
            )
        )
        if os.geteuid() == 0:  # Mosquitto drops root for "mosquitto" (or nobody)
            try:
                owner = pwd.getpwnam("mosquitto")
            except KeyError:
                owner = pwd.getpwnam("nobody")
            for path in [directory, *directory.iterdir()]:
                os.chown(path, owner.pw_uid, owner.pw_gid)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 (fixed binary, our arguments)
            [MOSQUITTO, "-c", self.directory / "mosquitto.conf"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise AssertionError("own Mosquitto did not start with the shipped configuration")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # saves its persistence
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


@pytest.fixture
def own_broker(site: ParkingSite) -> Iterator[OwnBroker]:
    if not (MOSQUITTO.exists() and USERS_TOOL.exists()):
        require_service("mosquitto", "the mosquitto binary to start an own broker")
    # Not pytest's tmp_path: its parents are closed to the user Mosquitto runs as.
    with tempfile.TemporaryDirectory() as directory:
        users = {"ingest": "ingest-pw", site.municipality.slug: "town-pw"}
        broker = OwnBroker(Path(directory), users)
        broker.start()
        try:
            yield broker
        finally:
            broker.stop()


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
        username="ingest",
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
