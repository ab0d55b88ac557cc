"""Neutral replies to Matrix message contents: the outbound half of the Matrix adapter.

Text goes out with a plain `body` for every client and an HTML `formatted_body` built only from
escaped text, so nothing a person typed (and the bot repeats) can inject markup. Choice buttons
become a numbered list; the adapter remembers them so a typed number picks the choice. An edit
of a message the bot posted is an `m.replace` event carrying the new content.
"""

from __future__ import annotations

import io
import json
import mimetypes
from html import escape
from typing import Any

from PIL import Image, UnidentifiedImageError

from bot.messages import Button

HTML = "org.matrix.custom.html"


def text_content(
    text: str,
    buttons: tuple[Button, ...] = (),
    *,
    numbered: bool = True,
    msgtype: str = "m.text",
) -> dict[str, Any]:
    """An `m.text` (or `m.notice`) content for `text`, with `buttons` as numbered options after.

    With `numbered` false the options are shortcuts beside a free-text answer, listed by name
    only, so that a number typed as the answer is not taken for an option.
    """
    body_parts = [text] if text else []
    html_parts = [escape(text).replace("\n", "<br/>")] if text else []
    if buttons and not numbered:
        body_parts.append(" · ".join(b.label for b in buttons))
        html_parts.append("<br/><em>" + " · ".join(escape(b.label) for b in buttons) + "</em>")
    elif buttons:
        body_parts.append("\n".join(f"{n}. {b.in_list(n)}" for n, b in enumerate(buttons, 1)))
        items = "".join(f"<li>{escape(b.in_list(n))}</li>" for n, b in enumerate(buttons, 1))
        html_parts.append(f"<ol>{items}</ol>")
    return {
        "msgtype": msgtype,
        "body": "\n\n".join(body_parts),
        "format": HTML,
        # The list is a block of its own, so it needs no line break in front.
        "formatted_body": "".join(html_parts),
    }


def in_thread(content: dict[str, Any], root: str | None) -> dict[str, Any]:
    """`content` posted in the thread of event `root` (as it is without one).

    Clients that do not show threads see a reply to the thread's first message instead (the
    fallback the thread relation carries).
    """
    if root is None:
        return content
    relation = {
        "rel_type": "m.thread",
        "event_id": root,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": root},
    }
    return {**content, "m.relates_to": relation}


def edit_content(event_id: str, new: dict[str, Any]) -> dict[str, Any]:
    """An `m.replace` edit of the bot's message `event_id` to `new` (a `text_content`).

    Clients that know edits show `m.new_content` in place of the original; the outer body and
    formatted body, marked with "* " as Element does, are the fallback for the others. Encrypted
    rooms need nothing more: nio leaves a copy of `m.relates_to` in the clear, where the
    homeserver (and Element) look for relations.
    """
    return {
        "msgtype": new["msgtype"],
        "body": "* " + new["body"],
        "format": new["format"],
        "formatted_body": "* " + new["formatted_body"],
        "m.new_content": new,
        "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
    }


def media_content(
    data: bytes,
    *,
    msgtype: str,
    filename: str,
    mime: str,
    url: str,
    file_keys: dict[str, Any] | None,
) -> dict[str, Any]:
    """The content of an uploaded image or file (`file_keys` set for an encrypted upload)."""
    info: dict[str, Any] = {"mimetype": mime, "size": len(data)}
    if msgtype == "m.image":
        info.update(image_size(data))
    content: dict[str, Any] = {"msgtype": msgtype, "body": filename, "filename": filename}
    if file_keys is not None:
        content["file"] = {"url": url, **file_keys}
    else:
        content["url"] = url
    content["info"] = info
    return content


def image_size(data: bytes) -> dict[str, int]:
    """`w` and `h` of an image, read from its header (empty when it is not an image)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return {"w": image.width, "h": image.height}
    except (UnidentifiedImageError, OSError):
        return {}


def photo_mime(data: bytes) -> tuple[str, str]:
    """The MIME type and a file name for a photo, from what the bytes are."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = (image.format or "jpeg").lower()
    except (UnidentifiedImageError, OSError):
        kind = "jpeg"
    return f"image/{kind}", f"photo.{'jpg' if kind == 'jpeg' else kind}"


def document_mime(filename: str) -> str:
    """The MIME type of a document from its name."""
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def buttons_to_json(buttons: tuple[Button, ...]) -> str:
    """Remembered buttons as stored between restarts."""
    return json.dumps([[b.label, b.data] for b in buttons])


def buttons_from_json(text: str) -> tuple[Button, ...]:
    """Buttons stored by `buttons_to_json`."""
    return tuple(Button(label, data) for label, data in json.loads(text))
