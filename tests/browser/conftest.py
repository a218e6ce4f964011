"""The browser fixtures are suite-wide (tests/playwright_fixtures.py); this keeps the
old import path of the axe helper working."""

from tests.playwright_fixtures import axe_violations

__all__ = ["axe_violations"]
