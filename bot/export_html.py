"""The Cluster Diary as a folder of web pages: an index, a page per school, the media beside them.

`index.html` is each cluster's title page (its schools linked to their pages, its coordinators,
the period its entries span, the day the folder was made) and its meetings. `school-<id>.html`
holds a school's mentoring focus, how it was chosen, and the template's table: a row per section,
the columns activity, illustrative material and evidence, reflection, each contribution with its
author (or pseudonym) and day. Photos are re-encoded small (640 to 1024 pixels), upright and
without their metadata, and shown; other files are copied as they are and linked by name; voice
notes and audio carry their length and transcript. The schools given a page are those the Word
document gives a part.

The pages need nothing but themselves: no script, no fonts, nothing fetched from elsewhere (a link
given as evidence is shown as its address, not made a link), one style sheet that reads on a phone
(the table turns into stacked blocks) and prints. Every text is escaped. The folder is built
beside its destination and renamed into place, its folders 0700 and files 0600 (it holds personal
data); media files are copied one at a time, photos shrunk on a few threads, each holding one.
A destination ending in `.zip` gets the folder zipped
instead, for sending as one file. The public version will take the same shape.

`Words` (the export's strings in one cluster's language) is shared with `bot.export_md`.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
import zipfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html import escape
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO
from urllib.parse import quote
from zoneinfo import ZoneInfo

from bot.export_text import evidence_label, long_day, who
from bot.photos import shrink_photo
from handlers.sections import QUESTIONS
from prompts import Translator
from storage.export_data import evidence_in
from storage.media import MediaStore, make_private_dirs
from storage.models import Section

PHOTO_PX = 1024  # the longer side at most: sharp across a laptop screen, 150 kB or so
PHOTO_MIN_PX = 640  # and at least, where the photo has it: a phone screen's width, sharp
WORKERS = min(4, os.cpu_count() or 1)
MEDIA_DIR = "media"
STYLE = "style.css"
COLUMNS = ("activity", "evidence", "reflection")
# The names an export folder holds: only a folder of nothing else is replaced by a new export.
_OURS = re.compile(r"index\.html|style\.css|school-\d+\.html|media")
# Defence in depth: even a text that escaped escaping could load nothing and run nothing.
CSP = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'self'"


class Words:
    """The export's strings in one cluster's language (or the one asked for), its days local."""

    def __init__(self, cluster: dict[str, Any], language: str | None) -> None:
        self.t = Translator(language or cluster["language"])
        self.lang = self.t.language  # English where the language has no strings
        self.zone = ZoneInfo(cluster["timezone"])
        self._days: dict[str | None, str] = {}

    def day(self, moment: str | None) -> str:
        """A stored time as the day it was in the cluster's time zone, in words."""
        # Kept: every contribution's byline is written up to three times, and Babel is slow.
        if moment not in self._days:
            self._days[moment] = long_day(moment, self.zone, self.lang)
        return self._days[moment]

    def byline(self, entry: dict[str, Any]) -> str:
        """Who wrote an entry and when."""
        author = who(self.t, entry["author"], entry["school"]["name"])
        return self.t("export.byline", author=author, day=self.day(entry["submitted"]))

    def period(self, cluster: dict[str, Any]) -> str:
        """The days the cluster's entries span."""
        first, last = cluster["period"]["first"], cluster["period"]["last"]
        if first is None:
            return self.t("export.no_entries")
        return self.t("export.period", first=self.day(first), last=self.day(last))

    def school(self, school: dict[str, Any]) -> str:
        """A school's name, marked mentor or mentee."""
        kind = "mentor" if school["kind"] == "mentor" else "mentee"
        return self.t(f"export.{kind}", school=school["name"])

    def coordinator(self, person: dict[str, Any]) -> str:
        """A coordinator with their role."""
        return f"{who(self.t, person)} ({self.t('roles.' + person['role'])})"

    def focus(self, school: dict[str, Any]) -> str:
        """The school's confirmed mentoring focus, or that there is none yet."""
        focus = school["focus"]
        return self.t("export.focus", title=focus["title"]) if focus else self.t("export.no_focus")

    def focus_step(self, step: dict[str, Any]) -> str:
        """One proposal of the focus history: its day, title and outcome."""
        status = self.t(f"focus.status.{step['status']}")
        return self.t(
            "export.focus_step", day=self.day(step["proposed"]), title=step["title"], status=status
        )

    def meeting(self, meeting: dict[str, Any]) -> str:
        """A meeting: day, place, the answers and attendance (or that it was cancelled)."""
        place, day = meeting["place"] or "—", self.day(meeting["starts"])
        if meeting["status"] == "cancelled":
            return self.t("export.meeting_cancelled", day=day, place=place)
        answers = {k: meeting["answers"].get(k, 0) for k in ("coming", "maybe", "not_coming")}
        return self.t(
            "export.meeting", day=day, place=place, attended=meeting["attended"], **answers
        )

    def answers(self, entry: dict[str, Any]) -> list[tuple[str, str]]:
        """The entry's answers under their short labels, in the order the questions are asked."""
        section = entry["section"]
        return [
            (self.t(f"labels.{section}.{key}"), entry["activity"][key])
            for key in QUESTIONS[section]
            if entry["activity"].get(key)
        ]

    def evidence(self, item: dict[str, Any], *, kept: bool) -> str:
        """An evidence item by its kind and name, address or length; `kept`: its file is here."""
        return evidence_label(self.t, item, kept=kept)


def has_part(school: dict[str, Any]) -> bool:
    """Whether a school gets its part: the template is the mentees'; the mentor's if it wrote."""
    return school["kind"] == "mentee" or bool(school["entries"])


def by_section(entries: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Entries grouped by section, every section present, in the template's order."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        found[entry["section"]].append(entry)
    return {str(section): found[section] for section in Section}


def _private(path: Path) -> BinaryIO:
    """A new file only the bot's user may read, whatever the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb")


def _shrink(source: Path, target: Path) -> tuple[int, int] | None:
    """The photo as a JPEG, upright and without metadata, PHOTO_MIN_PX to PHOTO_PX a side."""
    with _private(target) as out:
        size = shrink_photo(source, out, longest=PHOTO_PX, at_least=PHOTO_MIN_PX)
    if size is None:
        target.unlink(missing_ok=True)
    return size


@dataclass(frozen=True)
class Placed:
    """An evidence file in the folder: its address from the pages, and a shown photo's size."""

    href: str
    size: tuple[int, int] | None = None


class _Media:
    """The export's evidence files in the folder, each copied or shrunk once, before any page."""

    def __init__(self, store: MediaStore, folder: Path) -> None:
        self.store, self.folder = store, folder
        self.placed: dict[str, Placed] = {}
        self.missing = 0

    def put_all(self, export: dict[str, Any]) -> None:
        photos: list[tuple[str, Path]] = []
        for item in evidence_in(export):
            if item["file"] is None or item["sha256"] is None:
                continue
            source = self.store.path_for(item["sha256"])
            if not source.is_file():
                self.missing += 1
            elif item["kind"] == "photo":
                photos.append((item["file"], source))
            else:
                self.placed[item["file"]] = self._copy(item["file"], source)
        # Pillow lets go of the interpreter while it decodes, resizes and encodes, so photos
        # shrink side by side; each thread holds one photo at a time.
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            for (file, _), placed in zip(photos, pool.map(self._photo, photos), strict=True):
                self.placed[file] = placed

    def _photo(self, job: tuple[str, Path]) -> Placed:
        file, source = job
        small = f"{PurePosixPath(file).stem}.jpg"  # "<entry>-<n>-<name>": unique per item
        size = _shrink(source, self.folder / small)
        if size is None:  # one Pillow cannot read: as sent, to be opened by name
            return self._copy(file, source)
        return Placed(f"{MEDIA_DIR}/{quote(small)}", size)

    def _copy(self, file: str, source: Path) -> Placed:
        name = PurePosixPath(file).name
        with source.open("rb") as src, _private(self.folder / name) as out:
            shutil.copyfileobj(src, out)
        return Placed(f"{MEDIA_DIR}/{quote(name)}")


def _text(text: str, lead: str = "") -> str:
    """Escaped paragraphs (split at blank lines, line breaks kept), `lead` HTML before the first."""
    parts = [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()] or [""]
    html = [escape(p).replace("\n", "<br>\n") for p in parts]
    html[0] = lead + html[0]
    return "".join(f"<p>{p}</p>\n" for p in html)


def _page(title: str, lang: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f'<title>{escape(title)}</title>\n<link rel="stylesheet" href="{STYLE}">\n</head>\n'
        f"<body>\n<main>\n{body}</main>\n</body>\n</html>\n"
    )


def _list(items: list[str]) -> str:
    return "<ul>\n" + "".join(f"<li>{item}</li>\n" for item in items) + "</ul>\n"


class _Site:
    """Draws the pages of one export into its folder."""

    def __init__(self, folder: Path, media: _Media, language: str | None) -> None:
        self.folder, self.media, self.language = folder, media, language

    def put(self, name: str, text: str) -> None:
        with _private(self.folder / name) as out:
            out.write(text.encode("utf-8"))

    def cluster(self, cluster: dict[str, Any], generated: str) -> str:
        """The cluster's part of the index, its school pages written as they are drawn."""
        w = Words(cluster, self.language)
        for school in filter(has_part, cluster["schools"]):
            self.put(f"school-{school['id']}.html", self.school(cluster, school, w))
        schools = [
            f'<a href="school-{s["id"]}.html">{escape(w.school(s))}</a>'
            if has_part(s)
            else escape(w.school(s))
            for s in cluster["schools"]
        ]
        html = [
            f'<section class="cluster" lang="{escape(w.lang)}">\n',
            f"<h2>{escape(cluster['name'])}</h2>\n",
            f"<p>{escape(w.period(cluster))}</p>\n",
            f'<p class="generated">{escape(w.t("export.generated", day=w.day(generated)))}</p>\n',
        ]
        for key, items in (
            ("export.schools", schools),
            ("export.coordinators", [escape(w.coordinator(p)) for p in cluster["coordinators"]]),
            ("export.meetings", [escape(w.meeting(m)) for m in cluster["meetings"]]),
        ):
            if items:
                html.append(f"<h3>{escape(w.t(key))}</h3>\n{_list(items)}")
        return "".join(html) + "</section>\n"

    def school(self, cluster: dict[str, Any], school: dict[str, Any], w: Words) -> str:
        title = f"{w.t('export.title')}: {cluster['name']}"
        html = [
            f'<nav><a href="index.html">{escape(title)}</a></nav>\n',
            f"<h1>{escape(school['name'])}</h1>\n",
            f'<p class="focus"><strong>{escape(w.focus(school))}</strong></p>\n',
        ]
        if school["focus"] and school["focus"]["rationale"]:
            html.append(_text(school["focus"]["rationale"]))
        if school["focus_history"]:
            html.append(f"<h2>{escape(w.t('export.focus_history'))}</h2>\n")
            html.append(_list([escape(w.focus_step(step)) for step in school["focus_history"]]))
        html.append(self.template(school["entries"], w))
        return _page(f"{school['name']} – {title}", w.lang, "".join(html))

    def template(self, entries: list[dict[str, Any]], w: Words) -> str:
        heads = "".join(
            f'<th scope="col">{escape(w.t(f"export.column_{c}"))}</th>'
            for c in ("section", *COLUMNS)
        )
        rows = []
        for section, found in by_section(entries).items():
            cells = [f'<th scope="row">{escape(w.t(f"sections.{section}"))}</th>']
            for column in COLUMNS:
                label = escape(w.t(f"export.column_{column}"))
                inner = "".join(getattr(self, column)(entry, w) for entry in found)
                cells.append(f'<td data-label="{label}">{inner}</td>')
            rows.append(f'<tr class="{section}">{"".join(cells)}</tr>\n')
        return (
            f'<table class="template">\n<thead><tr>{heads}</tr></thead>\n<tbody>\n'
            f"{''.join(rows)}</tbody>\n</table>\n"
        )

    @staticmethod
    def _item(entry: dict[str, Any], w: Words, body: str) -> str:
        return (
            f'<div class="item">\n<p class="byline">{escape(w.byline(entry))}</p>\n{body}</div>\n'
        )

    def activity(self, entry: dict[str, Any], w: Words) -> str:
        answers = "".join(
            _text(text, f"<b>{escape(label)}:</b> ") for label, text in w.answers(entry)
        )
        return self._item(entry, w, answers)

    def reflection(self, entry: dict[str, Any], w: Words) -> str:
        return self._item(entry, w, _text(entry["reflection"])) if entry["reflection"] else ""

    def evidence(self, entry: dict[str, Any], w: Words) -> str:
        if not entry["evidence"]:
            return ""
        return self._item(entry, w, "".join(self.item(i, w) for i in entry["evidence"]))

    def item(self, item: dict[str, Any], w: Words) -> str:
        placed = self.media.placed.get(item["file"] or "")
        html = []
        if placed is not None and placed.size is not None:
            width, height = placed.size
            alt = escape(item["caption"] or w.t("evidence.kind.photo"))
            html.append(
                f'<figure><a href="{placed.href}"><img src="{placed.href}" alt="{alt}" '
                f'width="{width}" height="{height}" loading="lazy"></a></figure>\n'
            )
        else:
            label = escape(w.evidence(item, kept=placed is not None))
            link = f'<a href="{placed.href}">{label}</a>' if placed else label
            missing = " missing" if item["sha256"] and placed is None else ""
            html.append(f'<p class="file{missing}">{link}</p>\n')
            player = {"voice": "audio", "audio": "audio", "video": "video"}.get(item["kind"])
            if placed and player:
                html.append(f'<{player} controls preload="none" src="{placed.href}"></{player}>\n')
        if item["caption"]:
            html.append(_text(item["caption"]))
        if item["transcript"]:
            said = _text(w.t("export.transcript", text=item["transcript"]))
            html.append(f'<div class="transcript">{said}</div>\n')
        return "".join(html)


def _install(built: Path, destination: Path) -> None:
    """Rename the finished folder into place, replacing only an earlier export folder."""
    if not destination.exists() or (destination.is_dir() and not any(destination.iterdir())):
        os.replace(built, destination)
        return
    names = [p.name for p in destination.iterdir()] if destination.is_dir() else []
    if "index.html" not in names or not all(_OURS.fullmatch(n) for n in names):
        raise FileExistsError(f"{destination} exists and is not an export folder")
    old = Path(tempfile.mkdtemp(dir=destination.parent, prefix=".export-old-"))
    os.replace(destination, old)
    os.replace(built, destination)
    shutil.rmtree(old)


def _zip(folder: Path, destination: Path) -> None:
    """The folder as a zip (one folder inside, named after the zip), renamed into place, 0600."""
    fd, tmp = tempfile.mkstemp(dir=destination.parent, prefix=".export-", suffix=".zip")
    try:
        with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w") as archive:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    # Photos, voice notes and videos are compressed already; the pages are not.
                    packed = (
                        zipfile.ZIP_DEFLATED
                        if path.suffix in (".html", ".css")
                        else zipfile.ZIP_STORED
                    )
                    inside = f"{destination.stem}/{path.relative_to(folder).as_posix()}"
                    archive.write(path, inside, compress_type=packed)
        os.replace(tmp, destination)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write(
    export: dict[str, Any], store: MediaStore, destination: Path, language: str | None
) -> int:
    make_private_dirs(destination.parent)
    built = Path(tempfile.mkdtemp(dir=destination.parent, prefix=".export-"))  # 0700
    try:
        media = _Media(store, built / MEDIA_DIR)
        (built / MEDIA_DIR).mkdir(mode=0o700)
        media.put_all(export)
        site = _Site(built, media, language)
        parts = [site.cluster(cluster, export["generated"]) for cluster in export["clusters"]]
        first = export["clusters"][0]["language"] if export["clusters"] else "en"
        t = Translator(language or first)
        title = f"{t('export.title')}: {', '.join(c['name'] for c in export['clusters'])}"
        note = ""
        if export["public"]:
            note = f'<p class="public">{escape(t("export.public_note"))}</p>\n'
        body = f"<h1>{escape(t('export.title'))}</h1>\n{note}{''.join(parts)}"
        site.put("index.html", _page(title, t.language, body))
        site.put(STYLE, resources.files("bot").joinpath("export_html.css").read_text())
        if destination.suffix == ".zip":
            _zip(built, destination)
            shutil.rmtree(built)
        else:
            _install(built, destination)
    except BaseException:
        shutil.rmtree(built, ignore_errors=True)
        raise
    return media.missing


async def write_html(
    export: dict[str, Any], *, media: MediaStore, destination: Path, language: str | None = None
) -> int:
    """Write `export` as a folder of web pages at `destination`; how many media files were missing.

    Args:
        export: the export header with its clusters, as `storage.export_data` makes them.
        media: the media store the evidence files are read from.
        destination: the folder to write; an earlier export folder there is replaced, anything
            else there is left alone (FileExistsError). A name ending in `.zip` gets the folder
            zipped instead, for sending as one file.
        language: the pages' language; by default each cluster's own.
    """
    return await asyncio.to_thread(_write, export, media, destination, language)
