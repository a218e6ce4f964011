"""Failures become incidents that administrators see, retry or cancel; never a stuck instance."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from rathaus.audit.models import AuditEvent
from rathaus.core.errors import Conflict, PermissionDenied
from rathaus.core.models import Municipality
from rathaus.workflow import selectors, services
from rathaus.workflow.handlers import PermanentHandlerError
from rathaus.workflow.models import Incident, ProcessInstance, ServiceJob, UserTask
from tests.workflow.conftest import Administration, HandlerLog, open_elements, run_jobs
from tests.workflow.factories import deploy, linear, script_task, service_task, user_task

pytestmark = pytest.mark.django_db


def start(
    municipality: Municipality, key: str = "test_process", **variables: object
) -> ProcessInstance:
    return services.instance_start(municipality=municipality, process_key=key, variables=variables)


def test_failing_handler_is_retried_with_backoff_then_becomes_an_incident(
    admin_tree: Administration, handlers: HandlerLog
) -> None:
    # Given a service task whose handler fails (registered with 2 retries, 10 s base)
    municipality = admin_tree.municipality
    deploy(municipality, ("svc.bpmn", linear(service_task("call", "test.echo", {"n": "n"}))))
    handlers.fail["test.echo"] = RuntimeError("mailbox down")
    instance = start(municipality, n=1)
    job = ServiceJob.objects.get(instance=instance)
    assert (job.status, job.max_attempts, job.handler) == ("pending", 3, "test.echo")
    now = timezone.now()
    # When it fails the first time, it waits 10 s; the second time 20 s
    assert services.service_job_run(job_id=job.pk, now=now) == "retry"
    job.refresh_from_db()
    assert job.attempts == 1
    assert job.next_attempt_at == now + timedelta(seconds=10)
    assert job.last_error == "RuntimeError: mailbox down"
    assert services.service_job_run(job_id=job.pk, now=now + timedelta(seconds=5)) == "skipped"
    assert services.service_job_run(job_id=job.pk, now=now + timedelta(seconds=10)) == "retry"
    job.refresh_from_db()
    assert job.next_attempt_at == now + timedelta(seconds=30)
    instance.refresh_from_db()
    assert instance.state == "running"
    # When the last attempt fails too, the instance has an incident
    assert services.service_job_run(job_id=job.pk, now=now + timedelta(seconds=30)) == "incident"
    instance.refresh_from_db()
    assert instance.state == "incident"
    incident = Incident.objects.get(instance=instance)
    assert (incident.kind, incident.element_id, incident.handler, incident.attempts) == (
        "service",
        "call",
        "test.echo",
        3,
    )
    assert incident.error == "RuntimeError: mailbox down"
    assert list(selectors.incidents_open(municipality=municipality)) == [incident]
    # When the mailbox works again and an administrator retries
    del handlers.fail["test.echo"]
    services.incident_retry(incident=incident, user=admin_tree.monitor)
    instance.refresh_from_db()
    assert instance.state == "running"
    assert run_jobs() == ["succeeded"]
    # Then the instance completes, and the retry is in the audit trail
    instance.refresh_from_db()
    assert instance.state == "completed"
    assert instance.variables["call_result"] == {"handled_by": "test.echo", "attempt": 1}
    assert AuditEvent.objects.filter(action="workflow.incident.retried").count() == 1
    with pytest.raises(Conflict):
        services.incident_retry(incident=incident, user=admin_tree.monitor)


def test_handler_database_writes_roll_back_with_its_failure(
    admin_tree: Administration, handlers: HandlerLog
) -> None:
    from rathaus.workflow.handlers import handler_unregister, workflow_handler

    municipality = admin_tree.municipality

    @workflow_handler("test.half_done", retries=0)
    def half_done(context: object, **params: object) -> None:
        UserTask.objects.filter(instance_id=context.instance_id).update(name="changed")  # type: ignore[attr-defined]
        raise PermanentHandlerError("refused by the other side")

    try:
        deploy(
            municipality,
            ("svc.bpmn", linear(user_task("before"), service_task("call", "test.half_done"))),
        )
        instance = start(municipality)
        services.user_task_complete(
            task=UserTask.objects.get(instance=instance),
            user=StaffForTest.superuser(municipality),
            data={},
        )
        assert run_jobs() == ["incident"]
        assert UserTask.objects.get(instance=instance).name == "before"
        assert Incident.objects.get(instance=instance).error == (
            "PermanentHandlerError: refused by the other side"
        )
    finally:
        handler_unregister("test.half_done")


def test_unknown_handler_is_an_incident_not_a_stuck_instance(municipality: Municipality) -> None:
    deploy(municipality, ("svc.bpmn", linear(service_task("call", "module.not_installed"))))
    instance = start(municipality)
    assert run_jobs() == ["incident"]
    instance.refresh_from_db()
    assert instance.state == "incident"
    incident = Incident.objects.get(instance=instance)
    assert incident.handler == "module.not_installed"
    assert incident.attempts == 1


def test_handler_result_that_cannot_be_stored_is_an_incident(
    municipality: Municipality, handlers: HandlerLog
) -> None:
    from rathaus.workflow.handlers import handler_unregister, workflow_handler

    @workflow_handler("test.odd_result", retries=5)
    def odd_result(context: object) -> object:
        return object()

    try:
        deploy(municipality, ("svc.bpmn", linear(service_task("call", "test.odd_result"))))
        instance = start(municipality)
        assert run_jobs() == ["incident"]
        assert "cannot be stored" in Incident.objects.get(instance=instance).error
    finally:
        handler_unregister("test.odd_result")


SANDBOX_ESCAPES = [
    "x = __import__('os').system('true')",
    "x = ().__class__.__bases__[0].__subclasses__()",
    "x = open('/etc/passwd').read()",
    "while True:\n    pass",
    "x = 'x' * 10**9",
]


@pytest.mark.parametrize("script", SANDBOX_ESCAPES)
def test_model_trying_to_escape_the_sandbox_fails_safely_into_an_incident(
    municipality: Municipality, script: str
) -> None:
    # The upload check refuses these; a model deployed before a rule tightened, or code that
    # only fails at run time, must still be stopped when it runs.
    from rathaus.workflow import validation

    original = validation.check_source
    validation.check_source = lambda source, mode: None  # type: ignore[assignment]
    try:
        deploy(
            municipality, ("escape.bpmn", linear(user_task("first"), script_task("evil", script)))
        )
    finally:
        validation.check_source = original
    instance = start(municipality)
    task = UserTask.objects.get(instance=instance)
    state_before = ProcessInstance.objects.get(pk=instance.pk).engine_state
    # When the clerk's completion leads into the script
    admin = StaffForTest.superuser(municipality)
    services.user_task_complete(task=task, user=admin, data={})
    # Then the completion counts, the script's element has an incident, the worker lives on
    instance.refresh_from_db()
    assert instance.state == "incident"
    assert instance.engine_state != state_before
    incident = Incident.objects.get(instance=instance)
    assert (incident.kind, incident.element_id) == ("engine", "evil")
    assert "SandboxViolation" in incident.error or "not allowed" in incident.error
    assert UserTask.objects.get(pk=task.pk).status == "completed"
    # A retry fails the same way and counts the attempt on a new incident
    services.incident_retry(incident=incident, user=admin)
    assert Incident.objects.filter(instance=instance, resolved_at__isnull=True).count() == 1
    # And the engine still runs other instances
    other = start(municipality)
    assert open_elements(other) == ["first"]


class StaffForTest:
    @staticmethod
    def superuser(municipality: Municipality) -> object:
        from tests.factories import StaffFactory

        return StaffFactory(municipality=municipality, is_superuser=True)


def test_failing_condition_at_start_gives_an_incident_instance(municipality: Municipality) -> None:
    deploy(municipality, ("s.bpmn", linear(script_task("divide", "x = 1 / zero"))))
    instance = start(municipality, zero=0)
    assert instance.state == "incident"
    incident = Incident.objects.get(instance=instance)
    assert incident.element_id == "divide"
    assert "ZeroDivisionError" in incident.error
    # Cancelling resolves the incident
    services.instance_cancel(instance=instance, user=None, reason="Test")
    incident.refresh_from_db()
    assert incident.resolution == "cancelled"


def test_cancel_ends_everything_and_is_audited(
    admin_tree: Administration, handlers: HandlerLog
) -> None:
    municipality = admin_tree.municipality
    deploy(municipality, ("c.bpmn", linear(user_task("work"), service_task("call", "test.echo"))))
    instance = start(municipality)
    with pytest.raises(PermissionDenied):
        services.instance_cancel(instance=instance, user=admin_tree.clerk, reason="Nein")
    services.instance_cancel(instance=instance, user=admin_tree.monitor, reason="Withdrawn")
    instance.refresh_from_db()
    assert instance.state == "cancelled"
    assert UserTask.objects.get(instance=instance).status == "cancelled"
    assert (
        AuditEvent.objects.get(action="workflow.instance.cancelled").data["reason"] == "Withdrawn"
    )
    with pytest.raises(Conflict):
        services.instance_cancel(instance=instance, user=admin_tree.monitor, reason="Again")


@pytest.mark.django_db(transaction=True)
def test_the_database_worker_runs_service_jobs_queued_on_commit(
    municipality: Municipality, handlers: HandlerLog
) -> None:
    # Given an instance whose service call was queued when its start committed
    deploy(municipality, ("svc.bpmn", linear(service_task("call", "test.echo"))))
    instance = start(municipality)
    queued = DBTaskResult.objects.get(task_path="rathaus.workflow.tasks.service_job_execute")
    assert queued.status == TaskResultStatus.READY
    # When the worker drains the queue
    call_command("db_worker", batch=True, interval=0)
    # Then the handler ran and the instance completed
    queued.refresh_from_db()
    assert queued.status == TaskResultStatus.SUCCESSFUL
    assert handlers.names() == ["test.echo"]
    instance.refresh_from_db()
    assert instance.state == "completed"


@pytest.mark.django_db(transaction=True)
def test_a_retry_is_queued_for_its_due_time(
    municipality: Municipality, handlers: HandlerLog
) -> None:
    deploy(municipality, ("svc.bpmn", linear(service_task("call", "test.echo"))))
    handlers.fail["test.echo"] = RuntimeError("later")
    instance = start(municipality)
    job = ServiceJob.objects.get(instance=instance)
    assert services.service_job_run(job_id=job.pk) == "retry"
    job.refresh_from_db()
    queued = DBTaskResult.objects.filter(task_path="rathaus.workflow.tasks.service_job_execute")
    assert sorted(r.args_kwargs["kwargs"]["job_id"] for r in queued) == [job.pk, job.pk]
    assert queued.filter(run_after=job.next_attempt_at).count() == 1


def test_workflow_tick_runs_timers_retries_and_overdue(
    municipality: Municipality, handlers: HandlerLog
) -> None:
    from rathaus.workflow.tasks import workflow_tick

    deploy(municipality, ("svc.bpmn", linear(service_task("call", "test.echo"))))
    start(municipality)
    assert workflow_tick.call() == {"timers": 0, "jobs": 1, "overdue": 0, "escalated": 0}
    assert handlers.names() == ["test.echo"]


def test_parallel_join_after_an_exclusive_split_does_not_deadlock(
    municipality: Municipality,
) -> None:
    # SpiffWorkflow's join notices that the branch not taken can no longer arrive.
    model = (
        '<bpmn:startEvent id="start"/>'
        '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="split"/>'
        '<bpmn:exclusiveGateway id="split" default="b"/>'
        '<bpmn:sequenceFlow id="a" sourceRef="split" targetRef="join">'
        "<bpmn:conditionExpression>False</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="b" sourceRef="split" targetRef="join"/>'
        '<bpmn:parallelGateway id="join"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="join" targetRef="end"/>'
        '<bpmn:endEvent id="end"/>'
    )
    from tests.workflow.factories import bpmn

    deploy(municipality, ("join.bpmn", bpmn(model)))
    assert start(municipality).state == "completed"


def test_an_instance_waiting_for_nothing_gets_an_incident(
    municipality: Municipality, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The safety net under every step: should the engine ever stop with nothing open and
    # nothing to wait for, the instance is not left silently "waiting".
    from rathaus.workflow import engine

    real = engine.workflow_snapshot

    def nothing_open(workflow: object) -> engine.Snapshot:
        snapshot = real(workflow)
        snapshot.user_tasks = []
        return snapshot

    deploy(municipality, ("p.bpmn", linear(user_task("first"))))
    monkeypatch.setattr(engine, "workflow_snapshot", nothing_open)
    instance = start(municipality)
    assert instance.state == "incident"
    assert Incident.objects.get(instance=instance).error == (
        "the instance waits for nothing that can happen (blocked at: -)"
    )


def test_failing_post_script_of_a_user_task_keeps_it_open_with_an_incident(
    municipality: Municipality,
) -> None:
    post = "<spiffworkflow:postScript>x = 1 / 0</spiffworkflow:postScript>"
    deploy(municipality, ("post.bpmn", linear(user_task("decide", extra=post))))
    instance = start(municipality)
    task = UserTask.objects.get(instance=instance)
    worker = StaffForTest.superuser(municipality)
    # When the completion runs into the failing post-script
    with pytest.raises(Conflict) as refused:
        services.user_task_complete(task=task, user=worker, data={})
    assert refused.value.code == "model_failed"
    # Then the task is still open, the incident names it, and the audit has no decision
    task.refresh_from_db()
    assert (task.status, task.completed_by) == ("open", None)
    instance.refresh_from_db()
    assert instance.state == "incident"
    assert Incident.objects.get(instance=instance).element_id == "decide"
    assert not AuditEvent.objects.filter(action="workflow.task.completed").exists()
    # Retrying leaves the task open for another try
    services.incident_retry(incident=Incident.objects.get(instance=instance), user=worker)
    instance.refresh_from_db()
    assert instance.state == "waiting"
    assert open_elements(instance) == ["decide"]


def test_failing_post_script_after_a_handler_is_a_service_incident(
    municipality: Municipality, handlers: HandlerLog
) -> None:
    post = "<spiffworkflow:postScript>x = 1 / 0</spiffworkflow:postScript>"
    service = service_task("call", "test.echo").replace(
        "</spiffworkflow:serviceTaskOperator>", "</spiffworkflow:serviceTaskOperator>" + post
    )
    deploy(municipality, ("post.bpmn", linear(service)))
    instance = start(municipality)
    assert run_jobs() == ["incident"]
    incident = Incident.objects.get(instance=instance)
    assert (incident.kind, incident.handler) == ("service", "test.echo")
    assert incident.error.startswith("after the handler:")
    assert ServiceJob.objects.get(instance=instance).status == "failed"
    # A retry calls the handler again (handlers should be idempotent)
    services.incident_retry(incident=incident, user=None)
    assert run_jobs() == ["incident"]
    assert handlers.names() == ["test.echo", "test.echo"]
