"""The overview's live parts: the intersections' states and the priority requests, polled
by the page and swapped only when they changed; kept within the municipality."""

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from rathaus.core.models import Municipality
from rathaus.traffic import services
from rathaus.traffic.models import Intersection
from tests.conftest import strong_login
from tests.factories import StaffFactory
from tests.traffic.conftest import report

pytestmark = pytest.mark.django_db


def polled(content: bytes, part: str) -> str:
    """The URL the page polls for ``part``."""
    found = re.search(rf'hx-get="([^"]*/live/{part}/\?gesehen=[0-9a-f]+)"', content.decode())
    assert found, content.decode()[:500]
    return found.group(1)


def test_the_overview_polls_what_changes_and_gets_nothing_while_nothing_does(
    engineer_client: Client, intersection: Intersection, municipality: Municipality
) -> None:
    page = engineer_client.get(reverse("traffic:index"))
    states, priority = polled(page.content, "knoten"), polled(page.content, "vorrang")
    # nothing changed: no content, htmx keeps what it shows (and a screen reader is quiet)
    assert engineer_client.get(states).status_code == 204
    assert engineer_client.get(priority).status_code == 204
    # a bus asks for priority: the list comes with it, and the next poll asks for that
    services.priority_request_receive(
        municipality=municipality,
        intersection_id=intersection.pk,
        kind="bus",
        vehicle="Linie 421",
        group=5,
    )
    fresh = engineer_client.get(priority)
    assert fresh.status_code == 200
    assert "Linie 421" in fresh.content.decode()
    assert b"<html" not in fresh.content
    assert engineer_client.get(polled(fresh.content, "vorrang")).status_code == 204
    assert engineer_client.get(states).status_code == 204  # the states did not change
    # the digital twin moves on: the intersections' part comes with the new state
    Intersection.objects.filter(pk=intersection.pk).update(
        live_state={"source": "twin", "state": "GGrrGGrrGGrrGGrrGGrr"}
    )
    moved = engineer_client.get(states)
    assert moved.status_code == 200
    assert "GGrrGGrrGGrrGGrrGGrr" in moved.content.decode()
    assert engineer_client.get(polled(moved.content, "knoten")).status_code == 204


@pytest.mark.parametrize("seen", ["", "0" * 16, "x" * 5000, "<script>"])
def test_any_fingerprint_the_client_sends_gets_the_part(
    engineer_client: Client, intersection: Intersection, seen: str
) -> None:
    response = engineer_client.get(reverse("traffic:live", args=["knoten"]), {"gesehen": seen})
    assert response.status_code == 200
    assert intersection.name in response.content.decode()
    assert "<script>" not in response.content.decode()


def test_live_parts_are_kept_to_the_municipality_and_its_staff(
    intersection: Intersection,
    municipality: Municipality,
    other_municipality: Municipality,
    other_client: Client,
    client: Client,
) -> None:
    services.priority_request_receive(
        municipality=municipality,
        intersection_id=intersection.pk,
        kind="emergency",
        vehicle="RTW 1/83-1",
        group=5,
    )
    from tests.organisation.factories import OrgUnitFactory, RoleFactory, RoleGrantFactory
    from tests.traffic.conftest import ENGINEER_PERMISSIONS

    outsider = StaffFactory(municipality=other_municipality)
    RoleGrantFactory(
        user=outsider,
        role=RoleFactory(municipality=other_municipality, permissions=ENGINEER_PERMISSIONS),
        org_unit=OrgUnitFactory(municipality=other_municipality),
    )
    strong_login(other_client, outsider)
    for part in ("knoten", "vorrang"):
        theirs: Any = other_client.get(reverse("traffic:live", args=[part]))
        assert theirs.status_code == 200
        assert intersection.name not in theirs.content.decode()
        assert "RTW 1/83-1" not in theirs.content.decode()
    assert other_client.get(reverse("traffic:live", args=["alles"])).status_code == 404
    assert client.get(reverse("traffic:live", args=["vorrang"])).status_code in (302, 403)
    strong_login(client, StaffFactory(municipality=municipality))
    assert client.get(reverse("traffic:live", args=["vorrang"])).status_code == 403


def test_a_detector_falling_silent_shows_on_the_open_overview(
    engineer_client: Client, intersection: Intersection, municipality: Municipality
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from rathaus.traffic.models import Detector

    detector = intersection.detectors.order_by("pk").first()
    assert detector is not None
    report(detector, count=1)
    page = engineer_client.get(reverse("traffic:index"))
    states = polled(page.content, "knoten")
    assert "<td>0</td>" in page.content.decode()
    assert engineer_client.get(states).status_code == 204
    # its last reading ages past twice its interval: the part comes with the count
    Detector.objects.filter(pk=detector.pk).update(
        last_seen=timezone.now() - timedelta(seconds=3 * detector.interval_seconds)
    )
    silent = engineer_client.get(states)
    assert silent.status_code == 200
    assert "<td><strong>1</strong></td>" in silent.content.decode()
    assert engineer_client.get(polled(silent.content, "knoten")).status_code == 204
