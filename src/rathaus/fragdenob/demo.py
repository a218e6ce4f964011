"""Demo data of the moderated public dialogue between citizens and the mayor.

Loaded idempotently by ``rathaus load_demo``."""

from rathaus.core.models import Municipality


def fragdenob_demo_load(*, municipality: Municipality) -> None:
    """Nothing to load yet."""
