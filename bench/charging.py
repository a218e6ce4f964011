"""Connected charge points and call round trips of the OCPP central system, on PostgreSQL.

Creates a throw-away PostgreSQL database with ``--stations`` (default 5000) stations on
sites of ten, starts ``rathaus ocpp serve`` as its own process (under ``nice``), and
drives the stations from a pool of simulator processes (``--workers``, niced further so
the server wins the two cores): each station connects with basic auth, boots, reports
its connector, starts a transaction and then sends a heartbeat and a meter value every
``--interval`` seconds (default 60, the target's rate) for ``--steady`` seconds.
Round trips of the steady phase are the measurement (p50/p95/p99); the baseline in the
same run is the same load with ``--baseline`` stations (default 50). Each station sends at
its own random phase within the interval and keeps it across reconnects: independent
stations are not aligned, and a benchmark whose timers all fire together would measure
its own burst. The simulators run on the same cores, so a round trip includes their own
scheduling: their event-loop lag is reported next to it, as are the server's handling
time per call, its loop lag, its garbage-collector pauses and its database backlog for
the same steady phase (from its statistics file).

Then the central system is killed and restarted: every station reconnects (jittered
back-off), and finally stops its transaction. The database must then hold exactly one
finished session per station with the energy the station counted: none lost, none
doubled.

Results are printed and written to ``bench/results/charging.json``. Target: 5,000
stations connected to one process on two cores, p99 round trip under 100 ms. Run from the
repository root: ``nice -n 10 .venv/bin/python bench/charging.py [--stations 1000]``.
Bounded in time: ramp + steady + restart + stop, a few minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from portal import git_commit  # the sibling benchmark's helper
from workflow import percentile, setup_django, throwaway_database

REPO_DIR = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_DIR / "bench" / "results" / "charging.json"
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
SECRET = "bench-secret-" + "x" * 20
STATIONS_PER_SITE = 10
ENERGY_STEP_WH = 180

sys.path.insert(0, str(REPO_DIR / "src"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stations_create(count: int, prefix: str) -> list[str]:
    from rathaus.charging.models import Connector, Site, Station
    from rathaus.charging.services import password_hash
    from rathaus.core.models import Municipality

    municipality, _ = Municipality.objects.get_or_create(
        slug="benchstadt", defaults={"name": "Benchstadt", "ags": "08999099", "state": "BW"}
    )
    sites = Site.objects.bulk_create(
        [
            Site(
                municipality=municipality,
                name=f"{prefix} site {n}",
                latitude=48.7,
                longitude=9.1,
                # Room for every station's full power: the benchmark measures connections and
                # round trips; sharing a scarce limit is proven by the tests.
                grid_limit_w=STATIONS_PER_SITE * 22000,
            )
            for n in range((count + STATIONS_PER_SITE - 1) // STATIONS_PER_SITE)
        ]
    )
    hashed = password_hash(SECRET)
    stations = Station.objects.bulk_create(
        [
            Station(
                municipality=municipality,
                site=sites[n // STATIONS_PER_SITE],
                identity=f"{prefix}-{n:05d}",
                name=f"{prefix} {n}",
                max_power_w=22000,
                password_hash=hashed,
            )
            for n in range(count)
        ],
        batch_size=1000,
    )
    Connector.objects.bulk_create(
        [Connector(municipality=municipality, station=s, connector_id=1) for s in stations],
        batch_size=1000,
    )
    return [s.identity for s in stations]


# --------------------------------------------------------------------------- simulators


async def _station_life(
    identity: str, url: str, plan: dict[str, float], out: dict[str, Any]
) -> None:
    from websockets.exceptions import ConnectionClosed, InvalidHandshake

    from rathaus.charging.ocpp.simulator import SimulatedStation

    sim = SimulatedStation(url=url, identity=identity, password=SECRET, response_timeout=60)
    rng = random.Random(identity)
    await asyncio.sleep(max(0.0, plan["ramp_start"] + rng.random() * plan["ramp"] - time.time()))

    async def connect() -> None:
        delay = 1.0
        while True:
            try:
                await sim.connect()
                await sim.boot()
                return
            except (OSError, InvalidHandshake, ConnectionClosed, TimeoutError):
                out["reconnect_attempts"] += 1
                await asyncio.sleep(delay * (0.5 + rng.random()))
                delay = min(delay * 2, 10.0)

    try:
        # Like a real station: retry the start-up until the central system answers.
        tx = None
        while tx is None:
            try:
                await connect()
                pending = sim.transactions.get(1)
                if pending is not None and not pending.ref:
                    # Our start was sent but not answered: the same message again.
                    tx = await sim.resend_start(1)
                else:
                    await sim.status(1, "Available")
                    tx = await sim.start_transaction(1, f"TAG-{identity}")
            except (ConnectionClosed, TimeoutError, OSError):
                out["startup_retries"] += 1
                await sim.close()
                await asyncio.sleep(5 + rng.random() * 10)
        out["connected"] += 1
        next_at = plan["steady_start"] + rng.random() * plan["interval"]
        restarted = False
        while True:
            await asyncio.sleep(max(0.0, next_at - time.time()))
            now = time.time()
            if now >= plan["stop_at"]:
                break
            measured = plan["steady_start"] <= now < plan["steady_end"]
            try:
                before = len(sim.rtts)
                await sim.heartbeat()
                await sim.meter(1, tx.energy_wh + ENERGY_STEP_WH)
                if measured:
                    out["rtts"].extend(sim.rtts[before:])
            except (ConnectionClosed, TimeoutError, OSError):  # OSError: ConnectionError too
                if not restarted:
                    out["dropped"] += 1
                restarted = True
                await sim.close()
                started = time.time()
                await connect()
                out["reconnect_seconds"].append(time.time() - started)
                out["reconnected"] += 1
                continue
            next_at += plan["interval"]
        await sim.stop_transaction(1)
        out["energy_wh"] += tx.energy_wh
        out["stopped"] += 1
    except Exception as error:
        out["errors"].append(f"{identity}: {type(error).__name__}: {error}"[:200])
    finally:
        await sim.close()


def simulator_worker(args: tuple[list[str], str, dict[str, float]]) -> dict[str, Any]:
    identities, url, plan = args
    os.nice(5)
    out: dict[str, Any] = {
        "rtts": [],
        "loop_lag": [],
        "gc_pauses": [],
        "errors": [],
        "connected": 0,
        "dropped": 0,
        "reconnected": 0,
        "reconnect_attempts": 0,
        "startup_retries": 0,
        "reconnect_seconds": [],
        "stopped": 0,
        "energy_wh": 0,
    }

    async def lag_watch() -> None:
        # How late this process's own event loop runs during the measurement: the round
        # trips above include it, so it is reported next to them.
        loop = asyncio.get_running_loop()
        while time.time() < plan["steady_end"]:
            started = loop.time()
            await asyncio.sleep(0.05)
            if time.time() >= plan["steady_start"]:
                out["loop_lag"].append(max(0.0, loop.time() - started - 0.05))

    gc_started = [0.0]

    def gc_timer(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        elif plan["steady_start"] <= time.time() < plan["steady_end"]:
            out["gc_pauses"].append(time.perf_counter() - gc_started[0])

    gc.callbacks.append(gc_timer)

    async def main() -> None:
        watcher = asyncio.ensure_future(lag_watch())
        await asyncio.gather(*(_station_life(i, url, plan, out) for i in identities))
        await watcher

    asyncio.run(main())
    return out


# --------------------------------------------------------------------------- server


def server_start(
    port: int, database_url: str, workers: int, stats_file: str = ""
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "rathaus.settings.base",
    }
    process = subprocess.Popen(
        [
            "/usr/bin/nice",
            "-n",
            "0",
            str(REPO_DIR / ".venv" / "bin" / "rathaus"),
            "ocpp",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--db-workers",
            str(workers),
            "--poll",
            "2",
            "--stats-file",
            stats_file,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("the central system did not start")


def server_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return float("nan")


def _read_stats(path: str) -> dict[str, Any]:
    # Written by the server every 5 s: connections, its own handling time per call
    # (arrival to answer sent) and its event loop's lag, as cumulative bucket counts.
    try:
        return dict(json.loads(Path(path).read_text()))
    except (OSError, ValueError):
        return {}


def _server_phase(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The server's figures between two snapshots of its statistics: the steady phase,
    shifted by up to the 5 s the server takes between two writes of its file."""
    from rathaus.charging.ocpp.server import Histogram

    phase: dict[str, Any] = {
        "connections": after.get("connections"),
        "db_waiting_at_start": before.get("db_waiting"),
        "db_waiting_at_end": after.get("db_waiting"),
        "calls": after.get("calls", 0) - before.get("calls", 0),
        "rate_limited": after.get("rate_limited", 0) - before.get("rate_limited", 0),
    }
    for name in ("handling", "loop_lag", "gc_pause"):
        counts = [
            a - b
            for a, b in zip(
                after.get(f"{name}_buckets", []),
                before.get(f"{name}_buckets", [0] * len(after.get(f"{name}_buckets", []))),
                strict=True,
            )
        ]
        for label, share in (("p50", 0.5), ("p99", 0.99), ("max", 1.0)):
            phase[f"{name}_{label}_ms"] = Histogram.percentile_ms(counts, share)
    return phase


def run_load(
    *,
    identities: list[str],
    database_url: str,
    workers: int,
    interval: float,
    steady: float,
    ramp: float,
    restart: bool,
    db_workers: int,
) -> dict[str, Any]:
    """One load phase: ramp up, steady measurement, optional restart, stop."""
    port = free_port()
    stats_file = f"/tmp/rathaus-ocpp-bench-{port}.json"  # noqa: S108 - a bench's scratch file
    server = server_start(port, database_url, db_workers, stats_file)
    url = f"ws://127.0.0.1:{port}/ocpp"
    start = time.time() + 3
    plan = {
        "ramp_start": start,
        "ramp": ramp,
        "interval": interval,
        "steady_start": start + ramp + 15,
        "steady_end": start + ramp + 15 + steady,
        "stop_at": start + ramp + 15 + steady + (interval * 1.5 + 30 if restart else 1),
    }
    chunks = [identities[n::workers] for n in range(workers)]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pending = pool.map_async(simulator_worker, [(c, url, plan) for c in chunks])
        restart_info: dict[str, Any] = {}
        time.sleep(max(0.0, plan["steady_start"] - time.time()))
        cpu_before = server_cpu_seconds(server.pid)
        stats_before = _read_stats(stats_file)
        if restart:
            time.sleep(max(0.0, plan["steady_end"] - time.time()))
            cpu_steady = server_cpu_seconds(server.pid) - cpu_before
            server_stats = _server_phase(stats_before, _read_stats(stats_file))
            server.send_signal(signal.SIGKILL)  # a crash, not a polite shutdown
            server.wait()
            killed_at = time.time()
            server = server_start(port, database_url, db_workers)
            restart_info = {"restart_seconds": round(time.time() - killed_at, 2)}
        else:
            time.sleep(max(0.0, plan["steady_end"] - time.time()))
            cpu_steady = server_cpu_seconds(server.pid) - cpu_before
            server_stats = _server_phase(stats_before, _read_stats(stats_file))
        results = pending.get(timeout=plan["stop_at"] - time.time() + 600)
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
    Path(stats_file).unlink(missing_ok=True)
    rtts = [r for result in results for r in result["rtts"]]
    lags = [lag for result in results for lag in result["loop_lag"]]
    gc_pauses = [p for result in results for p in result["gc_pauses"]]
    merged: dict[str, Any] = {
        key: sum(result[key] for result in results)
        for key in (
            "connected",
            "dropped",
            "reconnected",
            "reconnect_attempts",
            "startup_retries",
            "stopped",
            "energy_wh",
        )
    }
    reconnects = [s for result in results for s in result["reconnect_seconds"]]
    errors = [e for result in results for e in result["errors"]]
    return {
        "stations": len(identities),
        **merged,
        "errors": len(errors),
        "error_samples": errors[:5],
        "calls_measured": len(rtts),
        "calls_per_second": round(len(rtts) / steady, 1),
        "rtt_p50_ms": round(percentile(rtts, 0.50) * 1000, 2),
        "rtt_p95_ms": round(percentile(rtts, 0.95) * 1000, 2),
        "rtt_p99_ms": round(percentile(rtts, 0.99) * 1000, 2),
        "rtt_max_ms": round(max(rtts) * 1000, 2) if rtts else None,
        "simulator_loop_lag_p50_ms": round(percentile(lags, 0.50) * 1000, 2),
        "simulator_loop_lag_p99_ms": round(percentile(lags, 0.99) * 1000, 2),
        "simulator_loop_lag_max_ms": round(max(lags) * 1000, 2) if lags else None,
        "simulator_gc_pauses": len(gc_pauses),
        "simulator_gc_pause_max_ms": round(max(gc_pauses) * 1000, 2) if gc_pauses else None,
        "server_cpu_share_steady": round(cpu_steady / steady, 3),
        "server_steady": server_stats,
        "reconnect_p95_s": round(percentile(reconnects, 0.95), 2) if reconnects else None,
        **restart_info,
    }


def sessions_check(prefix: str, expected_energy: int) -> dict[str, Any]:
    from django.db.models import Count, Sum

    from rathaus.charging.models import ChargingSession, Station

    sessions = ChargingSession.objects.filter(station__identity__startswith=prefix + "-")
    per_station = sessions.values("station_id").annotate(n=Count("pk"))
    doubled = sum(1 for row in per_station if row["n"] > 1)
    totals = sessions.aggregate(last=Sum("meter_last_wh"), start=Sum("meter_start_wh"))
    energy = (totals["last"] or 0) - (totals["start"] or 0)
    return {
        "stations": Station.objects.filter(identity__startswith=prefix + "-").count(),
        "sessions": sessions.count(),
        "finished": sessions.filter(status="finished").count(),
        "stations_with_two_sessions": doubled,
        "energy_wh_recorded": energy,
        "energy_wh_counted_by_stations": expected_energy,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stations", type=int, default=5000)
    parser.add_argument("--baseline", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2, help="simulator processes")
    parser.add_argument("--db-workers", type=int, default=4)
    parser.add_argument("--interval", type=float, default=60.0)
    parser.add_argument("--steady", type=float, default=120.0)
    parser.add_argument("--ramp", type=float, default=60.0)
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES", DEFAULT_POSTGRES))
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()

    import tempfile

    with tempfile.TemporaryDirectory() as var_dir, throwaway_database(args.postgres) as url:
        setup_django(url, var_dir)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        baseline_ids = stations_create(args.baseline, "BASE")
        load_ids = stations_create(args.stations, "LOAD")
        from django.db import connections

        connections.close_all()
        print(f"baseline: {args.baseline} stations", flush=True)
        baseline = run_load(
            identities=baseline_ids,
            database_url=url,
            workers=1,
            interval=args.interval,
            steady=args.steady / 2,
            ramp=5,
            restart=False,
            db_workers=args.db_workers,
        )
        print(json.dumps(baseline), flush=True)
        print(f"load: {args.stations} stations, restart after the steady phase", flush=True)
        load = run_load(
            identities=load_ids,
            database_url=url,
            workers=args.workers,
            interval=args.interval,
            steady=args.steady,
            ramp=args.ramp,
            restart=True,
            db_workers=args.db_workers,
        )
        print(json.dumps(load), flush=True)
        integrity = sessions_check("LOAD", load["energy_wh"])
        print(json.dumps(integrity), flush=True)
        connections.close_all()

    report = {
        "benchmark": "charging",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": git_commit(),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_at_end": os.getloadavg(),
        },
        "versions": {name: metadata.version(name) for name in ("ocpp", "websockets", "django")},
        "parameters": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "baseline": baseline,
        "load": load,
        "restart_integrity": integrity,
        "targets": {
            "stations": 5000,
            "p99_ms": 100,
            "met": load["connected"] >= 5000
            and load["rtt_p99_ms"] < 100
            and integrity["sessions"] == integrity["finished"] == integrity["stations"]
            and integrity["stations_with_two_sessions"] == 0,
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["targets"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
