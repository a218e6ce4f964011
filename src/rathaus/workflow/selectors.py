"""Reads of the workflow engine: the inbox, instance state and history, incidents."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone

from rathaus.core.models import Municipality
from rathaus.organisation.models import OrgUnit, Role, RoleGrant
from rathaus.organisation.permissions import current_grants, user_can, user_unit_permissions
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
from rathaus.workflow.taskforms import FieldSpec, task_form_fields

if TYPE_CHECKING:
    from rathaus.accounts.models import User

__all__ = [
    "FieldSpec",
    "InstanceStatus",
    "incidents_open",
    "instance_history",
    "instance_status",
    "instances_for_business_object",
    "process_definition_list",
    "task_form_fields",
    "user_is_candidate",
    "user_tasks_for",
    "user_tasks_unroutable",
]

PERMISSION_MANAGE = "workflow.manage_processes"
PERMISSION_MONITOR = "workflow.monitor_instances"
PERMISSION_WORK = "workflow.work_on_tasks"


def user_is_candidate(*, user: User, task: UserTask) -> bool:
    """Whether ``user`` may claim and complete ``task`` (not counting four-eyes).

    The assignee may; otherwise, by the task's candidates: a role at a unit (granted there
    or above with subunits), a role anywhere, or the work permission in the unit. A task
    without candidates needs the work permission for the whole municipality.
    """
    if task.assignee_id == user.pk and same_tenant(user, task):
        return True
    return candidate_by_rules(user, task)


def same_tenant(user: User, task: UserTask) -> bool:
    """An active account of the task's municipality."""
    return bool(getattr(user, "is_active", False)) and (
        getattr(user, "municipality_id", None) == task.municipality_id
    )


def candidate_by_rules(user: User, task: UserTask) -> bool:
    """``user_is_candidate`` without the assignee: by the task's candidate unit and role."""
    if not same_tenant(user, task):
        return False
    if getattr(user, "is_superuser", False):
        return True
    unit = task.candidate_org_unit
    if task.candidate_role_key:
        grants = current_grants(user).filter(
            role__key=task.candidate_role_key, org_unit__is_active=True
        )
        if unit is None:
            return grants.exists()
        for grant_unit_id, path, include_subunits in grants.values_list(
            "org_unit_id", "org_unit__path", "include_subunits"
        ):
            if grant_unit_id == unit.pk or (include_subunits and unit.path.startswith(path)):
                return True
        return False
    if unit is not None:
        return user_can(user=user, permission=PERMISSION_WORK, org_unit=unit)
    return user_can(user=user, permission=PERMISSION_WORK, org_unit=None)


def _tasks_light() -> QuerySet[UserTask]:
    # The engine state and variables of the instance are never needed in a task list.
    return UserTask.objects.select_related(
        "instance", "instance__version", "instance__version__definition", "candidate_org_unit"
    ).defer("instance__engine_state", "instance__variables", "instance__version__metadata")


def user_tasks_for(*, user: User) -> QuerySet[UserTask]:
    """The inbox: open tasks assigned to ``user``, and unclaimed tasks for their roles and
    org units (by the same rules as ``services.user_is_candidate``). Due first, then oldest.

    Four-eyes exclusions are checked when a task is claimed or completed, not here.
    """
    municipality_id = getattr(user, "municipality_id", None)
    if not getattr(user, "is_active", False) or municipality_id is None:
        return UserTask.objects.none()
    tasks = _tasks_light().filter(municipality_id=municipality_id, status=UserTask.Status.OPEN)
    if getattr(user, "is_superuser", False):
        return tasks.order_by(models.F("due_at").asc(nulls_last=True), "created_at", "pk")
    mine = Q(assignee_id=user.pk)
    eligible = Q(pk__in=[])
    # From the permissions cached on the user: no query of its own.
    unit_ids = sorted(
        unit_id
        for unit_id, permissions in user_unit_permissions(user).items()
        if PERMISSION_WORK in permissions
    )
    if unit_ids:
        eligible |= Q(candidate_role_key="", candidate_org_unit_id__in=unit_ids)
    grants = list(
        current_grants(user)
        .filter(org_unit__is_active=True)
        .values_list("role__key", "org_unit_id", "org_unit__path", "include_subunits")
    )
    if grants:
        role_keys = sorted({key for key, _unit, _path, _sub in grants})
        eligible |= Q(candidate_org_unit__isnull=True, candidate_role_key__in=role_keys)
        paths = sorted({path for _key, _unit, path, sub in grants if sub})
        below: dict[int, str] = {}
        if paths:
            subtree = Q()
            for path in paths:
                subtree |= Q(path__startswith=path)
            below = dict(
                OrgUnit.objects.filter(subtree, municipality_id=municipality_id).values_list(
                    "pk", "path"
                )
            )
        for key in role_keys:
            units = set()
            for grant_key, unit_id, path, include_subunits in grants:
                if grant_key != key:
                    continue
                units.add(unit_id)
                if include_subunits:
                    units.update(pk for pk, p in below.items() if p.startswith(path))
            eligible |= Q(candidate_role_key=key, candidate_org_unit_id__in=sorted(units))
    if municipality_wide_worker(user):
        eligible |= Q(candidate_role_key="", candidate_org_unit__isnull=True)
    return tasks.filter(mine | (Q(assignee__isnull=True) & eligible)).order_by(
        models.F("due_at").asc(nulls_last=True), "created_at", "pk"
    )


def municipality_wide_worker(user: User) -> bool:
    """Whether ``user`` may work on tasks anywhere in the municipality."""
    return user_can(user=user, permission=PERMISSION_WORK, org_unit=None)


def user_tasks_unroutable(*, municipality: Municipality) -> QuerySet[UserTask]:
    """Open, unclaimed tasks nobody can see in their inbox: no unit, and a role key that no
    role of the municipality has (or no candidates at all). For administrators."""
    role_keys = Role.objects.filter(municipality=municipality).values("key")
    return (
        _tasks_light()
        .filter(
            municipality=municipality,
            status=UserTask.Status.OPEN,
            assignee__isnull=True,
            candidate_org_unit__isnull=True,
        )
        .exclude(candidate_role_key__in=role_keys)
        .order_by("created_at", "pk")
    )


@dataclass
class InstanceStatus:
    """Where an instance stands, for a module's page or an administrator."""

    instance: ProcessInstance
    state: str
    open_tasks: list[UserTask] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)
    waiting_for: list[EventWait] = field(default_factory=list)
    pending_jobs: list[ServiceJob] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)


def instance_status(*, instance: ProcessInstance) -> InstanceStatus:
    """State, open tasks, timers, awaited messages, pending calls and open incidents."""
    return InstanceStatus(
        instance=instance,
        state=instance.state,
        open_tasks=list(
            UserTask.objects.filter(instance=instance, status=UserTask.Status.OPEN).order_by("pk")
        ),
        timers=list(
            Timer.objects.filter(instance=instance, fired_at__isnull=True).order_by("due_at")
        ),
        waiting_for=list(EventWait.objects.filter(instance=instance).order_by("pk")),
        pending_jobs=list(
            ServiceJob.objects.filter(instance=instance, status=ServiceJob.Status.PENDING)
        ),
        incidents=list(Incident.objects.filter(instance=instance, resolved_at__isnull=True)),
        variables=dict(instance.variables),
    )


def instance_history(*, instance: ProcessInstance) -> QuerySet[InstanceEvent]:
    """The instance's history, oldest first."""
    return (
        InstanceEvent.objects.filter(instance=instance)
        .select_related("actor")
        .order_by("created_at", "pk")
    )


def instances_for_business_object(
    *, municipality: Municipality, business_object: models.Model
) -> QuerySet[ProcessInstance]:
    """The instances started for ``business_object``, newest first (without engine state)."""
    return (
        ProcessInstance.objects.filter(
            municipality=municipality,
            business_object_type=ContentType.objects.get_for_model(business_object),
            business_object_id=str(business_object.pk),
        )
        .select_related("version", "version__definition")
        .defer("engine_state", "version__metadata")
        .order_by("-started_at", "-pk")
    )


def incidents_open(*, municipality: Municipality) -> QuerySet[Incident]:
    """Unresolved incidents of the municipality, newest first."""
    return (
        Incident.objects.filter(municipality=municipality, resolved_at__isnull=True)
        .select_related("instance", "instance__version__definition")
        .defer("instance__engine_state", "instance__variables", "instance__version__metadata")
        .order_by("-created_at", "-pk")
    )


def process_definition_list(
    *, municipality: Municipality
) -> list[tuple[ProcessDefinition, ProcessVersion | None]]:
    """Every process of the municipality with its default version (two queries)."""
    definitions = list(ProcessDefinition.objects.filter(municipality=municipality).order_by("name"))
    defaults = {
        v.definition_id: v
        for v in ProcessVersion.objects.filter(municipality=municipality, is_default=True).defer(
            "metadata"
        )
    }
    return [(d, defaults.get(d.pk)) for d in definitions]


# --- people around a task ------------------------------------------------------------------


def user_task_candidates(*, task: UserTask, include_superusers: bool = True) -> QuerySet[Any]:
    """Active staff of the task's municipality who may work on it by its candidate rules
    (the same rules as ``candidate_by_rules``; four-eyes is checked on delegation), by
    name. For the delegation list and overdue reminders (which leave out superusers who
    hold no matching grant: they may work on anything, but are not the unit's staff)."""
    from django.contrib.auth import get_user_model

    grants = RoleGrant.objects.filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=timezone.localdate()),
        municipality_id=task.municipality_id,
        org_unit__is_active=True,
    )
    unit = task.candidate_org_unit
    in_scope = Q()
    if unit is not None:
        # At the unit itself, or above it with subunits.
        in_scope = Q(org_unit_id=unit.pk) | Q(
            org_unit_id__in=unit.ancestor_ids, include_subunits=True
        )
    if task.candidate_role_key:
        grants = grants.filter(in_scope, role__key=task.candidate_role_key)
    else:
        work = Q(
            role__permissions__content_type__app_label="workflow",
            role__permissions__codename="work_on_tasks",
        )
        if unit is None:
            in_scope = Q(org_unit__parent__isnull=True, include_subunits=True)
        grants = grants.filter(in_scope, work)
    return (
        get_user_model()
        .objects.filter(
            Q(pk__in=grants.values("user_id"))
            | (Q(is_superuser=True) if include_superusers else Q(pk__in=[])),
            municipality_id=task.municipality_id,
            is_active=True,
            is_staff=True,
        )
        .order_by("last_name", "first_name", "pk")
    )


def task_comments(*, task: UserTask) -> QuerySet[TaskComment]:
    """The comments on a task, oldest first, with their authors."""
    return (
        TaskComment.objects.filter(task=task).select_related("author").order_by("created_at", "pk")
    )


# --- the inbox --------------------------------------------------------------------------

INBOX_FILTERS = ("all", "mine", "roles", "units", "overdue")


def inbox_tasks(
    *, user: User, scope: str = "all", order: str = "due", now: datetime | None = None
) -> QuerySet[UserTask]:
    """``user_tasks_for`` narrowed to a tab of the inbox and sorted.

    ``mine``: claimed by the user; ``roles``: unclaimed tasks offered to a role the user
    holds; ``units``: unclaimed tasks offered to a unit (or the whole administration)
    without a role; ``overdue``: past their due date. ``order`` is ``due`` (soonest due
    first, tasks without a due date last) or ``new`` (newest first).
    """
    tasks = user_tasks_for(user=user)
    if scope == "mine":
        tasks = tasks.filter(assignee_id=user.pk)
    elif scope == "roles":
        tasks = tasks.filter(assignee__isnull=True).exclude(candidate_role_key="")
    elif scope == "units":
        tasks = tasks.filter(assignee__isnull=True, candidate_role_key="")
    elif scope == "overdue":
        tasks = tasks.filter(due_at__lt=now or timezone.now())
    if order == "new":
        return tasks.order_by("-created_at", "-pk")
    return tasks


# --- diagrams ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DiagramElement:
    """A flow element of a BPMN model, for the text version of a diagram."""

    element_id: str
    name: str
    kind: str


_element_cache: dict[tuple[int, str], dict[str, DiagramElement]] = {}


def version_elements(*, version: ProcessVersion) -> dict[str, DiagramElement]:
    """Every element with an id in the version's BPMN files, by id (parsed once per
    version: versions never change)."""
    key = (version.pk, version.checksum)
    found = _element_cache.get(key)
    if found is not None:
        return found
    from lxml import etree

    from rathaus.workflow.engine import xml_parser

    elements: dict[str, DiagramElement] = {}
    for text in ProcessSource.objects.filter(version=version, kind="bpmn").values_list(
        "text", flat=True
    ):
        root = etree.fromstring(text.encode("utf-8"), xml_parser())
        for node in root.iter():
            if not isinstance(node.tag, str) or not node.get("id"):
                continue
            qname = etree.QName(node)
            if qname.namespace != "http://www.omg.org/spec/BPMN/20100524/MODEL":
                continue
            element_id = str(node.get("id"))
            elements[element_id] = DiagramElement(
                element_id=element_id, name=str(node.get("name") or ""), kind=qname.localname
            )
    if len(_element_cache) > 256:
        _element_cache.clear()
    _element_cache[key] = elements
    return elements


@dataclass
class InstanceDiagram:
    """What the instance viewer highlights: elements done, current, and failed."""

    bpmn: str
    completed: list[str]
    current: list[str]
    failed: list[str]


def instance_diagram(*, instance: ProcessInstance) -> InstanceDiagram:
    """The instance's BPMN (the version's file with the process) and its element ids: done
    (from the history), current (open tasks, timers, awaited events, pending calls) and
    failed (open incidents). Five queries."""
    source = (
        ProcessSource.objects.filter(version_id=instance.version_id, kind="bpmn")
        .filter(text__contains=f'id="{instance.version.process_id}"')
        .values_list("text", flat=True)
        .first()
    ) or ""
    completed = set(
        InstanceEvent.objects.filter(
            instance=instance, kind__in=("element_completed", "task_completed")
        )
        .exclude(element_id="")
        .values_list("element_id", flat=True)
    )
    current: set[str] = set()
    current.update(
        UserTask.objects.filter(instance=instance, status=UserTask.Status.OPEN).values_list(
            "element_id", flat=True
        )
    )
    current.update(
        Timer.objects.filter(instance=instance, fired_at__isnull=True).values_list(
            "element_id", flat=True
        )
    )
    current.update(EventWait.objects.filter(instance=instance).values_list("element_id", flat=True))
    current.update(
        ServiceJob.objects.filter(instance=instance, status=ServiceJob.Status.PENDING).values_list(
            "element_id", flat=True
        )
    )
    failed = set(
        Incident.objects.filter(instance=instance, resolved_at__isnull=True)
        .exclude(element_id="")
        .values_list("element_id", flat=True)
    )
    return InstanceDiagram(
        bpmn=source,
        completed=sorted(completed - current - failed),
        current=sorted(current - failed),
        failed=sorted(failed),
    )


# --- processes and versions ------------------------------------------------------------


def process_versions_by_definition(
    *, municipality: Municipality
) -> list[tuple[ProcessDefinition, list[ProcessVersion]]]:
    """Every process of the municipality with all its versions, newest first (two
    queries; sources and metadata are not loaded)."""
    definitions = list(ProcessDefinition.objects.filter(municipality=municipality).order_by("name"))
    versions: dict[int, list[ProcessVersion]] = {d.pk: [] for d in definitions}
    for version in (
        ProcessVersion.objects.filter(municipality=municipality)
        .select_related("deployed_by")
        .annotate(instance_count=models.Count("instances"))
        .defer("metadata")
        .order_by("definition_id", "-number")
    ):
        versions.setdefault(version.definition_id, []).append(version)
    return [(d, versions.get(d.pk, [])) for d in definitions]


def process_instance_list(
    *, municipality: Municipality, process_key: str = "", state: str = ""
) -> QuerySet[ProcessInstance]:
    """Instances of the municipality, newest first, optionally of one process and state
    (without engine state and variables)."""
    instances = (
        ProcessInstance.objects.filter(municipality=municipality)
        .select_related("version", "version__definition")
        .defer("engine_state", "variables", "mirror", "version__metadata")
        .order_by("-started_at", "-pk")
    )
    if process_key:
        instances = instances.filter(version__definition__key=process_key)
    if state:
        instances = instances.filter(state=state)
    return instances


# --- monitoring ------------------------------------------------------------------------

#: The figures look at this many days back and at most this many rows: a percentile is
#: computed in Python, so the set must stay bounded.
FIGURES_DAYS = 90
FIGURES_MAX_ROWS = 50_000


@dataclass(frozen=True)
class CycleTime:
    """Average and 90th percentile of durations (seconds) over ``count`` runs."""

    count: int
    average: float
    p90: float


def cycle_time(durations: list[float]) -> CycleTime | None:
    """Average and 90th percentile (nearest rank: the smallest value that at least 90 %
    of the values do not exceed) of ``durations``; None without values."""
    if not durations:
        return None
    ordered = sorted(durations)
    rank = max(math.ceil(0.9 * len(ordered)), 1)
    return CycleTime(count=len(ordered), average=sum(ordered) / len(ordered), p90=ordered[rank - 1])


@dataclass
class ProcessFigures:
    """The monitoring page's numbers of one process."""

    key: str
    name: str
    states: dict[str, int] = field(default_factory=dict)
    cycle: CycleTime | None = None
    # (element id, step name) -> cycle time, in the order the steps were first seen.
    steps: dict[tuple[str, str], CycleTime] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.states.values())


@dataclass
class Figures:
    since: datetime
    processes: list[ProcessFigures]
    overdue: list[UserTask]
    incidents: list[Incident]


STEP_OPENED = {"task_opened": "task", "service_called": "service"}
STEP_CLOSED = {"task_completed": "task", "service_completed": "service"}


def process_figures(
    *, municipality: Municipality, now: datetime | None = None, days: int = FIGURES_DAYS
) -> Figures:
    """Instances by state per process (all time), cycle times per process (instances
    completed in the last ``days``) and per step (steps of those days: user tasks from
    opening to completion, service calls from call to success), overdue open tasks and
    open incidents. Six queries."""
    now = now or timezone.now()
    since = now - timedelta(days=days)
    by_key: dict[str, ProcessFigures] = {
        key: ProcessFigures(key=key, name=name)
        for key, name in ProcessDefinition.objects.filter(municipality=municipality)
        .order_by("name")
        .values_list("key", "name")
    }
    for key, state, count in (
        ProcessInstance.objects.filter(municipality=municipality)
        .values_list("version__definition__key", "state")
        .annotate(n=models.Count("pk"))
        .order_by()
    ):
        if key in by_key:
            by_key[key].states[state] = count
    durations: dict[str, list[float]] = {}
    for key, started, completed in ProcessInstance.objects.filter(
        municipality=municipality,
        state=ProcessInstance.State.COMPLETED,
        completed_at__gte=since,
        completed_at__lte=now,
    ).values_list("version__definition__key", "started_at", "completed_at")[:FIGURES_MAX_ROWS]:
        if completed is not None:
            durations.setdefault(key, []).append((completed - started).total_seconds())
    for key, values in durations.items():
        if key in by_key:
            by_key[key].cycle = cycle_time(values)
    step_durations = _step_durations(municipality, since, now)
    for key, steps in step_durations.items():
        if key in by_key:
            by_key[key].steps = {
                step: time for step, values in steps.items() if (time := cycle_time(values))
            }
    overdue = list(
        _tasks_light()
        .filter(municipality=municipality, status=UserTask.Status.OPEN, due_at__lt=now)
        .select_related("assignee")
        .order_by("due_at", "pk")[:200]
    )
    return Figures(
        since=since,
        processes=list(by_key.values()),
        overdue=overdue,
        incidents=list(incidents_open(municipality=municipality)[:200]),
    )


def _step_durations(
    municipality: Municipality, since: datetime, now: datetime
) -> dict[str, dict[tuple[str, str], list[float]]]:
    """Durations of steps, from the history: an opening event paired with the next
    closing event of the same instance and element (first in, first out)."""
    rows = (
        InstanceEvent.objects.filter(
            municipality=municipality,
            kind__in=[*STEP_OPENED, *STEP_CLOSED, "task_cancelled"],
            created_at__gte=since,
            created_at__lte=now,
        )
        .values_list(
            "instance_id",
            "instance__version__definition__key",
            "kind",
            "element_id",
            "data",
            "created_at",
        )
        .order_by("created_at", "pk")[:FIGURES_MAX_ROWS]
    )
    open_steps: dict[tuple[int, str, str], list[tuple[datetime, str]]] = {}
    result: dict[str, dict[tuple[str, str], list[float]]] = {}
    for instance_id, key, kind, element_id, data, at in rows:
        if kind in STEP_OPENED:
            data = data if isinstance(data, dict) else {}
            label = str(data.get("name") or data.get("handler") or element_id)
            open_steps.setdefault((instance_id, STEP_OPENED[kind], element_id), []).append(
                (at, label)
            )
        elif kind == "task_cancelled":
            pending = open_steps.get((instance_id, "task", element_id))
            if pending:
                pending.pop(0)
        else:
            pending = open_steps.get((instance_id, STEP_CLOSED[kind], element_id))
            if not pending:
                continue  # opened before the period
            opened, label = pending.pop(0)
            steps = result.setdefault(key, {})
            steps.setdefault((element_id, label), []).append((at - opened).total_seconds())
    return result
