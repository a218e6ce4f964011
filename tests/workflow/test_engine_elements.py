"""The BPMN elements administrative processes use, each run through the services."""

from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from rathaus.core.models import Municipality
from rathaus.workflow import engine, services
from rathaus.workflow.models import ProcessInstance, Timer, UserTask
from tests.factories import StaffFactory
from tests.workflow.conftest import later, open_elements
from tests.workflow.factories import bpmn, deploy, script_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker(municipality: Municipality) -> object:
    return StaffFactory(municipality=municipality, is_superuser=True)


def complete(instance: ProcessInstance, element: str, user: object, **data: object) -> None:
    for task in UserTask.objects.filter(instance=instance, element_id=element, status="open"):
        services.user_task_complete(task=task, user=user, data=data)  # type: ignore[arg-type]


GATEWAYS = bpmn(
    '<bpmn:startEvent id="start"/>'
    '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="split"/>'
    '<bpmn:parallelGateway id="split"/>'
    '<bpmn:sequenceFlow id="f1" sourceRef="split" targetRef="review"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="compute"/>'
    '<bpmn:userTask id="review"><bpmn:multiInstanceLoopCharacteristics>'
    "<bpmn:loopDataInputRef>reviewers</bpmn:loopDataInputRef>"
    '<bpmn:inputDataItem id="reviewer" name="reviewer"/>'
    "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>"
    + script_task("compute", "total = a + b")
    + '<bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="join"/>'
    '<bpmn:sequenceFlow id="f4" sourceRef="compute" targetRef="join"/>'
    '<bpmn:parallelGateway id="join"/>'
    '<bpmn:sequenceFlow id="f5" sourceRef="join" targetRef="some"/>'
    '<bpmn:inclusiveGateway id="some" default="fz"/>'
    '<bpmn:sequenceFlow id="fx" sourceRef="some" targetRef="ta">'
    "<bpmn:conditionExpression>total &gt; 2</bpmn:conditionExpression></bpmn:sequenceFlow>"
    '<bpmn:sequenceFlow id="fy" sourceRef="some" targetRef="tb">'
    "<bpmn:conditionExpression>total &gt; 1</bpmn:conditionExpression></bpmn:sequenceFlow>"
    '<bpmn:sequenceFlow id="fz" sourceRef="some" targetRef="tc"/>'
    + script_task("ta", "went_a = True")
    + script_task("tb", "went_b = True")
    + script_task("tc", "went_c = True")
    + '<bpmn:sequenceFlow id="f6" sourceRef="ta" targetRef="merge"/>'
    '<bpmn:sequenceFlow id="f7" sourceRef="tb" targetRef="merge"/>'
    '<bpmn:sequenceFlow id="f8" sourceRef="tc" targetRef="merge"/>'
    '<bpmn:inclusiveGateway id="merge"/>'
    '<bpmn:sequenceFlow id="f9" sourceRef="merge" targetRef="end"/>'
    '<bpmn:endEvent id="end"/>',
    process_id="gateways",
)


def test_parallel_inclusive_gateways_and_multi_instance(
    municipality: Municipality, worker: object
) -> None:
    deploy(municipality, ("gateways.bpmn", GATEWAYS))
    instance = services.instance_start(
        municipality=municipality,
        process_key="gateways",
        variables={"a": 1, "b": 2, "reviewers": ["anna", "bert", "cem"]},
    )
    # The parallel branch computed while three review tasks opened, one per reviewer
    reviews = list(UserTask.objects.filter(instance=instance, element_id="review"))
    assert len(reviews) == 3
    instance.refresh_from_db()
    assert instance.variables["total"] == 3
    complete(instance, "review", worker)
    instance.refresh_from_db()
    assert instance.state == "completed"
    assert instance.variables["went_a"] is True
    assert instance.variables["went_b"] is True
    assert "went_c" not in instance.variables


SUBPROCESS = bpmn(
    '<bpmn:startEvent id="start"/>'
    '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="sub"/>'
    '<bpmn:subProcess id="sub">'
    '<bpmn:startEvent id="sub_start"/>'
    '<bpmn:sequenceFlow id="s0" sourceRef="sub_start" targetRef="check"/>'
    + script_task("check", "too_much = amount > 100")
    + '<bpmn:sequenceFlow id="s1" sourceRef="check" targetRef="ok"/>'
    '<bpmn:exclusiveGateway id="ok" default="s3"/>'
    '<bpmn:sequenceFlow id="s2" sourceRef="ok" targetRef="fail">'
    "<bpmn:conditionExpression>too_much</bpmn:conditionExpression></bpmn:sequenceFlow>"
    '<bpmn:sequenceFlow id="s3" sourceRef="ok" targetRef="escalate"/>'
    '<bpmn:intermediateThrowEvent id="escalate">'
    '<bpmn:escalationEventDefinition escalationRef="esc"/></bpmn:intermediateThrowEvent>'
    '<bpmn:sequenceFlow id="s4" sourceRef="escalate" targetRef="sub_end"/>'
    '<bpmn:endEvent id="fail"><bpmn:errorEventDefinition errorRef="err"/></bpmn:endEvent>'
    '<bpmn:endEvent id="sub_end"/>'
    "</bpmn:subProcess>"
    '<bpmn:boundaryEvent id="on_error" attachedToRef="sub">'
    '<bpmn:errorEventDefinition errorRef="err"/></bpmn:boundaryEvent>'
    '<bpmn:boundaryEvent id="on_escalation" attachedToRef="sub" cancelActivity="false">'
    '<bpmn:escalationEventDefinition escalationRef="esc"/></bpmn:boundaryEvent>'
    '<bpmn:sequenceFlow id="f1" sourceRef="sub" targetRef="call"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="on_error" targetRef="handle_error"/>'
    '<bpmn:sequenceFlow id="f3" sourceRef="on_escalation" targetRef="note"/>'
    + script_task("note", "escalated = True")
    + '<bpmn:sequenceFlow id="f4" sourceRef="note" targetRef="note_end"/>'
    '<bpmn:endEvent id="note_end"/>'
    '<bpmn:userTask id="handle_error"/>'
    '<bpmn:sequenceFlow id="f5" sourceRef="handle_error" targetRef="end_error"/>'
    '<bpmn:endEvent id="end_error"/>'
    '<bpmn:callActivity id="call" calledElement="child_process"/>'
    '<bpmn:sequenceFlow id="f6" sourceRef="call" targetRef="after_call"/>'
    '<bpmn:userTask id="after_call"/>'
    '<bpmn:sequenceFlow id="f7" sourceRef="after_call" targetRef="end"/>'
    '<bpmn:endEvent id="end"/>',
    process_id="parent_process",
    head='<bpmn:error id="err" name="too_much" errorCode="TOO_MUCH"/>'
    '<bpmn:escalation id="esc" name="look" escalationCode="LOOK"/>',
)
CHILD = bpmn(
    '<bpmn:startEvent id="c_start"/>'
    '<bpmn:sequenceFlow id="c0" sourceRef="c_start" targetRef="child_work"/>'
    + script_task("child_work", "child_done = True")
    + '<bpmn:sequenceFlow id="c1" sourceRef="child_work" targetRef="c_end"/>'
    '<bpmn:endEvent id="c_end"/>',
    process_id="child_process",
)


def test_subprocess_call_activity_escalation_and_error_boundary(municipality: Municipality) -> None:
    version = deploy(municipality, ("parent.bpmn", SUBPROCESS), ("child.bpmn", CHILD))
    assert version.definition.key == "parent_process"
    # A small amount: the escalation is noted, the call activity runs the child process
    small = services.instance_start(
        municipality=municipality, process_key="parent_process", variables={"amount": 50}
    )
    assert open_elements(small) == ["after_call"]
    small.refresh_from_db()
    assert small.variables["child_done"] is True
    assert small.variables["escalated"] is True
    # A large amount: the error end event is caught at the subprocess boundary
    large = services.instance_start(
        municipality=municipality, process_key="parent_process", variables={"amount": 500}
    )
    assert open_elements(large) == ["handle_error"]


SIGNALS_AND_TIMERS = bpmn(
    '<bpmn:startEvent id="start"/>'
    '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="freeze"/>'
    '<bpmn:intermediateCatchEvent id="freeze">'
    '<bpmn:signalEventDefinition signalRef="sig"/></bpmn:intermediateCatchEvent>'
    '<bpmn:sequenceFlow id="f1" sourceRef="freeze" targetRef="work"/>'
    '<bpmn:userTask id="work"/>'
    '<bpmn:boundaryEvent id="hourly" attachedToRef="work" cancelActivity="false">'
    '<bpmn:timerEventDefinition><bpmn:timeCycle>"R2/PT1H"</bpmn:timeCycle>'
    "</bpmn:timerEventDefinition></bpmn:boundaryEvent>"
    '<bpmn:sequenceFlow id="f2" sourceRef="hourly" targetRef="nudge"/>'
    + script_task("nudge", "nudged = True")
    + '<bpmn:sequenceFlow id="f3" sourceRef="nudge" targetRef="nudge_end"/>'
    '<bpmn:endEvent id="nudge_end"/>'
    '<bpmn:sequenceFlow id="f4" sourceRef="work" targetRef="until"/>'
    '<bpmn:intermediateCatchEvent id="until">'
    "<bpmn:timerEventDefinition><bpmn:timeDate>deadline</bpmn:timeDate>"
    "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
    '<bpmn:sequenceFlow id="f5" sourceRef="until" targetRef="end"/>'
    '<bpmn:endEvent id="end"/>',
    process_id="signals",
    head='<bpmn:signal id="sig" name="election_freeze_lifted"/>',
)


def test_signal_cycle_timer_and_date_timer(municipality: Municipality, worker: object) -> None:
    deploy(municipality, ("signals.bpmn", SIGNALS_AND_TIMERS))
    deadline = (timezone.now() + timedelta(days=3)).isoformat()
    instance = services.instance_start(
        municipality=municipality, process_key="signals", variables={"deadline": deadline}
    )
    # Waiting for the signal
    assert instance.state == "waiting"
    assert services.signal_broadcast(municipality=municipality, signal_name="other") == 0
    assert (
        services.signal_broadcast(municipality=municipality, signal_name="election_freeze_lifted")
        == 1
    )
    assert open_elements(instance) == ["work"]
    # The cycle timer fires twice while the task stays open, then stops
    cycle = Timer.objects.get(instance=instance, element_id="hourly")
    assert cycle.kind == "cycle"
    assert services.timers_fire(now=later(seconds=3700)) == 1
    assert services.timers_fire(now=later(seconds=7300)) == 1
    assert services.timers_fire(now=later(seconds=11000)) == 0
    instance.refresh_from_db()
    assert instance.variables["nudged"] is True
    assert open_elements(instance) == ["work"]
    # After the task, the date timer waits for the deadline
    complete(instance, "work", worker)
    until = Timer.objects.get(instance=instance, element_id="until", fired_at__isnull=True)
    assert until.kind == "date"
    assert abs((until.due_at - timezone.now()).total_seconds() - 3 * 86400) < 60
    assert services.timers_fire(now=later(days=2)) == 0
    assert services.timers_fire(now=later(days=3, seconds=60)) == 1
    instance.refresh_from_db()
    assert instance.state == "completed"


THROWER = bpmn(
    '<bpmn:startEvent id="start"/>'
    '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="announce"/>'
    '<bpmn:intermediateThrowEvent id="announce">'
    '<bpmn:signalEventDefinition signalRef="sig"/></bpmn:intermediateThrowEvent>'
    '<bpmn:sequenceFlow id="f1" sourceRef="announce" targetRef="end"/>'
    '<bpmn:endEvent id="end"/>',
    process_id="thrower",
    head='<bpmn:signal id="sig" name="election_freeze_lifted"/>',
)


def test_a_thrown_signal_reaches_other_instances_after_commit(
    municipality: Municipality, django_capture_on_commit_callbacks: object
) -> None:
    deploy(municipality, ("signals.bpmn", SIGNALS_AND_TIMERS))
    deploy(municipality, ("thrower.bpmn", THROWER))
    waiting = services.instance_start(
        municipality=municipality, process_key="signals", variables={"deadline": "2030-01-01"}
    )
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        services.instance_start(municipality=municipality, process_key="thrower")
    # The signal task ran on the immediate test backend? No: the database queue holds it.
    from django_tasks_db.models import DBTaskResult

    queued = DBTaskResult.objects.get(task_path="rathaus.workflow.tasks.signal_deliver")
    from rathaus.workflow.tasks import signal_deliver

    assert signal_deliver.call(**queued.args_kwargs["kwargs"]) == 1
    assert open_elements(waiting) == ["work"]


def test_engine_clock_replaces_spiffworkflows_only_reading_of_the_time() -> None:
    # SpiffWorkflow reads the current time in its timer module only (version pinned).
    from pathlib import Path

    import SpiffWorkflow
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    package = Path(SpiffWorkflow.__file__).parent
    readers = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "datetime.now(" in path.read_text() or "utcnow(" in path.read_text()
    )
    assert readers == ["bpmn/specs/event_definitions/timer.py"]
    assert timer.datetime.__name__ == "_ClockedDatetime"
    moment = timezone.now() + timedelta(days=400)
    with engine.engine_clock(moment):
        assert timer.datetime.now(UTC) == moment
    assert abs((timer.datetime.now(UTC) - timezone.now()).total_seconds()) < 5


def test_instances_store_state_without_the_spec(municipality: Municipality) -> None:
    deploy(municipality, ("gateways.bpmn", GATEWAYS))
    instance = services.instance_start(
        municipality=municipality,
        process_key="gateways",
        variables={"a": 1, "b": 2, "reviewers": ["anna"]},
    )
    assert '"spec"' not in instance.engine_state
    assert '"serializer_version":"1.5"' in instance.engine_state
    assert len(instance.engine_state) < 20_000


def test_manual_and_plain_tasks_wait_for_a_person(
    municipality: Municipality, worker: object
) -> None:
    model = bpmn(
        '<bpmn:startEvent id="start"/>'
        '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="sign"/>'
        '<bpmn:manualTask id="sign" name="Sign the paper file"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="sign" targetRef="file"/>'
        '<bpmn:task id="file" name="File it"/>'
        '<bpmn:sequenceFlow id="f2" sourceRef="file" targetRef="end"/>'
        '<bpmn:endEvent id="end"/>',
        process_id="paper",
    )
    deploy(municipality, ("paper.bpmn", model))
    instance = services.instance_start(municipality=municipality, process_key="paper")
    assert open_elements(instance) == ["sign"]
    complete(instance, "sign", worker)
    assert open_elements(instance) == ["file"]
    complete(instance, "file", worker)
    instance.refresh_from_db()
    assert instance.state == "completed"
