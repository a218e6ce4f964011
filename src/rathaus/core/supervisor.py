"""A small process supervisor for ``rathaus serve``.

Runs the web server and, on the embedded default, the task worker as one process
group: children that crash are restarted with backoff, SIGTERM/SIGINT are passed on
so that both finish their current work (graceful shutdown), and the group exits when
the web server cannot be kept running.
"""

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from types import FrameType

logger = logging.getLogger(__name__)


@dataclass
class Child:
    name: str
    argv: list[str]
    essential: bool
    process: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)


class Supervisor:
    MAX_RESTARTS = 5
    RESTART_WINDOW = 60.0
    SHUTDOWN_TIMEOUT = 35.0

    def __init__(self, children: list[Child]) -> None:
        self.children = children
        self.stopping = False

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(child.argv, env=os.environ.copy())  # noqa: S603
        logger.info("started", extra={"child": child.name, "pid": child.process.pid})

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        for child in self.children:
            self._start(child)
        exit_code = 0
        while not self.stopping:
            time.sleep(0.5)
            for child in self.children:
                assert child.process is not None
                code = child.process.poll()
                if code is None or self.stopping:
                    continue
                now = time.monotonic()
                child.restarts = [t for t in child.restarts if now - t < self.RESTART_WINDOW]
                if len(child.restarts) >= self.MAX_RESTARTS:
                    logger.error("gave up restarting", extra={"child": child.name, "code": code})
                    if child.essential:
                        self.stopping, exit_code = True, 1
                    continue
                logger.warning("restarting", extra={"child": child.name, "code": code})
                child.restarts.append(now)
                time.sleep(min(2 ** len(child.restarts) / 4, 8))
                self._start(child)
        self.shutdown()
        return exit_code

    def shutdown(self) -> None:
        for child in self.children:
            if child.process and child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.SHUTDOWN_TIMEOUT
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                logger.error("killing", extra={"child": child.name})
                child.process.kill()
                child.process.wait()


def rathaus_argv(*args: str) -> list[str]:
    """Run a management command of this installation in a child process."""
    return [sys.executable, "-m", "rathaus", *args]
