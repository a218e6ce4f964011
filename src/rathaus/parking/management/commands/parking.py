"""``rathaus parking``: live data ingestion and site import.

    rathaus parking ingest [--host 127.0.0.1] [--port 1883] [--client-id ID]
        [--username U --password-env VAR] [--batch-size 500] [--flush-seconds 0.2]
    rathaus parking import FILE (.json or .csv) --municipality SLUG
    rathaus parking retrain [--municipality SLUG]

``ingest`` runs until SIGTERM/SIGINT; supervise it like the scheduler. Imports print
what changed; a file that cannot be imported prints the problem, exits with status 1
and saves nothing.
"""

import os
import signal
from pathlib import Path
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rathaus.core.errors import ApplicationError
from rathaus.core.models import Municipality
from rathaus.parking import services
from rathaus.parking.mqtt import Ingester


class Command(BaseCommand):
    help = "Parking: run the MQTT ingester, import sites, retrain forecasts."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        ingest = sub.add_parser("ingest", help="Ingest MQTT readings until stopped.")
        ingest.add_argument("--host", default=os.environ.get("RATHAUS_MQTT_HOST", "127.0.0.1"))
        ingest.add_argument(
            "--port", type=int, default=int(os.environ.get("RATHAUS_MQTT_PORT", "1883"))
        )
        ingest.add_argument("--client-id", default="rathaus-parking-ingest")
        ingest.add_argument("--username", default=os.environ.get("RATHAUS_MQTT_USERNAME", ""))
        ingest.add_argument(
            "--password-env", default="RATHAUS_MQTT_PASSWORD", help="Variable holding the password."
        )
        ingest.add_argument("--batch-size", type=int, default=500)
        ingest.add_argument("--flush-seconds", type=float, default=0.2)
        load = sub.add_parser("import", help="Import sites from the JSON or CSV format.")
        load.add_argument("path", type=Path)
        load.add_argument("--municipality", required=True, help="Slug of the tenant.")
        retrain = sub.add_parser("retrain", help="Refit the forecasts now.")
        retrain.add_argument("--municipality", help="Slug of the tenant (default: all).")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "ingest":
            self._ingest(options)
        elif action == "import":
            municipality = self._municipality(options["municipality"])
            path: Path = options["path"]
            fmt = "csv" if path.suffix.lower() == ".csv" else "json"
            try:
                result = services.sites_import(
                    municipality=municipality, data=path.read_bytes(), fmt=fmt
                )
            except ApplicationError as error:
                details = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.fields.items())
                raise CommandError(f"{error.message} {details}".strip()) from error
            except OSError as error:
                raise CommandError(str(error)) from error
            self.stdout.write(f"{result.created} created, {result.updated} updated")
        else:
            slug = options.get("municipality")
            only = self._municipality(slug) if slug else None
            self.stdout.write(f"{services.forecasts_retrain(municipality=only)} site(s) trained")

    def _municipality(self, slug: str) -> Municipality:
        municipality = Municipality.objects.filter(slug=slug).first()
        if municipality is None:
            raise CommandError(f"No municipality {slug!r}.")
        return municipality

    def _ingest(self, options: dict[str, Any]) -> None:
        ingester = Ingester(
            host=options["host"],
            port=options["port"],
            client_id=options["client_id"],
            username=options["username"],
            password=os.environ.get(options["password_env"], ""),
            batch_size=options["batch_size"],
            flush_seconds=options["flush_seconds"],
        )

        def stop(signum: int, frame: FrameType | None) -> None:
            ingester.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(
            f"parking ingest: {options['host']}:{options['port']} as {options['client_id']}"
        )
        ingester.run()
        stats = ingester.stats
        self.stdout.write(
            f"parking ingest stopped: {stats.received} received, "
            f"{stats.accepted} accepted, {stats.rejected} rejected"
        )
