"""Forms of the organisation pages. Ids (units, staff, roles) arrive as plain integers and
are resolved by ``access.py``, so a foreign id is a 404, not a form error."""

from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from rathaus.organisation.models import OrgUnit, Role
from rathaus.organisation.selectors import PermissionGroup

MAX_ID = 2**62  # larger numbers are malformed, not unknown


class OrgUnitForm(forms.ModelForm):
    class Meta:
        model = OrgUnit
        fields = ["code", "name_de", "name_en", "kind", "email", "phone", "location", "is_active"]

    def __init__(self, *args: Any, creating: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if creating:
            del self.fields["is_active"]
        self.fields["email"].widget.attrs["autocomplete"] = "off"

    def validate_unique(self) -> None:
        # Uniqueness (of the short name, per municipality) is the service's rule.
        pass


def _id_select(label: Any, choices: Iterable[tuple[int | str, str]]) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        min_value=1,
        max_value=MAX_ID,
        widget=forms.Select(choices=[("", "---------"), *choices]),
    )


def _unit_label(unit: OrgUnit) -> str:
    # Indented by depth so the select shows the tree; a non-breaking space survives HTML.
    return "\u00a0\u00a0" * unit.depth + f"{unit.name} ({unit.code})"


class OrgUnitMoveForm(forms.Form):
    parent = forms.IntegerField()

    def __init__(self, *args: Any, units: Iterable[OrgUnit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"] = _id_select(
            _("New parent unit"), [(unit.pk, _unit_label(unit)) for unit in units]
        )


class RoleGrantForm(forms.Form):
    user = forms.IntegerField()
    role = forms.IntegerField()
    include_subunits = forms.BooleanField(
        label=_("Also in all subunits"),
        required=False,
        initial=True,
        help_text=_("Without this, the role applies in this unit only."),
    )
    valid_until = forms.DateField(
        label=_("Valid until (inclusive, optional)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Leave empty for a grant without end date."),
    )

    def __init__(
        self, *args: Any, staff: Iterable[Any], roles: Iterable[Role], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"] = _id_select(
            _("Staff member"),
            [
                (member.pk, f"{member.get_full_name() or member.email} ({member.email})")
                for member in staff
            ],
        )
        self.fields["role"] = _id_select(
            _("Role"),
            [
                (role.pk, f"{role.name} ({_('privileged')})" if role.is_privileged else role.name)
                for role in roles
            ],
        )
        self.order_fields(["user", "role", "include_subunits", "valid_until"])


class GroupedCheckboxes(forms.CheckboxSelectMultiple):
    """Checkboxes the template renders in one fieldset per app; the error summary links to
    the outer fieldset (``id_permissions``), not to the first box."""

    def id_for_label(self, id_: str, index: str | None = None) -> str:
        return id_ if index is None else super().id_for_label(id_, index)


class RoleForm(forms.Form):
    key = forms.SlugField(
        label=_("Key"),
        max_length=50,
        help_text=_("A stable technical name in lower case, e.g. sachbearbeitung."),
    )
    name_de = forms.CharField(label=_("Name (German)"), max_length=100)
    name_en = forms.CharField(label=_("Name (English)"), max_length=100, required=False)
    description = forms.CharField(
        label=_("Description"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    is_privileged = forms.BooleanField(
        label=_("Privileged (holders must sign in with a second factor)"), required=False
    )
    permissions = forms.MultipleChoiceField(
        label=_("Permissions"), required=False, widget=GroupedCheckboxes
    )

    def __init__(
        self, *args: Any, groups: list[PermissionGroup], creating: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.groups = groups
        field = self.fields["permissions"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(name, label) for group in groups for name, label in group.permissions]
        if not creating:
            del self.fields["key"]

    def permission_groups(self) -> list[dict[str, Any]]:
        """The checkbox groups with their checked state, for the template."""
        if self.is_bound:
            checked = set(self.data.getlist("permissions"))  # type: ignore[attr-defined]
        else:
            checked = set(self.initial.get("permissions", []))
        return [
            {
                "app_label": group.app_label,
                "label": group.label,
                "choices": [
                    {
                        "value": name,
                        "label": label,
                        "id": "perm-" + name.replace(".", "-"),
                        "checked": name in checked,
                    }
                    for name, label in group.permissions
                ],
            }
            for group in self.groups
        ]

    def simple_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name != "permissions"]
