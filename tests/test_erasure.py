"""Erasing oneself through /privacy: the rows really go, shared files stay, the audit says little.

On SQLite and PostgreSQL behind the in-memory channel.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlmodel import SQLModel, select

from storage.models import AuditEvent, DiaryEntry, EvidenceItem, Person
from storage.people import identity_for
from tests.builders import demo_codes, member, photo_with_gps
from tests.helpers import Harness, text_of


async def _entry_with(bot: Harness, user: str, path: Path, answer: str) -> None:
    """A submitted issue entry with one file as evidence."""
    await bot.say(user, "/add")
    await bot.press(user, "The issue")
    await bot.attach(user, path)
    await bot.say(user, answer)
    await bot.press(user, "That's all")
    await bot.press(user, "Skip")
    await bot.press(user, "Add it")
    await bot.press(user, "Cluster only")


async def _person_id(bot: Harness, user: str) -> int:
    async with bot.app.db.session() as session:
        _, person = await identity_for(session, platform="memory", external_id=user)
        return person.id or 0


async def _rows_naming(bot: Harness, person_id: int) -> dict[str, int]:
    """For every column that refers to a person, how many rows name this one."""
    found: dict[str, int] = {}
    async with bot.app.db.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for column in table.columns:
                refers = any(fk.column.table.name == "people" for fk in column.foreign_keys)
                if refers or (table.name == "people" and column.name == "id"):
                    result = await conn.execute(
                        select(column).where(column == person_id)  # type: ignore[arg-type]
                    )
                    count = len(result.all())
                    if count:
                        found[f"{table.name}.{column.name}"] = count
    return found


async def test_erasing_an_account_leaves_nothing_of_the_person(
    harness: Harness, tmp_path: Path
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await member(harness, "rui", codes["school_lead"])
    shared = photo_with_gps(tmp_path / "board.jpg")
    own = tmp_path / "Ana_Secret_Report.pdf"
    own.write_bytes(b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")
    await _entry_with(harness, "ana", shared, "Our board")
    await _entry_with(harness, "ana", own, "The secret report")
    await _entry_with(harness, "rui", shared, "The same board")  # the same bytes, rui's entry
    await harness.say("ana", "/add")
    await harness.press("ana", "Impact")  # a draft too
    await harness.say("ana", "A draft answer")
    ana = await _person_id(harness, "ana")
    async with harness.app.db.session() as session:
        items = (await session.exec(select(EvidenceItem))).all()
    hashes = {i.filename: i.media_hash for i in items}
    assert "diary_entries.author_id" in await _rows_naming(harness, ana)

    await harness.say("ana", "/cancel")
    await harness.say("ana", "/privacy")
    asked = text_of(await harness.press("ana", "Erase my account"))
    assert "entries: 3, evidence items: 2" in asked
    done = text_of(await harness.press("ana", "Yes"))
    assert "Your account is erased, with entries: 3 and evidence items: 2" in done

    assert await _rows_naming(harness, ana) == {}
    async with harness.app.db.session() as session:
        assert await session.get(Person, ana) is None
        left = (await session.exec(select(DiaryEntry))).all()
        audit = (await session.exec(select(AuditEvent))).all()
    assert [e.activity for e in left] == [{"why": "The same board"}]
    media = harness.app.media
    assert not await media.exists(hashes["Ana_Secret_Report.pdf"] or "")
    assert await media.exists(hashes["board.jpg"] or ""), "rui's entry still uses it"
    erased = [a for a in audit if a.action == "privacy.person_erased"]
    assert [(a.person_id, a.detail, a.target) for a in erased] == [(None, {}, "")]
    assert not any("Secret" in str(a.detail) for a in audit)
    # She is a stranger now: a new message starts from nothing.
    assert "join" in text_of(await harness.say("ana", "/add")).lower()


async def test_erasing_contributions_keeps_the_account(harness: Harness, tmp_path: Path) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    own = tmp_path / "notes.txt"
    own.write_text("our notes", encoding="utf-8")
    await _entry_with(harness, "ana", own, "Notes")
    async with harness.app.db.session() as session:
        (item,) = (await session.exec(select(EvidenceItem))).all()
    await harness.say("ana", "/privacy")
    await harness.press("ana", "Erase my contributions")
    assert "Erased: entries: 1, evidence items: 1" in text_of(await harness.press("ana", "Yes"))
    assert not await harness.app.media.exists(item.media_hash or "")
    async with harness.app.db.session() as session:
        assert (await session.exec(select(DiaryEntry))).all() == []
        assert (await session.exec(select(EvidenceItem))).all() == []
    assert "Which part of the diary" in text_of(await harness.say("ana", "/add"))


def test_every_table_naming_a_person_is_covered() -> None:
    """A new table referring to people must be added to the erasure (or this test)."""
    from storage.erasure import OWN, SET_UP_BY

    covered = {(t.__tablename__, c) for t, c in (*OWN, *SET_UP_BY)}
    covered |= {("diary_entries", "author_id"), ("identities", "person_id")}
    referring = {
        (table.name, column.name)
        for table in SQLModel.metadata.sorted_tables
        for column in table.columns
        if any(fk.column.table.name == "people" for fk in column.foreign_keys)
    }
    assert referring - covered == set()


async def test_seeing_what_is_kept_counts_each_kind(harness: Harness, tmp_path: Path) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await _entry_with(harness, "ana", photo_with_gps(tmp_path / "board.jpg"), "Our board")
    await harness.say("ana", "/add")
    await harness.press("ana", "Impact")
    await harness.say("ana", "A draft answer")
    await harness.say("ana", "/cancel")
    await harness.press("ana", "No, keep it")
    await harness.say("ana", "/privacy")
    summary = text_of(await harness.press("ana", "See what is kept"))
    assert "Accounts: memory" in summary
    assert "Roles: contributor at Hillview Primary" in summary
    assert "Consent: given on " in summary
    assert "Entries: submitted: 1, drafts: 1, deleted from view: 0" in summary
    assert re.search(r"Evidence: photos 1 \(\d+ kB in all\)", summary)
    assert "Meetings answered: 0" in summary
    # The menu stays: the next choice still works.
    assert "Nothing changed" in text_of(await harness.press("ana", "Keep things as they are"))
