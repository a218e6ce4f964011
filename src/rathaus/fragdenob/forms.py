"""Forms of Frag den OB: they parse input; the rules are in ``services``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from rathaus.fragdenob.models import CodexRule, District, Topic

# Generous parsing limits: the real limits are per municipality and checked by the
# service, which names them in its message.
TEXT_PARSE_MAX = 10000


class QuestionForm(forms.Form):
    title = forms.CharField(
        label=_("Your question"),
        max_length=TEXT_PARSE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    background = forms.CharField(
        label=_("Background (optional)"),
        max_length=TEXT_PARSE_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    topic = forms.ModelChoiceField(label=_("Topic"), queryset=Topic.objects.none())
    district = forms.ModelChoiceField(
        label=_("District (optional)"), queryset=District.objects.none(), required=False
    )

    def __init__(
        self,
        *args: Any,
        municipality: Any,
        title_max: int,
        background_max: int,
        follow_up: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["topic"].queryset = Topic.objects.filter(  # type: ignore[attr-defined]
            municipality=municipality, is_active=True
        )
        self.fields["district"].queryset = District.objects.filter(  # type: ignore[attr-defined]
            municipality=municipality
        )
        self.fields["title"].help_text = _("At most %(max)d characters.") % {"max": title_max}
        self.fields["background"].help_text = _(
            "At most %(max)d characters. Plain text; sources as web addresses."
        ) % {"max": background_max}
        if follow_up:
            del self.fields["topic"]
            del self.fields["district"]


class ModerationForm(forms.Form):
    ACTIONS = (
        ("publish", _("Publish")),
        ("reject", _("Reject")),
        ("rephrase", _("Ask for a rephrase")),
        ("merge", _("Merge into a published question")),
    )
    action = forms.ChoiceField(label=_("Decision"), choices=ACTIONS, widget=forms.RadioSelect)
    rule = forms.ModelChoiceField(
        label=_("Codex rule"), queryset=CodexRule.objects.none(), required=False
    )
    note = forms.CharField(
        label=_("Note to the author"),
        required=False,
        max_length=TEXT_PARSE_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    into = forms.IntegerField(
        label=_("Number of the published question to merge into"),
        required=False,
        min_value=1,
        max_value=2**31 - 1,
    )

    def __init__(self, *args: Any, municipality: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rule = self.fields["rule"]
        rule.queryset = CodexRule.objects.filter(  # type: ignore[attr-defined]
            municipality=municipality, is_active=True
        )
        english = get_language() == "en"
        rule.label_from_instance = (  # type: ignore[attr-defined]
            lambda item: item.title_en if english else item.title_de
        )


class FreezeForm(forms.Form):
    starts_on = forms.DateField(
        label=_("First day"), widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(label=_("Last day"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("Reason shown to citizens"), max_length=300)


class StandardReplyForm(forms.Form):
    standard = forms.BooleanField(label=_("This answer is a standard reply"), required=False)
