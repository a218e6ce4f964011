from django import forms
from django.utils.translation import gettext_lazy as _

from rathaus.legal.models import LegalPage


class FeedbackForm(forms.Form):
    message = forms.CharField(
        label=_("Which barrier did you find?"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Describe what did not work and on which page. At most 5,000 characters."),
    )
    page_url = forms.CharField(label=_("Page concerned (optional)"), max_length=500, required=False)
    email = forms.EmailField(
        label=_("Your e-mail address for our answer (optional)"),
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    # A field people never see; bots fill it.
    website = forms.CharField(required=False, widget=forms.HiddenInput)


class LegalPageForm(forms.ModelForm):
    arbitration_url = forms.URLField(
        label=_("arbitration body web address"),
        assume_scheme="https",
        required=False,
        max_length=200,
    )

    class Meta:
        model = LegalPage
        fields = [
            "title_de",
            "title_en",
            "body_de",
            "body_en",
            "conformance",
            "prepared_on",
            "feedback_email",
            "arbitration_name",
            "arbitration_url",
        ]
        widgets = {
            "body_de": forms.Textarea(attrs={"rows": 14}),
            "body_en": forms.Textarea(attrs={"rows": 14}),
            "prepared_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if self.instance.kind != LegalPage.Kind.ACCESSIBILITY:
            for name in [
                "conformance",
                "prepared_on",
                "feedback_email",
                "arbitration_name",
                "arbitration_url",
            ]:
                del self.fields[name]
