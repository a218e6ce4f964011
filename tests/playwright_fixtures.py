"""Playwright driving Debian's Chromium against the live test server, with axe-core.

Loaded for the whole suite by ``pytest_plugins`` in tests/conftest.py, so one Chromium
serves every browser test."""

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test.testcases import LiveServerThread

from tests.conftest import require_service

CHROMIUM = Path(os.environ.get("RATHAUS_CHROMIUM", "/usr/bin/chromium"))
AXE = Path(__file__).resolve().parents[1] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests
# make between browser steps are synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


#: Paths of the live server that rathaus itself calls over HTTP while it handles a request.
SELF_CALLED = ("/dev-idp/",)


class TakingTurnsWSGIServer(ThreadedWSGIServer):
    """The live server, whose requests take turns with the database when it is SQLite in
    memory.

    There every request thread uses the test's one connection (so that the server sees
    the test's uncommitted rows). Two requests at once on it, such as a page polling
    every few seconds next to a form being sent, interleave their transactions on one
    connection, and a browser test could hang for good. On PostgreSQL (or a file) each
    thread has its own connection and requests run side by side as in production.

    Paths in :data:`SELF_CALLED` do not wait: rathaus calls them over HTTP from inside
    a request of its own (the OIDC back channel to the test identity provider), so
    waiting for a turn there would wait for ourselves. The calling request is blocked
    meanwhile, so the two do not use the connection at once.
    """

    def set_app(self, application: Any) -> None:
        if not self.connections_override:
            super().set_app(application)
            return
        lock = threading.Lock()

        def taking_turns(environ: Any, start_response: Any) -> Any:
            if str(environ.get("PATH_INFO", "")).startswith(SELF_CALLED):
                return application(environ, start_response)
            with lock:
                response = application(environ, start_response)
            return _ClosedInTurn(response, lock)

        super().set_app(taking_turns)


class _ClosedInTurn:
    """A response whose ``close()`` (Django's request_finished signal, which looks at the
    connection) waits for its turn too."""

    def __init__(self, response: Any, lock: threading.Lock) -> None:
        self.response, self.lock = response, lock

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.response)

    def close(self) -> None:
        with self.lock:
            if hasattr(self.response, "close"):
                self.response.close()


LiveServerThread.server_class = TakingTurnsWSGIServer


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        require_service("Chromium", f"{CHROMIUM} is missing (apt-get install chromium)")
    if not AXE.exists():
        require_service("axe-core", f"{AXE} is missing (cd frontend && npm ci)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object, live_server: object, request: pytest.FixtureRequest) -> Iterator[object]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="de-DE", bypass_csp=True
    )  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]


def axe_violations(page: object) -> list[dict[str, object]]:
    """WCAG 2.0/2.1 level A and AA violations axe-core finds on the current page."""
    page.add_script_tag(path=str(AXE))  # type: ignore[attr-defined]
    result = page.evaluate(  # type: ignore[attr-defined]
        """async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
            resultTypes: ['violations'],
        })"""
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "targets": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
    ]
