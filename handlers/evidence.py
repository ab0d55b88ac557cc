"""Turning what a contributor sends (media, links) into evidence items on a diary entry.

A file's kind is decided from its bytes (`handlers.filetypes`), not from the name or MIME type
the client declared: every picture, sent as a photo or as a file, is stored without its metadata
(`handlers.images`, which also refuses pictures with too many pixels before decoding them);
voice, audio and video must be audio or video; a document must be of a type in
`allowed_document_types`. Voice and audio get their duration recorded. A refused file gets a
clear reply and changes nothing already saved. Each item keeps the platform id of the message
that brought it, so deleting that message takes the item out again (`handlers.deletions`).
"""

from __future__ import annotations

import asyncio
import io
import re
from fnmatch import fnmatch

import mutagen

from bot.channel import DownloadError
from bot.messages import Attachment, AttachmentKind, Reply
from bot.settings import Settings
from handlers.context import Context, say
from handlers.filetypes import sniff
from handlers.images import TooManyPixels, Uncleanable, clean_image
from storage.guard import ConsentRequired
from storage.models import DiaryEntry, EvidenceItem

LINK = re.compile(r"^(https?://\S+)$", re.IGNORECASE)
TIMED_KINDS = (AttachmentKind.VOICE, AttachmentKind.AUDIO, AttachmentKind.VIDEO)
KIND_OF_MEDIA = {"audio": AttachmentKind.AUDIO, "video": AttachmentKind.VIDEO}


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


def examine(
    settings: Settings, attachment: Attachment, data: bytes
) -> tuple[AttachmentKind, bytes, str]:
    """The kind, the bytes to store and the MIME type of a downloaded attachment.

    The declared kind only says which rules apply: voice, audio and video must be audio or
    video; a photo must be a picture; a document must be of an allowed type. Any picture, as a
    photo or a document, is cleaned of its metadata and kept as a photo.

    Raises:
        Refused: the bytes are not what may be kept this way.
    """
    mime = sniff(data, attachment.mime)
    major = (mime or "").split("/", 1)[0]
    declared = attachment.kind
    name = attachment.filename or attachment.mime
    if declared in TIMED_KINDS:
        if major not in KIND_OF_MEDIA:
            raise Refused("evidence.bad_type", name=name)
        return declared, data, mime or attachment.mime
    if declared == AttachmentKind.DOCUMENT and not (
        mime and any(fnmatch(mime, pattern) for pattern in settings.allowed_document_types)
    ):
        raise Refused("evidence.bad_type", name=name)
    if major == "image":
        limit = int(settings.max_image_megapixels * 1_000_000)
        try:
            cleaned, mime = clean_image(data, max_pixels=limit)
        except TooManyPixels as exc:
            raise Refused(
                "evidence.too_many_pixels", megapixels=_mp(exc.pixels), limit=_mp(limit)
            ) from exc
        except Uncleanable as exc:
            raise Refused("evidence.bad_image") from exc
        return AttachmentKind.PHOTO, cleaned, mime
    if declared == AttachmentKind.PHOTO or mime is None:
        raise Refused("evidence.bad_image")
    return KIND_OF_MEDIA.get(major, AttachmentKind.DOCUMENT), data, mime


def _check(ctx: Context, attachment: Attachment) -> None:
    limit = ctx.settings.max_upload_bytes
    if attachment.kind == AttachmentKind.UNSUPPORTED:
        thing = f"evidence.things.{attachment.platform_kind.lower()}"
        what = ctx.t(thing if ctx.t.has(thing) else "evidence.things.other")
        raise Refused("evidence.unsupported", what=what)
    if attachment.size is not None and attachment.size > limit:
        raise Refused("evidence.too_big", size=_mb(attachment.size), limit=_mb(limit))


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}"


def _mp(pixels: int) -> str:
    return f"{round(pixels / 1_000_000, 1):g}"


async def store_attachment(ctx: Context, entry: DiaryEntry, attachment: Attachment) -> EvidenceItem:
    """Download, check, clean and store one attachment as evidence on `entry`.

    Raises:
        Refused: the file is of a kind or size that is not kept, or could not be fetched.
    """
    _check(ctx, attachment)
    try:
        data = await ctx.download(attachment)
    except DownloadError as exc:
        raise Refused("evidence.not_fetched") from exc
    if len(data) > ctx.settings.max_upload_bytes:
        raise Refused(
            "evidence.too_big", size=_mb(len(data)), limit=_mb(ctx.settings.max_upload_bytes)
        )
    kind, data, mime = await asyncio.to_thread(examine, ctx.settings, attachment, data)
    duration = attachment.duration_s
    if kind in TIMED_KINDS and duration is None:
        duration = await asyncio.to_thread(media_duration, data)
    digest = await ctx.media.put(data)
    item = EvidenceItem(
        entry_id=entry.id,  # type: ignore[arg-type]
        kind=kind,
        media_hash=digest,
        mime=mime,
        size=len(data),
        filename=attachment.filename,
        caption=(attachment.caption or "")[: ctx.settings.max_text_chars],
        duration_s=duration,
        source_message=ctx.msg.message_id or None,
    )
    ctx.session.add(item)
    return item


def add_link(ctx: Context, entry: DiaryEntry, url: str) -> EvidenceItem:
    """Keep a link as evidence on `entry`."""
    item = EvidenceItem(
        entry_id=entry.id,  # type: ignore[arg-type]
        kind="link",
        url=url,
        mime="text/uri-list",
        source_message=ctx.msg.message_id or None,
    )
    ctx.session.add(item)
    return item


async def take_evidence(ctx: Context, entry: DiaryEntry) -> list[Reply]:
    """Store every attachment (or the link) of the current message on `entry`, and say so.

    Several photos sent at once (an album) are acknowledged once, not once per photo.

    Raises:
        ConsentRequired: the person does not consent now; asked before anything is downloaded,
            so not even the media store keeps their file.
    """
    if not ctx.consents:
        raise ConsentRequired("evidence without consent")
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
