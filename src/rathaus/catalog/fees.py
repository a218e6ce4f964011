"""Fees of a service: structured items, read from German fee texts, formatted for people.

An item is a dict (stored in ``Service.fees`` and in the catalogue format):

``{"kind": "fixed" | "range" | "per_unit" | "free", "amount_cents": int | None,
"amount_max_cents": int | None, "currency": "EUR", "unit_de": str, "unit_en": str,
"label_de": str, "label_en": str, "note_de": str, "note_en": str}``

- fixed: ``amount_cents``; range: from ``amount_cents`` (or nothing) up to
  ``amount_max_cents`` (or open: "ab 12,80 Euro"); per_unit: ``amount_cents`` per
  ``unit_de``; free: no amounts.

``fee_items_from_text`` turns a source's fee text into items only when it understands the
whole text; anything it cannot read keeps the text, so no information is ever dropped.
"""

import re
from decimal import Decimal
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from rathaus.catalog.text import clean_inline, plain_text

FEE_KINDS = ("fixed", "range", "per_unit", "free")
MAX_CENTS = 100_000_000  # one million euro: more is a typo, not a fee

_AMOUNT = r"(\d{1,7}(?:[.,]\d{1,2})?)"
_EURO = r"(?:euro|eur|€)"
_FREE = re.compile(
    r"^(?:es fallen keine gebühren an|keine gebühr(?:en)?|gebührenfrei|kostenlos|kostenfrei)\.?$"
)
_FIXED = re.compile(rf"^{_AMOUNT} ?{_EURO}$")
_RANGE = re.compile(rf"^(?:von )?{_AMOUNT} ?(?:{_EURO} )?(?:bis|-|\u2013) ?{_AMOUNT} ?{_EURO}$")
_FROM = re.compile(rf"^ab {_AMOUNT} ?{_EURO}$")
_UP_TO = re.compile(rf"^bis(?: zu)? {_AMOUNT} ?{_EURO}$")
_PER_UNIT = re.compile(rf"^{_AMOUNT} ?{_EURO} (?:pro|je) ([a-zäöüß]+)$")
_NOTE = re.compile(r"^(.*?) ?\(([^()]{1,120})\)$")
_LABELLED = re.compile(r"^([^:]{1,80}): (.+)$")
_LINE_BREAKS = re.compile(r"</p\s*>|<br\s*/?>|</li\s*>", re.IGNORECASE)


def cents(amount: str) -> int:
    """``"27,60"`` -> 2760."""
    value = Decimal(amount.replace(",", "."))
    return int(value * 100)


def _item(
    kind: str,
    amount: int | None = None,
    amount_max: int | None = None,
    *,
    unit: str = "",
    label: str = "",
    note: str = "",
) -> dict[str, Any]:
    return {
        "kind": kind,
        "amount_cents": amount,
        "amount_max_cents": amount_max,
        "currency": "EUR",
        "unit_de": unit,
        "unit_en": "",
        "label_de": label,
        "label_en": "",
        "note_de": note,
        "note_en": "",
    }


def _read(text: str, label: str = "") -> dict[str, Any] | None:
    """One fee statement ("37,50 Euro", "ab 12,80 Euro", "gebührenfrei") or None; a note
    in brackets after it ("50 bis 60 Euro (abhängig von der Rechtsform)") is kept."""
    note = ""
    if match := _NOTE.match(text):
        text, note = match.group(1), match.group(2).strip()
    lowered = text.lower()
    if _FREE.match(lowered):
        return _item("free", label=label, note=note)
    if match := _FIXED.match(lowered):
        return _item("fixed", cents(match.group(1)), label=label, note=note)
    if match := _RANGE.match(lowered):
        low, high = cents(match.group(1)), cents(match.group(2))
        return _item("range", low, high, label=label, note=note) if low < high else None
    if match := _FROM.match(lowered):
        return _item("range", cents(match.group(1)), None, label=label, note=note)
    if match := _UP_TO.match(lowered):
        return _item("range", None, cents(match.group(1)), label=label, note=note)
    if match := _PER_UNIT.match(lowered):
        unit = text[match.start(2) : match.end(2)]
        return _item("per_unit", cents(match.group(1)), unit=unit, label=label, note=note)
    return None


def fee_items_from_text(markup: str) -> list[dict[str, Any]] | None:
    """Structured fees for a German fee text (HTML allowed), or None if any line is unclear.

    Each line must be a fee statement, optionally after a label ("Unter 24 Jahren: 37,50
    Euro"). One statement per line: "Erwachsene: 100 Euro Minderjährige: 50 Euro" on one
    line is not read, since its split is a guess.
    """
    lines = [clean_inline(plain_text(part)) for part in _LINE_BREAKS.split(markup)]
    lines = [line for line in lines if line]
    if not lines or len(lines) > 20:
        return None
    items = []
    for line in lines:
        item = _read(line)
        if item is None and (labelled := _LABELLED.match(line)):
            item = _read(labelled.group(2), label=labelled.group(1).strip())
        if item is None:
            return None
        items.append(item)
    return items


def format_amount(amount_cents: int) -> str:
    """``3700`` -> "37,00 €" in German, "€37.00" in English."""
    number = number_format(
        Decimal(amount_cents) / 100, decimal_pos=2, use_l10n=True, force_grouping=True
    )
    return f"€{number}" if get_language() == "en" else f"{number}\u00a0€"


def format_fee(item: dict[str, Any]) -> str:
    """One fee item as a sentence fragment in the current language, without its label."""
    kind = item.get("kind")
    low, high = item.get("amount_cents"), item.get("amount_max_cents")
    if kind == "free":
        return _("free of charge")
    if kind == "fixed" and low is not None:
        return format_amount(low)
    if kind == "per_unit" and low is not None:
        unit = _localised(item, "unit")
        return _("%(amount)s per %(unit)s") % {"amount": format_amount(low), "unit": unit}
    if kind == "range":
        if low is not None and high is not None:
            return _("%(low)s to %(high)s") % {
                "low": format_amount(low),
                "high": format_amount(high),
            }
        if low is not None:
            return _("from %(amount)s") % {"amount": format_amount(low)}
        if high is not None:
            return _("up to %(amount)s") % {"amount": format_amount(high)}
    return ""


def _localised(item: dict[str, Any], key: str) -> str:
    return str((get_language() == "en" and item.get(f"{key}_en")) or item.get(f"{key}_de") or "")


def fee_label(item: dict[str, Any]) -> str:
    """The item's label in the current language (German where there is no English)."""
    return _localised(item, "label")


def fee_note(item: dict[str, Any]) -> str:
    """The item's note in the current language (German where there is no English)."""
    return _localised(item, "note")
