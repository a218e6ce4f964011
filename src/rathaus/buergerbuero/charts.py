"""Server-side SVG bar charts (the CSP allows no chart script; SVG needs none).

Colours come from the stylesheet (classes ``bb-bar``, ``bb-axis``); every chart has a title
and a description, and the page shows the same figures as a table next to it."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 640
HEIGHT = 220
PAD_LEFT = 40
PAD_BOTTOM = 28
PAD_TOP = 12


def bar_chart(
    data: Sequence[tuple[object, float]], *, title: str, label_format: str = "{}"
) -> SafeString:
    """A bar chart of ``(label, value)`` pairs as inline SVG."""
    values = [float(v) for _k, v in data]
    top = max(values, default=0.0) or 1.0
    inner_w = WIDTH - PAD_LEFT - 8
    inner_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    step = inner_w / max(len(data), 1)
    parts = [
        f'<svg class="bb-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-{id(data)}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-{id(data)}">{escape(title)}</title>',
        f'<line class="bb-axis" x1="{PAD_LEFT}" y1="{HEIGHT - PAD_BOTTOM}" '
        f'x2="{WIDTH - 8}" y2="{HEIGHT - PAD_BOTTOM}"/>',
        f'<text class="bb-label" x="{PAD_LEFT - 4}" y="{PAD_TOP + 4}" text-anchor="end">'
        f"{escape(_number(top))}</text>",
        f'<text class="bb-label" x="{PAD_LEFT - 4}" y="{HEIGHT - PAD_BOTTOM}" '
        'text-anchor="end">0</text>',
    ]
    for index, (label, value) in enumerate(data):
        height = inner_h * float(value) / top
        x = PAD_LEFT + index * step + step * 0.15
        y = HEIGHT - PAD_BOTTOM - height
        text = escape(label_format.format(label))
        parts.append(
            f'<rect class="bb-bar" x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" '
            f'height="{height:.1f}"><title>{text}: {escape(_number(float(value)))}</title></rect>'
        )
        parts.append(
            f'<text class="bb-label" x="{x + step * 0.35:.1f}" y="{HEIGHT - 10}" '
            f'text-anchor="middle">{text}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def _number(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"
