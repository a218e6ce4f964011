"""``rathaus ocpp serve`` runs the central system; ``rathaus ocpp simulate`` charge points."""

import asyncio
import contextlib
import csv
import logging
import ssl
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from rathaus.charging.ocpp.server import CentralSystem, server_ssl_context
from rathaus.charging.ocpp.simulator import SimulatedStation

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "The OCPP central system (serve) and a charge point simulator (simulate)."
    # A protocol daemon serves no pages: it must start even while a web app's check fails.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        serve = sub.add_parser("serve", help="run the central system")
        serve.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a server
        serve.add_argument("--port", type=int, default=9000)
        serve.add_argument("--tls-cert", default="", help="server certificate (PEM)")
        serve.add_argument("--tls-key", default="", help="server key (PEM)")
        serve.add_argument("--tls-client-ca", default="", help="CA of station certificates")
        serve.add_argument("--db-workers", type=int, default=0, help="0: 1 on SQLite, else 4")
        serve.add_argument("--heartbeat", type=int, default=60, help="interval told at boot")
        serve.add_argument("--rate", type=float, default=5.0, help="calls/s per station")
        serve.add_argument("--burst", type=float, default=100.0)
        serve.add_argument("--poll", type=float, default=1.0, help="command queue poll (s)")
        serve.add_argument("--stats-file", default="", help="write statistics (JSON) every 5 s")
        sim = sub.add_parser("simulate", help="simulated charge points")
        sim.add_argument("--url", default="ws://127.0.0.1:9000/ocpp")
        sim.add_argument("--identity", default="")
        sim.add_argument("--password", default="")
        sim.add_argument("--credentials", default="", help="CSV file: identity,password")
        sim.add_argument("--version", choices=["1.6", "2.0.1"], default="1.6")
        sim.add_argument("--duration", type=float, default=300.0, help="seconds")
        sim.add_argument("--interval", type=float, default=60.0)
        sim.add_argument("--charge", default="", help="start a session with this token")
        sim.add_argument("--ca", default="", help="CA file to verify a wss server")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "serve":
            self._serve(options)
        else:
            self._simulate(options)

    def _serve(self, options: dict[str, Any]) -> None:
        workers = options["db_workers"] or (1 if connection.vendor == "sqlite" else 4)
        central = CentralSystem(
            host=options["host"],
            port=options["port"],
            ssl_context=server_ssl_context(
                options["tls_cert"], options["tls_key"], options["tls_client_ca"]
            ),
            db_workers=workers,
            heartbeat_interval=options["heartbeat"],
            rate=options["rate"],
            burst=options["burst"],
            poll_interval=options["poll"],
            stats_file=options["stats_file"],
        )
        self.stdout.write(f"OCPP central system on port {options['port']} ({workers} db workers)")
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(central.serve_forever())

    def _simulate(self, options: dict[str, Any]) -> None:
        pairs: list[tuple[str, str]] = []
        if options["credentials"]:
            with Path(options["credentials"]).open(encoding="utf-8") as handle:
                pairs = [(row[0], row[1]) for row in csv.reader(handle) if len(row) >= 2]
        elif options["identity"]:
            pairs = [(options["identity"], options["password"])]
        if not pairs:
            raise CommandError("Give --identity and --password, or --credentials.")
        context = None
        if options["url"].startswith("wss://"):
            context = ssl.create_default_context(cafile=options["ca"] or None)

        async def one(identity: str, password: str) -> SimulatedStation:
            station = SimulatedStation(
                url=options["url"],
                identity=identity,
                password=password,
                version=options["version"],
                ssl_context=context,
            )
            await station.connect()
            await station.boot_and_report()
            if options["charge"]:
                await station.start_transaction(1, options["charge"])
            await station.run(duration=options["duration"], interval=options["interval"])
            for connector_id in list(station.transactions):
                await station.stop_transaction(connector_id)
            await station.close()
            return station

        async def main() -> list[SimulatedStation]:
            return list(await asyncio.gather(*(one(i, p) for i, p in pairs)))

        stations = asyncio.run(main())
        rtts = sorted(rtt for station in stations for rtt in station.rtts)
        if rtts:
            p99 = rtts[min(len(rtts) - 1, int(len(rtts) * 0.99))]
            self.stdout.write(
                f"{len(stations)} stations, {len(rtts)} calls, p99 {p99 * 1000:.1f} ms"
            )
