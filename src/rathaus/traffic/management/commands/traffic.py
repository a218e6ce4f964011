"""``rathaus traffic evaluate|import|mqtt``: SUMO evaluation, network import, MQTT input."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from rathaus.traffic.sim.harness import DEFAULT_SEED


class _Bar:
    """A one-line progress bar on the terminal (stderr), one slot per run."""

    def __init__(self, labels: list[str], stream: Any) -> None:
        self.shares = dict.fromkeys(labels, 0.0)
        self.stream = stream
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self._printed = -1

    def update(self, label: str, share: float) -> None:
        self.shares[label] = share
        total = sum(self.shares.values()) / len(self.shares)
        width = 30
        filled = int(total * width)
        done = sum(1 for s in self.shares.values() if s >= 1.0)
        bar = "#" * filled + "." * (width - filled)
        text = f"[{bar}] {total * 100:5.1f}% {done}/{len(self.shares)} runs"
        if self.tty:
            self.stream.write("\r" + text)
            self.stream.flush()
        elif int(total * 10) != self._printed:
            self._printed = int(total * 10)
            self.stream.write(text + "\n")

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")


def _num(metrics: dict[str, Any], key: str) -> str:
    value = metrics.get(key)
    return "-" if value is None else f"{value:.1f}"


class Command(BaseCommand):
    help = "Traffic signals: evaluate controllers in SUMO, import networks, receive MQTT."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        ev = sub.add_parser("evaluate", help="Run controllers on a SUMO scenario.")
        ev.add_argument(
            "--scenario", required=True, action="append", help="Scenario folder (repeatable)."
        )
        ev.add_argument("--controller", default="all", help="Controller name, comma list or 'all'.")
        ev.add_argument("--seconds", type=float, default=None, help="Simulate only this long.")
        ev.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
        ev.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help=f"SUMO's random seed, 0 to 2147483647 (default {DEFAULT_SEED}).",
        )
        ev.add_argument("--json", action="store_true", help="Print the results as JSON.")
        ev.add_argument("--chart", type=Path, default=None, help="Write an SVG chart here.")
        ev.add_argument("--output", type=Path, default=None, help="Write the JSON here.")
        im = sub.add_parser("import", help="Import the traffic lights of a SUMO network.")
        im.add_argument("--municipality", required=True, help="Slug of the municipality.")
        im.add_argument("net", type=Path)
        mq = sub.add_parser("mqtt", help="Receive detector data and priority requests via MQTT.")
        mq.add_argument("--host", default=os.environ.get("RATHAUS_MQTT_HOST", "127.0.0.1"))
        mq.add_argument(
            "--port", type=int, default=int(os.environ.get("RATHAUS_MQTT_PORT", "1883"))
        )
        mq.add_argument("--username", default=os.environ.get("RATHAUS_MQTT_USERNAME", ""))
        mq.add_argument(
            "--password-env", default="RATHAUS_MQTT_PASSWORD", help="Variable holding the password."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "evaluate":
            self._evaluate(options)
        elif action == "import":
            self._import(options)
        else:
            from rathaus.traffic.mqtt import run_forever

            run_forever(
                host=options["host"],
                port=options["port"],
                username=options["username"],
                password=os.environ.get(options["password_env"], ""),
            )

    def _evaluate(self, options: dict[str, Any]) -> None:
        from rathaus.traffic.sim.chart import results_chart
        from rathaus.traffic.sim.evaluate import controllers_expand, evaluate
        from rathaus.traffic.sim.scenario import ScenarioError, scenario_load

        try:
            controllers = controllers_expand(options["controller"])
            scenarios = [scenario_load(Path(s)) for s in options["scenario"]]
        except (ValueError, ScenarioError) as error:
            raise CommandError(str(error)) from error
        if options["seconds"] is not None and options["seconds"] <= 0:
            raise CommandError("--seconds must be positive.")
        if not 0 <= options["seed"] <= 2**31 - 1:
            raise CommandError("--seed must be between 0 and 2147483647.")
        jobs = [(s, c) for s in scenarios for c in controllers]
        bar = _Bar([f"{s.name}/{c}" for s, c in jobs], sys.stderr)
        try:
            results = evaluate(
                jobs,
                cache_dir=Path(settings.VAR_DIR) / "traffic",
                seconds=options["seconds"],
                workers=max(1, options["workers"]),
                seed=options["seed"],
                progress=lambda name, controller, share: bar.update(f"{name}/{controller}", share),
            )
        finally:
            bar.close()
        if options["output"]:
            options["output"].write_text(json.dumps(results, indent=2))
        if options["chart"]:
            options["chart"].write_text(results_chart(results, title="Mean delay per vehicle (s)"))
        if options["json"]:
            self.stdout.write(json.dumps(results, indent=2))
            return
        header = (
            f"{'scenario':14} {'controller':20} {'delay':>8} {'trip':>8} {'wait':>7} "
            f"{'queue':>6} {'thru':>6} {'tele':>4} {'CO2 kg':>8} {'bus':>7} {'unsafe':>6}"
        )
        self.stdout.write(header)
        for row in results:
            m = row["metrics"]
            self.stdout.write(
                f"{row['scenario']:14} {row['controller']:20} {_num(m, 'mean_delay'):>8} "
                f"{_num(m, 'mean_trip_time'):>8} {_num(m, 'mean_waiting_time'):>7} "
                f"{_num(m, 'mean_queue'):>6} {m['throughput']:>6} {m['teleports']:>4} "
                f"{_num(m, 'co2_kg'):>8} {_num(m, 'bus_delay'):>7} {m['safety_violations']:>6}"
            )

    def _import(self, options: dict[str, Any]) -> None:
        from rathaus.core.errors import ApplicationError
        from rathaus.core.models import Municipality
        from rathaus.traffic.services import network_import

        municipality = Municipality.objects.filter(slug=options["municipality"]).first()
        if municipality is None:
            raise CommandError("Unknown municipality.")
        path: Path = options["net"]
        if not path.is_file():
            raise CommandError(f"{path} does not exist.")
        try:
            imported = network_import(
                municipality=municipality, content=path.read_bytes(), network=path.name
            )
        except ApplicationError as error:
            raise CommandError(str(error.message)) from error
        self.stdout.write(f"Imported {len(imported)} intersections.")
