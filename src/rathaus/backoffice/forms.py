from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from rathaus.core.models import Municipality
from rathaus.core.municipal_settings import SPECS


class MunicipalityForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    email = forms.EmailField(label=_("Contact e-mail"), required=False)
    phone = forms.CharField(label=_("Contact phone"), max_length=50, required=False)
    address = forms.CharField(
        label=_("Postal address"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    primary_colour = forms.RegexField(
        label=_("Primary colour"),
        regex=r"^#[0-9a-fA-F]{6}$",
        max_length=7,
        help_text=_("Like #1a4d80. White text must stay readable on it (contrast at least 4.5:1)."),
        error_messages={"invalid": _("Use a colour like #1a4d80.")},
    )
    logo = forms.FileField(
        label=_("Logo"), required=False, help_text=_("PNG, JPEG or WebP, at most 512 KB.")
    )
    remove_logo = forms.BooleanField(label=_("Remove the current logo"), required=False)

    def __init__(self, *args: Any, municipality: Municipality, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for spec in SPECS.values():
            self.fields[self.setting_field(spec.key)] = forms.IntegerField(
                label=str(spec.label),
                min_value=spec.minimum,
                max_value=spec.maximum,
                help_text=f"{spec.minimum} - {spec.maximum} {spec.unit}".strip(),
                initial=(municipality.settings or {}).get(spec.key, spec.default),
            )

    @staticmethod
    def setting_field(key: str) -> str:
        return "setting__" + key.replace(".", "__")

    def settings_values(self) -> dict[str, int]:
        return {key: self.cleaned_data[self.setting_field(key)] for key in SPECS}
