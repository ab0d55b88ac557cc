"""What platforms may hand over that PostgreSQL refuses and SQLite takes: both must behave alike.

NUL characters, lone surrogates, over-long file names, MIME types and titles are cleaned at the
boundary; ids longer than any platform issues are dropped without a trace. Every test runs on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

from bot.inbound import clean_filename, cleaned
from bot.messages import Attachment, AttachmentKind, ChatKind, ChatRef, Incoming, Sender
from storage.models import DiaryEntry, EvidenceItem, HubChat, Identity, Person
from tests.builders import demo_codes, member, photo_with_gps
from tests.helpers import PLATFORM, Harness, text_of
from tests.test_conversation import rows


def message(user: str, name: str, chat: ChatRef | None = None, **fields: object) -> Incoming:
    chat = chat or ChatRef(PLATFORM, f"dm-{user}", ChatKind.PRIVATE, title=user)
    return Incoming(chat=chat, sender=Sender(PLATFORM, user, name), **fields)  # type: ignore[arg-type]


async def send(bot: Harness, msg: Incoming) -> str:
    before = len(bot.channel.sent)
    await bot.app.dispatcher(msg)
    return text_of([reply for _, reply in bot.channel.sent[before:]])


async def test_nul_characters_and_surrogates_are_stored_cleaned(
    harness: Harness, tmp_path: Path
) -> None:
    codes = await demo_codes(harness)
    await send(harness, message("ana", "A\x00na \ud800Lima", text=f"/join {codes['contributor']}"))
    agree = harness.channel.sent[-1][1].buttons[0].data
    assert "Thank you" in await send(harness, message("ana", "A\x00na \ud800Lima", button=agree))
    (person,) = await rows(harness, Person)
    assert person.display_name == "Ana ?Lima"

    await harness.say("ana", "/cancel")
    await harness.say("ana", "/add")
    await harness.press("ana", "The issue")
    replies = await harness.say("ana", "Reading\x00 aloud\x01 daily")
    assert "question 2 of 6" in text_of(replies)
    photo = photo_with_gps(tmp_path / "p.jpg")
    evidence = Attachment(
        AttachmentKind.PHOTO,
        ref=str(photo),
        mime="image/jpeg\x00" + "x" * 300,
        size=photo.stat().st_size,
        filename="lesson\x00" + "n" * 400 + ".jpg",
        caption="board\x00 work",
    )
    assert "Kept as evidence" in text_of(await harness.send("ana", attachments=(evidence,)))

    (entry,) = await rows(harness, DiaryEntry)
    assert entry.activity == {"why": "Reading aloud daily"}
    (item,) = await rows(harness, EvidenceItem)
    assert item.caption == "board work"
    assert len(item.filename) == 255 and item.filename.startswith("lesson")
    assert item.filename.endswith(".jpg")


async def test_overlong_ids_are_dropped_and_long_titles_cut(harness: Harness) -> None:
    codes = await demo_codes(harness)
    long_id = "9" * 400
    assert await send(harness, message(long_id, "Ana", text="/start")) == ""
    chat = ChatRef(PLATFORM, long_id, ChatKind.PRIVATE)
    assert await send(harness, message("bo", "Bo", chat, text="/start")) == ""
    moved = ChatRef(PLATFORM, "hub", ChatKind.GROUP)
    assert await send(harness, message("bo", "Bo", moved, moved_from=long_id)) == ""
    assert await rows(harness, Identity) == []

    await member(harness, "cora", codes["coordinator"])
    code = text_of(await harness.say("cora", "/hubcode")).split("/linkhub ")[1].split()[0]
    group = ChatRef(PLATFORM, "hub", ChatKind.GROUP, title="Hub\x00 " + "t" * 500)
    assert "now the hub" in await send(
        harness, message("cora", "Cora", group, text=f"/linkhub {code}")
    )
    (hub,) = await rows(harness, HubChat)
    assert hub.title.startswith("Hub t") and len(hub.title) == 300


def test_cleaning_keeps_ordinary_text_and_ids_as_they_are() -> None:
    msg = message(
        "@ana:school.example",
        "Ana Šimić 👩‍🏫",
        text="Line one\n\tLine two – ✓",
        button="3:17",
    )
    assert cleaned(msg) == msg
    assert clean_filename("../../etc/passwd") == ".._.._etc_passwd"
    assert clean_filename("x" * 300) == "x" * 255
