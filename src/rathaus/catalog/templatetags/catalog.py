"""Template helpers of the catalogue pages: fees, amounts and weekdays in the page's language."""

from typing import Any

from django import template
from django.utils.dates import WEEKDAYS

from rathaus.catalog import fees

register = template.Library()


@register.filter
def fee_amount(item: dict[str, Any]) -> str:
    """A fee item's amount: "37,00 €", "ab 12,80 €", "kostenlos" (in the page's language)."""
    return fees.format_fee(item)


@register.filter
def fee_label(item: dict[str, Any]) -> str:
    return fees.fee_label(item)


@register.filter
def fee_note(item: dict[str, Any]) -> str:
    return fees.fee_note(item)


@register.filter
def weekday(number: int) -> str:
    """0 -> "Monday" ("Montag")."""
    return str(WEEKDAYS.get(number, ""))


@register.filter
def localised(item: dict[str, Any], key: str) -> str:
    """``item[key_en]`` on English pages where it is set, else ``item[key_de]``."""
    return fees._localised(item, key)
