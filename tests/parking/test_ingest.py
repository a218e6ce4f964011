"""Validation of live readings: what is stored, refused or corrected, and why."""

from datetime import timedelta

import pytest
from django.utils import timezone

from rathaus.core.models import Municipality
from rathaus.parking.inbound import Reading
from rathaus.parking.models import Observation, ParkingSite, Rejection, Source
from rathaus.parking.services import readings_ingest
from tests.parking.factories import ParkingSiteFactory, SpaceFactory

pytestmark = pytest.mark.django_db


def _count(site: ParkingSite, free: int, at: object, tenant: str = "musterstadt") -> Reading:
    return Reading(tenant=tenant, site=site.external_id, free=free, at=at)  # type: ignore[arg-type]


def test_accepts_in_order_and_keeps_history(site: ParkingSite) -> None:
    t0 = site.realtime_at
    result = readings_ingest(
        readings=[
            _count(site, 100, t0 + timedelta(seconds=1)),
            _count(site, 90, t0 + timedelta(seconds=2)),
        ],
        source=Source.MQTT,
    )
    assert result.accepted == 2
    assert result.rejected == []
    site.refresh_from_db()
    assert (site.realtime_free, site.realtime_at) == (90, t0 + timedelta(seconds=2))
    assert list(
        Observation.objects.filter(site=site).order_by("at").values_list("free", flat=True)
    ) == [100, 90]


def test_refuses_and_corrects_with_logged_reasons(
    site: ParkingSite, other_municipality: Municipality, caplog: pytest.LogCaptureFixture
) -> None:
    t0 = site.realtime_at
    now = timezone.now()
    foreign = ParkingSiteFactory(municipality=other_municipality, external_id="fremd")
    result = readings_ingest(
        readings=[
            _count(site, -1, t0 + timedelta(seconds=1)),
            _count(site, 500, t0 + timedelta(seconds=2)),  # above capacity 200: corrected
            _count(site, 10, t0 - timedelta(minutes=5)),  # late: history only
            _count(site, 10, now + timedelta(hours=1)),  # from the future
            Reading(tenant="musterstadt", site="unknown", free=1, at=t0),
            Reading(tenant="nowhere", site="marstall", free=1, at=t0),
            Reading(tenant="musterstadt", site=foreign.external_id, free=1, at=t0),
        ],
        source=Source.MQTT,
        now=now,
    )
    assert sorted(r for r, _ in result.rejected) == sorted(
        [
            "negative",
            "future",
            "unknown_site",
            "unknown_municipality",
            "unknown_site",
        ]
    )
    assert sorted(r for r, _ in result.corrected) == ["above_capacity", "late"]
    site.refresh_from_db()
    assert site.realtime_free == 200
    assert site.realtime_at == t0 + timedelta(seconds=2)
    assert Rejection.objects.filter(corrected=False).count() == 5
    assert sorted(Observation.objects.filter(site=site).values_list("free", flat=True)) == [10, 200]
    # The late reading delivered again is a duplicate, not a second row.
    again = readings_ingest(
        readings=[_count(site, 10, t0 - timedelta(minutes=5))], source=Source.MQTT
    )
    assert [r for r, _ in again.rejected] == ["duplicate"]
    assert Observation.objects.filter(site=site).count() == 2
    assert "rejected" in caplog.text
    foreign.refresh_from_db()
    assert foreign.realtime_free is None


def test_a_redelivered_reading_is_a_duplicate(site: ParkingSite) -> None:
    at = site.realtime_at + timedelta(seconds=5)
    readings_ingest(readings=[_count(site, 50, at)], source=Source.MQTT)
    again = readings_ingest(readings=[_count(site, 50, at)], source=Source.MQTT)
    assert again.accepted == 0
    assert again.rejected[0][0] == "duplicate"
    assert Observation.objects.filter(site=site).count() == 1


def test_push_for_one_municipality_cannot_write_another(
    site: ParkingSite, other_municipality: Municipality
) -> None:
    result = readings_ingest(
        readings=[_count(site, 1, site.realtime_at + timedelta(seconds=1))],
        source=Source.PUSH,
        municipality=other_municipality,
    )
    assert result.accepted == 0
    site.refresh_from_db()
    assert site.realtime_free == 123


def test_space_sensors_count_a_fully_sensored_zone(municipality: Municipality) -> None:
    zone = ParkingSiteFactory(
        municipality=municipality, external_id="zone", capacity=3, counts_from_spaces=True
    )
    spaces = [SpaceFactory(site=zone, external_id=f"B{i}", reservable=False) for i in range(3)]
    now = timezone.now()
    result = readings_ingest(
        readings=[
            Reading(
                tenant="musterstadt",
                site="zone",
                space=s.external_id,
                occupied=i == 0,
                at=now - timedelta(seconds=10 - i),
            )
            for i, s in enumerate(spaces)
        ]
        + [Reading(tenant="musterstadt", site="zone", space="nope", occupied=True, at=now)],
        source=Source.MQTT,
        now=now,
    )
    assert result.accepted == 3
    assert [r for r, _ in result.rejected] == ["unknown_space"]
    zone.refresh_from_db()
    assert zone.realtime_free == 2
    assert zone.realtime_at == now - timedelta(seconds=8)
