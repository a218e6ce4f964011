"""Simulation runs from the back office: started as a background task, progress, result
chart, digital-twin state of imported intersections, comparison page."""

from datetime import time

import pytest
from django.test import Client
from django.urls import reverse

from rathaus.audit.models import AuditEvent
from rathaus.core.errors import ValidationFailed
from rathaus.core.models import Municipality
from rathaus.traffic import services
from rathaus.traffic.models import (
    Intersection,
    Phase,
    SignalGroup,
    SignalPlan,
    SimulationRun,
)
from tests.traffic.conftest import lengthen_a_default_intergreen, plan_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_tasks")]


def start(client: Client, **overrides: object) -> object:
    data = {"scenario": "cologne1", "controllers": ["adaptive", "sumo_static"], "seconds": "120"}
    data.update(overrides)  # type: ignore[arg-type]
    return client.post(reverse("traffic:run_start"), data)


def test_a_run_executes_and_shows_its_chart_and_feeds_the_twin(
    engineer_client: Client,
    municipality: Municipality,
    cologne1_net: bytes,
    django_capture_on_commit_callbacks: object,
) -> None:
    services.network_import(municipality=municipality, content=cologne1_net, network="cologne1")
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        response = start(engineer_client)
    assert response.status_code == 302
    run = SimulationRun.objects.get()
    assert run.status == SimulationRun.Status.DONE, run.error
    assert run.progress == 1.0
    assert [r["controller"] for r in run.results] == ["adaptive", "sumo_static"]
    assert all(r["metrics"]["safety_violations"] == 0 for r in run.results)
    page = engineer_client.get(response["Location"])
    assert page.status_code == 200
    assert b"<svg" in page.content
    twin = Intersection.objects.get()
    assert twin.live_state["source"] == "twin"
    assert len(twin.live_state["state"]) == 20
    index = engineer_client.get(reverse("traffic:index"))
    assert twin.live_state["state"].encode() in index.content
    compare = engineer_client.get(reverse("traffic:compare") + f"?lauf={run.pk}")
    assert compare.status_code == 200
    assert compare.content.count(b"<svg") >= 4
    partial = engineer_client.get(response["Location"], HTTP_HX_REQUEST="true")
    assert b'id="run-status"' in partial.content
    assert b"<html" not in partial.content


@pytest.mark.parametrize(
    "overrides",
    [
        {"scenario": "../../etc"},
        {"controllers": ["magic"]},
        {"controllers": []},
        {"seconds": "5"},
        {"seconds": "999999"},
        {"seconds": "abc"},
    ],
)
def test_bad_run_requests_start_nothing(engineer_client: Client, overrides: dict) -> None:
    assert start(engineer_client, **overrides).status_code == 400
    assert not SimulationRun.objects.exists()


def test_service_refuses_unknown_scenarios(municipality: Municipality) -> None:
    with pytest.raises(ValidationFailed):
        services.simulation_run_start(
            municipality=municipality, scenario="nope", controllers=["adaptive"], seconds=120
        )


def test_runs_of_another_tenant_are_404(
    engineer_client: Client, other_municipality: Municipality
) -> None:
    theirs = SimulationRun.objects.create(
        municipality=other_municipality, scenario="cologne1", controllers=["adaptive"], seconds=60
    )
    assert engineer_client.get(reverse("traffic:run", args=[theirs.pk])).status_code == 404
    assert engineer_client.get(reverse("traffic:compare") + f"?lauf={theirs.pk}").status_code == 404
    assert engineer_client.get(reverse("traffic:compare") + "?lauf=x").status_code == 404


def _draft(
    intersection: Intersection,
    *,
    offset: float = 0.0,
    name: str = "Tag",
    starts_at: time = time(6),
    ends_at: time = time(22),
) -> SignalPlan:
    """A draft for a run: a strong first phase, so that its green shows in SUMO."""
    return plan_for(intersection, name, starts_at, ends_at, offset=offset, flows=RUN_FLOWS)


RUN_FLOWS = {0: 900.0, 1: 100.0, 2: 300.0, 3: 100.0}


def test_a_draft_plan_is_tried_in_a_run_before_it_is_approved(
    engineer_client: Client,
    intersection: Intersection,
    django_capture_on_commit_callbacks: object,
) -> None:
    plan = _draft(intersection, offset=12.0)
    assert plan.status == SignalPlan.Status.DRAFT
    index = engineer_client.get(reverse("traffic:index"))
    assert f"{intersection.name}: Tag v1" in index.content.decode()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        response = start(
            engineer_client, controllers=["fixed", "sumo_static"], plans=[str(plan.pk)]
        )
    assert response.status_code == 302
    run = SimulationRun.objects.get()
    assert run.status == SimulationRun.Status.DONE, run.error
    # the snapshot: the plan's greens by the network's phase index, each green's start
    # after the network's intergreens, the plan's cycle and offset
    (taken,) = run.plans
    assert taken["plan"] == plan.pk
    assert taken["intersection"] == intersection.sumo_id
    assert [g for _, g in taken["greens"]] == [g["green"] for g in plan.greens]
    assert taken["offset"] == 12.0
    assert taken["cycle"] == pytest.approx(plan.cycle)
    # each green begins where Webster's method put it: after the one before and the
    # intergreen it counted, which the network's model never exceeds here
    model = services.intersection_model(intersection=intersection)
    second = 0.0
    for k, ((phase, green), item) in enumerate(zip(taken["greens"], plan.greens, strict=True)):
        assert taken["starts"][k] == pytest.approx(second)
        following = taken["greens"][(k + 1) % 4][0]
        assert item["intergreen"] >= model.switch_time(phase, following)
        second += green + item["intergreen"]
    assert second == pytest.approx(taken["cycle"], abs=0.2)
    fixed, static = run.results
    assert fixed["plans"] == [taken["label"]]
    assert "plans" not in static
    assert fixed["metrics"]["safety_violations"] == 0
    page = engineer_client.get(response["Location"]).content.decode()
    assert taken["label"] in page
    # a later change of the plan does not change what the run says it ran
    SignalPlan.objects.filter(pk=plan.pk).update(offset=30.0)
    run.refresh_from_db()
    assert run.plans[0]["offset"] == 12.0
    event = AuditEvent.objects.get(action="traffic.simulation.started")
    assert event.data["plans"] == [plan.pk]


def test_plans_outside_what_a_run_can_take_are_refused(
    municipality: Municipality,
    other_municipality: Municipality,
    intersection: Intersection,
    cologne1_net: bytes,
) -> None:
    plan = _draft(intersection)
    theirs = _draft(
        services.network_import(
            municipality=other_municipality, content=cologne1_net, network="cologne1"
        )[0]
    )

    def refused(plans: list[int], controllers: tuple[str, ...] = ("fixed",)) -> str:
        with pytest.raises(ValidationFailed) as caught:
            services.simulation_run_start(
                municipality=municipality,
                scenario="cologne1",
                controllers=list(controllers),
                seconds=120,
                plans=plans,
            )
        return str(caught.value)

    assert "fixed-time controller" in refused([plan.pk], ("adaptive",))
    # another municipality's plan is as unknown as one that does not exist
    assert refused([theirs.pk]) == refused([999_999]) == "Unknown signal plan."
    # two plans in force at once, a plan not in force in the simulated time (cologne1 runs
    # from 07:00), plans that leave part of it without a plan
    assert "Tag v1 and" in refused([_draft(intersection).pk, plan.pk])
    assert "in force at the same time" in refused([plan.pk, _draft(intersection).pk])
    night = _draft(intersection, name="Nacht", starts_at=time(22), ends_at=time(6))
    assert (
        "Nacht v1 (every day, 22:00\N{EN DASH}06:00) is not in force in the simulated time "
        "(07:00\N{EN DASH}07:02 on "
    ) in refused([night.pk])
    early = _draft(intersection, name="Früh", starts_at=time(5), ends_at=time(7, 1))
    later = _draft(intersection, name="Spät", starts_at=time(7, 1, 30), ends_at=time(22))
    assert f"{intersection.name}: no chosen plan is in force at 07:01" in refused(
        [early.pk, later.pk]
    )
    assert "no chosen plan is in force at 07:01" in refused([early.pk])
    # an intersection that is not a traffic light of the scenario
    elsewhere = _draft(
        services.network_import(
            municipality=municipality,
            content=cologne1_net.replace(b"GS_cluster_357187_359543", b"elsewhere"),
            network="other",
        )[0]
    )
    assert "not a traffic light of this scenario" in refused([elsewhere.pk])
    # a configuration that releases other lanes than the scenario's traffic light
    SignalGroup.objects.filter(intersection=intersection, index=0).update(lanes=["elsewhere_0"])
    assert "does not match the network" in refused([plan.pk])
    SignalGroup.objects.filter(intersection=intersection, index=0).update(
        lanes=list(services.intersection_model(intersection=elsewhere.intersection).groups[0].lanes)
    )
    # an unsafe configuration (written around the services) is refused, not simulated
    second = Phase.objects.filter(intersection=intersection, order=1)
    greens = second.get().greens
    second.update(greens=[0, 5])
    assert "conflicting greens" in refused([plan.pk])
    # a phase the plan was computed for and that is gone since
    second.update(greens=greens, order=9)
    assert "phase 1 no longer exists" in refused([plan.pk])
    assert not SimulationRun.objects.exists()


def test_plans_by_time_of_day_take_over_from_each_other_in_a_run(
    intersection: Intersection,
) -> None:
    # cologne1 runs from 07:00: the early plan until 07:01, the day plan from then on
    early = _draft(intersection, name="Früh", starts_at=time(5), ends_at=time(7, 1))
    day = _draft(intersection, name="Tag", starts_at=time(7, 1), ends_at=time(22))
    run = services.simulation_run_start(
        municipality=intersection.municipality,
        scenario="cologne1",
        controllers=["fixed"],
        seconds=180,
        plans=[day.pk, early.pk],
    )
    assert [p["window"] for p in run.plans] == [[25260.0, 79200.0], [18000.0, 25260.0]]
    plans, _models = services.run_plans(run)
    timetable = plans[intersection.sumo_id]
    assert isinstance(timetable, tuple)
    assert [p.label for p in timetable] == [p["label"] for p in run.plans]
    run = services.simulation_run_execute(run_id=run.pk)
    assert run.status == SimulationRun.Status.DONE, run.error
    (fixed,) = run.results
    assert fixed["plans"] == [p["label"] for p in run.plans]
    assert fixed["metrics"]["safety_violations"] == 0
    # a run recorded before plans had windows runs its one plan throughout
    legacy = SimulationRun.objects.create(
        municipality=intersection.municipality,
        scenario="cologne1",
        controllers=["fixed"],
        seconds=60,
        plans=[{k: v for k, v in run.plans[0].items() if k != "window"}],
    )
    plans, _models = services.run_plans(legacy)
    assert not isinstance(plans[intersection.sumo_id], tuple)


def test_a_run_takes_the_intergreens_the_engineer_reviewed(
    intersection: Intersection,
) -> None:
    plan = _draft(intersection)
    clearing, entering, seconds = lengthen_a_default_intergreen(intersection)
    run = services.simulation_run_start(
        municipality=intersection.municipality,
        scenario="cologne1",
        controllers=["fixed"],
        seconds=120,
        plans=[plan.pk],
    )
    model = run.plans[0]["model"]
    assert [clearing, entering, seconds] in model["intergreen"]
    _plans, models = services.run_plans(run)
    assert models[intersection.sumo_id].intergreen[(clearing, entering)] == seconds


@pytest.mark.parametrize("plans", [["abc"], ["-1"], ["999999"], ["1" * 40]])
def test_bad_plan_choices_on_the_page_start_nothing(
    engineer_client: Client, intersection: Intersection, plans: list[str]
) -> None:
    assert start(engineer_client, controllers=["fixed"], plans=plans).status_code == 400
    assert not SimulationRun.objects.exists()


def test_a_plan_offset_must_lie_within_its_cycle(intersection: Intersection) -> None:
    with pytest.raises(ValidationFailed, match="within the cycle"):
        _draft(intersection, offset=10_000.0)
    with pytest.raises(ValidationFailed, match="within the cycle"):
        _draft(intersection, offset=float("nan"))
    assert not SignalPlan.objects.exists()
