"""The Cluster Diary as Markdown: `cluster-diary.md` in a zip with the media files it names.

The same parts as the web pages (`bot.export_html`), one heading level down per part: each
cluster with its schools, coordinators and period, then each school with its mentoring focus,
how the focus was chosen, and the template section by section, last the cluster's meetings.
Within a section every contribution is a list item (its author or pseudonym and day) holding
its answers, its evidence and its reflection: a Markdown table cannot hold several paragraphs in
a cell, and a list reads well as plain text too.

What people wrote is escaped, so none of it turns into markup, links or HTML where the file is
shown. Evidence files go under `files/` named as in the JSON export, copied into the zip one at a
time as they were sent (uncompressed: they are compressed already); a file missing from the
media folder is named as no longer kept. The zip is written beside its destination and renamed
into place, readable by the bot's user only: it holds personal data.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bot.export_html import Words, by_section, has_part
from prompts import Translator
from storage.media import MediaStore, make_private_dirs

MD_NAME = "cluster-diary.md"
# Every character that can start markup anywhere in a line (CommonMark allows a backslash before
# any ASCII punctuation); `&` too, so no entity is ever read as one.
_INLINE = re.compile(r"([\\`*_\[\]<>#|~&!])")
# What makes a line a list item, a heading's underline or a rule when it opens the line.
_MARKER = re.compile(r"^([-+=])", re.MULTILINE)
_NUMBERED = re.compile(r"^(\d+)([.)])", re.MULTILINE)


def _escape(text: str) -> str:
    """`text` as literal Markdown: markup characters backslashed."""
    text = _MARKER.sub(r"\\\1", _INLINE.sub(r"\\\1", text))
    return _NUMBERED.sub(r"\1\\\2", text)


def _block(text: str, indent: str) -> str:
    """Escaped paragraphs for a list item's content at `indent`; line breaks kept (hard breaks)."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    out = []
    for paragraph in paragraphs:
        lines = [_escape(line.strip()) for line in paragraph.splitlines() if line.strip()]
        out.append(f"\\\n{indent}".join(lines))
    return f"\n\n{indent}".join(out)


def _item(indent: str, lead: str, text: str = "") -> str:
    """A list item at `indent`: `lead` (already Markdown) then `text`'s paragraphs."""
    inner = indent + "  "
    return f"{indent}- {lead}{_block(text, inner) if text else ''}\n"


class _Document:
    """Collects the Markdown of one export and the files it names."""

    def __init__(self, store: MediaStore, language: str | None) -> None:
        self.store, self.language = store, language
        self.lines: list[str] = []
        self.files: dict[str, Path] = {}
        self.missing = 0

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def kept(self, item: dict[str, Any]) -> bool:
        """Whether the item's file is in the media folder, noted for the zip if so."""
        if item["file"] is None or item["sha256"] is None:
            return False
        path = self.store.path_for(item["sha256"])
        if not path.is_file():
            self.missing += 1
            return False
        self.files[item["file"]] = path
        return True

    def cluster(self, cluster: dict[str, Any], generated: str) -> None:
        w = Words(cluster, self.language)
        self.add(f"## {_escape(cluster['name'])}\n\n", f"{_escape(w.period(cluster))}\\\n")
        self.add(f"*{_escape(w.t('export.generated', day=w.day(generated)))}*\n\n")
        for key, items in (
            ("export.schools", [w.school(s) for s in cluster["schools"]]),
            ("export.coordinators", [w.coordinator(p) for p in cluster["coordinators"]]),
        ):
            if items:
                self.add(f"### {_escape(w.t(key))}\n\n", *(_item("", "", i) for i in items), "\n")
        for school in cluster["schools"]:
            if has_part(school):
                self.school(school, w)
        if cluster["meetings"]:
            self.add(f"### {_escape(w.t('export.meetings'))}\n\n")
            self.add(*(_item("", "", w.meeting(m)) for m in cluster["meetings"]), "\n")

    def school(self, school: dict[str, Any], w: Words) -> None:
        self.add(f"### {_escape(school['name'])}\n\n", f"**{_escape(w.focus(school))}**\n\n")
        if school["focus"] and school["focus"]["rationale"]:
            self.add(_block(school["focus"]["rationale"], ""), "\n\n")
        if school["focus_history"]:
            self.add(f"#### {_escape(w.t('export.focus_history'))}\n\n")
            self.add(*(_item("", "", w.focus_step(s)) for s in school["focus_history"]), "\n")
        for section, entries in by_section(school["entries"]).items():
            self.add(f"#### {_escape(w.t(f'sections.{section}'))}\n\n")
            for entry in entries:
                self.entry(entry, w)
            self.add("\n" if entries else "—\n\n")

    def entry(self, entry: dict[str, Any], w: Words) -> None:
        """One contribution: its byline, then its answers, evidence and reflection under it."""
        self.add(_item("", f"*{_escape(w.byline(entry))}*"))
        for label, text in w.answers(entry):
            self.add(_item("  ", f"**{_escape(label)}:** ", text))
        if entry["evidence"]:
            self.add(_item("  ", f"**{_escape(w.t('export.column_evidence'))}:**"))
            for item in entry["evidence"]:
                self.evidence(item, w)
        if entry["reflection"]:
            lead = f"**{_escape(w.t('export.column_reflection'))}:** "
            self.add(_item("  ", lead, entry["reflection"]))

    def evidence(self, item: dict[str, Any], w: Words) -> None:
        kept = self.kept(item)
        label = _escape(w.evidence(item, kept=kept))
        if kept:
            target = quote(item["file"])  # safe names already; quoted all the same
            photo = item["kind"] == "photo"
            label = f"![{label}]({target})" if photo else f"[{label}]({target})"
        self.add(_item("    ", label))
        for text in (
            item["caption"],
            item["transcript"] and w.t("export.transcript", text=item["transcript"]),
        ):
            if text:
                self.add(f"\n      {_block(text, '      ')}\n")


def _write(
    export: dict[str, Any], store: MediaStore, destination: Path, language: str | None
) -> int:
    document = _Document(store, language)
    first = export["clusters"][0]["language"] if export["clusters"] else "en"
    t = Translator(language or first)
    document.add(f"# {_escape(t('export.title'))}\n\n")
    if export["public"]:
        document.add(f"*{_escape(t('export.public_note'))}*\n\n")
    for cluster in export["clusters"]:
        document.cluster(cluster, export["generated"])
    make_private_dirs(destination.parent)
    # mkstemp makes the file 0600; the rename keeps that mode.
    fd, tmp = tempfile.mkstemp(dir=destination.parent, prefix=".export-", suffix=".zip")
    try:
        with (
            os.fdopen(fd, "wb") as handle,
            zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive,
        ):
            archive.writestr(MD_NAME, "".join(document.lines).rstrip() + "\n")
            for inside, path in document.files.items():
                archive.write(path, inside, compress_type=zipfile.ZIP_STORED)
        os.replace(tmp, destination)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return document.missing


async def write_markdown(
    export: dict[str, Any], *, media: MediaStore, destination: Path, language: str | None = None
) -> int:
    """Write `export` as a zip of `cluster-diary.md` and its files; how many files were missing.

    Args:
        export: the export header with its clusters, as `storage.export_data` makes them.
        media: the media store the evidence files are read from.
        destination: the zip file to write (replaced if it exists).
        language: the document's language; by default each cluster's own.
    """
    return await asyncio.to_thread(_write, export, media, destination, language)
