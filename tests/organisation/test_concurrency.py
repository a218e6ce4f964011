"""Concurrent tree changes on PostgreSQL: two crossing moves never build a cycle."""

import threading

import pytest
from django.db import close_old_connections, connection

from rathaus.core.errors import ValidationFailed
from rathaus.core.models import Municipality
from rathaus.organisation import services
from rathaus.organisation.models import OrgUnit


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serialises writers, so there is no race to test; runs on PostgreSQL",
)
def test_crossing_moves_at_the_same_time_cannot_make_a_cycle(
    units: dict[str, OrgUnit], municipality: Municipality
) -> None:
    # Given two administrators who, at the same moment, move FB 1 below FB 2 and FB 2
    # below FB 1 (each move alone is fine; both together would be a cycle)
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def move(unit: str, below: str) -> None:
        try:
            start.wait()
            services.org_unit_move(actor=None, unit=units[unit], new_parent=units[below])
            outcomes[unit] = "moved"
        except ValidationFailed as error:
            outcomes[unit] = error.code
        finally:
            close_old_connections()
            connection.close()

    threads = [
        threading.Thread(target=move, args=("FB 1", "FB 2")),
        threading.Thread(target=move, args=("FB 2", "FB 1")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Then exactly one moved and the other was refused as a cycle
    assert sorted(outcomes.values()) == ["cycle", "moved"]
    # And every path still leads up to the root, consistent with the parents
    by_id = {unit.pk: unit for unit in OrgUnit.objects.filter(municipality=municipality)}
    for unit in by_id.values():
        expected = f"/{unit.pk}/"
        parent_id = unit.parent_id
        while parent_id is not None:
            expected = f"/{parent_id}" + expected
            parent_id = by_id[parent_id].parent_id
        assert unit.path == expected
