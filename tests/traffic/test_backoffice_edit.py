"""Editing an imported intersection in the back office: its name and cycle limits, its
signal groups (kind, yellow, minimum green), its detectors (added, moved, removed), each
change checked against the intersection's model, audited, and refused for bad input,
another municipality's rows and staff without the right."""

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rathaus.accounts.models import User
from rathaus.audit.models import AuditEvent
from rathaus.core.models import Municipality
from rathaus.traffic import services
from rathaus.traffic.models import Detector, Intergreen, Intersection, SignalGroup
from tests.conftest import strong_login
from tests.factories import StaffFactory
from tests.organisation.factories import OrgUnitFactory, RoleFactory, RoleGrantFactory
from tests.traffic.conftest import ENGINEER_PERMISSIONS, plan_for, report

pytestmark = [pytest.mark.django_db]


def url(name: str, pk: int) -> str:
    return reverse(f"traffic:{name}", args=[pk])


def node(**overrides: Any) -> dict[str, Any]:
    return {"node-name": "Schillerplatz", "node-cycle_min": "40", "node-cycle_max": "90"} | {
        f"node-{k}": v for k, v in overrides.items()
    }


def test_the_intersections_name_and_cycle_limits_are_edited_and_webster_keeps_to_them(
    engineer_client: Client, intersection: Intersection
) -> None:
    response = engineer_client.post(url("intersection_update", intersection.pk), node())
    assert response.status_code == 302
    intersection.refresh_from_db()
    assert (intersection.name, intersection.cycle_min, intersection.cycle_max) == (
        "Schillerplatz",
        40,
        90,
    )
    event = AuditEvent.objects.get(action="traffic.intersection.updated")
    assert event.data["before"]["name"] == "GS_cluster_357187_359543"
    # heavy flows would want a long cycle: the maximum holds it
    plan = plan_for(intersection, flows={0: 900.0, 1: 400.0, 2: 800.0, 3: 300.0})
    assert 40 <= plan.cycle <= 90
    page = engineer_client.get(url("intersection", intersection.pk)).content.decode()
    assert "<h1>Schillerplatz</h1>" in page


@pytest.mark.parametrize(
    "overrides",
    [
        {"cycle_min": "100", "cycle_max": "60"},  # the minimum above the maximum
        {"cycle_max": "301"},
        {"cycle_min": "5"},
        {"cycle_min": "nan"},
        {"name": ""},
        {"name": "x" * 201},
        {"cycle_max": "9" * 400},
    ],
)
def test_bad_intersection_edits_change_nothing(
    engineer_client: Client, intersection: Intersection, overrides: dict[str, str]
) -> None:
    response = engineer_client.post(url("intersection_update", intersection.pk), node(**overrides))
    assert response.status_code == 400
    fresh = Intersection.objects.get(pk=intersection.pk)
    assert (fresh.name, fresh.cycle_min, fresh.cycle_max) == (
        intersection.name,
        intersection.cycle_min,
        intersection.cycle_max,
    )
    assert not AuditEvent.objects.filter(action="traffic.intersection.updated").exists()


def test_a_signal_group_is_edited_within_the_intergreens_it_clears(
    engineer_client: Client, intersection: Intersection
) -> None:
    target = url("group_update", intersection.pk)
    data = {"group-group": "3", "group-kind": "pedestrian", "group-yellow": "0"}
    response = engineer_client.post(target, {**data, "group-min_green": "8"})
    assert response.status_code == 302
    group = SignalGroup.objects.get(intersection=intersection, index=3)
    assert (group.kind, group.yellow, group.min_green) == ("pedestrian", 0.0, 8.0)
    model = services.intersection_model(intersection=intersection)
    assert model.groups[3].min_green == 8.0
    assert AuditEvent.objects.get(action="traffic.group.updated").data["before"]["kind"] == (
        "vehicle"
    )
    # a yellow longer than an intergreen from the group would let a conflicting green
    # start inside it: refused, with the reason, and nothing is changed
    shortest = min(
        Intergreen.objects.filter(intersection=intersection, clearing__index=5).values_list(
            "seconds", flat=True
        )
    )
    too_long = {"group-group": "5", "group-kind": "vehicle", "group-min_green": "5"}
    refused = engineer_client.post(target, {**too_long, "group-yellow": str(shortest + 1)})
    assert refused.status_code == 400
    assert "shorter than the yellow of group 5" in refused.content.decode()
    assert SignalGroup.objects.get(intersection=intersection, index=5).yellow < shortest + 1
    # a vehicle yellow under 2 s is refused by the model too
    assert engineer_client.post(target, {**too_long, "group-yellow": "1"}).status_code == 400
    for bad in (
        {"group-group": "99"},
        {"group-kind": "ufo"},
        {"group-yellow": "-1"},
        {"group-yellow": "nan"},
        {"group-min_green": "121"},
    ):
        assert engineer_client.post(
            target, {**too_long, "group-yellow": "3", **bad}
        ).status_code == (400)
    assert AuditEvent.objects.filter(action="traffic.group.updated").count() == 1


def detector(**overrides: Any) -> dict[str, Any]:
    return {
        "det-name": "D1 Schleife",
        "det-lane": "",
        "det-position": "2.5",
        "det-kind": "stopline",
        "det-interval_seconds": "30",
    } | {f"det-{k}": v for k, v in overrides.items()}


def test_detectors_are_added_moved_and_removed(
    engineer_client: Client, intersection: Intersection
) -> None:
    lane = intersection.groups.get(index=0).lanes[0]
    target = url("detector_save", intersection.pk)
    assert engineer_client.post(target, detector(lane=lane)).status_code == 302
    added = Detector.objects.get(intersection=intersection, name="D1 Schleife")
    assert (added.lane, added.position, added.kind, added.interval_seconds) == (
        lane,
        2.5,
        "stopline",
        30,
    )
    page = engineer_client.get(url("intersection", intersection.pk)).content.decode()
    assert "2.5 m before the stop line, reports every 30 s" in page
    assert "Remove D1 Schleife" in page
    # moved back to an advance loop, reporting every two minutes; its id stays
    moved = detector(detector=str(added.pk), lane=lane, position="40", kind="advance")
    assert engineer_client.post(target, {**moved, "det-interval_seconds": "120"}).status_code == 302
    added.refresh_from_db()
    assert (added.position, added.kind, added.interval_seconds) == (40.0, "advance", 120)
    event = AuditEvent.objects.get(action="traffic.detector.updated")
    assert event.data["before"]["position"] == 2.5
    # a second detector may not take its name
    twice = engineer_client.post(target, detector(lane=lane))
    assert twice.status_code == 409
    assert "A detector with this name exists." in twice.content.decode()
    # removed while it never reported
    assert engineer_client.post(url("detector_delete", added.pk)).status_code == 302
    assert not Detector.objects.filter(pk=added.pk).exists()
    assert AuditEvent.objects.filter(action="traffic.detector.deleted").exists()


def test_a_detector_that_reported_keeps_its_history(
    engineer_client: Client, intersection: Intersection
) -> None:
    reporting = intersection.detectors.order_by("pk").first()
    assert reporting is not None
    report(reporting)
    response = engineer_client.post(url("detector_delete", reporting.pk), follow=True)
    assert "has reported data, which stays" in response.content.decode()
    assert Detector.objects.filter(pk=reporting.pk).exists()
    assert reporting.readings.count() == 1
    # a GET does not remove anything
    assert engineer_client.get(url("detector_delete", reporting.pk)).status_code == 405


@pytest.mark.parametrize(
    "overrides",
    [
        {"lane": "nowhere_0"},
        {"lane": ""},
        {"position": "-1"},
        {"position": "1001"},
        {"position": "inf"},
        {"kind": "radar"},
        {"interval_seconds": "0"},
        {"interval_seconds": "3601"},
        {"name": ""},
        {"name": "x" * 101},
        {"detector": "999999"},
        {"detector": "abc"},
    ],
)
def test_bad_detector_input_changes_nothing(
    engineer_client: Client, intersection: Intersection, overrides: dict[str, str]
) -> None:
    lane = intersection.groups.get(index=0).lanes[0]
    before = list(Detector.objects.order_by("pk").values())
    response = engineer_client.post(
        url("detector_save", intersection.pk), detector(**({"lane": lane} | overrides))
    )
    assert response.status_code == 400
    assert list(Detector.objects.order_by("pk").values()) == before


def test_another_municipality_and_staff_without_the_right_are_kept_out(
    intersection: Intersection,
    other_municipality: Municipality,
    other_client: Client,
    client: Client,
    municipality: Municipality,
    cologne1_net: bytes,
    engineer: User,
) -> None:
    ours = intersection.detectors.order_by("pk").first()
    assert ours is not None
    outsider = StaffFactory(municipality=other_municipality)
    RoleGrantFactory(
        user=outsider,
        role=RoleFactory(municipality=other_municipality, permissions=ENGINEER_PERMISSIONS),
        org_unit=OrgUnitFactory(municipality=other_municipality),
    )
    strong_login(other_client, outsider)
    for name in ("intersection_update", "group_update", "detector_save"):
        assert other_client.post(url(name, intersection.pk), node()).status_code == 404
    assert other_client.post(url("detector_delete", ours.pk)).status_code == 404
    # their own intersection's form cannot name our detector either
    theirs = services.network_import(
        municipality=other_municipality, content=cologne1_net, network="x"
    )[0]
    lane = theirs.groups.get(index=0).lanes[0]
    mixed = detector(detector=str(ours.pk), lane=lane, name="gekapert")
    assert other_client.post(url("detector_save", theirs.pk), mixed).status_code == 400
    plain = StaffFactory(municipality=municipality)
    strong_login(client, plain)
    assert client.post(url("intersection_update", intersection.pk), node()).status_code == 403
    assert client.post(url("detector_delete", ours.pk)).status_code == 403
    assert Detector.objects.filter(pk=ours.pk, name=ours.name).exists()
    assert Intersection.objects.get(pk=intersection.pk).name == intersection.name


def test_an_intergreen_set_by_hand_is_audited(
    engineer_client: Client, intersection: Intersection
) -> None:
    pair = Intergreen.objects.filter(intersection=intersection).first()
    assert pair is not None
    response = engineer_client.post(
        url("intergreen_update", intersection.pk),
        {
            "ig-clearing": str(pair.clearing.index),
            "ig-entering": str(pair.entering.index),
            "ig-seconds": str(pair.seconds + 1),
        },
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="traffic.intergreen.set")
    assert event.data == {
        "clearing": pair.clearing.index,
        "entering": pair.entering.index,
        "seconds": pair.seconds + 1,
    }


def test_silent_detectors_and_data_gaps_show_on_the_intersection_page(
    engineer_client: Client, intersection: Intersection, municipality: Municipality
) -> None:
    from rathaus.traffic import selectors
    from rathaus.traffic.models import DataGap

    quiet, steady, *_rest = intersection.detectors.order_by("pk")
    now = timezone.now()

    def reading(detector: Detector, minutes_ago: float) -> dict[str, Any]:
        at = now - timedelta(minutes=minutes_ago)
        return {"detector": detector.pk, "measured_at": at, "count": 1, "occupancy": 0.1}

    # quiet: readings 30 and 15 minutes ago (a gap between them), nothing since;
    # steady: a reading every minute of the last three
    services.readings_ingest(
        municipality=municipality,
        readings=[reading(quiet, 30), reading(quiet, 15)] + [reading(steady, m) for m in (3, 2, 1)],
    )
    # a gap of eight days ago is no longer listed
    DataGap.objects.create(
        municipality=municipality,
        detector=steady,
        starts_at=now - timedelta(days=8, hours=1),
        ends_at=now - timedelta(days=8),
    )
    status = selectors.detector_status(intersection=intersection, now=now)
    states = {row["detector"].pk: row["state"] for row in status["detectors"]}
    assert states[quiet.pk] == "silent"
    assert states[steady.pk] == "reporting"
    assert {s for pk, s in states.items() if pk not in (quiet.pk, steady.pk)} == {"never"}
    assert status["silent"] == 1
    assert [(row["gap"].detector_id, row["minutes"]) for row in status["gaps"]] == [(quiet.pk, 15)]
    page = engineer_client.get(url("intersection", intersection.pk)).content.decode()
    assert "1 detector has sent nothing for longer than twice its reporting interval." in page
    assert f"(ID {quiet.pk}): <strong>silent since" in page
    assert "Data gaps of the last seven days" in page
    # a detector that reported offers no removal; one that never did, does
    assert f"Remove {quiet.name}" not in page
    assert f"Remove {_rest[0].name}" in page


def test_a_program_green_longer_than_the_maximum_green_is_for_review(
    engineer_client: Client, municipality: Municipality, intersection: Intersection
) -> None:
    from rathaus.traffic import selectors
    from rathaus.traffic.models import Phase
    from tests.traffic.conftest import resco

    # cologne1's program keeps within its maximum greens
    assert selectors.import_review(intersection=intersection)["long_greens"] == 0
    imported = services.network_import(
        municipality=municipality,
        content=(resco("cologne8") / "cologne8.net.xml").read_bytes(),
        network="cologne8.net.xml",
    )
    # one of cologne8's programs shows a green of 78 s in a phase whose maxDur is 50 s
    cut = [p for p in Phase.objects.filter(intersection__in=imported) if p.program_green_cut]
    assert [(p.program_green, p.max_green) for p in cut] == [(78.0, 50.0)]
    (phase,) = cut
    junction = phase.intersection
    assert selectors.import_review(intersection=junction)["long_greens"] == 1
    page = engineer_client.get(url("intersection", junction.pk)).content.decode()
    assert "1 phase has a maximum green shorter than the longest green the program" in page
    assert "50.0 (program: 78.0)" in page
    # the engineer raises the maximum green: the item is reviewed
    services.phase_update(
        phase=phase, greens=phase.greens, min_green=phase.min_green, max_green=80.0
    )
    assert selectors.import_review(intersection=junction)["long_greens"] == 0
