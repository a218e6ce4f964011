"""Retention of reservations, refused readings and history; the citizen's data export and
erasure."""

from datetime import timedelta

import pytest
from django.utils import timezone

from rathaus.parking.models import Observation, ParkingSite, Rejection, Reservation
from rathaus.parking.personal_data import ParkingData
from rathaus.privacy.retention import retention_apply
from tests.parking.factories import ReservationFactory, SpaceFactory

pytestmark = pytest.mark.django_db


def test_retention_deletes_what_is_due(site: ParkingSite) -> None:
    now = timezone.now()
    old = ReservationFactory(
        space=SpaceFactory(site=site),
        starts_at=now - timedelta(days=100),
        ends_at=now - timedelta(days=95),
    )
    recent = ReservationFactory(
        space=old.space, starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1)
    )
    Rejection.objects.create(
        municipality=site.municipality,
        source="mqtt",
        reason="x",
        detail="",
        received_at=now - timedelta(days=31),
    )
    Rejection.objects.create(
        municipality=site.municipality, source="mqtt", reason="y", detail="", received_at=now
    )
    Observation.objects.create(site=site, at=now - timedelta(days=800), free=1, source="mqtt")
    Observation.objects.create(site=site, at=now - timedelta(days=1), free=2, source="mqtt")
    retention_apply(now=now)
    assert list(Reservation.objects.values_list("pk", flat=True)) == [recent.pk]
    assert list(Rejection.objects.values_list("reason", flat=True)) == ["y"]
    assert list(Observation.objects.values_list("free", flat=True)) == [2]


def test_export_and_erase(site: ParkingSite) -> None:
    reservation = ReservationFactory(space=SpaceFactory(site=site, external_id="R7"))
    provider = ParkingData()
    exported = provider.export(reservation.citizen)
    assert exported[0]["space"] == "R7"
    assert exported[0]["plate"] == "S-AB 123"
    assert provider.erase(reservation.citizen).deleted == 1
    assert not Reservation.objects.exists()
    assert provider.retained(reservation.citizen) == []
