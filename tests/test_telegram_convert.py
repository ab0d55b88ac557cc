"""Translating Telegram updates to neutral messages and replies to Bot API calls (no network)."""

from __future__ import annotations

from typing import Any

import pytest
from telegram import Update

from bot.channels.telegram_convert import (
    ButtonData,
    keyboard,
    parts_of,
    split_text,
    to_incoming,
    units,
)
from bot.messages import AttachmentKind, Button, ChatKind, Reply

ANA = {"id": 1001, "is_bot": False, "first_name": "Ana", "last_name": "Lima", "language_code": "pt"}
PRIVATE = {"id": 1001, "type": "private", "first_name": "Ana"}
HUB = {"id": -3001, "type": "supergroup", "title": "Cluster hub"}
FILE = {"file_id": "f1", "file_unique_id": "u1", "file_size": 10}


def incoming(chat: dict | None = None, *, buttons: ButtonData | None = None, **fields: Any):
    message = {"message_id": 7, "date": 1_700_000_000, "chat": chat or PRIVATE, "from": ANA}
    update = Update.de_json({"update_id": 1, "message": {**message, **fields}}, None)
    return to_incoming(update, username="diary_bot", buttons=buttons or ButtonData())


def test_text_message_carries_chat_sender_and_language_hint() -> None:
    msg = incoming(text="/start ABCD-2345")
    assert (msg.chat.key, msg.chat.kind) == ("telegram:1001", ChatKind.PRIVATE)
    assert (msg.sender.user_id, msg.sender.display_name) == ("1001", "Ana Lima")
    assert msg.sender.language_hint == "pt"
    assert (msg.command, msg.argument, msg.message_id) == ("start", "ABCD-2345", "7")
    group = incoming(HUB, text="/linkhub@Diary_Bot X")
    assert (group.chat.kind, group.chat.title, group.command) == (
        ChatKind.GROUP,
        "Cluster hub",
        "linkhub",
    )


@pytest.mark.parametrize(
    ("fields", "kind", "mime"),
    [
        ({"voice": {**FILE, "duration": 3}}, AttachmentKind.VOICE, "audio/ogg"),
        (
            {"audio": {**FILE, "duration": 60, "mime_type": "audio/mpeg"}},
            AttachmentKind.AUDIO,
            "audio/mpeg",
        ),
        (
            {"video": {**FILE, "width": 1, "height": 1, "duration": 5}},
            AttachmentKind.VIDEO,
            "application/octet-stream",
        ),
        ({"video_note": {**FILE, "length": 1, "duration": 5}}, AttachmentKind.VIDEO, "video/mp4"),
        (
            {"document": {**FILE, "file_name": "plan.pdf", "mime_type": "application/pdf"}},
            AttachmentKind.DOCUMENT,
            "application/pdf",
        ),
    ],
)
def test_media_become_attachments(fields: dict, kind: AttachmentKind, mime: str) -> None:
    msg = incoming(caption="what we did", media_group_id="g1", **fields)
    (attachment,) = msg.attachments
    assert (attachment.kind, attachment.mime, attachment.ref) == (kind, mime, "f1")
    assert attachment.caption == "what we did" and msg.media_group == "g1"
    assert msg.text == ""


def test_photo_is_its_largest_size_with_duration_and_name_where_known() -> None:
    sizes = [
        {**FILE, "file_id": "small", "width": 90, "height": 60},
        {**FILE, "file_id": "large", "width": 1280, "height": 853},
        {**FILE, "file_id": "medium", "width": 320, "height": 213},
    ]
    (photo,) = incoming(photo=sizes).attachments
    assert (photo.kind, photo.ref, photo.mime) == (AttachmentKind.PHOTO, "large", "image/jpeg")
    (voice,) = incoming(voice={**FILE, "duration": 3}).attachments
    assert voice.duration_s == 3.0
    (doc,) = incoming(document={**FILE, "file_name": "plan.pdf"}).attachments
    assert doc.filename == "plan.pdf"


@pytest.mark.parametrize(
    ("fields", "label"),
    [
        (
            {
                "sticker": {
                    **FILE,
                    "type": "regular",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                }
            },
            "sticker",
        ),
        ({"animation": {**FILE, "width": 1, "height": 1, "duration": 1}, "document": FILE}, "GIF"),
        (
            {
                "poll": {
                    "id": "p",
                    "question": "?",
                    "options": [],
                    "total_voter_count": 0,
                    "is_closed": False,
                    "is_anonymous": True,
                    "type": "regular",
                    "allows_multiple_answers": False,
                    "allows_revoting": False,
                    "members_only": False,
                }
            },
            "poll",
        ),
        ({"location": {"latitude": 1.0, "longitude": 2.0}}, "location"),
        (
            {
                "venue": {
                    "location": {"latitude": 1.0, "longitude": 2.0},
                    "title": "t",
                    "address": "a",
                },
                "location": {"latitude": 1.0, "longitude": 2.0},
            },
            "location",
        ),
        ({"contact": {"phone_number": "+351", "first_name": "Bea"}}, "contact"),
        ({"dice": {"emoji": "🎲", "value": 3}}, "dice"),
    ],
)
def test_other_content_is_marked_unsupported_by_name(fields: dict, label: str) -> None:
    (attachment,) = incoming(**fields).attachments
    assert (attachment.kind, attachment.platform_kind) == (AttachmentKind.UNSUPPORTED, label)


def test_what_the_bot_does_not_handle_is_ignored() -> None:
    assert incoming(new_chat_members=[ANA]) is None  # a service message
    assert incoming(HUB, text="/help@OtherBot") is None
    bot_user = {**ANA, "is_bot": True}
    assert incoming(text="hi", **{"from": bot_user}) is None
    channel = {"id": -100, "type": "channel", "title": "News"}
    assert incoming(channel, text="post") is None
    # A bot's edit, or an edit left with no text, is nothing to follow.
    for edited in (
        {"message_id": 1, "date": 0, "chat": PRIVATE, "from": bot_user, "text": "x"},
        {"message_id": 1, "date": 0, "chat": PRIVATE, "from": ANA, "photo": []},
    ):
        update = Update.de_json({"update_id": 2, "edited_message": edited}, None)
        assert to_incoming(update, username="diary_bot", buttons=ButtonData()) is None


def test_an_edited_message_names_the_message_it_corrects() -> None:
    edited = {"message_id": 7, "date": 0, "edit_date": 60, "chat": PRIVATE, "from": ANA}
    edited["text"] = "y"
    update = Update.de_json({"update_id": 3, "edited_message": edited}, None)
    msg = to_incoming(update, username="diary_bot", buttons=ButtonData())
    assert msg is not None and (msg.text, msg.edit_of, msg.message_id) == ("y", "7", "7")
    assert msg.received_at.timestamp() == 60


def test_a_group_upgraded_to_a_supergroup_brings_its_old_id() -> None:
    anonymous = {"id": 1087968824, "is_bot": True, "first_name": "Group"}
    moved = incoming(HUB, migrate_from_chat_id=-4001, **{"from": anonymous})
    assert (moved.chat.key, moved.chat.kind, moved.moved_from) == (
        "telegram:-3001",
        ChatKind.GROUP,
        "-4001",
    )
    assert (moved.text, moved.command) == ("", None)
    # The old group's own notice is not needed (the new one names both ids).
    assert incoming({**HUB, "id": -4001, "type": "group"}, migrate_to_chat_id=-3001) is None


def test_button_data_over_64_bytes_travels_as_a_short_key() -> None:
    buttons = ButtonData()
    data = "3:" + "é" * 40  # 82 bytes
    markup = keyboard((Button("Pick", data),), buttons)
    sent = markup.inline_keyboard[0][0].callback_data
    assert len(sent.encode()) <= 64 and sent != data
    press = {
        "id": "q1",
        "from": ANA,
        "chat_instance": "c",
        "data": sent,
        "message": {"message_id": 5, "date": 0, "chat": PRIVATE},
    }
    update = Update.de_json({"update_id": 3, "callback_query": press}, None)
    msg = to_incoming(update, username="diary_bot", buttons=buttons)
    assert (msg.button, msg.text, msg.message_id) == (data, "", "5")
    # Unknown after a restart: it reaches the router as outdated data, never as a crash.
    assert ButtonData().unpack(sent) == sent
    assert buttons.pack("1:yes") == "1:yes"


def test_keyboard_rows_and_where_the_buttons_go() -> None:
    short = keyboard(tuple(Button(n, n) for n in ("a", "b", "c", "d")), ButtonData())
    assert [len(row) for row in short.inline_keyboard] == [3, 1]
    long = keyboard((Button("Cluster meeting notes", "x"), Button("Impact", "y")), ButtonData())
    assert [len(row) for row in long.inline_keyboard] == [1, 1]
    parts = parts_of(Reply("short", buttons=(Button("OK", "1:ok"),), photo=b"p"), ButtonData())
    assert [(p.text, p.photo, p.markup is not None) for p in parts] == [("short", b"p", True)]


def test_split_text_respects_telegrams_utf16_limit_and_breaks() -> None:
    assert split_text("hello") == ["hello"]
    emoji = "😀" * 3000  # 6000 UTF-16 units
    pieces = split_text(emoji)
    assert [units(p) for p in pieces] == [4096, 1904] and "".join(pieces) == emoji
    lines = "\n".join(f"line {n:04}" for n in range(1000))  # 9999 characters
    pieces = split_text(lines)
    assert all(len(p) <= 4096 for p in pieces) and "\n".join(pieces) == lines
    assert all(p.startswith("line ") and p[-4:].isdigit() for p in pieces)
