"""The Cluster Diary as a Word document, laid out like the briefing's template.

Per cluster: a title page (the cluster, its schools and coordinators, the period its entries
span, when the document was made), a table of contents, then for each school its mentoring
focus with the history of how it was chosen and the template's table: a row per section (the
issue, action taken, impact, next steps, cluster meeting notes) and the columns activity,
illustrative material and evidence, reflection. Each contribution carries its author (or
pseudonym) and date; photos appear as thumbnails, voice notes and audio with their duration
and transcript, documents and links by name. Last, the cluster's meetings.

Headings use Word's built-in styles, so the table of contents (a field the word processor
fills in) and the navigation pane work. The document's own properties name the cluster, never a
person. It is drawn from the export record (`storage.export_data`) in the cluster's language;
photos are shrunk on a thread per core before they go in (each photo once, however often it
appears), so the document stays small.
"""

from __future__ import annotations

import asyncio
import io
import os
import tempfile
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.table import _Cell

from bot import docx_cells as cells
from bot.docx_pictures import Pictures
from bot.export_text import evidence_label, long_day, who
from bot.photos import shrink_photo
from handlers.sections import QUESTIONS
from prompts import Translator
from storage.export_data import photos_in
from storage.media import MediaStore
from storage.models import Section

THUMBNAIL_PX = 400  # the longer side: 250 dots an inch at the 4 cm the picture is shown
# The cheap decoding (`shrink_photo`) may stop at 320: still 200 dots an inch, where most phone
# photos decode at a quarter of their size rather than a half.
THUMBNAIL_MIN_PX = 320
THUMBNAIL_WIDTH = Cm(4)
# The longest document property python-docx writes (it refuses longer ones).
PROPERTY_LIMIT = 255


def _thumbnail(path: Path) -> bytes | None:
    """A small upright JPEG of the photo, its metadata left behind; None if it cannot be read."""
    out = io.BytesIO()
    if shrink_photo(path, out, longest=THUMBNAIL_PX, at_least=THUMBNAIL_MIN_PX) is None:
        return None
    return out.getvalue()


def _toc(document: Any, hint: str) -> None:
    """A table-of-contents field over the headings of levels 1 and 2."""
    paragraph = document.add_paragraph()
    parts = [("begin", None), (None, 'TOC \\o "1-2" \\h \\z \\u'), ("separate", None)]
    for kind, instruction in parts:
        run = paragraph.add_run()
        if kind is not None:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
        else:
            text = OxmlElement("w:instrText")
            text.set(qn("xml:space"), "preserve")
            text.text = instruction
            run._r.append(text)
    paragraph.add_run(hint).italic = True
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    paragraph.add_run()._r.append(end)


class _Writer:
    """Draws one export into a document."""

    def __init__(self, media: MediaStore, language: str | None, public: bool) -> None:
        self.media = media
        self.language = language
        self.public = public
        self.document = Document()
        self.pictures = Pictures(self.document)
        self.thumbnails: dict[str, Future[bytes | None]] = {}
        # The current row's cells given a contribution so far (the others hold one empty
        # paragraph). The elements themselves: an id could be reused once a row's are freed.
        self.started: set[Any] = set()
        section = self.document.sections[0]
        # Landscape: the template's four columns need the width.
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Cm(29.7), Cm(21.0)
        for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
            setattr(section, side, Cm(1.8))
        self.document.styles["Normal"].font.size = Pt(10)

    def cluster(self, cluster: dict[str, Any], generated: str) -> None:
        language = self.language or cluster["language"]
        t, zone = Translator(language), ZoneInfo(cluster["timezone"])
        self.t, self.zone, self.lang = t, zone, language
        doc = self.document
        if len(doc.paragraphs) > 1:
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        doc.add_paragraph(t("export.title"), style="Title")
        doc.add_paragraph(cluster["name"], style="Subtitle")
        if self.public:
            doc.add_paragraph().add_run(t("export.public_note")).italic = True
        period = cluster["period"]
        if period["first"]:
            first, last = (self.day(period[k]) for k in ("first", "last"))
            doc.add_paragraph(t("export.period", first=first, last=last))
        else:
            doc.add_paragraph(t("export.no_entries"))
        doc.add_paragraph(t("export.generated", day=self.day(generated)))
        doc.add_paragraph(t("export.schools"), style="Heading 3")
        for school in cluster["schools"]:
            kind = "mentor" if school["kind"] == "mentor" else "mentee"
            doc.add_paragraph(t(f"export.{kind}", school=school["name"]), style="List Bullet")
        if cluster["coordinators"]:  # none in the public version
            doc.add_paragraph(t("export.coordinators"), style="Heading 3")
        for person in cluster["coordinators"]:
            name = who(t, person)
            role = t(f"roles.{person['role']}")
            doc.add_paragraph(f"{name} ({role})", style="List Bullet")
        doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        doc.add_paragraph(t("export.contents"), style="Heading 3")
        _toc(doc, t("export.contents_hint"))
        for school in cluster["schools"]:
            # The template is the mentee schools'; the mentor school's part only if it wrote.
            if school["kind"] == "mentee" or school["entries"]:
                self.school(school)
        if cluster["meetings"]:
            self.meetings(cluster["meetings"])

    def shrink(self, export: dict[str, Any], pool: ThreadPoolExecutor) -> None:
        """Start making the thumbnail of every photo, each once, while the text is drawn.

        Pillow lets go of the GIL while it decodes and encodes, so the photos shrink on the
        pool's threads beside the drawing of the document.
        """
        for digest in dict.fromkeys(item["sha256"] for item in photos_in(export)):
            self.thumbnails[digest] = pool.submit(_thumbnail, self.media.path_for(digest))

    def day(self, moment: str | None) -> str:
        return long_day(moment, self.zone, self.lang)

    def school(self, school: dict[str, Any]) -> None:
        doc, t = self.document, self.t
        doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        doc.add_heading(school["name"], level=1)
        focus = school["focus"]
        line = t("export.focus", title=focus["title"]) if focus else t("export.no_focus")
        doc.add_paragraph().add_run(line).bold = True
        if focus and focus["rationale"]:
            doc.add_paragraph(focus["rationale"])
        if school["focus_history"]:
            doc.add_heading(t("export.focus_history"), level=2)
            for step in school["focus_history"]:
                status = t(f"focus.status.{step['status']}")
                day = self.day(step["proposed"])
                text = t("export.focus_step", day=day, title=step["title"], status=status)
                doc.add_paragraph(text, style="List Bullet")
        self.template(school["entries"])

    def template(self, entries: list[dict[str, Any]]) -> None:
        t = self.t
        by_section: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for entry in entries:
            by_section[entry["section"]].append(entry)
        columns = ("section", "activity", "evidence", "reflection")
        table = self.document.add_table(rows=1, cols=len(columns))
        table.style = "Table Grid"
        # Fixed widths on the grid as well as the cells: LibreOffice reads the grid.
        table.autofit = False
        widths = (Cm(3.2), Cm(9.5), Cm(7.4), Cm(5.9))
        for column, width in zip(table.columns, widths, strict=True):
            column.width = width
        for cell, column, width in zip(table.rows[0].cells, columns, widths, strict=True):
            cell.width = width
            cell.paragraphs[0].add_run(t(f"export.column_{column}")).bold = True
        _repeat_header(table.rows[0])
        for section in Section:
            row = table.add_row().cells
            self.started = set()
            for cell, width in zip(row, widths, strict=True):
                cell.width = width
            row[0].paragraphs[0].add_run(t(f"sections.{section}")).bold = True
            for entry in by_section[section]:
                self.activity(row[1], entry)
                self.evidence(row[2], entry)
                if entry["reflection"]:
                    self.heading(row[3], entry)
                    cells.text(row[3], entry["reflection"])

    def byline(self, entry: dict[str, Any]) -> str:
        author = who(self.t, entry["author"], entry["school"]["name"])
        return self.t("export.byline", author=author, day=self.day(entry["submitted"]))

    def heading(self, cell: _Cell, entry: dict[str, Any]) -> None:
        """Who wrote it and when, above each contribution (a little apart from the one before)."""
        first = cell._tc not in self.started
        self.started.add(cell._tc)
        p = cells.paragraph(cell, reuse=first, space_before=0 if first else 6)
        cells.run(p, self.byline(entry), italic=True)

    def activity(self, cell: _Cell, entry: dict[str, Any]) -> None:
        self.heading(cell, entry)
        for key in QUESTIONS[entry["section"]]:
            answer = entry["activity"].get(key)
            if answer:
                label = self.t(f"labels.{entry['section']}.{key}")
                p = cells.paragraph(cell)
                cells.run(p, f"{label}: ", bold=True)
                cells.run(p, answer)

    def evidence(self, cell: _Cell, entry: dict[str, Any]) -> None:
        t = self.t
        if entry["evidence"]:
            self.heading(cell, entry)
        for item in entry["evidence"]:
            if item["kind"] == "photo" and item["file"]:
                digest = item["sha256"]
                picture = None if digest in self.pictures else self.thumbnails[digest].result()
                if picture is not None or digest in self.pictures:
                    run = cells.run(cells.paragraph(cell))
                    self.pictures.add(run, digest, picture, THUMBNAIL_WIDTH)
                    if item["caption"]:
                        cells.text(cell, item["caption"])
                    continue
            cells.text(cell, evidence_label(t, item, kept=item["file"] is not None))
            if item["caption"]:
                cells.text(cell, item["caption"])
            if item["transcript"]:
                cells.text(cell, t("export.transcript", text=item["transcript"]), italic=True)

    def meetings(self, meetings: list[dict[str, Any]]) -> None:
        t = self.t
        self.document.add_heading(t("export.meetings"), level=1)
        for m in meetings:
            place, day = m["place"] or "—", self.day(m["starts"])
            if m["status"] == "cancelled":
                text = t("export.meeting_cancelled", day=day, place=place)
            else:
                answers = {k: m["answers"].get(k, 0) for k in ("coming", "maybe", "not_coming")}
                text = t("export.meeting", day=day, place=place, attended=m["attended"], **answers)
            self.document.add_paragraph(text, style="List Bullet")

    def save(self, destination: Path, title: str) -> None:
        props = self.document.core_properties
        if len(title) > PROPERTY_LIMIT:  # every cluster's name, in an export of them all
            title = title[: PROPERTY_LIMIT - 1] + "…"
        # python-docx would otherwise say its own name as the author.
        props.author = props.last_modified_by = title
        props.title, props.comments, props.keywords = title, "", ""
        destination.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=destination.parent, prefix=".export-", suffix=".docx")
        try:
            with os.fdopen(fd, "wb") as handle:
                self.document.save(handle)
            os.replace(tmp, destination)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _repeat_header(row: Any) -> None:
    """The header row repeats at the top of every page the table runs over."""
    properties = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    properties.append(header)


def _write(
    export: dict[str, Any], media: MediaStore, destination: Path, language: str | None
) -> None:
    writer = _Writer(media, language, export["public"])
    pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1)
    try:
        writer.shrink(export, pool)
        for cluster in export["clusters"]:
            writer.cluster(cluster, export["generated"])
    finally:
        pool.shutdown(cancel_futures=True)
    names = ", ".join(c["name"] for c in export["clusters"])
    first = export["clusters"][0]["language"] if export["clusters"] else "en"
    writer.save(destination, f"{Translator(language or first)('export.title')}: {names}")


async def write_docx(
    export: dict[str, Any], *, media: MediaStore, destination: Path, language: str | None = None
) -> None:
    """Write `export` as the Cluster Diary document (in each cluster's language by default)."""
    await asyncio.to_thread(_write, export, media, destination, language)
