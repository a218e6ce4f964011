"""Server-side SVG bar charts for statistics pages (no script, no inline style).

The content security policy admits no chart script and SVG needs none. Colours come from
the stylesheet (``chart-*`` classes in rathaus.css, one class per series); every chart has
a title and a description for screen readers, and the page shows the same figures as a
table next to it: the chart illustrates, it is never the only source.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 640
BAR_AREA = 200
LABEL_HEIGHT = 40
TOP = 20
SERIES_CLASSES = ("chart-bar-1", "chart-bar-2", "chart-bar-3", "chart-bar-4")


@dataclass(frozen=True)
class Series:
    """One named row of values, drawn as one bar per label."""

    name: str
    values: Sequence[float]
    css_class: str = ""


def bar_chart(
    *,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    chart_id: str = "",
) -> SafeString:
    """Grouped bars, one group per label and one bar per series, values above the bars.

    ``chart_id`` tells several charts on one page apart (default: from the title).
    Negative values count as zero: these are counts and durations."""
    groups = max(len(labels), 1)
    highest = max([0.0, *(float(v) for one in series for v in one.values)]) or 1.0
    group_width = WIDTH / groups
    bar_width = max(group_width * 0.8 / max(len(series), 1), 1.0)
    height = TOP + BAR_AREA + LABEL_HEIGHT
    ident = _chart_id(chart_id or title)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'class="chart" role="img" aria-labelledby="{ident}-t {ident}-d">',
        f'<title id="{ident}-t">{escape(title)}</title>',
        f'<desc id="{ident}-d">{escape(description)}</desc>',
        f'<line x1="0" y1="{TOP + BAR_AREA}" x2="{WIDTH}" y2="{TOP + BAR_AREA}" '
        'class="chart-axis"/>',
    ]
    for index, label in enumerate(labels):
        x0 = index * group_width + group_width * 0.1
        for number, one in enumerate(series):
            value = max(float(one.values[index]), 0.0) if index < len(one.values) else 0.0
            bar = BAR_AREA * value / highest
            x = x0 + number * bar_width
            y = TOP + BAR_AREA - bar
            css = one.css_class or SERIES_CLASSES[number % len(SERIES_CLASSES)]
            name = f"{escape(one.name)} " if len(series) > 1 else ""
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_width * 0.9:.1f}" '
                f'height="{bar:.1f}" class="{escape(css)}">'
                f"<title>{escape(label)}: {name}{format_number(value)}</title></rect>"
            )
            if value:
                parts.append(
                    f'<text x="{x + bar_width * 0.45:.1f}" y="{y - 4:.1f}" '
                    f'class="chart-value" text-anchor="middle">{format_number(value)}</text>'
                )
        parts.append(
            f'<text x="{index * group_width + group_width / 2:.1f}" '
            f'y="{TOP + BAR_AREA + 18}" class="chart-label" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def format_number(value: float) -> str:
    """Whole numbers without decimals, others with one."""
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _chart_id(text: str) -> str:
    return "chart-" + re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:30]
