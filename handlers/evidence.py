"""Turning what a contributor sends (media, links) into evidence items on a diary entry.

Photos are re-encoded without their metadata (EXIF, GPS) before they are stored; voice and audio
get their duration recorded; size and type limits come from the settings. A refused file gets a
clear reply and changes nothing already saved.
"""

from __future__ import annotations

import asyncio
import io
import re
from fnmatch import fnmatch

import mutagen
from PIL import Image, ImageOps, UnidentifiedImageError

from bot.messages import Attachment, AttachmentKind, Reply
from handlers.context import Context, say
from storage.models import DiaryEntry, EvidenceItem

LINK = re.compile(r"^(https?://\S+)$", re.IGNORECASE)
TIMED_KINDS = (AttachmentKind.VOICE, AttachmentKind.AUDIO, AttachmentKind.VIDEO)


class Refused(Exception):
    """An attachment that cannot be kept; `key` names the explanation, `values` fill it in."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def link_in(text: str) -> str | None:
    """The URL when a message is nothing but a link, which is kept as link evidence."""
    match = LINK.match(text.strip())
    return match.group(1) if match else None


def strip_photo(data: bytes) -> bytes:
    """Re-encode a photo as JPEG without EXIF/GPS metadata, keeping its visible orientation."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise Refused("evidence.bad_image") from exc
    if upright.mode not in ("RGB", "L"):
        upright = upright.convert("RGB")
    out = io.BytesIO()
    upright.save(out, format="JPEG", quality=90)
    return out.getvalue()


def media_duration(data: bytes) -> float | None:
    """The playing time of an audio or video file in seconds, when it can be read."""
    try:
        parsed = mutagen.File(io.BytesIO(data))
    except Exception:  # mutagen raises many formats' own errors for damaged files
        return None
    if parsed is None or parsed.info is None:
        return None
    length = getattr(parsed.info, "length", None)
    return round(float(length), 2) if length else None


def _check(ctx: Context, attachment: Attachment) -> None:
    limit = ctx.settings.max_upload_bytes
    if attachment.kind == AttachmentKind.UNSUPPORTED:
        thing = f"evidence.things.{attachment.platform_kind.lower()}"
        what = ctx.t(thing if ctx.t.has(thing) else "evidence.things.other")
        raise Refused("evidence.unsupported", what=what)
    if attachment.size is not None and attachment.size > limit:
        raise Refused("evidence.too_big", size=_mb(attachment.size), limit=_mb(limit))
    if attachment.kind == AttachmentKind.DOCUMENT and not any(
        fnmatch(attachment.mime, pattern) for pattern in ctx.settings.allowed_document_types
    ):
        raise Refused("evidence.bad_type", name=attachment.filename or attachment.mime)


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}"


async def store_attachment(ctx: Context, entry: DiaryEntry, attachment: Attachment) -> EvidenceItem:
    """Download, check, clean and store one attachment as evidence on `entry`.

    Raises:
        Refused: the file is of a kind or size that is not kept.
    """
    _check(ctx, attachment)
    data = await ctx.download(attachment)
    if len(data) > ctx.settings.max_upload_bytes:
        raise Refused(
            "evidence.too_big", size=_mb(len(data)), limit=_mb(ctx.settings.max_upload_bytes)
        )
    mime, duration = attachment.mime, attachment.duration_s
    if attachment.kind == AttachmentKind.PHOTO:
        data, mime = await asyncio.to_thread(strip_photo, data), "image/jpeg"
    elif attachment.kind in TIMED_KINDS and duration is None:
        duration = await asyncio.to_thread(media_duration, data)
    digest = await ctx.media.put(data)
    item = EvidenceItem(
        entry_id=entry.id,  # type: ignore[arg-type]
        kind=attachment.kind,
        media_hash=digest,
        mime=mime,
        size=len(data),
        filename=attachment.filename,
        caption=(attachment.caption or "")[: ctx.settings.max_text_chars],
        duration_s=duration,
    )
    ctx.session.add(item)
    return item


def add_link(ctx: Context, entry: DiaryEntry, url: str) -> EvidenceItem:
    """Keep a link as evidence on `entry`."""
    item = EvidenceItem(entry_id=entry.id, kind="link", url=url, mime="text/uri-list")  # type: ignore[arg-type]
    ctx.session.add(item)
    return item


async def take_evidence(ctx: Context, entry: DiaryEntry) -> list[Reply]:
    """Store every attachment (or the link) of the current message on `entry`, and say so.

    Several photos sent at once (an album) are acknowledged once, not once per photo.
    """
    replies: list[Reply] = []
    url = link_in(ctx.msg.text) if not ctx.msg.attachments else None
    if url is not None:
        add_link(ctx, entry, url)
        return [say(ctx.t("evidence.saved", kind=ctx.t("evidence.kind.link")))]
    for attachment in ctx.msg.attachments:
        try:
            item = await store_attachment(ctx, entry, attachment)
        except Refused as refused:
            replies.append(say(ctx.t(refused.key, **refused.values)))
            continue
        group = ctx.msg.media_group
        if group and ctx.data.get("album") == group:
            continue
        ctx.update(album=group)
        replies.append(say(ctx.t("evidence.saved", kind=ctx.t(f"evidence.kind.{item.kind}"))))
    return replies
