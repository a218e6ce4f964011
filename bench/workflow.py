"""Throughput and step latency of the workflow engine, and the inbox query, on PostgreSQL.

Creates a throw-away PostgreSQL database, migrates it, deploys the shipped models and
drives ``--instances`` (default 1000) instances of the generic application process to
completion through the public services, cycling through its four paths (approved,
rejected, unclear -> decided by a clerk, incomplete -> documents requested -> message ->
approved). Every service call that moves an instance is one engine step (lock, load,
advance, save, mirror rows, audit); its wall time is recorded, and load / advance / save
are timed inside it. The baseline in the same run is SpiffWorkflow alone on the same
model: load, advance and dump in memory, without the database.

Then it adds 10,000 open tasks spread over org units and roles and times the inbox query
(``selectors.user_tasks_for``: first page of 50 and the count) for several staff members.

Results are printed and written to ``bench/results/workflow.json``. Targets: median step
under 20 ms, inbox p95 under 100 ms. Run from the repository root:
``.venv/bin/python bench/workflow.py [--instances 200] [--postgres postgres://...]``.
The database is dropped at the end, also after a failure.
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
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from urllib.parse import urlsplit, urlunsplit

from portal import git_commit  # the sibling benchmark's helper

REPO_DIR = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_DIR / "bench" / "results" / "workflow.json"
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
INBOX_TASKS = 10_000
INBOX_USERS = 6
INBOX_REPEATS = 60
PAGE = 50

sys.path.insert(0, str(REPO_DIR / "src"))
sys.path.insert(0, str(REPO_DIR))


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
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
    """A new PostgreSQL database on ``server_url``'s server, dropped afterwards."""
    import psycopg

    name = f"rathaus_bench_workflow_{secrets.token_hex(4)}"
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


class Timings:
    """Times of load / advance / dump inside the services' steps."""

    def __init__(self) -> None:
        self.parts: dict[str, list[float]] = defaultdict(list)

    def wrap(self, module: Any, name: str, label: str) -> None:
        original = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.parts[label].append(time.perf_counter() - started)

        setattr(module, name, timed)


def setup_django(database_url: str, var_dir: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["RATHAUS_VAR_DIR"] = var_dir
    os.environ.setdefault("SECRET_KEY", "bench-only-" + secrets.token_urlsafe(40))
    os.environ["DJANGO_SETTINGS_MODULE"] = "rathaus.settings.base"
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("RATHAUS_TASK_BACKEND", None)
    import django

    django.setup()
    import logging

    from django.conf import settings

    logging.disable(logging.WARNING)
    # The benchmark calls the job runner itself, right after each step (what the worker
    # does); enqueueing on the database queue would only add rows nobody drains.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


def run(args: argparse.Namespace) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db.models import Count

    call_command("migrate", verbosity=0)
    from django.utils import timezone

    from rathaus.accounts.models import User
    from rathaus.core.models import Municipality
    from rathaus.legal.models import AccessibilityFeedback
    from rathaus.organisation.models import OrgUnit, Role, RoleGrant
    from rathaus.workflow import engine, selectors, services
    from rathaus.workflow.handlers import handlers_load, workflow_handler
    from rathaus.workflow.models import ProcessInstance, ServiceJob, UserTask

    # The engine is measured, not the modules' handlers: discover the real ones first so
    # that these stand-ins replace them.
    handlers_load()
    for name in ("postfach.request_documents", "postfach.send_reminder", "postfach.deliver_notice"):
        workflow_handler(name)(lambda context, **params: {"ok": True})

    municipality = Municipality.objects.create(
        slug="benchstadt", name="Benchstadt", ags="08999099", state="BW"
    )
    root = OrgUnit.objects.create(
        municipality=municipality, code="SV", name_de="Verwaltung", kind="administration"
    )
    root.path = f"/{root.pk}/"
    root.save()
    units = []
    for index in range(10):
        unit = OrgUnit.objects.create(
            municipality=municipality,
            parent=root,
            code=f"FB {index}",
            name_de=f"FB {index}",
            kind="fachbereich",
        )
        unit.path = f"{root.path}{unit.pk}/"
        unit.save()
        units.append(unit)
    from django.contrib.auth.models import Permission

    work = Permission.objects.get(content_type__app_label="workflow", codename="work_on_tasks")
    roles = []
    for key in ("sachbearbeitung", "rechnungspruefung", "buero-ob", "buergermeister", "kasse"):
        role = Role.objects.create(municipality=municipality, key=key, name_de=key)
        role.permissions.add(work)
        roles.append(role)
    clerk = User.objects.create(
        municipality=municipality, username="clerk", email="clerk@bench.example", is_staff=True
    )
    RoleGrant.objects.create(municipality=municipality, user=clerk, role=roles[0], org_unit=root)
    services.process_shipped_deploy(municipality=municipality)

    timings = Timings()
    timings.wrap(engine, "workflow_load", "load")
    timings.wrap(engine, "workflow_new", "load")
    timings.wrap(engine, "workflow_advance", "advance")
    timings.wrap(engine, "workflow_dump", "save")
    steps: list[float] = []

    def step(call: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = call()
        steps.append(time.perf_counter() - started)
        return result

    def jobs() -> None:
        for job_id in ServiceJob.objects.filter(status="pending").values_list("pk", flat=True):
            step(lambda job_id=job_id: services.service_job_run(job_id=job_id))

    def complete(instance: ProcessInstance, element: str, data: dict[str, Any]) -> None:
        task = UserTask.objects.get(instance=instance, element_id=element, status="open")
        step(lambda: services.user_task_complete(task=task, user=clerk, data=data))

    paths = ("approve", "reject", "review", "incomplete")
    objects = AccessibilityFeedback.objects.bulk_create(
        AccessibilityFeedback(municipality=municipality, message=f"Antrag {n}")
        for n in range(args.instances)
    )
    started_all = time.perf_counter()
    instance_ids = []
    for number, business_object in enumerate(objects):
        path = paths[number % len(paths)]
        variables = {"applicant": f"Person {number}"}
        instance = step(
            lambda business_object=business_object, variables=variables: services.instance_start(
                municipality=municipality,
                process_key="generic_application",
                business_object=business_object,
                variables=variables,
            )
        )
        instance_ids.append(instance.pk)
        if path == "incomplete":
            complete(
                instance, "check_completeness", {"complete": False, "missing_documents": "Nachweis"}
            )
            jobs()
            step(
                lambda business_object=business_object: services.message_correlate(
                    municipality=municipality,
                    message_name="documents_received",
                    business_object=business_object,
                    payload={"documents": ["nachweis.pdf"]},
                )
            )
            path = "approve"
        if path == "approve":
            complete(instance, "check_completeness", {"complete": True, "requirements_met": "yes"})
        elif path == "reject":
            complete(instance, "check_completeness", {"complete": True, "requirements_met": "no"})
        else:
            complete(
                instance, "check_completeness", {"complete": True, "requirements_met": "unclear"}
            )
            complete(instance, "decide_manually", {"decision": "approve", "reason": "Ermessen"})
        jobs()
    wall = time.perf_counter() - started_all
    # Before the baseline below calls the same (wrapped) engine functions.
    step_parts = {label: summary(values) for label, values in timings.parts.items()}
    states = dict(
        ProcessInstance.objects.filter(pk__in=instance_ids)
        .values_list("state")
        .annotate(n=Count("pk"))
        .order_by()
    )
    sizes = [
        len(state) + len(json.dumps(variables))
        for state, variables in ProcessInstance.objects.filter(pk__in=instance_ids).values_list(
            "engine_state", "variables"
        )
    ]
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_total_relation_size('workflow_processinstance'),"
            " pg_total_relation_size('workflow_instanceevent'),"
            " pg_total_relation_size('workflow_usertask')"
        )
        instance_bytes, event_bytes, task_bytes = cursor.fetchone()

    # Baseline: SpiffWorkflow alone, the same model and path, in memory.
    version = ProcessInstance.objects.get(pk=instance_ids[0]).version
    parsed = services._parsed(version)
    baseline: list[float] = []
    for _ in range(min(args.instances, 300)):
        t0 = time.perf_counter()
        workflow = engine.workflow_new(parsed, {"applicant": "x"})
        engine.workflow_advance(workflow)
        state = engine.workflow_dump(workflow)
        baseline.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        workflow = engine.workflow_load(parsed, state)
        snapshot = engine.workflow_snapshot(workflow)
        engine.task_complete(
            workflow, snapshot.user_tasks[0].task_id, {"complete": True, "requirements_met": "yes"}
        )
        engine.workflow_advance(workflow)
        engine.workflow_dump(workflow)
        baseline.append(time.perf_counter() - t0)

    # Inbox: 10,000 open tasks over 10 units and 5 roles, some assigned.
    carrier = ProcessInstance.objects.get(pk=instance_ids[-1])
    staff = [clerk]
    for index in range(1, INBOX_USERS):
        user = User.objects.create(
            municipality=municipality,
            username=f"staff{index}",
            email=f"staff{index}@bench.example",
            is_staff=True,
        )
        RoleGrant.objects.create(
            municipality=municipality,
            user=user,
            role=roles[index % len(roles)],
            org_unit=units[index % len(units)],
        )
        staff.append(user)
    import uuid

    now = timezone.now()
    UserTask.objects.bulk_create(
        (
            UserTask(
                municipality=municipality,
                instance=carrier,
                task_id=uuid.uuid4(),
                element_id="check_completeness",
                name="Check completeness",
                candidate_org_unit=units[n % len(units)] if n % 3 else None,
                candidate_role_key=roles[n % len(roles)].key if n % 2 else "",
                assignee=staff[n % len(staff)] if n % 20 == 0 else None,
                due_at=now if n % 7 == 0 else None,
            )
            for n in range(INBOX_TASKS)
        ),
        batch_size=2000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE workflow_usertask")
    inbox: list[float] = []
    visible: dict[str, int] = {}
    for _ in range(INBOX_REPEATS):
        for person in staff:
            fresh = User.objects.get(pk=person.pk)  # a new request has a new user object
            t0 = time.perf_counter()
            tasks = selectors.user_tasks_for(user=fresh)
            page = list(tasks[:PAGE])
            total = tasks.count()
            inbox.append(time.perf_counter() - t0)
            visible[person.username] = total
            assert len(page) == min(PAGE, total)
    open_tasks = UserTask.objects.filter(municipality=municipality, status="open").count()

    return {
        "instances": args.instances,
        "completed": states.get("completed", 0),
        "states": states,
        "wall_seconds": round(wall, 2),
        "instances_per_second": round(args.instances / wall, 2),
        "engine_steps": summary(steps),
        "engine_step_parts": step_parts,
        "baseline_spiffworkflow_in_memory": summary(baseline),
        "stored_bytes_per_instance": {
            "engine_state_and_variables_median": int(statistics.median(sizes)),
            "engine_state_and_variables_max": max(sizes),
            "tables_total_per_instance": int(
                (instance_bytes + event_bytes + task_bytes) / max(args.instances, 1)
            ),
        },
        "inbox": {
            "open_tasks": open_tasks,
            "users": len(staff),
            "page_size": PAGE,
            "visible_per_user": visible,
            **summary(inbox),
        },
        "targets": {
            "median_step_under_20ms": statistics.median(steps) < 0.020,
            "inbox_p95_under_100ms": percentile(inbox, 0.95) < 0.100,
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000, help="instances to drive (1000)")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
        help="a PostgreSQL server URL to create the throw-away database on",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()
    if not 1 <= args.instances <= 100_000:
        parser.error("--instances must be between 1 and 100000")
    load_before = os.getloadavg()
    with (
        tempfile.TemporaryDirectory(prefix="rathaus-bench-") as var_dir,
        throwaway_database(args.postgres) as database_url,
    ):
        setup_django(database_url, var_dir)
        results = run(args)
    report = {
        "benchmark": "workflow",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "spiffworkflow": metadata.version("SpiffWorkflow"),
        "cpus": os.cpu_count(),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "git": git_commit(),
        **results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    steps, parts, base, inbox = (
        results["engine_steps"],
        results["engine_step_parts"],
        results["baseline_spiffworkflow_in_memory"],
        results["inbox"],
    )
    print(
        f"instances: {results['instances']} ({results['completed']} completed) in "
        f"{results['wall_seconds']} s = {results['instances_per_second']} instances/s"
    )
    print(
        f"engine step: median {steps['median_ms']} ms, p95 {steps['p95_ms']} ms "
        f"({steps['count']} steps)"
    )
    for label, values in parts.items():
        print(f"  {label}: median {values['median_ms']} ms, p95 {values['p95_ms']} ms")
    print(
        f"baseline (SpiffWorkflow in memory): median {base['median_ms']} ms, "
        f"p95 {base['p95_ms']} ms"
    )
    print(f"stored per instance: {results['stored_bytes_per_instance']}")
    print(
        f"inbox ({inbox['open_tasks']} open tasks): median {inbox['median_ms']} ms, "
        f"p95 {inbox['p95_ms']} ms"
    )
    print(f"targets: {results['targets']}")
    print(f"written to {args.output}")
    return 0 if results["completed"] == results["instances"] else 1


if __name__ == "__main__":
    sys.exit(main())
