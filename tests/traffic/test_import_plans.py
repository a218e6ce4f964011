"""Network import, plans (Webster, versions, four-eyes approval) and the pages around them."""

import gzip
from datetime import datetime, time
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Count
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from rathaus.accounts.models import User
from rathaus.audit.models import AuditEvent
from rathaus.core.errors import Conflict, PermissionDenied, ValidationFailed
from rathaus.core.models import Municipality
from rathaus.traffic import selectors, services
from rathaus.traffic.control.sumonet import net_read
from rathaus.traffic.models import Detector, Intergreen, Intersection, Phase, SignalPlan
from tests.conftest import strong_login
from tests.factories import StaffFactory
from tests.traffic.conftest import plan_for, report

pytestmark = pytest.mark.django_db


def test_import_creates_the_intersection_model(intersection: Intersection) -> None:
    assert intersection.sumo_id == "GS_cluster_357187_359543"
    assert intersection.groups.count() == 20
    assert intersection.phases.count() == 4
    assert Intergreen.objects.filter(intersection=intersection).count() == 200
    assert Detector.objects.filter(intersection=intersection).count() > 0
    model = services.intersection_model(intersection=intersection)
    assert len(model.phases) == 4


def test_reimport_replaces_instead_of_duplicating(
    municipality: Municipality, intersection: Intersection, cologne1_net: bytes
) -> None:
    services.network_import(municipality=municipality, content=cologne1_net, network="again")
    assert Intersection.objects.filter(municipality=municipality).count() == 1
    assert Phase.objects.filter(intersection__municipality=municipality).count() == 4


def test_a_real_staggered_plan_is_imported_whole(
    municipality: Municipality, tmp_path: Path
) -> None:
    # DLR's plan of its Braunschweig research intersection (SUMO's fokr_bs_demo, read from
    # the installed eclipse-sumo): 46 signal groups, drawn per group, second by second
    sumo = pytest.importorskip("sumo")
    demo = Path(sumo.__file__).resolve().parent / "tools" / "game" / "fokr_bs_demo"
    with gzip.open(demo / "fokr_bs.net.xml.gz") as raw:
        net = etree.parse(raw).getroot()
    (plan,) = etree.parse(str(demo / "signalPlan.add.xml")).getroot().iter("tlLogic")
    old = net.find("tlLogic[@id='38']")
    assert old is not None
    old.addprevious(plan)
    net.remove(old)
    content = etree.tostring(net)
    (imported,) = services.network_import(
        municipality=municipality, content=content, network="fokr"
    )
    model = services.intersection_model(intersection=imported)
    assert len(model.groups) == 46
    assert len(model.phases) == 16
    # the stored model is the one read from the file
    (tmp_path / "fokr.net.xml").write_bytes(content)
    assert model.intergreen == net_read(tmp_path / "fokr.net.xml").intersections["38"].intergreen
    # 7 and 42 are green together only in a transition second of the plan
    assert not model.conflicts(7, 42)
    assert model.conflicts(0, 10)
    # what the engineer has to review: most pairs are never switched directly in a plan
    # drawn per group; 30 times the plan starts a group during a conflicting yellow; 12
    # groups show 2 s yellows (the layer keeps 3 s)
    assert selectors.import_review(intersection=imported) == {
        "defaulted": 1142,
        "raised": 30,
        "yellows": 12,
        "long_greens": 0,
    }
    assert imported.groups.get(index=0).program_yellow == 2.0
    assert imported.groups.get(index=3).program_yellow is None  # 3 s over three states


def test_the_import_records_where_each_intergreen_comes_from(
    municipality: Municipality, intersection: Intersection
) -> None:
    sources = dict(
        Intergreen.objects.filter(intersection=intersection)
        .values_list("source")
        .annotate(n=Count("pk"))
        .values_list("source", "n")
    )
    # cologne1's program switches 80 of its 200 conflicting pairs directly; the others
    # get yellow plus all-red
    assert sources == {Intergreen.Source.PROGRAM: 80, Intergreen.Source.DEFAULT: 120}
    assert selectors.import_review(intersection=intersection) == {
        "defaulted": 120,
        "raised": 0,
        "yellows": 0,
        "long_greens": 0,
    }
    pair = Intergreen.objects.filter(
        intersection=intersection, source=Intergreen.Source.DEFAULT
    ).first()
    assert pair is not None
    # a time set by hand counts as reviewed
    services.intergreen_set(
        intersection=intersection,
        clearing=pair.clearing.index,
        entering=pair.entering.index,
        seconds=pair.seconds + 1,
    )
    pair.refresh_from_db()
    assert pair.source == Intergreen.Source.MANUAL
    assert selectors.import_review(intersection=intersection)["defaulted"] == 119
    # a failed edit changes nothing
    with pytest.raises(ValidationFailed):
        services.intergreen_set(
            intersection=intersection,
            clearing=pair.entering.index,
            entering=pair.clearing.index,
            seconds=0.5,
        )
    assert selectors.import_review(intersection=intersection)["defaulted"] == 119


def test_a_network_without_traffic_lights_writes_nothing(municipality: Municipality) -> None:
    with pytest.raises(ValidationFailed, match="no traffic lights"):
        services.network_import(
            municipality=municipality,
            content=b'<net><edge id="a"><lane id="a_0" length="5"/></edge></net>',
            network="plain",
        )
    assert not Intersection.objects.exists()


def test_a_phase_with_conflicting_greens_is_refused(intersection: Intersection) -> None:
    phase = intersection.phases.get(order=0)
    with pytest.raises(ValidationFailed, match="conflicting greens"):
        services.phase_update(phase=phase, greens=[0, 5], min_green=5, max_green=50)
    phase.refresh_from_db()
    assert 0 not in phase.greens  # nothing half-written


def test_intergreen_shorter_than_yellow_is_refused(intersection: Intersection) -> None:
    with pytest.raises(ValidationFailed, match="shorter than the yellow"):
        services.intergreen_set(intersection=intersection, clearing=5, entering=0, seconds=1.0)
    assert (
        Intergreen.objects.get(
            clearing__index=5, entering__index=0, intersection=intersection
        ).seconds
        == 5.0
    )


def test_detectors_on_missing_lanes_are_refused(intersection: Intersection) -> None:
    with pytest.raises(ValidationFailed, match="no lane"):
        services.detector_create(
            intersection=intersection, name="D1", lane="nowhere_0", position=10, kind="stopline"
        )
    lane = intersection.groups.get(index=0).lanes[0]
    detector = services.detector_create(
        intersection=intersection, name="D1", lane=lane, position=10, kind="stopline"
    )
    assert detector.lane == lane
    with pytest.raises(Conflict):
        services.detector_create(
            intersection=intersection, name="D1", lane=lane, position=10, kind="stopline"
        )


def test_webster_plans_are_versioned_and_need_a_second_person(
    intersection: Intersection, engineer: User, second_engineer: User
) -> None:
    flows = {0: 600.0, 1: 120.0, 2: 500.0, 3: 100.0}
    first = services.plan_compute(
        intersection=intersection,
        name="Tag",
        starts_at=time(6),
        ends_at=time(22),
        flows=flows,
        actor=engineer,
    )
    assert first.version == 1
    assert first.status == SignalPlan.Status.DRAFT
    assert first.greens[0]["green"] > first.greens[1]["green"]
    with pytest.raises(PermissionDenied, match="someone other"):
        services.plan_approve(plan=first, actor=engineer)
    services.plan_approve(plan=first, actor=second_engineer)
    second = services.plan_compute(
        intersection=intersection,
        name="Tag",
        starts_at=time(6),
        ends_at=time(22),
        flows=flows,
        actor=engineer,
    )
    assert second.version == 2
    services.plan_approve(plan=second, actor=second_engineer)
    first.refresh_from_db()
    assert first.status == SignalPlan.Status.RETIRED
    assert SignalPlan.objects.get(status=SignalPlan.Status.ACTIVE) == second
    with pytest.raises(Conflict):
        services.plan_approve(plan=second, actor=second_engineer)
    assert AuditEvent.objects.filter(action="traffic.plan.approved").count() == 2


def test_plans_by_time_of_day_make_one_timetable_without_overlaps(
    intersection: Intersection,
    engineer: User,
    second_engineer: User,
    engineer_client: Client,
) -> None:
    def approve(plan: SignalPlan) -> SignalPlan:
        return services.plan_approve(plan=plan, actor=second_engineer)

    day = approve(plan_for(intersection, "Tag", time(6), time(22), author=engineer))
    night = approve(plan_for(intersection, "Nacht", time(22), time(6), author=engineer))
    # a plan whose hours another plan already holds is not approved: two plans at once
    # would leave the controller without an answer
    peak = plan_for(intersection, "Spitze", time(7), time(9), author=engineer)
    with pytest.raises(
        Conflict, match=r"Tag v1 is in force at the same time \(every day, 06:00.22:00\)"
    ):
        approve(peak)
    all_day = plan_for(intersection, "Notbetrieb", time(0), time(0), author=engineer)
    with pytest.raises(Conflict, match="in force at the same time"):
        approve(all_day)
    early = plan_for(intersection, "Nacht", time(23), time(5), author=engineer)  # a new version
    approve(early)  # replaces its own earlier version, which no longer counts
    night.refresh_from_db()
    assert night.status == SignalPlan.Status.RETIRED
    peak.refresh_from_db()
    assert peak.status == SignalPlan.Status.DRAFT
    timetable = selectors.plan_timetable(
        intersection=intersection, at=timezone.make_aware(datetime(2026, 11, 30, 5, 30))
    )
    assert timetable["plans"] == [day, early]
    assert timetable["in_force"] is None
    assert timetable["without_plan"] == [("05:00", "06:00"), ("22:00", "23:00")]
    at_noon = selectors.plan_timetable(
        intersection=intersection, at=timezone.make_aware(datetime(2026, 11, 30, 12))
    )
    assert at_noon["in_force"] == day
    # the day's timetable on the page, the plan in force marked
    page = engineer_client.get(reverse("traffic:intersection", args=[intersection.pk]))
    text = page.content.decode()
    assert "Timetable of the day" in text
    assert "05:00\N{EN DASH}06:00, 22:00\N{EN DASH}23:00" in text
    assert text.count('aria-current="time"') <= 1
    # retiring a plan (a step for those who approve plans) frees its hours; it is audited
    assert engineer_client.post(reverse("traffic:plan_retire", args=[day.pk])).status_code == 302
    day.refresh_from_db()
    assert day.status == SignalPlan.Status.RETIRED
    assert AuditEvent.objects.filter(action="traffic.plan.retired", target_id=str(day.pk)).exists()
    with pytest.raises(Conflict, match="Only an active plan"):
        services.plan_retire(plan=day, actor=second_engineer)
    approve(peak)
    assert selectors.plan_timetable(intersection=intersection)["plans"] == [peak, early]


def test_plan_needs_a_flow_per_phase_and_sane_flows(intersection: Intersection) -> None:
    with pytest.raises(ValidationFailed, match="every phase"):
        services.plan_compute(
            intersection=intersection, name="T", starts_at=time(6), ends_at=time(9), flows={0: 100}
        )
    with pytest.raises(ValidationFailed):
        services.plan_compute(
            intersection=intersection,
            name="T",
            starts_at=time(6),
            ends_at=time(9),
            flows={0: 5000, 1: 0, 2: 0, 3: 0},
        )
    assert not SignalPlan.objects.exists()


def test_import_page_and_intersection_page(engineer_client: Client, cologne1_net: bytes) -> None:
    response = engineer_client.post(
        reverse("traffic:import"),
        {"network": SimpleUploadedFile("cologne1.net.xml", cologne1_net)},
    )
    assert response.status_code == 302
    intersection = Intersection.objects.get()
    page = engineer_client.get(reverse("traffic:intersection", args=[intersection.pk]))
    assert page.status_code == 200
    assert b"Intergreen" in page.content or b"Zwischenzeiten" in page.content
    text = page.content.decode()
    assert "To review after the import" in text
    assert "120 intergreen times are defaults" in text
    assert text.count("(default, to be reviewed)") == 120
    bad = engineer_client.post(
        reverse("traffic:import"), {"network": SimpleUploadedFile("x.net.xml", b"<net><oops")}
    )
    assert bad.status_code == 400
    # a real network with one number garbled: a clear error, not a crash, and the
    # intersection imported before is untouched
    garbled = cologne1_net.replace(b'length="', b'length="x', 1)
    bad = engineer_client.post(
        reverse("traffic:import"), {"network": SimpleUploadedFile("c.net.xml", garbled)}
    )
    assert bad.status_code == 400
    assert "is not valid" in bad.content.decode()
    assert Intersection.objects.get().pk == intersection.pk


def test_plan_form_on_the_page(engineer_client: Client, intersection: Intersection) -> None:
    url = reverse("traffic:plan_compute", args=[intersection.pk])
    data: dict[str, Any] = {
        "name": "Früh",
        "starts_at": "06:00",
        "ends_at": "09:00",
        "saturation": "1800",
        "days": ["mo", "tu", "we", "th", "fr"],
    }
    data.update({f"flow_{i}": "300" for i in range(4)})
    assert engineer_client.post(url, data).status_code == 302
    for field, value in (("flow_0", "-5"), ("offset", "-3"), ("offset", "nan"), ("offset", "301")):
        assert engineer_client.post(url, {**data, field: value}).status_code == 400
    # an offset the form takes but the cycle does not hold is refused by the service
    late = engineer_client.post(url, {**data, "offset": "299"})
    assert late.status_code == 400
    assert "within the cycle" in late.content.decode()
    assert SignalPlan.objects.count() == 1
    plan = SignalPlan.objects.get()
    assert plan.offset == 0.0
    assert plan.days == ["mo", "tu", "we", "th", "fr"]
    assert plan.day_names == "Mon\N{EN DASH}Fri"
    # days: none, unknown ones, or a list in place of a choice are refused, nothing saved
    for days in ([], ["xx"], ["mo", "holiday"], ["mo" * 500]):
        refused = engineer_client.post(url, {**data, "days": days})
        assert refused.status_code == 400, days
    assert "Choose the days" in engineer_client.post(url, {**data, "days": []}).content.decode()
    assert SignalPlan.objects.count() == 1
    # the author cannot approve through the page either
    engineer_client.post(reverse("traffic:plan_approve", args=[plan.pk]))
    plan.refresh_from_db()
    assert plan.status == SignalPlan.Status.DRAFT


def test_other_tenant_and_unprivileged_staff_are_kept_out(
    intersection: Intersection,
    other_municipality: Municipality,
    other_client: Client,
    client: Client,
    municipality: Municipality,
) -> None:
    outsider = StaffFactory(municipality=other_municipality)
    from tests.organisation.factories import OrgUnitFactory, RoleFactory, RoleGrantFactory
    from tests.traffic.conftest import ENGINEER_PERMISSIONS

    unit = OrgUnitFactory(municipality=other_municipality)
    RoleGrantFactory(
        user=outsider,
        role=RoleFactory(municipality=other_municipality, permissions=ENGINEER_PERMISSIONS),
        org_unit=unit,
    )
    strong_login(other_client, outsider)
    assert (
        other_client.get(reverse("traffic:intersection", args=[intersection.pk])).status_code == 404
    )
    assert (
        other_client.post(reverse("traffic:plan_compute", args=[intersection.pk]), {}).status_code
        == 404
    )
    ours = plan_for(intersection)
    for name in ("plan_approve", "plan_retire"):
        assert other_client.post(reverse(f"traffic:{name}", args=[ours.pk])).status_code == 404
    plain = StaffFactory(municipality=municipality)
    strong_login(client, plain)
    assert client.get(reverse("traffic:index")).status_code == 403
    assert client.post(reverse("traffic:plan_retire", args=[ours.pk])).status_code == 403
    assert client.get(reverse("traffic:plan_retire", args=[ours.pk])).status_code in (403, 405)
    ours.refresh_from_db()
    assert ours.status == SignalPlan.Status.DRAFT
    assert client.get(reverse("traffic:intersection", args=[intersection.pk])).status_code == 403


def test_demo_load_is_idempotent(municipality: Municipality) -> None:
    from rathaus.traffic.demo import traffic_demo_load

    traffic_demo_load(municipality=municipality)
    count = Intersection.objects.filter(municipality=municipality).count()
    assert count == 8
    traffic_demo_load(municipality=municipality)
    assert Intersection.objects.filter(municipality=municipality).count() == count
    # a week program: an approved night plan, an approved plan for Sundays and holidays,
    # and a daytime draft for the other days that fits beside them
    assert sorted(
        SignalPlan.objects.filter(municipality=municipality).values_list("name", "status")
    ) == [("Nacht", "active"), ("Sonn- und Feiertag", "active"), ("Tag", "draft")]
    draft = SignalPlan.objects.get(municipality=municipality, name="Tag")
    services.plan_approve(plan=draft, actor=StaffFactory(municipality=municipality))
    draft.refresh_from_db()
    assert draft.status == SignalPlan.Status.ACTIVE


def test_phase_and_intergreen_forms(engineer_client: Client, intersection: Intersection) -> None:
    phase_url = reverse("traffic:phase_update", args=[intersection.pk])
    unsafe = {
        "phase-phase": "0",
        "phase-greens": ["0", "5"],
        "phase-min_green": "5",
        "phase-max_green": "50",
    }
    response = engineer_client.post(phase_url, unsafe)
    assert response.status_code == 400
    assert b"conflicting greens" in response.content
    assert 0 not in intersection.phases.get(order=0).greens
    safe = dict(unsafe, **{"phase-greens": ["5", "6", "7"], "phase-max_green": "45"})
    assert engineer_client.post(phase_url, safe).status_code == 302
    assert intersection.phases.get(order=0).greens == [5, 6, 7]
    ig_url = reverse("traffic:intergreen_update", args=[intersection.pk])
    short = {"ig-clearing": "5", "ig-entering": "0", "ig-seconds": "1"}
    assert engineer_client.post(ig_url, short).status_code == 400
    longer = dict(short, **{"ig-seconds": "7"})
    assert engineer_client.post(ig_url, longer).status_code == 302
    row = Intergreen.objects.get(intersection=intersection, clearing__index=5, entering__index=0)
    assert row.seconds == 7.0
    assert engineer_client.post(ig_url, {"ig-clearing": "x"}).status_code == 400


def test_a_reimport_keeps_what_was_received_and_placed_by_hand(
    municipality: Municipality, intersection: Intersection, cologne1_net: bytes
) -> None:

    from rathaus.traffic.models import Detector, PriorityRequest

    services.intersection_update(
        intersection=intersection, name="Schillerplatz", cycle_min=40, cycle_max=90
    )
    services.priority_request_receive(
        municipality=municipality,
        intersection_id=intersection.pk,
        kind="bus",
        vehicle="Linie 421",
        group=5,
    )
    edge = "23429231#1"
    lane = f"{edge}_0"
    reporting = intersection.detectors.get(lane=lane)
    services.detector_update(
        detector=reporting,
        name="Schleife Nord",
        lane=lane,
        position=2.5,
        kind="stopline",
        interval_seconds=60,
    )
    report(reporting)
    quiet = services.detector_create(
        intersection=intersection, name="Vorlauf", lane=lane, position=40, kind="advance"
    )
    detectors = Detector.objects.filter(intersection=intersection).count()
    # the same network again: nothing received or placed by hand is lost, nothing doubles
    services.network_import(municipality=municipality, content=cologne1_net, network="again")
    intersection.refresh_from_db()
    assert (intersection.name, intersection.cycle_min, intersection.cycle_max) == (
        "Schillerplatz",
        40,
        90,
    )
    assert PriorityRequest.objects.filter(intersection=intersection).count() == 1
    assert Detector.objects.filter(intersection=intersection).count() == detectors
    reporting.refresh_from_db()
    assert (reporting.name, reporting.position, reporting.kind) == (
        "Schleife Nord",
        2.5,
        "stopline",
    )
    assert reporting.readings.count() == 1
    # a network whose edge was renamed: the lane is gone; the detector that reported stays
    # with its history, the one that never did goes, and the new lane gets a queue area
    renamed = cologne1_net.replace(edge.encode(), b"umbenannt#1")
    services.network_import(municipality=municipality, content=renamed, network="renamed")
    assert Detector.objects.filter(pk=reporting.pk).exists()
    assert not Detector.objects.filter(pk=quiet.pk).exists()
    assert Detector.objects.filter(intersection=intersection, lane="umbenannt#1_0").exists()
    assert PriorityRequest.objects.filter(intersection=intersection).count() == 1
    assert services.intersection_model(intersection=intersection).groups
