"""Fees: reading German fee texts into items, and formatting items for people."""

from typing import Any

import pytest
from django.utils import translation

from rathaus.catalog.fees import fee_items_from_text, format_fee


def _short(items: list[dict[str, Any]] | None) -> list[tuple[Any, ...]] | None:
    if items is None:
        return None
    return [
        (
            item["kind"],
            item["amount_cents"],
            item["amount_max_cents"],
            item["unit_de"],
            item["label_de"],
            item["note_de"],
        )
        for item in items
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<p>37,50 Euro</p>", [("fixed", 3750, None, "", "", "")]),
        ("Gebührenfrei", [("free", None, None, "", "", "")]),
        ("\u200b gebührenfrei", [("free", None, None, "", "", "")]),
        ("Es fallen keine Gebühren an.", [("free", None, None, "", "", "")]),
        (
            "50 bis 60 Euro (abhängig von der Rechtsform)",
            [("range", 5000, 6000, "", "", "abhängig von der Rechtsform")],
        ),
        ("600 - 1000 Euro", [("range", 60000, 100000, "", "", "")]),
        ("ab 12,80 Euro", [("range", 1280, None, "", "", "")]),
        ("10 Euro pro Anwesen", [("per_unit", 1000, None, "Anwesen", "", "")]),
        (
            "<p>Unter 24 Jahren: 37,50 Euro<br>Über 24 Jahren: 70 Euro</p>",
            [
                ("fixed", 3750, None, "", "Unter 24 Jahren", ""),
                ("fixed", 7000, None, "", "Über 24 Jahren", ""),
            ],
        ),
        (
            "<ul><li>Verlustanzeige: gebührenfrei</li><li>Bescheinigung: 18 Euro</li></ul>",
            [
                ("free", None, None, "", "Verlustanzeige", ""),
                ("fixed", 1800, None, "", "Bescheinigung", ""),
            ],
        ),
        # Anything not fully understood stays text
        ("Erwachsene: 100 Euro Minderjährige: 50 Euro", None),
        ("<p>37,50 Euro</p><p>Bitte zahlen Sie vor Ort.</p>", None),
        ("60 bis 50 Euro", None),
        ("Siehe Übersicht", None),
        ("", None),
    ],
)
def test_reading_fee_texts(text: str, expected: list[tuple[Any, ...]] | None) -> None:
    assert _short(fee_items_from_text(text)) == expected


@pytest.mark.parametrize(
    ("item", "german", "english"),
    [
        ({"kind": "fixed", "amount_cents": 3700}, "37,00\u00a0€", "€37.00"),
        ({"kind": "fixed", "amount_cents": 123456}, "1.234,56\u00a0€", "€1,234.56"),
        (
            {"kind": "range", "amount_cents": 1000, "amount_max_cents": 1500},
            "10,00\u00a0€",
            "€10.00",
        ),
        ({"kind": "range", "amount_cents": 1280, "amount_max_cents": None}, "12,80", "€12.80"),
        ({"kind": "range", "amount_cents": None, "amount_max_cents": 10000}, "100,00", "€100.00"),
        (
            {"kind": "per_unit", "amount_cents": 500, "unit_de": "Seite", "unit_en": "page"},
            "5,00\u00a0€",
            "€5.00 per page",
        ),
    ],
)
def test_formatting_amounts(item: dict[str, Any], german: str, english: str) -> None:
    with translation.override("de"):
        assert german in format_fee(item)
    with translation.override("en"):
        assert english in format_fee(item)


def test_free_and_unknown_items() -> None:
    with translation.override("en"):
        assert format_fee({"kind": "free"}) == "free of charge"
        assert format_fee({"kind": "fixed", "amount_cents": None}) == ""
