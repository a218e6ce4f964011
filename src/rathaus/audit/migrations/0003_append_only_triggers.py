"""The database itself refuses to change or remove audit events (ADR 0008).

UPDATE and DELETE of ``audit_auditevent`` rows fail on SQLite and PostgreSQL, and so
does TRUNCATE on PostgreSQL (SQLite has none: ``DELETE FROM`` without WHERE fires the
row trigger). The error is an integrity error on both, so the ORM raises
``django.db.IntegrityError``. Only ``rathaus flush`` (which empties the whole database,
as test teardown does) lifts the guard, inside its own transaction; see
``audit/management/commands/flush.py``.

The statements are module constants so that tests can install exactly these triggers
on a test database built without migrations.
"""

from django.db import migrations

TABLE = "audit_auditevent"

SQLITE_INSTALL = [
    f"""CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: UPDATE is not allowed'); END""",
    f"""CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: DELETE is not allowed'); END""",
]
SQLITE_UNINSTALL = [
    f"DROP TRIGGER IF EXISTS {TABLE}_no_delete",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_update",
]

POSTGRESQL_INSTALL = [
    f"""CREATE OR REPLACE FUNCTION {TABLE}_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $body$
    BEGIN
        RAISE EXCEPTION USING
            MESSAGE = '{TABLE} is append-only: ' || TG_OP || ' is not allowed',
            ERRCODE = 'restrict_violation';
    END;
    $body$""",
    f"""CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION {TABLE}_append_only()""",
    f"""CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION {TABLE}_append_only()""",
    f"""CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_append_only()""",
]
POSTGRESQL_UNINSTALL = [
    f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE}",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_delete ON {TABLE}",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_update ON {TABLE}",
    f"DROP FUNCTION IF EXISTS {TABLE}_append_only()",
]

INSTALL = {"sqlite": SQLITE_INSTALL, "postgresql": POSTGRESQL_INSTALL}
UNINSTALL = {"sqlite": SQLITE_UNINSTALL, "postgresql": POSTGRESQL_UNINSTALL}


def install(apps, schema_editor):
    # Other databases are not supported by rathaus; they get no guard rather than a
    # failed migration.
    for statement in INSTALL.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement)


def uninstall(apps, schema_editor):
    for statement in UNINSTALL.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0002_view_and_export_permissions_only"),
    ]

    operations = [
        migrations.RunPython(install, uninstall),
    ]
