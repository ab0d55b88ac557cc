"""Erasing oneself through /privacy: the rows really go, shared files stay, the audit says little.

On SQLite and PostgreSQL behind the in-memory channel.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from sqlmodel import SQLModel, select

from storage.media import MediaStore
from storage.models import AuditEvent, DiaryEntry, EvidenceItem, Person
from tests.builders import demo_codes, member, person_id, photo_with_gps, submitted_entry
from tests.helpers import Harness, text_of


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
    await submitted_entry(harness, "ana", "Our board", shared)
    await submitted_entry(harness, "ana", "The secret report", own)
    await submitted_entry(harness, "rui", "The same board", shared)  # the same bytes, rui's entry
    await harness.say("ana", "/add")
    await harness.press("ana", "Impact")  # a draft too
    await harness.say("ana", "A draft answer")
    ana = await person_id(harness, "ana")
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
    await submitted_entry(harness, "ana", "Notes", own)
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
    await submitted_entry(harness, "ana", "Our board", photo_with_gps(tmp_path / "board.jpg"))
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


async def test_a_file_sent_again_while_an_erasure_runs_stays_on_disk(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    digest = await store.put(b"the same photo")
    path = store.path_for(digest)
    written = time.time() - 120
    os.utime(path, (written, written))
    started = written + 60  # the erasure began a minute after the file was written
    await store.put(b"the same photo")  # someone sends the same bytes meanwhile
    assert not await store.remove(digest, unless_reused_since=started)
    assert await store.get(digest) == b"the same photo"
    os.utime(path, (written, written))  # nobody did
    assert await store.remove(digest, unless_reused_since=started)
    assert not await store.exists(digest)
