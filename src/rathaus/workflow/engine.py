"""The adapter between rathaus and SpiffWorkflow: parsing, running, (de)serialising.

Nothing else in rathaus imports SpiffWorkflow. The services use this module to turn a
stored process version into engine specs, to load an instance's state, run engine steps
and store the state again, and to read what the instance now waits for (open user
tasks, timers, messages, service calls).

Three decisions shape it (ADR 0011):

- **Specs are not stored with instances.** SpiffWorkflow's serialiser writes the whole
  process spec into every workflow's JSON; rathaus keeps the BPMN/DMN sources per
  immutable version, parses them once per process and version (``parsed_version``) and
  stores only the instance's task tree and data. That keeps an instance at a few KB.
- **Service tasks are deferred.** ``DeferredServiceTask`` stops in the STARTED state
  instead of calling anything; the services create a ``ServiceJob`` row and run the named
  handler in a background task, with retries, outside the engine step.
- **The engine's clock can be set.** SpiffWorkflow's timer events read
  ``datetime.now(timezone.utc)`` in one module; that module's ``datetime`` is replaced by
  a subclass whose ``now`` honours ``engine_clock(now)``. Timers are computed and fired
  against the scheduler's ``now`` (and tests travel in time) without sleeping.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SERIALIZER_VERSION
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.task_spec import ServiceTaskConverter
from SpiffWorkflow.spiff.specs.defaults import ServiceTask as SpiffServiceTask
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from rathaus.workflow.sandbox import SandboxEnvironment, compile_restricted

#: Engine tasks one advance may run before the instance is stopped with an incident: a
#: loop whose exit condition never becomes true must not spin a worker forever.
MAX_TASKS_PER_ADVANCE = 2_000

# --- the clock ------------------------------------------------------------------------

_clock: ContextVar[datetime | None] = ContextVar("rathaus_workflow_clock", default=None)


class _ClockedDatetime(datetime):
    """``datetime`` whose ``now()`` returns the engine clock when one is set."""

    @classmethod
    def now(cls, tz: Any = None) -> _ClockedDatetime:
        fixed = _clock.get()
        if fixed is None:
            return super().now(tz)
        value = fixed.astimezone(tz) if tz is not None else fixed
        return cls.combine(value.date(), value.timetz())


# SpiffWorkflow reads the current time only here (checked by a test against the pinned
# version), so timers follow the engine clock.
spiff_timer.datetime = _ClockedDatetime


@contextmanager
def engine_clock(now: datetime | None) -> Iterator[None]:
    """Run engine code as if it were ``now`` (None: the real time)."""
    token = _clock.set(now)
    try:
        yield
    finally:
        _clock.reset(token)


# --- specs, parser, script engine ------------------------------------------------------


class DeferredServiceTask(SpiffServiceTask):
    """A service task that waits (STARTED) for rathaus to run its handler.

    ``operation_name`` is the handler name; ``operation_params`` are expressions
    evaluated in the sandbox when the job runs; the handler's result goes to
    ``result_variable``.
    """

    def _run_hook(self, my_task: Task) -> None:
        return None


class RathausScriptEngine(PythonScriptEngine):
    """SpiffWorkflow's script engine bound to the sandbox (``sandbox.SandboxEnvironment``)."""

    def __init__(self) -> None:
        super().__init__(environment=SandboxEnvironment())

    def validate(self, expression: str) -> None:
        compile_restricted(expression.strip(), "eval")


SCRIPT_ENGINE = RathausScriptEngine()


class RathausBpmnParser(SpiffBpmnParser):
    """SpiffWorkflow's parser (SpiffWorkflow extensions, DMN) with deferred service tasks."""

    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (ServiceTaskParser, DeferredServiceTask),
    }


def _state_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[DeferredServiceTask] = ServiceTaskConverter
    config[BpmnWorkflow] = _StateOnlyWorkflowConverter
    registry = BpmnWorkflowSerializer.configure(config)
    registry.register(
        date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"])
    )
    return BpmnWorkflowSerializer(registry)


class _StateOnlyWorkflowConverter(BpmnWorkflowConverter):
    """Serialises the task tree and data, not the spec (rebuilt from the version)."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], parsed: ParsedVersion | None = None) -> BpmnWorkflow:
        assert parsed is not None
        workflow = self.target_class(
            parsed.spec, parsed.subprocess_specs, script_engine=SCRIPT_ENGINE, deserializing=True
        )
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


SERIALIZER = _state_serializer()


@dataclass(frozen=True)
class SourceFile:
    name: str
    kind: str  # "bpmn" or "dmn"
    text: str


@dataclass
class ParsedVersion:
    """The engine specs of one process version, shared by all its instances."""

    process_id: str
    spec: Any
    subprocess_specs: dict[str, Any]


class ModelError(Exception):
    """SpiffWorkflow refused the model; carries the element id where it knows it."""

    def __init__(self, message: str, *, element_id: str = "", file_name: str = "") -> None:
        super().__init__(message)
        self.element_id = element_id
        self.file_name = file_name


def xml_parser() -> etree.XMLParser:
    """An lxml parser that never resolves entities, loads DTDs or touches the network."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_sources(files: Sequence[SourceFile], process_id: str, *, validate: bool) -> ParsedVersion:
    """Build the specs of ``process_id`` from BPMN and DMN sources (raises ``ModelError``)."""
    parser = RathausBpmnParser(validator=VALIDATOR if validate else None)
    try:
        for source in files:
            root = etree.fromstring(source.text.encode("utf-8"), xml_parser())
            if source.kind == "dmn":
                parser.add_dmn_xml(root, filename=source.name)
            else:
                parser.add_bpmn_xml(root, filename=source.name)
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except ValidationException as error:
        raise ModelError(
            str(error).splitlines()[0],
            element_id=getattr(error, "id", "") or "",
            file_name=getattr(error, "file_name", "") or "",
        ) from error
    except (SpiffWorkflowException, etree.LxmlError, KeyError, ValueError) as error:
        raise ModelError(f"{type(error).__name__}: {error}") from error
    return ParsedVersion(process_id=process_id, spec=spec, subprocess_specs=subprocess_specs)


_parsed_cache: OrderedDict[tuple[int, str], ParsedVersion] = OrderedDict()
_parsed_lock = threading.Lock()
PARSED_CACHE_SIZE = 256


def parsed_version(
    *, version_id: int, checksum: str, process_id: str, load: Callable[[], Sequence[SourceFile]]
) -> ParsedVersion:
    """Specs of a stored version, parsed once per process and kept (versions are immutable).

    ``load`` fetches the version's sources; it is only called on a cache miss.
    """
    key = (version_id, checksum)
    with _parsed_lock:
        found = _parsed_cache.get(key)
        if found is not None:
            _parsed_cache.move_to_end(key)
            return found
    parsed = parse_sources(load(), process_id, validate=False)
    with _parsed_lock:
        _parsed_cache[key] = parsed
        while len(_parsed_cache) > PARSED_CACHE_SIZE:
            _parsed_cache.popitem(last=False)
    return parsed


# --- running ------------------------------------------------------------------------


class EngineError(Exception):
    """An engine step failed; becomes an incident on the element it names."""

    def __init__(self, message: str, *, element_id: str = "", task_id: UUID | None = None):
        super().__init__(message)
        self.element_id = element_id
        self.task_id = task_id


class TaskNotOpen(EngineError):
    """The engine task a row refers to is not waiting any more (rows and engine disagree)."""


def expression_evaluate(expression: str, data: dict[str, Any]) -> Any:
    """Evaluate a model expression (due date, org unit) against task data, in the sandbox."""
    try:
        return SCRIPT_ENGINE.environment.evaluate(expression, data)
    except Exception as error:
        raise EngineError(f"{type(error).__name__}: {error}") from error


def workflow_new(parsed: ParsedVersion, variables: dict[str, Any]) -> BpmnWorkflow:
    """A fresh workflow whose start task carries ``variables``."""
    workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=SCRIPT_ENGINE)
    workflow.task_tree.data.update(variables)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(variables)
    return workflow


def workflow_load(parsed: ParsedVersion, state: str) -> BpmnWorkflow:
    """The workflow of a stored state (``workflow_dump``'s output)."""
    dct = json.loads(state)
    dct.pop(BpmnWorkflowSerializer.VERSION_KEY, None)
    workflow: BpmnWorkflow = SERIALIZER.from_dict(dct, parsed=parsed)
    return workflow


def workflow_dump(workflow: BpmnWorkflow) -> str:
    """The state of ``workflow`` as JSON, without its spec."""
    SERIALIZER.registry._encoder_mode = True
    try:
        dct = SERIALIZER.to_dict(workflow)
        dct[BpmnWorkflowSerializer.VERSION_KEY] = SERIALIZER_VERSION
        return json.dumps(dct, cls=SERIALIZER._encoder_cls, separators=(",", ":"))
    finally:
        SERIALIZER.registry._encoder_mode = False


def element_id(task: Task) -> str:
    """The BPMN element id of an engine task (the spec name for engine-internal tasks)."""
    return str(getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name)


def _is_model_element(task: Task) -> bool:
    # Start/End/EndJoin and boundary split/join are engine-internal specs without a
    # BPMN element of their own; "[child]" specs are the inner tasks of loops.
    return bool(getattr(task.task_spec, "bpmn_id", None))


def workflow_advance(
    workflow: BpmnWorkflow,
    *,
    on_element_completed: Callable[[Task], None] | None = None,
    max_tasks: int = MAX_TASKS_PER_ADVANCE,
) -> None:
    """Run engine steps until only people, messages, timers or service jobs can go on.

    Raises ``EngineError`` for a failing script, expression or DMN table, a sandbox
    violation or a runaway loop; the caller rolls the instance back to its stored
    state and opens an incident.
    """
    count = 0

    def will_complete(task: Task) -> None:
        nonlocal count
        count += 1
        if count > max_tasks:
            raise EngineError(
                f"more than {max_tasks} steps in one go: does a loop never end?",
                element_id=element_id(task),
                task_id=task.id,
            )

    def did_complete(task: Task) -> None:
        if on_element_completed is not None and _is_model_element(task):
            on_element_completed(task)

    try:
        workflow.do_engine_steps(will_complete, did_complete)
    except EngineError:
        raise
    except Exception as error:
        # Any failure of model code (SpiffWorkflow's errors, sandbox violations, Python
        # errors in scripts) becomes an incident on the element.
        raise _engine_error(error) from error


def _engine_error(error: Exception) -> EngineError:
    task = getattr(error, "task", None)
    message = str(error)
    notes = getattr(error, "__notes__", None)
    if notes:
        message = f"{message} ({'; '.join(str(n) for n in notes)})"
    if task is not None:
        return EngineError(message, element_id=element_id(task), task_id=task.id)
    return EngineError(f"{type(error).__name__}: {message}")


def task_complete(workflow: BpmnWorkflow, task_id: UUID, data: dict[str, Any]) -> Task:
    """Complete a READY human task (user, manual or plain task) with the submitted data."""
    task = workflow.get_task_from_id(task_id)
    if task is None or task.state != TaskState.READY or not task.task_spec.manual:
        raise TaskNotOpen("the task is not open any more", task_id=task_id)
    task.data.update(data)
    try:
        task.run()
    except Exception as error:
        raise _engine_error(error) from error
    return task


def service_task_finish(workflow: BpmnWorkflow, task_id: UUID, result: Any) -> Task:
    """Store a handler's result in the service task's result variable and go on."""
    task = workflow.get_task_from_id(task_id)
    if task is None or task.state != TaskState.STARTED:
        raise TaskNotOpen("the service task is not waiting any more", task_id=task_id)
    spec = task.task_spec
    task.data[spec.result_variable] = result
    try:
        task.complete()
    except Exception as error:
        raise _engine_error(error) from error
    return task


def service_task_params(workflow: BpmnWorkflow, task_id: UUID) -> dict[str, Any]:
    """The service task's parameters, evaluated in the sandbox against its data."""
    task = workflow.get_task_from_id(task_id)
    if task is None:
        raise EngineError("the service task is gone", task_id=task_id)
    try:
        params = task.task_spec.evaluate_params(task)
    except Exception as error:
        raise _engine_error(error) from error
    return {name: value["value"] for name, value in params.items()}


def event_deliver(workflow: BpmnWorkflow, *, kind: str, name: str, payload: Any) -> int:
    """Deliver a message or signal to the tasks waiting for it; returns how many caught it."""
    wanted = MessageEventDefinition if kind == "message" else SignalEventDefinition
    for task in list(workflow.event_manager.tasks.values()):
        for definition in _definitions(task.task_spec.event_definition):
            if isinstance(definition, wanted) and definition.name == name:
                event = BpmnEvent(definition, payload=payload)
                try:
                    caught: int = workflow.event_manager.catch(event, internal=False)
                except Exception as error:
                    raise _engine_error(error) from error
                return caught
    return 0


def timers_refresh(workflow: BpmnWorkflow) -> None:
    """Let timers whose time (on the engine clock) has come fire."""
    try:
        workflow.refresh_timers()
    except Exception as error:
        raise _engine_error(error) from error


def workflow_cancel(workflow: BpmnWorkflow) -> None:
    """Cancel every unfinished task of the workflow and its subprocesses."""
    workflow.cancel()


def _waiting_definitions(task: Task) -> list[tuple[str, Any]]:
    """(element id, event definition) a waiting task listens for.

    An event-based gateway waits with the definitions of the events after it; each is
    reported under the id of its own catch event.
    """
    definition = task.task_spec.event_definition
    if not isinstance(definition, MultipleEventDefinition):
        return [(element_id(task), definition)]
    # SpiffWorkflow moves the events' definitions into the gateway, in connection order.
    outputs = list(task.task_spec.outputs)
    result = []
    for index, event_definition in enumerate(definition.event_definitions):
        owner = getattr(outputs[index], "bpmn_id", None) if index < len(outputs) else None
        result.append((str(owner or element_id(task)), event_definition))
    return result


def _definitions(definition: Any) -> list[Any]:
    if isinstance(definition, MultipleEventDefinition):
        return list(definition.event_definitions)
    return [definition]


# --- what the instance waits for --------------------------------------------------------


@dataclass
class OpenUserTask:
    task_id: UUID
    element_id: str
    name: str
    lane: str
    data: dict[str, Any]


@dataclass
class WaitingTimer:
    task_id: UUID
    element_id: str
    kind: str  # date, duration, cycle
    due_at: datetime


@dataclass
class WaitingEvent:
    task_id: UUID
    element_id: str
    kind: str  # message, signal
    name: str


@dataclass
class StartedServiceTask:
    task_id: UUID
    element_id: str
    handler: str
    retries: int | None
    backoff_base: int | None


@dataclass
class Snapshot:
    """Everything the services mirror into rows after a step."""

    completed: bool
    user_tasks: list[OpenUserTask] = field(default_factory=list)
    timers: list[WaitingTimer] = field(default_factory=list)
    events: list[WaitingEvent] = field(default_factory=list)
    service_tasks: list[StartedServiceTask] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    thrown_signals: list[tuple[str, Any]] = field(default_factory=list)
    # Waiting tasks that wait for no event (a join whose other branches can no longer
    # arrive): only meaningful when nothing else is open.
    blocked: list[str] = field(default_factory=list)

    @property
    def idle(self) -> bool:
        """Not finished, yet nothing can move it on: a deadlocked model."""
        return not (
            self.completed or self.user_tasks or self.timers or self.events or self.service_tasks
        )


def workflow_snapshot(workflow: BpmnWorkflow) -> Snapshot:
    """Read the open user tasks, timers, awaited events and service calls of ``workflow``."""
    snapshot = Snapshot(completed=workflow.is_completed())
    for task in workflow.get_tasks(state=TaskState.READY | TaskState.STARTED):
        spec = task.task_spec
        # User, manual and plain (bpmn:task) tasks all wait for a person.
        if task.state == TaskState.READY and spec.manual:
            snapshot.user_tasks.append(
                OpenUserTask(
                    task_id=task.id,
                    element_id=element_id(task),
                    name=str(getattr(spec, "bpmn_name", None) or element_id(task)),
                    lane=str(getattr(spec, "lane", None) or ""),
                    data=task.data,
                )
            )
        elif task.state == TaskState.STARTED and isinstance(spec, DeferredServiceTask):
            snapshot.service_tasks.append(
                StartedServiceTask(
                    task_id=task.id,
                    element_id=element_id(task),
                    handler=spec.operation_name,
                    retries=spec.retries,
                    backoff_base=spec.retry_backoff_base,
                )
            )
    for task in workflow.event_manager.tasks.values():
        for element, definition in _waiting_definitions(task):
            if isinstance(definition, TimerEventDefinition):
                due = _timer_due(task, definition)
                if due is not None:
                    snapshot.timers.append(
                        WaitingTimer(task.id, element, _timer_kind(definition), due)
                    )
            elif isinstance(definition, MessageEventDefinition):
                snapshot.events.append(WaitingEvent(task.id, element, "message", definition.name))
            elif isinstance(definition, SignalEventDefinition):
                snapshot.events.append(WaitingEvent(task.id, element, "signal", definition.name))
    if not (snapshot.completed or snapshot.user_tasks or snapshot.service_tasks):
        catching = set(workflow.event_manager.tasks)
        snapshot.blocked = sorted(
            {
                element_id(task)
                for task in workflow.get_tasks(state=TaskState.WAITING)
                if task.id not in catching and _is_model_element(task)
            }
        )
    for event in workflow.get_events():
        if isinstance(event.event_definition, SignalEventDefinition):
            snapshot.thrown_signals.append((event.event_definition.name, event.payload))
    snapshot.variables = _variables(workflow)
    return snapshot


def _timer_kind(definition: TimerEventDefinition) -> str:
    if isinstance(definition, CycleTimerEventDefinition):
        return "cycle"
    if isinstance(definition, DurationTimerEventDefinition):
        return "duration"
    return "date"


def _timer_due(task: Task, definition: TimerEventDefinition) -> datetime | None:
    value = task._get_internal_data("event_value")
    if value is None:
        return None
    due: datetime | None
    if isinstance(definition, CycleTimerEventDefinition):
        if value.get("cycles", 0) == 0:
            return None
        due = datetime.fromisoformat(value["next"])
    elif isinstance(definition, TimeDateEventDefinition):
        parsed = TimerEventDefinition.parse_time_or_duration(value)
        due = parsed if isinstance(parsed, datetime) else None
    else:
        due = TimerEventDefinition.get_datetime(value)
    if due is None:
        return None
    # A plain datetime in UTC (the clocked subclass must not leak into the ORM).
    return datetime.fromtimestamp(due.timestamp(), UTC)


def _variables(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The process variables for queries: the latest task's data, then open tasks' data."""
    # Each branch carries its own data; merging every reached task's data, oldest change
    # first, gives the latest value of every variable across branches.
    reached = workflow.get_tasks(
        state=TaskState.COMPLETED | TaskState.READY | TaskState.WAITING | TaskState.STARTED
    )
    merged: dict[str, Any] = {}
    for task in sorted(reached, key=lambda t: t.last_state_change):
        merged.update(task.data)
    return json.loads(json.dumps(SERIALIZER.registry.clean(merged), default=_plain))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    return str(value)
