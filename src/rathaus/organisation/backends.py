"""Django permission checks answered from role grants per org unit (ADR 0010).

Add ``"rathaus.organisation.backends.RolePermissionBackend"`` to
``AUTHENTICATION_BACKENDS``. It authenticates nobody; it only answers ``has_perm``:

- ``user.has_perm("legal.change_legalpage")`` (no object) is true if the user holds the
  permission in *any* unit, so page gates such as ``staff_required(...)`` work;
- ``user.has_perm("x.y", obj)`` looks at the object's unit: ``obj`` itself if it is an
  ``OrgUnit``, else ``obj.org_unit``; an object without a unit gets False here.

The object itself must still be scoped by its app's ``access.py``.
"""

from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.db.models import Model

from rathaus.organisation.models import OrgUnit
from rathaus.organisation.permissions import (
    AnyUser,
    user_can,
    user_permissions_anywhere,
    user_unit_permissions,
)


def unit_of(obj: Model | None) -> OrgUnit | None:
    """The org unit an object belongs to: itself, its ``org_unit``, or None."""
    if isinstance(obj, OrgUnit):
        return obj
    unit = getattr(obj, "org_unit", None)
    return unit if isinstance(unit, OrgUnit) else None


class RolePermissionBackend(BaseBackend):
    """Permissions from ``RoleGrant`` rows; see the module docstring."""

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def get_all_permissions(self, user_obj: AnyUser, obj: Model | None = None) -> set[str]:
        if obj is None:
            return set(user_permissions_anywhere(user_obj))
        unit = unit_of(obj)
        if unit is None or getattr(user_obj, "municipality_id", None) != unit.municipality_id:
            return set()
        return user_unit_permissions(user_obj).get(unit.pk, set())

    def has_perm(self, user_obj: AnyUser, perm: str, obj: Model | None = None) -> bool:
        if obj is None:
            return perm in user_permissions_anywhere(user_obj)
        unit = unit_of(obj)
        if unit is None:
            return False
        return user_can(user=user_obj, permission=perm, org_unit=unit)

    def has_module_perms(self, user_obj: AnyUser, app_label: str) -> bool:
        prefix = app_label + "."
        return any(perm.startswith(prefix) for perm in user_permissions_anywhere(user_obj))
