"""Forms of the e-invoice pages: input parsing only; rules live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from rathaus.einvoice.models import Approval
from rathaus.organisation.models import OrgUnit

MAX_FILES = 20


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several invoice files in one input; sizes and contents are checked by the service."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".xml,.pdf"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        items = data if isinstance(data, list | tuple) else [data] if data else []
        if self.required and not items:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        if len(items) > MAX_FILES:
            raise forms.ValidationError(
                _("At most %(count)s files at once.") % {"count": MAX_FILES}, code="too_many"
            )
        return list(items)


class UploadForm(forms.Form):
    invoices = MultipleFileField(
        label=_("Invoice files (XRechnung XML or ZUGFeRD/Factur-X PDF)"),
        help_text=_("You can choose several files at once."),
    )


class DecisionForm(forms.Form):
    step = forms.ChoiceField(choices=Approval.Step.choices, widget=forms.HiddenInput)
    approved = forms.TypedChoiceField(
        label=_("Your check"),
        choices=[("yes", _("Correct")), ("no", _("Not correct: reject the invoice"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment (required for a rejection; sent to the seller)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class RouteForm(forms.Form):
    org_unit = forms.ModelChoiceField(label=_("Org unit"), queryset=OrgUnit.objects.none())

    def __init__(self, *args: Any, municipality: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org_unit"].queryset = OrgUnit.objects.filter(  # type: ignore[attr-defined]
            municipality=municipality, is_active=True
        ).order_by("name_de")


class LeitwegForm(RouteForm):
    leitweg_id = forms.CharField(label=_("Leitweg-ID"), max_length=46)
    label = forms.CharField(label=_("Label"), max_length=200, required=False)

    field_order = ["leitweg_id", "org_unit", "label"]


class DuplicateForm(forms.Form):
    distinct = forms.TypedChoiceField(
        label=_("Decision"),
        choices=[("yes", _("Not a duplicate: continue")), ("no", _("Duplicate: reject"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
