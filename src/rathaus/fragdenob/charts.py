"""Server-side SVG bar charts for the public statistics (no script, no inline style).

Every chart has a title and a description for screen readers, and the page shows the
same figures as a table: the chart is an illustration, never the only source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 640
BAR_AREA = 200
LABEL_HEIGHT = 40
TOP = 20


@dataclass(frozen=True)
class Series:
    name: str
    css_class: str
    values: Sequence[int]


def bar_chart(
    *, title: str, description: str, labels: Sequence[str], series: Sequence[Series]
) -> SafeString:
    """Grouped bars, one group per label; values above the bars; everything escaped."""
    groups = max(len(labels), 1)
    highest = max([1, *(v for s in series for v in s.values)])
    group_width = WIDTH / groups
    bar_width = max(group_width * 0.8 / max(len(series), 1), 1)
    height = TOP + BAR_AREA + LABEL_HEIGHT
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'class="fdob-chart" role="img" aria-labelledby="{{id}}-t {{id}}-d">',
        f'<title id="{{id}}-t">{escape(title)}</title>',
        f'<desc id="{{id}}-d">{escape(description)}</desc>',
        f'<line x1="0" y1="{TOP + BAR_AREA}" x2="{WIDTH}" y2="{TOP + BAR_AREA}" '
        'class="fdob-axis"/>',
    ]
    for index, label in enumerate(labels):
        x0 = index * group_width + group_width * 0.1
        for number, one in enumerate(series):
            value = one.values[index] if index < len(one.values) else 0
            bar = BAR_AREA * value / highest
            x = x0 + number * bar_width
            y = TOP + BAR_AREA - bar
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_width * 0.9:.1f}" '
                f'height="{bar:.1f}" class="{escape(one.css_class)}">'
                f"<title>{escape(label)}: {escape(one.name)} {value}</title></rect>"
            )
            if value:
                parts.append(
                    f'<text x="{x + bar_width * 0.45:.1f}" y="{y - 4:.1f}" '
                    f'class="fdob-value" text-anchor="middle">{value}</text>'
                )
        parts.append(
            f'<text x="{index * group_width + group_width / 2:.1f}" '
            f'y="{TOP + BAR_AREA + 18}" class="fdob-label" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    parts.append("</svg>")
    svg = "".join(parts).replace("{id}", _chart_id(title))
    return mark_safe(svg)  # noqa: S308  (every text above is escaped)


def _chart_id(title: str) -> str:
    return "chart-" + "".join(c for c in title.lower() if c.isalnum())[:30]
