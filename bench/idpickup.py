"""Device protocol throughput and load/pickup cycle time of the ID document pickup terminal.

Creates a throw-away PostgreSQL database, migrates it, registers a terminal with
``--compartments`` compartments and two staff members with terminal cards, then drives the
real HTTP protocol in-process (Django's test client: every middleware, the signature check,
the nonce insert, the view and the service):

1. signed heartbeats, one after another, ``--requests`` times: requests per second and
   latency. Baseline in the same run: the unsigned public status lookup
   (``POST /api/v1/idpickup/status/``, one indexed query), through the same stack; and the
   cost of computing one signature alone.
2. ``--documents`` full cycles: two-person loading (scan, door opened, door closed with the
   PIN issued and e-mailed to the in-memory outbox), then pickup (PIN, fingerprint result,
   door opened, door closed and empty); per-cycle and per-step latencies.
3. PIN entry (``pickup/identify``) with the terminal full of waiting documents, since the
   PIN is checked against every waiting document of the terminal.

Results are printed and written to ``bench/results/idpickup.json``. Run from the repository
root: ``nice -n 10 .venv/bin/python bench/idpickup.py [--documents 100] [--requests 500]``.
The database is dropped at the end, also after a failure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from portal import git_commit  # the sibling benchmark's helper

REPO_DIR = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_DIR / "bench" / "results" / "idpickup.json"
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
HOST = "localhost"

sys.path.insert(0, str(REPO_DIR / "src"))
sys.path.insert(0, str(REPO_DIR))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, round(share * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "count": len(values),
        "median_ms": round(statistics.median(values) * 1000, 3) if values else float("nan"),
        "p95_ms": round(percentile(values, 0.95) * 1000, 3),
        "max_ms": round(max(values) * 1000, 3) if values else float("nan"),
    }


@contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    import psycopg

    name = f"rathaus_bench_idpickup_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(server_url)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django(database_url: str, var_dir: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["RATHAUS_VAR_DIR"] = var_dir
    os.environ.setdefault("SECRET_KEY", "bench-only-" + secrets.token_urlsafe(40))
    os.environ["DJANGO_SETTINGS_MODULE"] = "rathaus.settings.base"
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("RATHAUS_TASK_BACKEND", None)
    import django

    django.setup()
    import logging

    from django.conf import settings

    logging.disable(logging.WARNING)
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


class Transport:
    """The terminal's requests through Django's test client (the full request stack)."""

    def __init__(self) -> None:
        from django.test import Client

        self.client = Client(HTTP_HOST=HOST)

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> Any:
        from rathaus.idpickup.device_client import Answer

        response = self.client.post(
            path, data=body, content_type="application/json", headers=headers
        )
        return Answer(response.status_code, response.json())


def run(args: argparse.Namespace) -> dict[str, Any]:
    from django.core import mail
    from django.core.management import call_command

    from rathaus.accounts.services import user_create
    from rathaus.catalog.models import Location
    from rathaus.core.models import Municipality
    from rathaus.idpickup import services, signing
    from rathaus.idpickup.device_client import TerminalClient
    from rathaus.idpickup.models import IdOrder, Size

    call_command("migrate", verbosity=0)
    mail.outbox = []
    municipality = Municipality.objects.create(
        slug="musterstadt", name="Musterstadt", ags="08999001"
    )
    location = Location.objects.create(
        municipality=municipality, source="local", source_id="bb", name_de="Bürgerbüro"
    )
    from django.contrib.auth.models import Permission

    perms = Permission.objects.filter(
        content_type__app_label="idpickup", codename__in=["manage_idorder", "operate_terminal"]
    )
    staff = []
    for index in range(2):
        user = user_create(
            municipality=municipality,
            email=f"staff{index}@musterstadt.example",
            password=secrets.token_urlsafe(16),
            first_name="Staff",
            last_name=str(index),
            is_staff=True,
        )
        user.user_permissions.set(perms)
        from rathaus.accounts.models import User

        user = User.objects.get(pk=user.pk)
        card, pin = f"BENCH-CARD-{index:014d}", f"{1000 + index}"
        services.staff_credential_set(user=user, card_token=card, pin=pin)
        staff.append((card, pin))
    terminal, key = services.terminal_register(
        municipality=municipality,
        actor=None,
        location=location,
        name="Bench",
        compartments=[(Size.MEDIUM, 100 + (n % 5) * 20) for n in range(args.compartments)],
    )
    device = TerminalClient(device_id=terminal.device_id, key=key, transport=Transport())
    baseline_client = Transport().client

    def order_new(n: int) -> IdOrder:
        order = services.order_create(
            municipality=municipality,
            actor=None,
            kind=IdOrder.Kind.ID_CARD,
            given_name="Erika",
            family_name=f"Bench{n}",
            date_of_birth=date(1980, 1, 1),
            location=location,
            terminal_opt_in=True,
            consent=True,
            contact_channel="email",
            contact_address=f"b{n}@example.org",
            fingerprint_ref=f"FP-{n}",
        )
        barcode = f"BENCH{n:08d}"
        order = services.order_production_start(order=order, actor=None, document_barcode=barcode)
        services.orders_arrive(municipality=municipality, actor=None, barcodes=[barcode])
        return order

    # 1. Signed heartbeats against the unsigned baseline, interleaved in blocks.
    probe = order_new(0)
    signed: list[float] = []
    unsigned: list[float] = []
    for _block in range(args.requests // 50):
        for _ in range(50):
            start = time.perf_counter()
            answer = device.heartbeat()
            signed.append(time.perf_counter() - start)
            assert answer.status == 200, answer.body
        for _ in range(50):
            start = time.perf_counter()
            response = baseline_client.post(
                "/api/v1/idpickup/status/",
                {"booking_number": probe.booking_number, "date_of_birth": "1980-01-01"},
                content_type="application/json",
            )
            unsigned.append(time.perf_counter() - start)
            assert response.status_code == 200
    sign_only: list[float] = []
    for _ in range(2000):
        start = time.perf_counter()
        signing.request_signature(
            key=key,
            method="POST",
            path="/api/v1/idpickup/device/heartbeat/",
            timestamp="1",
            nonce=secrets.token_hex(12),
            body=b'{"camera_ok": true}',
        )
        sign_only.append(time.perf_counter() - start)

    # 2. Full load + pickup cycles.
    pin_pattern = re.compile(r"\b(\d{6})\b")
    steps: dict[str, list[float]] = defaultdict(list)
    cycles: list[float] = []

    def timed(label: str, call: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        result = call()
        steps[label].append(time.perf_counter() - start)
        if not result.ok:
            raise RuntimeError(f"{label}: {result.status} {result.body}")
        return result

    orders = [order_new(n) for n in range(1, args.documents + 1)]
    for order in orders:
        cycle_start = time.perf_counter()
        loaded = timed(
            "load (two staff)", lambda o=order: device.load(staff=staff, barcode=o.document_barcode)
        )
        number = loaded.body["compartment"]
        timed("door opened", lambda n=number: device.event("door_opened", compartment=n))
        timed(
            "door closed (PIN issued and sent)",
            lambda n=number: device.event("door_closed", compartment=n, empty=False),
        )
        pin = pin_pattern.search(mail.outbox[-1].body).group(1)  # type: ignore[union-attr]
        identified = timed("PIN entry", lambda p=pin: device.identify(pin=p))
        verified = timed(
            "identity verified (compartment opens)",
            lambda s=identified.body["session"]: device.verify(session=s),
        )
        number = verified.body["compartment"]
        timed("door opened", lambda n=number: device.event("door_opened", compartment=n))
        timed(
            "door closed empty (handover)",
            lambda n=number: device.event("door_closed", compartment=n, empty=True),
        )
        cycles.append(time.perf_counter() - cycle_start)
    picked = IdOrder.objects.filter(status=IdOrder.Status.PICKED_UP).count()

    # 3. PIN entry with the terminal full.
    full = [order_new(10_000 + n) for n in range(args.compartments)]
    pins = []
    for order in full:
        loaded = device.load(staff=staff, barcode=order.document_barcode)
        device.event("door_closed", compartment=loaded.body["compartment"], empty=False)
        pins.append(pin_pattern.search(mail.outbox[-1].body).group(1))  # type: ignore[union-attr]
    identify_full: list[float] = []
    for pin in pins[: min(len(pins), 100)]:
        start = time.perf_counter()
        answer = device.identify(pin=pin)
        identify_full.append(time.perf_counter() - start)
        assert answer.ok, answer.body

    signed_s, unsigned_s = summary(signed), summary(unsigned)
    return {
        "compartments": args.compartments,
        "documents": args.documents,
        "picked_up": picked,
        "signed_heartbeat": {
            **signed_s,
            "requests_per_second": round(len(signed) / sum(signed), 1),
        },
        "baseline_unsigned_status_lookup": {
            **unsigned_s,
            "requests_per_second": round(len(unsigned) / sum(unsigned), 1),
        },
        "signature_compute_only_us": round(statistics.median(sign_only) * 1e6, 2),
        "cycle_load_and_pickup": summary(cycles),
        "cycle_steps": {label: summary(values) for label, values in steps.items()},
        "pin_entry_with_full_terminal": {"waiting_documents": len(full), **summary(identify_full)},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100, help="load+pickup cycles (100)")
    parser.add_argument("--requests", type=int, default=500, help="heartbeats (500)")
    parser.add_argument("--compartments", type=int, default=60, help="compartments (60)")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
        help="a PostgreSQL server URL to create the throw-away database on",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    if not 1 <= args.documents <= 10_000 or not 50 <= args.requests <= 100_000:
        parser.error("--documents 1..10000, --requests 50..100000")
    if not args.documents <= args.compartments * 100 or not 1 <= args.compartments <= 200:
        parser.error("--compartments 1..200")
    load_before = os.getloadavg()
    with (
        tempfile.TemporaryDirectory(prefix="rathaus-bench-") as var_dir,
        throwaway_database(args.postgres) as database_url,
    ):
        setup_django(database_url, var_dir)
        results = run(args)
    report = {
        "benchmark": "idpickup",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "git": git_commit(),
        **results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    hb, base = results["signed_heartbeat"], results["baseline_unsigned_status_lookup"]
    cycle = results["cycle_load_and_pickup"]
    print(
        f"signed heartbeat: {hb['requests_per_second']} req/s, median {hb['median_ms']} ms, "
        f"p95 {hb['p95_ms']} ms"
    )
    print(
        f"baseline unsigned status lookup: {base['requests_per_second']} req/s, "
        f"median {base['median_ms']} ms, p95 {base['p95_ms']} ms"
    )
    print(f"signature alone: {results['signature_compute_only_us']} µs")
    print(
        f"load+pickup cycle ({results['picked_up']}/{results['documents']} picked up): "
        f"median {cycle['median_ms']} ms, p95 {cycle['p95_ms']} ms"
    )
    for label, values in results["cycle_steps"].items():
        print(f"  {label}: median {values['median_ms']} ms, p95 {values['p95_ms']} ms")
    full = results["pin_entry_with_full_terminal"]
    print(
        f"PIN entry with {full['waiting_documents']} waiting documents: "
        f"median {full['median_ms']} ms, p95 {full['p95_ms']} ms"
    )
    print(f"written to {args.output}")
    return 0 if results["picked_up"] == results["documents"] else 1


if __name__ == "__main__":
    sys.exit(main())
