"""The Bürgerkonto data export and account deletion see the pickup orders."""

from typing import Any

import pytest

from rathaus.core.models import Municipality
from rathaus.idpickup.models import IdOrder
from rathaus.idpickup.personal_data import IdPickupData
from rathaus.privacy.personal_data import providers
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_export_and_erase(municipality: Municipality, make_order: Any) -> None:
    citizen = UserFactory(municipality=municipality)
    waiting = make_order(citizen=citizen)
    done = make_order(citizen=citizen, until="applied")
    IdOrder.objects.filter(pk=done.pk).update(status=IdOrder.Status.PICKED_UP)
    assert "idpickup.orders" in [p.key for p in providers()]
    exported = IdPickupData().export(citizen)
    assert [e["booking_number"] for e in exported] == [waiting.booking_number, done.booking_number]
    assert exported[0]["contact_address"] == "erika@example.org"
    assert exported[0]["timeline"][0]["status"] == "applied"
    assert "fingerprint_ref" not in exported[0]
    assert IdPickupData().retained(citizen)
    erasure = IdPickupData().erase(citizen)
    assert erasure.anonymised == 1
    assert erasure.kept
    assert list(IdOrder.objects.filter(citizen=citizen)) == [waiting]
