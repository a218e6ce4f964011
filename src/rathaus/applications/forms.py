"""Forms of the application pages (the application's own fields come from formschema)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from rathaus.accounts.trust import TrustLevel
from rathaus.applications import documents as document_rules
from rathaus.catalog.models import Service
from rathaus.organisation.models import OrgUnit

NOTE_MAX_CHARS = 2000


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is checked by the service, not here."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget",
            MultipleFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg,.tif,.tiff"}),
        )
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        items = data if isinstance(data, list | tuple) else [data] if data else []
        if self.required and not items:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        return list(items)


def new_key() -> str:
    return uuid.uuid4().hex


class StartForm(forms.Form):
    """The start button; the key makes a repeated start return the same application."""

    idempotency_key = forms.CharField(
        widget=forms.HiddenInput, max_length=64, min_length=16, initial=new_key
    )


class SubmitForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I confirm that my entries are complete and true."),
        required=True,
    )


class SupplyForm(forms.Form):
    documents = MultipleFileField(
        label=_("Documents"),
        help_text=_(
            "PDF, PNG, JPEG or TIFF, at most 10 MB each. You can choose several files at once."
        ),
    )
    note = forms.CharField(
        label=_("Note to the case worker (optional)"),
        required=False,
        max_length=NOTE_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["documents"].help_text = _(
            "%(types)s, at most 10 MB each. You can choose several files at once."
        ) % {"types": document_rules.ALLOWED_TEXT}


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (optional)"),
        required=False,
        max_length=NOTE_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class NoticePostedForm(forms.Form):
    note = forms.CharField(
        label=_("How and when was the notice sent?"),
        max_length=NOTE_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


TRUST_CHOICES = [(int(level), label) for level, label in TrustLevel.choices if level > 0]


class FormCreateForm(forms.Form):
    service = forms.ModelChoiceField(queryset=Service.objects.none(), label=_("Service"))
    key = forms.SlugField(
        label=_("Key"),
        max_length=80,
        help_text=_("A short name in lower case letters, digits and hyphens, e.g. hundesteuer."),
    )
    org_unit = forms.ModelChoiceField(
        queryset=OrgUnit.objects.none(), label=_("Handled by (org unit)")
    )
    min_trust_level = forms.TypedChoiceField(
        label=_("Minimum trust level"), choices=TRUST_CHOICES, coerce=int, initial=1
    )

    def __init__(self, *args: Any, municipality: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.filter(  # type: ignore[attr-defined]
            municipality=municipality, application_forms__isnull=True
        ).order_by("name_de")
        self.fields["org_unit"].queryset = OrgUnit.objects.filter(  # type: ignore[attr-defined]
            municipality=municipality, is_active=True
        ).order_by("path")


class FormSettingsForm(forms.Form):
    org_unit = forms.ModelChoiceField(
        queryset=OrgUnit.objects.none(), label=_("Handled by (org unit)")
    )
    min_trust_level = forms.TypedChoiceField(
        label=_("Minimum trust level"), choices=TRUST_CHOICES, coerce=int
    )
    is_active = forms.BooleanField(label=_("Open for applications"), required=False)

    def __init__(self, *args: Any, municipality: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org_unit"].queryset = OrgUnit.objects.filter(  # type: ignore[attr-defined]
            municipality=municipality, is_active=True
        ).order_by("path")


class SchemaForm(forms.Form):
    """The schema as JSON text; its structure is checked by the service."""

    schema = forms.CharField(
        label=_("Form schema (JSON)"),
        help_text=_("The format is described in docs/application-forms.md."),
        widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "false", "class": "code"}),
        max_length=256 * 1024,
    )

    def clean_schema(self) -> Any:
        text = self.cleaned_data["schema"]
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                _("This is not valid JSON (line %(line)d, column %(column)d: %(error)s).")
                % {"line": error.lineno, "column": error.colno, "error": error.msg}
            ) from error
