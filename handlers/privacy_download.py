"""/privacy → "Download my data": everything kept about the person, as zip files in their chat.

Each zip holds `my-data.json` (in part 1: the records of `storage.personal_data`, UTF-8,
indented) and the files of the person's evidence under `files/<entry id>-<n>-<name>`, the path
the JSON gives as each item's `file`. A file missing from the disk is left out and its `file` is
null, rather than failing the whole download.

The records are read in the message's session, which also plans the parts from the files' sizes
on disk and writes the audit line. The files are read and zipped only once that session is
committed (`Context.after_commit`): on SQLite every session of the bot takes its turn, and a
turn held while reading a hundred megabytes would hold up every other chat. The zip work runs in
a thread. Parts are built from the last to the first, so the JSON, written last into part 1,
knows every file that went missing meanwhile.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.messages import Reply
from handlers.calendar_show import today_in
from handlers.context import Context, privately, say
from handlers.dates import say_day
from storage.media import MediaStore
from storage.models import AuditEvent
from storage.personal_data import personal_data

log = logging.getLogger(__name__)

# The Telegram cloud Bot API refuses uploads from bots over 50 MB; 45 MiB (47.2 MB) leaves room
# for the zip's headers, the upload's own envelope and the planning's estimates.
PART_BYTES = 45 * 1024 * 1024
JSON_NAME = "my-data.json"
# Zip bytes per member besides its data: local header, central directory entry (the name
# twice) and a zip64 extra field if one is needed; a generous round figure.
MEMBER_BYTES = 160
ARCHIVE_BYTES = 1024  # the end of the central directory, with room to spare
PRIVATE_FILE = 0o600 << 16  # unpacked files readable by the person's own user only


@dataclass
class Member:
    """One evidence file to pack: its path in the zip, its digest, size on disk and JSON record."""

    path: str
    digest: str
    size: int
    record: dict[str, Any]

    @property
    def cost(self) -> int:
        """What the file adds to a zip, at most."""
        return self.size + MEMBER_BYTES + 2 * len(self.path.encode())


@dataclass
class Part:
    """The files of one zip; part 1 also carries the JSON."""

    members: list[Member] = field(default_factory=list)


async def download(ctx: Context) -> list[Reply]:
    """Plan the person's download and make its zips once the session is committed.

    Returns no replies itself: the zips follow the other replies of the message (see the module
    docstring), sent to the person's private chat.
    """
    assert ctx.person.id is not None
    data = await personal_data(ctx.session, person_id=ctx.person.id, now=ctx.now)
    wanted = [
        (record["file"], record["sha256"], record)
        for entry in data["entries"]
        for record in entry["evidence"]
        if record["file"]
    ]
    sizes = await asyncio.to_thread(_sizes, ctx.media, [digest for _, digest, _ in wanted])
    members = []
    for path, digest, record in wanted:
        if sizes[digest] is None:
            record["file"] = None
        else:
            members.append(Member(path, digest, sizes[digest] or 0, record))
    parts = plan(len(_json(data)), members, PART_BYTES)
    ctx.session.add(
        AuditEvent(
            person_id=ctx.person.id, action="privacy.downloaded", detail={"parts": len(parts)}
        )
    )
    day = await _today(ctx)

    async def made() -> list[Reply]:
        try:
            return await _replies(ctx, data, parts, day)
        except Exception:  # the person hears that it failed rather than nothing at all
            log.exception("making a data download failed")
            return [privately(ctx, say(ctx.t("errors.internal")))]

    ctx.after_commit(made)
    return []


def plan(json_size: int, members: list[Member], limit: int) -> list[Part]:
    """Share the files out over zips of at most `limit` bytes, in order; the JSON in part 1.

    A file too big for any part goes alone in one of its own.
    """
    parts = [Part()]
    used = ARCHIVE_BYTES + MEMBER_BYTES + 2 * len(JSON_NAME) + json_size
    for member in members:
        if used + member.cost > limit and (parts[-1].members or len(parts) == 1):
            parts.append(Part())
            used = ARCHIVE_BYTES
        parts[-1].members.append(member)
        used += member.cost
    return parts


async def _replies(ctx: Context, data: dict[str, Any], parts: list[Part], day: date) -> list[Reply]:
    """The zips as document replies, numbered as they turned out (an emptied part is dropped)."""
    zips: list[bytes] = []
    for number in range(len(parts), 0, -1):
        made = await _zip(ctx.media, parts[number - 1], data if number == 1 else None, ctx.now)
        if made is not None:
            zips.insert(0, made)
    name = f"my-data-{day.isoformat()}"
    replies = []
    for part, content in enumerate(zips, start=1):
        filename = f"{name}.zip" if len(zips) == 1 else f"{name}-part-{part}-of-{len(zips)}.zip"
        caption = ctx.t(
            "privacy.download_caption",
            day=say_day(day, ctx.t.language),
            part=part,
            parts=len(zips),
        )
        replies.append(privately(ctx, Reply(caption, document=content, filename=filename)))
    return replies


async def _zip(
    media: MediaStore, part: Part, data: dict[str, Any] | None, now: datetime
) -> bytes | None:
    """One zip, or None when nothing is left to put in it.

    The part's files are read one at a time (so one is in memory besides the zip), then the JSON
    goes in when given.
    """
    buffer = io.BytesIO()
    archive = zipfile.ZipFile(buffer, "w")
    stamp = now.timetuple()[:6]
    packed = 0
    for member in part.members:
        try:
            content = await media.get(member.digest)
        except FileNotFoundError:  # removed since the plan (an erasure in another chat)
            member.record["file"] = None
            continue
        info = _info(member.path, stamp, zipfile.ZIP_STORED)  # media are compressed already
        await asyncio.to_thread(archive.writestr, info, content)
        packed += 1
    if data is not None:
        info = _info(JSON_NAME, stamp, zipfile.ZIP_DEFLATED)
        await asyncio.to_thread(archive.writestr, info, _json(data))
        packed += 1
    await asyncio.to_thread(archive.close)
    return buffer.getvalue() if packed else None


def _info(path: str, stamp: tuple[int, ...], compress: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(path, date_time=stamp)  # type: ignore[arg-type]
    info.compress_type = compress
    info.external_attr = PRIVATE_FILE
    return info


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2).encode()


def _sizes(media: MediaStore, digests: list[str]) -> dict[str, int | None]:
    """Each file's size on disk, None when it is missing; in one thread for all of them."""
    sizes: dict[str, int | None] = {}
    for digest in digests:
        try:
            sizes[digest] = media.path_for(digest).stat().st_size
        except FileNotFoundError:
            sizes[digest] = None
    return sizes


async def _today(ctx: Context) -> date:
    """Today where the person works (their first cluster's time zone), for names and captions."""
    roles = await ctx.memberships()
    return today_in(ctx, roles[0].cluster) if roles else ctx.now.date()
