"""``rathaus idpickup``: register terminals, run the expiry job, simulate a terminal.

``rathaus idpickup simulate --base-url URL --device-id ID --key KEY <action>`` is a
terminal simulator that speaks the real HTTP protocol to a running server (the same
client as the tests and the benchmark, ``idpickup.device_client``)::

    rathaus idpickup simulate ... heartbeat
    rathaus idpickup simulate ... load --staff CARD:PIN --staff CARD:PIN --barcode B
    rathaus idpickup simulate ... pickup --pin 123456 [--booking-number N] [--old-document]
    rathaus idpickup simulate ... unload --staff CARD:PIN --staff CARD:PIN --compartment 3
    rathaus idpickup simulate ... event door_closed --compartment 3 [--empty yes|no]
"""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rathaus.catalog.models import Location
from rathaus.core.errors import ApplicationError
from rathaus.core.models import Municipality
from rathaus.idpickup import services
from rathaus.idpickup.device_client import Answer, TerminalClient, UrllibTransport
from rathaus.idpickup.models import DeviceEvent


def _staff(values: list[str]) -> list[tuple[str, str]]:
    result = []
    for value in values or []:
        card, sep, pin = value.rpartition(":")
        if not sep:
            raise CommandError("--staff takes CARD:PIN")
        result.append((card, pin))
    return result


class Command(BaseCommand):
    help = "ID document pickup terminals: register, expire, simulate."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="command")
        register = sub.add_parser("register-terminal", help="Register a terminal; prints its key.")
        register.add_argument("--municipality", metavar="SLUG", required=True)
        register.add_argument("--location", type=int, required=True, help="catalogue location id")
        register.add_argument("--name", required=True)
        register.add_argument(
            "--compartments", default="s:40,s:80,m:80,m:120,l:40", help="size:height,..."
        )
        register.add_argument("--simulator", action="store_true")
        sub.add_parser("expire", help="Send reminders and expire documents now.")
        simulate = sub.add_parser("simulate", help="Act as a terminal over HTTP.")
        simulate.add_argument("--base-url", required=True)
        simulate.add_argument("--device-id", required=True)
        simulate.add_argument("--key", required=True)
        actions = simulate.add_subparsers(dest="action", required=True, metavar="action")
        actions.add_parser("heartbeat")
        load = actions.add_parser("load")
        load.add_argument("--staff", action="append", default=[])
        load.add_argument("--barcode", required=True)
        load.add_argument(
            "--no-close", action="store_true", help="leave the door open (no door report)"
        )
        unload = actions.add_parser("unload")
        unload.add_argument("--staff", action="append", default=[])
        unload.add_argument("--compartment", type=int, required=True)
        pickup = actions.add_parser("pickup")
        pickup.add_argument("--pin", required=True)
        pickup.add_argument("--booking-number", default="")
        pickup.add_argument("--old-document", action="store_true")
        event = actions.add_parser("event")
        event.add_argument("type", choices=DeviceEvent.Kind.values)
        event.add_argument("--compartment", type=int)
        event.add_argument("--empty", choices=["yes", "no"])
        event.add_argument("--event-id")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "register-terminal":
            self.register(options)
        elif options["subcommand"] == "expire":
            self.stdout.write(json.dumps(services.orders_expire()))
        else:
            self.simulate(options)

    def register(self, options: dict[str, Any]) -> None:
        municipality = Municipality.objects.filter(slug=options["municipality"]).first()
        if municipality is None:
            raise CommandError(f"unknown municipality {options['municipality']!r}", returncode=2)
        location = Location.objects.filter(
            municipality=municipality, pk=options["location"]
        ).first()
        if location is None:
            raise CommandError("unknown location", returncode=2)
        layout = []
        for part in options["compartments"].split(","):
            size, _sep, height = part.strip().partition(":")
            if not height.isdigit():
                raise CommandError("compartments are size:height,...")
            layout.append((size, int(height)))
        try:
            terminal, key = services.terminal_register(
                municipality=municipality,
                actor=None,
                location=location,
                name=options["name"],
                compartments=layout,
                simulator=options["simulator"],
            )
        except ApplicationError as error:
            raise CommandError(f"{error.message} {error.fields}") from error
        self.stdout.write(f"device id: {terminal.device_id}\ndevice key: {key}")

    def simulate(self, options: dict[str, Any]) -> None:
        client = TerminalClient(
            device_id=options["device_id"],
            key=options["key"],
            transport=UrllibTransport(options["base_url"]),
        )
        action = options["action"]
        answer: Answer
        if action == "heartbeat":
            answer = client.heartbeat()
        elif action == "load":
            staff = _staff(options["staff"])
            if options["no_close"]:
                answer = client.load(staff=staff, barcode=options["barcode"])
            else:
                answer = client.load_cycle(staff=staff, barcode=options["barcode"])
        elif action == "unload":
            answer = client.unload(
                staff=_staff(options["staff"]), compartment=options["compartment"]
            )
            if answer.ok:
                number = int(answer.body["compartment"])
                client.event("door_opened", compartment=number)
                answer = client.event("door_closed", compartment=number, empty=True)
        elif action == "pickup":
            answer = client.pickup_cycle(
                pin=options["pin"],
                booking_number=options["booking_number"],
                method="old_document" if options["old_document"] else "fingerprint",
            )
        else:
            extra: dict[str, Any] = {}
            if options["empty"]:
                extra["empty"] = options["empty"] == "yes"
            answer = client.event(
                options["type"],
                compartment=options["compartment"],
                event_id=options["event_id"],
                **extra,
            )
        self.stdout.write(json.dumps({"status": answer.status, "body": answer.body}))
        if not answer.ok:
            raise CommandError(answer.code or f"HTTP {answer.status}", returncode=1)
