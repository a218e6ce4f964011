import os
import shutil
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from rathaus.core.daemons import daemons_select
from rathaus.core.supervisor import Child, Supervisor, rathaus_argv


class Command(BaseCommand):
    help = (
        "Serve rathaus with gunicorn (static files by whitenoise) and, by default, the task worker."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("RATHAUS_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("RATHAUS_PORT", "8000")))
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2"))
        )
        parser.add_argument(
            "--threads", type=int, default=int(os.environ.get("RATHAUS_THREADS", "4"))
        )
        parser.add_argument(
            "--worker",
            choices=["auto", "yes", "no"],
            default=os.environ.get("RATHAUS_SERVE_WORKER", "auto"),
            help="Run the task worker and the scheduler in this process group "
            "(auto: when tasks use the embedded database queue).",
        )
        parser.add_argument(
            "--daemons",
            default=os.environ.get("RATHAUS_SERVE_DAEMONS", "auto"),
            help="The apps' long-running processes to run in this process group: auto "
            "(those that need nothing beyond the embedded default), none, all, or names "
            "separated by commas.",
        )
        parser.add_argument(
            "--no-collectstatic",
            action="store_true",
            help="Skip collecting static files (when a build step did it already).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            daemons = daemons_select(options["daemons"])
        except ValueError as error:
            raise CommandError(str(error)) from error
        if not options["no_collectstatic"]:
            # Pages cannot render without the static manifest; collecting is idempotent.
            call_command("collectstatic", interactive=False, verbosity=0)
        # Prometheus samples are shared between gunicorn's worker processes through files.
        metrics_dir = settings.VAR_DIR / "prometheus"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True, exist_ok=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)

        web = Child(
            name="web",
            essential=True,
            argv=[
                sys.executable,
                "-m",
                "gunicorn",
                "rathaus.wsgi:application",
                "--config",
                "python:rathaus.gunicorn_conf",
                "--bind",
                f"{options['host']}:{options['port']}",
                "--workers",
                str(options["workers"]),
                "--threads",
                str(options["threads"]),
                "--worker-class",
                "gthread",
                # gunicorn's control socket is one path per machine; we don't use it.
                "--no-control-socket",
                "--graceful-timeout",
                "30",
                "--timeout",
                "60",
                "--max-requests",
                "5000",
                "--max-requests-jitter",
                "500",
                "--access-logfile",
                "-" if os.environ.get("RATHAUS_ACCESS_LOG") else "/dev/null",
                "--forwarded-allow-ips",
                os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
            ],
        )
        children = [web]
        run_worker = options["worker"] == "yes" or (
            options["worker"] == "auto" and settings.TASK_BACKEND == "database"
        )
        if run_worker:
            worker = (
                rathaus_argv("rqworker", "--job-class", "django_tasks_rq.Job", "default")
                if settings.TASK_BACKEND == "rq"
                else rathaus_argv("db_worker")
            )
            children.append(Child(name="worker", essential=False, argv=worker))
            children.append(
                Child(name="scheduler", essential=False, argv=rathaus_argv("scheduler"))
            )
        children.extend(
            Child(name=daemon.name, essential=False, argv=rathaus_argv(*daemon.argv))
            for daemon in daemons
        )
        self.stdout.write(
            f"rathaus serving on http://{options['host']}:{options['port']}/ "
            f"({'with' if run_worker else 'without'} task worker"
            + "".join(f", {daemon.name}" for daemon in daemons)
            + ")"
        )
        sys.exit(Supervisor(children).run())
