"""Simulation runs with the back office's configuration: the own controllers run the
scenario's traffic lights with the phases, intergreens and minimum greens as reviewed
here, SUMO's programs with the network file's; what cannot run so is refused at start."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from rathaus.audit.models import AuditEvent
from rathaus.core.errors import ValidationFailed
from rathaus.traffic import services
from rathaus.traffic.models import Intersection, Phase, SignalGroup, SimulationRun
from tests.traffic.conftest import lengthen_a_default_intergreen, plan_for

pytestmark = [pytest.mark.django_db]


def start(intersection: Intersection, controllers: list[str], **extra: Any) -> SimulationRun:
    return services.simulation_run_start(
        municipality=intersection.municipality,
        scenario="cologne1",
        controllers=controllers,
        seconds=120,
        configured=True,
        **extra,
    )


@pytest.mark.usefixtures("immediate_tasks")
def test_own_controllers_run_the_reviewed_intergreens_and_sumo_the_networks(
    engineer_client: Client,
    intersection: Intersection,
    django_capture_on_commit_callbacks: Any,
) -> None:
    clearing, entering, seconds = lengthen_a_default_intergreen(intersection)
    with django_capture_on_commit_callbacks(execute=True):
        response = engineer_client.post(
            reverse("traffic:run_start"),
            {
                "scenario": "cologne1",
                "controllers": ["adaptive", "fixed", "sumo_static"],
                "seconds": "120",
                "configured": "on",
            },
        )
    assert response.status_code == 302
    run = SimulationRun.objects.get()
    assert run.status == SimulationRun.Status.DONE, run.error
    (entry,) = run.configurations.values()
    assert entry["label"] == intersection.name
    assert [clearing, entering, seconds] in entry["model"]["intergreen"]
    configs = services.run_configurations(run)
    assert configs[intersection.sumo_id].intergreen[(clearing, entering)] == (seconds)
    rows = {r["controller"]: r for r in run.results}
    assert rows["adaptive"]["configured"] == rows["fixed"]["configured"] == [intersection.name]
    assert "configured" not in rows["sumo_static"]
    assert all(r["metrics"]["safety_violations"] == 0 for r in run.results)
    page = engineer_client.get(response["Location"]).content.decode()
    assert "with their configuration from the back office" in page
    event = AuditEvent.objects.get(action="traffic.simulation.started")
    assert event.data["configured"] == [intersection.sumo_id]


def test_without_the_option_or_own_controllers_the_network_runs(
    intersection: Intersection,
) -> None:
    assert start(intersection, ["sumo_static", "sumo_actuated"]).configurations == {}
    plain = services.simulation_run_start(
        municipality=intersection.municipality,
        scenario="cologne1",
        controllers=["adaptive"],
        seconds=120,
    )
    assert plain.configurations == {}
    # a scenario none of whose traffic lights is an intersection here: nothing to apply
    other = services.simulation_run_start(
        municipality=intersection.municipality,
        scenario="cologne3",
        controllers=["adaptive"],
        seconds=120,
        configured=True,
    )
    assert other.configurations == {}


def test_configurations_that_cannot_run_are_refused_at_start(
    intersection: Intersection,
) -> None:
    def refused(controllers: list[str], **extra: Any) -> str:
        with pytest.raises(ValidationFailed) as caught:
            start(intersection, controllers, **extra)
        assert caught.value.fields.keys() >= {"configured"} or "plans" in caught.value.fields
        return str(caught.value)

    # other phases than the network's: adaptive may run them, the network's program not
    first = Phase.objects.get(intersection=intersection, order=0)
    first.greens = [g for g in first.greens if g != first.greens[-1]]
    first.save()
    assert start(intersection, ["adaptive"]).configurations
    assert "choose one of its plans" in refused(["fixed"])
    # with a plan of its own the fixed-time controller runs the configuration too
    plan = plan_for(intersection)
    run = start(intersection, ["fixed", "adaptive"], plans=[plan.pk])
    assert intersection.sumo_id in run.configurations
    # signal groups on other lanes than the network's traffic light
    lanes = SignalGroup.objects.get(intersection=intersection, index=0).lanes
    SignalGroup.objects.filter(intersection=intersection, index=0).update(lanes=["elsewhere_0"])
    assert "does not match the network" in refused(["adaptive"])
    SignalGroup.objects.filter(intersection=intersection, index=0).update(lanes=lanes)
    # an unsafe configuration written around the services
    second = Phase.objects.get(intersection=intersection, order=1)
    second.greens = [0, 5]
    second.save()
    assert "conflicting greens" in refused(["adaptive"])
    assert SimulationRun.objects.filter(configurations={}).count() == 0
