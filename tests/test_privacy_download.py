"""Downloading one's data through /privacy: the zip holds the person's records and files only.

On SQLite and PostgreSQL behind the in-memory channel.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.messages import Reply
from handlers import privacy_download
from storage.models import AuditEvent, DiaryEntry, EvidenceItem
from tests.builders import demo_codes, member, person_id, photo_with_gps, submitted_entry
from tests.helpers import Harness

NAME = re.compile(r"my-data-\d{4}-\d{2}-\d{2}(?:-part-(\d+)-of-(\d+))?\.zip")


async def _download(bot: Harness, user: str) -> list[Reply]:
    """Press /privacy → "Download my data"; the zips sent back, in order."""
    await bot.say(user, "/privacy")
    replies = await bot.press(user, "Download my data")
    return [r for r in replies if r.document is not None]


def _unzip(reply: Reply) -> dict[str, bytes]:
    assert reply.document is not None
    with zipfile.ZipFile(io.BytesIO(reply.document)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


async def _audited(bot: Harness, person_id: int) -> list[dict[str, object]]:
    async with bot.app.db.session() as session:
        rows = await session.exec(
            select(AuditEvent).where(
                AuditEvent.person_id == person_id, AuditEvent.action == "privacy.downloaded"
            )
        )
        return [a.detail for a in rows.all()]


def _text(path: Path, size: int, fill: str) -> Path:
    path.write_text((fill * size)[:size], encoding="utf-8")
    return path


async def test_the_download_holds_everything_of_the_person_and_nothing_of_others(
    harness: Harness, tmp_path: Path
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await member(harness, "ben", codes["school_lead"])
    board = photo_with_gps(tmp_path / "board.jpg")
    report = tmp_path / "Ana Report (final).pdf"
    report.write_bytes(b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")
    bens = _text(tmp_path / "ben-notes.txt", 300, "Benedict's private notes. ")
    await submitted_entry(harness, "ana", "Our board in the hall", board)
    await submitted_entry(harness, "ana", "The final report", report)
    await submitted_entry(harness, "ben", "Benedict's copy of the board", board, bens)
    await harness.say("ana", "/add")  # a draft too: every status is hers to download
    await harness.press("ana", "Impact")
    await harness.say("ana", "A draft answer")
    await harness.say("ana", "/cancel")
    await harness.press("ana", "No, keep it")
    ana, ben = await person_id(harness, "ana"), await person_id(harness, "ben")

    (reply,) = await _download(harness, "ana")

    assert reply.filename and (match := NAME.fullmatch(reply.filename)) and not match.group(1)
    assert "Part 1 of 1" in reply.text and "my-data.json" in reply.text
    files = _unzip(reply)
    data = json.loads(files.pop("my-data.json").decode("utf-8"))
    async with harness.app.db.session() as session:
        entries = (
            await session.exec(
                select(DiaryEntry).where(DiaryEntry.author_id == ana).order_by(col(DiaryEntry.id))
            )
        ).all()
        items = (await session.exec(select(EvidenceItem).order_by(col(EvidenceItem.id)))).all()
    assert data["format"] == "cluster-diary/personal-data/1"
    assert data["person"]["display_name"] == "Ana"
    assert [(a["platform"], a["external_id"]) for a in data["accounts"]] == [("memory", "ana")]
    assert [c["granted"] for c in data["consent"]] == [True]
    assert [r["role"] for r in data["roles"]] == ["contributor"]
    assert [e["id"] for e in data["entries"]] == [e.id for e in entries]
    assert [e["status"] for e in data["entries"]] == ["submitted", "submitted", "draft"]
    assert [e["activity"] for e in data["entries"]] == [e.activity for e in entries]
    assert data["entries"][0]["created"].endswith("Z")
    by_entry = {e.id: [i.media_hash for i in items if i.entry_id == e.id] for e in entries}
    assert {e["id"]: [i["sha256"] for i in e["evidence"]] for e in data["entries"]} == by_entry
    # Exactly her files, each under the path her JSON gives, with the stored bytes.
    records = [i for e in data["entries"] for i in e["evidence"]]
    assert sorted(files) == sorted(r["file"] for r in records)
    assert len(files) == 2
    assert records[1]["file"].endswith("-1-Ana_Report_final.pdf")
    for record in records:
        stored = await harness.app.media.get(record["sha256"])
        assert files[record["file"]] == stored
        assert hashlib.sha256(stored).hexdigest() == record["sha256"]
    # Nothing of Ben: his name, his text, his own file, his entry (the shared photo is hers too).
    text = json.dumps(data, ensure_ascii=False)
    bens_file = next(i for i in items if i.filename == "ben-notes.txt")
    for trace in ("Ben", "ben", bens_file.media_hash or "-"):
        assert trace not in text
        assert not any(trace in name for name in files)
    assert bens.read_bytes() not in files.values()
    assert {i.entry_id for i in items} - {e.id for e in entries}, "Ben's entry exists"
    assert await _audited(harness, ana) == [{"parts": 1}]
    assert await _audited(harness, ben) == []


async def test_a_big_download_comes_in_parts(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    small = [_text(tmp_path / f"notes-{n}.txt", 3000, f"note {n} ") for n in range(4)]
    big = _text(tmp_path / "long.txt", 9000, "a long text ")  # larger than a part
    await submitted_entry(harness, "ana", "Four notes", *small[:2])
    await submitted_entry(harness, "ana", "More notes and a long one", small[2], big, small[3])
    limit = 8000
    monkeypatch.setattr(privacy_download, "PART_BYTES", limit)

    zips = await _download(harness, "ana")

    count = len(zips)
    assert count >= 3
    contents = [_unzip(z) for z in zips]
    for number, (reply, files) in enumerate(zip(zips, contents, strict=True), start=1):
        assert reply.filename and (match := NAME.fullmatch(reply.filename))
        assert (match.group(1), match.group(2)) == (str(number), str(count))
        assert f"Part {number} of {count}" in reply.text
        assert ("my-data.json" in files) == (number == 1)
        assert reply.document is not None
        assert len(reply.document) <= limit or len(files) == 1, "only a lone file may be bigger"
    data = json.loads(contents[0]["my-data.json"])
    records = [i for e in data["entries"] for i in e["evidence"]]
    packed = [name for files in contents for name in files if name != "my-data.json"]
    assert sorted(packed) == sorted(r["file"] for r in records)  # each file exactly once
    assert len(packed) == 5
    every = {name: body for files in contents for name, body in files.items()}
    for record in records:
        assert hashlib.sha256(every[record["file"]]).hexdigest() == record["sha256"]
    assert await _audited(harness, await person_id(harness, "ana")) == [{"parts": count}]


async def test_a_file_missing_from_the_disk_is_noted_not_fatal(
    harness: Harness, tmp_path: Path
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    kept = _text(tmp_path / "kept.txt", 100, "kept ")
    lost = _text(tmp_path / "lost.txt", 100, "lost ")
    await submitted_entry(harness, "ana", "Two notes", kept, lost)
    async with harness.app.db.session() as session:
        gone = (
            await session.exec(select(EvidenceItem).where(EvidenceItem.filename == "lost.txt"))
        ).one()
    assert await harness.app.media.remove(gone.media_hash or "")

    (reply,) = await _download(harness, "ana")

    files = _unzip(reply)
    data = json.loads(files.pop("my-data.json"))
    (entry,) = data["entries"]
    assert [(i["file_name"], i["file"] is None) for i in entry["evidence"]] == [
        ("kept.txt", False),
        ("lost.txt", True),
    ]
    assert list(files) == [entry["evidence"][0]["file"]]
