import signal
import time
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from rathaus.core.schedule import registered, schedule_tick


class Command(BaseCommand):
    help = "Enqueue periodic background jobs when their period starts (safe to run several)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=15.0, help="Seconds between ticks.")
        parser.add_argument("--once", action="store_true", help="Tick once and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        running = True

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal running
            running = False

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        jobs = registered()
        self.stdout.write(
            f"scheduler: {len(jobs)} periodic job(s): {', '.join(sorted(jobs)) or '-'}"
        )
        while running:
            schedule_tick()
            if options["once"]:
                return
            deadline = time.monotonic() + options["interval"]
            while running and time.monotonic() < deadline:
                time.sleep(0.2)
