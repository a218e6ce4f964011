"""``rathaus assistant``: ask the service assistant from the command line, import buildings.

    rathaus assistant ask "QUESTION" [--json] [--limit N] [--municipality SLUG]
    rathaus assistant ask --json --batch FILE [--limit N] [--municipality SLUG]
    rathaus assistant import-building LOCATION_ID FLOOR.geojson [FLOOR.geojson ...]

``ask --json`` prints one JSON object per question, one per line, in the order of the
questions: ``{"q": ..., "results": [{"service_id": ..., "score": ..., ...}]}``, best first;
``service_id`` is the catalogue's source id (the DLDB id for imported services). Without
``--municipality`` the active municipality with the most public services is asked.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count, Q

from rathaus.assistant import selectors, services
from rathaus.catalog.models import Location
from rathaus.core.errors import ApplicationError
from rathaus.core.models import Municipality

MAX_BATCH_LINES = 100_000


class Command(BaseCommand):
    help = "Ask the service assistant; import building models."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        ask = sub.add_parser("ask", help="Rank services for a question (or a file of them).")
        ask.add_argument("question", nargs="?", help="The question, in German or English.")
        ask.add_argument("--batch", type=Path, help="A file with one question per line.")
        ask.add_argument("--json", action="store_true", help="Print JSON lines.")
        ask.add_argument("--limit", type=int, default=10, help="Services per question (1-50).")
        ask.add_argument("--municipality", help="Slug of the tenant.")
        building = sub.add_parser("import-building", help="Import GeoJSON floors of a location.")
        building.add_argument("location", type=int, help="Id of the catalogue location.")
        building.add_argument("files", type=Path, nargs="+", help="GeoJSON files, one per floor.")

    def _municipality(self, slug: str | None) -> Municipality:
        if slug:
            found = Municipality.objects.filter(slug=slug, is_active=True).first()
            if found is None:
                raise CommandError(f"No active municipality {slug!r}.")
            return found
        found = (
            Municipality.objects.filter(is_active=True)
            .annotate(n=Count("pk", filter=Q(pk__in=_with_services())))
            .order_by("-n", "pk")
            .first()
        )
        if found is None:
            raise CommandError("There is no municipality; run 'rathaus load_demo' first.")
        return found

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "import-building":
            self._import_building(options)
            return
        municipality = self._municipality(options["municipality"])
        limit = max(1, min(int(options["limit"]), 50))
        if options["batch"]:
            try:
                handle = options["batch"].open(encoding="utf-8", errors="replace")
            except OSError as error:
                raise CommandError(f"Cannot read {options['batch']}: {error.strerror}") from None
            with handle:
                for number, line in enumerate(handle):
                    if number >= MAX_BATCH_LINES:
                        raise CommandError(f"At most {MAX_BATCH_LINES} questions per file.")
                    self._ask(municipality, line.rstrip("\r\n"), limit, options["json"])
            return
        if options["question"] is None:
            raise CommandError("Give a question or --batch FILE.")
        self._ask(municipality, options["question"], limit, options["json"])

    def _ask(self, municipality: Municipality, question: str, limit: int, as_json: bool) -> None:
        results = selectors.assistant_rank(
            municipality=municipality, question=question, limit=limit
        )
        if as_json:
            self.stdout.write(json.dumps({"q": question, "results": results}, ensure_ascii=False))
            return
        self.stdout.write(question)
        if not results:
            self.stdout.write("  (no service found)")
        for rank, item in enumerate(results, start=1):
            why = ", ".join(item["matched"])
            self.stdout.write(
                f"  {rank:2}. {item['name']} [{item['service_id']}] {item['score']:.2f} ({why})"
            )

    def _import_building(self, options: dict[str, Any]) -> None:
        location = Location.objects.filter(pk=options["location"]).first()
        if location is None:
            raise CommandError(f"No location {options['location']}.")
        floors: list[Any] = []
        for path in options["files"]:
            try:
                floors.extend(services.building_floors_read(path.read_bytes()))
            except OSError as error:
                raise CommandError(f"Cannot read {path}: {error.strerror}") from None
            except ApplicationError as error:
                problems = [m for messages in error.fields.values() for m in messages]
                raise CommandError(f"{path}: {'; '.join(problems)}") from None
        try:
            building = services.building_import(location=location, floors=floors)
        except ApplicationError as error:
            for messages in error.fields.values():
                for message in messages:
                    sys.stderr.write(message + "\n")
            raise CommandError("Nothing was imported.") from None
        self.stdout.write(f"Imported {building.floors.count()} floors for {location}.")


def _with_services() -> Any:
    from rathaus.catalog.models import Service

    return Service.objects.filter(is_public=True).values("municipality_id")
