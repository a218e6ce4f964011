"""Fixtures of the audit tests: auditors, and the database guard as migrations install it."""

import importlib
from typing import Any

import pytest
from django.db import connection

from rathaus.accounts.models import User
from rathaus.core.models import Municipality
from tests.audit.factories import AUDITOR_PERMISSIONS
from tests.factories import StaffFactory

# The suite builds its database without migrations (--no-migrations), so tests that need
# the append-only triggers install exactly the statements of that migration.
TRIGGERS = importlib.import_module("rathaus.audit.migrations.0003_append_only_triggers")


def triggers_install() -> bool:
    """Install the guard unless present (a run with --migrations has it); whether it did."""
    if trigger_names() & {"audit_auditevent_no_update"}:
        return False
    with connection.cursor() as cursor:
        for statement in TRIGGERS.INSTALL[connection.vendor]:
            cursor.execute(statement)
    return True


def triggers_uninstall() -> None:
    with connection.cursor() as cursor:
        for statement in TRIGGERS.UNINSTALL[connection.vendor]:
            cursor.execute(statement)


def trigger_names() -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_auditevent'::regclass "
                "AND NOT tgisinternal AND tgenabled <> 'D'"
            )
        return {row[0] for row in cursor.fetchall()}


def attacker_lifts_guard() -> None:
    """What someone with the database owner's rights can do: switch the guard off."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for statement in TRIGGERS.SQLITE_UNINSTALL:
                cursor.execute(statement)
        else:
            # ALTER TABLE waits for no one but refuses while deferred foreign key checks
            # of this transaction's inserts are pending; run them first.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")


def raw_sql(sql: str, params: list[Any] | None = None) -> int:
    """Run SQL past the ORM, as an attacker with database access would; the row count."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return int(cursor.rowcount)


@pytest.fixture
def append_only(db: None) -> None:
    """The append-only triggers, rolled back with the test's transaction."""
    triggers_install()


@pytest.fixture
def auditor(municipality: Municipality) -> User:
    user: User = StaffFactory(
        municipality=municipality, email="pruefer@example.org", permissions=AUDITOR_PERMISSIONS
    )
    return user
