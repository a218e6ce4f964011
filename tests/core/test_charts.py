"""The shared SVG bar chart: escaped, accessible, proportional."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from rathaus.core.charts import Series, bar_chart, format_number

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output


def test_bars_are_proportional_and_labelled() -> None:
    root = _parse(
        bar_chart(
            title="Visits",
            description="One bar per hour",
            labels=["8:00", "9:00", "10:00"],
            series=[Series("visits", [10, 20, 5])],
        )
    )
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Visits"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "One bar per hour"  # type: ignore[union-attr]
    bars = root.findall(f"{SVG}rect")
    heights = [float(bar.get("height", "0")) for bar in bars]
    assert heights == [100.0, 200.0, 50.0]
    assert [bar.find(f"{SVG}title").text for bar in bars] == [  # type: ignore[union-attr]
        "8:00: 10",
        "9:00: 20",
        "10:00: 5",
    ]
    assert {bar.get("class") for bar in bars} == {"chart-bar-1"}


def test_series_are_grouped_and_named() -> None:
    root = _parse(
        bar_chart(
            title="Per month",
            description="published and answered",
            labels=["01/26", "02/26"],
            series=[Series("published", [4, 2]), Series("answered", [3, 0], "chart-bar-muted")],
        )
    )
    bars = root.findall(f"{SVG}rect")
    assert [bar.get("class") for bar in bars] == [
        "chart-bar-1",
        "chart-bar-muted",
        "chart-bar-1",
        "chart-bar-muted",
    ]
    assert bars[1].find(f"{SVG}title").text == "01/26: answered 3"  # type: ignore[union-attr]
    values = [t.text for t in root.findall(f"{SVG}text") if t.get("class") == "chart-value"]
    assert values == ["4", "3", "2"]  # a zero bar carries no value label


def test_hostile_text_is_escaped_and_ids_are_safe() -> None:
    svg = bar_chart(
        title='<script>alert("x")</script>',
        description="&",
        labels=["<b>"],
        series=[Series('"><img>', [1])],
    )
    assert "<script>" not in svg
    assert "<b>" not in svg
    assert "<img>" not in svg
    root = _parse(svg)
    ident = root.find(f"{SVG}title").get("id")  # type: ignore[union-attr]
    assert ident is not None
    assert ident.replace("-", "").isalnum()


def test_empty_zero_and_negative_data_draw_nothing_wrong() -> None:
    root = _parse(bar_chart(title="Empty", description="none", labels=[], series=[]))
    assert root.findall(f"{SVG}rect") == []
    root = _parse(
        bar_chart(title="Zero", description="z", labels=["a", "b"], series=[Series("n", [0, -3])])
    )
    assert [float(bar.get("height", "1")) for bar in root.findall(f"{SVG}rect")] == [0.0, 0.0]


def test_numbers() -> None:
    assert format_number(3.0) == "3"
    assert format_number(2.25) == "2.2"
