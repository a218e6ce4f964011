"""Who may do what, and where: permissions from role grants, per org unit.

A grant gives its role's permissions in its unit and, with ``include_subunits``, in every
unit below it. Only current grants count (``valid_until`` today or later), only for
active accounts, only in the account's own municipality, and never from a grant at an
inactive unit (ADR 0010). Active superusers hold every permission in their municipality
(platform operators without a municipality: everywhere), as with Django's ``has_perm``.

Django's own user and group permissions are not unit-scoped and do not count here; they
keep working for plain ``user.has_perm(perm)`` through ``ModelBackend``.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.utils import timezone

from rathaus.organisation.models import OrgUnit, Role, RoleGrant

AnyUser = AbstractBaseUser | AnonymousUser

# Cached on the user object, which Django creates afresh for every request, so the cache
# lives exactly as long as one request (like ModelBackend's ``_perm_cache``).
_CACHE_ATTR = "_organisation_unit_permissions"


@dataclass(frozen=True)
class _Permissions:
    by_unit: dict[int, frozenset[str]] = field(default_factory=dict)
    municipality_wide: frozenset[str] = frozenset()

    def anywhere(self) -> frozenset[str]:
        return frozenset().union(*self.by_unit.values()) if self.by_unit else frozenset()


def _is_active_user(user: AnyUser) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


def _is_superuser(user: AnyUser) -> bool:
    return _is_active_user(user) and bool(getattr(user, "is_superuser", False))


def _municipality_id(user: AnyUser) -> int | None:
    value = getattr(user, "municipality_id", None)
    return int(value) if value is not None else None


def current_grants(user: AnyUser) -> QuerySet[RoleGrant]:
    """Grants of ``user`` that count today: not expired, all in the user's municipality."""
    municipality_id = _municipality_id(user)
    user_id = user.pk
    if not _is_active_user(user) or municipality_id is None or user_id is None:
        return RoleGrant.objects.none()
    return RoleGrant.objects.filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=timezone.localdate()),
        user_id=user_id,
        municipality_id=municipality_id,
        role__municipality_id=municipality_id,
        org_unit__municipality_id=municipality_id,
    )


def _compute(user: AnyUser) -> _Permissions:
    municipality_id = _municipality_id(user)
    if municipality_id is None:
        return _Permissions()
    grants = list(
        current_grants(user)
        .filter(org_unit__is_active=True)
        .values_list(
            "role_id", "org_unit_id", "org_unit__path", "org_unit__parent_id", "include_subunits"
        )
    )
    if not grants:
        return _Permissions()
    role_permissions: dict[int, set[str]] = defaultdict(set)
    for role_id, app_label, codename in Role.permissions.through.objects.filter(
        role_id__in={grant[0] for grant in grants}
    ).values_list("role_id", "permission__content_type__app_label", "permission__codename"):
        role_permissions[role_id].add(f"{app_label}.{codename}")
    subtree_paths = {
        path for role_id, _, path, _, sub in grants if sub and role_permissions[role_id]
    }
    units_below: list[tuple[int, str]] = []
    if subtree_paths:
        condition = Q()
        for path in subtree_paths:
            condition |= Q(path__startswith=path)
        units_below = list(
            OrgUnit.objects.filter(condition, municipality_id=municipality_id).values_list(
                "id", "path"
            )
        )
    by_unit: dict[int, set[str]] = defaultdict(set)
    wide: set[str] = set()
    for role_id, unit_id, path, parent_id, include_subunits in grants:
        permissions = role_permissions[role_id]
        if not permissions:
            continue
        by_unit[unit_id] |= permissions
        if include_subunits:
            for other_id, other_path in units_below:
                if other_path.startswith(path):
                    by_unit[other_id] |= permissions
            if parent_id is None:
                wide |= permissions
    return _Permissions(
        by_unit={unit_id: frozenset(perms) for unit_id, perms in by_unit.items()},
        municipality_wide=frozenset(wide),
    )


def _permissions(user: AnyUser) -> _Permissions:
    cached = getattr(user, _CACHE_ATTR, None)
    if isinstance(cached, _Permissions):
        return cached
    computed = _compute(user)
    if getattr(user, "is_authenticated", False):
        setattr(user, _CACHE_ATTR, computed)
    return computed


def permissions_cache_clear(user: AnyUser) -> None:
    """Forget the permissions cached on this user object (after its grants changed)."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def user_unit_permissions(user: AnyUser) -> dict[int, set[str]]:
    """``{org_unit_id: {"app_label.codename", ...}}`` for every unit where ``user`` holds
    permissions through current role grants. Cached on the user object (one request)."""
    return {unit_id: set(perms) for unit_id, perms in _permissions(user).by_unit.items()}


def user_can(*, user: AnyUser, permission: str, org_unit: OrgUnit | None) -> bool:
    """Whether ``user`` holds ``permission`` ("app_label.codename") in ``org_unit``.

    ``org_unit=None`` asks for the whole municipality: only a grant at the root unit that
    includes all subunits counts. A unit of another municipality is always refused.
    """
    if not _is_active_user(user):
        return False
    if org_unit is not None and _municipality_id(user) not in (None, org_unit.municipality_id):
        return False
    if _is_superuser(user):
        return True
    held = _permissions(user)
    if org_unit is None:
        return permission in held.municipality_wide
    return permission in held.by_unit.get(org_unit.pk, frozenset())


def user_can_anywhere(*, user: AnyUser, permission: str) -> bool:
    """Whether ``user`` holds ``permission`` in at least one unit (for menus and page gates;
    the object itself is checked with ``user_can``)."""
    if _is_superuser(user):
        return True
    return _is_active_user(user) and permission in _permissions(user).anywhere()


def user_permissions_anywhere(user: AnyUser) -> frozenset[str]:
    """Every permission ``user`` holds in at least one unit."""
    return _permissions(user).anywhere() if _is_active_user(user) else frozenset()


def units_where(*, user: AnyUser, permission: str) -> QuerySet[OrgUnit]:
    """The units where ``user`` holds ``permission``, e.g. to scope "tasks of my units".

    Always of the user's municipality; an active superuser gets all units of it (a
    platform operator without one: all units, so callers still filter by tenant).
    """
    if not _is_active_user(user):
        return OrgUnit.objects.none()
    municipality_id = _municipality_id(user)
    if _is_superuser(user):
        units = OrgUnit.objects.all()
        return units if municipality_id is None else units.filter(municipality_id=municipality_id)
    if municipality_id is None:
        return OrgUnit.objects.none()
    unit_ids = [
        unit_id for unit_id, perms in _permissions(user).by_unit.items() if permission in perms
    ]
    return OrgUnit.objects.filter(pk__in=unit_ids, municipality_id=municipality_id)


def user_has_privileged_role(user: AnyUser) -> bool:
    """Whether ``user`` currently holds a privileged role anywhere (then a second factor is
    required). Grants at inactive units count too: when in doubt, ask for the factor."""
    return current_grants(user).filter(role__is_privileged=True).exists()
