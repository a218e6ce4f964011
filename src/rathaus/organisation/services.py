"""Writes on org units, roles and role grants; every one is written to the audit trail.

``actor`` / ``granted_by`` / ``revoked_by`` is the staff member acting. ``None`` means the
system itself (setup commands, the demo loader) and skips the permission checks; views
always pass ``request.user``. The rules for who may grant what are in ADR 0010.
"""

import datetime
import logging
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Permission
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rathaus.audit.services import audit_record
from rathaus.core.errors import (
    Conflict,
    PermissionDenied,
    ValidationFailed,
    full_clean_or_fail,
)
from rathaus.core.models import Municipality
from rathaus.organisation import defaults
from rathaus.organisation.models import OrgUnit, Role, RoleGrant
from rathaus.organisation.permissions import (
    permissions_cache_clear,
    user_can,
    user_unit_permissions,
)
from rathaus.organisation.selectors import assignable_permissions

logger = logging.getLogger(__name__)

Actor = AbstractBaseUser | None

MANAGE_UNITS = "organisation.manage_units"
MANAGE_ROLES = "organisation.manage_roles"

# A role carrying any of these can change who may do what or read the audit trail; it
# must be privileged, so its holders need a second factor.
PRIVILEGED_PERMISSIONS = frozenset(
    {MANAGE_UNITS, MANAGE_ROLES, "audit.view_auditevent", "audit.export_auditevent"}
)


# --- helpers -------------------------------------------------------------------------


def _require(actor: Actor, permission: str, unit: OrgUnit) -> None:
    if actor is not None and not user_can(user=actor, permission=permission, org_unit=unit):
        raise PermissionDenied()


def _require_wide(actor: Actor, permission: str, municipality_id: int) -> None:
    """``permission`` for the whole municipality (a grant at the root with all subunits)."""
    if actor is None:
        return
    # user_can(org_unit=None) speaks of the actor's own municipality: check it is this one.
    if getattr(actor, "municipality_id", None) not in (None, municipality_id) or not user_can(
        user=actor, permission=permission, org_unit=None
    ):
        raise PermissionDenied()


def _is_superuser_in(actor: AbstractBaseUser, municipality_id: int) -> bool:
    return (
        bool(getattr(actor, "is_superuser", False))
        and actor.is_active
        and getattr(actor, "municipality_id", None) in (None, municipality_id)
    )


def _holds_over(
    actor: AbstractBaseUser, permissions: set[str], unit: OrgUnit, include_subunits: bool
) -> bool:
    """Whether ``actor`` holds all ``permissions`` in ``unit`` and, if asked, below it."""
    if _is_superuser_in(actor, unit.municipality_id):
        return True
    held = user_unit_permissions(actor)
    scope = [unit.pk]
    if include_subunits:
        scope += list(
            OrgUnit.objects.filter(
                municipality_id=unit.municipality_id, path__startswith=unit.path
            ).values_list("pk", flat=True)
        )
    return all(permissions <= held.get(unit_id, set()) for unit_id in scope)


def _holds_everywhere(actor: AbstractBaseUser, permissions: set[str], municipality_id: int) -> bool:
    if _is_superuser_in(actor, municipality_id):
        return True
    return all(
        user_can(user=actor, permission=permission, org_unit=None) for permission in permissions
    )


def _lock_tree(municipality_id: int) -> None:
    # Tree changes of one municipality run one at a time, so two concurrent moves cannot
    # build a cycle between them. The root row is the lock (SQLite serialises anyway).
    list(
        OrgUnit.objects.select_for_update()
        .filter(municipality_id=municipality_id, parent__isnull=True)
        .values_list("pk", flat=True)
    )


def _code_taken(municipality_id: int, code: str, exclude_pk: int | None = None) -> bool:
    units = OrgUnit.objects.filter(municipality_id=municipality_id, code__iexact=code)
    if exclude_pk is not None:
        units = units.exclude(pk=exclude_pk)
    return units.exists()


def _unit_data(unit: OrgUnit) -> dict[str, Any]:
    return {"code": unit.code, "name_de": unit.name_de, "parent_id": unit.parent_id}


def permissions_resolve(dotted: Iterable[str]) -> tuple[list[Permission], list[str]]:
    """Look up "app_label.codename" names among the assignable permissions.

    Returns the permissions found and the names that matched none.
    """
    wanted = {name.strip() for name in dotted if name.strip()}
    found = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in assignable_permissions()
        if f"{p.content_type.app_label}.{p.codename}" in wanted
    }
    return [found[name] for name in sorted(found)], sorted(wanted - set(found))


# --- org units -----------------------------------------------------------------------


def org_unit_create(
    *,
    actor: Actor,
    municipality: Municipality,
    parent: OrgUnit | None,
    code: str,
    name_de: str,
    kind: str,
    name_en: str = "",
    email: str = "",
    phone: str = "",
    location: str = "",
) -> OrgUnit:
    """Create a unit below ``parent``, or the root of the tree if there is none yet.

    Needs ``manage_units`` at the parent; the root can only be made by the system or a
    superuser. Short names are unique per municipality, ignoring case.
    """
    code = code.strip()
    if parent is None:
        if OrgUnit.objects.filter(municipality=municipality, parent__isnull=True).exists():
            raise ValidationFailed(fields={"parent": [_("Choose the unit this one belongs to.")]})
        _require_wide(actor, MANAGE_UNITS, municipality.pk)
    else:
        if parent.municipality_id != municipality.pk:
            raise ValidationFailed(
                fields={"parent": [_("The parent unit belongs to another municipality.")]},
                code="cross_tenant",
            )
        _require(actor, MANAGE_UNITS, parent)
    with transaction.atomic():
        _lock_tree(municipality.pk)
        if parent is not None:
            parent = OrgUnit.objects.get(pk=parent.pk)
            if not parent.is_active:
                raise ValidationFailed(
                    fields={"parent": [_("The parent unit is no longer active.")]}
                )
        if _code_taken(municipality.pk, code):
            raise ValidationFailed(fields={"code": [_("This short name is already in use.")]})
        unit = OrgUnit(
            municipality=municipality,
            parent=parent,
            code=code,
            name_de=name_de.strip(),
            name_en=name_en.strip(),
            kind=kind,
            email=email.strip(),
            phone=phone.strip(),
            location=location.strip(),
        )
        full_clean_or_fail(unit, exclude=["path", "parent"])
        try:
            with transaction.atomic():
                unit.save()
        except IntegrityError as error:  # a concurrent root or short name
            raise Conflict() from error
        unit.path = f"{parent.path if parent else '/'}{unit.pk}/"
        unit.save(update_fields=["path"])
        audit_record(
            municipality=municipality,
            action="organisation.unit.created",
            actor=actor,
            target=unit,
            data={**_unit_data(unit), "kind": unit.kind},
        )
    return unit


def org_unit_update(
    *,
    actor: Actor,
    unit: OrgUnit,
    code: str,
    name_de: str,
    kind: str,
    name_en: str = "",
    email: str = "",
    phone: str = "",
    location: str = "",
    is_active: bool = True,
) -> OrgUnit:
    """Change a unit's names and contact data, or (de)activate it; needs ``manage_units``
    at the unit. A unit with active subunits cannot be deactivated, nor the root."""
    _require(actor, MANAGE_UNITS, unit)
    code = code.strip()
    with transaction.atomic():
        _lock_tree(unit.municipality_id)
        unit = OrgUnit.objects.get(pk=unit.pk)
        if not is_active and unit.is_active:
            if unit.is_root:
                raise ValidationFailed(
                    fields={"is_active": [_("The top unit cannot be deactivated.")]}
                )
            active_below = OrgUnit.objects.filter(
                municipality_id=unit.municipality_id,
                path__startswith=unit.path,
                is_active=True,
            ).exclude(pk=unit.pk)
            if active_below.exists():
                raise ValidationFailed(fields={"is_active": [_("Deactivate its subunits first.")]})
        if (
            is_active
            and not unit.is_active
            and unit.parent is not None
            and not unit.parent.is_active
        ):
            raise ValidationFailed(fields={"is_active": [_("Activate the parent unit first.")]})
        if _code_taken(unit.municipality_id, code, exclude_pk=unit.pk):
            raise ValidationFailed(fields={"code": [_("This short name is already in use.")]})
        new_values = {
            "code": code,
            "name_de": name_de.strip(),
            "name_en": name_en.strip(),
            "kind": kind,
            "email": email.strip(),
            "phone": phone.strip(),
            "location": location.strip(),
            "is_active": is_active,
        }
        changes = {
            name: [getattr(unit, name), value]
            for name, value in new_values.items()
            if getattr(unit, name) != value
        }
        for name, value in new_values.items():
            setattr(unit, name, value)
        full_clean_or_fail(unit, exclude=["path", "parent"])
        if changes:
            unit.save()
            audit_record(
                municipality=unit.municipality,
                action="organisation.unit.updated",
                actor=actor,
                target=unit,
                data={"code": unit.code, "changes": changes},
            )
    return unit


def org_unit_move(*, actor: Actor, unit: OrgUnit, new_parent: OrgUnit) -> OrgUnit:
    """Move ``unit`` with all its subunits below ``new_parent``.

    Needs ``manage_units`` at the unit and at the new parent. Refused: moving the root,
    moving into another municipality, moving below itself or one of its own subunits
    (a cycle), moving an active unit below an inactive one.
    """
    if new_parent.municipality_id != unit.municipality_id:
        raise ValidationFailed(
            fields={"parent": [_("The parent unit belongs to another municipality.")]},
            code="cross_tenant",
        )
    _require(actor, MANAGE_UNITS, unit)
    _require(actor, MANAGE_UNITS, new_parent)
    with transaction.atomic():
        _lock_tree(unit.municipality_id)
        unit = OrgUnit.objects.get(pk=unit.pk)
        new_parent = OrgUnit.objects.get(pk=new_parent.pk)
        if unit.is_root:
            raise ValidationFailed(fields={"parent": [_("The top unit cannot be moved.")]})
        if new_parent.path.startswith(unit.path):
            raise ValidationFailed(
                fields={
                    "parent": [_("A unit cannot be moved below itself or one of its subunits.")]
                },
                code="cycle",
            )
        if unit.is_active and not new_parent.is_active:
            raise ValidationFailed(fields={"parent": [_("The parent unit is no longer active.")]})
        if new_parent.pk == unit.parent_id:
            return unit
        old_parent_id, old_path = unit.parent_id, unit.path
        new_path = f"{new_parent.path}{unit.pk}/"
        below = list(
            OrgUnit.objects.filter(
                municipality_id=unit.municipality_id, path__startswith=old_path
            ).exclude(pk=unit.pk)
        )
        for other in below:
            other.path = new_path + other.path[len(old_path) :]
        unit.parent, unit.path = new_parent, new_path
        unit.save(update_fields=["parent", "path", "updated_at"])
        OrgUnit.objects.bulk_update(below, ["path"])
        audit_record(
            municipality=unit.municipality,
            action="organisation.unit.moved",
            actor=actor,
            target=unit,
            data={
                "code": unit.code,
                "from_parent_id": old_parent_id,
                "to_parent_id": new_parent.pk,
                "subunits_moved": len(below),
            },
        )
    return unit


# --- roles ---------------------------------------------------------------------------


def _role_permissions_check(
    *,
    actor: Actor,
    municipality_id: int,
    permissions: Iterable[str],
    is_privileged: bool,
    previous: set[str] | None = None,
    was_privileged: bool = False,
) -> list[Permission]:
    found, missing = permissions_resolve(permissions)
    if missing:
        raise ValidationFailed(
            fields={
                "permissions": [_("Unknown permission: %(names)s") % {"names": ", ".join(missing)}]
            }
        )
    names = {f"{p.content_type.app_label}.{p.codename}" for p in found}
    if names & PRIVILEGED_PERMISSIONS and not is_privileged:
        raise ValidationFailed(
            fields={
                "is_privileged": [
                    _("A role that manages units, roles or the audit trail must be privileged.")
                ]
            }
        )
    # Nobody can raise a privileged role (their own, say) above what they hold.
    if (
        actor is not None
        and (is_privileged or was_privileged)
        and not _holds_everywhere(actor, names | (previous or set()), municipality_id)
    ):
        raise PermissionDenied(
            _("A privileged role may only contain permissions you hold everywhere yourself.")
        )
    return found


def role_create(
    *,
    actor: Actor,
    municipality: Municipality,
    key: str,
    name_de: str,
    permissions: Iterable[str],
    name_en: str = "",
    description: str = "",
    is_privileged: bool = False,
) -> Role:
    """Create a role from "app_label.codename" permissions; needs ``manage_roles`` for the
    whole municipality. A privileged role may only hold permissions the actor holds."""
    _require_wide(actor, MANAGE_ROLES, municipality.pk)
    found = _role_permissions_check(
        actor=actor,
        municipality_id=municipality.pk,
        permissions=permissions,
        is_privileged=is_privileged,
    )
    with transaction.atomic():
        if Role.objects.filter(municipality=municipality, key=key.strip()).exists():
            raise ValidationFailed(fields={"key": [_("This key is already in use.")]})
        role = Role(
            municipality=municipality,
            key=key.strip(),
            name_de=name_de.strip(),
            name_en=name_en.strip(),
            description=description.strip(),
            is_privileged=is_privileged,
        )
        full_clean_or_fail(role)
        try:
            with transaction.atomic():
                role.save()
        except IntegrityError as error:
            raise Conflict() from error
        role.permissions.set(found)
        audit_record(
            municipality=municipality,
            action="organisation.role.created",
            actor=actor,
            target=role,
            data={
                "key": role.key,
                "permissions": sorted(f"{p.content_type.app_label}.{p.codename}" for p in found),
                "is_privileged": role.is_privileged,
            },
        )
    return role


def role_update(
    *,
    actor: Actor,
    role: Role,
    name_de: str,
    permissions: Iterable[str],
    name_en: str = "",
    description: str = "",
    is_privileged: bool = False,
) -> Role:
    """Change a role's names, permissions or privilege; needs ``manage_roles`` for the whole
    municipality. A role that is or was privileged may only be changed by someone who holds
    all its old and new permissions."""
    _require_wide(actor, MANAGE_ROLES, role.municipality_id)
    with transaction.atomic():
        role = Role.objects.select_for_update().get(pk=role.pk)
        previous = set(role_permission_names(role))
        found = _role_permissions_check(
            actor=actor,
            municipality_id=role.municipality_id,
            permissions=permissions,
            is_privileged=is_privileged,
            previous=previous,
            was_privileged=role.is_privileged,
        )
        current = {f"{p.content_type.app_label}.{p.codename}" for p in found}
        new_values = {
            "name_de": name_de.strip(),
            "name_en": name_en.strip(),
            "description": description.strip(),
            "is_privileged": is_privileged,
        }
        changes: dict[str, Any] = {
            name: [getattr(role, name), value]
            for name, value in new_values.items()
            if getattr(role, name) != value
        }
        for name, value in new_values.items():
            setattr(role, name, value)
        full_clean_or_fail(role)
        if changes or previous != current:
            role.save()
            role.permissions.set(found)
            audit_record(
                municipality=role.municipality,
                action="organisation.role.updated",
                actor=actor,
                target=role,
                data={
                    "key": role.key,
                    "changes": changes,
                    "permissions_added": sorted(current - previous),
                    "permissions_removed": sorted(previous - current),
                },
            )
    return role


def role_permission_names(role: Role) -> list[str]:
    """The role's permissions as sorted "app_label.codename" names."""
    return sorted(
        f"{app_label}.{codename}"
        for app_label, codename in role.permissions.values_list(
            "content_type__app_label", "codename"
        )
    )


# --- grants --------------------------------------------------------------------------


def _grant_scope_check(
    *, actor: AbstractBaseUser, role: Role, org_unit: OrgUnit, include_subunits: bool
) -> None:
    if not _holds_over(actor, {MANAGE_ROLES}, org_unit, include_subunits):
        raise PermissionDenied(
            _("You may only manage roles in units where you hold the right to do so.")
        )
    if role.is_privileged and not _holds_over(
        actor, set(role_permission_names(role)), org_unit, include_subunits
    ):
        raise PermissionDenied(
            _(
                "A privileged role can only be managed by someone who holds all its "
                "permissions there."
            )
        )


def role_grant(
    *,
    granted_by: Actor,
    user: AbstractBaseUser,
    role: Role,
    org_unit: OrgUnit,
    include_subunits: bool = True,
    valid_until: datetime.date | None = None,
) -> RoleGrant:
    """Give ``role`` to the staff member ``user`` in ``org_unit`` (and its subunits).

    Rules (ADR 0010): user, role and unit belong to one municipality; the user is an
    active staff account; the unit is active; ``valid_until`` is not in the past; the
    granter holds ``manage_roles`` over the whole scope granted, never grants to themselves,
    and holds every permission of a privileged role over that scope. Granting again
    renews the existing grant with the new scope and validity.
    """
    municipality_id = org_unit.municipality_id
    if role.municipality_id != municipality_id or getattr(user, "municipality_id", None) != (
        municipality_id
    ):
        raise ValidationFailed(
            _("Staff member, role and unit must belong to the same municipality."),
            code="cross_tenant",
        )
    if not (user.is_active and getattr(user, "is_staff", False)):
        raise ValidationFailed(
            fields={"user": [_("Roles can only be granted to active staff accounts.")]}
        )
    if not org_unit.is_active:
        raise ValidationFailed(fields={"org_unit": [_("This unit is no longer active.")]})
    if valid_until is not None and valid_until < timezone.localdate():
        raise ValidationFailed(fields={"valid_until": [_("The date must not be in the past.")]})
    if granted_by is not None:
        if granted_by.pk == user.pk:
            raise PermissionDenied(_("Nobody can grant a role to themselves."))
        _grant_scope_check(
            actor=granted_by, role=role, org_unit=org_unit, include_subunits=include_subunits
        )
    with transaction.atomic():
        grant = (
            RoleGrant.objects.select_for_update()
            .filter(user_id=user.pk, role=role, org_unit=org_unit)
            .first()
        )
        renewed = grant is not None
        if grant is None:
            grant = RoleGrant(
                municipality_id=municipality_id, user_id=user.pk, role=role, org_unit=org_unit
            )
        grant.include_subunits = include_subunits
        grant.valid_until = valid_until
        grant.granted_by_id = granted_by.pk if granted_by is not None else None
        grant.granted_at = timezone.now()
        try:
            with transaction.atomic():
                grant.save()
        except IntegrityError as error:  # the same grant made concurrently
            raise Conflict() from error
        audit_record(
            municipality=org_unit.municipality,
            action="organisation.role.granted",
            actor=granted_by,
            target=grant,
            data={
                "user_id": user.pk,
                "user": getattr(user, "email", ""),
                "role": role.key,
                "org_unit": org_unit.code,
                "include_subunits": include_subunits,
                "valid_until": valid_until.isoformat() if valid_until else None,
                "privileged": role.is_privileged,
                "renewed": renewed,
            },
        )
    permissions_cache_clear(user)
    return grant


def role_revoke(*, revoked_by: Actor, grant: RoleGrant) -> None:
    """Take a grant back. Whoever could make the grant may revoke it (own grants too)."""
    role, org_unit = grant.role, grant.org_unit
    if revoked_by is not None:
        _grant_scope_check(
            actor=revoked_by, role=role, org_unit=org_unit, include_subunits=grant.include_subunits
        )
    with transaction.atomic():
        deleted, _counts = RoleGrant.objects.filter(pk=grant.pk).delete()
        if not deleted:
            return
        audit_record(
            municipality=org_unit.municipality,
            action="organisation.role.revoked",
            actor=revoked_by,
            target_type=RoleGrant._meta.label_lower,
            target_id=str(grant.pk),
            data={
                "user_id": grant.user_id,
                "role": role.key,
                "org_unit": org_unit.code,
                "include_subunits": grant.include_subunits,
                "privileged": role.is_privileged,
            },
        )
    permissions_cache_clear(grant.user)


# --- defaults ------------------------------------------------------------------------


def organisation_defaults_ensure(*, municipality: Municipality) -> dict[str, OrgUnit]:
    """Create the default unit tree and roles where missing; safe to rerun.

    Units are matched by short name and never moved or renamed; an existing root stays
    the root. Default roles are matched by key and receive their default permissions that
    exist by now; permissions of apps not installed yet are skipped with a warning, so a
    rerun after an app arrives completes the roles. Returns the default units by short name.
    """
    units: dict[str, OrgUnit] = {}
    with transaction.atomic():
        root = OrgUnit.objects.filter(municipality=municipality, parent__isnull=True).first()
        for spec in defaults.UNITS:
            unit = OrgUnit.objects.filter(municipality=municipality, code__iexact=spec.code).first()
            if unit is None and spec.parent is None and root is not None:
                unit = root
            if unit is None:
                unit = org_unit_create(
                    actor=None,
                    municipality=municipality,
                    parent=units[spec.parent] if spec.parent else None,
                    code=spec.code,
                    name_de=spec.name_de,
                    name_en=spec.name_en,
                    kind=spec.kind,
                    location=spec.location,
                )
            units[spec.code] = unit
        for role_spec in defaults.ROLES:
            found, missing = permissions_resolve(role_spec.permissions)
            if missing:
                logger.warning(
                    "Default role %s: permissions not installed yet, skipped: %s",
                    role_spec.key,
                    ", ".join(missing),
                )
            wanted = [f"{p.content_type.app_label}.{p.codename}" for p in found]
            role = Role.objects.filter(municipality=municipality, key=role_spec.key).first()
            if role is None:
                role_create(
                    actor=None,
                    municipality=municipality,
                    key=role_spec.key,
                    name_de=role_spec.name_de,
                    name_en=role_spec.name_en,
                    description=role_spec.description,
                    permissions=wanted,
                    is_privileged=role_spec.is_privileged,
                )
            elif not set(wanted) <= set(role_permission_names(role)):
                role_update(
                    actor=None,
                    role=role,
                    name_de=role.name_de,
                    name_en=role.name_en,
                    description=role.description,
                    permissions=sorted({*role_permission_names(role), *wanted}),
                    is_privileged=role.is_privileged or role_spec.is_privileged,
                )
    return units
