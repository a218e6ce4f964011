"""Two imports of one municipality at the same time on PostgreSQL: they queue, never collide."""

import threading
from pathlib import Path

import pytest
from django.db import close_old_connections, connection

from rathaus.catalog.models import Service
from rathaus.catalog.services import catalog_import_dldb
from rathaus.core.models import Municipality
from tests.catalog.conftest import dldb_export, dldb_service, write_json


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serialises writers, so there is no race to test; runs on PostgreSQL",
)
def test_simultaneous_imports_of_one_file_create_each_service_once(
    municipality: Municipality, tmp_path: Path
) -> None:
    # Given two operators who import the same new export at the same moment
    path = write_json(
        tmp_path / "s.json", dldb_export(*(dldb_service(str(n)) for n in range(1, 41)))
    )
    start = threading.Barrier(2)
    created: list[int] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            report = catalog_import_dldb(municipality=municipality, services_path=path)
            created.append(len(report.services.created))
        except BaseException as error:
            failures.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # Then the second waited for the first, found everything there and created nothing
    assert failures == []
    assert sorted(created) == [0, 40]
    assert Service.objects.filter(municipality=municipality).count() == 40
