"""`diarybot media gc`: evidence files no row uses go, after their grace age; nothing else does.

Real files in a real media store, evidence rows made by real messages through the in-memory
channel, on SQLite and PostgreSQL; the command runs through `bot.cli.main` in a thread, with
the bot's app still open, as an operator would run it beside a running bot.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

from sqlalchemy import event
from sqlmodel import select

from bot.cli_media import unused_files
from bot.settings import Settings
from storage.db import Database
from storage.media import MediaStore
from storage.media_refs import CHUNK, referenced
from storage.models import DiaryEntry, EvidenceItem
from tests.builders import demo_codes, member, photo_with_gps
from tests.helpers import Harness, text_of
from tests.test_cli_calendar import _main

HOUR = 3600.0
# Three full chunks and a short one.
MANY = 3 * CHUNK + 7


def _age(path: Path, hours: float) -> None:
    when = time.time() - hours * HOUR
    os.utime(path, (when, when))


def _files(root: Path) -> dict[str, int]:
    """Every file under the media folder (path in it: size)."""
    return {
        str(p.relative_to(root)): p.stat().st_size for p in sorted(root.rglob("*")) if p.is_file()
    }


async def _gc(settings: Settings, *args: str) -> list[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DIARYBOT_")}
    environment |= {
        "DIARYBOT_DATA_DIR": str(settings.data_dir),
        "DIARYBOT_DATABASE_URL": settings.database_url,
    }
    result: subprocess.CompletedProcess[str] = await asyncio.to_thread(
        _main, ["media", "gc", *args], environment
    )
    assert (result.returncode, result.stderr) == (0, "")
    return result.stdout.splitlines()


async def _with_evidence(bot: Harness, user: str, *paths: Path) -> None:
    """A draft entry of `user` with `paths` as its evidence (each row is there from then on)."""
    await bot.say(user, "/add")
    await bot.press(user, "Impact")
    for path in paths:
        assert "Kept as evidence" in text_of(await bot.attach(user, path))


async def test_gc_removes_only_old_unreferenced_files_and_strays(
    harness: Harness, settings: Settings, tmp_path: Path
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await member(harness, "rui", codes["contributor"])
    shared = tmp_path / "Shared_Plan.txt"
    shared.write_text("the plan we share", encoding="utf-8")
    await _with_evidence(harness, "ana", photo_with_gps(tmp_path / "Ana_Board.jpg"), shared)
    await _with_evidence(harness, "rui", shared)  # the same bytes: one file, two rows
    async with harness.app.db.session() as session:
        rows = (await session.exec(select(EvidenceItem))).all()
    used = {row.media_hash for row in rows}
    assert len(rows) == 3 and len(used) == 2

    store = harness.app.media
    orphan = await store.put(b"evidence whose row was erased")
    fresh = await store.put(b"a message still being handled")
    stray = store.root / "ab" / ".incoming-k2j3h4"
    young_stray = store.root / "cd" / ".incoming-q9w8e7"
    for path, data in ((stray, b"half an upl"), (young_stray, b"upload in progress")):
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
    # Not the store's: never listed, never removed.
    (store.root / "README").write_text("left by the operator", encoding="utf-8")
    (store.root / "ab" / "notes.txt").write_text("not a digest", encoding="utf-8")
    for digest in (*used, orphan):
        _age(store.path_for(digest or ""), 48)
    _age(stray, 30)
    _age(store.root / "README", 48)
    before = _files(store.root)
    orphan_size, stray_size = len(b"evidence whose row was erased"), len(b"half an upl")

    dry = await _gc(settings, "--dry-run")
    assert dry == [
        f"would remove {orphan} ({orphan_size} bytes)",
        f"would remove stray temporary file ab/.incoming-k2j3h4 ({stray_size} bytes)",
        f"would remove 2 files, {orphan_size + stray_size} bytes (dry run: nothing was removed)",
    ]
    assert _files(store.root) == before
    assert await _gc(settings, "--dry-run", "--min-age-hours", "49") == [
        "would remove 0 files, 0 bytes (dry run: nothing was removed)"
    ]

    done = await _gc(settings)
    assert done == [line.replace("would remove", "removed") for line in dry[:2]] + [
        f"removed 2 files, {orphan_size + stray_size} bytes"
    ]
    gone = {f"{orphan[:2]}/{orphan}", "ab/.incoming-k2j3h4"}
    assert _files(store.root) == {k: v for k, v in before.items() if k not in gone}
    for digest in (*used, fresh):
        assert await store.exists(digest or "")
    # Names, captions and content never reach the output.
    assert not any(word in "\n".join(dry + done) for word in ("Ana", "Shared", "plan", ".jpg"))
    assert await _gc(settings) == ["removed 0 files, 0 bytes"]

    # The bot still has every file its rows name.
    async with harness.app.db.session() as session:
        hashes = (await session.exec(select(EvidenceItem.media_hash))).all()
    assert all([await store.exists(h or "") for h in hashes])


async def test_a_file_reused_after_listing_stays(db: Database, tmp_path: Path) -> None:
    # A new message storing the same bytes as an old unreferenced file: `put` finds it and
    # touches it, and its row comes only later; the removal sees the new age and keeps it.
    store = MediaStore(tmp_path / "media")
    reused = await store.put(b"the same photo, sent again")
    orphan = await store.put(b"nobody sends this again")
    for digest in (reused, orphan):
        _age(store.path_for(digest), 48)
    older_than = time.time() - 24 * HOUR
    listed = await unused_files(store, db, older_than=older_than)
    assert {f.digest for f in listed} == {reused, orphan}

    assert await store.put(b"the same photo, sent again") == reused
    removed = await store.discard(listed, older_than=older_than)
    assert [f.digest for f in removed] == [orphan]
    assert await store.get(reused) == b"the same photo, sent again"
    assert not await store.exists(orphan)
    assert _files(store.root) == {f"{reused[:2]}/{reused}": len(b"the same photo, sent again")}


async def test_references_are_found_in_every_chunk(harness: Harness) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await harness.say("ana", "/add")
    await harness.press("ana", "Impact")
    async with harness.app.db.session() as session:
        entry_id = (await session.exec(select(DiaryEntry.id))).one()
    digests = [f"{i:064x}" for i in range(MANY)]
    # Both sides of each chunk's edge, and the last, short chunk.
    named = {digests[i] for i in (0, CHUNK - 1, CHUNK, 2 * CHUNK + 3, MANY - 1)}
    async with harness.app.db.session() as session:
        for digest in sorted(named):
            session.add(EvidenceItem(entry_id=entry_id or 0, kind="document", media_hash=digest))
        session.add(EvidenceItem(entry_id=entry_id or 0, kind="link", url="https://example.org"))
    sizes: list[int] = []

    def count(
        _conn: object, _cursor: object, statement: str, parameters: object, *_: object
    ) -> None:
        if "evidence_items" in statement:
            sizes.append(len(parameters))  # type: ignore[arg-type]

    engine = harness.app.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        async with harness.app.db.session() as session:
            assert await referenced(session, digests=digests) == named
            assert await referenced(session, digests=[]) == set()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert sizes == [CHUNK, CHUNK, CHUNK, MANY - 3 * CHUNK]  # one query a chunk, none for none
