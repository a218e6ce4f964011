"""The demo data: loads, routes the sample invoices, and a rerun changes nothing."""

from typing import Any

import pytest

from rathaus.einvoice.demo import einvoice_demo_load
from rathaus.einvoice.models import Invoice, LeitwegRoute
from rathaus.organisation.services import organisation_defaults_ensure

pytestmark = pytest.mark.django_db


def test_demo_loads_twice(municipality: Any) -> None:
    organisation_defaults_ensure(municipality=municipality)
    einvoice_demo_load(municipality=municipality)
    einvoice_demo_load(municipality=municipality)
    assert LeitwegRoute.objects.count() == 2
    assert Invoice.objects.count() == 2
    # One routed by its Leitweg-ID, one waiting for a person to choose the unit.
    assert sorted(Invoice.objects.values_list("status", flat=True)) == [
        Invoice.Status.IN_APPROVAL,
        Invoice.Status.UNROUTED,
    ]
