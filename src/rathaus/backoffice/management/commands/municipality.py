from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rathaus.backoffice.services import municipality_setup
from rathaus.core.errors import ValidationFailed
from rathaus.core.models import Municipality


class Command(BaseCommand):
    help = "Create or list municipalities (tenants)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="List municipalities.")
        create = sub.add_parser("create", help="Create a municipality (idempotent per slug).")
        create.add_argument("--slug", required=True)
        create.add_argument("--name", required=True)
        create.add_argument("--ags", required=True, help="Official municipality key, 8 digits.")
        create.add_argument("--state", required=True, help="Federal state code, e.g. BW.")
        create.add_argument("--email", default="")
        create.add_argument("--domain", action="append", default=[], help="Host name (repeatable).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            for m in Municipality.objects.order_by("slug"):
                self.stdout.write(
                    f"{m.slug:<20} {m.ags} {m.state} {m.name}{'' if m.is_active else ' (inactive)'}"
                )
            return
        try:
            municipality = municipality_setup(
                slug=options["slug"],
                name=options["name"],
                ags=options["ags"],
                state=options["state"],
                email=options["email"],
                domains=options["domain"],
            )
        except ValidationFailed as error:
            raise CommandError(
                "; ".join(f"{k}: {' '.join(v)}" for k, v in error.fields.items())
            ) from error
        self.stdout.write(self.style.SUCCESS(f"municipality {municipality.slug} is ready"))
