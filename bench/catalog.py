"""Latency of the service catalogue with the real 287-service Munich export, served by the
real ``rathaus serve``.

Sets up a throw-away installation exactly as ``bench/portal.py`` does (SQLite, demo data),
imports the City of Munich's DLDB export into the demo municipality with
``rathaus catalog import-dldb`` (timing the first import and the idempotent second one),
starts the production server stack and measures, per concurrency level, the floor
(``/healthz``: a constant through the same middleware), catalogue searches and service
pages. Reports p50/p95/p99 latency and throughput, each with its ratio to the floor
measured in the same run. Results are printed and written to
``bench/results/catalog.json``.

The server, client and statistics are ``bench/portal.py``'s, imported unchanged.

Run from the repository root: ``.venv/bin/python bench/catalog.py [--concurrency 1 8]``.
Needs the shared data (``RATHAUS_SHARED_DIR``, default ``../shared``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import portal  # the sibling benchmark's helpers

REPO_DIR = portal.REPO_DIR
DEFAULT_OUTPUT = REPO_DIR / "bench" / "results" / "catalog.json"
SHARED_DIR = Path(os.environ.get("RATHAUS_SHARED_DIR", REPO_DIR.parent / "shared"))
SERVICES_FILE = SHARED_DIR / "data" / "service-catalog" / "munich-dldb-services_de.json"
LOCATIONS_FILE = SHARED_DIR / "data" / "service-catalog" / "munich-dldb-locations_de.json"
MUNICIPALITY = "musterstadt"  # the demo tenant served on loopback

# (name, path); the floor comes first. Searches run the keyword engine over all 287
# services; the service pages are a short and a long one (18 offices, 20 links).
TARGETS: tuple[tuple[str, str], ...] = (
    (portal.FLOOR, "/healthz"),
    ("search 1 word", "/leistungen/suche/?q=Personalausweis"),
    ("search 3 words", "/leistungen/suche/?q=Reisepass+verloren+Kinder"),
    ("search umlaut", "/leistungen/suche/?q=Fuehrerschein+umschreiben"),
    ("service short", "/leistungen/gewerbe-anmeldung/"),
    ("service long", "/leistungen/personalausweis/"),
    ("index", "/leistungen/"),
)
CONCURRENCY_LEVELS = (1, 8)
MAX_REQUESTS = 1000
MAX_SECONDS = 8.0
WARMUP_REQUESTS = 100
WARMUP_SECONDS = 1.0


def catalog_import(env: dict[str, str]) -> dict[str, Any]:
    """Import the Munich export twice; the wall time of each run and what it reported."""
    runs = []
    for _ in range(2):
        started = time.monotonic()
        done = subprocess.run(
            portal.rathaus_command(
                "catalog",
                "import-dldb",
                str(SERVICES_FILE),
                "--locations",
                str(LOCATIONS_FILE),
                "--municipality",
                MUNICIPALITY,
                "--json",
            ),
            env=env,
            cwd=REPO_DIR,
            capture_output=True,
            text=True,
            timeout=portal.SETUP_TIMEOUT,
            check=False,
        )
        seconds = time.monotonic() - started
        if done.returncode != 0:
            raise portal.BenchError(
                f"'rathaus catalog import-dldb' failed with exit code {done.returncode}:\n"
                + portal.tail(done.stdout + "\n" + done.stderr)
            )
        report = json.loads(done.stdout)
        counts = ("created", "updated", "unchanged", "unpublished")
        runs.append(
            {
                "seconds": round(seconds, 3),
                "services": {key: report["services"][key] for key in counts},
                "locations": {key: report["locations"][key] for key in counts},
            }
        )
        print(
            f"  rathaus catalog import-dldb {seconds:5.1f} s (services {runs[-1]['services']})",
            flush=True,
        )
    services = runs[0]["services"]
    total = services["created"] + services["updated"] + services["unchanged"]
    if total != 287:
        raise portal.BenchError(f"expected 287 services in the catalogue, the import saw {total}")
    return {"first": runs[0], "second": runs[1]}


def measure(server: portal.Server, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every target at every level, interleaved per level; p95 added to portal's cells."""
    cells: list[portal.CellResult] = []
    p95: dict[tuple[str, int], float | None] = {}
    for concurrency in args.concurrency:
        for name, path in TARGETS:
            clients = [portal.Client(server.port) for _ in range(concurrency)]
            try:
                portal.run_phase(clients, path, args.warmup_requests, args.warmup_seconds)
                boots_before = server.worker_boots()
                outcome = portal.run_phase(clients, path, args.requests, args.seconds)
                boots = server.worker_boots() - boots_before
            finally:
                for client in clients:
                    client.close()
            cell = portal.summarise(name, path, concurrency, outcome, args.requests, boots)
            value = portal.percentile(sorted(outcome.latencies_s), 95)
            p95[(name, concurrency)] = None if value is None else round(value * 1000, 3)
            cells.append(cell)
            print(
                f"  c={concurrency:<3} {name:<15} {cell.ok:>5} ok {cell.errors:>4} errors "
                f"{cell.rps:>8.1f} req/s  p50 {portal.fmt_ms(cell.p50_ms)} ms  "
                f"p95 {portal.fmt_ms(p95[(name, concurrency)])} ms",
                flush=True,
            )
    portal.compare_with_floor(cells)
    floors = {cell.concurrency: p95[(portal.FLOOR, cell.concurrency)] for cell in cells}
    results = []
    for cell in cells:
        row = asdict(cell)
        row["p95_ms"] = p95[(cell.target, cell.concurrency)]
        floor = floors.get(cell.concurrency)
        row["p95_vs_floor"] = (
            round(row["p95_ms"] / floor, 3)
            if cell.target != portal.FLOOR and floor and row["p95_ms"] is not None
            else None
        )
        results.append(row)
    return results


def table(results: Sequence[dict[str, Any]]) -> str:
    """The results as a plain-text table."""
    header = (
        f"{'target':<15} {'conc':>4} {'requests':>8} {'errors':>6} {'req/s':>8} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'p50/floor':>9} {'p95/floor':>9}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(
            f"{r['target']:<15} {r['concurrency']:>4} {r['requests']:>8} {r['errors']:>6} "
            f"{r['rps']:>8.1f} {portal.fmt_ms(r['p50_ms'])} {portal.fmt_ms(r['p95_ms'])} "
            f"{portal.fmt_ms(r['p99_ms'])} {portal.fmt_ratio(r['p50_vs_floor']):>9} "
            f"{portal.fmt_ratio(r['p95_vs_floor']):>9}" + (" !" if r["errors"] else "")
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options; the defaults keep the run near two minutes on 2 cores."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=MAX_REQUESTS)
    parser.add_argument("--seconds", type=float, default=MAX_SECONDS)
    parser.add_argument("--warmup-requests", type=int, default=WARMUP_REQUESTS)
    parser.add_argument("--warmup-seconds", type=float, default=WARMUP_SECONDS)
    parser.add_argument("--concurrency", type=int, nargs="+", default=list(CONCURRENCY_LEVELS))
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON result file")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.seconds <= 0 or min(args.concurrency) < 1:
        parser.error("--requests, --seconds and --concurrency must be positive")
    return args


def on_sigterm(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into SystemExit so that the server is stopped on the way out."""
    print("bench/catalog.py: terminated; stopping the server", file=sys.stderr)
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Set up, import, serve, measure, report; 0 if every request succeeded, 1 otherwise."""
    args = parse_args(argv)
    if not SERVICES_FILE.is_file():
        print(f"bench/catalog.py: {SERVICES_FILE} is missing (RATHAUS_SHARED_DIR)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, on_sigterm)
    started = datetime.now(UTC)
    load: dict[str, list[float] | None] = {"before": portal.load_average()}
    with tempfile.TemporaryDirectory(prefix="rathaus-bench-catalog-") as tmp:
        var_dir = Path(tmp)
        env = portal.bench_env(var_dir)
        env["RATHAUS_SHARED_DIR"] = str(SHARED_DIR)
        print(f"Setting up a throw-away installation in {var_dir}", flush=True)
        server = portal.Server(env, var_dir / "server.log")
        try:
            portal.prepare(env)
            imports = catalog_import(env)
            print(f"Starting the server on http://{portal.HOST}:{server.port}/", flush=True)
            server.start()
            print("Measuring", flush=True)
            results = measure(server, args)
        except portal.BenchError as exc:
            print(f"bench/catalog.py: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("bench/catalog.py: interrupted; stopping the server", file=sys.stderr)
            return 130
        finally:
            server.stop()
    load["after"] = portal.load_average()
    print()
    print(table(results))
    document = {
        "benchmark": "catalog",
        "timestamp": started.isoformat(timespec="seconds"),
        "python": {"version": platform.python_version()},
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_average": load,
        "git": portal.git_commit(),
        "packages": {
            name: portal.package_version(name) for name in ("rathaus", "Django", "gunicorn")
        },
        "server": {
            "command": "rathaus serve",
            "workers": portal.SERVER_WORKERS,
            "threads": portal.SERVER_THREADS,
            "database": "sqlite",
            "settings": "rathaus.settings.base",
        },
        "catalogue": {
            "source": str(SERVICES_FILE.name),
            "services": 287,
            "import": imports,
        },
        "client": {
            "kind": "stdlib http.client, one persistent keep-alive connection per thread",
            "concurrency_levels": list(args.concurrency),
            "max_requests": args.requests,
            "max_seconds": args.seconds,
            "percentiles": "nearest rank, over 2xx responses",
        },
        "floor": {"target": portal.FLOOR, "path": dict(TARGETS)[portal.FLOOR]},
        "results": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(f"\nJSON written to {args.output}")
    return 1 if any(row["errors"] for row in results) else 0


if __name__ == "__main__":
    sys.exit(main())
