"""Django's ``flush``, able to empty the append-only audit table.

The database refuses DELETE of audit events (and TRUNCATE on PostgreSQL; migration
``audit.0003``). Emptying the whole database is the one legitimate exception, and test
teardown depends on it (``TransactionTestCase`` flushes with DELETE on SQLite and
TRUNCATE on PostgreSQL). This command lifts the guard for its own transaction only:
on SQLite it drops the DELETE trigger and creates it again from the definition the
database holds; on PostgreSQL it disables the TRUNCATE trigger. If anything fails the
transaction rolls back, guard included. See ADR 0008.

App commands take precedence over Django's own, so ``call_command("flush")`` and
``rathaus flush`` both come here.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management.commands import flush
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from rathaus.audit.models import AuditEvent

PROMPT = """You have requested a flush of the database.
This will IRREVERSIBLY DESTROY all data currently in the "%s" database,
including the audit trail, and return each table to an empty state.
Are you sure you want to do this?

    Type 'yes' to continue, or 'no' to cancel: """


@contextmanager
def append_only_guard_lifted(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Within a transaction on ``connection``: allow emptying the audit event table."""
    table = AuditEvent._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name = %s",
                [f"{table}_no_delete"],
            )
            triggers = cursor.fetchall()
            for name, _sql in triggers:
                cursor.execute(f'DROP TRIGGER "{name}"')
            yield
            for _name, sql in triggers:
                cursor.execute(sql)
        elif connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass(%s) AND tgname = %s",
                [table, f"{table}_no_truncate"],
            )
            names = [row[0] for row in cursor.fetchall()]
            for name in names:
                cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER "{name}"')
            yield
            for name in names:
                cursor.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER "{name}"')
        else:
            yield


class Command(flush.Command):
    help = flush.Command.help + " The audit trail's append-only guard is lifted for this."

    def handle(self, **options: Any) -> None:
        database = options["database"]
        connection = connections[database]
        # Ask before taking any lock: the guard is lifted only once confirmed.
        if options["interactive"] and input(PROMPT % connection.settings_dict["NAME"]) != "yes":
            self.stdout.write("Flush cancelled.")
            return
        with transaction.atomic(using=database), append_only_guard_lifted(connection):
            super().handle(**{**options, "interactive": False})
