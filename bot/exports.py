"""An export from start to file, the same from the command line and from the chat.

`gather` reads the clusters' records (`storage.export_data`) and records the export in the
audit log (who, which clusters, which format, from where); `write` turns the records into the
asked-for file: the Word document itself; a zip of JSON, CSV or Markdown with the media they
name; or the HTML folder (zipped when the destination ends in `.zip`, as in the chat).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.export_docx import write_docx
from bot.export_files import write_export
from bot.export_html import write_html
from bot.export_md import write_markdown
from storage.export_data import cluster_record, export_header
from storage.media import MediaStore
from storage.models import AuditEvent, Cluster

FORMATS = ("docx", "html", "json", "csv", "md")
# As a file in a chat: the HTML folder travels zipped.
SUFFIX = {"docx": ".docx", "html": ".zip", "json": ".zip", "csv": ".zip", "md": ".zip"}


async def gather(
    session: AsyncSession,
    *,
    clusters: Sequence[Cluster],
    scope: str,
    fmt: str,
    now: datetime,
    by: str,
    person_id: int | None = None,
) -> dict[str, Any]:
    """The export record of `clusters`, with its audit line added to the session."""
    export = export_header(now=now, scope=scope)
    export["clusters"] = [await cluster_record(session, cluster=c) for c in clusters]
    detail = {"clusters": [c.id for c in clusters], "format": fmt, "public": False, "by": by}
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
    if fmt == "docx":
        await write_docx(export, media=media, destination=destination, language=language)
        return 0
    if fmt == "html":
        return await write_html(export, media=media, destination=destination, language=language)
    if fmt == "md":
        return await write_markdown(export, media=media, destination=destination, language=language)
    return await write_export(export, fmt=fmt, media=media, destination=destination)
