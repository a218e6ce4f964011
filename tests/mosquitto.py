"""A Mosquitto of a test's own with the shipped configuration (deploy/mosquitto/rathaus.conf),
on a free loopback port, with its own users and ACL: the system broker is never touched."""

import os
import pwd
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import require_service

MOSQUITTO = Path("/usr/sbin/mosquitto")
USERS_TOOL = Path("/usr/bin/mosquitto_passwd")
SHIPPED = Path(__file__).resolve().parents[1] / "deploy" / "mosquitto" / "rathaus.conf"
#: The shipped ACL (user names rathaus-ingest, rathaus-traffic, municipality slugs).
SHIPPED_ACL = SHIPPED.with_name("rathaus.acl")
LOCAL = {"listener", "persistence_location", "password_file", "acl_file", "log_dest", "user"}


class OwnBroker:
    def __init__(self, directory: Path, users: dict[str, str], acl: str | None = None) -> None:
        self.directory = directory
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        passwd = directory / "passwd"
        passwd.write_text("")
        for user, password in users.items():
            subprocess.run([USERS_TOOL, "-b", passwd, user, password], check=True)  # noqa: S603 (fixed binary, our arguments)
        (directory / "acl").write_text(SHIPPED_ACL.read_text() if acl is None else acl)
        kept = [
            line
            for line in SHIPPED.read_text().splitlines()
            if line.split() and line.split()[0] not in LOCAL
        ]
        (directory / "mosquitto.conf").write_text(
            "\n".join(
                [
                    *kept,
                    f"listener {self.port} 127.0.0.1",
                    f"persistence_location {directory}/",
                    f"password_file {passwd}",
                    f"acl_file {directory / 'acl'}",
                    f"log_dest file {directory / 'mosquitto.log'}",
                    "",
                ]
            )
        )
        if os.geteuid() == 0:  # Mosquitto drops root for "mosquitto" (or nobody)
            try:
                owner = pwd.getpwnam("mosquitto")
            except KeyError:
                owner = pwd.getpwnam("nobody")
            for path in [directory, *directory.iterdir()]:
                os.chown(path, owner.pw_uid, owner.pw_gid)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 (fixed binary, our arguments)
            [MOSQUITTO, "-c", self.directory / "mosquitto.conf"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise AssertionError("own Mosquitto did not start with the shipped configuration")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # saves its persistence
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


@contextmanager
def own_broker_running(users: dict[str, str], acl: str | None = None) -> Iterator[OwnBroker]:
    """A started :class:`OwnBroker` (the shipped ACL unless ``acl`` is given), stopped on
    exit; fails loudly without Mosquitto."""
    if not (MOSQUITTO.exists() and USERS_TOOL.exists()):
        require_service("mosquitto", "the mosquitto binary to start an own broker")
    # Not pytest's tmp_path: its parents are closed to the user Mosquitto runs as.
    with tempfile.TemporaryDirectory() as directory:
        broker = OwnBroker(Path(directory), users, acl)
        broker.start()
        try:
            yield broker
        finally:
            broker.stop()
