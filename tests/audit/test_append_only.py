"""The database refuses to change or remove audit events; only ``flush`` may empty it."""

from collections.abc import Callable, Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from rathaus.audit.models import AuditChainHead, AuditEvent
from rathaus.audit.services import audit_record
from rathaus.audit.verify import chain_verify
from rathaus.core.models import Municipality
from tests.audit.conftest import (
    raw_sql,
    trigger_names,
    triggers_install,
    triggers_uninstall,
)
from tests.factories import MunicipalityFactory

GUARD = {
    "sqlite": {"audit_auditevent_no_update", "audit_auditevent_no_delete"},
    "postgresql": {
        "audit_auditevent_no_update",
        "audit_auditevent_no_delete",
        "audit_auditevent_no_truncate",
    },
}


def _refused(action: Callable[[], Any], operation: str) -> None:
    # A savepoint, because a failed statement spoils PostgreSQL's transaction.
    with (
        pytest.raises(IntegrityError, match=f"append-only: {operation} is not allowed"),
        transaction.atomic(),
    ):
        action()


@pytest.fixture
def events(append_only: None, municipality: Municipality) -> list[AuditEvent]:
    return [audit_record(municipality=municipality, action=f"test.{n}") for n in range(3)]


@pytest.mark.django_db
def test_orm_updates_are_refused(events: list[AuditEvent], municipality: Municipality) -> None:
    event = events[1]
    event.action = "harmless"
    _refused(lambda: event.save(), "UPDATE")
    _refused(lambda: AuditEvent.objects.filter(pk=event.pk).update(action="harmless"), "UPDATE")
    _refused(lambda: AuditEvent.objects.update(data={}), "UPDATE")
    # Nothing changed
    assert list(AuditEvent.objects.order_by("sequence").values_list("action", flat=True)) == [
        "test.0",
        "test.1",
        "test.2",
    ]
    assert chain_verify(chain=str(municipality.pk)).ok


@pytest.mark.django_db
def test_orm_deletes_are_refused(events: list[AuditEvent], municipality: Municipality) -> None:
    _refused(lambda: events[2].delete(), "DELETE")
    _refused(lambda: AuditEvent.objects.filter(pk=events[0].pk).delete(), "DELETE")
    _refused(lambda: AuditEvent.objects.all().delete(), "DELETE")
    assert AuditEvent.objects.count() == 3
    assert chain_verify(chain=str(municipality.pk)).ok


@pytest.mark.django_db
def test_raw_sql_changes_are_refused_too(events: list[AuditEvent]) -> None:
    _refused(lambda: raw_sql("UPDATE audit_auditevent SET action = 'x'"), "UPDATE")
    _refused(lambda: raw_sql("DELETE FROM audit_auditevent"), "DELETE")
    if connection.vendor == "postgresql":
        # (TRUNCATE would otherwise stop earlier, at this transaction's deferred FK checks)
        raw_sql("SET CONSTRAINTS ALL IMMEDIATE")
        _refused(lambda: raw_sql("TRUNCATE audit_auditevent CASCADE"), "TRUNCATE")
    assert AuditEvent.objects.count() == 3


@pytest.mark.django_db
def test_appending_still_works_under_the_guard(events: list[AuditEvent]) -> None:
    event = audit_record(municipality=events[0].municipality, action="test.3")
    assert event.sequence == 4
    assert AuditChainHead.objects.get(chain=event.chain).sequence == 4


@pytest.mark.django_db
def test_the_migration_installs_the_guard_and_its_reverse_removes_it(
    events: list[AuditEvent],
) -> None:
    assert trigger_names() >= GUARD[connection.vendor]
    # When the migration is reversed
    triggers_uninstall()
    # Then the guard is gone and rows can be changed again
    assert trigger_names() & GUARD[connection.vendor] == set()
    assert AuditEvent.objects.filter(pk=events[0].pk).update(action="changed") == 1


@pytest.mark.django_db
def test_a_municipality_with_audit_events_cannot_be_deleted(events: list[AuditEvent]) -> None:
    with pytest.raises(ProtectedError):
        events[0].municipality.delete()  # type: ignore[union-attr]


# --- flush: the one way to empty the table ----------------------------------------------


@pytest.fixture
def committed_guard(transactional_db: None) -> Iterator[None]:
    """The guard installed for real (committed), as in a migrated database."""
    installed = triggers_install()
    yield
    if installed:
        triggers_uninstall()


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_trail_and_restores_the_guard(committed_guard: None) -> None:
    # Given a migrated database with audit events
    municipality = MunicipalityFactory(slug="flushtown")
    for n in range(3):
        audit_record(municipality=municipality, action=f"test.{n}")
    audit_record(municipality=None, action="platform.event")
    # When the whole database is flushed (as every transactional test's teardown does)
    call_command("flush", interactive=False, verbosity=0)
    # Then everything is gone
    assert AuditEvent.objects.count() == 0
    assert AuditChainHead.objects.count() == 0
    # And the guard is back in force for new events
    assert trigger_names() >= GUARD[connection.vendor]
    municipality = MunicipalityFactory(slug="flushtown")
    event = audit_record(municipality=municipality, action="after.flush")
    assert event.sequence == 1
    _refused(lambda: event.delete(), "DELETE")
    _refused(lambda: raw_sql("DELETE FROM audit_auditevent"), "DELETE")
    assert AuditEvent.objects.count() == 1


@pytest.mark.django_db
def test_interactive_flush_asks_first_and_can_be_cancelled(
    events: list[AuditEvent], monkeypatch: pytest.MonkeyPatch
) -> None:
    questions: list[str] = []

    def answer(question: str) -> str:
        questions.append(question)
        return "no"

    monkeypatch.setattr("builtins.input", answer)
    out = StringIO()
    call_command("flush", stdout=out)
    assert out.getvalue() == "Flush cancelled.\n"
    assert "including the audit trail" in questions[0]
    assert AuditEvent.objects.count() == 3
    assert trigger_names() >= GUARD[connection.vendor]
