"""A new plan's flows taken from what the detectors counted in its window, on its day
types, over the last weeks: per lane from its best detector over the time its readings
cover, per phase its busiest lane."""

from datetime import datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from rathaus.accounts.models import User
from rathaus.core.models import Municipality
from rathaus.traffic import selectors, services
from rathaus.traffic.models import Detector, DetectorReading, Intersection
from tests.conftest import strong_login

pytestmark = [pytest.mark.django_db]

BERLIN = ZoneInfo("Europe/Berlin")
#: Monday, 28 December 2026, noon: the last weeks hold Christmas Day (a Friday).
NOW = datetime(2026, 12, 28, 12, tzinfo=BERLIN)
WEEKDAYS = ("mo", "tu", "we", "th", "fr")


def count(detector: Detector, start: datetime, minutes: int, vehicles: int) -> None:
    """A reading a minute for ``minutes`` from ``start`` (local time)."""
    DetectorReading.objects.bulk_create(
        DetectorReading(
            municipality=detector.municipality,
            detector=detector,
            measured_at=start + timedelta(minutes=k),
            count=vehicles,
            occupancy=0.1,
        )
        for k in range(minutes)
    )


def lane_of_phase(intersection: Intersection, order: int) -> str:
    phase = intersection.phases.get(order=order)
    return str(intersection.groups.get(index=phase.greens[0]).lanes[0])


@pytest.fixture
def counted_lane(intersection: Intersection) -> tuple[str, Detector]:
    lane = lane_of_phase(intersection, 0)
    area = intersection.detectors.get(lane=lane)
    # Monday 21 December 07:00-08:00: 10 a minute; Christmas Day (a Friday) 2 a minute;
    # at noon (outside the windows below) 30 a minute; a week too old: 50 a minute
    count(area, datetime(2026, 12, 21, 7, tzinfo=BERLIN), 60, 10)
    count(area, datetime(2026, 12, 25, 7, tzinfo=BERLIN), 60, 2)
    count(area, datetime(2026, 12, 22, 12, tzinfo=BERLIN), 60, 30)
    count(area, datetime(2026, 11, 23, 7, tzinfo=BERLIN), 60, 50)
    return lane, area


def flows(intersection: Intersection, starts: clock, ends: clock, days: Any, **kw: Any) -> Any:
    return selectors.counted_flows(
        intersection=intersection, starts=starts, ends=ends, days=days, now=NOW, **kw
    )


def test_a_lanes_flow_is_its_counts_over_the_time_they_cover_on_the_plans_days(
    intersection: Intersection, counted_lane: tuple[str, Detector]
) -> None:
    lane, _area = counted_lane
    weekday = flows(intersection, clock(6), clock(9), WEEKDAYS)
    assert weekday["lanes"] == {lane: {"flow": 600.0, "hours": 1.0, "kind": "area"}}
    assert weekday["flows"][0] == 600.0
    # the phases that release the lane get its flow; the others, none of whose lanes
    # counted anything, are left for the engineer
    releasing = {
        phase.order
        for phase in intersection.phases.all()
        if any(lane in intersection.groups.get(index=g).lanes for g in phase.greens)
    }
    assert 0 in releasing
    assert 1 not in releasing
    assert {order for order, flow in weekday["flows"].items() if flow is not None} == releasing
    assert weekday["flows"][1] is None
    # Christmas Day is a holiday, whatever its weekday
    assert flows(intersection, clock(6), clock(9), ["ph"])["flows"][0] == 120.0
    assert flows(intersection, clock(6), clock(9), ["sa", "su"])["lanes"] == {}
    # five weeks back reach the old counts: (60*10 + 60*50) over two hours
    assert flows(intersection, clock(6), clock(9), WEEKDAYS, weeks=6)["flows"][0] == 1800.0
    # the whole day takes the noon counts too
    assert flows(intersection, clock(0), clock(0), WEEKDAYS)["flows"][0] == 1200.0


def test_the_stop_line_loop_counts_before_the_queue_area_and_gaps_are_not_filled(
    intersection: Intersection, counted_lane: tuple[str, Detector]
) -> None:
    lane, _area = counted_lane
    loop = services.detector_create(
        intersection=intersection, name="Schleife", lane=lane, position=0.5, kind="stopline"
    )
    # 9 a minute, but only for 30 of the 60 minutes: the other half is a gap
    count(loop, datetime(2026, 12, 21, 7, tzinfo=BERLIN), 30, 9)
    found = flows(intersection, clock(6), clock(9), WEEKDAYS)
    assert found["lanes"][lane] == {"flow": 540.0, "hours": 0.5, "kind": "stopline"}
    assert found["hours"] == 0.5


def test_the_hours_after_midnight_count_for_their_own_date(
    intersection: Intersection,
) -> None:
    lane = lane_of_phase(intersection, 0)
    area = intersection.detectors.get(lane=lane)
    count(area, datetime(2026, 12, 21, 23, tzinfo=BERLIN), 30, 4)  # Monday night
    count(area, datetime(2026, 12, 22, 0, 30, tzinfo=BERLIN), 30, 2)  # Tuesday, 00:30
    night = flows(intersection, clock(22), clock(2), ["mo", "tu"])
    assert night["lanes"][lane]["flow"] == 180.0  # (30*4 + 30*2) over an hour
    assert flows(intersection, clock(22), clock(2), ["mo"])["lanes"][lane]["flow"] == 240.0


def test_another_municipalitys_counts_stay_out(
    intersection: Intersection, other_municipality: Municipality, cologne1_net: bytes
) -> None:
    theirs = services.network_import(
        municipality=other_municipality, content=cologne1_net, network="x"
    )[0]
    lane = lane_of_phase(intersection, 0)
    count(theirs.detectors.get(lane=lane), datetime(2026, 12, 21, 7, tzinfo=BERLIN), 60, 10)
    assert flows(intersection, clock(6), clock(9), WEEKDAYS)["lanes"] == {}
    assert flows(theirs, clock(6), clock(9), WEEKDAYS)["flows"][0] == 600.0


@freeze_time(NOW)
def test_the_page_fills_in_the_counted_flows_for_the_engineer_to_check(
    engineer: User, intersection: Intersection, counted_lane: tuple[str, Detector]
) -> None:
    engineer_client = Client()
    strong_login(engineer_client, engineer)  # a session of that day

    page_url = reverse("traffic:intersection", args=[intersection.pk])
    query = {
        "count-starts_at": "06:00",
        "count-ends_at": "09:00",
        "count-days": list(WEEKDAYS),
        "count-weeks": "4",
    }
    response = engineer_client.get(page_url, query)
    assert response.status_code == 200
    text = response.content.decode()
    assert 'name="flow_0" value="600.0"' in text
    assert 'name="flow_1"' in text
    assert 'name="flow_1" value=' not in text  # no counts: left empty
    assert "Filled in from the counts of 1 lanes over up to 1.0 hours" in text
    assert "No counts for Phase 2" in text
    assert 'name="starts_at" value="06:00"' in text
    for bad in (
        {"count-weeks": "99"},
        {"count-weeks": "x"},
        {"count-starts_at": "25:00"},
        {"count-days": ["zz"]},
        {"count-days": []},
    ):
        refused = engineer_client.get(page_url, {**query, **bad})
        assert refused.status_code == 400, bad
        assert 'name="flow_0" value=' not in refused.content.decode()
