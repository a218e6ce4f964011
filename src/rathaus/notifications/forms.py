from django import forms
from django.utils.translation import gettext_lazy as _

from rathaus.notifications.models import DigestFrequency


class FirstOptionRadioSelect(forms.RadioSelect):
    # Django gives a radio group's label no target; the error summary links to the first option.
    def id_for_label(self, id_: str, index: str = "0") -> str:
        return super().id_for_label(id_, index)


class PreferenceForm(forms.Form):
    email_enabled = forms.BooleanField(
        label=_("Send me e-mails"),
        required=False,
        help_text=_(
            "Security messages, such as a link to confirm your address or to reset your "
            "password, are always sent by e-mail."
        ),
    )
    sms_enabled = forms.BooleanField(label=_("Send me text messages"), required=False)
    digest_frequency = forms.ChoiceField(
        label=_("How often should we e-mail you about news?"),
        choices=DigestFrequency.choices,
        widget=FirstOptionRadioSelect,
        help_text=_("News that is not urgent can be collected into one e-mail."),
    )

    def __init__(
        self, *args: object, has_phone: bool = True, sms_available: bool = True, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if not sms_available:
            del self.fields["sms_enabled"]  # this town hall sends no text messages
            return
        self.fields["sms_enabled"].help_text = (
            _("Text messages go to the mobile number in your profile.")
            if has_phone
            else _("There is no mobile number in your profile, so no text messages are sent.")
        )
