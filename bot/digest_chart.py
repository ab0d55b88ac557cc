"""The chart of the weekly digest: diary contributions per school and section over the term.

The digest is posted in the cluster's group chat and read on phones (Telegram, Matrix), so the
chart is one PNG about 1080 px wide with large type: one horizontal bar per school, stacked by
diary section in the Okabe–Ito colour-blind-safe palette, the total at the end of each bar, the
section legend between the title and the bars (where it can never cover a bar), and school
names shortened by `short_name` to fit a phone-sized label.

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
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.backend_bases import RendererBase
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

__all__ = ["PALETTE", "ChartData", "draw_chart", "short_name"]


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

# Words that say what kind of school it is rather than which one, compared without accents and
# case (the cluster's languages: en, pt, it, nl, cs, hu, hr). They go only when a name is too
# long, so a name that fits is shown exactly as its school writes it.
_GENERIC_WORDS = frozenset(
    {
        # English
        "school",
        "primary",
        "secondary",
        "elementary",
        "basic",
        "high",
        "junior",
        "infant",
        "academy",
        "college",
        # Portuguese
        "escola",
        "escolas",
        "agrupamento",
        "basica",
        "secundaria",
        "profissional",
        # Italian
        "scuola",
        "istituto",
        "comprensivo",
        "primaria",
        "secondaria",
        "statale",
        "elementare",
        "liceo",
        # Dutch
        "basisschool",
        "openbare",
        # Czech
        "zakladni",
        "skola",
        "materska",
        "stredni",
        "gymnazium",
        "gimnazium",  # Hungarian
        # Hungarian
        "altalanos",
        "iskola",
        "iskolaja",
        "kozepiskola",
        # Croatian
        "osnovna",
        "srednja",
        "gimnazija",
    }
)
# Abbreviations of the same, compared with their accents: "OŠ" (Croatian) must not take the
# Portuguese article "Os" with it, nor "ES" (Escola Secundária) the Hungarian "és".
_GENERIC_ABBREVIATIONS = frozenset({"eb", "es", "ebs", "eb1", "eb23", "eb2,3", "ic", "obs", "cbs"})
_GENERIC_ABBREVIATIONS |= frozenset({"oš", "zš"})
# Little words left stranded at either end once the generic words are gone ("Agrupamento de
# Escolas de Vila Real" becomes "Vila Real", not "de de Vila Real"). Only lower-case ones go:
# a capitalised article is part of the name ("Basisschool De Regenboog" keeps "De Regenboog").
_CONNECTORS = frozenset(
    {
        *("de", "da", "do", "das", "dos", "e"),  # pt
        *("di", "del", "della", "dello", "dei", "degli", "delle", "ed"),  # it
        *("of", "the", "and", "for"),  # en
        *("van", "der", "het", "en"),  # nl
        *("a", "az", "es"),  # hu (és), cs (a)
        *("i", "u"),  # hr
    }
)
_ELLIPSIS = "…"
# Characters not worth keeping right before the ellipsis.
_CUT_STRIP = " ,;:.-–—/(&+"


def short_name(name: str, limit: int = 18) -> str:
    """A school name shortened for a phone-sized label (drops common words like Escola/School/Primary/Basic... only if needed, then cuts with an ellipsis); stable and unique enough.

    The result depends on the name and the limit only. A name that fits (after collapsing runs
    of white space) comes back unchanged; a longer one loses the words that only say what kind
    of school it is ("Escola Básica de Telheiras" gives "Telheiras") and, if still too long, is
    cut to `limit` characters, the last of them an ellipsis. Two schools of one cluster rarely
    differ only in those words; `draw_chart` tells such names apart when they do.

    Raises:
        ValueError: if `limit` is below 1.
    """  # noqa: E501 (the first line is the agreed interface text)
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    text = _tidy(name)
    if len(text) <= limit:
        return text
    return _cut(_without_generic(text), limit)


def _tidy(name: str) -> str:
    """`name` in NFC with its white space collapsed.

    NFC, so that a letter and its accent count as one character and are never cut apart.
    """
    return " ".join(unicodedata.normalize("NFC", name).split())


def _without_generic(text: str, only: frozenset[str] | None = None) -> str:
    """`text` without its generic words (those whose `_key` is in `only`, if given).

    Connectors stranded at either end go too; a name made only of generic words ("Primary
    School") comes back whole.
    """
    words = text.split(" ")
    kept = [w for w in words if not (_is_generic(w) and (only is None or _key(w) in only))]
    if len(kept) == len(words):
        return text
    while kept and _is_stranded_connector(kept[0]):
        kept.pop(0)
    while kept and _is_stranded_connector(kept[-1]):
        kept.pop()
    return " ".join(kept) if kept else text


def _key(word: str) -> str:
    """A word compared without case, accents or surrounding punctuation."""
    decomposed = unicodedata.normalize("NFD", word.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.strip(".,;:()'\"-–—")


def _is_generic(word: str) -> bool:
    if _key(word) in _GENERIC_WORDS:
        return True
    return word.casefold().strip(".,;:()'\"-–—") in _GENERIC_ABBREVIATIONS


def _is_stranded_connector(word: str) -> bool:
    return word.islower() and _key(word) in _CONNECTORS


def _cut(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, the last one an ellipsis, if it is longer than that."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip(_CUT_STRIP) + _ELLIPSIS


def _labels(schools: tuple[str, ...], limit: int = 18) -> list[str]:
    """The y-axis labels: `short_name` of each school, told apart when two come out the same.

    Names that collide once their generic words are gone ("Escola Básica de Vila Real",
    "Escola Secundária de Vila Real" both give "Vila Real") lose only the generic words they
    all share ("Básica de Vila Re…", "Secundária de Vil…"); any still alike get a number, in
    display order.
    """
    full = [_tidy(school) for school in schools]
    labels = [short_name(name, limit) for name in full]
    clashes: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        clashes.setdefault(label.casefold(), []).append(index)
    for members in clashes.values():
        if len(members) < 2:
            continue
        shared = frozenset.intersection(
            *(frozenset(_key(w) for w in full[i].split(" ") if _is_generic(w)) for i in members)
        )
        for i in members:
            labels[i] = _cut(_without_generic(full[i], shared), limit)
    seen: dict[str, int] = {}
    for index, label in enumerate(labels):
        key = label.casefold()
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            suffix = f" ({seen[key]})"
            labels[index] = _cut(label, max(1, limit - len(suffix))) + suffix
    return labels


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
        _labels(data.schools),
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
