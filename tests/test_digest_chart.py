"""Tests of `bot.digest_chart`: the digest's chart, read back as a PNG and as the Figure drawn.

The bars are checked against the counts through `_figure`, the Figure that `draw_chart` saves:
one BarContainer per section, one bar per school, each bar as wide as its count.
"""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import pytest
from matplotlib.colors import to_hex
from PIL import Image

from bot.digest_chart import PALETTE, ChartData, _figure, draw_chart
from bot.school_labels import school_labels, short_name

ROOT = Path(__file__).resolve().parent.parent

SECTIONS = ("Issue", "Action taken", "Impact", "Next steps", "Cluster meeting notes")
# Okabe & Ito (2008), written out here rather than imported, in the order the sections use it.
OKABE_ITO = ("#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7")

PORTUGUESE = ChartData(
    title="Contributos para o diário, 1.º período",
    schools=(
        "Agrupamento de Escolas de São João da Madeira",
        "Escola Básica de Telheiras",
        "Escola Secundária Dom João de Castro",
        "Escola Básica e Secundária de Vila Nova de Foz Côa",
        "Escola Básica n.º 1 de Évora",
    ),
    sections=("Problema", "Ação realizada", "Impacto", "Próximos passos", "Notas da reunião"),
    counts=((3, 2, 1, 0, 1), (0, 0, 0, 0, 0), (12, 9, 7, 5, 2), (4, 4, 2, 2, 1), (1, 0, 0, 0, 0)),
    caption_total="57 contributos",
)

# One name of each of the cluster's languages with letters outside Latin-1.
DIACRITICS = ChartData(
    title="Příspěvky do deníku, őszi félév, jesenski polugodište",
    schools=(
        "Základní škola a Mateřská škola Dvůr Králové nad Labem",
        "Kőrösi Csoma Sándor Általános Iskola",
        "Osnovna škola Ivana Gorana Kovačića Đakovo",
        "Escola Básica João de Deus, Guimarães",
        "Petőfi Sándor Gimnázium és Kollégium",
    ),
    sections=("Problém", "Megtett intézkedés", "Učinak", "Próximos passos", "Bilješke"),
    counts=((1, 2, 3, 4, 5),) * 5,
    caption_total="75 příspěvků · hozzájárulás · doprinosa",
)


def chart(schools: int, *, counts: tuple[tuple[int, ...], ...] | None = None) -> ChartData:
    names = tuple(f"School number {i + 1}" for i in range(schools))
    if counts is None:
        counts = tuple(tuple((i + j) % 4 for j in range(len(SECTIONS))) for i in range(schools))
    return ChartData("Diary contributions, Autumn term", names, SECTIONS, counts, "n contributions")


def png(data: ChartData) -> Image.Image:
    image = Image.open(io.BytesIO(draw_chart(data)))
    image.load()
    return image


def bar_widths(data: ChartData) -> list[list[float]]:
    """widths[i][j]: the bar of school i in section j, read from the drawn Axes."""
    axes = _figure(data).axes[0]
    assert [container.get_label() for container in axes.containers] == list(data.sections)
    return [
        [axes.containers[j].patches[i].get_width() for j in range(len(data.sections))]
        for i in range(len(data.schools))
    ]


def totals_drawn(data: ChartData) -> list[tuple[float, str]]:
    """The totals' texts with the y of the bar they belong to, top bar first."""
    axes = _figure(data).axes[0]
    totals = [t for t in axes.texts if t.get_gid() == "total"]
    return sorted((t.xy[1], t.get_text()) for t in totals)


# --- the PNG ---


@pytest.mark.parametrize("schools", [0, 1, 5, 12])
def test_a_png_of_phone_width(schools: int) -> None:
    image = png(chart(schools))
    assert image.format == "PNG"
    assert 900 <= image.width <= 1400
    assert 300 <= image.height <= 1600


def test_height_grows_with_the_schools_and_stays_reasonable() -> None:
    heights = [png(chart(n)).height for n in (1, 5, 12)]
    assert heights == sorted(heights) and len(set(heights)) == 3
    assert heights[-1] < 1.5 * png(chart(12)).width


def test_same_data_same_bytes() -> None:
    first = draw_chart(PORTUGUESE)
    assert draw_chart(PORTUGUESE) == first
    # Neither matplotlib's version nor a time is written into the file.
    assert b"Software" not in first and b"matplotlib" not in first.lower()


def test_drawing_from_threads_gives_the_same_bytes() -> None:
    expected = draw_chart(PORTUGUESE)
    results: list[bytes] = []

    def draw() -> None:
        results.append(draw_chart(PORTUGUESE))

    threads = [threading.Thread(target=draw) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 3


def test_no_schools_still_gives_a_picture() -> None:
    empty = ChartData("Diary contributions, Autumn term", (), SECTIONS, (), "Nothing yet")
    image = png(empty)
    assert image.format == "PNG" and image.width == png(chart(1)).width
    figure = _figure(empty)
    assert not figure.axes[0].axison
    assert all(len(container.patches) == 0 for container in figure.axes[0].containers)


# --- the bars ---


@pytest.mark.parametrize(
    "data",
    [PORTUGUESE, DIACRITICS, chart(1), chart(12)],
    ids=["portuguese", "diacritics", "one", "twelve"],
)
def test_the_bars_are_the_counts(data: ChartData) -> None:
    assert bar_widths(data) == [list(row) for row in data.counts]


def test_segments_are_stacked_in_section_order() -> None:
    axes = _figure(PORTUGUESE).axes[0]
    for i, row in enumerate(PORTUGUESE.counts):
        lefts = [container.patches[i].get_x() for container in axes.containers]
        assert lefts == [sum(row[:j]) for j in range(len(row))]


def test_big_counts() -> None:
    counts = ((250, 180, 120, 90, 60), (999, 0, 0, 0, 1), (0, 0, 0, 0, 0))
    data = chart(3, counts=counts)
    assert bar_widths(data) == [list(row) for row in counts]
    assert [text for _, text in totals_drawn(data)] == ["700", "1000", "0"]
    assert png(data).format == "PNG"


def test_every_bar_has_its_total_and_an_empty_one_shows_0() -> None:
    assert totals_drawn(PORTUGUESE) == [(0, "7"), (1, "0"), (2, "35"), (3, "13"), (4, "1")]


def test_first_school_on_top_with_its_short_name() -> None:
    axes = _figure(PORTUGUESE).axes[0]
    labels = [label.get_text() for label in axes.get_yticklabels()]
    assert labels == school_labels(PORTUGUESE.schools)
    assert labels[1] == "Telheiras"
    bottom, top = axes.get_ylim()
    assert top < bottom  # y grows downwards: school 0 at the top


def test_palette_is_okabe_ito_in_section_order() -> None:
    assert tuple(c.lower() for c in PALETTE[: len(OKABE_ITO)]) == OKABE_ITO
    axes = _figure(PORTUGUESE).axes[0]
    for j, container in enumerate(axes.containers):
        assert {to_hex(patch.get_facecolor()) for patch in container.patches} == {OKABE_ITO[j]}


def test_legend_shows_every_section_in_its_colour() -> None:
    legend = _figure(PORTUGUESE).axes[0].get_legend()
    shown = {
        text.get_text(): to_hex(handle.get_facecolor())
        for text, handle in zip(legend.get_texts(), legend.legend_handles, strict=True)
    }
    assert shown == {s: OKABE_ITO[j] for j, s in enumerate(PORTUGUESE.sections)}


def test_legend_does_not_cover_the_bars() -> None:
    figure = _figure(PORTUGUESE)
    figure.canvas.draw()
    axes = figure.axes[0]
    legend_box = axes.get_legend().get_window_extent()
    bars_top = max(p.get_window_extent().y1 for c in axes.containers for p in c.patches)
    assert legend_box.y0 >= bars_top  # display y grows upwards
    title_box = figure.texts[0].get_window_extent()
    assert title_box.y0 >= legend_box.y1


def test_everything_inside_the_picture() -> None:
    figure = _figure(chart(12, counts=((999, 999, 999, 999, 999),) * 12))
    figure.canvas.draw()
    width, height = figure.canvas.get_width_height()
    box = figure.get_tightbbox().transformed(figure.dpi_scale_trans)
    assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height


def test_no_top_or_right_spine_and_large_type() -> None:
    figure = _figure(PORTUGUESE)
    axes = figure.axes[0]
    assert not axes.spines["top"].get_visible() and not axes.spines["right"].get_visible()
    texts = [*axes.get_yticklabels(), *axes.get_xticklabels(), *axes.get_legend().get_texts()]
    texts += [t for t in axes.texts if t.get_gid() == "total"] + list(figure.texts)
    assert texts and all(t.get_fontsize() >= 13 for t in texts)


@pytest.mark.parametrize(
    "data",
    [
        ChartData("t", ("a",), SECTIONS, ((1, 2),)),  # too few counts
        ChartData("t", ("a", "b"), SECTIONS, ((1, 2, 3, 4, 5),)),  # too few rows
        ChartData("t", ("a",), SECTIONS, ((1, 2, -3, 4, 5),)),  # negative
        ChartData("t", ("a",), tuple("abcdefghi"), ((0,) * 9,)),  # more sections than colours
    ],
)
def test_inconsistent_data_is_refused(data: ChartData) -> None:
    with pytest.raises(ValueError):
        draw_chart(data)


# --- fonts ---


def glyph_warnings(data: ChartData) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw_chart(data)
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_non_ascii_names_have_their_glyphs() -> None:
    assert glyph_warnings(DIACRITICS) == []
    assert glyph_warnings(PORTUGUESE) == []


def test_a_missing_glyph_would_be_noticed() -> None:
    # The check above is not empty: letters DejaVu Sans lacks do warn.
    assert glyph_warnings(ChartData("日本", ("a",), ("b",), ((1,),)))


def test_dollar_signs_and_underscores_are_plain_text() -> None:
    data = ChartData("Costs $5 and $6", ("$a$ school",), ("_hidden", "$x$"), ((1, 2),), "_c")
    axes = _figure(data).axes[0]
    assert [t.get_text() for t in axes.get_legend().get_texts()] == ["_hidden", "$x$"]
    assert png(data).format == "PNG"


# --- short names ---


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # Fits: unchanged, even with generic words.
        ("Escola Básica nº 1", "Escola Básica nº 1"),
        ("Oakwood School", "Oakwood School"),
        # Too long: the generic words go, and the connectors they leave at the ends.
        ("Escola Básica de Telheiras", "Telheiras"),
        ("Agrupamento de Escolas de Vila Real", "Vila Real"),
        ("Escola Básica e Secundária de Vila Real", "Vila Real"),
        ("Bolyai János Általános Iskola", "Bolyai János"),
        ("Bolyai János Általános Iskola és Gimnázium", "Bolyai János"),
        ("Istituto Comprensivo di Roma Nord", "Roma Nord"),
        ("Scuola Primaria Via dei Mille", "Via dei Mille"),
        ("Oakwood Primary School", "Oakwood"),
        ("OŠ Ivana Gorana Kovačića", "Ivana Gorana Kova…"),
        # A capitalised article belongs to the name.
        ("Basisschool De Regenboog", "De Regenboog"),
        # Then cut, with an ellipsis, never after a space or comma.
        ("Osnovna škola Ivana Gorana Kovačića", "Ivana Gorana Kova…"),
        ("Základní škola Dvůr Králové nad Labem", "Dvůr Králové nad…"),
        ("Kőrösi Csoma Sándor Általános Iskola", "Kőrösi Csoma Sánd…"),
        ("Saint Mary's Church of England Academy", "Saint Mary's Chur…"),
        ("Escola Básica Aldeia, Vila Nova", "Aldeia, Vila Nova"),
        ("Escola Básica Aldeia do Grande, Vila Nova", "Aldeia do Grande…"),
        # Only generic words: nothing to drop, only cut.
        ("Secondary School Academy", "Secondary School…"),
        # White space collapsed, accents composed.
        ("  Escola   Básica  \n de Telheiras ", "Telheiras"),
        ("Escola Ba\u0301sica de Sa\u0303o Joa\u0303o", "São João"),
    ],
)
def test_short_name(name: str, expected: str) -> None:
    assert short_name(name) == expected


def test_short_name_respects_the_limit() -> None:
    names = [*PORTUGUESE.schools, *DIACRITICS.schools, "x" * 200, "Escola " * 30]
    for limit in (1, 2, 5, 10, 18, 30):
        for name in names:
            short = short_name(name, limit)
            assert 0 < len(short) <= limit
            assert short == short_name(name, limit)  # stable
    assert short_name("Telheiras", 5) == "Telh…"
    assert short_name("Telheiras", 1) == "…"
    with pytest.raises(ValueError):
        short_name("Telheiras", 0)


def test_labels_tell_clashing_names_apart() -> None:
    schools = (
        "Escola Básica de Vila Real",
        "Escola Secundária de Vila Real",
        "Oakwood Primary School",
        "Oakwood Primary School",
    )
    labels = school_labels(schools)
    assert labels[:2] == ["Básica de Vila Re…", "Secundária de Vil…"]
    assert labels[2:] == ["Oakwood", "Oakwood (2)"]
    assert len(set(labels)) == len(labels)


# --- matplotlib only when drawing ---


def test_importing_the_module_does_not_import_matplotlib() -> None:
    code = (
        "import sys, bot.digest_chart\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'numpy'))\n"
        "print(loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.strip() == "[]"
