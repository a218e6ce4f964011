"""``rathaus catalog``: import and export a municipality's service catalogue.

    rathaus catalog import-dldb SERVICES.json [--locations LOCATIONS.json]
        --municipality SLUG [--dry-run]
    rathaus catalog export --municipality SLUG [--output FILE]
    rathaus catalog import FILE.json --municipality SLUG [--dry-run]
    rathaus catalog schema

Imports print what changed; a file that cannot be imported prints every problem and exits
with status 1, and nothing is saved.
"""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rathaus.catalog import dldb, selectors, services
from rathaus.catalog.catalog_format import DOCUMENT_SCHEMA, CatalogImportError
from rathaus.core.errors import ApplicationError
from rathaus.core.models import Municipality


class Command(BaseCommand):
    help = "Import and export the service catalogue of a municipality."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        dldb_parser = sub.add_parser(
            "import-dldb", help="Import a DLDB export (Berlin/Munich service database)."
        )
        dldb_parser.add_argument("path", type=Path, help="The services export (JSON).")
        dldb_parser.add_argument("--locations", type=Path, help="The locations export (JSON).")
        dldb_parser.add_argument("--municipality", required=True, help="Slug of the tenant.")
        dldb_parser.add_argument("--dry-run", action="store_true", help="Report, save nothing.")
        dldb_parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
        dldb_parser.add_argument(
            "--source", help="Source name for an export of an unknown publisher, e.g. dldb-berlin."
        )
        dldb_parser.add_argument("--attribution", help="Attribution the licence asks for.")
        dldb_parser.add_argument("--licence", default="", help="Licence name, e.g. CC BY 4.0.")
        dldb_parser.add_argument("--licence-url", default="", help="Licence web address.")

        export = sub.add_parser("export", help="Write the catalogue in the own JSON format.")
        export.add_argument("--municipality", required=True, help="Slug of the tenant.")
        export.add_argument("--output", type=Path, help="File to write (default: stdout).")

        own = sub.add_parser("import", help="Import a catalogue in the own JSON format.")
        own.add_argument("path", type=Path, help="The catalogue file (JSON).")
        own.add_argument("--municipality", required=True, help="Slug of the tenant.")
        own.add_argument("--dry-run", action="store_true", help="Report, save nothing.")
        own.add_argument("--json", action="store_true", help="Print the report as JSON.")

        sub.add_parser("schema", help="Print the JSON Schema of the own format.")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "schema":
            self.stdout.write(json.dumps(DOCUMENT_SCHEMA, indent=2, ensure_ascii=False))
            return
        municipality = Municipality.objects.filter(slug=options["municipality"]).first()
        if municipality is None:
            raise CommandError(f"No municipality with the slug {options['municipality']!r}.")
        if action == "export":
            text = json.dumps(
                selectors.catalog_document(municipality=municipality),
                indent=2,
                ensure_ascii=False,
            )
            if options["output"]:
                options["output"].write_text(text + "\n", encoding="utf-8")
            else:
                self.stdout.write(text)
            return
        try:
            if action == "import-dldb":
                publisher = None
                if options["source"] or options["attribution"]:
                    if not (options["source"] and options["attribution"]):
                        raise CommandError("Give --source and --attribution together.")
                    publisher = dldb.Publisher(
                        source=options["source"],
                        attribution=options["attribution"],
                        licence=options["licence"],
                        licence_url=options["licence_url"],
                    )
                report = services.catalog_import_dldb(
                    municipality=municipality,
                    services_path=options["path"],
                    locations_path=options["locations"],
                    dry_run=options["dry_run"],
                    publisher=publisher,
                )
            else:
                report = services.catalog_import(
                    municipality=municipality, path=options["path"], dry_run=options["dry_run"]
                )
        except CatalogImportError as error:
            raise CommandError(
                "\n".join([str(error.message), *(f"  - {line}" for line in error.errors)])
            ) from error
        except ApplicationError as error:
            raise CommandError(str(error.message)) from error
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
        else:
            self.stdout.write(report.as_text())
