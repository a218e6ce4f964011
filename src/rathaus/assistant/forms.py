"""Forms of the service assistant's pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from rathaus.assistant.models import Device, Edge, LexiconEntry, Node
from rathaus.assistant.selectors import MAX_QUESTION_CHARS
from rathaus.catalog.models import Location


class AskForm(forms.Form):
    q = forms.CharField(
        label=_("Your question"),
        max_length=MAX_QUESTION_CHARS,
        help_text=_("In your own words, in German or English, e.g. 'Perso verloren'."),
    )


class LexiconEntryForm(forms.ModelForm):
    class Meta:
        model = LexiconEntry
        fields = ["terms", "expansions", "two_way", "note", "is_active"]


class BuildingImportForm(forms.Form):
    location: forms.ModelChoiceField[Location] = forms.ModelChoiceField(
        queryset=Location.objects.none(), label=_("Location")
    )
    file = forms.FileField(
        label=_("Floors (GeoJSON)"),
        help_text=_("One FeatureCollection per floor, or a JSON list of them; at most 2 MB."),
    )

    def __init__(self, *args: object, locations: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["location"].queryset = locations  # type: ignore[attr-defined]


class NodeForm(forms.ModelForm):
    class Meta:
        model = Node
        fields = ["name_de", "name_en", "room", "kind", "x", "y"]


class EdgeForm(forms.Form):
    start: forms.ModelChoiceField[Node] = forms.ModelChoiceField(
        queryset=Node.objects.none(), label=pgettext_lazy("connection", "From")
    )
    end: forms.ModelChoiceField[Node] = forms.ModelChoiceField(
        queryset=Node.objects.none(), label=pgettext_lazy("connection", "To")
    )
    kind = forms.ChoiceField(choices=Edge.Kind.choices, label=_("Kind"))
    steps = forms.IntegerField(min_value=0, max_value=500, initial=0, label=_("Steps"))
    width_cm = forms.IntegerField(
        min_value=30, max_value=1000, required=False, label=_("Clear width (cm)")
    )

    def __init__(self, *args: object, nodes: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["start"].queryset = nodes  # type: ignore[attr-defined]
        self.fields["end"].queryset = nodes  # type: ignore[attr-defined]


class DeviceForm(forms.Form):
    name = forms.CharField(max_length=100, label=_("Name"))
    kind = forms.ChoiceField(choices=Device.Kind.choices, label=_("Kind"))
    location: forms.ModelChoiceField[Location] = forms.ModelChoiceField(
        queryset=Location.objects.none(), required=False, label=_("Location")
    )
    can_use_stairs = forms.BooleanField(required=False, label=_("Can use stairs"))
    can_use_lifts = forms.BooleanField(required=False, label=_("Can use lifts"))

    def __init__(self, *args: object, locations: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["location"].queryset = locations  # type: ignore[attr-defined]
