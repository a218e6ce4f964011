"""Back-office pages: the org unit tree, units, role grants and roles."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from rathaus.core.errors import ApplicationError
from rathaus.core.forms import form_show_error
from rathaus.core.tenancy import request_municipality
from rathaus.organisation import access, selectors, services
from rathaus.organisation.decorators import staff_member_required
from rathaus.organisation.forms import OrgUnitForm, OrgUnitMoveForm, RoleForm, RoleGrantForm
from rathaus.organisation.models import OrgUnit
from rathaus.organisation.permissions import units_where, user_can

MANAGE_UNITS = services.MANAGE_UNITS
MANAGE_ROLES = services.MANAGE_ROLES


@staff_member_required()
@require_http_methods(["GET", "HEAD"])
def unit_tree(request: HttpRequest) -> HttpResponse:
    """All units of the administration as nested lists."""
    municipality = request_municipality(request)
    return render(
        request,
        "organisation/tree.html",
        {"roots": selectors.org_unit_tree(municipality=municipality)},
    )


@staff_member_required()
@require_http_methods(["GET", "HEAD"])
def unit_detail(request: HttpRequest, unit_id: int) -> HttpResponse:
    municipality = request_municipality(request)
    unit = access.org_unit_for_staff(user=request.user, municipality=municipality, unit_id=unit_id)
    return render(
        request,
        "organisation/unit_detail.html",
        {
            "unit": unit,
            "ancestors": selectors.org_unit_ancestors(unit=unit),
            "children": selectors.org_unit_children(unit=unit),
            "grants": selectors.unit_grants(unit=unit),
            "inherited": selectors.unit_inherited_grants(unit=unit),
            "can_manage_units": user_can(user=request.user, permission=MANAGE_UNITS, org_unit=unit),
            "can_manage_roles": user_can(user=request.user, permission=MANAGE_ROLES, org_unit=unit),
        },
    )


@staff_member_required(MANAGE_UNITS)
@require_http_methods(["GET", "HEAD", "POST"])
def unit_create(request: HttpRequest, parent_id: int) -> HttpResponse:
    """A new unit below ``parent_id``."""
    municipality = request_municipality(request)
    parent = access.org_unit_for_manager(
        user=request.user, municipality=municipality, unit_id=parent_id
    )
    form = OrgUnitForm(
        request.POST or None, instance=OrgUnit(municipality=municipality), creating=True
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                unit = services.org_unit_create(
                    actor=request.user,  # type: ignore[arg-type]
                    municipality=municipality,
                    parent=parent,
                    code=data["code"],
                    name_de=data["name_de"],
                    name_en=data["name_en"],
                    kind=data["kind"],
                    email=data["email"],
                    phone=data["phone"],
                    location=data["location"],
                )
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                messages.success(request, _("The unit was created."))
                return redirect("organisation:unit_detail", unit_id=unit.pk)
        else:
            status = 400
    return render(
        request,
        "organisation/unit_form.html",
        {"form": form, "parent": parent, "unit": None},
        status=status,
    )


@staff_member_required(MANAGE_UNITS)
@require_http_methods(["GET", "HEAD", "POST"])
def unit_edit(request: HttpRequest, unit_id: int) -> HttpResponse:
    municipality = request_municipality(request)
    unit = access.org_unit_for_manager(
        user=request.user, municipality=municipality, unit_id=unit_id
    )
    form = OrgUnitForm(request.POST or None, instance=OrgUnit.objects.get(pk=unit.pk))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.org_unit_update(
                    actor=request.user,  # type: ignore[arg-type]
                    unit=unit,
                    code=data["code"],
                    name_de=data["name_de"],
                    name_en=data["name_en"],
                    kind=data["kind"],
                    email=data["email"],
                    phone=data["phone"],
                    location=data["location"],
                    is_active=data["is_active"],
                )
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                messages.success(request, _("The unit was saved."))
                return redirect("organisation:unit_detail", unit_id=unit.pk)
        else:
            status = 400
    return render(
        request,
        "organisation/unit_form.html",
        {"form": form, "parent": None, "unit": unit},
        status=status,
    )


@staff_member_required(MANAGE_UNITS)
@require_http_methods(["GET", "HEAD", "POST"])
def unit_move(request: HttpRequest, unit_id: int) -> HttpResponse:
    municipality = request_municipality(request)
    unit = access.org_unit_for_manager(
        user=request.user, municipality=municipality, unit_id=unit_id
    )
    manageable = set(
        units_where(user=request.user, permission=MANAGE_UNITS)
        .filter(municipality=municipality, is_active=True)
        .values_list("pk", flat=True)
    )
    targets = [
        other
        for other in selectors.org_unit_choices(municipality=municipality)
        if other.pk in manageable and not other.path.startswith(unit.path)
    ]
    form = OrgUnitMoveForm(request.POST or None, units=targets, initial={"parent": unit.parent_id})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            new_parent = access.org_unit_for_manager(
                user=request.user, municipality=municipality, unit_id=form.cleaned_data["parent"]
            )
            try:
                services.org_unit_move(
                    actor=request.user,  # type: ignore[arg-type]
                    unit=unit,
                    new_parent=new_parent,
                )
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                messages.success(request, _("The unit was moved."))
                return redirect("organisation:unit_detail", unit_id=unit.pk)
        else:
            status = 400
    return render(
        request, "organisation/unit_move.html", {"form": form, "unit": unit}, status=status
    )


@staff_member_required(MANAGE_ROLES)
@require_http_methods(["GET", "HEAD", "POST"])
def grant_create(request: HttpRequest, unit_id: int) -> HttpResponse:
    """Give a staff member a role in this unit."""
    municipality = request_municipality(request)
    unit = access.org_unit_for_manager(
        user=request.user, municipality=municipality, unit_id=unit_id, permission=MANAGE_ROLES
    )
    form = RoleGrantForm(
        request.POST or None,
        staff=selectors.staff_for_grants(municipality=municipality).exclude(pk=request.user.pk),
        roles=selectors.role_choices(municipality=municipality),
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            member = access.staff_member_for_grant(municipality=municipality, user_id=data["user"])
            role = access.role_for_grant(municipality=municipality, role_id=data["role"])
            try:
                services.role_grant(
                    granted_by=request.user,  # type: ignore[arg-type]
                    user=member,
                    role=role,
                    org_unit=unit,
                    include_subunits=data["include_subunits"],
                    valid_until=data["valid_until"],
                )
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                messages.success(request, _("The role was granted."))
                return redirect("organisation:unit_detail", unit_id=unit.pk)
        else:
            status = 400
    return render(
        request, "organisation/grant_form.html", {"form": form, "unit": unit}, status=status
    )


@staff_member_required(MANAGE_ROLES)
@require_http_methods(["GET", "HEAD", "POST"])
def grant_revoke(request: HttpRequest, grant_id: int) -> HttpResponse:
    """Confirm, then take back a role grant."""
    municipality = request_municipality(request)
    grant = access.grant_for_manager(
        user=request.user, municipality=municipality, grant_id=grant_id
    )
    error_message = ""
    status = 200
    if request.method == "POST":
        try:
            services.role_revoke(revoked_by=request.user, grant=grant)  # type: ignore[arg-type]
        except ApplicationError as error:
            error_message, status = str(error.message), error.status
        else:
            messages.success(request, _("The role was revoked."))
            return redirect("organisation:unit_detail", unit_id=grant.org_unit_id)
    return render(
        request,
        "organisation/grant_revoke.html",
        {"grant": grant, "error_message": error_message},
        status=status,
    )


@staff_member_required(MANAGE_ROLES)
@require_http_methods(["GET", "HEAD"])
def role_list(request: HttpRequest) -> HttpResponse:
    municipality = request_municipality(request)
    return render(
        request,
        "organisation/role_list.html",
        {
            "roles": selectors.role_list(municipality=municipality),
            "can_edit": user_can(user=request.user, permission=MANAGE_ROLES, org_unit=None),
        },
    )


def _role_form_page(request: HttpRequest, role_id: int | None) -> HttpResponse:
    municipality = request_municipality(request)
    role = (
        access.role_for_manager(user=request.user, municipality=municipality, role_id=role_id)
        if role_id is not None
        else None
    )
    if role is None and not user_can(user=request.user, permission=MANAGE_ROLES, org_unit=None):
        raise PermissionDenied
    initial: dict[str, Any] = {}
    if role is not None:
        initial = {
            "name_de": role.name_de,
            "name_en": role.name_en,
            "description": role.description,
            "is_privileged": role.is_privileged,
            "permissions": services.role_permission_names(role),
        }
    form = RoleForm(
        request.POST or None,
        initial=initial,
        groups=selectors.permission_groups(),
        creating=role is None,
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                if role is None:
                    services.role_create(
                        actor=request.user,  # type: ignore[arg-type]
                        municipality=municipality,
                        key=data["key"],
                        name_de=data["name_de"],
                        name_en=data["name_en"],
                        description=data["description"],
                        permissions=data["permissions"],
                        is_privileged=data["is_privileged"],
                    )
                else:
                    services.role_update(
                        actor=request.user,  # type: ignore[arg-type]
                        role=role,
                        name_de=data["name_de"],
                        name_en=data["name_en"],
                        description=data["description"],
                        permissions=data["permissions"],
                        is_privileged=data["is_privileged"],
                    )
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                messages.success(request, _("The role was saved."))
                return redirect("organisation:role_list")
        else:
            status = 400
    return render(
        request, "organisation/role_form.html", {"form": form, "role": role}, status=status
    )


@staff_member_required(MANAGE_ROLES)
@require_http_methods(["GET", "HEAD", "POST"])
def role_create(request: HttpRequest) -> HttpResponse:
    return _role_form_page(request, None)


@staff_member_required(MANAGE_ROLES)
@require_http_methods(["GET", "HEAD", "POST"])
def role_edit(request: HttpRequest, role_id: int) -> HttpResponse:
    return _role_form_page(request, role_id)
