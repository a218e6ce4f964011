"""Demo data of the service assistant and wayfinding for kiosk, robot, web and phone.

Loaded idempotently by ``rathaus load_demo``."""

from rathaus.core.models import Municipality


def assistant_demo_load(*, municipality: Municipality) -> None:
    """Nothing to load yet."""
