"""Reads on the org unit tree, roles and grants."""

from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Permission
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from rathaus.core.models import Municipality
from rathaus.organisation.models import OrgUnit, Role, RoleGrant


@dataclass
class TreeNode:
    unit: OrgUnit
    children: list["TreeNode"] = field(default_factory=list)


def org_unit_root(*, municipality: Municipality) -> OrgUnit | None:
    """The unit at the top of the municipality's tree, if there is one yet."""
    return OrgUnit.objects.filter(municipality=municipality, parent__isnull=True).first()


def org_unit_tree(*, municipality: Municipality) -> list[TreeNode]:
    """The whole tree in one query: the root node(s) with children sorted by name."""
    units = list(OrgUnit.objects.filter(municipality=municipality).order_by("name_de", "pk"))
    nodes = {unit.pk: TreeNode(unit) for unit in units}
    roots = []
    for unit in units:
        parent = nodes.get(unit.parent_id) if unit.parent_id is not None else None
        if parent is None:
            roots.append(nodes[unit.pk])
        else:
            parent.children.append(nodes[unit.pk])
    return roots


def org_unit_descendants(*, unit: OrgUnit, include_self: bool = False) -> QuerySet[OrgUnit]:
    """All units below ``unit`` (one query)."""
    units = OrgUnit.objects.filter(municipality_id=unit.municipality_id, path__startswith=unit.path)
    return units if include_self else units.exclude(pk=unit.pk)


def org_unit_ancestors(*, unit: OrgUnit) -> list[OrgUnit]:
    """The units above ``unit``, root first (one query)."""
    by_id = OrgUnit.objects.filter(
        municipality_id=unit.municipality_id, pk__in=unit.ancestor_ids
    ).in_bulk()
    return [by_id[pk] for pk in unit.ancestor_ids if pk in by_id]


def org_unit_children(*, unit: OrgUnit) -> QuerySet[OrgUnit]:
    return OrgUnit.objects.filter(municipality_id=unit.municipality_id, parent=unit).order_by(
        "name_de"
    )


def org_unit_choices(*, municipality: Municipality) -> list[OrgUnit]:
    """Units in tree order (depth-first, by name) for select boxes."""
    ordered: list[OrgUnit] = []

    def walk(nodes: list[TreeNode]) -> None:
        for node in nodes:
            ordered.append(node.unit)
            walk(node.children)

    walk(org_unit_tree(municipality=municipality))
    return ordered


def _today_q() -> Q:
    return Q(valid_until__isnull=True) | Q(valid_until__gte=timezone.localdate())


def unit_grants(*, unit: OrgUnit) -> QuerySet[RoleGrant]:
    """Grants made at ``unit`` itself, expired ones included, with user and role."""
    return (
        RoleGrant.objects.filter(municipality_id=unit.municipality_id, org_unit=unit)
        .select_related("user", "role", "granted_by")
        .order_by("user__last_name", "user__first_name", "user__email", "role__name_de")
    )


def unit_inherited_grants(*, unit: OrgUnit) -> QuerySet[RoleGrant]:
    """Current grants at units above ``unit`` that reach down to it."""
    return (
        RoleGrant.objects.filter(
            _today_q(),
            municipality_id=unit.municipality_id,
            org_unit_id__in=unit.ancestor_ids,
            include_subunits=True,
        )
        .select_related("user", "role", "org_unit")
        .order_by("user__last_name", "user__first_name", "user__email", "role__name_de")
    )


def _today_q_for(prefix: str) -> Q:
    return Q(**{f"{prefix}__valid_until__isnull": True}) | Q(
        **{f"{prefix}__valid_until__gte": timezone.localdate()}
    )


def role_list(*, municipality: Municipality) -> QuerySet[Role]:
    """Roles with their permissions and the number of current grants (two queries)."""
    return (
        Role.objects.filter(municipality=municipality)
        .annotate(grant_count=Count("grants", filter=_today_q_for("grants")))
        .prefetch_related("permissions")
        .order_by("name_de")
    )


def role_choices(*, municipality: Municipality) -> QuerySet[Role]:
    """The municipality's roles by name, for select boxes."""
    return Role.objects.filter(municipality=municipality).order_by("name_de")


def staff_for_grants(*, municipality: Municipality) -> QuerySet[AbstractBaseUser]:
    """Active staff accounts of the municipality: who may receive a role."""
    user_model = get_user_model()
    return user_model.objects.filter(
        municipality=municipality, is_active=True, is_staff=True
    ).order_by("last_name", "first_name", "email")


@dataclass(frozen=True)
class PermissionGroup:
    app_label: str
    label: str
    permissions: list[tuple[str, str]]  # ("app_label.codename", name)


# The development identity provider is a test tool; its rows are nobody's daily work.
NOT_ASSIGNABLE_APPS = frozenset({"devidp"})


def assignable_permissions() -> QuerySet[Permission]:
    """Permissions a role may contain: those of rathaus's own apps (Django's ``auth`` and
    ``sessions`` stay out of roles)."""
    labels = [
        config.label
        for config in apps.get_app_configs()
        if config.name.startswith("rathaus.") and config.label not in NOT_ASSIGNABLE_APPS
    ]
    return (
        Permission.objects.filter(content_type__app_label__in=labels)
        .select_related("content_type")
        .order_by("content_type__app_label", "content_type__model", "codename")
    )


def permission_groups() -> list[PermissionGroup]:
    """Assignable permissions grouped by app, for the role form (one query)."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for permission in assignable_permissions():
        app_label = permission.content_type.app_label
        groups.setdefault(app_label, []).append(
            (f"{app_label}.{permission.codename}", permission.name)
        )
    return [
        PermissionGroup(
            app_label=label, label=str(apps.get_app_config(label).verbose_name), permissions=perms
        )
        for label, perms in groups.items()
    ]
