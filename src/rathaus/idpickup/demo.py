"""Demo data of ID documents picked up from a locker terminal.

Loaded idempotently by ``rathaus load_demo``."""

from rathaus.core.models import Municipality


def idpickup_demo_load(*, municipality: Municipality) -> None:
    """Nothing to load yet."""
