"""``rathaus buergerbuero``: the Bürgerbüro's command-line tools.

    rathaus buergerbuero simulate --scenario FILE [--json] [--days N]
    rathaus buergerbuero capacity-split --municipality SLUG [--weeks N]

``simulate`` plays the scenario's office days with the real calling policy and estimator
and prints, per policy, waits, utilisation and the estimator's error (see
docs/modules/buergerbuero.md). A scenario with missing or impossible values prints the
problem and exits with status 1. The shipped scenario is ``scenarios/city-93k.json`` inside
the package (``--scenario city-93k`` finds it).
"""

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rathaus.buergerbuero.simulation import SCENARIO_DIR, ScenarioError, scenario_load, simulate


def scenario_path(value: str) -> Path:
    """A file path, or the name of a scenario shipped with the package."""
    path = Path(value)
    if not path.exists() and (SCENARIO_DIR / f"{value}.json").exists():
        return SCENARIO_DIR / f"{value}.json"
    return path


class Command(BaseCommand):
    help = "Simulate office days and set up the Bürgerbüro's capacity split."
    # The simulation needs no database; a check failing elsewhere must not stop it.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sim = sub.add_parser("simulate", help="Run a scenario with every calling policy.")
        sim.add_argument("--scenario", required=True, help="Scenario file (JSON) or shipped name.")
        sim.add_argument("--json", action="store_true", help="Print the figures as JSON.")
        sim.add_argument("--days", type=int, help="Override the number of days (1-366).")
        split = sub.add_parser(
            "capacity-split",
            help="Write each office's appointment lanes per weekday hour from its ticket history.",
        )
        split.add_argument("--municipality", required=True, help="Slug of the tenant.")
        split.add_argument("--weeks", type=int, default=8, help="History to read (weeks).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "capacity-split":
            self._capacity_split(options)
            return
        try:
            scenario = scenario_load(scenario_path(options["scenario"]))
            if options.get("days") is not None:
                if not 1 <= options["days"] <= 366:
                    raise ScenarioError("--days must be from 1 to 366")
                scenario = replace(scenario, days=options["days"])
        except ScenarioError as error:
            raise CommandError(f"scenario: {error}") from error
        result = simulate(scenario)
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False))
            return
        self.stdout.write(f"{result['scenario']}: {result['days']} days, {result['visits']} visits")
        header = (
            f"{'policy':<18}{'mean':>8}{'p90':>8}{'>30min':>8}{'util':>7}{'MAE':>7}{'naive':>7}"
        )
        self.stdout.write(header)
        for name, figures in result["policies"].items():
            self.stdout.write(
                f"{name:<18}{figures['mean_wait_minutes']:>8}{figures['p90_wait_minutes']:>8}"
                f"{figures['share_over_30_minutes']:>8}{figures['counter_utilisation']:>7}"
                f"{figures['estimator_mae_minutes']:>7}{figures['naive_mae_minutes']:>7}"
            )
        self.stdout.write(json.dumps(result["targets"], ensure_ascii=False))

    def _capacity_split(self, options: dict[str, Any]) -> None:
        from rathaus.buergerbuero import services
        from rathaus.core.models import Municipality

        municipality = Municipality.objects.filter(slug=options["municipality"]).first()
        if municipality is None:
            raise CommandError(f"no municipality {options['municipality']!r}")
        if not 1 <= options["weeks"] <= 52:
            raise CommandError("--weeks must be from 1 to 52")
        written = services.capacity_split_level(municipality=municipality, weeks=options["weeks"])
        self.stdout.write(f"{written} hours set")
