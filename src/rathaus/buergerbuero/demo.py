"""Demo data of appointments, walk-in tickets, counters, call display, waiting times.

Loaded idempotently by ``rathaus load_demo``."""

from rathaus.core.models import Municipality


def buergerbuero_demo_load(*, municipality: Municipality) -> None:
    """Nothing to load yet."""
