"""Fixtures of the catalogue tests: the real Munich export and its import."""

import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from rathaus.catalog.services import ImportReport, catalog_import_dldb
from rathaus.core.models import Municipality
from tests.conftest import require_service

SERVICE_COUNT = 287
SERVICES_WITH_LEIKA = 132
LOCATION_COUNT = 109


@pytest.fixture
def munich_files() -> tuple[Path, Path]:
    """The City of Munich's DLDB exports from the shared data (CC BY 4.0)."""
    folder = Path(settings.RATHAUS_SHARED_DIR) / "data" / "service-catalog"
    services = folder / "munich-dldb-services_de.json"
    locations = folder / "munich-dldb-locations_de.json"
    if not (services.is_file() and locations.is_file()):
        require_service("shared data", f"{folder} does not hold the Munich exports")
    return services, locations


@pytest.fixture
def munich_catalog(municipality: Municipality, munich_files: tuple[Path, Path]) -> ImportReport:
    """The real catalogue imported into the default tenant."""
    services, locations = munich_files
    return catalog_import_dldb(
        municipality=municipality, services_path=services, locations_path=locations
    )


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def dldb_service(service_id: str = "1001", **fields: Any) -> dict[str, Any]:
    """A small valid DLDB service record (Munich's shape)."""
    return {
        "id": service_id,
        "name": f"Testleistung {service_id}",
        "description": "<p>Eine Leistung.</p>",
        "meta": {
            "url": "https://stadt.muenchen.de/en/buergerservice/terminvereinbarung.html/#/services/{serviceId}",
            "keywords": "Test, Probe",
            "locale": "de",
        },
        "authorities": [{"id": "1", "name": "Stadtverwaltung München"}],
        "locations": [],
        "leika": None,
        "public": True,
        "links": [],
        "forms": [],
        "appointment": {"link": "https://stadt.muenchen.de/"},
        "maxQuantity": 1,
        "duration": 15,
        "combinable": [],
        **fields,
    }


def dldb_export(*services: dict[str, Any]) -> dict[str, Any]:
    return {"data": list(services), "meta": {"datacount": len(services)}}
