"""Writing the audit trail: one continuous hash chain per municipality and one for the platform."""

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection, transaction

from rathaus.accounts.models import User
from rathaus.audit.chain import GENESIS_HASH, event_hash_of
from rathaus.audit.models import PLATFORM_CHAIN, AuditChainHead, AuditEvent
from rathaus.audit.services import audit_personal_data_read, audit_record
from rathaus.audit.verify import chain_verify
from rathaus.core.logging import request_id_var
from rathaus.core.models import Municipality
from tests.audit.factories import AuditEventFactory
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_events_are_numbered_and_linked_to_their_predecessor(municipality: Municipality) -> None:
    # When three events are recorded for one municipality
    recorded = [audit_record(municipality=municipality, action=f"test.event.{n}") for n in range(3)]
    # Then they are numbered 1, 2, 3 in the municipality's chain
    events = list(AuditEvent.objects.filter(chain=str(municipality.pk)).order_by("sequence"))
    assert [e.pk for e in events] == [e.pk for e in recorded]
    assert [e.sequence for e in events] == [1, 2, 3]
    assert [e.action for e in events] == ["test.event.0", "test.event.1", "test.event.2"]
    # And each names the hash of the one before it, the first the genesis hash
    assert [e.previous_hash for e in events] == [GENESIS_HASH, events[0].hash, events[1].hash]
    # And each stored hash is the hash of its stored fields, as read back
    assert [event_hash_of(e) for e in events] == [e.hash for e in events]
    assert len({e.hash for e in events}) == 3
    # And the head points at the last event
    head = AuditChainHead.objects.get(chain=str(municipality.pk))
    assert (head.sequence, head.hash) == (3, events[2].hash)


def test_each_municipality_has_its_own_chain(
    municipality: Municipality, other_municipality: Municipality
) -> None:
    # When events of two municipalities are recorded interleaved
    for action in ["a.1", "b.1", "a.2", "a.3", "b.2"]:
        tenant = municipality if action.startswith("a") else other_municipality
        audit_record(municipality=tenant, action=action)
    # Then each chain counts from 1 without gaps and links only its own events
    mine = list(AuditEvent.objects.filter(chain=str(municipality.pk)).order_by("sequence"))
    theirs = list(AuditEvent.objects.filter(chain=str(other_municipality.pk)).order_by("sequence"))
    assert [(e.sequence, e.action, e.municipality_id) for e in mine] == [
        (1, "a.1", municipality.pk),
        (2, "a.2", municipality.pk),
        (3, "a.3", municipality.pk),
    ]
    assert [(e.sequence, e.action, e.municipality_id) for e in theirs] == [
        (1, "b.1", other_municipality.pk),
        (2, "b.2", other_municipality.pk),
    ]
    assert theirs[0].previous_hash == GENESIS_HASH
    assert theirs[1].previous_hash == theirs[0].hash
    assert chain_verify(chain=str(municipality.pk)).ok
    assert chain_verify(chain=str(other_municipality.pk)).ok


def test_platform_events_go_to_the_platform_chain(municipality: Municipality) -> None:
    # Given an event of a municipality
    audit_record(municipality=municipality, action="tenant.event")
    # When the platform records events (no municipality)
    first = audit_record(municipality=None, action="platform.operator.login")
    second = audit_record(municipality=None, action="platform.municipality.created")
    # Then they form their own chain
    assert (first.chain, first.sequence, first.municipality_id) == (PLATFORM_CHAIN, 1, None)
    assert (second.chain, second.sequence, second.previous_hash) == (
        PLATFORM_CHAIN,
        2,
        first.hash,
    )
    report = chain_verify(chain=PLATFORM_CHAIN)
    assert (report.ok, report.checked) == (True, 2)


def test_actor_target_ip_and_request_id_are_recorded(municipality: Municipality) -> None:
    # Given a staff member acting on a citizen's account during a request
    clerk = StaffFactory(municipality=municipality, email="clerk@example.org")
    citizen = UserFactory(municipality=municipality)
    token = request_id_var.set("req-12345678")
    try:
        # When the action is recorded
        event = audit_record(
            municipality=municipality,
            action="accounts.role.changed",
            actor=clerk,
            target=citizen,
            data={"role": "revision"},
            ip="2001:DB8:0:0::1",
        )
    finally:
        request_id_var.reset(token)
    # Then who, what, from where and in which request are stored as read back
    event.refresh_from_db()
    assert (event.actor_id, event.actor_label) == (clerk.pk, "clerk@example.org")
    assert (event.target_type, event.target_id) == ("accounts.user", str(citizen.pk))
    assert event.data == {"role": "revision"}
    # The address as the database normalises it, so the hash still matches
    assert event.ip == "2001:db8::1"
    assert event.request_id == "req-12345678"
    assert event_hash_of(event) == event.hash


def test_values_that_are_not_json_are_stored_as_text_and_still_verify(
    municipality: Municipality,
) -> None:
    when = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    event = audit_record(
        municipality=municipality,
        action="payments.refunded",
        data={"amount": Decimal("12.50"), "at": when, "nested": {"b": 1, "a": [1.5, None]}},
        ip="not an address",
    )
    event.refresh_from_db()
    assert event.data == {
        "amount": "12.50",
        "at": "2026-03-01 12:00:00+00:00",
        "nested": {"a": [1.5, None], "b": 1},
    }
    assert event.ip is None
    assert chain_verify(chain=str(municipality.pk)).ok


def test_an_event_of_rolled_back_work_disappears_without_a_gap(municipality: Municipality) -> None:
    # Given one event
    audit_record(municipality=municipality, action="first")
    # When work that recorded an event is rolled back

    def failing_work() -> None:
        with transaction.atomic():
            audit_record(municipality=municipality, action="rolled.back")
            raise RuntimeError("the work failed")

    with pytest.raises(RuntimeError):
        failing_work()
    # Then the event and the head's advance are gone, and the next event continues the chain
    audit_record(municipality=municipality, action="second")
    events = AuditEvent.objects.filter(chain=str(municipality.pk)).order_by("sequence")
    assert [(e.sequence, e.action) for e in events] == [(1, "first"), (2, "second")]
    assert chain_verify(chain=str(municipality.pk)).ok


def test_factory_appends_at_a_given_time(municipality: Municipality) -> None:
    when = datetime(2025, 12, 31, 23, 59, 59, 123456, tzinfo=UTC)
    event = AuditEventFactory(municipality=municipality, occurred_at=when)
    event.refresh_from_db()
    assert event.occurred_at == when
    assert chain_verify(chain=str(municipality.pk)).ok


def test_personal_data_read_names_reader_subject_and_purpose(municipality: Municipality) -> None:
    # Given a clerk who opens a citizen's record
    clerk: User = StaffFactory(municipality=municipality, email="clerk@example.org")
    citizen = UserFactory(municipality=municipality)
    # When the read is recorded
    event = audit_personal_data_read(
        municipality=municipality,
        actor=clerk,
        subject=citizen,
        purpose="  Antrag 2026-17 prüfen ",
        ip="192.0.2.7",
    )
    # Then the trail says who read whose data, why and from where
    event.refresh_from_db()
    assert (event.action, event.actor_id, event.actor_label) == (
        "privacy.personal_data.read",
        clerk.pk,
        "clerk@example.org",
    )
    assert (event.target_type, event.target_id) == ("accounts.user", str(citizen.pk))
    assert (event.data, event.ip) == ({"purpose": "Antrag 2026-17 prüfen"}, "192.0.2.7")


@pytest.mark.parametrize("purpose", ["", "   "])
def test_personal_data_read_without_purpose_is_refused(
    municipality: Municipality, purpose: str
) -> None:
    clerk = StaffFactory(municipality=municipality)
    citizen = UserFactory(municipality=municipality)
    with pytest.raises(ValueError, match="purpose"):
        audit_personal_data_read(
            municipality=municipality, actor=clerk, subject=citizen, purpose=purpose
        )
    assert AuditEvent.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serialises writers, so there is no race to test; runs on PostgreSQL",
)
def test_concurrent_appends_to_one_chain_never_fork(municipality: Municipality) -> None:
    # Given two workers with their own database connections, starting together on a chain
    # that has no head yet (both race to create it)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            start.wait()
            for n in range(25):
                audit_record(municipality=municipality, action=f"worker.{name}.{n}")
        except BaseException as error:  # reported to the test below
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=work, args=(name,)) for name in ("a", "b")]
    # When both append 25 events at the same time
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Then all 50 are there, numbered 1..50 without gaps or duplicates, and the chain verifies
    assert errors == []
    sequences = list(
        AuditEvent.objects.filter(chain=str(municipality.pk))
        .order_by("sequence")
        .values_list("sequence", flat=True)
    )
    assert sequences == list(range(1, 51))
    assert AuditEvent.objects.filter(action__startswith="worker.a.").count() == 25
    report = chain_verify(chain=str(municipality.pk))
    assert (report.ok, report.checked) == (True, 50)
