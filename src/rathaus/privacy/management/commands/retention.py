from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from rathaus.privacy.retention import retention_apply, rules


class Command(BaseCommand):
    help = "Apply the retention rules now (or show what they would do with --dry-run)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count, change nothing.")
        parser.add_argument("--list", action="store_true", help="List the rules and their periods.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for rule in rules():
                self.stdout.write(
                    f"{rule.key:<40} {rule.action:<10} "
                    f"after {rule.default_days} days of {rule.date_field}"
                )
            return
        for result in retention_apply(dry_run=options["dry_run"]):
            if result.deleted or result.anonymised:
                verb = "would change" if options["dry_run"] else "changed"
                self.stdout.write(
                    f"{result.municipality}: {result.rule} {verb}: deleted {result.deleted}, "
                    f"anonymised {result.anonymised} (before {result.cutoff:%Y-%m-%d})"
                )
        self.stdout.write(
            self.style.SUCCESS("retention applied" if not options["dry_run"] else "dry run done")
        )
