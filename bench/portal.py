"""Throughput and latency of the citizen portal, served by the real ``rathaus serve``.

Sets up a throw-away installation (SQLite, demo data), starts the production server
stack (gunicorn gthread behind the supervisor) on a free loopback port and drives it
with keep-alive HTTP clients in threads at several concurrency levels. Every target
is compared with the floor, ``/healthz``: a view that returns a constant through the
same middleware stack, measured in the same run at the same concurrency. Results are
printed as a table and written as JSON to ``bench/results/portal.json``.

Run from the repository root: ``make bench`` or ``.venv/bin/python bench/portal.py``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

REPO_DIR = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_DIR / "bench" / "results" / "portal.json"

HOST = "127.0.0.1"
FLOOR = "floor"
# (name, path); the floor comes first, the others are compared with it.
TARGETS: tuple[tuple[str, str], ...] = (
    (FLOOR, "/healthz"),
    ("start page", "/"),
    ("api list", "/api/v1/legal-pages/"),
)
CONCURRENCY_LEVELS: tuple[int, ...] = (1, 8, 32)

# Server configuration under test: what `rathaus serve` runs by default, minus the task worker.
SERVER_WORKERS = 2
SERVER_THREADS = 4

# Per (target, concurrency): a warm-up, then a measurement bounded in count and in time.
MAX_REQUESTS = 2000
MAX_SECONDS = 10.0
WARMUP_REQUESTS = 200
WARMUP_SECONDS = 1.0

REQUEST_TIMEOUT = 30.0
SETUP_TIMEOUT = 300.0
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0

# Environment that would change what is measured; the benchmark measures the embedded
# defaults (SQLite, local-memory cache, JSON logs), so these are not passed on.
ENV_CLEARED = (
    "ALLOWED_HOSTS",
    "LOG_LEVEL",
    "RATHAUS_ACCESS_LOG",
    "RATHAUS_BASE_DOMAIN",
    "RATHAUS_DEFAULT_TENANT",
    "RATHAUS_DEFAULT_TENANT_HOSTS",
    "RATHAUS_TASK_BACKEND",
    "REDIS_URL",
    "STATIC_ROOT",
)
REQUEST_HEADERS = {"Accept": "*/*", "User-Agent": "rathaus-bench/1"}


class BenchError(Exception):
    """The benchmark could not be set up or run; the message says why."""


@dataclass
class PhaseOutcome:
    """What the clients saw in one phase (warm-up or measurement) of one cell."""

    duration_s: float
    latencies_s: list[float]  # of the 2xx responses only
    statuses: Counter[int]
    exceptions: Counter[str]
    reconnects: int


@dataclass
class CellResult:
    """The measurement of one target at one concurrency level."""

    target: str
    path: str
    concurrency: int
    requests: int
    ok: int
    errors: int
    error_detail: dict[str, int]
    duration_s: float
    rps: float
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    stopped_by: str
    reconnects: int
    worker_boots: int
    rps_vs_floor: float | None = None
    p50_vs_floor: float | None = None
    notes: list[str] = field(default_factory=list)


class Client:
    """One benchmark client: a persistent (keep-alive) HTTP connection, reopened on need."""

    # Failures that mean a kept-alive connection went stale (e.g. a gunicorn worker
    # finished its request quota and closed it); the request is retried once on a new one.
    STALE = (http.client.RemoteDisconnected, http.client.BadStatusLine, ConnectionError)

    def __init__(self, port: int) -> None:
        """Prepare a client for the server on ``port``; it connects on first use."""
        self.port = port
        self.conn: http.client.HTTPConnection | None = None
        self.reconnects = 0

    def close(self) -> None:
        """Close the connection, if any."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _roundtrip(self, path: str) -> int:
        """Send one GET, read the whole response and return its status."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=REQUEST_TIMEOUT)
        try:
            self.conn.request("GET", path, headers=REQUEST_HEADERS)
            response = self.conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if response.will_close:
            self.close()
        return response.status

    def get(self, path: str) -> tuple[int, float]:
        """GET ``path``; return the status and the latency in seconds (retry included)."""
        started = time.perf_counter()
        reused = self.conn is not None
        try:
            status = self._roundtrip(path)
        except self.STALE:
            if not reused:
                raise
            self.reconnects += 1
            status = self._roundtrip(path)
        return status, time.perf_counter() - started


def run_phase(
    clients: Sequence[Client], path: str, max_requests: int, max_seconds: float
) -> PhaseOutcome:
    """Let every client GET ``path`` in its own thread until ``max_requests`` requests
    have been issued or ``max_seconds`` have passed, whichever comes first."""
    lock = threading.Lock()
    issued = 0
    clock: dict[str, float] = {}

    def start_clock() -> None:
        clock["start"] = time.perf_counter()
        clock["deadline"] = clock["start"] + max_seconds

    barrier = threading.Barrier(len(clients), action=start_clock)
    latencies: list[list[float]] = [[] for _ in clients]
    statuses: list[Counter[int]] = [Counter() for _ in clients]
    exceptions: list[Counter[str]] = [Counter() for _ in clients]
    ends: list[float] = [0.0 for _ in clients]
    crashes: list[BaseException] = []
    reconnects_before = sum(client.reconnects for client in clients)

    def drive(index: int) -> None:
        nonlocal issued
        client = clients[index]
        try:
            barrier.wait()
            while True:
                with lock:
                    if issued >= max_requests or time.perf_counter() >= clock["deadline"]:
                        break
                    issued += 1
                try:
                    status, seconds = client.get(path)
                except (OSError, http.client.HTTPException) as exc:
                    exceptions[index][type(exc).__name__] += 1
                    continue
                statuses[index][status] += 1
                if 200 <= status < 300:
                    latencies[index].append(seconds)
        except BaseException as exc:
            crashes.append(exc)
        finally:
            ends[index] = time.perf_counter()

    threads = [threading.Thread(target=drive, args=(i,), daemon=True) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if crashes:
        raise BenchError(f"a client thread failed: {crashes[0]!r}") from crashes[0]
    return PhaseOutcome(
        duration_s=max(ends) - clock["start"],
        latencies_s=[value for values in latencies for value in values],
        statuses=sum(statuses, Counter()),
        exceptions=sum(exceptions, Counter()),
        reconnects=sum(client.reconnects for client in clients) - reconnects_before,
    )


def percentile(sorted_values: Sequence[float], pct: float) -> float | None:
    """The nearest-rank percentile of already sorted values, or None when there are none."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summarise(
    name: str,
    path: str,
    concurrency: int,
    outcome: PhaseOutcome,
    max_requests: int,
    worker_boots: int,
) -> CellResult:
    """Turn one measured phase into a result: 2xx responses count as successful; other
    statuses and connection failures are errors. Rate and latencies are of the 2xx."""
    ok = sum(count for status, count in outcome.statuses.items() if 200 <= status < 300)
    responses = sum(outcome.statuses.values())
    failures = sum(outcome.exceptions.values())
    requests = responses + failures
    error_detail = {
        **{
            f"HTTP {status}": count
            for status, count in outcome.statuses.items()
            if not 200 <= status < 300
        },
        **dict(outcome.exceptions),
    }
    ok_latencies = sorted(outcome.latencies_s)
    duration = outcome.duration_s

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 3)

    notes: list[str] = []
    if outcome.reconnects:
        notes.append(f"{outcome.reconnects} stale keep-alive connection(s) reopened")
    if worker_boots:
        notes.append(f"{worker_boots} gunicorn worker(s) booted (max-requests recycling)")
    return CellResult(
        target=name,
        path=path,
        concurrency=concurrency,
        requests=requests,
        ok=ok,
        errors=requests - ok,
        error_detail=error_detail,
        duration_s=round(duration, 4),
        rps=round(ok / duration, 2) if duration > 0 else 0.0,
        p50_ms=ms(percentile(ok_latencies, 50)),
        p90_ms=ms(percentile(ok_latencies, 90)),
        p99_ms=ms(percentile(ok_latencies, 99)),
        stopped_by="count" if requests >= max_requests else "time",
        reconnects=outcome.reconnects,
        worker_boots=worker_boots,
        notes=notes,
    )


def free_port() -> int:
    """A TCP port on the loopback interface that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def bench_env(var_dir: Path) -> dict[str, str]:
    """The environment of every rathaus process: a throw-away installation in ``var_dir``."""
    env = {key: value for key, value in os.environ.items() if key not in ENV_CLEARED}
    env.update(
        RATHAUS_VAR_DIR=str(var_dir),
        DATABASE_URL=f"sqlite:///{var_dir / 'bench.sqlite3'}",
        SECRET_KEY=f"bench-{secrets.token_urlsafe(32)}",
        DJANGO_SETTINGS_MODULE="rathaus.settings.base",
        DEBUG="false",
        PYTHONUNBUFFERED="1",
    )
    return env


def rathaus_command(*args: str) -> list[str]:
    """The argv of a ``rathaus`` management command with this interpreter."""
    return [sys.executable, "-m", "rathaus", *args]


def tail(text: str, lines: int = 30) -> str:
    """The last ``lines`` lines of ``text``, indented for an error message."""
    return "\n".join("    " + line for line in text.strip().splitlines()[-lines:])


def prepare(env: dict[str, str]) -> None:
    """Migrate the database, collect static files and load the demo municipalities."""
    steps = (
        ("migrate", "--no-input"),
        ("collectstatic", "--no-input", "-v0"),
        ("load_demo",),
    )
    for step in steps:
        started = time.monotonic()
        try:
            done = subprocess.run(
                rathaus_command(*step),
                env=env,
                cwd=REPO_DIR,
                capture_output=True,
                text=True,
                timeout=SETUP_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise BenchError(f"'rathaus {step[0]}' took longer than {SETUP_TIMEOUT:.0f} s") from exc
        if done.returncode != 0:
            raise BenchError(
                f"'rathaus {' '.join(step)}' failed with exit code {done.returncode}:\n"
                + tail(done.stdout + "\n" + done.stderr)
            )
        print(f"  rathaus {step[0]:<13} {time.monotonic() - started:5.1f} s", flush=True)


class Server:
    """``rathaus serve`` in its own process group, logging to a file in the var dir."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        """Prepare (not start) a server on a free loopback port."""
        self.env = env
        self.port = free_port()
        self.log_path = log_path
        self.argv = rathaus_command(
            "serve",
            "--host", HOST,
            "--port", str(self.port),
            "--workers", str(SERVER_WORKERS),
            "--threads", str(SERVER_THREADS),
            "--worker", "no",
        )  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None
        self.log: TextIO | None = None

    def start(self) -> None:
        """Start the server and wait until ``/healthz`` answers 200."""
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=REPO_DIR,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        """Poll ``/healthz`` until it answers 200, the server dies, or READY_TIMEOUT passes."""
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT
        last = "no answer"
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise BenchError(
                    f"the server exited with code {code} before it was ready:\n{self.log_tail()}"
                )
            conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
            try:
                conn.request("GET", "/healthz")
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
            except (OSError, http.client.HTTPException) as exc:
                last = type(exc).__name__
            finally:
                conn.close()
            time.sleep(0.2)
        raise BenchError(
            f"GET /healthz did not answer 200 within {READY_TIMEOUT:.0f} s (last: {last}):\n"
            + self.log_tail()
        )

    def log_text(self) -> str:
        """Everything the server has logged so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self) -> str:
        """The end of the server log, for error messages."""
        return tail(self.log_text()) or "    (the server logged nothing)"

    def problem_lines(self, limit: int = 40) -> list[str]:
        """The last ``limit`` lines of the server log that are not INFO (errors, tracebacks)."""
        lines = [
            line
            for line in self.log_text().splitlines()
            if line.strip() and '"level": "INFO"' not in line and "[INFO]" not in line
        ]
        return lines[-limit:]

    def worker_boots(self) -> int:
        """How many gunicorn workers have booted so far (initial ones and replacements)."""
        return self.log_text().count("Booting worker")

    def _signal_group(self, signum: int) -> bool:
        """Send ``signum`` to the server's process group; False if the group is gone."""
        assert self.process is not None
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            return False
        return True

    def stop(self) -> None:
        """SIGTERM the whole process group; SIGKILL whatever is left after STOP_TIMEOUT."""
        if self.process is not None:
            if self.process.poll() is None and self._signal_group(signal.SIGTERM):
                try:
                    self.process.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    print("  server did not stop in time: killing it", file=sys.stderr)
                    self._signal_group(signal.SIGKILL)
                    self.process.wait()
            # gunicorn's processes may outlive the supervisor briefly; they share its group.
            deadline = time.monotonic() + STOP_TIMEOUT
            while self._signal_group(0):
                if time.monotonic() >= deadline:
                    self._signal_group(signal.SIGKILL)
                    break
                time.sleep(0.1)
        if self.log is not None:
            self.log.close()
            self.log = None


def preflight(port: int) -> None:
    """GET every target once and say so if one does not answer 2xx (it is still measured)."""
    client = Client(port)
    try:
        for name, path in TARGETS:
            try:
                status, _ = client.get(path)
            except (OSError, http.client.HTTPException) as exc:
                print(f"  warning: {name} {path}: {type(exc).__name__}", file=sys.stderr)
                continue
            if not 200 <= status < 300:
                print(f"  warning: {name} {path} answered HTTP {status}", file=sys.stderr)
    finally:
        client.close()


def measure(server: Server, args: argparse.Namespace) -> list[CellResult]:
    """Measure every target at every concurrency level, the targets interleaved per level so
    that a target and its floor are measured close together in time."""
    results: list[CellResult] = []
    for concurrency in args.concurrency:
        for name, path in TARGETS:
            clients = [Client(server.port) for _ in range(concurrency)]
            try:
                run_phase(clients, path, args.warmup_requests, args.warmup_seconds)
                boots_before = server.worker_boots()
                outcome = run_phase(clients, path, args.requests, args.seconds)
                boots = server.worker_boots() - boots_before
            finally:
                for client in clients:
                    client.close()
            result = summarise(name, path, concurrency, outcome, args.requests, boots)
            results.append(result)
            print(
                f"  c={concurrency:<3} {name:<11} {result.ok:>5} ok {result.errors:>4} errors "
                f"{result.rps:>8.1f} req/s  p50 {fmt_ms(result.p50_ms)} ms",
                flush=True,
            )
    compare_with_floor(results)
    return results


def compare_with_floor(results: list[CellResult]) -> None:
    """Set each non-floor result's rps and p50 ratio to the floor at the same concurrency."""
    floors = {result.concurrency: result for result in results if result.target == FLOOR}
    for result in results:
        floor = floors.get(result.concurrency)
        if result.target == FLOOR or floor is None:
            continue
        if floor.rps > 0 and result.ok:
            result.rps_vs_floor = round(result.rps / floor.rps, 3)
        if floor.p50_ms and result.p50_ms is not None:
            result.p50_vs_floor = round(result.p50_ms / floor.p50_ms, 3)


def fmt_ms(value: float | None) -> str:
    """A latency in ms for the table."""
    return f"{value:7.2f}" if value is not None else "      -"


def fmt_ratio(value: float | None) -> str:
    """A ratio to the floor for the table."""
    return f"{value:.2f}x" if value is not None else "-"


def table(results: Sequence[CellResult]) -> str:
    """The results as a plain-text table, with notes about errors and recycled workers."""
    header = (
        f"{'target':<11} {'path':<21} {'conc':>4} {'requests':>8} {'errors':>6} {'secs':>6} "
        f"{'req/s':>8} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'rps/floor':>9} {'p50/floor':>9}"
    )
    lines = [header, "-" * len(header)]
    notes: list[str] = []
    for r in results:
        mark = " !" if r.errors else ""
        lines.append(
            f"{r.target:<11} {r.path:<21} {r.concurrency:>4} {r.requests:>8} {r.errors:>6} "
            f"{r.duration_s:>6.2f} {r.rps:>8.1f} {fmt_ms(r.p50_ms)} {fmt_ms(r.p90_ms)} "
            f"{fmt_ms(r.p99_ms)} {fmt_ratio(r.rps_vs_floor):>9} {fmt_ratio(r.p50_vs_floor):>9}"
            + mark
        )
        cell = f"{r.target} at c={r.concurrency}"
        if r.errors:
            detail = ", ".join(f"{key}: {count}" for key, count in sorted(r.error_detail.items()))
            notes.append(f"! {cell}: {r.errors} errors ({detail})")
        notes.extend(f"  {cell}: {note}" for note in r.notes)
    if notes:
        lines.extend(["", *notes])
    return "\n".join(lines)


def git_commit() -> dict[str, Any]:
    """The checked-out commit and whether the working tree differs from it (None if unknown)."""
    git = shutil.which("git")
    if git is None:
        return {"commit": None, "dirty": None}
    try:
        commit = subprocess.run(
            [git, "rev-parse", "HEAD"],
            cwd=REPO_DIR,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            [git, "status", "--porcelain"],
            cwd=REPO_DIR,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit or None, "dirty": bool(status.strip())}


def package_version(name: str) -> str | None:
    """The installed version of ``name``, or None."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def machine(**extra: Any) -> dict[str, Any]:
    """The interpreter and core count of this run, with ``extra`` details."""
    return {"python": platform.python_version(), "cpus": os.cpu_count(), **extra}


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages, or None where the platform has none."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def report(
    results: Sequence[CellResult],
    args: argparse.Namespace,
    started: datetime,
    load: dict[str, list[float] | None],
) -> dict[str, Any]:
    """The JSON document: how, where and on what the benchmark ran, and its results."""
    try:
        usable_cpus: int | None = len(os.sched_getaffinity(0))
    except AttributeError:
        usable_cpus = None
    return {
        "benchmark": "portal",
        "timestamp": started.isoformat(timespec="seconds"),
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
        },
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable_cpus,
        # Other work on the machine competes with client and server: compare with cpu_count.
        "load_average": load,
        "git": git_commit(),
        "packages": {name: package_version(name) for name in ("rathaus", "Django", "gunicorn")},
        "server": {
            "command": "rathaus serve",
            "host": HOST,
            "workers": SERVER_WORKERS,
            "threads": SERVER_THREADS,
            "worker_class": "gthread",
            "task_worker": False,
            "settings": "rathaus.settings.base",
            "debug": False,
            "database": "sqlite",
            "cache": "locmem",
        },
        "client": {
            "kind": "stdlib http.client, one persistent keep-alive connection per thread",
            "same_machine": True,
            "concurrency_levels": list(args.concurrency),
            "max_requests": args.requests,
            "max_seconds": args.seconds,
            "warmup_requests": args.warmup_requests,
            "warmup_seconds": args.warmup_seconds,
            "percentiles": "nearest rank, over 2xx responses",
            "rps": "2xx responses per second of wall time of the measured phase",
        },
        "floor": {"target": FLOOR, "path": dict(TARGETS)[FLOOR]},
        "results": [asdict(result) for result in results],
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options; the defaults are what ``make bench`` runs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--requests",
        type=int,
        default=MAX_REQUESTS,
        help="measured requests per target and level, at most",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=MAX_SECONDS,
        help="measured seconds per target and level, at most",
    )
    parser.add_argument("--warmup-requests", type=int, default=WARMUP_REQUESTS)
    parser.add_argument("--warmup-seconds", type=float, default=WARMUP_SECONDS)
    parser.add_argument(
        "--concurrency",
        type=int,
        nargs="+",
        default=list(CONCURRENCY_LEVELS),
        help="numbers of concurrent clients",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON result file")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.seconds <= 0 or min(args.concurrency) < 1:
        parser.error("--requests, --seconds and --concurrency must be positive")
    return args


def on_sigterm(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into SystemExit so that the server is stopped on the way out."""
    print("bench/portal.py: terminated; stopping the server", file=sys.stderr)
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Set up, serve, measure, report; 0 if every request succeeded, 1 otherwise."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, on_sigterm)
    started = datetime.now(UTC)
    load: dict[str, list[float] | None] = {"before": load_average()}
    with tempfile.TemporaryDirectory(prefix="rathaus-bench-") as tmp:
        var_dir = Path(tmp)
        env = bench_env(var_dir)
        print(f"Setting up a throw-away installation in {var_dir}", flush=True)
        server = Server(env, var_dir / "server.log")
        try:
            prepare(env)
            print(f"Starting the server on http://{HOST}:{server.port}/", flush=True)
            server.start()
            preflight(server.port)
            print("Measuring", flush=True)
            results = measure(server, args)
            if any(result.errors for result in results):
                problems = server.problem_lines()
                print("\nServer log, last lines that are not INFO:", file=sys.stderr)
                print(
                    "\n".join("    " + line[:2000] for line in problems) or "    (none)",
                    file=sys.stderr,
                )
        except BenchError as exc:
            print(f"bench/portal.py: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("bench/portal.py: interrupted; stopping the server", file=sys.stderr)
            return 130
        finally:
            server.stop()
    load["after"] = load_average()
    print()
    print(table(results))
    print(
        f"\nLoad average (1, 5, 15 min) before: {load['before']}, after: {load['after']}, "
        f"CPUs: {os.cpu_count()} ('after' includes this benchmark's own load)."
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report(results, args, started, load), indent=2) + "\n")
    print(f"\nJSON written to {args.output}")
    failed = sum(result.errors for result in results)
    if failed:
        print(f"bench/portal.py: {failed} requests failed; see the notes above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
