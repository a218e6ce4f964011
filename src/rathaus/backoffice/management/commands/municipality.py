import os
from getpass import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rathaus.backoffice.services import FirstAdmin, municipality_setup
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
        create.add_argument(
            "--admin-email",
            default="",
            help="Create the first administrator with this address; the password is asked "
            "for (or read from RATHAUS_ADMIN_PASSWORD).",
        )
        create.add_argument("--admin-first-name", default="")
        create.add_argument("--admin-last-name", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            for m in Municipality.objects.order_by("slug"):
                self.stdout.write(
                    f"{m.slug:<20} {m.ags} {m.state} {m.name}{'' if m.is_active else ' (inactive)'}"
                )
            return
        password = ""
        if options["admin_email"]:
            password = os.environ.get("RATHAUS_ADMIN_PASSWORD", "")
            if not password:
                password = getpass("Password of the first administrator: ")
                if password != getpass("Once more: "):
                    raise CommandError("The passwords differ.")
        try:
            municipality = municipality_setup(
                slug=options["slug"],
                name=options["name"],
                ags=options["ags"],
                state=options["state"],
                email=options["email"],
                domains=options["domain"],
                admin=FirstAdmin(
                    email=options["admin_email"],
                    password=password,
                    first_name=options["admin_first_name"],
                    last_name=options["admin_last_name"],
                )
                if options["admin_email"]
                else None,
            )
        except ValidationFailed as error:
            raise CommandError(
                "; ".join(f"{k}: {' '.join(v)}" for k, v in error.fields.items())
                or str(error.message)
            ) from error
        if options["admin_email"]:
            self.stdout.write(f"administrator {options['admin_email']}: Administration, Revision")
        self.stdout.write(self.style.SUCCESS(f"municipality {municipality.slug} is ready"))
