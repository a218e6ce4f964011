"""Demo data of adaptive traffic signal control and its SUMO evaluation.

Loaded idempotently by ``rathaus load_demo``."""

from rathaus.core.models import Municipality


def traffic_demo_load(*, municipality: Municipality) -> None:
    """Nothing to load yet."""
