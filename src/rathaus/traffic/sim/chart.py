"""Server-side SVG bar charts of run results (no JavaScript, CSP-safe)."""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

INK = "#1a1a1a"
PALETTE = ("#1f5f99", "#b35900", "#2d7d46", "#8a3b8f", "#a12f2f", "#4d5a66", "#6b5d00", "#0b7a75")


def bar_chart(
    *,
    title: str,
    groups: Sequence[str],
    series: Sequence[str],
    values: dict[tuple[str, str], float | None],
    unit: str = "s",
    width: int = 720,
    chart_id: str = "chart",
) -> str:
    """Grouped bars: one group per scenario, one bar per controller. ``values`` maps
    (group, series) to a number (missing or ``None`` is drawn as "n/a")."""
    bar = 14
    gap = 10
    label_w = 130
    row_h = len(series) * bar + gap
    legend_h = 18 * ((len(series) + 2) // 3)
    height = 40 + len(groups) * row_h + legend_h + 10
    numbers = [v for v in values.values() if v is not None]
    top = max(numbers) if numbers else 1.0
    top = top if top > 0 else 1.0
    plot_w = width - label_w - 80
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="{chart_id}-title">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<text x="0" y="18" font-size="15" font-weight="bold" fill="{INK}">{escape(title)}</text>',
    ]
    y = 34
    for group in groups:
        parts.append(
            f'<text x="0" y="{y + row_h / 2:.0f}" font-size="13" fill="{INK}">'
            f"{escape(group)}</text>"
        )
        for i, name in enumerate(series):
            value = values.get((group, name))
            by = y + i * bar
            color = PALETTE[i % len(PALETTE)]
            if value is None:
                parts.append(
                    f'<text x="{label_w}" y="{by + bar - 3}" font-size="11" fill="#444">'
                    f"{escape(name)}: n/a</text>"
                )
                continue
            w = max(1.0, plot_w * value / top)
            parts.append(
                f'<rect x="{label_w}" y="{by}" width="{w:.1f}" height="{bar - 2}" fill="{color}">'
                f"<title>{escape(name)}: {value:.1f} {escape(unit)}</title></rect>"
            )
            parts.append(
                f'<text x="{label_w + w + 4:.1f}" y="{by + bar - 3}" font-size="11" '
                f'fill="{INK}">'
                f"{value:.1f}</text>"
            )
        y += row_h
    for i, name in enumerate(series):
        lx = (i % 3) * (width // 3)
        ly = y + 14 + 18 * (i // 3)
        parts.append(
            f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" '
            f'fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{lx + 16}" y="{ly}" font-size="12" fill="{INK}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def results_chart(
    results: Sequence[dict], *, metric: str = "mean_delay", title: str, chart_id: str = ""
) -> str:
    """Chart of one metric over ``results`` (dicts as produced by ``RunResult.as_dict``)."""
    groups: list[str] = []
    series: list[str] = []
    values: dict[tuple[str, str], float | None] = {}
    for row in results:
        scenario, controller = row["scenario"], row["controller"]
        if scenario not in groups:
            groups.append(scenario)
        if controller not in series:
            series.append(controller)
        value = row.get("metrics", {}).get(metric)
        values[(scenario, controller)] = float(value) if value is not None else None
    return bar_chart(
        title=title,
        groups=groups,
        series=series,
        values=values,
        chart_id=chart_id or f"chart-{metric.replace('_', '-')}",
    )
