"""Simulation runs from the back office: started as a background task, progress, result
chart, digital-twin state of imported intersections, comparison page."""

import pytest
from django.test import Client
from django.urls import reverse

from rathaus.core.errors import ValidationFailed
from rathaus.core.models import Municipality
from rathaus.traffic import services
from rathaus.traffic.models import Intersection, SimulationRun

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
