"""The auditor's search form; query parameters are German like the URLs."""

from datetime import date
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from rathaus.audit.selectors import AuditFilter

DOTTED_NAME = RegexValidator(
    r"^[A-Za-z0-9_.-]+$",
    _("Use only letters, digits, dots, hyphens and underscores."),
)
EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)
#: Largest sequence number the database can hold (a signed 64-bit integer).
MAX_SEQUENCE = 2**63 - 1


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class AuditFilterForm(forms.Form):
    von = forms.DateField(label=_("From (date)"), required=False, widget=DateInput())
    bis = forms.DateField(label=_("Until (date, inclusive)"), required=False, widget=DateInput())
    aktion = forms.CharField(
        label=_("Action starts with"),
        required=False,
        max_length=100,
        validators=[DOTTED_NAME],
        help_text=_("For example accounts.login or privacy."),
    )
    person = forms.EmailField(
        label=_("E-mail address of the person who acted"), required=False, max_length=254
    )
    objekttyp = forms.CharField(
        label=_("Object type"),
        required=False,
        max_length=100,
        validators=[DOTTED_NAME],
        help_text=_("For example accounts.user."),
    )
    objekt = forms.CharField(label=_("Object id"), required=False, max_length=100)

    def _clean_day(self, name: str) -> date | None:
        day: date | None = self.cleaned_data.get(name)
        # Days far outside the trail's lifetime would overflow the time zone conversion.
        if day is not None and not EARLIEST <= day <= LATEST:
            raise forms.ValidationError(
                _("Enter a date between %(earliest)s and %(latest)s."),
                params={"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()},
            )
        return day

    def clean_von(self) -> date | None:
        return self._clean_day("von")

    def clean_bis(self) -> date | None:
        return self._clean_day("bis")

    def clean(self) -> dict[str, Any] | None:
        data = super().clean()
        start, end = self.cleaned_data.get("von"), self.cleaned_data.get("bis")
        if start and end and end < start:
            self.add_error("bis", _("The end date lies before the start date."))
        return data

    def filters(self) -> AuditFilter:
        """The validated search as a selector filter (call after ``is_valid``)."""
        data = self.cleaned_data
        return AuditFilter(
            date_from=data.get("von"),
            date_to=data.get("bis"),
            action_prefix=data.get("aktion", ""),
            actor_email=data.get("person", ""),
            target_type=data.get("objekttyp", ""),
            target_id=data.get("objekt", ""),
        )


class PageCursorForm(forms.Form):
    """``vor`` (older than entry n) or ``nach`` (newer than entry n), from the page links."""

    vor = forms.IntegerField(required=False, min_value=1, max_value=MAX_SEQUENCE)
    nach = forms.IntegerField(required=False, min_value=1, max_value=MAX_SEQUENCE)

    def clean(self) -> dict[str, Any] | None:
        data = super().clean()
        if self.cleaned_data.get("vor") is not None and self.cleaned_data.get("nach") is not None:
            raise forms.ValidationError(_("A page link names either vor or nach, not both."))
        return data
