"""Parking: MQTT ingestion throughput and latency, the forecast table, public API p95.

1. **Ingestion** against the real Mosquitto on loopback, into a throw-away PostgreSQL
   database: ``rathaus parking ingest`` runs as its own process (QoS 1, persistent
   session, acks after commit); this process publishes ``--messages`` site counts for
   200 sites as fast as the broker takes them. Measured: messages per second from the
   first publish to the last commit, and the end-to-end latency of each reading
   (publish time in the payload → ``received_at`` of its row). A second run restarts
   the broker in the middle (``--restart-broker``; only when this process may start
   Mosquitto: it must run as root with /etc/mosquitto/mosquitto.conf) and checks that
   every message arrived exactly once. Baseline in the same run: a bare paho subscriber
   with manual acks and no database on the same broker.
2. **Forecast**: MAE in occupancy points at +15/+30/+60/+120 min on the Birmingham data
   (bench/parking_forecast.py) next to persistence and same-slot-last-week.
3. **Public API**: p95 of the ParkAPI site list, the DATEX II publication and a sign with
   200 sites, next to the platform's ``/api/v1/municipality/`` as baseline.

Run from the repository root: ``nice -n 10 .venv/bin/python bench/parking.py``.
Results go to ``bench/results/parking.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
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
BROKER = ("127.0.0.1", 1883)
SITES = 200
MOSQUITTO_CONF = Path("/etc/mosquitto/mosquitto.conf")
MOSQUITTO_PID = Path("/run/mosquitto/mosquitto.pid")
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def _client(client_id: str, **kwargs: Any) -> Any:
    import paho.mqtt.client as mqtt

    return mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, **kwargs
    )


def _broker_up(timeout: float = 10) -> bool:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(BROKER, timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def broker_restart() -> float:
    """Stop Mosquitto (it saves its persistence on SIGTERM) and start it again; seconds down."""
    pid = int(MOSQUITTO_PID.read_text().strip())
    started = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            time.sleep(0.05)
        except ProcessLookupError:
            break
    subprocess.run([MOSQUITTO, "-d", "-c", str(MOSQUITTO_CONF)], check=True)
    if not _broker_up():
        raise RuntimeError("Mosquitto did not come back")
    return time.monotonic() - started


def publish(
    count: int, tenant: str, restart_at: int | None, rate: float | None = None
) -> dict[str, Any]:
    """Publish ``count`` site counts (QoS 1) round-robin over the sites, as fast as
    possible or at ``rate`` messages per second."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    client = _client(f"bench-pub-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.reconnect_delay_set(min_delay=1, max_delay=2)
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 600
    client.connect(*BROKER, clean_start=False, properties=properties)
    client.loop_start()
    infos = []
    downtime = None
    first = time.time()
    for i in range(count):
        if rate is not None and i % 10 == 0:
            ahead = first + i / rate - time.time()
            if ahead > 0:
                time.sleep(ahead)
        if restart_at is not None and i == restart_at:
            downtime = broker_restart()
        site = i % SITES
        payload = json.dumps({"free": i % 50, "at": datetime.now(UTC).isoformat()}).encode()
        infos.append(
            client.publish(f"rathaus/{tenant}/parking/sites/s{site}/count", payload, qos=1)
        )
    # ``wait_for_publish`` raises for messages queued while the broker was away; those
    # are sent after the reconnect, so wait on the flag itself.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not all(info._published for info in infos):
        time.sleep(0.05)
    published = time.time()
    client.disconnect()
    client.loop_stop()
    return {"first_publish": first, "all_published": published, "broker_down_s": downtime}


def ingest_run(
    database_url: str,
    env: dict[str, str],
    tenant: str,
    count: int,
    restart: bool,
    rate: float | None = None,
) -> dict[str, Any]:
    from django.db import connection

    from rathaus.parking.models import Observation

    Observation.objects.all().delete()
    client_id = f"bench-ingest-{uuid.uuid4().hex[:8]}"
    process = subprocess.Popen(
        [
            str(REPO_DIR / ".venv" / "bin" / "rathaus"),
            "parking",
            "ingest",
            "--client-id",
            client_id,
            "--batch-size",
            "500",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for_ingester(tenant)
        timing = publish(count, tenant, count * 2 // 5 if restart else None, rate)
        deadline = time.monotonic() + 180
        stored = 0
        while time.monotonic() < deadline:
            stored = Observation.objects.count()
            if stored >= count:
                break
            time.sleep(0.05)
        done = time.time()
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        cleanup = _client(client_id)
        cleanup.connect(*BROKER, clean_start=True)
        cleanup.disconnect()
    rows = list(Observation.objects.values_list("at", "received_at"))
    from django.db.models import Count

    from rathaus.parking.models import Rejection

    refused = dict(Rejection.objects.values_list("reason").annotate(n=Count("id")))
    Rejection.objects.all().delete()
    connection.close()
    latencies = [(received - at).total_seconds() for at, received in rows]
    elapsed = done - timing["first_publish"]
    return {
        "messages": count,
        "stored": stored,
        "lost": count - stored,
        "seconds": round(elapsed, 3),
        "messages_per_second": round(stored / elapsed, 1),
        "latency_median_ms": round(percentile(latencies, 0.5) * 1000, 1),
        "latency_p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "latency_max_ms": round(max(latencies) * 1000, 1) if latencies else None,
        "refused_by_reason": refused,
        "publish_rate": rate or "as fast as possible",
        "broker_restart": restart,
        "broker_down_s": round(timing["broker_down_s"], 2) if timing["broker_down_s"] else None,
        "ingester_log_tail": output.strip().splitlines()[-1:] if output else [],
    }


def _wait_for_ingester(tenant: str) -> None:
    """Until the ingester is subscribed: a probe for an unknown site is refused and logged."""
    from rathaus.parking.models import Rejection

    client = _client(f"bench-probe-{uuid.uuid4().hex[:8]}")
    client.connect(*BROKER)
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


def bare_subscriber(tenant: str, count: int) -> dict[str, Any]:
    """Baseline: paho with manual acks, no database."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    client_id = f"bench-bare-{uuid.uuid4().hex[:8]}"
    got = 0
    done = threading.Event()
    client = _client(client_id, manual_ack=True)
    client.max_inflight_messages_set(1000)

    def on_message(c: Any, userdata: Any, message: Any) -> None:
        nonlocal got
        json.loads(message.payload)
        c.ack(message.mid, message.qos)
        got += 1
        if got >= count:
            done.set()

    client.on_message = on_message
    properties = Properties(PacketTypes.CONNECT)
    properties.ReceiveMaximum = 1000
    client.connect(*BROKER, clean_start=True, properties=properties)
    client.subscribe(f"rathaus/{tenant}/parking/sites/#", qos=1)
    client.loop_start()
    time.sleep(1)
    timing = publish(count, tenant, None)
    done.wait(120)
    elapsed = time.time() - timing["first_publish"]
    client.disconnect()
    client.loop_stop()
    return {"messages": count, "received": got, "messages_per_second": round(got / elapsed, 1)}


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
    parser.add_argument("--restart-broker", choices=["auto", "yes", "no"], default="auto")
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    may_restart = os.geteuid() == 0 and MOSQUITTO_CONF.exists() and MOSQUITTO_PID.exists()
    restart = args.restart_broker == "yes" or (args.restart_broker == "auto" and may_restart)
    if not _broker_up(2):
        sys.exit("Mosquitto is not running on 127.0.0.1:1883")
    shared = Path(os.environ.get("RATHAUS_SHARED_DIR", REPO_DIR.parent / "shared"))
    result: dict[str, Any] = {
        "benchmark": "parking",
        "started_at": datetime.now(UTC).isoformat(),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        **git_commit(),
    }
    result["forecast"] = evaluate(
        shared / "data" / "parking" / "birmingham-parking-occupancy-2016.csv"
    )
    with (
        tempfile.TemporaryDirectory() as var_dir,
        throwaway_database(args.postgres) as database_url,
    ):
        setup_django(database_url, var_dir)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from rathaus.core.models import Municipality
        from rathaus.parking.models import ParkingSite, Sign, SignLine

        tenant = f"bench{secrets.token_hex(3)}"
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
        }
        result["mqtt_baseline_bare_subscriber"] = bare_subscriber(tenant, args.messages)
        throughput = ingest_run(database_url, env, tenant, args.messages, restart=False)
        result["mqtt_ingest_throughput"] = throughput
        # Latency below saturation: half the measured throughput, for about 15 seconds.
        paced = max(50.0, round(throughput["messages_per_second"] / 2))
        result["mqtt_ingest_latency"] = ingest_run(
            database_url, env, tenant, int(paced * 15), restart=False, rate=paced
        )
        if restart:
            result["mqtt_ingest_broker_restart"] = ingest_run(
                database_url, env, tenant, int(paced * 30), restart=True, rate=paced
            )
        else:
            result["mqtt_ingest_broker_restart"] = "skipped: this process may not restart Mosquitto"
        from django.conf import settings

        settings.ALLOWED_HOSTS = ["*"]
        settings.RATHAUS_DEFAULT_TENANT = tenant
        result["api_200_sites"] = api_p95(municipality, args.repeats)
    if not _broker_up(10):  # never leave the shared broker down
        subprocess.run([MOSQUITTO, "-d", "-c", str(MOSQUITTO_CONF)], check=False)
    result["finished_at"] = datetime.now(UTC).isoformat()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(
        json.dumps({k: v for k, v in result.items() if k not in {"machine"}}, indent=2, default=str)
    )


if __name__ == "__main__":
    main()
