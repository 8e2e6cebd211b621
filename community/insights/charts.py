"""Charts drawn on the server as inline SVG: no JavaScript, no CDN, and they scale to a phone.

Each chart is an `<svg role="img">` with a title and a description that state the figures, so a
screen reader gets the same story; the page also lists the numbers in a table.
"""

from __future__ import annotations

from html import escape

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 10, 12, 28


def _nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 5 x 10^n)."""
    if value <= 0:
        return 1
    step = 1.0
    while step * 10 <= value:
        step *= 10
    for m in (1, 2, 5, 10):
        if m * step >= value:
            return m * step
    return 10 * step


def _fmt(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _frame(chart_id: str, title: str, description: str, body: list[str], y_max: float, unit: str) -> str:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg id="{escape(chart_id)}" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" preserveAspectRatio="xMidYMid meet" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>',
    ]
    for frac in (0, 0.5, 1):
        y = TOP + plot_h * (1 - frac)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(y_max * frac)}{escape(unit)}</text>')
    parts += body
    parts.append("</svg>")
    return "".join(parts)


def _x_labels(labels: list[str], x_of, slot: float) -> list[str]:
    """At most eight day labels along the bottom, evenly spaced."""
    if not labels:
        return []
    every = max(1, -(-len(labels) // 8))
    out = []
    for i in range(0, len(labels), every):
        out.append(f'<text class="axis" x="{x_of(i) + slot / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle">{escape(labels[i][5:])}</text>')
    return out


def bar_chart(chart_id: str, title: str, labels: list[str], values: list[float], unit: str = "",
              highlight: list[float] | None = None) -> str:
    """Bars per day; `highlight` draws a second, inner bar (e.g. the part answered within the hour)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    y_max = _nice_max(max(values, default=0))
    slot = plot_w / max(1, len(values))
    gap = min(2.0, slot * 0.15)

    def x_of(i: int) -> float:
        return LEFT + i * slot

    body = []
    for i, (label, value) in enumerate(zip(labels, values)):
        h = plot_h * value / y_max
        body.append(f'<rect class="bar" x="{x_of(i) + gap / 2:.1f}" y="{TOP + plot_h - h:.1f}" width="{max(0.5, slot - gap):.1f}" '
                    f'height="{h:.1f}"><title>{escape(label)}: {_fmt(value)}{escape(unit)}</title></rect>')
        if highlight is not None:
            hh = plot_h * highlight[i] / y_max
            body.append(f'<rect class="bar-inner" x="{x_of(i) + gap / 2:.1f}" y="{TOP + plot_h - hh:.1f}" '
                        f'width="{max(0.5, slot - gap):.1f}" height="{hh:.1f}"/>')
    body += _x_labels(labels, x_of, slot)
    total = sum(values)
    description = (f"{len(values)} days from {labels[0]} to {labels[-1]}; total {_fmt(total)}{unit}, "
                   f"highest {_fmt(max(values))}{unit}." if values else "No days in the range.")
    return _frame(chart_id, title, description, body, y_max, unit)


def line_chart(chart_id: str, title: str, labels: list[str], values: list[float | None], target: float | None = None,
               unit: str = "%") -> str:
    """A line per day (gaps where a day has no value), with an optional dashed target line."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    y_max = 100.0 if unit == "%" else _nice_max(max((v for v in values if v is not None), default=0))
    slot = plot_w / max(1, len(values))

    def x_of(i: int) -> float:
        return LEFT + i * slot

    body = []
    if target is not None:
        y = TOP + plot_h * (1 - target / y_max)
        body.append(f'<line class="target" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}">'
                    f'<title>Target {_fmt(target)}{escape(unit)}</title></line>')
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, value in enumerate(values):
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        x, y = x_of(i) + slot / 2, TOP + plot_h * (1 - value / y_max)
        segment.append(f"{x:.1f},{y:.1f}")
        body.append(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="2.5"><title>{escape(labels[i])}: '
                    f'{_fmt(value)}{escape(unit)}</title></circle>')
    if segment:
        segments.append(segment)
    body = [f'<polyline class="line" points="{" ".join(s)}"/>' for s in segments] + body
    body += _x_labels(labels, x_of, slot)
    known = [v for v in values if v is not None]
    description = (f"{len(values)} days from {labels[0]} to {labels[-1]}; lowest {_fmt(min(known))}{unit}, "
                   f"highest {_fmt(max(known))}{unit}" + (f"; target {_fmt(target)}{unit}." if target is not None else ".")
                   if known else "No questions in the range.")
    return _frame(chart_id, title, description, body, y_max, unit)
