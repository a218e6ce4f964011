"""Forms of the workflow pages: task forms built from the model's field list, the inbox
filter, comments, delegation, model uploads and the editor's deploy form.

Task forms only shape the input (labels, widgets, required marks); the values go to
``services.user_task_complete`` as strings and are validated there against the field
list, so the page and the API accept exactly the same data.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from rathaus.workflow.models import TaskComment
from rathaus.workflow.selectors import INBOX_FILTERS
from rathaus.workflow.taskforms import FieldSpec
from rathaus.workflow.validation import MAX_FILE_BYTES, MAX_FILES

TASK_FORM_PREFIX = "f"


def _spec_field(spec: FieldSpec) -> forms.Field:
    """A form field for one declared task field (always strings, see the module doc)."""
    label = spec.label or spec.name
    common: dict[str, Any] = {
        "label": label,
        "required": spec.required,
        "help_text": spec.help_text,
    }
    limit = spec.effective_max_length
    if spec.type == "text":
        return forms.CharField(
            widget=forms.Textarea(attrs={"rows": 5}), strip=False, max_length=None, **common
        )
    if spec.type == "boolean":
        if spec.required:
            # A required yes/no question must be answered, not left unticked.
            return forms.ChoiceField(
                choices=[("", _("Please choose")), ("true", _("Yes")), ("false", _("No"))],
                **common,
            )
        return forms.BooleanField(**{**common, "required": False})
    if spec.type == "enum":
        return forms.ChoiceField(
            choices=[("", _("Please choose")), *spec.options],
            **common,
        )
    attrs: dict[str, str] = {}
    widget: forms.Widget
    if spec.type == "date":
        widget = forms.DateInput(attrs={"type": "date"})
    elif spec.type == "email":
        widget = forms.EmailInput(attrs={"autocomplete": "off"})
    elif spec.type in ("integer", "number"):
        attrs["inputmode"] = "numeric" if spec.type == "integer" else "decimal"
        widget = forms.TextInput(attrs=attrs)
    else:
        if limit:
            attrs["maxlength"] = str(limit)
        widget = forms.TextInput(attrs=attrs)
    return forms.CharField(widget=widget, strip=False, **common)


class TaskForm(forms.Form):
    """The form a task's model declares; ``values()`` gives the strings for the service."""

    def __init__(self, specs: list[FieldSpec], *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", TASK_FORM_PREFIX)
        super().__init__(*args, **kwargs)
        self.specs = specs
        for spec in specs:
            self.fields[spec.name] = _spec_field(spec)

    def values(self) -> dict[str, str]:
        """What was entered, as strings by field name (``from_strings=True`` data)."""
        result: dict[str, str] = {}
        for spec in self.specs:
            value = self.cleaned_data.get(spec.name)
            if isinstance(value, bool):
                result[spec.name] = "true" if value else "false"
            else:
                result[spec.name] = "" if value is None else str(value)
        return result


INBOX_LABELS = {
    "all": _("All my tasks"),
    "mine": _("Claimed by me"),
    "roles": _("For my roles"),
    "units": _("For my units"),
    "overdue": _("Overdue"),
}


class InboxFilterForm(forms.Form):
    """Which tasks the inbox shows and in which order (German query names)."""

    LABELS = INBOX_LABELS
    zeigen = forms.ChoiceField(
        label=_("Show"),
        choices=[(key, INBOX_LABELS[key]) for key in INBOX_FILTERS],
        required=False,
    )
    sortierung = forms.ChoiceField(
        label=_("Sort by"),
        choices=[("due", _("Due date, soonest first")), ("new", _("Newest first"))],
        required=False,
    )

    def scope(self) -> str:
        return (self.cleaned_data.get("zeigen") or "all") if self.is_valid() else "all"

    def order(self) -> str:
        return (self.cleaned_data.get("sortierung") or "due") if self.is_valid() else "due"


class CommentForm(forms.Form):
    """A comment on a task."""

    text = forms.CharField(
        label=_("Comment"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=TaskComment.MAX_LENGTH,
        help_text=_("Visible to everyone who works on this case. At most 4,000 characters."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "comment")
        super().__init__(*args, **kwargs)


class DelegateForm(forms.Form):
    """Whom to pass a task on to: one of the candidates the page offers."""

    to_user = forms.TypedChoiceField(label=_("Pass on to"), coerce=int, choices=())

    def __init__(self, people: list[Any], *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "delegate")
        super().__init__(*args, **kwargs)
        field = self.fields["to_user"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", _("Please choose"))] + [
            (person.pk, person.get_full_name() or person.email) for person in people
        ]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; ``clean`` returns the list (empty when none came)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        items = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(item, initial) for item in items if item]


class ModelUploadForm(forms.Form):
    """BPMN and DMN files of one process, deployed as its next version."""

    sources = MultipleFileField(
        label=_("BPMN and DMN files"),
        widget=MultipleFileInput(attrs={"accept": ".bpmn,.dmn"}),
        required=False,
        help_text=_(
            "One process with its decision tables: at most 20 files of at most 1 MB each. "
            "The files are checked completely before anything is stored."
        ),
    )
    make_default = forms.BooleanField(
        label=_("Use the new version for new cases at once"), required=False, initial=True
    )

    def clean_sources(self) -> list[UploadedFile]:
        uploaded: list[UploadedFile] = self.cleaned_data.get("sources") or []
        if not uploaded:
            raise forms.ValidationError(_("Choose at least one file."))
        if len(uploaded) > MAX_FILES:
            raise forms.ValidationError(
                _("Upload at most %(count)d files at once.") % {"count": MAX_FILES}
            )
        for item in uploaded:
            if item.size is None or item.size > MAX_FILE_BYTES:
                raise forms.ValidationError(
                    _("%(name)s is larger than 1 MB.") % {"name": str(item.name)[:100]}
                )
        return uploaded


class ModelSourceForm(forms.Form):
    """The editor's form: the edited XML of one file, deployed as a new version."""

    xml = forms.CharField(
        label=_("Model source (XML)"),
        widget=forms.Textarea(attrs={"rows": 20, "spellcheck": "false", "class": "xml-source"}),
        strip=False,
        max_length=MAX_FILE_BYTES,
        help_text=_(
            "Without JavaScript you edit the XML here; with it, the diagram editor above "
            "writes into this field when you deploy."
        ),
    )
    make_default = forms.BooleanField(
        label=_("Use the new version for new cases at once"), required=False, initial=True
    )


class CancelInstanceForm(forms.Form):
    """Why a case is cancelled (kept in the history and the audit trail)."""

    reason = forms.CharField(
        label=_("Reason for cancelling"),
        max_length=1000,
        help_text=_("Goes into the history and the audit trail."),
    )
