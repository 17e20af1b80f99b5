"""Charts drawn on the server as SVG: a bar chart, a line chart and a histogram.

Each chart is a `<figure class="chart">`: the picture (`role="img"`, a
`<title>`, an `aria-label` saying what it shows) and under it a `<details>`
holding the same figures as a table, for screen readers, for copying and for
anyone who would rather read numbers than bars. The words around the numbers
come from the caller, already in the reader's language; this module only
draws. No script, no web font: the picture scales with its box (`viewBox`),
and every text in it is escaped.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Iterable, Sequence

import attrs
from markupsafe import Markup, escape

__all__ = ["ChartText", "Series", "bar_chart", "format_number", "histogram", "line_chart"]

PALETTE = ("#a4161a", "#0b4f8a", "#1b6e2e", "#8a5a00")
"""Series colours (dark enough for 3:1 against white); the table says it in words."""
WIDTH = 400
"""Narrow enough that text stays legible on a phone (the picture scales to its box)."""
FONT = 14
CHAR = 8.4
"""A generous width of a half-width character at `FONT` (for clipping labels)."""
INK = "#1b1b1b"
MUTED = "#555"
GRID = "#d0d0d0"


def _numbers(values: Iterable[float]) -> tuple[float, ...]:
    return tuple(values)


@attrs.frozen
class Series:
    """One row of numbers, one per label, under a name (shown in the legend and table)."""

    name: str
    values: tuple[float, ...] = attrs.field(converter=_numbers)


@attrs.frozen
class ChartText:
    """What a chart says around its numbers, in the reader's language."""

    title: str
    """The `<title>` and the start of the `aria-label`."""
    table: str
    """The `<summary>` of the table under the chart ("The figures as a table")."""
    label_heading: str
    """The heading of the table's first column (what the labels are: "Week", "Club")."""
    summary: str = ""
    """One sentence for the `aria-label` after the title (the main finding)."""


Format = Callable[[float], str]


def format_number(value: float) -> str:
    """`12`, `0.5`, `4.7`: whole numbers without decimals, others with one."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.1f}"


def _width(text: str) -> int:
    """Display width in half-width units (a Chinese character takes two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _clip(text: str, limit: int) -> str:
    if _width(text) <= limit:
        return text
    out = ""
    for ch in text:
        if _width(out + ch) > limit - 1:
            break
        out += ch
    return out + "…"


def _scale(top: float, *, whole: bool) -> tuple[float, float]:
    """A round top for the axis and the step between grid lines (about four steps)."""
    if top <= 0:
        return (4.0, 1.0) if whole else (1.0, 0.25)
    raw = top / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    if whole:
        step = max(1.0, math.ceil(step))
    return step * math.ceil(top / step - 1e-9), step


def _is_whole(series: Sequence[Series]) -> bool:
    return all(float(v).is_integer() for s in series for v in s.values)


def _open(key: str, text: ChartText, height: int) -> str:
    label = text.title if not text.summary else f"{text.title}. {text.summary}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {WIDTH} {height}"'
        f' aria-label="{escape(label)}" id="chart-{escape(key)}"'
        f' font-family="system-ui, sans-serif" font-size="{FONT}">'
        f"<title>{escape(text.title)}</title>"
    )


def _legend(series: Sequence[Series], x0: float, y: float) -> tuple[list[str], float]:
    """The legend (for two series or more), wrapped over lines; and the height it takes."""
    parts: list[str] = []
    if len(series) < 2:
        return parts, 0.0
    x = x0
    lines = 1
    for index, one in enumerate(series):
        width = 16 + CHAR * _width(one.name) + 14
        if x > x0 and x + width > WIDTH:
            x, y, lines = x0, y + 18, lines + 1
        colour = PALETTE[index % len(PALETTE)]
        parts.append(f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16:.1f}" y="{y:.1f}" fill="{INK}">{escape(one.name)}</text>')
        x += width
    return parts, 18.0 * lines + 6


def _table(
    key: str,
    text: ChartText,
    labels: Sequence[str],
    series: Sequence[Series],
    fmt: Format,
) -> str:
    head = "".join(f'<th scope="col">{escape(s.name)}</th>' for s in series)
    rows = []
    for index, label in enumerate(labels):
        cells = "".join(
            f"<td>{escape(fmt(s.values[index]))}</td>" if index < len(s.values) else "<td></td>"
            for s in series
        )
        rows.append(f'<tr><th scope="row">{escape(label)}</th>{cells}</tr>')
    return (
        f'<details><summary>{escape(text.table)}</summary><div class="table-wrap">'
        f'<table id="chart-{escape(key)}-table"><caption class="visually-hidden">'
        f"{escape(text.title)}</caption>"
        f'<thead><tr><th scope="col">{escape(text.label_heading)}</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div></details>"
    )


def _figure(svg: str, table: str) -> Markup:
    return Markup(f'<figure class="chart">{svg}{table}</figure>')  # every part is escaped


def bar_chart(
    key: str,
    text: ChartText,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    fmt: Format = format_number,
) -> Markup:
    """Horizontal bars, one group per label (long names stay readable on a phone).

    `key` makes the chart's ids unique on the page.
    """
    left, right, bar, gap = 150.0, 30.0, 14.0 if len(series) > 1 else 18.0, 10.0
    legend, legend_height = _legend(series, 8.0, 16.0)
    top = legend_height + 8.0
    group = bar * max(1, len(series)) + gap
    plot_height = group * max(1, len(labels))
    height = int(top + plot_height + 26)
    peak = max((v for s in series for v in s.values), default=0.0)
    axis_top, step = _scale(peak, whole=_is_whole(series))
    plot_width = WIDTH - left - right
    parts = [_open(key, text, height), *legend]
    tick = 0.0
    while tick <= axis_top + 1e-9:
        x = left + plot_width * tick / axis_top
        parts.append(
            f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{top + plot_height:.1f}"'
            f' stroke="{GRID}"/>'
        )
        parts.append(
            f'<text x="{x:.1f}" y="{top + plot_height + 16:.1f}" text-anchor="middle"'
            f' fill="{MUTED}">{escape(fmt(tick))}</text>'
        )
        tick += step
    for row, label in enumerate(labels):
        y0 = top + row * group + gap / 2
        parts.append(
            f'<text x="{left - 8:.1f}" y="{y0 + group / 2 - gap / 2 + 4:.1f}" text-anchor="end"'
            f' fill="{INK}">{escape(_clip(label, int((left - 12) / CHAR)))}</text>'
        )
        for index, one in enumerate(series):
            value = one.values[row] if row < len(one.values) else 0.0
            y = y0 + index * bar
            length = plot_width * max(0.0, value) / axis_top
            colour = PALETTE[index % len(PALETTE)]
            shown = escape(fmt(value))
            parts.append(
                f'<rect x="{left:.1f}" y="{y:.1f}" width="{length:.1f}" height="{bar - 2:.1f}"'
                f' fill="{colour}"><title>{escape(label)} · {escape(one.name)}: {shown}</title>'
                "</rect>"
            )
            parts.append(
                f'<text x="{left + length + 4:.1f}" y="{y + bar - 4:.1f}" fill="{INK}">'
                f"{shown}</text>"
            )
    parts.append(
        f'<line x1="{left:.1f}" y1="{top:.1f}" x2="{left:.1f}" y2="{top + plot_height:.1f}"'
        f' stroke="{INK}"/>'
    )
    parts.append("</svg>")
    return _figure("".join(parts), _table(key, text, labels, series, fmt))


def _columns(
    key: str,
    text: ChartText,
    labels: Sequence[str],
    series: Sequence[Series],
    fmt: Format,
    draw: Callable[[float, float, float, Callable[[float], float]], list[str]],
) -> Markup:
    """The frame of a vertical chart (legend, grid, axis labels); `draw` adds the marks
    given (left, plot width, slot width, y of a value)."""
    legend, legend_height = _legend(series, 8.0, 16.0)
    left, right, top, bottom = 32.0, 8.0, legend_height + 14.0, 30.0
    height = int(top + 190 + bottom)
    plot_height = height - top - bottom
    plot_width = WIDTH - left - right
    peak = max((v for s in series for v in s.values), default=0.0)
    axis_top, step = _scale(peak, whole=_is_whole(series))

    def y_of(value: float) -> float:
        return top + plot_height * (1 - max(0.0, value) / axis_top)

    parts = [_open(key, text, height), *legend]
    tick = 0.0
    while tick <= axis_top + 1e-9:
        y = y_of(tick)
        parts.append(
            f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{WIDTH - right:.1f}" y2="{y:.1f}"'
            f' stroke="{GRID}"/>'
        )
        parts.append(
            f'<text x="{left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">'
            f"{escape(fmt(tick))}</text>"
        )
        tick += step
    slot = plot_width / max(1, len(labels))
    widest = max((_width(x) for x in labels), default=1)
    every = max(1, math.ceil(len(labels) * (CHAR * widest + 6) / plot_width))
    for index, label in enumerate(labels):
        if index % every:
            continue
        x = left + slot * (index + 0.5)
        parts.append(
            f'<text x="{x:.1f}" y="{top + plot_height + 18:.1f}" text-anchor="middle"'
            f' fill="{INK}">{escape(_clip(label, 16))}</text>'
        )
    parts += draw(left, plot_width, slot, y_of)
    parts.append(
        f'<line x1="{left:.1f}" y1="{top + plot_height:.1f}" x2="{WIDTH - right:.1f}"'
        f' y2="{top + plot_height:.1f}" stroke="{INK}"/>'
    )
    parts.append("</svg>")
    return _figure("".join(parts), _table(key, text, labels, series, fmt))


def line_chart(
    key: str,
    text: ChartText,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    fmt: Format = format_number,
) -> Markup:
    """A line per series over the labels (weeks, months), each point marked and titled."""

    def draw(left: float, width: float, slot: float, y_of: Callable[[float], float]) -> list[str]:
        del width
        parts: list[str] = []
        for index, one in enumerate(series):
            colour = PALETTE[index % len(PALETTE)]
            points = [
                (left + slot * (i + 0.5), y_of(v)) for i, v in enumerate(one.values[: len(labels)])
            ]
            if len(points) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
                parts.append(
                    f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"/>'
                )
            for (x, y), label, value in zip(points, labels, one.values, strict=False):
                parts.append(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}">'
                    f"<title>{escape(label)} · {escape(one.name)}: {escape(fmt(value))}</title>"
                    "</circle>"
                )
        return parts

    return _columns(key, text, labels, series, fmt, draw)


def histogram(
    key: str,
    text: ChartText,
    bins: Sequence[str],
    counts: Series,
    *,
    fmt: Format = format_number,
) -> Markup:
    """Touching columns, one per bin (`0`, `1–19`, ...), with the count above each."""

    def draw(left: float, width: float, slot: float, y_of: Callable[[float], float]) -> list[str]:
        del width
        parts: list[str] = []
        base = y_of(0)
        for index, (label, value) in enumerate(zip(bins, counts.values, strict=False)):
            x = left + slot * index
            y = y_of(value)
            shown = escape(fmt(value))
            parts.append(
                f'<rect x="{x + 0.5:.1f}" y="{y:.1f}" width="{slot - 1:.1f}"'
                f' height="{base - y:.1f}" fill="{PALETTE[1]}">'
                f"<title>{escape(label)}: {shown}</title></rect>"
            )
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle"'
                f' fill="{INK}">{shown}</text>'
            )
        return parts

    return _columns(key, text, bins, [counts], fmt, draw)
