"""The chart of the weekly digest: diary contributions per school and section over the term.

The digest is posted in the cluster's group chat and read on phones (Telegram, Matrix), so the
chart is one PNG about 1080 px wide with large type: one horizontal bar per school, stacked by
diary section in the Okabe–Ito colour-blind-safe palette, the total at the end of each bar, the
section legend between the title and the bars (where it can never cover a bar), and school
names shortened to fit a phone-sized label (`bot.school_labels`).

matplotlib is imported only inside `draw_chart` (most processes never draw, and it costs a
few hundred milliseconds and tens of megabytes to import), and only its object API is used:
a `Figure` with its own Agg canvas, no pyplot and no changes to the global rcParams, so drawing
is safe in a long-running bot and from several threads at once. Every text uses the DejaVu
Sans files shipped inside matplotlib, named by path, so the picture never depends on the fonts
installed on the machine, and Czech, Hungarian, Croatian or Portuguese names have their glyphs.
The same data gives the same PNG bytes (no version or time stamp is written into the file).

A chart with no schools is still drawn (title, legend, caption and an empty plot area marked
with a dash) rather than refused, so a digest can always post it; a caller who wants to say
"nothing yet" in words passes that, translated, as `caption_total`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.school_labels import school_labels

if TYPE_CHECKING:
    from matplotlib.backend_bases import RendererBase
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

__all__ = ["PALETTE", "ChartData", "draw_chart"]


@dataclass(frozen=True)
class ChartData:
    """What one chart shows: submitted contributions per school (rows) and section (columns)."""

    title: str  # already translated, e.g. "Diary contributions, Autumn term"
    schools: tuple[str, ...]  # full school names, in display order
    sections: tuple[str, ...]  # translated section labels, template order
    counts: tuple[tuple[int, ...], ...]  # counts[i][j]: school i, section j
    caption_total: str = (
        ""  # optional small text under the chart (translated), e.g. "42 contributions"
    )


# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision
# deficiency. Black, the palette's first colour, comes last here: a black segment would look like
# a gap or a shadow next to the others, and the five diary sections never reach it.
PALETTE: tuple[str, ...] = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#F0E442",  # yellow
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#000000",  # black
)

# Layout, for a phone: 7.2 in at 150 dpi is 1080 px, the width Telegram and Matrix clients
# keep when they show a picture full-width. Heights in inches; matplotlib's constrained layout
# places everything inside them, so these only decide how thick the bars come out.
_WIDTH_IN = 7.2
_DPI = 150
_ROW_IN = 0.5  # per school
_TITLE_LINE_IN = 0.42
_LEGEND_ROW_IN = 0.32
_AXIS_IN = 0.5  # the x axis and its numbers
_CAPTION_LINE_IN = 0.32
_PAD_IN = 0.25
_BAR_HEIGHT = 0.7  # of a row, leaving a gap between schools

# Type sizes in points: at 150 dpi 13 pt is 27 px, which a phone shows at about 9-10 dp,
# the smallest that stays comfortable; the names and totals a step larger.
_TITLE_PT = 17
_LABEL_PT = 14
_TOTAL_PT = 14
_LEGEND_PT = 13
_TICK_PT = 13
_CAPTION_PT = 13
_INK = "#222222"
_MUTED = "#555555"
_RULE = "#999999"

# Legend geometry, in font sizes (em): a square-ish swatch, then its label.
_HANDLE_EM = 1.2
_HANDLE_PAD_EM = 0.5
_COLUMN_GAP_EM = 1.5


def draw_chart(data: ChartData) -> bytes:
    """The chart as PNG bytes.

    Raises:
        ValueError: if `counts` does not have one row per school and one count per section, a
            count is negative, or there are more sections than palette colours (8).
    """
    figure = _figure(data)
    buffer = io.BytesIO()
    # No "Software" entry (it names the matplotlib version), so the bytes depend on the data
    # alone; matplotlib writes no time stamp into a PNG.
    figure.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _figure(data: ChartData) -> Figure:
    """The chart as a matplotlib Figure with an Agg canvas (`draw_chart` saves it as PNG).

    Its one Axes holds one `BarContainer` per section, in section order, labelled with the
    section and holding one bar per school in display order (a bar's width is the count); the
    totals are annotations with gid "total".
    """
    _check(data)
    # Imported here, not at the top: see the module docstring.
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator
    from matplotlib.transforms import blended_transform_factory

    fonts = f"{matplotlib.get_data_path()}/fonts/ttf"

    def font(size: int, *, bold: bool = False) -> FontProperties:
        # By file, not by family name: no search among the machine's fonts, no surprises
        # from a matplotlibrc, and DejaVu Sans has every letter of our languages.
        fname = f"{fonts}/DejaVuSans-Bold.ttf" if bold else f"{fonts}/DejaVuSans.ttf"
        return FontProperties(fname=fname, size=size)

    schools = len(data.schools)
    figure = Figure(figsize=(_WIDTH_IN, 1.0), dpi=_DPI, facecolor="white", layout="constrained")
    # A little more room at the edges than the default, for the totals on the right.
    figure.get_layout_engine().set(w_pad=0.1, h_pad=0.06)
    canvas = FigureCanvasAgg(figure)
    renderer = canvas.get_renderer()
    usable_px = _WIDTH_IN * _DPI * 0.94

    title = _wrap(data.title, font(_TITLE_PT, bold=True), usable_px, renderer)
    caption = _wrap(data.caption_total, font(_CAPTION_PT), usable_px, renderer)
    legend_columns, legend_labels = _legend_columns(
        data.sections, font(_LEGEND_PT), usable_px, renderer
    )
    if legend_columns == 1:
        legend_rows = sum(label.count("\n") + 1 for label in legend_labels)
    else:
        legend_rows = -(-len(data.sections) // legend_columns)
    height = (
        _PAD_IN
        + (title.count("\n") + 1) * _TITLE_LINE_IN * bool(title)
        + legend_rows * _LEGEND_ROW_IN
        + (schools or 2) * _ROW_IN  # an empty chart keeps two rows for its dash
        + _AXIS_IN
        + (caption.count("\n") + 1) * _CAPTION_LINE_IN * bool(caption)
    )
    figure.set_size_inches(_WIDTH_IN, height)
    axes = figure.add_subplot()

    if title:
        figure.suptitle(title, fontproperties=font(_TITLE_PT, bold=True), color=_INK)
        figure.texts[-1].set_parse_math(False)
    if caption:
        figure.supxlabel(caption, fontproperties=font(_CAPTION_PT), color=_MUTED)
        figure.texts[-1].set_parse_math(False)

    rows = range(schools)
    totals = [sum(row) for row in data.counts]
    lefts = [0] * schools
    for j, section in enumerate(data.sections):
        widths = [data.counts[i][j] for i in rows]
        axes.barh(
            list(rows),
            widths,
            left=lefts,
            height=_BAR_HEIGHT,
            color=PALETTE[j],
            # A thin white seam keeps neighbouring segments apart (yellow next to orange).
            edgecolor="white",
            linewidth=1.0,
            label=section,
        )
        lefts = [left + width for left, width in zip(lefts, widths, strict=True)]

    for i, total in enumerate(totals):
        # Past the end of the bar, or at the axis for an empty one ("0"). Constrained layout
        # counts these texts, so it leaves room for them on the right.
        axes.annotate(
            str(total),
            xy=(total, i),
            xytext=(5, 0),
            textcoords="offset points",
            ha="left",
            va="center",
            fontproperties=font(_TOTAL_PT, bold=True),
            color=_INK,
            gid="total",
            annotation_clip=False,
        )

    if data.sections:
        # matplotlib fills legend columns top to bottom; reorder so the legend reads left to
        # right, line by line, in the same order as the segments along each bar.
        order = [
            k for c in range(legend_columns) for k in range(c, len(data.sections), legend_columns)
        ]
        # The legend belongs to the Axes, just above it, so constrained layout stacks title,
        # legend and bars without overlap (a figure legend "outside upper" would sit on the
        # title); centred on the figure, not on the Axes, whose left edge depends on the names.
        legend = axes.legend(
            [Patch(facecolor=PALETTE[k], edgecolor="none") for k in order],
            [legend_labels[k] for k in order],
            loc="lower center",
            bbox_to_anchor=(0.5, 1.0),
            bbox_transform=blended_transform_factory(figure.transFigure, axes.transAxes),
            ncols=legend_columns,
            frameon=False,
            prop=font(_LEGEND_PT),
            handlelength=_HANDLE_EM,
            handleheight=_HANDLE_EM * 0.6,
            handletextpad=_HANDLE_PAD_EM,
            columnspacing=_COLUMN_GAP_EM,
            borderaxespad=0.4,
        )
        for text in legend.get_texts():
            text.set_parse_math(False)
            text.set_color(_INK)

    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    if not schools:
        axes.set_axis_off()
        axes.text(
            0.5,
            0.5,
            "—",
            transform=axes.transAxes,
            ha="center",
            va="center",
            fontproperties=font(40),
            color="#BBBBBB",
        )
        return figure

    for side in ("left", "bottom"):
        axes.spines[side].set_color(_RULE)
    # First school at the top, as in the list it came from.
    axes.set_ylim(schools - 0.5, -0.5)
    axes.set_yticks(
        list(rows),
        school_labels(data.schools),
        fontproperties=font(_LABEL_PT),
        color=_INK,
        parse_math=False,
    )
    axes.tick_params(axis="y", length=0, pad=6)

    top = max(totals)
    axes.set_xlim(0, max(top, 1))
    ticks = [
        int(t)
        for t in MaxNLocator(nbins=4, integer=True, min_n_ticks=2).tick_values(0, top)
        if 0 <= t <= top
    ]
    axes.set_xticks(ticks, [str(t) for t in ticks], fontproperties=font(_TICK_PT), color=_MUTED)
    axes.tick_params(axis="x", color=_RULE)
    return figure


def _check(data: ChartData) -> None:
    if len(data.counts) != len(data.schools):
        raise ValueError(f"{len(data.counts)} rows of counts for {len(data.schools)} schools")
    if len(data.sections) > len(PALETTE):
        raise ValueError(f"{len(data.sections)} sections, more than {len(PALETTE)} colours")
    for school, row in zip(data.schools, data.counts, strict=True):
        if len(row) != len(data.sections):
            raise ValueError(f"{school!r}: {len(row)} counts for {len(data.sections)} sections")
        if any(count < 0 for count in row):
            raise ValueError(f"{school!r}: negative count in {row}")


def _text_px(text: str, prop: FontProperties, renderer: RendererBase) -> float:
    width, _, _ = renderer.get_text_width_height_descent(text, prop, ismath=False)
    return width


def _wrap(text: str, prop: FontProperties, max_px: float, renderer: RendererBase) -> str:
    """`text` broken into lines at spaces so that each fits `max_px` (a longer word stays whole)."""
    lines: list[str] = []
    for word in text.split():
        if lines and _text_px(f"{lines[-1]} {word}", prop, renderer) <= max_px:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return "\n".join(lines)


def _legend_columns(
    sections: tuple[str, ...], prop: FontProperties, max_px: float, renderer: RendererBase
) -> tuple[int, list[str]]:
    """How many legend columns fit across the chart, and the labels (wrapped if one column is too narrow).

    Columns are as wide as their widest label (entries k, k+n, k+2n... for n columns, as the
    legend is read line by line), plus a swatch and the gap between columns.
    """  # noqa: E501
    if not sections:
        return 1, []
    em = prop.get_size_in_points() * _DPI / 72
    widths = [_text_px(label, prop, renderer) for label in sections]
    overhead = (_HANDLE_EM + _HANDLE_PAD_EM) * em
    for columns in range(len(sections), 1, -1):
        needed = sum(
            max(widths[c::columns]) + overhead for c in range(columns)
        ) + _COLUMN_GAP_EM * em * (columns - 1)
        if needed <= max_px:
            return columns, list(sections)
    return 1, [_wrap(label, prop, max_px - overhead, renderer) for label in sections]
