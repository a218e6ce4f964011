"""Forms of the parking pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from rathaus.parking.models import Space
from rathaus.parking.services import MAX_IMPORT_BYTES


class ArrivalForm(forms.Form):
    ankunft = forms.DateTimeField(
        label=_("Arrival"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M"],
        help_text=_("Shows the forecast of free spaces for this time."),
    )


class ReservationForm(forms.Form):
    space = forms.TypedChoiceField(label=_("Space"), coerce=int)
    starts_at = forms.DateTimeField(
        label=_("From"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M"],
    )
    ends_at = forms.DateTimeField(
        label=_("Until"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M"],
    )
    plate = forms.CharField(
        label=_("Number plate"),
        max_length=12,
        help_text=_("As on the vehicle, e.g. S-AB 123. It is checked at arrival."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args: Any, spaces: Sequence[Space] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["space"].choices = [  # type: ignore[attr-defined]
            (
                space.pk,
                f"{space.external_id} ({space.get_restriction_display()})"
                if space.restriction
                else space.external_id,
            )
            for space in spaces
        ]


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("JSON or CSV in the documented format, UTF-8, at most 2 MB."),
    )

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(_("The file is larger than 2 MB."))
        if not upload.name.lower().endswith((".json", ".csv")):
            raise forms.ValidationError(_("Upload a .json or .csv file."))
        return upload
