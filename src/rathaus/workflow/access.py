"""Scoping workflow objects to the tenant and the person asking (404 or 403)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rathaus.core.errors import NotFound, PermissionDenied
from rathaus.organisation.permissions import user_can
from rathaus.workflow.models import Incident, ProcessInstance, ProcessVersion, UserTask
from rathaus.workflow.selectors import PERMISSION_MANAGE, PERMISSION_MONITOR, user_is_candidate

if TYPE_CHECKING:
    from rathaus.accounts.models import User


def _municipality_id(user: User) -> int:
    municipality_id = getattr(user, "municipality_id", None)
    if not getattr(user, "is_active", False) or municipality_id is None:
        raise NotFound()
    return int(municipality_id)


def user_task_for_user(*, user: User, task_id: int) -> UserTask:
    """A task of the user's municipality that the user may see: assigned to them, one they
    are a candidate for, one they completed, or any with the monitoring permission.

    Everything else is 404, also a task of another unit of the same municipality: task ids
    are sequential, and whether a case exists in another department is not the asker's
    business (the inbox does not list it either)."""
    task = (
        UserTask.objects.select_related(
            "instance",
            "instance__version",
            "instance__version__definition",
            "candidate_org_unit",
            "assignee",
            "completed_by",
        )
        .defer("instance__engine_state", "instance__mirror", "instance__version__metadata")
        .filter(pk=task_id, municipality_id=_municipality_id(user))
        .first()
    )
    if task is None:
        raise NotFound()
    if user_is_candidate(user=user, task=task) or task.completed_by_id == user.pk:
        return task
    if user_can(user=user, permission=PERMISSION_MONITOR, org_unit=None):
        return task
    raise NotFound()


def instance_for_monitor(*, user: User, instance_id: int) -> ProcessInstance:
    """An instance of the user's municipality, for someone with the monitoring permission."""
    instance = (
        ProcessInstance.objects.select_related("version", "version__definition")
        .defer("engine_state")
        .filter(pk=instance_id, municipality_id=_municipality_id(user))
        .first()
    )
    if instance is None:
        raise NotFound()
    if not user_can(user=user, permission=PERMISSION_MONITOR, org_unit=None):
        raise PermissionDenied()
    return instance


def incident_for_monitor(*, user: User, incident_id: int) -> Incident:
    """An incident of the user's municipality, for someone with the monitoring permission."""
    incident = Incident.objects.filter(
        pk=incident_id, municipality_id=_municipality_id(user)
    ).first()
    if incident is None:
        raise NotFound()
    if not user_can(user=user, permission=PERMISSION_MONITOR, org_unit=None):
        raise PermissionDenied()
    return incident


def process_version_for_manager(*, user: User, version_id: int) -> ProcessVersion:
    """A process version of the user's municipality, for someone who may deploy."""
    version = (
        ProcessVersion.objects.select_related("definition")
        .filter(pk=version_id, municipality_id=_municipality_id(user))
        .first()
    )
    if version is None:
        raise NotFound()
    if not user_can(user=user, permission=PERMISSION_MANAGE, org_unit=None):
        raise PermissionDenied()
    return version
