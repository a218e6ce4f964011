"""Every write of the workflow engine: deploying models, running instances, human tasks,
messages, timers, service calls and incidents.

One step of an instance is one transaction: lock the instance row, load its engine state,
apply the input (a completed task, a message, a due timer, a handler's result), run
engine steps until the instance waits again, store the state and mirror what it waits
for into rows. If model code fails during the step (a script, a condition, a DMN table,
a sandbox violation, a runaway loop), the instance is stored as it was *before* the
engine steps, with the input applied, and an incident names the element; retrying the
incident runs the steps again. Service-task handlers run in background tasks with
retries (``service_job_run``); timers and retries are driven by ``workflow_tick``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_duration
from django.utils.translation import gettext as _
from django_tasks import task_backends

from rathaus.audit.services import audit_record
from rathaus.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from rathaus.core.models import Municipality
from rathaus.core.municipal_settings import SPECS, municipal_setting
from rathaus.notifications.services import notify
from rathaus.organisation.models import OrgUnit, Role, RoleGrant
from rathaus.organisation.permissions import user_can
from rathaus.workflow import engine
from rathaus.workflow.engine import (
    EngineError,
    ParsedVersion,
    Snapshot,
    SourceFile,
    TaskNotOpen,
)
from rathaus.workflow.handlers import (
    HandlerContext,
    PermanentHandlerError,
    backoff_seconds,
    handler_get,
    handlers_load,
)
from rathaus.workflow.models import (
    EventWait,
    Incident,
    InstanceEvent,
    ProcessDefinition,
    ProcessInstance,
    ProcessSource,
    ProcessVersion,
    ServiceJob,
    TaskComment,
    Timer,
    UserTask,
)
from rathaus.workflow.sandbox import HELPER_NAMES, SandboxViolation, data_check
from rathaus.workflow.selectors import (
    PERMISSION_MANAGE,
    PERMISSION_MONITOR,
    candidate_by_rules,
    user_is_candidate,
    user_task_candidates,
)
from rathaus.workflow.taskforms import form_data_clean, task_form_fields
from rathaus.workflow.validation import ModelInvalid, Problem, model_analyse

if TYPE_CHECKING:
    from rathaus.accounts.models import User

logger = logging.getLogger(__name__)


SHIPPED_DIR = Path(__file__).resolve().parent / "models_bpmn"
#: Process key -> files of the models shipped with rathaus.
SHIPPED = {
    "generic_application": ("generic_application.bpmn", "application_decision.dmn"),
    "invoice_approval": ("invoice_approval.bpmn",),
    "mayor_question": ("mayor_question.bpmn",),
}

_VARIABLE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
_FINAL = (ProcessInstance.State.COMPLETED, ProcessInstance.State.CANCELLED)
MAX_RESULT_BYTES = 64 * 1024


class ModelRejected(ValidationFailed):
    """An upload was refused; ``problems`` name file and element of every finding."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(
            _("The process model has errors."),
            code="invalid_model",
            fields={"files": [str(p) for p in problems]},
        )
        self.problems = problems


# --- deploying ------------------------------------------------------------------------


def process_deploy(
    *,
    municipality: Municipality,
    files: Sequence[tuple[str, bytes]],
    deployed_by: User | None = None,
    make_default: bool = True,
) -> ProcessVersion:
    """Validate BPMN/DMN files and store them as the next version of their process.

    The process key is the id of the top-level executable BPMN process. Uploading the
    same files again returns the existing version. Raises ``ModelRejected`` (400) listing
    every problem with file and element id; nothing is stored then. ``deployed_by`` None
    is the system (the shipped models); a person needs the permission to manage processes.
    """
    if deployed_by is not None:
        _require(deployed_by, PERMISSION_MANAGE, municipality.pk)
    try:
        analysis = model_analyse(
            files,
            known_handlers=set(handlers_load()),
            strict_handlers=settings.RATHAUS_WORKFLOW_STRICT_HANDLERS,
        )
    except ModelInvalid as error:
        raise ModelRejected(error.problems) from error
    with transaction.atomic():
        definition, _created = ProcessDefinition.objects.get_or_create(
            municipality=municipality,
            key=analysis.process_id[:100],
            defaults={"name": analysis.process_name},
        )
        # Serialises concurrent deployments of one process (version numbers).
        definition = ProcessDefinition.objects.select_for_update().get(pk=definition.pk)
        existing = definition.versions.filter(checksum=analysis.checksum).first()
        if existing is not None:
            if make_default and not existing.is_default:
                _default_set(existing, user=deployed_by)
            return existing
        if definition.name != analysis.process_name:
            definition.name = analysis.process_name
            definition.save(update_fields=["name", "updated_at"])
        number = (definition.versions.aggregate(n=Max("number"))["n"] or 0) + 1
        version = ProcessVersion.objects.create(
            municipality=municipality,
            definition=definition,
            number=number,
            process_id=analysis.process_id,
            checksum=analysis.checksum,
            metadata=analysis.metadata(),
            deployed_by=deployed_by,
        )
        ProcessSource.objects.bulk_create(
            ProcessSource(version=version, name=s.name, kind=s.kind, text=s.text)
            for s in analysis.sources
        )
        audit_record(
            municipality=municipality,
            action="workflow.process.deployed",
            actor=deployed_by,
            target=version,
            data={
                "key": definition.key,
                "version": number,
                "checksum": analysis.checksum,
                "warnings": [str(w) for w in analysis.warnings],
            },
        )
        if make_default or not definition.versions.filter(is_default=True).exists():
            _default_set(version, user=deployed_by)
    return version


def process_version_make_default(
    *, version: ProcessVersion, user: User | None = None
) -> ProcessVersion:
    """Make ``version`` the one new instances of its process start with.

    Running instances keep the version they started with.
    """
    if user is not None:
        _require(user, PERMISSION_MANAGE, version.municipality_id)
    with transaction.atomic():
        ProcessDefinition.objects.select_for_update().get(pk=version.definition_id)
        version = ProcessVersion.objects.get(pk=version.pk)
        if not version.is_default:
            _default_set(version, user=user)
    return version


def _default_set(version: ProcessVersion, *, user: User | None) -> None:
    ProcessVersion.objects.filter(definition_id=version.definition_id, is_default=True).update(
        is_default=False
    )
    ProcessVersion.objects.filter(pk=version.pk).update(is_default=True)
    version.is_default = True
    audit_record(
        municipality=version.municipality,
        action="workflow.process.default_changed",
        actor=user,
        target=version,
        data={"version": version.number},
    )


def process_shipped_deploy(
    *, municipality: Municipality, deployed_by: User | None = None
) -> list[ProcessVersion]:
    """Deploy the models shipped with rathaus (``workflow/models_bpmn``); idempotent."""
    versions = []
    for _key, names in SHIPPED.items():
        files = [(name, (SHIPPED_DIR / name).read_bytes()) for name in names]
        versions.append(
            process_deploy(municipality=municipality, files=files, deployed_by=deployed_by)
        )
    return versions


# --- the step machinery -----------------------------------------------------------------


def _parsed(version: ProcessVersion) -> ParsedVersion:
    def load() -> list[SourceFile]:
        return [
            SourceFile(s.name, s.kind, s.text)
            for s in ProcessSource.objects.filter(version_id=version.pk).order_by("name")
        ]

    return engine.parsed_version(
        version_id=version.pk, checksum=version.checksum, process_id=version.process_id, load=load
    )


def _instance_locked(instance_id: int) -> ProcessInstance:
    instance = (
        ProcessInstance.objects.select_for_update(of=("self",))
        .select_related("version", "version__definition", "municipality")
        .filter(pk=instance_id)
        .first()
    )
    if instance is None:
        raise NotFound(_("The process instance does not exist."))
    return instance


@dataclass
class _StepContext:
    instance: ProcessInstance
    now: datetime
    actor: User | None
    events: list[InstanceEvent]
    # Engine task ids of user tasks this step completed itself (not "cancelled").
    closed_tasks: set[str] = field(default_factory=set)
    # Set when the step's input could not be applied (see _run_step).
    input_failed: EngineError | None = None

    def event(self, kind: str, element_id: str = "", data: dict[str, Any] | None = None) -> None:
        self.events.append(
            InstanceEvent(
                municipality_id=self.instance.municipality_id,
                instance=self.instance,
                kind=kind,
                element_id=element_id[:200],
                actor=self.actor if getattr(self.actor, "pk", None) else None,
                data=data or {},
            )
        )


def _run_step(
    ctx: _StepContext,
    prepare: Callable[[], engine.BpmnWorkflow],
    *,
    kind: str,
    prepared: engine.BpmnWorkflow | None = None,
    on_applied: Callable[[], None] | None = None,
    on_input_failed: Callable[[EngineError], Incident] | None = None,
) -> Incident | None:
    """Apply the step's input (``prepare``), run the engine, store the instance.

    ``prepare`` must be deterministic: on failure it is called again to rebuild the state
    with the input applied but without the engine steps that failed. ``prepared`` is its
    result when the caller already has it. ``on_applied`` runs once the input is applied;
    ``on_input_failed`` opens the incident when the input itself fails (a post-script of
    the completed task), in which case the stored engine state stays as it was.
    """
    instance = ctx.instance
    with engine.engine_clock(ctx.now):
        try:
            workflow = prepared if prepared is not None else prepare()
        except TaskNotOpen:
            raise
        except EngineError as error:
            ctx.input_failed = error
            opened = (on_input_failed or (lambda e: _incident_open(ctx, e)))(error)
            _instance_state_store(instance)
            _events_store(ctx)
            return opened
        if on_applied is not None:
            on_applied()
        completed: list[InstanceEvent] = []

        def element_completed(task: Any) -> None:
            completed.append(
                InstanceEvent(
                    municipality_id=instance.municipality_id,
                    instance=instance,
                    kind="element_completed",
                    element_id=engine.element_id(task)[:200],
                    data={"type": type(task.task_spec).__name__},
                )
            )

        incident: Incident | None = None
        try:
            engine.workflow_advance(workflow, on_element_completed=element_completed)
        except EngineError as error:
            logger.info(
                "workflow step failed",
                extra={
                    "instance": instance.pk,
                    "step": kind,
                    "element": error.element_id,
                    "error": str(error),
                },
            )
            workflow = prepare()
            completed = []
            incident = _incident_open(ctx, error)
        ctx.events.extend(completed)
        snapshot = engine.workflow_snapshot(workflow)
        if snapshot.idle and incident is None:
            # Never a stuck instance without an incident: e.g. a parallel join after an
            # exclusive split waits for a branch that was not taken.
            blocked = ", ".join(snapshot.blocked) or "-"
            incident = _incident_open(
                ctx,
                EngineError(
                    f"the instance waits for nothing that can happen (blocked at: {blocked})",
                    element_id=snapshot.blocked[0] if snapshot.blocked else "",
                ),
            )
        _persist(ctx, workflow, snapshot)
    return incident


def _incident_open(ctx: _StepContext, error: EngineError) -> Incident:
    instance = ctx.instance
    open_incident = (
        Incident.objects.filter(
            instance=instance,
            kind=Incident.Kind.ENGINE,
            element_id=error.element_id,
            resolved_at__isnull=True,
        )
        .select_for_update()
        .first()
    )
    message = str(error)[:4000]
    if open_incident is not None:
        open_incident.attempts += 1
        open_incident.error = message
        open_incident.save(update_fields=["attempts", "error", "updated_at"])
        incident = open_incident
    else:
        incident = Incident.objects.create(
            municipality_id=instance.municipality_id,
            instance=instance,
            kind=Incident.Kind.ENGINE,
            element_id=error.element_id[:200],
            task_id=error.task_id,
            error=message,
        )
    ctx.event("incident_opened", error.element_id, {"incident": incident.pk, "error": message})
    instance.state = ProcessInstance.State.INCIDENT
    return incident


def _instance_state_store(instance: ProcessInstance) -> None:
    instance.lock_version += 1
    instance.save(update_fields=["state", "lock_version", "updated_at"])


def _events_store(ctx: _StepContext) -> None:
    if ctx.events:
        InstanceEvent.objects.bulk_create(ctx.events)
        ctx.events.clear()


def _state_of(instance: ProcessInstance, snapshot: Snapshot) -> str:
    if snapshot.completed:
        return ProcessInstance.State.COMPLETED
    # Only a step that began in (or ran into) an incident needs to look for open ones.
    if instance.state == ProcessInstance.State.INCIDENT and (
        Incident.objects.filter(instance=instance, resolved_at__isnull=True).exists()
    ):
        return ProcessInstance.State.INCIDENT
    if snapshot.service_tasks:
        return ProcessInstance.State.RUNNING
    return ProcessInstance.State.WAITING


def _persist(ctx: _StepContext, workflow: Any, snapshot: Snapshot) -> None:
    """Store the engine state and mirror tasks, timers, waits and jobs into rows.

    ``instance.mirror`` says what the rows held after the last step, so only the
    differences are written (no reads).
    """
    instance, now = ctx.instance, ctx.now
    version = instance.version
    old = instance.mirror or {}
    mirror = {
        "tasks": _user_tasks_sync(ctx, version, snapshot, old.get("tasks", {})),
        "timers": _timers_sync(ctx, snapshot, old.get("timers", {})),
        "waits": _waits_sync(ctx, snapshot, old.get("waits", [])),
        "jobs": _jobs_sync(ctx, snapshot, old.get("jobs", [])),
    }
    instance.engine_state = engine.workflow_dump(workflow)
    instance.variables = snapshot.variables
    instance.state = _state_of(instance, snapshot)
    instance.mirror = mirror
    if instance.state == ProcessInstance.State.COMPLETED and instance.completed_at is None:
        instance.completed_at = now
        ctx.event("completed")
    instance.lock_version += 1
    instance.save(
        update_fields=[
            "engine_state",
            "variables",
            "state",
            "completed_at",
            "lock_version",
            "mirror",
            "updated_at",
        ]
    )
    _events_store(ctx)
    for name, payload in snapshot.thrown_signals:
        _signal_enqueue(instance, name, payload)


def _user_tasks_sync(
    ctx: _StepContext, version: ProcessVersion, snapshot: Snapshot, mirrored: dict[str, str]
) -> dict[str, str]:
    instance = ctx.instance
    engine_open = {str(task.task_id): task for task in snapshot.user_tasks}
    gone = [
        task_id
        for task_id in mirrored
        if task_id not in engine_open and task_id not in ctx.closed_tasks
    ]
    if gone:
        # A boundary event, a terminate end or a cancellation took the task away.
        UserTask.objects.filter(
            instance=instance, task_id__in=gone, status=UserTask.Status.OPEN
        ).update(status=UserTask.Status.CANCELLED, updated_at=ctx.now)
        for task_id in gone:
            ctx.event("task_cancelled", mirrored[task_id], {"task_id": task_id})
    new = [task for task_id, task in engine_open.items() if task_id not in mirrored]
    if new:
        forms = version.metadata.get("forms", {})
        assignments = version.metadata.get("assignments", {})
        rows = []
        for task in new:
            assignment = assignments.get(task.element_id, {})
            unit, role_key = _candidates_resolve(ctx, version, task, assignment)
            rows.append(
                UserTask(
                    municipality_id=instance.municipality_id,
                    instance=instance,
                    task_id=task.task_id,
                    element_id=task.element_id[:200],
                    name=task.name[:200],
                    lane=task.lane[:200],
                    candidate_org_unit=unit,
                    candidate_role_key=role_key[:50],
                    due_at=_due_resolve(ctx, task, assignment.get("due")),
                    form=forms.get(task.element_id, []),
                    separate_from=assignment.get("separate_from", []),
                )
            )
        UserTask.objects.bulk_create(rows)
        for row in rows:
            ctx.event("task_opened", row.element_id, {"name": row.name})
    return {task_id: task.element_id for task_id, task in engine_open.items()}


def _candidates_resolve(
    ctx: _StepContext,
    version: ProcessVersion,
    task: engine.OpenUserTask,
    assignment: dict[str, Any],
) -> tuple[OrgUnit | None, str]:
    """Who may work on a new task: an org unit and/or a role key (ADR 0011).

    The task's ``rathaus:candidates`` wins over its lane's; a lane without one names a
    unit code or a role key itself. An unknown name is kept as role key and noted in the
    history, so the task is never lost (``selectors.user_tasks_unroutable``).
    """
    municipality_id = ctx.instance.municipality_id
    lane_map = version.metadata.get("lanes", {}).get(task.lane, {}) if task.lane else {}
    unit_code = assignment.get("org_unit") or lane_map.get("org_unit")
    role_key = assignment.get("role") or lane_map.get("role") or ""
    expression = assignment.get("org_unit_expression") or lane_map.get("org_unit_expression")
    unit: OrgUnit | None = None
    if expression:
        try:
            value = engine.expression_evaluate(expression, dict(task.data))
        except EngineError as error:
            ctx.event("assignment_failed", task.element_id, {"error": str(error)[:500]})
            value = None
        if isinstance(value, int) and not isinstance(value, bool):
            unit = OrgUnit.objects.filter(municipality_id=municipality_id, pk=value).first()
        elif isinstance(value, str) and value:
            unit_code = value
    if unit is None and unit_code:
        unit = OrgUnit.objects.filter(
            municipality_id=municipality_id, code__iexact=unit_code, is_active=True
        ).first()
        if unit is None:
            ctx.event("assignment_unresolved", task.element_id, {"org_unit": unit_code})
    if unit is None and not role_key and not unit_code and not expression and task.lane:
        unit = OrgUnit.objects.filter(
            municipality_id=municipality_id, code__iexact=task.lane, is_active=True
        ).first()
        if unit is None:
            role_key = task.lane
            if not Role.objects.filter(municipality_id=municipality_id, key=role_key).exists():
                ctx.event("assignment_unresolved", task.element_id, {"lane": task.lane})
    return unit, role_key


def _due_resolve(
    ctx: _StepContext, task: engine.OpenUserTask, expression: str | None
) -> datetime | None:
    if not expression:
        return None
    try:
        value = engine.expression_evaluate(expression, dict(task.data))
        return _as_due(value, ctx.now)
    except (EngineError, ValueError, TypeError) as error:
        ctx.event("due_date_failed", task.element_id, {"error": str(error)[:500]})
        return None


def _as_due(value: Any, now: datetime) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    if isinstance(value, date):
        return timezone.make_aware(datetime.combine(value, datetime.max.time()))
    if isinstance(value, str) and value.upper().startswith("P"):
        duration = parse_duration(value)
        if duration is None:
            raise ValueError(f"not an ISO 8601 duration: {value}")
        return now + duration
    if isinstance(value, str):
        return _as_due(date.fromisoformat(value[:10]), now)
    raise ValueError(f"a due date must be a duration, date or datetime, not {value!r}")


def _timers_sync(
    ctx: _StepContext, snapshot: Snapshot, mirrored: dict[str, list[str]]
) -> dict[str, list[str]]:
    instance, now = ctx.instance, ctx.now
    waiting = {str(t.task_id): t for t in snapshot.timers}
    for task_id, (element, due_text) in mirrored.items():
        due = datetime.fromisoformat(due_text)
        pending = Timer.objects.filter(instance=instance, task_id=task_id, fired_at__isnull=True)
        still = waiting.get(task_id)
        if still is None:
            if due <= now:
                pending.update(fired_at=now, updated_at=now)
                ctx.event("timer_fired", element, {"due_at": due_text})
            else:
                pending.delete()  # the flow went on another way (message first, cancel)
        elif still.due_at != due:
            if due <= now:  # a cycle timer fired and waits for its next turn
                ctx.event("timer_fired", element, {"due_at": due_text})
            pending.update(due_at=still.due_at, updated_at=now)
    Timer.objects.bulk_create(
        Timer(
            municipality_id=instance.municipality_id,
            instance=instance,
            task_id=t.task_id,
            element_id=t.element_id[:200],
            kind=t.kind,
            due_at=t.due_at,
        )
        for task_id, t in waiting.items()
        if task_id not in mirrored
    )
    return {task_id: [t.element_id, t.due_at.isoformat()] for task_id, t in waiting.items()}


def _waits_sync(
    ctx: _StepContext, snapshot: Snapshot, mirrored: list[list[str]]
) -> list[list[str]]:
    instance = ctx.instance
    wanted = {(str(e.task_id), e.kind, e.name): e for e in snapshot.events}
    old = {(task_id, kind, name) for task_id, kind, name in mirrored}
    stale = [key for key in old if key not in wanted]
    if stale:
        condition = Q()
        for task_id, kind, name in stale:
            condition |= Q(task_id=task_id, kind=kind, name=name)
        EventWait.objects.filter(condition, instance=instance).delete()
    EventWait.objects.bulk_create(
        EventWait(
            municipality_id=instance.municipality_id,
            instance=instance,
            task_id=e.task_id,
            element_id=e.element_id[:200],
            kind=e.kind,
            name=e.name[:200],
        )
        for key, e in wanted.items()
        if key not in old
    )
    return [list(key) for key in wanted]


def _jobs_sync(ctx: _StepContext, snapshot: Snapshot, mirrored: list[str]) -> list[str]:
    instance, now = ctx.instance, ctx.now
    started = {str(s.task_id): s for s in snapshot.service_tasks}
    orphaned = [task_id for task_id in mirrored if task_id not in started]
    if orphaned:
        # The service task was interrupted (boundary event, cancellation): don't call.
        ServiceJob.objects.filter(
            instance=instance, task_id__in=orphaned, status=ServiceJob.Status.PENDING
        ).update(status=ServiceJob.Status.CANCELLED, updated_at=now)
    new = []
    for task_id, service in started.items():
        if task_id in mirrored:
            continue
        handler = handler_get(service.handler)
        if service.retries is not None:
            retries = service.retries
        else:
            retries = handler.retries if handler is not None else 0
        base = service.backoff_base or (handler.backoff_seconds if handler is not None else 30)
        new.append(
            ServiceJob(
                municipality_id=instance.municipality_id,
                instance=instance,
                task_id=service.task_id,
                element_id=service.element_id[:200],
                handler=service.handler[:200],
                max_attempts=max(retries, 0) + 1,
                backoff_seconds=max(base, 1),
                next_attempt_at=now,
            )
        )
    if new:
        ServiceJob.objects.bulk_create(new)
        if any(job.pk is None for job in new):
            ids = list(
                ServiceJob.objects.filter(
                    instance=instance, task_id__in=[j.task_id for j in new]
                ).values_list("pk", flat=True)
            )
        else:
            ids = [job.pk for job in new]
        for job_id in ids:
            _job_enqueue(job_id, when=None)
        for job in new:
            ctx.event("service_called", job.element_id, {"handler": job.handler})
    return list(started)


def _job_enqueue(job_id: int, *, when: datetime | None) -> None:
    from rathaus.workflow.tasks import service_job_execute

    def enqueue() -> None:
        task = service_job_execute
        if when is not None:
            if not task_backends[task.backend].supports_defer:
                return  # workflow_tick picks it up when it is due
            task = task.using(run_after=when)
        task.enqueue(job_id=job_id)

    transaction.on_commit(enqueue)


def _signal_enqueue(instance: ProcessInstance, name: str, payload: Any) -> None:
    from rathaus.workflow.tasks import signal_deliver

    municipality_id, source = instance.municipality_id, instance.pk
    safe_payload = json.loads(json.dumps(payload, default=str)) if payload is not None else None
    transaction.on_commit(
        lambda: signal_deliver.enqueue(
            municipality_id=municipality_id,
            name=name,
            payload=safe_payload,
            source_instance_id=source,
        )
    )


def _loaded(instance: ProcessInstance, parsed: ParsedVersion) -> engine.BpmnWorkflow:
    if not instance.engine_state:
        raise EngineError("the instance has no engine state")
    return engine.workflow_load(parsed, instance.engine_state)


# --- instances --------------------------------------------------------------------------


def _variables_clean(
    variables: Mapping[str, Any] | None, *, field: str = "variables"
) -> dict[str, Any]:
    if variables is None:
        return {}
    if not isinstance(variables, Mapping):
        raise ValidationFailed(fields={field: [_("Give the variables as an object.")]})
    errors = []
    for key in variables:
        if not isinstance(key, str) or not _VARIABLE.match(key):
            errors.append(_("%(name)s is not a valid variable name.") % {"name": str(key)[:80]})
        elif key in HELPER_NAMES:
            errors.append(_("%(name)s is a reserved name.") % {"name": key})
    if errors:
        raise ValidationFailed(fields={field: errors})
    try:
        data_check(dict(variables))
    except SandboxViolation as error:
        raise ValidationFailed(fields={field: [str(error)]}) from error
    return dict(variables)


def _business_object_ref(
    municipality: Municipality, business_object: models.Model | None
) -> tuple[ContentType | None, str]:
    if business_object is None:
        return None, ""
    owner = getattr(business_object, "municipality_id", municipality.pk)
    if owner != municipality.pk or business_object.pk is None:
        raise ValidationFailed(_("The business object belongs to another municipality."))
    return ContentType.objects.get_for_model(business_object), str(business_object.pk)


def instance_start(
    *,
    municipality: Municipality,
    process_key: str,
    business_object: models.Model | None = None,
    variables: Mapping[str, Any] | None = None,
    started_by: User | None = None,
    now: datetime | None = None,
) -> ProcessInstance:
    """Start the default version of ``process_key`` for ``business_object``.

    Runs until the instance first waits (a person, a message, a timer, a service call)
    in the caller's transaction. A failing model gives an instance in ``incident`` state,
    not an exception. Raises ``NotFound`` for an unknown process or one without default
    version, ``ValidationFailed`` for unusable variables or another tenant's object.
    """
    cleaned = _variables_clean(variables)
    now = now or timezone.now()
    with transaction.atomic():
        version = (
            ProcessVersion.objects.select_related("definition", "municipality")
            .filter(municipality=municipality, definition__key=process_key, is_default=True)
            .first()
        )
        if version is None:
            raise NotFound(_("There is no deployed process with this key."))
        content_type, object_id = _business_object_ref(municipality, business_object)
        instance = ProcessInstance.objects.create(
            municipality=municipality,
            version=version,
            business_object_type=content_type,
            business_object_id=object_id,
            state=ProcessInstance.State.RUNNING,
            variables=cleaned,
            started_by=started_by,
        )
        instance.version = version
        ctx = _StepContext(instance=instance, now=now, actor=started_by, events=[])
        ctx.event("started", "", {"version": version.number, "variables": sorted(cleaned)})
        parsed = _parsed(version)
        _run_step(ctx, lambda: engine.workflow_new(parsed, cleaned), kind="start")
    return instance


def instance_cancel(
    *,
    instance: ProcessInstance,
    user: User | None,
    reason: str,
    now: datetime | None = None,
) -> ProcessInstance:
    """Stop an instance for good: open tasks, timers, waits and jobs end with it.

    ``user`` None is the system (a module withdrawing its application); a person needs
    the monitoring permission. Raises ``Conflict`` if it has already ended.
    """
    reason = (reason or "").strip()[:1000]
    if not reason:
        raise ValidationFailed(fields={"reason": [_("Give a reason.")]})
    if user is not None:
        _require(user, PERMISSION_MONITOR, instance.municipality_id)
    now = now or timezone.now()
    with transaction.atomic():
        instance = _instance_locked(instance.pk)
        if instance.state in _FINAL:
            raise Conflict(_("The process instance has already ended."))
        ctx = _StepContext(instance=instance, now=now, actor=user, events=[])
        try:
            workflow = _loaded(instance, _parsed(instance.version))
            engine.workflow_cancel(workflow)
            instance.engine_state = engine.workflow_dump(workflow)
        except Exception:
            logger.exception("cancelling the engine state failed", extra={"instance": instance.pk})
        UserTask.objects.filter(instance=instance, status=UserTask.Status.OPEN).update(
            status=UserTask.Status.CANCELLED, updated_at=now
        )
        Timer.objects.filter(instance=instance, fired_at__isnull=True).delete()
        EventWait.objects.filter(instance=instance).delete()
        ServiceJob.objects.filter(instance=instance, status=ServiceJob.Status.PENDING).update(
            status=ServiceJob.Status.CANCELLED, updated_at=now
        )
        Incident.objects.filter(instance=instance, resolved_at__isnull=True).update(
            resolved_at=now,
            resolved_by=user if getattr(user, "pk", None) else None,
            resolution=Incident.Resolution.CANCELLED,
            updated_at=now,
        )
        instance.state = ProcessInstance.State.CANCELLED
        instance.completed_at = now
        instance.mirror = {}
        instance.lock_version += 1
        instance.save(
            update_fields=[
                "engine_state",
                "state",
                "completed_at",
                "mirror",
                "lock_version",
                "updated_at",
            ]
        )
        ctx.event("cancelled", "", {"reason": reason})
        _events_store(ctx)
        audit_record(
            municipality=instance.municipality,
            action="workflow.instance.cancelled",
            actor=user,
            target=instance,
            data={"reason": reason, "process": instance.version.definition.key},
        )
    return instance


# --- messages and signals ----------------------------------------------------------------


def message_correlate(
    *,
    municipality: Municipality,
    message_name: str,
    business_object: models.Model | None = None,
    correlation: Mapping[str, Any] | None = None,
    payload: Any = None,
    now: datetime | None = None,
) -> int:
    """Deliver a message (e.g. ``documents_received``) to the instances waiting for it.

    Instances are found by their business object and/or by process variables
    (``correlation={"application_number": "A-17"}``); one of them is required, so a
    message never reaches every instance by accident. Returns how many instances caught
    it; a message no instance waits for is dropped (BPMN semantics) and returns 0.
    ``payload`` lands in the variable the model names (``spiffworkflow:messageVariable``).
    """
    if business_object is None and not correlation:
        raise ValidationFailed(_("Give a business object or correlation values."))
    safe_payload = (
        _variables_clean({"payload": payload})["payload"] if payload is not None else None
    )
    now = now or timezone.now()
    waits = EventWait.objects.filter(
        municipality=municipality, kind=EventWait.Kind.MESSAGE, name=message_name
    )
    if business_object is not None:
        content_type, object_id = _business_object_ref(municipality, business_object)
        waits = waits.filter(
            instance__business_object_type=content_type, instance__business_object_id=object_id
        )
    for key, value in (correlation or {}).items():
        # "__" would turn the key into a lookup (variables__x__in=...), not a variable name.
        if not isinstance(key, str) or not _VARIABLE.match(key) or "__" in key:
            raise ValidationFailed(fields={"correlation": [_("Invalid correlation key.")]})
        waits = waits.filter(**{f"instance__variables__{key}": value})
    instance_ids = sorted(set(waits.values_list("instance_id", flat=True)))
    return _event_deliver_all(
        instance_ids, kind="message", name=message_name, payload=safe_payload, now=now
    )


def signal_broadcast(
    *,
    municipality: Municipality,
    signal_name: str,
    payload: Any = None,
    exclude_instance_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """Deliver a signal to every instance of the municipality waiting for it."""
    safe_payload = (
        _variables_clean({"payload": payload})["payload"] if payload is not None else None
    )
    waits = EventWait.objects.filter(
        municipality=municipality, kind=EventWait.Kind.SIGNAL, name=signal_name
    )
    if exclude_instance_id is not None:
        waits = waits.exclude(instance_id=exclude_instance_id)
    instance_ids = sorted(set(waits.values_list("instance_id", flat=True)))
    return _event_deliver_all(
        instance_ids,
        kind="signal",
        name=signal_name,
        payload=safe_payload,
        now=now or timezone.now(),
    )


def _event_deliver_all(
    instance_ids: list[int], *, kind: str, name: str, payload: Any, now: datetime
) -> int:
    advanced = 0
    for instance_id in instance_ids:
        with transaction.atomic():
            instance = _instance_locked(instance_id)
            if instance.state in _FINAL:
                continue
            parsed = _parsed(instance.version)
            ctx = _StepContext(instance=instance, now=now, actor=None, events=[])
            caught = 0

            def prepare(
                instance: ProcessInstance = instance, parsed: ParsedVersion = parsed
            ) -> Any:
                nonlocal caught
                workflow = _loaded(instance, parsed)
                caught = engine.event_deliver(workflow, kind=kind, name=name, payload=payload)
                return workflow

            with engine.engine_clock(now):
                workflow = prepare()
            if not caught:
                continue
            ctx.event(f"{kind}_received", "", {"name": name})
            _run_step(ctx, prepare, kind=kind, prepared=workflow)
            advanced += 1
    return advanced


# --- timers, due dates ------------------------------------------------------------------


def timers_fire(*, now: datetime | None = None, limit: int = 200) -> int:
    """Fire the timers that are due at ``now``; returns the number of instances advanced."""
    now = now or timezone.now()
    instance_ids = list(
        Timer.objects.filter(fired_at__isnull=True, due_at__lte=now)
        .order_by("due_at")
        .values_list("instance_id", flat=True)[: limit * 4]
    )
    advanced = 0
    for instance_id in list(dict.fromkeys(instance_ids))[:limit]:
        with transaction.atomic():
            instance = _instance_locked(instance_id)
            if instance.state in _FINAL:
                Timer.objects.filter(instance=instance, fired_at__isnull=True).delete()
                continue
            parsed = _parsed(instance.version)
            ctx = _StepContext(instance=instance, now=now, actor=None, events=[])

            def prepare(
                instance: ProcessInstance = instance, parsed: ParsedVersion = parsed
            ) -> Any:
                workflow = _loaded(instance, parsed)
                engine.timers_refresh(workflow)
                return workflow

            _run_step(ctx, prepare, kind="timer")
            advanced += 1
    return advanced


def user_tasks_overdue_mark(*, now: datetime | None = None, limit: int = 500) -> int:
    """Note open tasks whose due date has passed (once each) in their history, and remind
    the assignee (or, for an unclaimed task, its candidates) by e-mail and in-app message.

    Also calls the handler ``workflow.task_overdue`` if a module registered one (e.g. to
    tell a citizen that the case takes longer); its failure is logged, not retried.
    After the grace period ``user_tasks_escalate`` tells the unit's leads.
    """
    now = now or timezone.now()
    tasks = list(
        UserTask.objects.filter(
            status=UserTask.Status.OPEN, due_at__lte=now, overdue_at__isnull=True
        ).select_related(
            "instance",
            "instance__version__definition",
            "municipality",
            "candidate_org_unit",
            "assignee",
        )[:limit]
    )
    handler = handler_get("workflow.task_overdue")
    for task in tasks:
        with transaction.atomic():
            updated = UserTask.objects.filter(pk=task.pk, overdue_at__isnull=True).update(
                overdue_at=now
            )
            if not updated:
                continue
            recipients = _overdue_recipients(task)
            InstanceEvent.objects.create(
                municipality_id=task.municipality_id,
                instance_id=task.instance_id,
                kind="task_overdue",
                element_id=task.element_id,
                data={
                    "task": task.pk,
                    "due_at": task.due_at.isoformat() if task.due_at else None,
                    "reminded": [user.pk for user in recipients],
                },
            )
            for recipient in recipients:
                _task_notify(task, recipient, event="workflow.task_overdue")
            if handler is not None:
                try:
                    with transaction.atomic():
                        handler.function(
                            _handler_context(task.instance, task.element_id, 1), task=task
                        )
                except Exception:
                    logger.exception("overdue handler failed", extra={"task": task.pk})
    return len(tasks)


#: Days a task may stay overdue before its unit's leads are told (per municipality:
#: the setting ``workflow.escalation_grace_days`` once ``core.municipal_settings`` has it).
ESCALATION_GRACE_DAYS = 2
ESCALATION_SETTING = "workflow.escalation_grace_days"
#: The role whose holders lead a unit (``organisation/defaults.py``).
LEAD_ROLE_KEY = "leitung"
#: Reminders and escalations go to at most this many people (a unit-wide task in a big
#: department should not mail everyone; the inbox shows it to all of them anyway).
MAX_NOTIFIED = 50


def escalation_grace(municipality: Municipality) -> timedelta:
    """How long after its due date an open task is escalated to the leads."""
    if ESCALATION_SETTING in SPECS:
        return timedelta(days=municipal_setting(municipality, ESCALATION_SETTING))
    return timedelta(days=ESCALATION_GRACE_DAYS)


def user_tasks_escalate(*, now: datetime | None = None, limit: int = 500) -> int:
    """Escalate open tasks still overdue after the grace period: tell the leads (role
    ``leitung``) of the task's unit, or of the nearest unit above that has any, and mark
    the task escalated (once). Returns the number of tasks escalated.

    A task without a unit goes to the leads at the root unit. Without any lead the task is
    still marked, and the history says that nobody could be told.
    """
    now = now or timezone.now()
    # The shortest grace a municipality can choose bounds the query; each task is then
    # checked against its own municipality's grace.
    shortest = timedelta(days=1)
    candidates = list(
        UserTask.objects.filter(
            status=UserTask.Status.OPEN,
            overdue_at__isnull=False,
            escalated_at__isnull=True,
            due_at__lte=now - shortest,
        )
        .select_related(
            "instance",
            "instance__version__definition",
            "municipality",
            "candidate_org_unit",
            "assignee",
        )
        .order_by("due_at", "pk")[:limit]
    )
    grace: dict[int, timedelta] = {}
    escalated = 0
    for task in candidates:
        if task.municipality_id not in grace:
            grace[task.municipality_id] = escalation_grace(task.municipality)
        assert task.due_at is not None
        if task.due_at + grace[task.municipality_id] > now:
            continue
        with transaction.atomic():
            updated = UserTask.objects.filter(
                pk=task.pk, status=UserTask.Status.OPEN, escalated_at__isnull=True
            ).update(escalated_at=now, updated_at=now)
            if not updated:
                continue
            leads = user_task_leads(task=task)
            InstanceEvent.objects.create(
                municipality_id=task.municipality_id,
                instance_id=task.instance_id,
                kind="task_escalated",
                element_id=task.element_id,
                data={"task": task.pk, "leads": [lead.pk for lead in leads]},
            )
            for lead in leads:
                _task_notify(task, lead, event="workflow.task_escalated")
            if not leads:
                logger.warning("overdue task has no lead to escalate to", extra={"task": task.pk})
        escalated += 1
    return escalated


def user_task_leads(*, task: UserTask) -> list[User]:
    """The leads an overdue task is escalated to: active staff holding the role
    ``leitung`` at the task's unit, else at the nearest unit above it that has any (a
    grant above counts only if it includes subunits). Without a unit: the root's leads."""
    unit = task.candidate_org_unit
    if unit is not None:
        chain = [unit.pk, *reversed(unit.ancestor_ids)]  # nearest first
    else:
        chain = list(
            OrgUnit.objects.filter(
                municipality_id=task.municipality_id, parent__isnull=True
            ).values_list("pk", flat=True)
        )
    grants = list(
        RoleGrant.objects.filter(
            Q(valid_until__isnull=True) | Q(valid_until__gte=timezone.localdate()),
            municipality_id=task.municipality_id,
            role__key=LEAD_ROLE_KEY,
            org_unit_id__in=chain,
            user__is_active=True,
            user__municipality_id=task.municipality_id,
        ).values_list("org_unit_id", "user_id", "include_subunits")
    )
    for level, unit_id in enumerate(chain):
        user_ids = {
            user_id
            for grant_unit, user_id, include_subunits in grants
            if grant_unit == unit_id and (level == 0 or include_subunits or unit is None)
        }
        if user_ids:
            return list(
                get_user_model()
                .objects.filter(pk__in=user_ids)
                .order_by("last_name", "first_name", "pk")[:MAX_NOTIFIED]
            )
    return []


def _overdue_recipients(task: UserTask) -> list[User]:
    if task.assignee is not None:
        return [task.assignee] if task.assignee.is_active else []
    return list(user_task_candidates(task=task, include_superusers=False)[:MAX_NOTIFIED])


def _task_notify(task: UserTask, recipient: User, *, event: str) -> None:
    """Tell ``recipient`` about ``task`` (reminder or escalation) by e-mail and in-app."""
    definition = task.instance.version.definition
    path = reverse("workflow:task_detail", args=[task.pk])
    due_at = timezone.localtime(task.due_at) if task.due_at else None
    notify(
        recipient=recipient,
        event=event,
        key=f"task-{task.pk}",
        template=event.replace(".", "_"),
        context={
            "task_name": task.name,
            "process_name": definition.name,
            "instance": task.instance_id,
            "due_at": due_at.strftime("%d.%m.%Y %H:%M") if due_at else "",
            "assignee": task.assignee.get_full_name() if task.assignee else "",
            "unit": task.candidate_org_unit.code if task.candidate_org_unit else "",
            "path": path,
        },
        channels=("email", "inapp"),
        url=path,
    )


# --- service jobs ----------------------------------------------------------------------


def _handler_context(instance: ProcessInstance, element_id: str, attempt: int) -> HandlerContext:
    return HandlerContext(
        municipality=instance.municipality,
        instance_id=instance.pk,
        process_key=instance.version.definition.key,
        element_id=element_id,
        business_object=instance.business_object if instance.business_object_id else None,
        variables=dict(instance.variables),
        attempt=attempt,
    )


def service_job_run(*, job_id: int, now: datetime | None = None) -> str:
    """Call the handler of a pending, due service job; returns what happened.

    On success the handler's database writes, its result in the process variables and
    the next engine steps commit together. A failure is retried with backoff until the
    job's attempts are used up; then (or at once for ``PermanentHandlerError`` and an
    unknown handler) the instance gets a service incident.
    """
    now = now or timezone.now()
    with transaction.atomic():
        instance_id = (
            ServiceJob.objects.filter(pk=job_id).values_list("instance_id", flat=True).first()
        )
        if instance_id is None:
            return "gone"
        instance = _instance_locked(instance_id)
        job = ServiceJob.objects.select_for_update().get(pk=job_id)
        if job.status != ServiceJob.Status.PENDING or job.next_attempt_at > now:
            return "skipped"
        if instance.state in _FINAL:
            job.status = ServiceJob.Status.CANCELLED
            job.save(update_fields=["status", "updated_at"])
            return "cancelled"
        ctx = _StepContext(instance=instance, now=now, actor=None, events=[])
        job.attempts += 1
        handler = handler_get(job.handler)
        if handler is None:
            _job_failed(
                ctx,
                job,
                _("No handler is registered as %(name)s.") % {"name": job.handler},
                final=True,
            )
            return "incident"
        parsed = _parsed(instance.version)
        try:
            with engine.engine_clock(now):
                workflow = _loaded(instance, parsed)
                params = engine.service_task_params(workflow, job.task_id)
        except TaskNotOpen:
            job.status = ServiceJob.Status.CANCELLED
            job.save(update_fields=["status", "attempts", "updated_at"])
            return "cancelled"
        except EngineError as error:
            _job_failed(ctx, job, f"parameters: {error}", final=True)
            return "incident"
        context = _handler_context(instance, job.element_id, job.attempts)
        try:
            with transaction.atomic():
                result = handler.function(context, **params)
                result = _result_clean(result)
        except Exception as error:
            permanent = isinstance(error, PermanentHandlerError)
            logger.warning(
                "workflow handler failed",
                extra={"job": job.pk, "handler": job.handler, "attempt": job.attempts},
            )
            message = f"{type(error).__name__}: {error}"[:4000]
            final = permanent or job.attempts >= job.max_attempts
            _job_failed(ctx, job, message, final=final)
            return "incident" if final else "retry"
        task_id = job.task_id

        def prepare() -> Any:
            loaded = _loaded(instance, parsed)
            engine.service_task_finish(loaded, task_id, result)
            return loaded

        def applied() -> None:
            job.status = ServiceJob.Status.SUCCEEDED
            job.last_error = ""
            job.save(update_fields=["status", "attempts", "last_error", "updated_at"])
            ctx.event(
                "service_completed",
                job.element_id,
                {"handler": job.handler, "attempt": job.attempts},
            )

        def input_failed(error: EngineError) -> Incident:
            # The task's post-script failed on the result: a retry calls the handler again.
            incident = _job_failed(ctx, job, f"after the handler: {error}", final=True)
            assert incident is not None
            return incident

        _run_step(ctx, prepare, kind="service", on_applied=applied, on_input_failed=input_failed)
    return "incident" if ctx.input_failed is not None else "succeeded"


def _result_clean(result: Any) -> Any:
    try:
        text = json.dumps(result, default=_json_default)
    except (TypeError, ValueError) as error:
        raise PermanentHandlerError(f"the handler's result cannot be stored: {error}") from error
    if len(text) > MAX_RESULT_BYTES:
        raise PermanentHandlerError("the handler's result is too large")
    return json.loads(text)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(type(value).__name__)


def _job_failed(
    ctx: _StepContext, job: ServiceJob, message: str, *, final: bool
) -> Incident | None:
    """Count a failed attempt: schedule the next one, or open a service incident."""
    instance, now = ctx.instance, ctx.now
    job.last_error = message
    incident: Incident | None = None
    if final:
        job.status = ServiceJob.Status.FAILED
        job.save(update_fields=["status", "attempts", "last_error", "updated_at"])
        incident = Incident.objects.create(
            municipality_id=instance.municipality_id,
            instance=instance,
            kind=Incident.Kind.SERVICE,
            element_id=job.element_id,
            task_id=job.task_id,
            handler=job.handler,
            error=message,
            attempts=job.attempts,
        )
        ctx.event(
            "incident_opened",
            job.element_id,
            {"incident": incident.pk, "handler": job.handler, "error": message},
        )
        instance.state = ProcessInstance.State.INCIDENT
        _instance_state_store(instance)
    else:
        delay = backoff_seconds(base=job.backoff_seconds, attempt=job.attempts)
        job.next_attempt_at = now + timedelta(seconds=delay)
        job.save(update_fields=["attempts", "last_error", "next_attempt_at", "updated_at"])
        ctx.event(
            "service_failed",
            job.element_id,
            {"handler": job.handler, "attempt": job.attempts, "retry_in": delay, "error": message},
        )
        _job_enqueue(job.pk, when=job.next_attempt_at)
    _events_store(ctx)
    return incident


def service_jobs_due_run(*, now: datetime | None = None, limit: int = 100) -> int:
    """Run pending service jobs that are due (retries, and jobs whose queued task got lost)."""
    now = now or timezone.now()
    ids = list(
        ServiceJob.objects.filter(status=ServiceJob.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for job_id in ids:
        service_job_run(job_id=job_id, now=now)
    return len(ids)


# --- incidents ------------------------------------------------------------------------


def incident_retry(
    *, incident: Incident, user: User | None, now: datetime | None = None
) -> ProcessInstance:
    """Resolve an incident by trying again: the service call from its first attempt, or
    the engine steps that failed. A new failure opens a new incident."""
    if user is not None:
        _require(user, PERMISSION_MONITOR, incident.municipality_id)
    now = now or timezone.now()
    with transaction.atomic():
        instance = _instance_locked(incident.instance_id)
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.resolved_at is not None:
            raise Conflict(_("This incident has already been resolved."))
        if instance.state in _FINAL:
            raise Conflict(_("The process instance has already ended."))
        incident.resolved_at = now
        incident.resolved_by = user if getattr(user, "pk", None) else None
        incident.resolution = Incident.Resolution.RETRIED
        incident.save(update_fields=["resolved_at", "resolved_by", "resolution", "updated_at"])
        ctx = _StepContext(instance=instance, now=now, actor=user, events=[])
        ctx.event("incident_retried", incident.element_id, {"incident": incident.pk})
        audit_record(
            municipality=instance.municipality,
            action="workflow.incident.retried",
            actor=user,
            target=incident,
            data={"instance": instance.pk, "element": incident.element_id},
        )
        job = (
            ServiceJob.objects.filter(instance=instance, task_id=incident.task_id).first()
            if incident.kind == Incident.Kind.SERVICE and incident.task_id is not None
            else None
        )
        if job is not None:
            job.status = ServiceJob.Status.PENDING
            job.attempts = 0
            job.next_attempt_at = now
            job.save(update_fields=["status", "attempts", "next_attempt_at", "updated_at"])
            _job_enqueue(job.pk, when=None)
            still_open = Incident.objects.filter(
                instance=instance, resolved_at__isnull=True
            ).exists()
            instance.state = (
                ProcessInstance.State.INCIDENT if still_open else ProcessInstance.State.RUNNING
            )
            _instance_state_store(instance)
            _events_store(ctx)
        else:
            parsed = _parsed(instance.version)
            _run_step(ctx, lambda: _loaded(instance, parsed), kind="retry")
    instance.refresh_from_db()
    return instance


# --- user tasks ------------------------------------------------------------------------


def _require(user: User, permission: str, municipality_id: int) -> None:
    if getattr(user, "municipality_id", None) not in (None, municipality_id) or not user_can(
        user=user, permission=permission, org_unit=None
    ):
        raise PermissionDenied()


def _four_eyes_check(user: User, task: UserTask) -> None:
    if not task.separate_from:
        return
    done = (
        UserTask.objects.filter(
            instance_id=task.instance_id,
            element_id__in=task.separate_from,
            status=UserTask.Status.COMPLETED,
            completed_by=user,
        )
        .values_list("name", flat=True)
        .first()
    )
    if done is not None:
        raise PermissionDenied(
            _(
                "Four-eyes principle: you completed “%(task)s” of this case, "
                "so someone else must do this."
            )
            % {"task": done},
            code="four_eyes",
        )


def _task_locked(task: UserTask) -> UserTask:
    locked = (
        UserTask.objects.select_for_update(of=("self",))
        .select_related("candidate_org_unit")
        .filter(pk=task.pk)
        .first()
    )
    if locked is None:
        raise NotFound()
    return locked


def _task_usable(user: User, task: UserTask) -> None:
    if task.status == UserTask.Status.COMPLETED:
        raise Conflict(
            _("This task has already been completed by someone else."), code="task_completed"
        )
    if task.status != UserTask.Status.OPEN:
        raise Conflict(_("This task is no longer open."), code="task_closed")
    if task.assignee_id is not None and task.assignee_id != user.pk:
        raise Conflict(_("Someone else has claimed this task."), code="task_claimed")
    if not user_is_candidate(user=user, task=task):
        raise PermissionDenied(_("You may not work on this task."))
    _four_eyes_check(user, task)


def user_task_claim(*, task: UserTask, user: User, now: datetime | None = None) -> UserTask:
    """Take an open task (others no longer see it in their inbox)."""
    now = now or timezone.now()
    with transaction.atomic():
        task = _task_locked(task)
        _task_usable(user, task)
        if task.assignee_id != user.pk:
            task.assignee = user
            task.claimed_at = now
            task.save(update_fields=["assignee", "claimed_at", "updated_at"])
            InstanceEvent.objects.create(
                municipality_id=task.municipality_id,
                instance_id=task.instance_id,
                kind="task_claimed",
                element_id=task.element_id,
                actor=user,
                data={"task": task.pk},
            )
    return task


def user_task_unclaim(*, task: UserTask, user: User) -> UserTask:
    """Give a claimed task back to its candidates (the assignee or a monitor may)."""
    with transaction.atomic():
        task = _task_locked(task)
        if task.status != UserTask.Status.OPEN:
            raise Conflict(_("This task is no longer open."))
        if task.assignee_id != user.pk:
            _require(user, PERMISSION_MONITOR, task.municipality_id)
        if task.assignee_id is not None:
            task.assignee = None
            task.claimed_at = None
            task.save(update_fields=["assignee", "claimed_at", "updated_at"])
            InstanceEvent.objects.create(
                municipality_id=task.municipality_id,
                instance_id=task.instance_id,
                kind="task_unclaimed",
                element_id=task.element_id,
                actor=user,
                data={"task": task.pk},
            )
    return task


def user_task_delegate(
    *,
    task: UserTask,
    user: User,
    to_user: User,
    now: datetime | None = None,
) -> UserTask:
    """Assign an open task to ``to_user``, who must be a candidate (and pass four-eyes).

    The current assignee or a monitor may delegate.
    """
    now = now or timezone.now()
    with transaction.atomic():
        task = _task_locked(task)
        if task.status != UserTask.Status.OPEN:
            raise Conflict(_("This task is no longer open."))
        if task.assignee_id != user.pk:
            _require(user, PERMISSION_MONITOR, task.municipality_id)
        if getattr(to_user, "municipality_id", None) != task.municipality_id:
            raise NotFound(_("There is no such staff member."))
        if not candidate_by_rules(to_user, task):
            raise ValidationFailed(
                fields={"to_user": [_("This person may not work on this task.")]}
            )
        _four_eyes_check(to_user, task)
        previous = task.assignee_id
        task.assignee = to_user
        task.claimed_at = now
        task.save(update_fields=["assignee", "claimed_at", "updated_at"])
        InstanceEvent.objects.create(
            municipality_id=task.municipality_id,
            instance_id=task.instance_id,
            kind="task_delegated",
            element_id=task.element_id,
            actor=user,
            data={"task": task.pk, "from": previous, "to": to_user.pk},
        )
        audit_record(
            municipality=task.municipality,
            action="workflow.task.delegated",
            actor=user,
            target=task,
            data={"from": previous, "to": to_user.pk},
        )
    return task


def user_task_complete(
    *,
    task: UserTask,
    user: User,
    data: Mapping[str, Any],
    from_strings: bool = False,
    now: datetime | None = None,
) -> UserTask:
    """Complete a task with the form data; the process goes on to its next wait.

    Exactly one of two concurrent completions wins; the other gets ``Conflict``.
    Raises ``PermissionDenied`` for someone who isn't a candidate or did a task this one
    must be separate from (four-eyes), ``ValidationFailed`` per field for data that
    doesn't fit the form. The completion is a decision and goes to the audit trail.
    """
    now = now or timezone.now()
    with transaction.atomic():
        instance = _instance_locked(task.instance_id)
        task = _task_locked(task)
        if task.status == UserTask.Status.OPEN and instance.state in _FINAL:
            raise Conflict(_("The process instance has already ended."))
        _task_usable(user, task)
        cleaned = form_data_clean(task_form_fields(task), data, from_strings=from_strings)
        task.status = UserTask.Status.COMPLETED
        task.completed_by = user
        task.completed_at = now
        if task.assignee_id is None:
            task.assignee = user
            task.claimed_at = now
        task.save(
            update_fields=[
                "status",
                "completed_by",
                "completed_at",
                "assignee",
                "claimed_at",
                "updated_at",
            ]
        )
        ctx = _StepContext(instance=instance, now=now, actor=user, events=[])
        ctx.closed_tasks.add(str(task.task_id))
        parsed = _parsed(instance.version)
        task_id, element, task_pk = task.task_id, task.element_id, task.pk

        def prepare() -> Any:
            workflow = _loaded(instance, parsed)
            engine.task_complete(workflow, task_id, cleaned)
            return workflow

        def applied() -> None:
            ctx.event("task_completed", element, {"task": task_pk, "data": _jsonable(cleaned)})

        try:
            _run_step(ctx, prepare, kind="task", on_applied=applied)
        except TaskNotOpen as error:
            raise Conflict(_("This task is no longer open."), code="task_closed") from error
        if ctx.input_failed is not None:
            # The model failed on the completion itself: the task stays open (the incident
            # is stored with this transaction), and the person is told.
            task.status = UserTask.Status.OPEN
            task.completed_by = None
            task.completed_at = None
            task.save(update_fields=["status", "completed_by", "completed_at", "updated_at"])
            failed = True
        else:
            failed = False
            audit_record(
                municipality=instance.municipality,
                action="workflow.task.completed",
                actor=user,
                target=task,
                data={
                    "instance": instance.pk,
                    "process": instance.version.definition.key,
                    "version": instance.version.number,
                    "element": task.element_id,
                    "fields": sorted(cleaned),
                },
            )
    if failed:
        raise Conflict(
            _(
                "The process model failed while completing this task. The task is still "
                "open; an administrator sees the incident."
            ),
            code="model_failed",
        )
    return task


def _jsonable(data: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(dict(data), default=_json_default))
    return result


# --- comments --------------------------------------------------------------------------


def user_task_comment_add(*, task: UserTask, user: User, text: str) -> TaskComment:
    """Leave a comment on a task the person may see (a candidate, the assignee, whoever
    completed it, or a monitor). Comments are never changed; the history notes each one.

    Raises ``ValidationFailed`` (field ``text``) for an empty or too long comment and
    ``PermissionDenied`` for someone who may not see the task.
    """
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise ValidationFailed(fields={"text": [_("Write a comment.")]})
    if len(text) > TaskComment.MAX_LENGTH:
        raise ValidationFailed(
            fields={
                "text": [
                    _("Enter at most %(limit)d characters.") % {"limit": TaskComment.MAX_LENGTH}
                ]
            }
        )
    if "\x00" in text:
        raise ValidationFailed(fields={"text": [_("The text contains invalid characters.")]})
    if getattr(user, "municipality_id", None) != task.municipality_id:
        raise NotFound()
    with transaction.atomic():
        task = _task_locked(task)
        allowed = (
            user_is_candidate(user=user, task=task)
            or task.completed_by_id == user.pk
            or user_can(user=user, permission=PERMISSION_MONITOR, org_unit=None)
        )
        if not allowed:
            raise PermissionDenied(_("You may not work on this task."))
        comment = TaskComment.objects.create(
            municipality_id=task.municipality_id, task=task, author=user, text=text
        )
        InstanceEvent.objects.create(
            municipality_id=task.municipality_id,
            instance_id=task.instance_id,
            kind="task_commented",
            element_id=task.element_id,
            actor=user,
            data={"task": task.pk, "comment": comment.pk},
        )
    return comment
