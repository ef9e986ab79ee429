"""The demo report's charts: inline SVG written in Python (no JavaScript, no external file: the report works
offline). Each chart is one ``<svg>`` element, well-formed XML, with a ``<title>`` and a ``<desc>`` that spell out
every number it draws (its text alternative; the report also shows the numbers in a table).

* :func:`bar_chart`: a grouped bar chart (per group, one bar per series), y axis from 0, ticks, a legend.
* :func:`timeline`: a Gantt-like chart, one row per item, each a sequence of phases over a shared x axis.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence
from xml.sax.saxutils import escape, quoteattr

SVG_NS = "http://www.w3.org/2000/svg"
# colour-blind-safe (Okabe-Ito)
PALETTE = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000"]
FONT = 12
CHAR = 6.6  # the width of a character at FONT px, roughly (sans-serif): for layout only


def nice_ticks(top: float, count: int = 5) -> tuple[float, float]:
    """``(ceiling, step)``: a round step (1, 2, 2.5 or 5 times a power of ten) and the first multiple of it at or
    above ``top``, for about ``count`` ticks. ``top`` <= 0 (no data, all zeros) gives ``(1, 0.2)``."""
    if not top > 0 or not math.isfinite(top):
        return 1.0, 0.2
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return math.ceil(top / step - 1e-9) * step, step


def tick_label(value: float, step: float) -> str:
    """``value`` with as many decimals as ``step`` needs (0.25: two), thousands separated."""
    decimals = next((d for d in range(7) if abs(round(step, d) - step) <= step * 1e-9), 6)
    return f"{value:,.{decimals}f}"


def _attrs(**values) -> str:
    return "".join(f" {k.rstrip('_').replace('_', '-')}={quoteattr(str(v))}" for k, v in values.items()
                   if v is not None)


def _num(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def _open(chart_id: str, title: str, desc: str, width: float, height: float, kind: str) -> list[str]:
    return [f'<svg xmlns="{SVG_NS}"{_attrs(id=chart_id, class_=f"chart {kind}", viewBox=f"0 0 {_num(width)} {_num(height)}", width=_num(width), height=_num(height), role="img", aria_labelledby=f"{chart_id}-title", aria_describedby=f"{chart_id}-desc", font_family="sans-serif", font_size=FONT)}>',
            f'<title id="{chart_id}-title">{escape(title)}</title>', f'<desc id="{chart_id}-desc">{escape(desc)}</desc>']


def _legend(names: Sequence[str], colours: Sequence[str], width: float, y: float) -> tuple[list[str], float]:
    """Swatches and names, wrapped to ``width``; returns the elements and the y below them."""
    out, x = ['<g class="legend">'], 8.0
    for name, colour in zip(names, colours):
        w = 18 + len(name) * CHAR + 14
        if x > 8 and x + w > width:
            x, y = 8.0, y + 18
        out.append(f'<rect{_attrs(x=_num(x), y=_num(y - 10), width=12, height=12, fill=colour)}/>'
                   f'<text{_attrs(x=_num(x + 17), y=_num(y))}>{escape(name)}</text>')
        x += w
    out.append("</g>")
    return out, y + 14


def _empty(out: list[str], width: float, height: float, message: str) -> str:
    out.append(f'<text{_attrs(x=_num(width / 2), y=_num(height / 2), text_anchor="middle")}>{escape(message)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def bar_chart(chart_id: str, title: str, groups: Sequence[str], series: Sequence[str],
              values: Sequence[Sequence[float]], *, unit: str = "", width: float = 560, height: float = 300,
              value_format: Callable[[float], str] = lambda v: f"{v:,.2f}") -> str:
    """A grouped bar chart: ``values[g][s]`` (>= 0) is series ``s`` of group ``g``; a bar's height is its value over
    the axis's top (a round number at or above the largest value; 1 when every value is 0). Each bar is a
    ``<rect class="bar">`` with ``data-group``, ``data-series`` and ``data-value`` and a ``<title>`` tooltip."""
    values = [[max(0.0, float(v)) for v in row] for row in values]
    suffix = f" {unit}" if unit else ""
    desc = "; ".join(f"{g}: " + ", ".join(f"{s} {value_format(v)}{suffix}" for s, v in zip(series, row))
                     for g, row in zip(groups, values)) or "no data"
    out = _open(chart_id, title, desc, width, height, "bars")
    if not groups or not series:
        return _empty(out, width, height, "no data")
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(series))]
    legend, top_y = _legend(series, colours, width, 16)
    out += legend
    ceiling, step = nice_ticks(max((v for row in values for v in row), default=0.0))
    labels = [tick_label(k * step, step) for k in range(round(ceiling / step) + 1)]
    left = 12 + max(len(s) for s in labels) * CHAR + (18 if unit else 0)
    x0, y0, x1, y1 = left, top_y + 8, width - 8, height - 28  # the plot area: y0 its top, y1 its baseline
    plot_h = y1 - y0
    out.append('<g class="axis y">')
    for k, label in enumerate(labels):
        y = y1 - plot_h * k * step / ceiling
        out.append(f'<line{_attrs(x1=_num(x0), x2=_num(x1), y1=_num(y), y2=_num(y), stroke="#ddd")}/>'
                   f'<text{_attrs(x=_num(x0 - 4), y=_num(y + 4), text_anchor="end")}>{label}</text>')
    if unit:  # the axis's title, along it
        mid = (y0 + y1) / 2
        out.append(f'<text{_attrs(x=14, y=_num(mid), text_anchor="middle", transform=f"rotate(-90 14 {_num(mid)})")}>'
                   f'{escape(unit)}</text>')
    out.append(f'<line{_attrs(x1=_num(x0), x2=_num(x0), y1=_num(y0), y2=_num(y1), stroke="#333")}/></g>')
    band = (x1 - x0) / len(groups)
    bar_w = min(band * 0.8 / len(series), 72.0)  # a few groups: bars of a sensible width, centred in their band
    for g, (group, row) in enumerate(zip(groups, values)):
        gx = x0 + band * g + (band - bar_w * len(series)) / 2
        out.append('<g class="group">')
        for s, v in enumerate(row):
            h = plot_h * v / ceiling
            x = gx + bar_w * s
            label = value_format(v)
            out.append(f'<rect{_attrs(class_="bar", data_group=g, data_series=s, data_value=repr(v), x=_num(x), y=_num(y1 - h), width=_num(bar_w), height=_num(h), fill=colours[s])}>'
                       f'<title>{escape(f"{group}, {series[s]}: {label}{suffix}")}</title></rect>')
            if len(label) * CHAR * 0.85 <= bar_w:  # the value over its bar, where it fits
                out.append(f'<text{_attrs(x=_num(x + bar_w / 2), y=_num(y1 - h - 3), text_anchor="middle", font_size=FONT - 2)}>'
                           f'{escape(label)}</text>')
        out.append(f'<text{_attrs(x=_num(x0 + band * (g + 0.5)), y=_num(y1 + 16), text_anchor="middle")}>'
                   f'{escape(group)}</text></g>')
    out.append(f'<line{_attrs(x1=_num(x0), x2=_num(x1), y1=_num(y1), y2=_num(y1), stroke="#333")}/>')
    out.append("</svg>")
    return "\n".join(out)


Segment = tuple[str, float, float]  # (phase, start, end)


def timeline(chart_id: str, title: str, rows: Sequence[tuple[str, Sequence[Segment], str]], phases: Sequence[str],
             *, axis_label: str = "", width: float = 720, row_height: float = 22,
             value_format: Callable[[float], str] = lambda v: f"{v:,.0f}") -> str:
    """A Gantt-like chart: ``rows`` are ``(label, segments, note)``, each segment ``(phase, start, end)`` drawn as
    a ``<rect class="segment">`` (``data-phase``, ``data-start``, ``data-end``) in its phase's colour from the
    legend ``phases``; ``note`` (an outcome, say) follows the row's last segment. The x axis spans every segment
    (one unit when they all start and end at the same point)."""
    points = [p for _, segments, _ in rows for _, a, b in segments for p in (a, b)]
    desc = "; ".join(f"{label}: " + (", ".join(f"{phase} {value_format(a)} to {value_format(b)}"
                                              for phase, a, b in segments) or "nothing")
                     + (f" ({note})" if note else "") for label, segments, note in rows) or "no data"
    if axis_label:
        desc = f"{axis_label}. {desc}"
    label_w = min(260.0, 10 + max((len(label) for label, _, _ in rows), default=0) * CHAR)
    note_w = 10 + max((len(note) for _, _, note in rows), default=0) * CHAR
    colours = {p: PALETTE[i % len(PALETTE)] for i, p in enumerate(phases)}
    legend, top_y = _legend(phases, list(colours.values()), width, 16) if rows else ([], 16)
    height = top_y + 12 + row_height * len(rows) + 40
    out = _open(chart_id, title, desc, width, height, "timeline")
    if not rows or not points:
        return _empty(out, width, height, "no data")
    out += legend
    low, high = min(points), max(points)
    _, step = nice_ticks(high - low, 6)
    start = math.floor(low / step) * step
    end = max(start + step, math.ceil(high / step - 1e-9) * step)
    x0, x1 = label_w, width - note_w
    y0 = top_y + 8
    y1 = y0 + row_height * len(rows)
    scale = (x1 - x0) / (end - start)
    at = lambda v: x0 + (v - start) * scale  # noqa: E731
    out.append('<g class="axis x">')
    k = 0
    while start + k * step <= end + 1e-9:
        x = at(start + k * step)
        out.append(f'<line{_attrs(x1=_num(x), x2=_num(x), y1=_num(y0), y2=_num(y1), stroke="#ddd")}/>'
                   f'<text{_attrs(x=_num(x), y=_num(y1 + 14), text_anchor="middle")}>'
                   f'{tick_label(start + k * step, step)}</text>')
        k += 1
    out.append(f'<line{_attrs(x1=_num(x0), x2=_num(x1), y1=_num(y1), y2=_num(y1), stroke="#333")}/>')
    if axis_label:
        out.append(f'<text{_attrs(x=_num((x0 + x1) / 2), y=_num(y1 + 32), text_anchor="middle")}>'
                   f'{escape(axis_label)}</text>')
    out.append("</g>")
    for r, (label, segments, note) in enumerate(rows):
        y = y0 + row_height * r
        out.append(f'<g class="row"><text{_attrs(x=_num(x0 - 6), y=_num(y + row_height * 0.68), text_anchor="end")}>'
                   f'{escape(label)}</text>')
        for phase, a, b in segments:
            w = max(1.0, (b - a) * scale)  # a phase within one point still shows
            out.append(f'<rect{_attrs(class_="segment", data_phase=phase, data_start=repr(a), data_end=repr(b), x=_num(at(a)), y=_num(y + 3), width=_num(w), height=_num(row_height - 6), fill=colours.get(phase, "#999"))}>'
                       f'<title>{escape(f"{label}: {phase}, {value_format(a)} to {value_format(b)}")}</title></rect>')
        if note:
            last = max((b for _, _, b in segments), default=start)
            out.append(f'<text{_attrs(x=_num(at(last) + 4), y=_num(y + row_height * 0.68))}>{escape(note)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)
