"""Take the README's screenshots from a throw-away demo installation.

Creates a temporary ``RATHAUS_VAR_DIR`` with its own SQLite database and secret key,
runs ``migrate`` and ``load_demo``, starts the real server stack (``rathaus serve
--worker no``) on a free loopback port in its own process group, and drives Debian's
Chromium through Playwright in German at 1280x800. The PNG files (the viewport, not
the full page) are written to ``docs/screenshots/``. The server is always stopped and
the temporary directory removed at the end.

Run from the repository root: ``.venv/bin/python scripts/screenshots.py``. The German
text comes from the compiled catalogue (``make messages``); strings missing from it
show in English.
"""

from __future__ import annotations

import argparse
import ast
import http.client
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyotp

REPO_DIR = Path(__file__).resolve().parent.parent
OUTPUT_DIR = REPO_DIR / "docs" / "screenshots"
HOST = "127.0.0.1"
CHROMIUM = Path(os.environ.get("RATHAUS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT: Any = {"width": 1280, "height": 800}
READY_TIMEOUT = 90.0
STOP_TIMEOUT = 40.0
# A README image larger than this is worth a look (the viewport of a page is far smaller).
SIZE_WARNING = 250 * 1024

CITIZEN = "buerger@musterstadt.example"
EDITOR = "redaktion@musterstadt.example"
ADMIN = "admin@musterstadt.example"
CLERK = "sachbearbeitung@musterstadt.example"
# A service of the demo catalogue with an online form (applications/demo.py: the resident
# parking permit, Munich's service 1072043, imported under this slug).
APPLY_SERVICE = "bewohnerparkausweis"


class ScreenshotError(Exception):
    """Setting up, serving or shooting failed; the message says where."""


def demo_constants() -> dict[str, str]:
    """DEMO_PASSWORD and DEMO_TOTP_SECRET, read from the demo module's source.

    Importing the module would need a configured Django; its constants are plain strings.
    """
    spec = importlib.util.find_spec("rathaus.demo.services")
    if spec is None or spec.origin is None:
        raise ScreenshotError("rathaus is not installed in this Python (use .venv/bin/python)")
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id.startswith("DEMO_"):
                    found[target.id] = str(node.value.value)
    missing = {"DEMO_PASSWORD", "DEMO_TOTP_SECRET"} - set(found)
    if missing:
        raise ScreenshotError(f"rathaus.demo.services defines no {', '.join(sorted(missing))}")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def rathaus(env: dict[str, str], *args: str) -> None:
    """Run one management command in the throw-away installation."""
    result = subprocess.run(  # noqa: S603 - our own interpreter and command
        [sys.executable, "-m", "rathaus", *args],
        env=env,
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ScreenshotError(f"rathaus {' '.join(args)} failed:\n{result.stdout}{result.stderr}")


class Server:
    """``rathaus serve`` in its own process group, stopped for certain by ``stop``."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path) -> None:
        self.env, self.port, self.log_path = env, port, log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603
                [
                    sys.executable,
                    "-m",
                    "rathaus",
                    "serve",
                    "--host",
                    HOST,
                    "--port",
                    str(self.port),
                    "--workers",
                    "1",
                    "--worker",
                    "no",
                ],
                env=self.env,
                cwd=REPO_DIR,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT
        last = "no answer"
        while time.monotonic() < deadline:
            if (code := self.process.poll()) is not None:
                raise ScreenshotError(f"the server exited with {code}:\n{self.log_tail()}")
            connection = http.client.HTTPConnection(HOST, self.port, timeout=2)
            try:
                connection.request("GET", "/healthz")
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
            except (OSError, http.client.HTTPException) as error:
                last = type(error).__name__
            finally:
                connection.close()
            time.sleep(0.3)
        raise ScreenshotError(f"/healthz did not answer 200 ({last}):\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _signal_group(self, signum: int) -> bool:
        assert self.process is not None
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            return False
        return True

    def stop(self) -> None:
        """SIGTERM to the supervisor (it stops its children); SIGKILL the group if it hangs."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait()
        # gunicorn's processes share the supervisor's group and may outlive it briefly.
        deadline = time.monotonic() + STOP_TIMEOUT
        while self._signal_group(0):
            if time.monotonic() >= deadline:
                self._signal_group(signal.SIGKILL)
                break
            time.sleep(0.1)


def shoot(page: Any, name: str, taken: list[Path]) -> None:
    """The viewport as a PNG in CSS pixels (small files), into docs/screenshots/."""
    path = OUTPUT_DIR / name
    page.screenshot(path=str(path), type="png", scale="css", full_page=False)
    taken.append(path)
    print(f"  {name}: {urlsplit(page.url).path} ({path.stat().st_size // 1024} KB)")


def sign_in(page: Any, base: str, *, email: str, password: str, next_path: str) -> None:
    """Sign in with e-mail and password on the login page, landing on ``next_path``."""
    page.goto(f"{base}/anmelden/?next={next_path}")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(password)
    page.locator("main form.form button[type=submit]").first.click()
    page.wait_for_load_state()


def take_all(base: str, constants: dict[str, str]) -> list[Path]:
    from playwright.sync_api import sync_playwright

    password = constants["DEMO_PASSWORD"]
    taken: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
        )

        def session(work: Callable[[Any], None]) -> None:
            # A fresh context per person: nobody's cookies leak into the next screenshot.
            context = browser.new_context(viewport=VIEWPORT, locale="de-DE")
            context.add_cookies([{"name": "rathaus_language", "value": "de", "url": base}])
            page = context.new_page()
            page.set_default_timeout(20_000)
            try:
                work(page)
            finally:
                context.close()

        def visitor(page: Any) -> None:
            for path, name in [
                ("/", "portal-home.png"),
                ("/barrierefreiheit/", "accessibility.png"),
                ("/registrieren/", "register.png"),
                ("/kiosk/", "kiosk.png"),
                ("/leistungen/suche/?q=Personalausweis", "services.png"),
            ]:
                page.goto(base + path)
                shoot(page, name, taken)

        def citizen(page: Any) -> None:
            sign_in(page, base, email=CITIZEN, password=password, next_path="/konto/")
            page.wait_for_url(base + "/konto/")
            shoot(page, "account.png", taken)
            # Step up through the test identity provider; stop on its persona page.
            page.goto(base + "/anmelden/oidc/devidp/?next=/konto/")
            page.wait_for_url("**/dev-idp/authorize?**")
            shoot(page, "devidp.png", taken)
            # The first page of an application form: start one (a draft) and stop there.
            response = page.goto(f"{base}/leistungen/{APPLY_SERVICE}/antrag/")
            if response is None or response.status != 200:
                status = response.status if response else "no response"
                raise ScreenshotError(f"no application form for {APPLY_SERVICE} ({status})")
            page.locator("main form.form button[type=submit]").first.click()
            page.wait_for_url("**/konto/antraege/*/**")
            shoot(page, "apply.png", taken)

        def clerk(page: Any) -> None:
            sign_in(page, base, email=CLERK, password=password, next_path="/verwaltung/aufgaben/")
            page.wait_for_url(base + "/verwaltung/aufgaben/")
            shoot(page, "inbox.png", taken)

        def editor(page: Any) -> None:
            sign_in(page, base, email=EDITOR, password=password, next_path="/verwaltung/")
            page.goto(base + "/verwaltung/rechtliches/")
            shoot(page, "backoffice.png", taken)

        def administrator(page: Any) -> None:
            sign_in(
                page, base, email=ADMIN, password=password, next_path="/verwaltung/organisation/"
            )
            page.wait_for_url(base + "/anmelden/code/")
            page.locator("#id_code").fill(pyotp.TOTP(constants["DEMO_TOTP_SECRET"]).now())
            page.locator("main form button[type=submit]").click()
            page.wait_for_url(base + "/verwaltung/organisation/")
            shoot(page, "organisation.png", taken)
            page.goto(base + "/verwaltung/protokoll/")
            # The search form fills the first screen; show the entries below it.
            page.evaluate("document.querySelectorAll('main h2')[1].scrollIntoView()")
            shoot(page, "audit.png", taken)

        try:
            for work in (visitor, citizen, clerk, editor, administrator):
                session(work)
        finally:
            browser.close()
    return taken


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="Keep the temporary directory.")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing (apt-get install chromium)", file=sys.stderr)
        return 1
    constants = demo_constants()
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    var_dir = Path(tempfile.mkdtemp(prefix="rathaus-screenshots-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "rathaus.settings.base",
        "RATHAUS_VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{var_dir / 'rathaus.sqlite3'}",
        "SECRET_KEY": secrets.token_urlsafe(50),
        # Nothing should be mailed, but nothing may reach a real mail server either.
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "RATHAUS_DEV_IDP": "true",
    }
    for name in ("REDIS_URL", "RATHAUS_TASK_BACKEND", "RATHAUS_OIDC_PROVIDERS"):
        env.pop(name, None)
    server = Server(env, free_port(), var_dir / "server.log")
    try:
        print(f"setting up a throw-away installation in {var_dir}")
        rathaus(env, "migrate", "--no-input")
        rathaus(env, "load_demo")
        server.start()
        print(f"serving on {server.url}; taking screenshots into {OUTPUT_DIR}")
        taken = take_all(server.url, constants)
    except ScreenshotError as error:
        print(f"screenshots failed: {error}", file=sys.stderr)
        return 1
    finally:
        server.stop()
        if args.keep:
            print(f"kept {var_dir}")
        else:
            shutil.rmtree(var_dir, ignore_errors=True)
    large = [path.name for path in taken if path.stat().st_size > SIZE_WARNING]
    if large:
        print(f"larger than {SIZE_WARNING // 1024} KB: {', '.join(large)}", file=sys.stderr)
    print(f"{len(taken)} screenshots written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
