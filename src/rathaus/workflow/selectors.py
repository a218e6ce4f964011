"""Reads of the workflow engine: the inbox, instance state and history, incidents."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q, QuerySet

from rathaus.core.models import Municipality
from rathaus.organisation.models import OrgUnit, Role
from rathaus.organisation.permissions import current_grants, user_can, user_unit_permissions
from rathaus.workflow.models import (
    EventWait,
    Incident,
    InstanceEvent,
    ProcessDefinition,
    ProcessInstance,
    ProcessVersion,
    ServiceJob,
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
