"""The demo forms attach to the demo catalogue's services, idempotently."""

import pytest

from rathaus.applications.demo import DEMO_FORMS, applications_demo_load
from rathaus.applications.formschema import schema_validate
from rathaus.applications.models import FormDefinition
from rathaus.core.models import Municipality
from rathaus.organisation.services import organisation_defaults_ensure
from rathaus.workflow.models import ProcessVersion
from tests.applications.factories import ServiceFactory

pytestmark = pytest.mark.django_db


def test_the_demo_schemas_are_valid() -> None:
    for _key, _lookup, schema in DEMO_FORMS:
        schema_validate(schema)


def test_demo_forms_are_made_for_the_services_there_are(municipality: Municipality) -> None:
    organisation_defaults_ensure(municipality=municipality)
    ServiceFactory(municipality=municipality, slug="hundesteuer-anmeldung")
    ServiceFactory(municipality=municipality, source="dldb-muenchen", source_id="1072043")
    # (no disabled parking permit service in this catalogue)
    created = applications_demo_load(municipality=municipality)
    assert sorted(d.key for d in created) == ["bewohnerparkausweis", "hundesteuer-anmeldung"]
    assert all(d.versions.get().status == "published" for d in created)
    assert {d.org_unit.code for d in created} == {"BB"}
    assert ProcessVersion.objects.filter(
        municipality=municipality, definition__key="generic_application", is_default=True
    ).exists()
    # Again: nothing new
    assert applications_demo_load(municipality=municipality) == []
    assert FormDefinition.objects.count() == 2
