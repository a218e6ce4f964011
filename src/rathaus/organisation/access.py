"""The one place that scopes units, roles, grants and staff to the asking municipality and
staff member. Unknown ids and ids of another municipality are 404; a known object the
staff member may not manage is 403."""

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied

from rathaus.core.access import one_or_404
from rathaus.core.models import Municipality
from rathaus.organisation.models import OrgUnit, Role, RoleGrant
from rathaus.organisation.permissions import AnyUser, user_can

MANAGE_UNITS = "organisation.manage_units"
MANAGE_ROLES = "organisation.manage_roles"


def _staff_of(user: AnyUser, municipality: Municipality) -> bool:
    return (
        bool(getattr(user, "is_authenticated", False))
        and bool(getattr(user, "is_staff", False))
        and getattr(user, "municipality_id", None) in (None, municipality.pk)
    )


def org_unit_for_staff(*, user: AnyUser, municipality: Municipality, unit_id: int) -> OrgUnit:
    """Any unit of the municipality, for its staff to look at (the org chart is internal
    but not secret)."""
    if not _staff_of(user, municipality):
        raise PermissionDenied
    return one_or_404(OrgUnit.objects.filter(municipality=municipality, pk=unit_id))


def org_unit_for_manager(
    *, user: AnyUser, municipality: Municipality, unit_id: int, permission: str = MANAGE_UNITS
) -> OrgUnit:
    """A unit where ``user`` holds ``permission`` (``manage_units`` unless told)."""
    unit = org_unit_for_staff(user=user, municipality=municipality, unit_id=unit_id)
    if not user_can(user=user, permission=permission, org_unit=unit):
        raise PermissionDenied
    return unit


def role_for_manager(*, user: AnyUser, municipality: Municipality, role_id: int) -> Role:
    """A role of the municipality, for someone who manages roles for all of it."""
    if not _staff_of(user, municipality):
        raise PermissionDenied
    role = one_or_404(Role.objects.filter(municipality=municipality, pk=role_id))
    if not user_can(user=user, permission=MANAGE_ROLES, org_unit=None):
        raise PermissionDenied
    return role


def role_for_grant(*, municipality: Municipality, role_id: int) -> Role:
    """A role of the municipality that may be granted (the grant itself checks the rights)."""
    return one_or_404(Role.objects.filter(municipality=municipality, pk=role_id))


def grant_for_manager(*, user: AnyUser, municipality: Municipality, grant_id: int) -> RoleGrant:
    """A grant at a unit where ``user`` holds ``manage_roles``."""
    if not _staff_of(user, municipality):
        raise PermissionDenied
    grant = one_or_404(
        RoleGrant.objects.select_related("user", "role", "org_unit").filter(
            municipality=municipality, pk=grant_id
        )
    )
    if not user_can(user=user, permission=MANAGE_ROLES, org_unit=grant.org_unit):
        raise PermissionDenied
    return grant


def staff_member_for_grant(*, municipality: Municipality, user_id: int) -> AbstractBaseUser:
    """An active staff account of the municipality; anyone else is 404."""
    return one_or_404(
        get_user_model().objects.filter(
            municipality=municipality, pk=user_id, is_active=True, is_staff=True
        )
    )
