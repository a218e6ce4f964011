"""Verifying the chains: ``chain_verify`` and ``rathaus audit verify`` find tampering.

The tamper tests act as an attacker with database access: they switch the append-only
guard off (drop the SQLite triggers, disable the PostgreSQL ones) and edit rows with raw
SQL. Verification must then name the first broken entry.
"""

from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from rathaus.audit.chain import event_hash_of
from rathaus.audit.models import PLATFORM_CHAIN, AuditEvent
from rathaus.audit.services import audit_record
from rathaus.audit.verify import BrokenEntry, ChainReport, chain_verify, chains_verify
from rathaus.core.errors import NotFound
from rathaus.core.models import Municipality
from tests.audit.conftest import attacker_lifts_guard, raw_sql

# Every test runs with the append-only guard in place, as migrated; tampering has to
# lift it first, like an attacker with the database owner's rights would.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("append_only")]


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # The command speaks the active language; the tests read its English text.
    with translation.override("en"):
        yield


def _chain(municipality: Municipality, count: int = 5) -> list[AuditEvent]:
    return [
        audit_record(municipality=municipality, action=f"test.step.{n}", data={"n": n})
        for n in range(1, count + 1)
    ]


def _verify(*args: str) -> tuple[int, str]:
    """Run ``rathaus audit verify``; its exit status and everything it printed."""
    out = StringIO()
    try:
        call_command("audit", "verify", *args, stdout=out)
    except CommandError as error:
        # What run_from_argv does with it: message on stderr, exit with its return code.
        return error.returncode, out.getvalue() + str(error)
    return 0, out.getvalue()


def test_intact_chains_verify_and_the_command_says_so(
    municipality: Municipality, other_municipality: Municipality
) -> None:
    # Given events of two municipalities and of the platform
    _chain(municipality, 3)
    _chain(other_municipality, 2)
    audit_record(municipality=None, action="platform.event")
    # When every chain is verified
    reports = chains_verify()
    # Then all are intact, platform first
    assert reports == [
        ChainReport(PLATFORM_CHAIN, 1),
        ChainReport(str(municipality.pk), 3),
        ChainReport(str(other_municipality.pk), 2),
    ]
    assert all(report.ok for report in reports)
    status, output = _verify()
    assert status == 0
    assert output.splitlines() == [
        "platform: ok (1 entries)",
        f"musterstadt (chain {municipality.pk}): ok (3 entries)",
        f"beispielheim (chain {other_municipality.pk}): ok (2 entries)",
    ]


def test_tenant_option_checks_only_that_chain(
    municipality: Municipality, other_municipality: Municipality
) -> None:
    _chain(municipality, 2)
    _chain(other_municipality, 1)
    assert chains_verify(municipality_slug="beispielheim") == [
        ChainReport(str(other_municipality.pk), 1)
    ]
    assert _verify("--tenant", "beispielheim") == (
        0,
        f"beispielheim (chain {other_municipality.pk}): ok (1 entries)\n",
    )


def test_a_municipality_without_events_has_an_intact_empty_chain(
    municipality: Municipality,
) -> None:
    assert _verify("--tenant", "musterstadt") == (
        0,
        f"musterstadt (chain {municipality.pk}): ok (0 entries)\n",
    )
    assert _verify() == (0, "no audit events yet\n")


def test_unknown_tenant_is_a_clear_error_with_status_2(municipality: Municipality) -> None:
    with pytest.raises(NotFound):
        chains_verify(municipality_slug="gibt-es-nicht")
    status, output = _verify("--tenant", "gibt-es-nicht")
    assert status == 2
    assert output == "There is no municipality with the short name gibt-es-nicht."


def test_verify_needs_its_subcommand() -> None:
    with pytest.raises(CommandError, match="command"):
        call_command("audit")


# --- Tampering -------------------------------------------------------------------------


def _assert_broken(
    municipality: Municipality, *, sequence: int, event_id: int | None, reason: str, checked: int
) -> None:
    """Both the selector and the command name the same first broken entry."""
    report = chain_verify(chain=str(municipality.pk))
    assert not report.ok
    assert report.checked == checked
    assert report.first_broken is not None
    assert (
        report.first_broken.sequence,
        report.first_broken.event_id,
        report.first_broken.reason,
    ) == (sequence, event_id, reason)
    status, output = _verify("--tenant", municipality.slug)
    assert status == 1
    shown_id = "-" if event_id is None else str(event_id)
    line = (
        f"musterstadt (chain {municipality.pk}): BROKEN at entry {sequence} (id {shown_id}): "
        f"{reason}: {report.first_broken.detail}"
    )
    assert output.splitlines()[0] == line
    assert output.splitlines()[1:] == [
        "the audit trail is broken; first broken entry per chain:",
        f"  {line}",
    ]


def test_changed_data_breaks_the_chain_at_that_entry(municipality: Municipality) -> None:
    events = _chain(municipality)
    attacker_lifts_guard()
    changed = raw_sql(
        "UPDATE audit_auditevent SET data = %s WHERE id = %s", ['{"n": 99}', events[2].pk]
    )
    assert changed == 1
    _assert_broken(
        municipality, sequence=3, event_id=events[2].pk, reason="hash_mismatch", checked=2
    )


def test_changed_action_breaks_the_chain_at_that_entry(municipality: Municipality) -> None:
    events = _chain(municipality)
    attacker_lifts_guard()
    raw_sql("UPDATE audit_auditevent SET action = 'harmless' WHERE id = %s", [events[1].pk])
    _assert_broken(
        municipality, sequence=2, event_id=events[1].pk, reason="hash_mismatch", checked=1
    )


def test_rehashed_entry_breaks_the_link_of_the_next_one(municipality: Municipality) -> None:
    # An attacker who knows the hash function changes entry 2 and stores its new hash
    events = _chain(municipality)
    attacker_lifts_guard()
    raw_sql("UPDATE audit_auditevent SET action = 'harmless' WHERE id = %s", [events[1].pk])
    forged = AuditEvent.objects.get(pk=events[1].pk)
    raw_sql(
        "UPDATE audit_auditevent SET hash = %s WHERE id = %s", [event_hash_of(forged), forged.pk]
    )
    # Then entry 3 no longer names entry 2's hash
    _assert_broken(
        municipality,
        sequence=3,
        event_id=events[2].pk,
        reason="previous_hash_mismatch",
        checked=2,
    )


def test_deleted_middle_entry_is_named_as_missing(municipality: Municipality) -> None:
    events = _chain(municipality)
    attacker_lifts_guard()
    assert raw_sql("DELETE FROM audit_auditevent WHERE id = %s", [events[2].pk]) == 1
    _assert_broken(municipality, sequence=3, event_id=None, reason="missing", checked=2)
    detail = chain_verify(chain=str(municipality.pk)).first_broken.detail  # type: ignore[union-attr]
    assert detail == (
        f"entry 3 is missing (deleted); the chain continues with entry 4 (id {events[3].pk})"
    )


def test_deleted_newest_entries_are_found_through_the_head(municipality: Municipality) -> None:
    events = _chain(municipality)
    attacker_lifts_guard()
    raw_sql("DELETE FROM audit_auditevent WHERE id IN (%s, %s)", [events[3].pk, events[4].pk])
    _assert_broken(municipality, sequence=4, event_id=None, reason="missing", checked=3)


def test_deleted_last_entry_is_found_through_the_head(municipality: Municipality) -> None:
    events = _chain(municipality)
    attacker_lifts_guard()
    raw_sql("DELETE FROM audit_auditevent WHERE id = %s", [events[4].pk])
    _assert_broken(municipality, sequence=5, event_id=None, reason="missing", checked=4)


def test_deleted_last_entry_and_rewound_head_break_at_the_head(
    municipality: Municipality,
) -> None:
    # The attacker also sets the head back by one entry, but cannot know the right hash
    events = _chain(municipality)
    attacker_lifts_guard()
    raw_sql("DELETE FROM audit_auditevent WHERE id = %s", [events[4].pk])
    raw_sql("UPDATE audit_auditchainhead SET sequence = 4 WHERE chain = %s", [str(municipality.pk)])
    _assert_broken(
        municipality, sequence=4, event_id=events[3].pk, reason="head_mismatch", checked=4
    )


def test_swapped_entries_break_the_chain_at_the_first_of_them(municipality: Municipality) -> None:
    # The attacker swaps the order of entries 2 and 3 by exchanging their numbers
    events = _chain(municipality)
    attacker_lifts_guard()
    raw_sql("UPDATE audit_auditevent SET sequence = 1000 WHERE id = %s", [events[1].pk])
    raw_sql("UPDATE audit_auditevent SET sequence = 2 WHERE id = %s", [events[2].pk])
    raw_sql("UPDATE audit_auditevent SET sequence = 3 WHERE id = %s", [events[1].pk])
    _assert_broken(
        municipality, sequence=2, event_id=events[2].pk, reason="hash_mismatch", checked=1
    )


def test_entry_moved_to_another_municipality_is_found(
    municipality: Municipality, other_municipality: Municipality
) -> None:
    events = _chain(municipality, 3)
    attacker_lifts_guard()
    raw_sql(
        "UPDATE audit_auditevent SET municipality_id = %s WHERE id = %s",
        [other_municipality.pk, events[1].pk],
    )
    _assert_broken(
        municipality, sequence=2, event_id=events[1].pk, reason="wrong_municipality", checked=1
    )


def test_entry_added_outside_the_application_is_found(municipality: Municipality) -> None:
    # A forged row appended after the head, without moving the head
    events = _chain(municipality, 2)
    raw_sql(
        "INSERT INTO audit_auditevent (chain, sequence, municipality_id, occurred_at, actor_id, "
        "actor_label, action, target_type, target_id, data, ip, request_id, previous_hash, "
        "hash) VALUES (%s, 3, %s, %s, NULL, '', 'forged', '', '', '{}', NULL, '', %s, %s)",
        [str(municipality.pk), municipality.pk, events[1].occurred_at, events[1].hash, "f" * 64],
    )
    forged = AuditEvent.objects.get(action="forged")
    _assert_broken(municipality, sequence=3, event_id=forged.pk, reason="after_head", checked=2)


def test_deleted_head_is_found(municipality: Municipality) -> None:
    events = _chain(municipality, 2)
    raw_sql("DELETE FROM audit_auditchainhead WHERE chain = %s", [str(municipality.pk)])
    _assert_broken(
        municipality, sequence=2, event_id=events[1].pk, reason="head_missing", checked=2
    )


def test_every_broken_chain_is_reported_and_intact_ones_too(
    municipality: Municipality, other_municipality: Municipality
) -> None:
    mine = _chain(municipality, 2)
    _chain(other_municipality, 2)
    attacker_lifts_guard()
    raw_sql("UPDATE audit_auditevent SET data = '{}' WHERE id = %s", [mine[0].pk])
    reports = chains_verify()
    assert [(r.chain, r.ok) for r in reports] == [
        (str(municipality.pk), False),
        (str(other_municipality.pk), True),
    ]
    assert reports[0].first_broken == BrokenEntry(
        1,
        mine[0].pk,
        "hash_mismatch",
        "the stored hash does not match the entry's content (the entry was changed)",
    )
    status, output = _verify()
    assert status == 1
    assert f"beispielheim (chain {other_municipality.pk}): ok (2 entries)" in output
    assert f"musterstadt (chain {municipality.pk}): BROKEN at entry 1 (id {mine[0].pk})" in output
