"""Forms of the pickup pages: parse and bound input; the rules are in services."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from rathaus.catalog.models import Location
from rathaus.idpickup.models import IdOrder, Size
from rathaus.idpickup.services import MAX_BATCH


class OrderForm(forms.Form):
    kind = forms.ChoiceField(label=_("Document"), choices=IdOrder.Kind.choices)
    given_name = forms.CharField(label=_("Given name"), max_length=100)
    family_name = forms.CharField(label=_("Family name"), max_length=100)
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    location = forms.ModelChoiceField(label=_("Pickup location"), queryset=Location.objects.none())
    size = forms.ChoiceField(label=_("Size"), choices=Size.choices, initial=Size.SMALL)
    terminal_opt_in = forms.BooleanField(label=_("Pickup at the terminal"), required=False)
    consent = forms.BooleanField(
        label=_("The citizen consents to terminal pickup and to the processing it needs"),
        required=False,
        help_text=_("Contact data and fingerprint reference are deleted after pickup or return."),
    )
    contact_channel = forms.ChoiceField(
        label=_("Send the PIN by"),
        choices=[("", "—"), *IdOrder.Channel.choices],
        required=False,
    )
    contact_address = forms.CharField(
        label=_("Mobile number or e-mail address"), max_length=254, required=False
    )
    fingerprint_ref = forms.CharField(
        label=_("Fingerprint template reference"),
        max_length=100,
        required=False,
        help_text=_("The id under which the reader system keeps the template."),
    )
    needs_low_compartment = forms.BooleanField(
        label=_("Needs a low compartment (wheelchair)"), required=False
    )

    def __init__(self, *args: Any, municipality: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["location"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Location.objects.filter(municipality=municipality).order_by("name_de")


class ProductionForm(forms.Form):
    document_barcode = forms.CharField(label=_("Barcode of the document"), max_length=40)


class ArrivalsForm(forms.Form):
    barcodes = forms.CharField(
        label=_("Scanned barcodes"),
        widget=forms.Textarea(attrs={"rows": 6, "autocomplete": "off"}),
        max_length=MAX_BATCH * 42,
        help_text=_("One barcode per line; a scanner adds the line break itself."),
    )

    def barcode_list(self) -> list[str]:
        return [line for line in self.cleaned_data["barcodes"].splitlines() if line.strip()]


class TerminalForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    location = forms.ModelChoiceField(label=_("Location"), queryset=Location.objects.none())
    layout = forms.CharField(
        label=_("Compartments"),
        max_length=2000,
        initial="s:40, s:80, m:80, m:120, m:160, l:40",
        help_text=_(
            "Size and height above the floor in cm, separated by commas, "
            "e.g. “s:40, m:120” (s small, m medium, l large)."
        ),
    )
    simulator = forms.BooleanField(
        label=_("Allow the simulator page (test and demo terminals only)"), required=False
    )

    def __init__(self, *args: Any, municipality: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["location"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Location.objects.filter(municipality=municipality).order_by("name_de")

    def clean_layout(self) -> list[tuple[str, int]]:
        result = []
        for part in self.cleaned_data["layout"].split(","):
            size, _sep, height = part.strip().partition(":")
            if size.strip().lower() not in Size.values or not height.strip().isdigit():
                raise forms.ValidationError(_("Write each compartment as size:height, e.g. m:120."))
            result.append((size.strip().lower(), int(height.strip())))
        return result


class CredentialForm(forms.Form):
    card_token = forms.CharField(
        label=_("Card token"),
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Scan your staff card, or enter its token (at least 16 characters)."),
    )
    pin = forms.CharField(
        label=_("Terminal PIN"),
        max_length=12,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "inputmode": "numeric"}),
        help_text=_("4 to 12 digits."),
    )


class StatusForm(forms.Form):
    booking_number = forms.CharField(label=_("Booking number"), max_length=12)
    date_of_birth = forms.DateField(
        label=_("Date of birth"), widget=forms.DateInput(attrs={"type": "date"})
    )
