"""Forms of the Bürgerbüro pages (input parsing only; the rules are in services)."""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from rathaus.buergerbuero.services import NAME_MAX


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=NAME_MAX)
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    phone = forms.CharField(
        label=_("Mobile number for a reminder (optional)"), max_length=30, required=False
    )
    start = forms.CharField(label=pgettext_lazy("buergerbuero", "Time"), max_length=80)

    def clean_start(self) -> tuple[int, datetime]:
        """``<location id>|<ISO start>`` as the slot radio buttons send it."""
        raw = self.cleaned_data["start"]
        location, _sep, iso = raw.partition("|")
        try:
            start = datetime.fromisoformat(iso)
            location_id = int(location)
        except ValueError as error:
            raise forms.ValidationError(_("Choose a time from the list.")) from error
        if start.tzinfo is None:
            raise forms.ValidationError(_("Choose a time from the list."))
        return location_id, start


class RebookForm(forms.Form):
    start = forms.CharField(label=_("New time"), max_length=80)

    clean_start = ContactForm.clean_start


class TicketForm(forms.Form):
    service = forms.IntegerField(label=_("Concern"), min_value=1, max_value=2**31 - 1)
    phone = forms.CharField(
        label=_("Mobile number for a text message before your turn (optional)"),
        max_length=30,
        required=False,
    )


class OnlineTicketForm(TicketForm):
    location = forms.IntegerField(label=_("Office"), min_value=1, max_value=2**31 - 1)


class CheckInForm(forms.Form):
    code = forms.CharField(
        label=_("Appointment code"),
        max_length=20,
        help_text=_("Hold the QR code of your confirmation to the scanner or type the code."),
    )


class FinishForm(forms.Form):
    services_done = forms.TypedMultipleChoiceField(label=_("Services done"), coerce=int, choices=())

    def __init__(self, *args: object, choices: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["services_done"].choices = choices  # type: ignore[attr-defined]


class TransferForm(forms.Form):
    to_counter = forms.TypedChoiceField(
        label=_("To counter"), coerce=int, required=False, empty_value=None
    )
    service = forms.TypedChoiceField(
        label=_("For service"), coerce=int, required=False, empty_value=None
    )

    def __init__(
        self,
        *args: object,
        counters: list[tuple[int, str]],
        services: list[tuple[int, str]],
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["to_counter"].choices = [("", "—"), *counters]  # type: ignore[attr-defined]
        self.fields["service"].choices = [("", "—"), *services]  # type: ignore[attr-defined]
