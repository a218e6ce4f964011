"""Demo data of parking management, guidance and open parking data.

Loaded idempotently by ``rathaus load_demo``."""

from rathaus.core.models import Municipality


def parking_demo_load(*, municipality: Municipality) -> None:
    """Nothing to load yet."""
