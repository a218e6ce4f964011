"""``rathaus workflow deploy-shipped --municipality SLUG``: deploy the shipped process models.

Also ``rathaus workflow tick``: fire due timers and retries, remind about overdue tasks and
escalate them once (what the scheduler does every 30 seconds), for operators and scripts.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rathaus.core.errors import ValidationFailed
from rathaus.core.models import Municipality
from rathaus.workflow import services


class Command(BaseCommand):
    help = "Work with the workflow engine."

    def add_arguments(self, parser: CommandParser) -> None:
        subcommands = parser.add_subparsers(dest="subcommand", required=True, metavar="command")
        deploy = subcommands.add_parser(
            "deploy-shipped",
            help="Deploy the process models shipped with rathaus for a municipality.",
            description="Deploy the process models shipped with rathaus for a municipality.",
        )
        deploy.add_argument("--municipality", metavar="SLUG", required=True)
        subcommands.add_parser(
            "tick",
            help="Fire due timers and service-call retries once.",
            description="Fire due timers and service-call retries once.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "deploy-shipped":
            self.deploy_shipped(slug=options["municipality"])
        elif options["subcommand"] == "tick":
            timers = services.timers_fire()
            jobs = services.service_jobs_due_run()
            overdue = services.user_tasks_overdue_mark()
            escalated = services.user_tasks_escalate()
            self.stdout.write(
                f"timers: {timers}, jobs: {jobs}, overdue: {overdue}, escalated: {escalated}"
            )

    def deploy_shipped(self, *, slug: str) -> None:
        municipality = Municipality.objects.filter(slug=slug).first()
        if municipality is None:
            raise CommandError(f"unknown municipality {slug!r}", returncode=2)
        try:
            versions = services.process_shipped_deploy(municipality=municipality)
        except ValidationFailed as error:
            raise CommandError(f"{error.message}: {error.fields}") from error
        for version in versions:
            default = " (default)" if version.is_default else ""
            self.stdout.write(f"{version.definition.key}: version {version.number}{default}")
            for warning in version.metadata.get("warnings", []):
                self.stdout.write(f"  warning: {warning}")
