"""Throughput of online application submission with a file upload, on PostgreSQL.

Creates a throw-away PostgreSQL database, migrates it, publishes a one-page form with a
text field and a required file field for a service without a fee, and drives citizens
through the real views and middleware (Django's test client, in process, keep-alive-free):

- **target, "submission with upload"**: start the application (POST, idempotency key),
  post the page with the typed value and a PDF of ``--file-kb`` KB (content check, scan
  hook, stored on disk), continue to the review, and submit (validation of every page,
  reference number, PDF receipt, process start of the generic application process, status
  e-mail queued). Each request is timed; an application counts when it is submitted.
- **baseline 1, "plain upload"**: the same PDF posted to a minimal view in the same
  middleware stack that only stores it with the default storage.
- **baseline 2, "draft save"**: posting the page of an existing draft with "save", without
  a file.

Each target runs with 1 and with ``--threads`` clients (threads, one database connection
each), bounded by ``--applications`` per client and ``--seconds`` per run. Results are
printed and written to ``bench/results/applications.json``. The database is dropped at the
end, also after a failure. Run from the repository root:
``.venv/bin/python bench/applications.py [--applications 100] [--postgres postgres://...]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import sys
import tempfile
import threading
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from urllib.parse import urlsplit, urlunsplit

from portal import git_commit  # the sibling benchmark's helper

REPO_DIR = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_DIR / "bench" / "results" / "applications.json"
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
HOST = "localhost"

sys.path.insert(0, str(REPO_DIR / "src"))
sys.path.insert(0, str(REPO_DIR))

SCHEMA = {
    "title_de": "Nachweis einreichen",
    "pages": [
        {
            "id": "angaben",
            "title_de": "Angaben",
            "fields": [
                {"id": "name", "type": "text", "label_de": "Name", "required": True},
                {"id": "nachweis", "type": "file", "label_de": "Nachweis", "required": True},
            ],
        }
    ],
}


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, round(share * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "median_ms": round(statistics.median(values) * 1000, 2),
        "p95_ms": round(percentile(values, 0.95) * 1000, 2),
        "max_ms": round(max(values) * 1000, 2),
    }


@contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    """A new PostgreSQL database on ``server_url``'s server, dropped afterwards."""
    import psycopg

    name = f"rathaus_bench_applications_{secrets.token_hex(4)}"
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


def plain_upload(request: Any) -> Any:
    """The baseline: store the posted file as it is, nothing else."""
    from django.core.files.storage import default_storage
    from django.http import HttpResponse

    upload = request.FILES["file"]
    default_storage.save(f"bench/{secrets.token_hex(16)}", upload)
    return HttpResponse(status=201)


def setup_django(database_url: str, var_dir: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["RATHAUS_VAR_DIR"] = var_dir
    os.environ.setdefault("SECRET_KEY", "bench-only-" + secrets.token_urlsafe(40))
    os.environ["DJANGO_SETTINGS_MODULE"] = "rathaus.settings.base"
    for name in ("REDIS_URL", "RATHAUS_TASK_BACKEND", "DEBUG", "ALLOWED_HOSTS"):
        os.environ.pop(name, None)
    import django

    django.setup()
    import logging

    from django.conf import settings
    from django.urls import clear_url_caches, include, path

    # The baseline view sits in the same URL configuration as the application pages.
    urls = types.ModuleType("bench_applications_urls")
    urls.urlpatterns = [  # type: ignore[attr-defined]
        path("bench/upload/", plain_upload),
        path("", include("rathaus.urls")),
    ]
    sys.modules[urls.__name__] = urls
    clear_url_caches()

    logging.disable(logging.WARNING)
    settings.ROOT_URLCONF = urls.__name__
    # Background work (e-mails, service calls) is not part of the submission; the dummy
    # backend accepts the enqueued tasks without storing them.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    settings.RATHAUS_PAYMENT_PROVIDER = "rathaus.applications.payments.TestPaymentProvider"


def fixture(file_kb: int) -> dict[str, Any]:
    """Tenant, unit, published form, and the PDF to upload."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from rathaus.applications import services
    from rathaus.catalog.models import Service
    from rathaus.core.models import Municipality
    from rathaus.organisation.models import OrgUnit

    municipality = Municipality.objects.create(
        slug="musterstadt", name="Musterstadt", ags="08999001", state="BW"
    )
    unit = OrgUnit.objects.create(
        municipality=municipality, code="SV", name_de="Verwaltung", kind="administration"
    )
    unit.path = f"/{unit.pk}/"
    unit.save()
    service = Service.objects.create(
        municipality=municipality,
        source="local",
        source_id="nachweis",
        slug="nachweis",
        name_de="Nachweis einreichen",
    )
    definition = services.form_definition_create(
        municipality=municipality,
        service=service,
        key="nachweis",
        org_unit=unit,
        schema=SCHEMA,
        user=None,
    )
    services.form_version_publish(version=definition.versions.get(), user=None)
    services.generic_process_ensure(municipality=municipality)
    body = (
        b"%PDF-1.4\n"
        + os.urandom(max(file_kb * 1024 - 20, 0)).hex().encode()[: max(file_kb * 1024 - 20, 0)]
    )
    return {"municipality": municipality, "service": service, "pdf": body + b"\n%%EOF\n"}


class Citizen:
    """A signed-in citizen with its own test client."""

    def __init__(self, municipality: Any, number: int) -> None:
        from django.test import Client
        from django.utils import timezone

        from rathaus.accounts.models import User

        self.user = User.objects.create(
            municipality=municipality,
            username=f"buerger-{number}-{secrets.token_hex(3)}",
            email=f"buerger{number}-{secrets.token_hex(3)}@bench.example",
            email_verified_at=timezone.now(),
        )
        self.client = Client(HTTP_HOST=HOST)
        self.client.force_login(self.user)


def upload(pdf: bytes, name: str = "nachweis.pdf") -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, pdf, content_type="application/pdf")


def expect(response: Any, status: int) -> Any:
    if response.status_code != status:
        raise RuntimeError(f"unexpected {response.status_code}: {response.content[:300]!r}")
    return response


def run_target(
    name: str,
    clients: int,
    per_client: int,
    seconds: float,
    prepare: Callable[[Citizen], Any],
    once: Callable[[Citizen, Any, dict[str, list[float]]], None],
    municipality: Any,
) -> dict[str, Any]:
    """Run ``once`` per item in ``clients`` threads, bounded in count and time."""
    from django.db import connection

    citizens = [Citizen(municipality, n) for n in range(clients)]
    states = [prepare(citizen) for citizen in citizens]
    totals: list[float] = []
    parts: dict[str, list[float]] = {}
    lock = threading.Lock()
    errors: list[str] = []
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()

    def work(index: int) -> None:
        local_parts: dict[str, list[float]] = {}
        local_totals: list[float] = []
        try:
            for _ in range(per_client):
                if time.perf_counter() > deadline:
                    break
                begin = time.perf_counter()
                once(citizens[index], states[index], local_parts)
                local_totals.append(time.perf_counter() - begin)
        except Exception as error:  # reported in the results
            errors.append(repr(error)[:300])
        finally:
            connection.close()
            with lock:
                totals.extend(local_totals)
                for key, values in local_parts.items():
                    parts.setdefault(key, []).extend(values)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "target": name,
        "clients": clients,
        "done": len(totals),
        "wall_seconds": round(wall, 2),
        "per_second": round(len(totals) / wall, 2) if wall else None,
        "latency": summary(totals),
        "requests": {key: summary(values) for key, values in parts.items()},
        "errors": errors[:5],
    }


def timed(parts: dict[str, list[float]], label: str, call: Callable[[], Any]) -> Any:
    begin = time.perf_counter()
    result = call()
    parts.setdefault(label, []).append(time.perf_counter() - begin)
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    data = fixture(args.file_kb)
    municipality, service, pdf = data["municipality"], data["service"], data["pdf"]
    start_url = f"/leistungen/{service.slug}/antrag/"

    def submission(citizen: Citizen, _state: Any, parts: dict[str, list[float]]) -> None:
        client = citizen.client
        step = timed(
            parts,
            "start",
            lambda: expect(client.post(start_url, {"idempotency_key": secrets.token_hex(16)}), 302),
        )["Location"]
        review = timed(
            parts,
            "page_with_upload",
            lambda: expect(
                client.post(
                    step, {"name": "Erika", "_file_nachweis": upload(pdf), "_action": "next"}
                ),
                302,
            ),
        )["Location"]
        submit = review.replace("/pruefen/", "/einreichen/")
        confirmation = timed(
            parts, "submit", lambda: expect(client.post(submit, {"confirm": "on"}), 302)
        )["Location"]
        if not confirmation.endswith("/bestaetigung/"):
            raise RuntimeError(f"not submitted: {confirmation}")

    def plain(citizen: Citizen, _state: Any, parts: dict[str, list[float]]) -> None:
        timed(
            parts,
            "upload",
            lambda: expect(citizen.client.post("/bench/upload/", {"file": upload(pdf)}), 201),
        )

    def new_draft(citizen: Citizen) -> str:
        response = expect(
            citizen.client.post(start_url, {"idempotency_key": secrets.token_hex(16)}), 302
        )
        return str(response["Location"])

    def draft_save(citizen: Citizen, step: str, parts: dict[str, list[float]]) -> None:
        timed(
            parts,
            "save",
            lambda: expect(
                citizen.client.post(step, {"name": secrets.token_hex(4), "_action": "save"}),
                302,
            ),
        )

    results = []
    for clients in (1, args.threads):
        per_client = max(args.applications // clients, 1)
        results.append(
            run_target(
                "plain upload (baseline)",
                clients,
                per_client,
                args.seconds,
                lambda c: None,
                plain,
                municipality,
            )
        )
        results.append(
            run_target(
                "draft save (baseline)",
                clients,
                per_client,
                args.seconds,
                new_draft,
                draft_save,
                municipality,
            )
        )
        results.append(
            run_target(
                "submission with upload",
                clients,
                per_client,
                args.seconds,
                lambda c: None,
                submission,
                municipality,
            )
        )
    from rathaus.applications.models import Application

    return {
        "file_kb": args.file_kb,
        "applications_submitted": Application.objects.exclude(status="draft").count(),
        "runs": results,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--applications", type=int, default=100, help="items per target and run (100)"
    )
    parser.add_argument("--threads", type=int, default=4, help="clients of the second run (4)")
    parser.add_argument("--seconds", type=float, default=60.0, help="time limit per run (60)")
    parser.add_argument("--file-kb", type=int, default=256, help="size of the PDF (256 KB)")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
        help="a PostgreSQL server URL to create the throw-away database on",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    if not 1 <= args.applications <= 10_000:
        parser.error("--applications must be between 1 and 10000")
    if not 1 <= args.threads <= 32:
        parser.error("--threads must be between 1 and 32")
    if not 1 <= args.file_kb <= 10 * 1024 - 1:
        parser.error("--file-kb must be between 1 and 10239")
    load_before = os.getloadavg()
    with (
        tempfile.TemporaryDirectory(prefix="rathaus-bench-") as var_dir,
        throwaway_database(args.postgres) as database_url,
    ):
        setup_django(database_url, var_dir)
        results = run(args)
    report = {
        "benchmark": "applications",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "git": git_commit(),
        **results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"PDF {args.file_kb} KB; submitted: {results['applications_submitted']}")
    for item in results["runs"]:
        latency = item["latency"]
        print(
            f"{item['target']:<26} clients {item['clients']}: {item['done']:>4} in "
            f"{item['wall_seconds']:>6} s = {item['per_second']:>7}/s; median "
            f"{latency.get('median_ms')} ms, p95 {latency.get('p95_ms')} ms"
            + (f"; errors {item['errors']}" if item["errors"] else "")
        )
        for label, values in item["requests"].items():
            print(f"    {label:<18} median {values['median_ms']} ms, p95 {values['p95_ms']} ms")
    print(f"written to {args.output}")
    return 1 if any(item["errors"] for item in results["runs"]) else 0


if __name__ == "__main__":
    sys.exit(main())
