"""Production settings pass Django's deployment checks; ``rathaus serve`` runs and stops cleanly."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "rathaus.settings.production",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "rathaus.example,.rathaus.example",
    "REDIS_URL": "redis://127.0.0.1:6379/14",
    "DATABASE_URL": "postgres://rathaus@127.0.0.1:5432/rathaus",
}


def _environ(extra: dict[str, str]) -> dict[str, str]:
    """The test process' environment without what only the test process may use."""
    base = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {**base, **extra}


def _run(
    args: list[str], env: dict[str, str], timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "rathaus", *args],
        env=_environ(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_production_settings_pass_check_deploy(tmp_path: Path) -> None:
    env = {
        **PRODUCTION_ENV,
        "RATHAUS_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
    }
    result = _run(["check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "REDIS_URL"])
def test_production_settings_refuse_to_start_without(tmp_path: Path, missing: str) -> None:
    env = {**PRODUCTION_ENV, "RATHAUS_VAR_DIR": str(tmp_path), missing: ""}
    result = _run(["check"], env)
    assert result.returncode != 0
    assert missing in result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_runs_web_and_worker_and_shuts_down_gracefully(tmp_path: Path) -> None:
    env = {
        "RATHAUS_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "SECRET_KEY": "serve-test-" + "k" * 40,
        "DJANGO_SETTINGS_MODULE": "rathaus.settings.base",
    }
    assert _run(["migrate", "--no-input", "-v0"], env).returncode == 0
    assert _run(["load_demo"], env).returncode == 0
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "rathaus", "serve", "--port", str(port), "--workers", "1"],
        env=_environ(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        body = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/readyz", timeout=2
                ) as response:
                    body = response.read()
                    break
            except OSError:
                time.sleep(0.3)
        assert b'"status": "ok"' in body
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            assert b"Musterstadt" in response.read()
        children = subprocess.run(  # noqa: S603
            ["pgrep", "-f", "-s", str(server.pid), "db_worker"],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        )
        assert children.stdout.strip(), "the task worker runs in the same process group"
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=45) == 0
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
