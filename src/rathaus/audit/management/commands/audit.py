"""``rathaus audit verify [--tenant SLUG]``: check the audit trail's hash chains.

Prints one line per chain. Exit status 0 when every chain is intact, 1 when one is
broken (the message names its first broken entry), 2 for an unknown tenant.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rathaus.audit.models import PLATFORM_CHAIN
from rathaus.audit.verify import chains_verify
from rathaus.core.errors import NotFound
from rathaus.core.models import Municipality


class Command(BaseCommand):
    help = "Work with the audit trail."

    def add_arguments(self, parser: CommandParser) -> None:
        subcommands = parser.add_subparsers(dest="subcommand", required=True, metavar="command")
        verify = subcommands.add_parser(
            "verify",
            help="Recompute every hash chain and name the first broken entry.",
            description="Recompute every hash chain and name the first broken entry.",
        )
        verify.add_argument(
            "--tenant",
            metavar="SLUG",
            help="Check only this municipality's chain (default: every chain).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "verify":
            self.verify(tenant=options.get("tenant"))

    def verify(self, *, tenant: str | None) -> None:
        try:
            reports = chains_verify(municipality_slug=tenant)
        except NotFound as error:
            raise CommandError(str(error.message), returncode=2) from error
        names = dict(Municipality.objects.values_list("pk", "slug"))
        broken = []
        for report in reports:
            name = _chain_name(report.chain, names)
            if report.first_broken is None:
                self.stdout.write(f"{name}: ok ({report.checked} entries)")
                continue
            entry = report.first_broken
            line = (
                f"{name}: BROKEN at entry {entry.sequence} "
                f"(id {entry.event_id if entry.event_id is not None else '-'}): "
                f"{entry.reason}: {entry.detail}"
            )
            self.stdout.write(line)
            broken.append(line)
        if not reports:
            self.stdout.write("no audit events yet")
        if broken:
            raise CommandError(
                "the audit trail is broken; first broken entry per chain:\n  "
                + "\n  ".join(broken),
                returncode=1,
            )


def _chain_name(chain: str, slugs: dict[int, str]) -> str:
    """``platform`` or ``<slug> (chain <id>)``: the slug for people, the key for SQL."""
    if chain == PLATFORM_CHAIN:
        return PLATFORM_CHAIN
    slug = slugs.get(int(chain)) if chain.isdigit() else None
    return f"{slug or '?'} (chain {chain})"
