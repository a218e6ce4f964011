"""Forms of the operator pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from rathaus.charging.models import PlugType, Site, Tariff
from rathaus.charging.services import TRIGGER_MESSAGES

ACTION_CHOICES = [
    ("remote_start", _("Start charging (remote)")),
    ("remote_stop", _("Stop charging (remote)")),
    ("reset", _("Restart the station")),
    ("unlock", _("Unlock a connector")),
    ("get_configuration", _("Read configuration")),
    ("change_configuration", _("Change configuration")),
    ("trigger_message", _("Ask for a message")),
    ("update_firmware", _("Update firmware")),
    ("get_diagnostics", _("Upload diagnostics")),
    ("reserve", _("Reserve a connector")),
    ("cancel_reservation", _("Cancel a reservation")),
]


class CommandForm(forms.Form):
    action = forms.ChoiceField(label=_("Command"), choices=ACTION_CHOICES)
    connector_id = forms.IntegerField(
        label=_("Connector"), required=False, min_value=1, max_value=99
    )
    id_tag = forms.CharField(label=_("Token"), required=False, max_length=36)
    transaction_ref = forms.CharField(
        label=_("Session (transaction)"), required=False, max_length=36
    )
    kind = forms.ChoiceField(
        label=_("Restart"),
        required=False,
        choices=[("Soft", _("soft")), ("Hard", _("hard"))],
    )
    key = forms.CharField(label=_("Configuration key"), required=False, max_length=100)
    value = forms.CharField(label=_("Value"), required=False, max_length=500)
    message = forms.ChoiceField(
        label=_("Message"),
        required=False,
        choices=[("", "—"), *[(m, m) for m in sorted(TRIGGER_MESSAGES)]],
    )
    location = forms.CharField(label=_("Address (URL)"), required=False, max_length=500)
    minutes = forms.IntegerField(label=_("Minutes"), required=False, min_value=1, max_value=1440)
    reservation_id = forms.IntegerField(label=_("Reservation"), required=False, min_value=1)


class SiteLimitForm(forms.Form):
    grid_limit_w = forms.IntegerField(
        label=_("Grid connection limit (W)"), min_value=1000, max_value=10_000_000
    )


class LimitWindowForm(forms.Form):
    start_time = forms.TimeField(label=_("From"))
    end_time = forms.TimeField(label=_("Until"))
    limit_w = forms.IntegerField(label=_("Limit (W)"), min_value=0, max_value=10_000_000)


class StationRegisterForm(forms.Form):
    site = forms.ModelChoiceField(label=_("Site"), queryset=Site.objects.none())
    identity = forms.CharField(label=_("Identity (as configured in the station)"), max_length=48)
    name = forms.CharField(label=_("Name"), max_length=200)
    max_power_w = forms.IntegerField(
        label=_("Maximum power (W)"), min_value=1000, max_value=400_000
    )
    connectors = forms.IntegerField(label=_("Number of connectors"), min_value=1, max_value=8)
    plug_type = forms.ChoiceField(label=_("Plug type"), choices=PlugType.choices)
    tariff = forms.ModelChoiceField(
        label=_("Tariff"), queryset=Tariff.objects.none(), required=False
    )

    def __init__(self, *args: object, sites: object, tariffs: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["site"].queryset = sites  # type: ignore[attr-defined]
        self.fields["tariff"].queryset = tariffs  # type: ignore[attr-defined]


class ExportForm(forms.Form):
    since = forms.DateField(label=_("From"), required=False)
    until = forms.DateField(label=_("Until (exclusive)"), required=False)
    format = forms.ChoiceField(
        label=_("Format"), choices=[("csv", "CSV"), ("json", "JSON")], initial="csv"
    )
