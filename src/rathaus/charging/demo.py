"""Demo data of the OCPP central system for municipal charging stations.

Loaded idempotently by ``rathaus load_demo``."""

from rathaus.core.models import Municipality


def charging_demo_load(*, municipality: Municipality) -> None:
    """Nothing to load yet."""
