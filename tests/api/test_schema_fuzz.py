"""Every API operation, fuzzed against the committed OpenAPI file: no 5xx, no schema violation."""

from pathlib import Path

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from rathaus.legal.services import legal_pages_ensure
from tests.factories import MunicipalityFactory

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"

schema = schemathesis.openapi.from_path(SCHEMA_FILE)
schema.config.update(base_url="http://testserver")


@pytest.fixture
def tenant(db: None) -> None:
    legal_pages_ensure(
        municipality=MunicipalityFactory(slug="musterstadt", name="Musterstadt", ags="08999001")
    )


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_its_schema(
    case: schemathesis.Case, tenant: None, settings: object
) -> None:
    settings.RATHAUS_MAX_REQUEST_BODY = 64 * 1024  # type: ignore[attr-defined]
    # Rate limits would turn later examples into 429s; they are tested on their own.
    from django.core.cache import cache

    cache.clear()
    # As Django's test client does: keep the test's connection open across requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = case.call(app=get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    assert response.status_code < 500, response.text
    case.validate_response(response)
