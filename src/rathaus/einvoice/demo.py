"""Demo data of the inbox for incoming XRechnung e-invoices.

Loaded idempotently by ``rathaus load_demo``."""

from rathaus.core.models import Municipality


def einvoice_demo_load(*, municipality: Municipality) -> None:
    """Nothing to load yet."""
