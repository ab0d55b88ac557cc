"""An export from start to file, the same from the command line and from the chat.

`gather` reads the clusters' records (`storage.export_data`) and records the export in the
audit log (who, which clusters, which format, public or not, from where); `write` turns the
records into the asked-for file: the Word document itself; a zip of JSON, CSV or Markdown with
the media they name; or the HTML folder (zipped when the destination ends in `.zip`, as in the
chat).

The public version (`storage.publication`) is gathered the same way, with its texts masked in
each cluster's language (or the one asked for). Its photos are re-encoded without their
metadata into a folder of their own before any format is written, so no format can reach the
original files: the folder is the public version's media store, deleted once the file is made.
"""

from __future__ import annotations

import asyncio
import io
import os
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from prompts import Translator
from storage.export_data import cluster_record, export_header, photos_in
from storage.masking import KINDS
from storage.media import MediaStore
from storage.models import AuditEvent, Cluster
from storage.publication import Publication, withhold

FORMATS = ("docx", "html", "json", "csv", "md")
# As a file in a chat: the HTML folder travels zipped.
SUFFIX = {"docx": ".docx", "html": ".zip", "json": ".zip", "csv": ".zip", "md": ".zip"}
# A public photo's longer side: enough for a web page or a printed page, and a fresh encoding.
PUBLIC_PHOTO_PX = 1600


def mask_words(language: str) -> dict[str, str]:
    """What stands in the public version for each kind of masked detail, in `language`."""
    t = Translator(language)
    return {kind: t(f"export.masked_{kind}") for kind in KINDS}


async def gather(
    session: AsyncSession,
    *,
    clusters: Sequence[Cluster],
    scope: str,
    fmt: str,
    now: datetime,
    by: str,
    person_id: int | None = None,
    public: str | None = None,
    language: str | None = None,
) -> dict[str, Any]:
    """The export record of `clusters`, with its audit line added to the session.

    Args:
        session: read in it; the audit line is added to it.
        clusters: the clusters exported, in this order.
        scope: what was asked for, for the audit log: "all", "cluster:<id>" or "clusters".
        fmt: the format to be written (for the audit log).
        now: when the export is made.
        by: where it was asked for: "command line" or "chat".
        person_id: who asked, when known.
        public: for the public version, the version of the consent text in force (its
            authors must have agreed to it); None for the analysts' full export.
        language: the public version's masks are in it; by default, each cluster's.
    """
    publication = None if public is None else Publication(consent_version=public, words={})
    shown_scope = scope
    if publication is not None and scope != "all":
        shown_scope = "cluster:1" if len(clusters) == 1 else "clusters"  # no private ids
    export = export_header(now=now, scope=shown_scope, public=publication is not None)
    export["clusters"] = []
    for cluster in clusters:
        if publication is not None:
            publication.words = mask_words(language or cluster.language)
        record = await cluster_record(session, cluster=cluster, public=publication)
        export["clusters"].append(record)
    detail = {
        "clusters": [c.id for c in clusters],
        "format": fmt,
        "public": publication is not None,
        "by": by,
    }
    session.add(AuditEvent(person_id=person_id, action="export", target=scope, detail=detail))
    return export


async def write(
    export: dict[str, Any],
    *,
    fmt: str,
    media: MediaStore,
    destination: Path,
    language: str | None = None,
) -> int:
    """Write the export as `fmt` to `destination`; how many media files were missing."""
    if not export["public"]:
        return await _render(export, fmt, media, destination, language)
    with tempfile.TemporaryDirectory(prefix="diarybot-public-") as folder:  # made 0700
        public_media = MediaStore(Path(folder))
        missing = await _public_photos(export, media, public_media)
        return missing + await _render(export, fmt, public_media, destination, language)


async def _render(
    export: dict[str, Any], fmt: str, media: MediaStore, destination: Path, language: str | None
) -> int:
    # The writers are imported when an export is made: python-docx, lxml and Pillow are a
    # fifth of a bot's memory, and most bots never export between two restarts.
    from bot.export_docx import write_docx
    from bot.export_files import write_export
    from bot.export_html import write_html
    from bot.export_md import write_markdown

    if fmt == "docx":
        await write_docx(export, media=media, destination=destination, language=language)
        return 0
    if fmt == "html":
        return await write_html(export, media=media, destination=destination, language=language)
    if fmt == "md":
        return await write_markdown(export, media=media, destination=destination, language=language)
    return await write_export(export, fmt=fmt, media=media, destination=destination)


def _reencoded(source: Path) -> bytes | None:
    from bot.photos import shrink_photo  # see `_render`

    out = io.BytesIO()
    found = shrink_photo(source, out, longest=PUBLIC_PHOTO_PX, at_least=PUBLIC_PHOTO_PX)
    return None if found is None else out.getvalue()


async def _public_photos(export: dict[str, Any], media: MediaStore, into: MediaStore) -> int:
    """Each public photo re-encoded into `into`, its record pointing there; how many were missing.

    A photo missing from the media folder, or unreadable, is left out and said to be.
    """
    turns = asyncio.Semaphore(os.cpu_count() or 1)  # a photo per core in memory at a time
    missing = 0

    async def one(item: dict[str, Any]) -> None:
        nonlocal missing
        async with turns:
            data = await asyncio.to_thread(_reencoded, media.path_for(item["sha256"]))
            if data is None:
                withhold(item)
                missing += 1
                return
            item["sha256"], item["size"] = await into.put(data), len(data)

    await asyncio.gather(*(one(item) for item in photos_in(export)))
    return missing
