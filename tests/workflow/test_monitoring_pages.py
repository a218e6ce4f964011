"""Monitoring: figures from a constructed history (exact), the CSV export, incidents retried
and cases cancelled from the page, the case list and the instance viewer."""

import csv
import io
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from rathaus.core.models import Municipality
from rathaus.workflow import selectors, services
from rathaus.workflow.handlers import PermanentHandlerError
from rathaus.workflow.models import Incident, InstanceEvent, ProcessInstance, UserTask
from tests.factories import StaffFactory
from tests.workflow.conftest import Administration, HandlerLog, open_task, run_jobs
from tests.workflow.factories import deploy, linear, service_task, user_task
from tests.workflow.test_inbox_pages import signed_in

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
TWO_STEPS = linear(
    user_task("a", extra='<rathaus:candidates orgUnit="FB 1" role="sachbearbeitung"/>'),
    service_task("b", "test.echo"),
)


@pytest.fixture
def monitor(admin_tree: Administration) -> Client:
    return signed_in(admin_tree.monitor)


def start(admin: Administration, key: str = "test_process") -> ProcessInstance:
    return services.instance_start(municipality=admin.municipality, process_key=key)


def at(instance: ProcessInstance, kind: str, element: str, when: datetime, **data: object) -> None:
    event = InstanceEvent.objects.create(
        municipality_id=instance.municipality_id,
        instance=instance,
        kind=kind,
        element_id=element,
        data=data,
    )
    # created_at is set on insert; the history is back-dated to construct it
    InstanceEvent.objects.filter(pk=event.pk).update(created_at=when)


@pytest.fixture
def history(admin_tree: Administration, handlers: HandlerLog) -> list[ProcessInstance]:
    """Instances of "Test" in every state, with step events at chosen times:

    - completed in 1 h, 2 h and 10 h (and one 100 days ago, outside the period);
    - step "a" (user task) ten times: 10, 20, ..., 100 minutes; once cancelled;
    - step "b" (service) once: 5 seconds; one closing event without its opening.
    """
    deploy(admin_tree.municipality, ("two.bpmn", TWO_STEPS))
    instances = [start(admin_tree) for _ in range(7)]
    InstanceEvent.objects.all().delete()
    states = [
        "completed",
        "completed",
        "completed",
        "completed",
        "waiting",
        "cancelled",
        "incident",
    ]
    spans = [timedelta(hours=1), timedelta(hours=2), timedelta(hours=10), timedelta(hours=5)]
    for index, (instance, state) in enumerate(zip(instances, states, strict=True)):
        fields: dict[str, object] = {"state": state}
        if state == "completed":
            ended = NOW - timedelta(days=100 if index == 3 else 1)
            fields.update(started_at=ended - spans[index], completed_at=ended)
        ProcessInstance.objects.filter(pk=instance.pk).update(**fields)
    UserTask.objects.all().delete()
    first = instances[0]
    base = NOW - timedelta(days=2)
    for run in range(10):
        opened = base + timedelta(hours=3 * run)
        at(first, "task_opened", "a", opened, name="A step")
        at(first, "task_completed", "a", opened + timedelta(minutes=10 * (run + 1)))
    at(first, "task_opened", "a", base + timedelta(hours=40), name="A step")
    at(first, "task_cancelled", "a", base + timedelta(hours=41))
    at(first, "service_called", "b", base + timedelta(hours=42), handler="test.echo")
    at(first, "service_completed", "b", base + timedelta(hours=42, seconds=5))
    at(instances[1], "service_completed", "b", base + timedelta(hours=43))
    return instances


def test_figures_are_exact_for_a_constructed_history(
    admin_tree: Administration, history: list[ProcessInstance]
) -> None:
    figures = selectors.process_figures(municipality=admin_tree.municipality, now=NOW)
    [process] = figures.processes
    assert (process.key, process.name) == ("test_process", "Test")
    assert process.states == {"completed": 4, "waiting": 1, "cancelled": 1, "incident": 1}
    assert process.total == 7
    # (3600 + 7200 + 36000) / 3; nearest rank of 90 % of 3 values is the 3rd
    assert process.cycle == selectors.CycleTime(count=3, average=15600.0, p90=36000.0)
    assert process.steps == {
        # 600 ... 6000 s: average 3300 s; the 9th of 10 values is 5400 s
        ("a", "A step"): selectors.CycleTime(count=10, average=3300.0, p90=5400.0),
        ("b", "test.echo"): selectors.CycleTime(count=1, average=5.0, p90=5.0),
    }


def test_percentile_by_nearest_rank() -> None:
    assert selectors.cycle_time([]) is None
    assert selectors.cycle_time([7.0]) == selectors.CycleTime(1, 7.0, 7.0)
    assert selectors.cycle_time([float(v) for v in range(1, 21)]) == selectors.CycleTime(
        20, 10.5, 18.0
    )


def test_monitoring_page_shows_the_figures(
    admin_tree: Administration, history: list[ProcessInstance], monitor: Client
) -> None:
    response = monitor.get(reverse("workflow:monitoring"))
    body = response.content.decode()
    assert response.status_code == 200
    assert response.context["state_rows"][0][1] == [0, 1, 4, 1, 1]  # running ... incident
    assert "<td>4 h 20 min</td><td>10 h 0 min</td>" in body  # the whole case
    assert "<td>55 min</td><td>1 h 30 min</td>" in body  # step a
    assert "<td>5 s</td><td>5 s</td>" in body  # step b


def test_csv_export_has_the_figures(
    admin_tree: Administration, history: list[ProcessInstance], monitor: Client
) -> None:
    response = monitor.get(reverse("workflow:monitoring_csv"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "process",
        "process_name",
        "figure",
        "state_or_step",
        "count",
        "average_s",
        "p90_s",
    ]
    assert rows[1:] == [
        ["test_process", "Test", "instances", "running", "0", "", ""],
        ["test_process", "Test", "instances", "waiting", "1", "", ""],
        ["test_process", "Test", "instances", "completed", "4", "", ""],
        ["test_process", "Test", "instances", "cancelled", "1", "", ""],
        ["test_process", "Test", "instances", "incident", "1", "", ""],
        ["test_process", "Test", "cycle_time", "", "3", "15600", "36000"],
        ["test_process", "Test", "step_time", "a: A step", "10", "3300", "5400"],
        ["test_process", "Test", "step_time", "b: test.echo", "1", "5", "5"],
        ["", "", "overdue_tasks", "", "0", "", ""],
        ["", "", "open_incidents", "", "0", "", ""],
    ]


def test_csv_cells_cannot_become_formulas(admin_tree: Administration, monitor: Client) -> None:
    deploy(
        admin_tree.municipality,
        ("f.bpmn", linear(user_task("x")).replace(b'name="Test"', b'name="=HYPERLINK(1)"')),
    )
    rows = list(
        csv.reader(io.StringIO(monitor.get(reverse("workflow:monitoring_csv")).content.decode()))
    )
    assert rows[1][1] == "'=HYPERLINK(1)"


def test_monitoring_query_count_does_not_grow(
    admin_tree: Administration, handlers: HandlerLog, monitor: Client
) -> None:
    deploy(admin_tree.municipality, ("two.bpmn", TWO_STEPS))
    handlers.fail["test.echo"] = PermanentHandlerError("down")

    def failing_case() -> None:
        instance = start(admin_tree)
        task = open_task(instance, "a")
        UserTask.objects.filter(pk=task.pk).update(due_at=NOW - timedelta(days=1))
        start(admin_tree)  # and an overdue task of another case
        UserTask.objects.filter(due_at__isnull=True).update(due_at=NOW - timedelta(hours=1))
        services.user_task_complete(task=task, user=admin_tree.clerk, data={})
        run_jobs()

    failing_case()
    monitor.get(reverse("workflow:monitoring"))

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert monitor.get(reverse("workflow:monitoring")).status_code == 200
        return len(queries)

    few = count()
    failing_case()
    failing_case()
    assert Incident.objects.filter(resolved_at__isnull=True).count() == 3
    assert count() == few


def test_monitoring_needs_the_permission(admin_tree: Administration) -> None:
    clerk = signed_in(admin_tree.clerk)
    for name in ("monitoring", "monitoring_csv", "instance_list"):
        assert clerk.get(reverse(f"workflow:{name}")).status_code == 403


# --- incidents and cancelling -----------------------------------------------------------


@pytest.fixture
def failed(admin_tree: Administration, handlers: HandlerLog) -> ProcessInstance:
    deploy(admin_tree.municipality, ("svc.bpmn", linear(service_task("call", "test.echo"))))
    handlers.fail["test.echo"] = PermanentHandlerError("mailbox down")
    instance = start(admin_tree)
    assert run_jobs() == ["incident"]
    instance.refresh_from_db()
    assert instance.state == "incident"
    return instance


def test_incident_is_listed_and_retried_from_the_page(
    admin_tree: Administration, failed: ProcessInstance, handlers: HandlerLog, monitor: Client
) -> None:
    incident = Incident.objects.get(instance=failed)
    page = monitor.get(reverse("workflow:monitoring")).content.decode()
    assert "PermanentHandlerError: mailbox down" in page
    retry = reverse("workflow:incident_retry", args=[incident.pk])
    assert retry in page
    # When the mailbox is back and the administrator retries
    del handlers.fail["test.echo"]
    response = monitor.post(retry, follow=True)
    assert response.status_code == 200
    assert f"Retried; case {failed.pk} goes on." in response.content.decode()
    incident.refresh_from_db()
    assert (incident.resolution, incident.resolved_by) == ("retried", admin_tree.monitor)
    assert run_jobs() == ["succeeded"]
    failed.refresh_from_db()
    assert failed.state == "completed"
    # A second retry of the same incident is a conflict, shown as a message
    again = monitor.post(retry, follow=True)
    assert "This incident has already been resolved." in again.content.decode()


def test_incident_retry_is_refused_to_others(
    admin_tree: Administration, failed: ProcessInstance, other_municipality: Municipality
) -> None:
    incident = Incident.objects.get(instance=failed)
    retry = reverse("workflow:incident_retry", args=[incident.pk])
    assert signed_in(admin_tree.clerk).post(retry).status_code == 403
    stranger = StaffFactory(municipality=other_municipality, is_superuser=True)
    assert signed_in(stranger, host="beispielheim.localhost").post(retry).status_code == 404
    assert signed_in(admin_tree.monitor).get(retry).status_code == 405
    assert Incident.objects.get(pk=incident.pk).resolved_at is None


def test_cancel_a_case_with_a_reason(
    admin_tree: Administration, failed: ProcessInstance, monitor: Client
) -> None:
    url = reverse("workflow:instance_cancel", args=[failed.pk])
    # Without a reason nothing happens
    response = monitor.post(url, {"reason": "   "}, follow=True)
    assert "Give a reason for cancelling the case." in response.content.decode()
    assert ProcessInstance.objects.get(pk=failed.pk).state == "incident"
    # With one, from the monitoring page's form (prefixed), the case ends
    incident = Incident.objects.get(instance=failed)
    response = monitor.post(
        url,
        {
            "prefix": f"cancel-{incident.pk}",
            f"cancel-{incident.pk}-reason": "Antrag zurückgezogen",
            "zurueck": "ueberwachung",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("workflow:monitoring")
    failed.refresh_from_db()
    assert failed.state == "cancelled"
    assert InstanceEvent.objects.get(instance=failed, kind="cancelled").data == {
        "reason": "Antrag zurückgezogen"
    }
    # Cancelling again is refused with a message
    again = monitor.post(url, {"reason": "noch mal"}, follow=True)
    assert "The process instance has already ended." in again.content.decode()


def test_cancel_is_refused_to_others(
    admin_tree: Administration, failed: ProcessInstance, other_municipality: Municipality
) -> None:
    url = reverse("workflow:instance_cancel", args=[failed.pk])
    assert signed_in(admin_tree.clerk).post(url, {"reason": "x"}).status_code == 403
    stranger = StaffFactory(municipality=other_municipality, is_superuser=True)
    other = signed_in(stranger, host="beispielheim.localhost")
    assert other.post(url, {"reason": "x"}).status_code == 404
    assert ProcessInstance.objects.get(pk=failed.pk).state == "incident"


# --- cases and the viewer ------------------------------------------------------------------


def test_case_list_filters_and_pages(admin_tree: Administration, monitor: Client) -> None:
    deploy(admin_tree.municipality, ("s.bpmn", linear(user_task("x"))))
    instances = [start(admin_tree) for _ in range(52)]
    ProcessInstance.objects.filter(pk=instances[0].pk).update(state="cancelled")
    response = monitor.get(reverse("workflow:instance_list"))
    assert len(response.context["page"].object_list) == 50
    second = monitor.get(reverse("workflow:instance_list"), {"seite": "2"}).context["page"]
    assert [i.pk for i in second.object_list] == [instances[1].pk, instances[0].pk]
    cancelled = monitor.get(reverse("workflow:instance_list"), {"status": "cancelled"})
    assert [i.pk for i in cancelled.context["page"].object_list] == [instances[0].pk]
    # Unknown filters show everything rather than failing
    odd = monitor.get(reverse("workflow:instance_list"), {"status": "<x>", "prozess": "y" * 500})
    assert odd.status_code == 200
    assert odd.context["state"] == ""

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            monitor.get(reverse("workflow:instance_list"))
        return len(queries)

    few = count()
    start(admin_tree)
    assert count() == few


def test_viewer_shows_done_current_and_failed_elements_as_markers_and_text(
    admin_tree: Administration, handlers: HandlerLog, monitor: Client, shipped: None
) -> None:
    # Given an invoice whose factual check is done and whose arithmetic check waits
    instance = services.instance_start(
        municipality=admin_tree.municipality,
        process_key="invoice_approval",
        variables={"ordering_unit": "FB 2", "invoice_number": "R-1"},
    )
    services.user_task_complete(
        task=open_task(instance, "check_factual"),
        user=admin_tree.finance,
        data={"factually_correct": True},
    )
    response = monitor.get(reverse("workflow:instance_detail", args=[instance.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    diagram = response.context["diagram"]
    assert diagram.current == ["check_arithmetic"]
    assert diagram.completed == ["check_factual", "gateway_factual", "invoice_received"]
    assert 'data-current="check_arithmetic"' in body
    assert "Confirm arithmetically correct" in body  # the text list
    assert "&lt;bpmndi:BPMNShape" in body
    assert "workflow/viewer.js" in body


def test_viewer_is_refused_to_others(
    admin_tree: Administration, failed: ProcessInstance, other_municipality: Municipality
) -> None:
    url = reverse("workflow:instance_detail", args=[failed.pk])
    assert signed_in(admin_tree.clerk).get(url).status_code == 403
    stranger = StaffFactory(municipality=other_municipality, is_superuser=True)
    assert signed_in(stranger, host="beispielheim.localhost").get(url).status_code == 404
    page = signed_in(admin_tree.monitor).get(url)
    assert page.context["diagram"].failed == ["call"]
    assert page.status_code == 200
