"""The fee of an application, from the catalogue's structured fees and the form data.

The form's schema may say which fee item of the service applies (``fee.item``, default
the first) and where its variable part comes from:

- ``fixed``: the item's amount;
- ``per_unit``: the amount times ``fee.quantity_field`` (an integer field, or a group:
  its number of entries; 1 without it);
- ``range``: the amount the citizen entered in ``fee.amount_field`` (a currency field),
  which must lie in the range; without one the lower end (or nothing for an open start);
- ``free``, no item, or no structured fees: nothing to pay online.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from rathaus.applications.formschema import top_fields


def fee_item(fees: Sequence[Mapping[str, Any]], schema: Mapping[str, Any]) -> dict[str, Any] | None:
    """The catalogue fee item the form uses, or None."""
    index = (schema.get("fee") or {}).get("item", 0)
    if not isinstance(fees, list | tuple) or not 0 <= index < len(fees):
        return None
    item = fees[index]
    return dict(item) if isinstance(item, Mapping) else None


def _quantity(schema: Mapping[str, Any], data: Mapping[str, Any]) -> int:
    name = (schema.get("fee") or {}).get("quantity_field")
    if not name:
        return 1
    kinds = {f["id"]: f["type"] for f in top_fields(schema)}
    value = data.get(name)
    if kinds.get(name) == "group":
        return len(value) if isinstance(value, list) else 0
    try:
        return max(int(str(value)), 0)
    except (TypeError, ValueError):
        return 0


def _chosen_cents(schema: Mapping[str, Any], data: Mapping[str, Any]) -> int | None:
    name = (schema.get("fee") or {}).get("amount_field")
    if not name:
        return None
    try:
        return int((Decimal(str(data.get(name))) * 100).to_integral_value())
    except (InvalidOperation, ValueError):
        return None


def fee_compute(
    *, fees: Sequence[Mapping[str, Any]], schema: Mapping[str, Any], data: Mapping[str, Any]
) -> int:
    """The fee in cents for an application with ``data`` (canonical values); 0 if nothing
    is to be paid online."""
    item = fee_item(fees, schema)
    if item is None:
        return 0
    kind = item.get("kind")
    low, high = item.get("amount_cents"), item.get("amount_max_cents")
    if kind == "fixed" and isinstance(low, int):
        return max(low, 0)
    if kind == "per_unit" and isinstance(low, int):
        return max(low, 0) * _quantity(schema, data)
    if kind == "range":
        chosen = _chosen_cents(schema, data)
        if chosen is not None:
            if isinstance(low, int):
                chosen = max(chosen, low)
            if isinstance(high, int):
                chosen = min(chosen, high)
            return max(chosen, 0)
        return max(low, 0) if isinstance(low, int) else 0
    return 0


def format_cents(amount_cents: int) -> str:
    """``1250`` -> "12,50 EUR" (the PDFs' core fonts have no euro sign)."""
    euros, cents = divmod(amount_cents, 100)
    return f"{euros:,}".replace(",", ".") + f",{cents:02d} EUR"
