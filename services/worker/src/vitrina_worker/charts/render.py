"""PNG charts from aggregated numbers: bars per day, bars per product.

Only ``matplotlib.figure.Figure`` with an Agg canvas of its own: pyplot keeps global state
(a registry of open figures) that leaks memory in a long-running worker and is not
thread-safe, while separate Figures may be drawn in separate threads (matplotlib caches
font objects per thread). Text is drawn with DejaVu Sans, which ships with matplotlib and
has Latin and Cyrillic glyphs; characters it lacks (emoji in a product title) are dropped
rather than drawn as boxes, and ``$`` never switches to math mode.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from functools import cache
from typing import Any

from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

FONT = font_manager.FontProperties(family="DejaVu Sans")
SIZE_INCHES = (9.0, 4.8)
DPI = 100
BAR_COLOR = "#3b7dd8"
MUTED = "#6b7280"
MAX_LABEL_CHARS = 38
MAX_DAY_TICKS = 12


@cache
def _glyphs() -> frozenset[int]:
    path = font_manager.findfont(FONT, fallback_to_default=False)
    return frozenset(font_manager.get_font(path).get_charmap())


def drawable(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    """``text`` without characters the font cannot draw, shortened to ``limit`` with "…"."""
    glyphs = _glyphs()
    kept = " ".join("".join(c for c in text if ord(c) in glyphs).split())
    return kept if len(kept) <= limit else kept[: limit - 1].rstrip() + "…"


def _figure(*, fit_labels: bool) -> tuple[Figure, Axes]:
    # Constrained layout measures every label to fit long product titles, at the cost of
    # an extra draw; day charts have short labels and fixed margins are twice as fast.
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained" if fit_labels else None)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    if not fit_labels:
        figure.subplots_adjust(left=0.12, right=0.98, top=0.9, bottom=0.12)
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(labelfontfamily=FONT.get_family()[0], labelsize=9, colors="#374151")
    return figure, axes


def _whole_numbers(axis: Any) -> None:
    # 1 234 567 rather than matplotlib's "1.2 … 1e6" offset notation.
    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{int(value):,}".replace(",", " ")))


def _title(axes: Axes, title: str) -> None:
    axes.set_title(drawable(title, 120), fontproperties=FONT, fontsize=13, loc="left", pad=12,
                   parse_math=False)  # fmt: skip


def _label(axes: Axes, x: str | None, y: str | None) -> None:
    if x:
        axes.set_xlabel(drawable(x, 60), fontproperties=FONT, color=MUTED, parse_math=False)
    if y:
        axes.set_ylabel(drawable(y, 60), fontproperties=FONT, color=MUTED, parse_math=False)


def _note(axes: Axes, text: str) -> None:
    axes.text(0.5, 0.5, drawable(text, 80), transform=axes.transAxes, ha="center", va="center",
              fontproperties=FONT, fontsize=12, color=MUTED, parse_math=False)  # fmt: skip


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def daily_bars(
    days: Sequence[date],
    values: Sequence[int],
    *,
    title: str,
    day_axis: str,
    value_axis: str,
    empty_note: str,
) -> bytes:
    """One bar per day (zero days stay as gaps on the axis); ``empty_note`` when all zero."""
    figure, axes = _figure(fit_labels=False)
    positions = list(range(len(days)))
    axes.bar(positions, list(values), width=0.8, color=BAR_COLOR)
    axes.set_xlim(-0.7, len(days) - 0.3)
    # At most ~12 evenly spaced day ticks, counted back from the last day (always shown);
    # day.month reads the same in Russian and English, no month names to translate.
    step = max(1, -(-len(days) // MAX_DAY_TICKS))
    ticks = positions[::-1][::step][::-1]
    axes.set_xticks(ticks, labels=[days[index].strftime("%d.%m") for index in ticks])
    _whole_numbers(axes.yaxis)
    axes.grid(axis="y", color="#e5e7eb", linewidth=0.8)
    axes.set_axisbelow(True)
    if not any(values):
        axes.set_ylim(0, 1)
        _note(axes, empty_note)
    _title(axes, title)
    _label(axes, day_axis, value_axis)
    return _png(figure)


def product_bars(
    titles: Sequence[str], units: Sequence[int], *, title: str, value_axis: str, empty_note: str
) -> bytes:
    """Horizontal bars, best seller on top, each labelled with its count."""
    figure, axes = _figure(fit_labels=True)
    positions = list(range(len(titles)))
    bars = axes.barh(positions, list(units), color=BAR_COLOR, height=0.6)
    axes.set_yticks(positions, labels=[drawable(t) for t in titles], parse_math=False)
    axes.invert_yaxis()
    _whole_numbers(axes.xaxis)
    axes.grid(axis="x", color="#e5e7eb", linewidth=0.8)
    axes.set_axisbelow(True)
    if titles:
        axes.bar_label(bars, padding=3, fontsize=9, color="#374151")
        axes.set_xlim(0, max(units) * 1.12 + 0.5)
    else:
        axes.set_yticks([])
        axes.set_xlim(0, 1)
        _note(axes, empty_note)
    _title(axes, title)
    _label(axes, value_axis, None)
    return _png(figure)
