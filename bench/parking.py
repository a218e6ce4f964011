"""Parking: MQTT ingestion throughput and latency, the forecast table, public API p95.

1. **Ingestion** into a throw-away PostgreSQL database through the benchmark's OWN
   Mosquitto: ``/usr/sbin/mosquitto -c <temp dir>/mosquitto.conf`` in the foreground on a
   free loopback port from 18830 on, configured with the file shipped for production
   (deploy/mosquitto/rathaus.conf and its ACL, rathaus.acl; only the listener, the paths
   and the password file are the bench's own), always stopped at the end. The system broker on port
   1883 is never touched. ``rathaus parking ingest`` runs as its own process (QoS 1,
   persistent session, acks after commit); this process publishes ``--messages`` site
   counts for 200 sites as fast as the broker takes them. Measured: messages per
   second from the first publish to the last stored row, and the end-to-end latency of
   each reading (publish time in the payload → ``received_at`` of its row). Every run
   checks that each published reading is stored exactly once and that each site shows
   its newest reading. The broker-restart runs (``--restart-runs``) restart the own
   broker with SIGTERM after 40 % of the messages while publishing goes on; the
   publisher keeps unacknowledged messages and sends them again after reconnecting.
   Baseline in the same run: a bare paho subscriber process (MQTT 3.1.1 like the
   ingester, manual acks, JSON parsing, no database) on the same broker.
2. **Forecast**: MAE in occupancy points at +15/+30/+60/+120 min on the Birmingham data
   (bench/parking_forecast.py) next to persistence and same-slot-last-week.
3. **Public API**: p95 of the ParkAPI site list, the DATEX II publication and a sign with
   200 sites, next to the platform's ``/api/v1/municipality/`` as baseline.

Run from the repository root: ``nice -n 10 .venv/bin/python bench/parking.py``.
Results go to ``bench/results/parking.json``, the own broker's log beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO_DIR / "src"))
sys.path.insert(0, str(REPO_DIR))

from parking_forecast import evaluate  # noqa: E402
from portal import git_commit  # noqa: E402
from workflow import percentile, setup_django, throwaway_database  # noqa: E402

DEFAULT_OUTPUT = REPO_DIR / "bench" / "results" / "parking.json"
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
SITES = 200
MOSQUITTO = "/usr/sbin/mosquitto"
MOSQUITTO_USERS_TOOL = "/usr/bin/mosquitto_passwd"
SHIPPED_CONF = REPO_DIR / "deploy" / "mosquitto" / "rathaus.conf"
FIRST_PORT = 18830
INGEST_USER = "rathaus-ingest"
# The shipped ACL: the ingester reads every tree, a municipality's user (named like its
# slug) writes only its own.
SHIPPED_ACL = SHIPPED_CONF.with_name("rathaus.acl")
# Settings of the shipped file that name places and people of the production host; the
# bench's own broker replaces them and keeps every other line as shipped.
LOCAL_SETTINGS = {
    "listener",
    "persistence_location",
    "password_file",
    "acl_file",
    "log_dest",
    "pid_file",
    "user",
}


class Broker:
    """The benchmark's own Mosquitto: the configuration shipped for production
    (deploy/mosquitto/rathaus.conf) on a free loopback port, with its database, password
    file and ACL in a temporary directory. Started in the foreground as a child process,
    restarted with SIGTERM (Mosquitto saves its persistence on the way out) and always
    stopped by ``stop``. The system broker on port 1883 is never touched."""

    def __init__(self, directory: Path, users: dict[str, str]) -> None:
        self.directory = directory
        self.users = users
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.conf = directory / "mosquitto.conf"
        self.restarts: list[float] = []

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def configure(self) -> None:
        passwd, acl = self.directory / "passwd", self.directory / "acl"
        passwd.write_text("")
        for user, password in self.users.items():
            subprocess.run([MOSQUITTO_USERS_TOOL, "-b", str(passwd), user, password], check=True)
        acl.write_text(SHIPPED_ACL.read_text())
        kept = [
            line
            for line in SHIPPED_CONF.read_text().splitlines()
            if line.split(maxsplit=1)[:1] and line.split(maxsplit=1)[0] not in LOCAL_SETTINGS
        ]
        self.conf.write_text(
            "\n".join(
                [
                    *kept,
                    "# --- the benchmark's own instance",
                    f"listener {self.port} 127.0.0.1",
                    f"persistence_location {self.directory}/",
                    f"password_file {passwd}",
                    f"acl_file {acl}",
                    f"log_dest file {self.directory}/mosquitto.log",
                    "",
                ]
            )
        )
        if os.geteuid() == 0:
            # Started as root, Mosquitto drops to the user "mosquitto" (or nobody), which
            # must be able to write its database and read the password file and ACL.
            import pwd

            try:
                user = pwd.getpwnam("mosquitto")
            except KeyError:
                user = pwd.getpwnam("nobody")
            for path in [self.directory, *self.directory.iterdir()]:
                os.chown(path, user.pw_uid, user.pw_gid)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not _port_open(self.address, 10, self.process):
            self.stop()
            raise RuntimeError(f"own Mosquitto did not start: {self.log_tail()}")

    def restart(self) -> float:
        """SIGTERM, wait for the exit, start again; returns the seconds it was away."""
        assert self.process is not None
        started = time.monotonic()
        if self.process.poll() is not None:
            raise RuntimeError(f"own Mosquitto died (exit {self.process.returncode})")
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        self.start()
        down = time.monotonic() - started
        self.restarts.append(down)
        return down

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def log_tail(self, size: int = 2000) -> str:
        log = self.directory / "mosquitto.log"
        return log.read_text()[-size:] if log.exists() else ""


def _free_port() -> int:
    import socket

    for port in range(FIRST_PORT, FIRST_PORT + 200):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port for the benchmark's Mosquitto")


def _port_open(
    address: tuple[str, int], timeout: float, process: subprocess.Popen[bytes] | None = None
) -> bool:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            socket.create_connection(address, timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def _client(client_id: str, user: str, password: str, **kwargs: Any) -> Any:
    """A paho client, MQTT v5 unless ``protocol`` says otherwise."""
    import paho.mqtt.client as mqtt

    kwargs.setdefault("protocol", mqtt.MQTTv5)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, **kwargs)
    client.username_pw_set(user, password)
    return client


@dataclass
class Published:
    """What the publisher sent: per message its site index, instant and value."""

    keys: list[tuple[int, datetime, int]]
    first: float
    all_acknowledged: float
    acknowledged: int
    sent_while_down: int
    broker_down_s: float | None


def publish(
    broker: Broker,
    tenant: str,
    password: str,
    count: int,
    *,
    rate: float | None = None,
    restart_at: int | None = None,
) -> Published:
    """Publish ``count`` site counts (QoS 1) round-robin over the sites, as fast as
    possible or at ``rate`` messages per second; with ``restart_at`` the broker is
    restarted from another thread once that many have been published, and publishing
    goes on meanwhile.

    paho keeps every QoS 1 message in its outgoing store until the broker's PUBACK
    (``max_queued_messages_set(0)``: no bound), also while disconnected: on reconnect
    it sends the unacknowledged ones again (flagged DUP) and then those published
    while the broker was away. ``all_acknowledged`` is the time the last PUBACK came."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    acknowledged = 0
    lock = threading.Lock()

    def on_publish(*_args: Any) -> None:
        nonlocal acknowledged
        with lock:
            acknowledged += 1

    client = _client(f"bench-pub-{uuid.uuid4().hex[:8]}", tenant, password)
    client.on_publish = on_publish
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.reconnect_delay_set(min_delay=0.1, max_delay=1)
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 600
    client.connect(*broker.address, clean_start=False, properties=properties)
    client.loop_start()
    downtime: list[float] = []
    restarter = threading.Thread(target=lambda: downtime.append(broker.restart()))
    keys: list[tuple[int, datetime, int]] = []
    sent_while_down = 0
    first = time.time()
    try:
        for i in range(count):
            if rate is not None and i % 10 == 0:
                ahead = first + i / rate - time.time()
                if ahead > 0:
                    time.sleep(ahead)
            if i == restart_at:
                restarter.start()
            site, at, free = i % SITES, datetime.now(UTC), i % 50
            payload = f'{{"free": {free}, "at": "{at.isoformat()}"}}'.encode()
            info = client.publish(f"rathaus/{tenant}/parking/sites/s{site}/count", payload, qos=1)
            if info.rc == mqtt.MQTT_ERR_NO_CONN:
                sent_while_down += 1
            elif info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise RuntimeError(f"publish refused by paho: {info.rc}")
            keys.append((site, at, free))
        if restart_at is not None:
            restarter.join(60)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and acknowledged < count:
            time.sleep(0.01)
        done = time.time()
    finally:
        client.disconnect()
        client.loop_stop()
    return Published(
        keys=keys,
        first=first,
        all_acknowledged=done,
        acknowledged=acknowledged,
        sent_while_down=sent_while_down,
        broker_down_s=downtime[0] if downtime else None,
    )


def _reset(tenant: str) -> None:
    from rathaus.parking.models import Observation, ParkingSite, Rejection

    Observation.objects.all().delete()
    Rejection.objects.all().delete()
    ParkingSite.objects.filter(municipality__slug=tenant).update(
        realtime_free=None, realtime_at=None
    )


def ingest_run(
    broker: Broker,
    env: dict[str, str],
    tenant: str,
    password: str,
    count: int,
    *,
    restart: bool = False,
    rate: float | None = None,
) -> dict[str, Any]:
    """One run of ``rathaus parking ingest`` against the own broker; checks that every
    published reading is stored exactly once and that each site shows its newest one."""
    from django.db import connection
    from django.db.models import Count

    from rathaus.parking.models import Observation, ParkingSite, Rejection

    _reset(tenant)
    client_id = f"bench-ingest-{uuid.uuid4().hex[:8]}"
    command = [
        str(REPO_DIR / ".venv" / "bin" / "rathaus"),
        "parking",
        "ingest",
        "--port",
        str(broker.port),
        "--username",
        INGEST_USER,
        "--client-id",
        client_id,
    ]
    # The ingester logs every refused reading; a pipe nobody reads until the end would
    # fill up and block it, so its output goes to a file.
    log_path = Path(env["RATHAUS_VAR_DIR"]) / f"{client_id}.log"
    log_file = log_path.open("w")
    process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        _wait_for_ingester(broker, tenant, password)
        sent = publish(
            broker,
            tenant,
            password,
            count,
            rate=rate,
            restart_at=count * 2 // 5 if restart else None,
        )
        deadline = time.monotonic() + 180
        stored = 0
        while time.monotonic() < deadline:
            stored = Observation.objects.count()
            if stored >= count:
                break
            time.sleep(0.02)
        done = time.time()
        time.sleep(1)  # redeliveries still on their way are refused, not stored
        if broker.process is None or broker.process.poll() is not None:
            raise RuntimeError(f"own Mosquitto died: {broker.log_tail()}")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        log_file.close()
        output = log_path.read_text()
        cleanup = _client(client_id, INGEST_USER, env["RATHAUS_MQTT_PASSWORD"])
        cleanup.connect(*broker.address, clean_start=True)
        cleanup.disconnect()
    rows = list(Observation.objects.values_list("site__external_id", "at", "free", "received_at"))
    stored_keys = {(external_id, at, free) for external_id, at, free, _ in rows}
    published_keys = {(f"s{site}", at, free) for site, at, free in sent.keys}
    newest: dict[str, tuple[datetime, int]] = {}
    for site, at, free in sent.keys:
        if f"s{site}" not in newest or at > newest[f"s{site}"][0]:
            newest[f"s{site}"] = (at, free)
    shown = {
        s.external_id: (s.realtime_at, s.realtime_free)
        for s in ParkingSite.objects.filter(municipality__slug=tenant)
    }
    wrong_current = sum(1 for site, value in newest.items() if shown.get(site) != value)
    refused = dict(Rejection.objects.values_list("reason").annotate(n=Count("id")))
    connection.close()
    latencies = [(received - at).total_seconds() for _, at, _, received in rows]
    elapsed = done - sent.first
    return {
        "messages": count,
        "acknowledged_by_broker": sent.acknowledged,
        "stored": len(rows),
        "lost": len(published_keys - stored_keys),
        "stored_but_never_published": len(stored_keys - published_keys),
        "sites_showing_a_wrong_current_value": wrong_current,
        "seconds": round(elapsed, 3),
        "messages_per_second": round(len(rows) / elapsed, 1),
        "publisher_messages_per_second": round(count / (sent.all_acknowledged - sent.first), 1),
        "latency_median_ms": round(percentile(latencies, 0.5) * 1000, 1),
        "latency_p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "latency_max_ms": round(max(latencies) * 1000, 1) if latencies else None,
        "refused_by_reason": refused,
        "publish_rate": rate or "as fast as possible",
        "broker_restart": restart,
        "broker_down_s": round(sent.broker_down_s, 2) if sent.broker_down_s else None,
        "published_while_broker_down": sent.sent_while_down,
        "ingester_log_tail": output.strip().splitlines()[-1:] if output else [],
    }


def _wait_for_ingester(broker: Broker, tenant: str, password: str) -> None:
    """Until the ingester is subscribed: a probe for an unknown site is refused and logged."""
    from rathaus.parking.models import Rejection

    client = _client(f"bench-probe-{uuid.uuid4().hex[:8]}", tenant, password)
    client.connect(*broker.address)
    client.loop_start()
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and not Rejection.objects.exists():
            payload = json.dumps({"free": 1, "at": datetime.now(UTC).isoformat()}).encode()
            client.publish(f"rathaus/{tenant}/parking/sites/probe/count", payload, qos=1)
            time.sleep(0.5)
    finally:
        client.disconnect()
        client.loop_stop()
    time.sleep(1)  # the last probes
    Rejection.objects.all().delete()


def bare_subscriber_main(port: int, password: str, topic: str, count: int) -> None:
    """Baseline subscriber process: paho with manual acks and JSON parsing, MQTT 3.1.1
    like the ingester, no database. Prints ``ready`` once subscribed and the time of the
    last message when done."""
    import paho.mqtt.client as mqtt

    done = threading.Event()
    got = 0
    client = _client(
        f"bench-bare-{uuid.uuid4().hex[:8]}",
        INGEST_USER,
        password,
        manual_ack=True,
        protocol=mqtt.MQTTv311,
    )

    def on_message(c: Any, userdata: Any, message: Any) -> None:
        nonlocal got
        json.loads(message.payload)
        c.ack(message.mid, message.qos)
        got += 1
        if got >= count:
            done.set()

    subscribed = threading.Event()
    client.on_subscribe = lambda *_args: subscribed.set()

    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.subscribe(topic, qos=1)
    client.loop_start()
    print("ready" if subscribed.wait(30) else "not subscribed", flush=True)
    done.wait(300)
    print(json.dumps({"received": got, "last": time.time()}), flush=True)
    client.disconnect()
    client.loop_stop()


def bare_subscriber(
    broker: Broker, tenant: str, passwords: dict[str, str], count: int
) -> dict[str, Any]:
    """Baseline in its own process like the ingester: paho with manual acks, no database."""
    process = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--bare-subscriber",
            str(broker.port),
            f"rathaus/{tenant}/parking/sites/#",
            str(count),
        ],
        env={**os.environ, "BENCH_MQTT_PASSWORD": passwords[INGEST_USER]},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("the baseline subscriber did not subscribe")
        sent = publish(broker, tenant, passwords[tenant], count)
        output, _ = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    report = json.loads(output.strip().splitlines()[-1])
    elapsed = report["last"] - sent.first
    return {
        "messages": count,
        "received": report["received"],
        "messages_per_second": round(report["received"] / elapsed, 1),
        "publisher_messages_per_second": round(count / (sent.all_acknowledged - sent.first), 1),
    }


def api_p95(municipality: Any, repeats: int) -> dict[str, Any]:
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    out = {}
    for name, url in [
        ("baseline_municipality", "/api/v1/municipality/"),
        ("parkapi_sites", "/api/v1/parking/parkapi/v3/parking-sites"),
        ("datex_status", "/api/v1/parking/datex/status.xml"),
        ("sign", "/api/v1/parking/signs/bench"),
    ]:
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code)
        out[name] = {
            "requests": repeats,
            "median_ms": round(percentile(times, 0.5) * 1000, 2),
            "p95_ms": round(percentile(times, 0.95) * 1000, 2),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=30_000)
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES", DEFAULT_POSTGRES))
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--skip-api", action="store_true", help="only the MQTT part")
    parser.add_argument(
        "--restart-runs", type=int, default=1, help="runs with a broker restart (each checked)"
    )
    parser.add_argument("--only-restart", action="store_true", help="only the broker-restart runs")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--bare-subscriber", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    # SIGTERM ends the run through the ``finally`` blocks, which stop the own broker.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.bare_subscriber:
        port, topic, count = args.bare_subscriber
        bare_subscriber_main(int(port), os.environ["BENCH_MQTT_PASSWORD"], topic, int(count))
        return
    shared = Path(os.environ.get("RATHAUS_SHARED_DIR", REPO_DIR.parent / "shared"))
    result: dict[str, Any] = {
        "benchmark": "parking",
        "started_at": datetime.now(UTC).isoformat(),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_at_start": os.getloadavg(),
        },
        **git_commit(),
    }
    if not args.only_restart:
        result["forecast"] = evaluate(
            shared / "data" / "parking" / "birmingham-parking-occupancy-2016.csv"
        )
    tenant = f"bench{secrets.token_hex(3)}"
    passwords = {INGEST_USER: secrets.token_urlsafe(16), tenant: secrets.token_urlsafe(16)}
    with (
        tempfile.TemporaryDirectory() as var_dir,
        tempfile.TemporaryDirectory() as broker_dir,
        throwaway_database(args.postgres) as database_url,
    ):
        broker = Broker(Path(broker_dir), passwords)
        broker.configure()
        broker.start()
        try:
            result["mqtt"] = _mqtt_runs(
                broker,
                database_url,
                var_dir,
                tenant,
                passwords,
                args.messages,
                args.restart_runs,
                args.only_restart,
            )
            result["mqtt"]["broker"] = {
                "config": str(SHIPPED_CONF.relative_to(REPO_DIR)),
                "port": broker.port,
                "restarts_s": [round(s, 2) for s in broker.restarts],
            }
            if not args.skip_api:
                result["api_200_sites"] = _api_run(tenant, args.repeats)
        finally:
            broker.stop()
            # The broker's own log, for the reader of the results.
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.with_suffix(".mosquitto.log").write_text(broker.log_tail(200_000))
    result["machine"]["load_average_at_end"] = os.getloadavg()
    result["finished_at"] = datetime.now(UTC).isoformat()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(
        json.dumps({k: v for k, v in result.items() if k not in {"machine"}}, indent=2, default=str)
    )


def _mqtt_runs(
    broker: Broker,
    database_url: str,
    var_dir: str,
    tenant: str,
    passwords: dict[str, str],
    messages: int,
    restart_runs: int,
    only_restart: bool,
) -> dict[str, Any]:
    setup_django(database_url, var_dir)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from rathaus.core.models import Municipality
    from rathaus.parking.models import ParkingSite, Sign, SignLine

    municipality = Municipality.objects.create(
        slug=tenant, name="Benchstadt", ags="08999999", state="BW"
    )
    ParkingSite.objects.bulk_create(
        ParkingSite(
            municipality=municipality,
            external_id=f"s{i}",
            name=f"Parkhaus {i}",
            kind="CAR_PARK",
            lat=48.89 + i / 10_000,
            lon=9.19,
            capacity=50,
            opening_hours="Mo-Sa 06:00-24:00",
        )
        for i in range(SITES)
    )
    sign = Sign.objects.create(municipality=municipality, key="bench", name="Bench")
    for i, site in enumerate(ParkingSite.objects.filter(municipality=municipality)[:6]):
        SignLine.objects.create(sign=sign, site=site, position=i)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "RATHAUS_VAR_DIR": var_dir,
        "DJANGO_SETTINGS_MODULE": "rathaus.settings.base",
        "RATHAUS_MQTT_PASSWORD": passwords[INGEST_USER],
    }
    password = passwords[tenant]
    out: dict[str, Any] = {}
    if only_restart:
        out["ingest_broker_restart"] = [
            ingest_run(broker, env, tenant, password, messages, restart=True)
            for _ in range(restart_runs)
        ]
        return out
    out["baseline_bare_subscriber"] = bare_subscriber(broker, tenant, passwords, messages)
    throughput = ingest_run(broker, env, tenant, password, messages)
    out["ingest_throughput"] = throughput
    # Latency below saturation: half the measured throughput, for about 15 seconds.
    paced = max(50.0, round(throughput["messages_per_second"] / 2))
    out["ingest_latency"] = ingest_run(broker, env, tenant, password, int(paced * 15), rate=paced)
    # As fast as possible again, the broker restarted (SIGTERM) after 40 % of the messages.
    out["ingest_broker_restart"] = [
        ingest_run(broker, env, tenant, password, messages, restart=True)
        for _ in range(restart_runs)
    ]
    return out


def _api_run(tenant: str, repeats: int) -> dict[str, Any]:
    from django.conf import settings

    from rathaus.core.models import Municipality

    settings.ALLOWED_HOSTS = ["*"]
    settings.RATHAUS_DEFAULT_TENANT = tenant
    return api_p95(Municipality.objects.get(slug=tenant), repeats)


if __name__ == "__main__":
    main()
