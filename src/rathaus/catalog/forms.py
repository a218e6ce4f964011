from django import forms
from django.utils.translation import gettext_lazy as _

from rathaus.catalog.search import MAX_QUERY_LENGTH


class SearchForm(forms.Form):
    q = forms.CharField(
        label=_("What are you looking for?"),
        max_length=MAX_QUERY_LENGTH,
        required=False,
        help_text=_("For example: Personalausweis, register a business, moving house."),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
