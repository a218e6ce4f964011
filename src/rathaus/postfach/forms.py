"""Forms of the mailbox pages. They parse input; the rules are in ``services``."""

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from rathaus.accounts.trust import TrustLevel
from rathaus.organisation.models import OrgUnit
from rathaus.postfach.models import Message
from rathaus.postfach.services import (
    BODY_MAX_CHARS,
    NOTE_MAX_CHARS,
    REFERENCE_MAX_CHARS,
    REPLY_MAX_CHARS,
    SUBJECT_MAX_CHARS,
)

ATTACHMENT_HELP = _(
    "PDF, PNG, JPEG or plain text; at most 10 MB per file, 10 files and 20 MB per message."
)
ACCEPT = ".pdf,.png,.jpg,.jpeg,.txt,application/pdf,image/png,image/jpeg,text/plain"


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; the service checks each and the totals."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        items = data if isinstance(data, list | tuple) else [data] if data else []
        return [cleaned for cleaned in (single(item, initial) for item in items) if cleaned]


class ComposeForm(forms.Form):
    recipient_email = forms.EmailField(
        label=_("E-mail address of the citizen"),
        max_length=254,
        help_text=_("The address the citizen signs in with."),
    )
    org_unit = forms.ModelChoiceField(
        label=_("Sent by"), queryset=OrgUnit.objects.none(), empty_label=None
    )
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[
            (Message.Kind.INFORMATION, Message.Kind.INFORMATION.label),
            (Message.Kind.REQUEST, Message.Kind.REQUEST.label),
            (Message.Kind.NOTICE, Message.Kind.NOTICE.label),
        ],
        help_text=_("A notice (Bescheid) is delivered formally and needs the citizen's consent."),
    )
    min_trust_level = forms.TypedChoiceField(
        label=_("Opens only after a sign-in at"),
        coerce=int,
        choices=[
            (int(TrustLevel.BASIC), TrustLevel.BASIC.label),
            (int(TrustLevel.SUBSTANTIAL), TrustLevel.SUBSTANTIAL.label),
            (int(TrustLevel.HIGH), TrustLevel.HIGH.label),
        ],
        initial=int(TrustLevel.BASIC),
        help_text=_("“high” needs a sign-in with the online ID card (eID)."),
    )
    reference = forms.CharField(
        label=_("Reference"),
        max_length=REFERENCE_MAX_CHARS,
        required=False,
        help_text=_("E.g. the case number."),
    )
    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_MAX_CHARS)
    body = forms.CharField(
        label=_("Text"), max_length=BODY_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 12})
    )
    attachments = MultipleFileField(
        label=_("Attachments"), required=False, help_text=ATTACHMENT_HELP
    )

    def __init__(
        self, *args: Any, units: Any, fixed_recipient: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org_unit"].queryset = units  # type: ignore[attr-defined]
        if fixed_recipient:
            self.fields["recipient_email"].disabled = True


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your answer"),
        max_length=REPLY_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    attachments = MultipleFileField(
        label=_("Attachments"), required=False, help_text=ATTACHMENT_HELP
    )


class FollowUpForm(forms.Form):
    note = forms.CharField(
        label=_("How was the notice delivered?"),
        max_length=NOTE_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("E.g. “by post with delivery certificate, handed over on 3 March”."),
    )
