"""Forms of the parking pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from rathaus.parking.models import Arrow, DatexSource, EventMode, ParkingSite, Sign, Space
from rathaus.parking.services import MAX_IMPORT_BYTES, MAX_SIGN_LINES, SignLineSpec

#: What a browser's ``datetime-local`` input sends and shows (local time, minutes).
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
#: One widget for every local date and time field (Django copies it per field).
LOCAL_DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_FORMAT)


class ArrivalForm(forms.Form):
    ankunft = forms.DateTimeField(
        label=_("Arrival"),
        required=False,
        widget=LOCAL_DATETIME,
        input_formats=[LOCAL_FORMAT],
        help_text=_("Shows the forecast of free spaces for this time."),
    )


class ReservationForm(forms.Form):
    space = forms.TypedChoiceField(label=_("Space"), coerce=int)
    starts_at = forms.DateTimeField(
        label=_("From"),
        widget=LOCAL_DATETIME,
        input_formats=[LOCAL_FORMAT],
    )
    ends_at = forms.DateTimeField(
        label=_("Until"),
        widget=LOCAL_DATETIME,
        input_formats=[LOCAL_FORMAT],
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


class SignForm(forms.ModelForm):
    class Meta:
        model = Sign
        fields = ["key", "name", "kind", "location"]
        help_texts = {
            "key": _(
                "Letters, digits and hyphens; the sign controller polls "
                "/api/v1/parking/signs/<key>."
            ),
        }


class SignLineForm(forms.Form):
    """One line of a sign; a line without a car park is left out."""

    site = forms.TypedChoiceField(label=_("Car park"), coerce=int, required=False, empty_value=None)
    arrow = forms.ChoiceField(label=_("Arrow"), choices=Arrow.choices, required=False)
    label = forms.CharField(
        label=_("Label"),
        max_length=24,
        required=False,
        help_text=_("Instead of the car park's name, at most 24 characters."),
    )
    event_mode = forms.TypedChoiceField(
        label=_("Shown"), coerce=int, required=False, empty_value=None
    )

    def __init__(
        self,
        *args: Any,
        sites: Sequence[ParkingSite] = (),
        modes: Sequence[EventMode] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [("", "—"), *((s.pk, s.name) for s in sites)]  # type: ignore[attr-defined]
        self.fields["event_mode"].choices = [  # type: ignore[attr-defined]
            ("", _("normally")),
            *((m.pk, _("during %(mode)s") % {"mode": m.name}) for m in modes),
        ]

    def spec(self) -> SignLineSpec | None:
        data = self.cleaned_data
        if not data or data.get("site") is None:
            return None
        return SignLineSpec(
            site_id=data["site"],
            arrow=data.get("arrow") or "",
            label=data.get("label") or "",
            event_mode_id=data.get("event_mode"),
        )


#: Existing lines plus three empty rows; more than MAX_SIGN_LINES rows are refused
#: (``absolute_max`` also bounds a forged row count).
SignLineFormSet = forms.formset_factory(
    SignLineForm,
    extra=3,
    max_num=MAX_SIGN_LINES,
    validate_max=True,
    absolute_max=MAX_SIGN_LINES,
)


def sign_lines(formset: forms.BaseFormSet) -> list[SignLineSpec]:
    return [spec for form in formset.forms if (spec := form.spec()) is not None]


class EventModeForm(forms.ModelForm):
    class Meta:
        model = EventMode
        fields = ["name", "starts_at", "ends_at", "message"]
        widgets = {"starts_at": LOCAL_DATETIME, "ends_at": LOCAL_DATETIME}
        help_texts = {
            "message": _("Shown on the signs while the mode runs, at most 24 characters."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("starts_at", "ends_at"):
            self.fields[name].input_formats = [LOCAL_FORMAT]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", _("The end must be after the start."))
        return data


class DatexSourceForm(forms.ModelForm):
    class Meta:
        model = DatexSource
        fields = ["name", "url", "every_minutes", "is_active"]
        help_texts = {
            "url": _(
                "The operator's DATEX II parking status publication (http or https). Its "
                "parking record ids must match the car parks' identifiers."
            ),
        }

    url = forms.URLField(label=_("address"), max_length=500, assume_scheme="https")
    every_minutes = forms.IntegerField(label=_("interval (minutes)"), min_value=1, max_value=1440)
