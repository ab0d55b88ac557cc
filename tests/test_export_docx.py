"""The Cluster Diary document: python-docx writes it, LibreOffice opens it and prints it to PDF.

The PDF's text (poppler's pdftotext) is checked page by page: the title page, the schools, the
template's table with every section, the authors and dates, the evidence and its transcript.
LibreOffice (Debian's libreoffice-writer-nogui) and poppler-utils are installed by `.ci/run`;
without them the test fails under CI and is skipped elsewhere.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from docx.shared import Cm
from PIL import Image

from bot.docx_pictures import Pictures
from bot.export_docx import write_docx
from bot.settings import Settings
from handlers.sections import QUESTIONS
from storage.media import MediaStore
from storage.models import Section
from tests.helpers import Harness
from tests.test_export import export, seeded

TOOLS = ("soffice", "pdftotext")
missing = [tool for tool in TOOLS if shutil.which(tool) is None]
if missing and not os.environ.get("CI"):
    pytest.skip(f"needs {', '.join(missing)} (installed by .ci/run)", allow_module_level=True)


def pdf_pages(document: Path) -> list[str]:
    """The document printed to PDF by LibreOffice, as the words of each page."""
    profile = document.parent / "lo-profile"  # its own, so parallel runs never share one
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(document.parent),
            str(document),
        ],
        check=True,
        capture_output=True,
        timeout=240,
    )
    pdf = document.with_suffix(".pdf")
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    # Words as they read, whatever line a table cell wrapped them onto.
    return [" ".join(page.split()) for page in text.split("\f")]


def pdf_images(pdf: Path) -> list[str]:
    """The images in the PDF, a line each, as poppler's pdfimages lists them."""
    listed = subprocess.run(
        ["pdfimages", "-list", str(pdf)], check=True, capture_output=True, text=True
    )
    return listed.stdout.splitlines()[2:]  # after the two header lines


async def test_the_document_opens_in_libreoffice_with_the_template_filled_in(
    harness: Harness, settings: Settings, tmp_path: Path
) -> None:
    await seeded(harness, tmp_path)
    out = tmp_path / "diary" / "demo.docx"
    assert "1 clusters, 2 entries" in export(settings, out, "--cluster", "Demo Cluster", fmt="docx")
    assert out.stat().st_mode & 0o777 == 0o600

    document = Document(str(out))
    assert document.core_properties.author == "Cluster Diary: Demo Cluster"
    assert "python-docx" not in (document.core_properties.last_modified_by or "")
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert "Hillview Primary" in headings and "How the focus was chosen" in headings
    with zipfile.ZipFile(out) as archive:
        pictures = [n for n in archive.namelist() if n.startswith("word/media/")]
    assert len(pictures) == 1  # the photo's thumbnail

    pages = pdf_pages(out)
    text = "\n".join(pages)
    # LibreOffice found the thumbnail through its relationship and printed it.
    listed = pdf_images(out.with_suffix(".pdf"))
    assert len(listed) == 1 and listed[0].split()[2] == "image", listed
    assert "Cluster Diary" in pages[0] and "Demo Cluster" in pages[0]
    assert "Entries submitted from" in pages[0] and "(mentor school)" in pages[0]
    assert "Cora (cluster coordinator)" in pages[0] or "Cora" in pages[0]
    for label in (
        "Mentoring focus: Reading for pleasure",
        "Illustrative material and evidence",
        "The issue",
        "Action taken",
        "Impact",
        "Next steps",
        "Cluster meeting notes",
        "Pupils read aloud to each other",
        "Ana,",
        "Transcript: We read for ten minutes every morning.",
        "Plano de leitura.pdf",
        "It worked better than we hoped.",
    ):
        assert label in text, label
    assert "unfinished thought" not in text and "North's secret" not in text


async def test_the_document_speaks_the_clusters_language_or_the_one_asked_for(
    harness: Harness, settings: Settings, tmp_path: Path
) -> None:
    await seeded(harness, tmp_path)
    out = tmp_path / "pt.docx"
    export(settings, out, "--cluster", "Demo Cluster", "--language", "pt", fmt="docx")
    text = "\n".join(p.text for p in Document(str(out)).paragraphs)
    assert "Diário" in text and "Cluster Diary" not in text


async def test_an_export_of_many_clusters_keeps_its_title_within_words_limit(
    tmp_path: Path,
) -> None:
    clusters = [
        {
            "id": n,
            "name": f"A cluster with a long name, number {n}",
            "country": "",
            "language": "en",
            "timezone": "Europe/Lisbon",
            "ends_on": None,
            "period": {"first": None, "last": None},
            "coordinators": [],
            "schools": [],
            "meetings": [],
        }
        for n in range(1, 25)
    ]
    export = {"generated": "2026-12-06T10:00:00Z", "public": False, "clusters": clusters}
    out = tmp_path / "all.docx"
    await write_docx(export, media=MediaStore(tmp_path / "media"), destination=out)
    title = Document(str(out)).core_properties.title
    assert len(title) == 255 and title.endswith("…") and title.startswith("Cluster Diary: A")


def test_a_photo_drawn_twice_is_stored_once_and_every_drawing_has_its_own_id(
    tmp_path: Path,
) -> None:
    document = Document()
    pictures = Pictures(document)
    blobs = {}
    for key, colour in (("a", "red"), ("b", "blue")):
        out = io.BytesIO()
        Image.new("RGB", (40, 20), colour).save(out, format="JPEG")
        blobs[key] = out.getvalue()
    for key in ("a", "b", "a"):
        run = document.add_paragraph().add_run()
        pictures.add(run._r, key, blobs[key] if key not in pictures else None, Cm(4))
    saved = tmp_path / "pictures.docx"
    document.save(str(saved))

    reopened = Document(str(saved))
    shapes = reopened.inline_shapes
    assert len(shapes) == 3 and all(s.width == Cm(4) and s.height == Cm(2) for s in shapes)
    ids = [s._inline.docPr.id for s in shapes]
    assert len(set(ids)) == 3
    with zipfile.ZipFile(saved) as archive:
        media = sorted(n for n in archive.namelist() if n.startswith("word/media/"))
        assert media == ["word/media/photo1.jpg", "word/media/photo2.jpg"]
        assert archive.read(media[0]) == blobs["a"]


async def test_every_section_row_starts_each_cell_with_its_first_contribution(
    tmp_path: Path,
) -> None:
    def entry(section: str, n: int) -> dict[str, Any]:
        return {
            "section": section,
            "author": {"name": f"Author {n}", "pseudonym": None, "teacher": None},
            "school": {"name": "Hillview Primary"},
            "submitted": f"2026-12-0{n}T10:00:00Z",
            "activity": {QUESTIONS[section][0]: f"Answer {n}"},
            "reflection": f"Reflection {n}",
            "evidence": [],
        }

    school = {
        "name": "Hillview Primary",
        "kind": "mentee",
        "focus": None,
        "focus_history": [],
        "entries": [entry(section, n) for section in Section for n in (1, 2)],
    }
    cluster = {
        "name": "Demo Cluster",
        "language": "en",
        "timezone": "Europe/Lisbon",
        "period": {"first": None, "last": None},
        "coordinators": [],
        "schools": [school],
        "meetings": [],
    }
    export = {"generated": "2026-12-06T10:00:00Z", "public": False, "clusters": [cluster]}
    out = tmp_path / "sections.docx"
    await write_docx(export, media=MediaStore(tmp_path / "media"), destination=out)
    (table,) = Document(str(out)).tables
    for row in table.rows[1:]:  # a row per section, after the header
        for cell in (row.cells[1], row.cells[3]):
            texts = [p.text for p in cell.paragraphs]
            assert texts[0].startswith("Author 1,") and texts.count("") == 0, texts
