"""gunicorn hooks used by ``rathaus serve``."""

from typing import Any


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live Prometheus gauges from the shared sample files."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
