"""Retention after a cluster's end: the dry run reports exactly what applying then does.

The bot (behind the in-memory channel) fills two clusters; the `diarybot` command line runs in a
process of its own against the same database, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.settings import Settings
from storage.clusters import add_school, create_cluster, create_invite
from storage.models import (
    AuditEvent,
    Cluster,
    ConsentRecord,
    DiaryEntry,
    EntryStatus,
    EvidenceItem,
    HubChat,
    Identity,
    Meeting,
    Person,
    Role,
)
from storage.retention import add_months
from tests.builders import demo_codes, member, person_id, photo_with_gps, submitted_entry
from tests.helpers import Harness, text_of
from tests.test_cli import diarybot_on


def test_add_months_keeps_the_day_or_takes_the_months_last() -> None:
    assert add_months(date(2026, 1, 31), 12) == date(2027, 1, 31)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2027, 12, 15), 2) == date(2028, 2, 15)
    assert add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)


async def _counts(bot: Harness) -> dict[str, int]:
    async with bot.app.db.engine.connect() as conn:
        return {
            table.name: (await conn.execute(select(func.count()).select_from(table))).scalar_one()
            for table in SQLModel.metadata.sorted_tables
        }


async def one(session: AsyncSession, query: Any) -> Any:
    return (await session.exec(query)).one()


async def _north_member(bot: Harness, user: str) -> None:
    """`user` joins a second cluster's school as a contributor."""
    async with bot.app.db.session() as session:
        north = await create_cluster(
            session, name="North Cluster", language="en", timezone="Europe/Lisbon"
        )
        assert north.id is not None
        school = await add_school(session, cluster_id=north.id, name="Escola do Norte")
        code = (await create_invite(session, cluster_id=north.id, school_id=school.id)).code
    # Consent was given already: the code joins at once.
    assert "You're in" in text_of(await bot.say(user, f"/join {code}"))


async def test_retention_dry_run_then_apply(
    harness: Harness, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await member(harness, "rui", codes["school_lead"])
    await member(harness, "bob", codes["contributor"])
    shared = photo_with_gps(tmp_path / "board.jpg")
    own = tmp_path / "Ana_Plan.pdf"
    own.write_bytes(b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")
    await submitted_entry(harness, "ana", "Ana's plan for the reading corner", own)
    await submitted_entry(harness, "rui", "Rui's photo of the board", shared)
    await harness.say("ana", "/add")
    await harness.press("ana", "Impact")
    await harness.say("ana", "A draft Ana never finished")
    ana, rui = await person_id(harness, "ana"), await person_id(harness, "rui")
    # Rui also works in a second cluster, where the same photo is evidence too.
    await _north_member(harness, "rui")
    await harness.say("rui", "/cancel")
    async with harness.app.db.session() as session:
        north = (await session.exec(select(Cluster).where(Cluster.name == "North Cluster"))).one()
        (demo,) = (await session.exec(select(Cluster).where(Cluster.name != north.name))).all()
        rui_entry = (
            await session.exec(select(DiaryEntry).where(DiaryEntry.author_id == rui))
        ).one()
        north_school = (
            await session.exec(select(Role.school_id).where(Role.cluster_id == north.id))
        ).one()
        copy = DiaryEntry(
            school_id=north_school, section="issue", author_id=rui, status=EntryStatus.SUBMITTED
        )
        session.add(copy)
        await session.flush()
        photo = (
            await session.exec(select(EvidenceItem).where(EvidenceItem.entry_id == rui_entry.id))
        ).one()
        session.add(EvidenceItem(entry_id=copy.id, kind="photo", media_hash=photo.media_hash))
        pdf = (
            await session.exec(select(EvidenceItem).where(EvidenceItem.filename == own.name))
        ).one()
        session.add(HubChat(cluster_id=demo.id, platform="memory", chat_id="hub"))
        start = datetime(2026, 1, 20, 15, tzinfo=UTC)
        session.add(  # set up by Rui, who stays active in North
            Meeting(cluster_id=demo.id, scheduled_at=start, ends_at=start, created_by=rui)
        )
    assert await harness.app.media.exists(pdf.media_hash or "")

    code, out = diarybot_on(settings, "retention", "--cluster", demo.name, "--dry-run")
    assert code == 2 and "has no end date" in out
    code, out = diarybot_on(settings, "cluster", "end", demo.name, "2026-01-31")
    assert code == 0 and "kept until 2027-01-31" in out and "retention_months = 12" in out

    # The scheduler reminds the operator once the cluster has ended.
    caplog.set_level(logging.INFO, logger="bot.scheduler")
    await harness.app.scheduler.plan(datetime(2027, 2, 2, 9, tzinfo=UTC))
    assert "due for retention on 2027-01-31" in caplog.text and "--dry-run" in caplog.text

    code, out = diarybot_on(settings, "retention", "--cluster", demo.name, "--apply")
    assert code == 2 and "kept until 2027-01-31; use --early" in out

    before = await _counts(harness)
    code, dry = diarybot_on(settings, "retention", "--cluster", demo.name, "--dry-run")
    assert code == 0 and dry.startswith("dry run: retention would apply to Demo Cluster")
    assert await _counts(harness) == before  # nothing changed
    assert await harness.app.media.exists(pdf.media_hash or "")

    code, applied = diarybot_on(settings, "retention", "--cluster", demo.name, "--apply", "--early")
    assert code == 0 and applied.startswith("retention applied to Demo Cluster")
    numbers = re.findall(r"^\s+(\d+)\s+(.+)$", applied, re.M)
    assert numbers == re.findall(r"^\s+(\d+)\s+(.+)$", dry, re.M)
    said = {label: int(count) for count, label in numbers}
    assert said["submitted entries kept without names"] == 2
    assert said["drafts and deleted entries erased"] == 1
    assert said["evidence items erased"] == 2
    assert said["files removed from the disk"] == 1  # the photo is still used in North
    assert "Ana" not in applied and "reading corner" not in applied

    async with harness.app.db.session() as session:
        entries = (await session.exec(select(DiaryEntry).order_by(DiaryEntry.id))).all()
        kept = [e for e in entries if e.school_id != north_school]
        assert [(e.author_id, e.anonymised, e.status) for e in kept] == [
            (ana, True, EntryStatus.SUBMITTED),
            (rui, True, EntryStatus.SUBMITTED),
        ]
        assert "reading corner" in str(kept[0].activity)  # the record itself stays
        north_copy = [e for e in entries if e.school_id == north_school]
        assert [e.anonymised for e in north_copy] == [False]
        ana_person = await session.get(Person, ana)
        rui_person = await session.get(Person, rui)
        assert ana_person is not None and ana_person.display_name == ""
        assert rui_person is not None and rui_person.display_name == "Rui"  # still in North
        for table, column in (
            (Identity, Identity.person_id),
            (ConsentRecord, ConsentRecord.person_id),
        ):
            assert (await session.exec(select(table).where(column == ana))).all() == []
        assert (await session.exec(select(Role).where(Role.cluster_id == demo.id))).all() == []
        assert (await session.exec(select(HubChat))).all() == []
        meeting = await one(session, select(Meeting))
        assert meeting.created_by is None  # the record stays, without who set it up
        bob = (await session.exec(select(Person).where(Person.display_name == "Bob"))).first()
        assert bob is None  # no entries, no other cluster: erased whole
        cluster = await session.get(Cluster, demo.id)
        assert cluster is not None and cluster.retention_applied_at is not None
        audit = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == "retention.applied"))
        ).one()
    assert audit.person_id is None and audit.detail["entries_kept"] == 2
    assert "Ana" not in str(audit.detail)
    assert not await harness.app.media.exists(pdf.media_hash or "")
    assert await harness.app.media.exists(photo.media_hash or "")

    # The person forgotten is a stranger now; nothing of the old cluster answers them.
    assert "join" in text_of(await harness.say("ana", "/add")).lower()
    code, again = diarybot_on(settings, "retention", "--cluster", demo.name, "--apply")
    assert code == 0 and "was applied" in again
