"""Consent as a deployment words it, asked again when its version changes, withdrawn two ways.

Through the whole bot behind the in-memory channel, on SQLite and PostgreSQL. A new consent
version is what an operator does: the bot restarts with other settings over the same database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.settings import Settings
from storage.digests import digest_of
from storage.models import (
    AuditEvent,
    Cluster,
    ConsentRecord,
    DiaryEntry,
    EvidenceItem,
    Identity,
    Person,
    Visibility,
)
from storage.types import utcnow
from tests.builders import demo_codes, member, person_id, photo_with_gps, submitted_entry
from tests.helpers import Harness, make_harness, text_of


@pytest.fixture
async def worded(settings: Settings) -> AsyncIterator[Harness]:
    """The bot with a deployment's own controller, contact, purpose and retention."""
    bot = await make_harness(
        settings.model_copy(
            update={
                "data_controller": "Escola Secundária do Norte",
                "data_contact": "dpo@escola-norte.example",
                "data_purpose": "to study how the schools of the cluster mentor each other.",
                "retention_months": 18,
            }
        )
    )
    yield bot
    await bot.app.db.close()


async def test_the_consent_text_names_the_deployments_controller_purpose_and_retention(
    worded: Harness,
) -> None:
    codes = await demo_codes(worded)
    text = text_of(await worded.say("ana", f"/join {codes['contributor']}"))
    assert "Escola Secundária do Norte" in text
    assert "dpo@escola-norte.example" in text
    assert "to study how the schools of the cluster mentor each other." in text
    assert "18 months after your cluster's work ends" in text
    assert "consent version 2026-11" in text
    await worded.press("ana", "Português")
    await worded.press("ana", "Aceito")
    await worded.say("ana", "/consent")
    portuguese = worded.channel.sent[-1][1].text
    assert "18 meses" in portuguese and "Escola Secundária do Norte" in portuguese


async def test_unset_wording_points_to_the_coordinator(harness: Harness) -> None:
    codes = await demo_codes(harness)
    text = text_of(await harness.say("ana", f"/join {codes['contributor']}"))
    assert "your coordinator can tell you which" in text
    assert "12 months after your cluster's work ends" in text


async def test_a_new_consent_version_is_asked_mid_entry_and_the_entry_resumes(
    harness: Harness, settings: Settings
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await harness.say("ana", "/add")
    await harness.press("ana", "Impact")
    first_question = harness.channel.sent[-1][1].text
    await harness.say("ana", "Pupils explain their reasoning aloud now")
    second_question = harness.channel.sent[-1][1].text
    await harness.app.db.close()

    # The operator words the text anew and raises its version; the bot restarts.
    bot = await make_harness(settings.model_copy(update={"consent_version": "2027-01"}))
    try:
        asked = text_of(await bot.say("ana", "Their written work improved too"))
        assert "now version 2027-01" in asked and "consent version 2027-01" in asked
        async with bot.app.db.session() as session:
            draft = (await session.exec(select(DiaryEntry))).one()
        assert "Their written work" not in str(draft.activity)  # nothing saved before agreeing

        resumed = text_of(await bot.press("ana", "I agree"))
        assert "Back to where you were" in resumed
        assert second_question in resumed and second_question != first_question
        await bot.say("ana", "Their written work improved too")
        async with bot.app.db.session() as session:
            draft = (await session.exec(select(DiaryEntry))).one()
            versions = (
                await session.exec(select(ConsentRecord.version).order_by(col(ConsentRecord.id)))
            ).all()
        assert "Pupils explain their reasoning" in str(draft.activity)
        assert "Their written work improved too" in str(draft.activity)
        assert versions == ["2026-11", "2027-01"]
        # Once agreed, nothing more is asked.
        assert "consent" not in text_of(await bot.say("ana", "/mine")).lower()
    finally:
        await bot.app.db.close()


async def test_declining_a_new_version_keeps_the_draft_and_stops_contributing(
    harness: Harness, settings: Settings
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await harness.say("ana", "/add")
    await harness.press("ana", "Impact")
    await harness.say("ana", "Pupils explain their reasoning aloud now")
    await harness.app.db.close()
    bot = await make_harness(settings.model_copy(update={"consent_version": "2027-01"}))
    try:
        await bot.say("ana", "/add")
        assert "declined" in text_of(await bot.press("ana", "No, thanks"))
        async with bot.app.db.session() as session:
            draft = (await session.exec(select(DiaryEntry))).one()
        assert "Pupils explain their reasoning" in str(draft.activity)
        refused = text_of(await bot.say("ana", "/add"))
        assert "consent" in refused.lower()
        # /privacy works without agreeing to the new text.
        assert "Your choices" in text_of(await bot.say("ana", "/privacy"))
    finally:
        await bot.app.db.close()


async def _entries_of(bot: Harness, person_id: int) -> list[DiaryEntry]:
    async with bot.app.db.session() as session:
        found = await session.exec(select(DiaryEntry).where(DiaryEntry.author_id == person_id))
        return list(found.all())


async def test_withdrawing_and_keeping_leaves_the_entries_under_a_pseudonym(
    harness: Harness, tmp_path: Path
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await submitted_entry(harness, "ana", "Our board", photo_with_gps(tmp_path / "board.jpg"))
    ana = await person_id(harness, "ana")
    async with harness.app.db.session() as session:
        entry = (await session.exec(select(DiaryEntry))).one()
        assert entry.sources, "the messages that gave its answers are noted"
        entry.visibility = Visibility.PUBLIC_NAMED
        session.add(entry)
        await session.commit()

    await harness.say("ana", "/privacy")
    asked = text_of(await harness.press("ana", "Withdraw consent"))
    assert "entries: 1, evidence items: 1" in asked
    done = text_of(await harness.press("ana", "Leave it there, without my name"))
    async with harness.app.db.session() as session:
        person = await session.get(Person, ana)
        assert person is not None
        names = (
            await session.exec(select(Identity.display_name).where(Identity.person_id == ana))
        ).all()
        cluster = (await session.exec(select(Cluster))).one()
        digest = await digest_of(
            session, cluster=cluster, since=entry.created_at, until=utcnow(), questions={}
        )
        consent = (
            await session.exec(select(ConsentRecord).order_by(col(ConsentRecord.id).desc()))
        ).first()
    assert f"participant {person.pseudonym}" in done
    assert person.display_name == "" and set(names) == {""}
    assert consent is not None and not consent.granted
    (kept,) = await _entries_of(harness, ana)
    assert kept.anonymised and kept.visibility == Visibility.CLUSTER
    # Nor does the trail of the platform messages that gave it stay.
    async with harness.app.db.session() as session:
        sources = (await session.exec(select(EvidenceItem.source_message))).all()
    assert kept.sources is None and sources == [None]
    contributions = [c for school in digest.schools for c in school.contributions]
    assert [(c.author, c.pseudonym) for c in contributions] == [("", person.pseudonym)]

    # Nothing new is taken; consent given again is recorded and contributing works again.
    assert "consent" in text_of(await harness.say("ana", "/add")).lower()
    await harness.say("ana", "/consent")
    await harness.press("ana", "I agree")
    async with harness.app.db.session() as session:
        person = await session.get(Person, ana)
        answers = (
            await session.exec(
                select(ConsentRecord.granted)
                .where(ConsentRecord.person_id == ana)
                .order_by(col(ConsentRecord.id))
            )
        ).all()
    assert answers == [True, False, True]
    assert person is not None and person.display_name == "Ana"
    assert "Which part of the diary" in text_of(await harness.say("ana", "/add"))
    (still,) = await _entries_of(harness, ana)
    assert still.anonymised  # what was kept without a name stays so


async def test_withdrawing_and_erasing_removes_the_entries_and_their_files(
    harness: Harness, tmp_path: Path
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await submitted_entry(harness, "ana", "Our board", photo_with_gps(tmp_path / "board.jpg"))
    ana = await person_id(harness, "ana")
    async with harness.app.db.session() as session:
        (digest,) = (await session.exec(select(EvidenceItem.media_hash))).all()
    assert digest is not None and await harness.app.media.exists(digest)

    await harness.say("ana", "/privacy")
    await harness.press("ana", "Withdraw consent")
    done = text_of(await harness.press("ana", "Erase it"))
    assert "erased: entries: 1, evidence items: 1" in done
    assert await _entries_of(harness, ana) == []
    assert not await harness.app.media.exists(digest)
    async with harness.app.db.session() as session:
        person = await session.get(Person, ana)
        actions = (
            await session.exec(select(AuditEvent.action).where(AuditEvent.person_id == ana))
        ).all()
    assert person is not None and person.display_name == ""  # the account itself stays
    assert "consent.withdrawn" in actions and "privacy.contributions_erased" in actions


async def test_not_withdrawing_changes_nothing(harness: Harness) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await harness.say("ana", "/privacy")
    await harness.press("ana", "Withdraw consent")
    assert "Nothing changed" in text_of(await harness.press("ana", "Don't withdraw"))
    assert "Which part of the diary" in text_of(await harness.say("ana", "/add"))


async def test_under_an_earlier_version_taking_back_stays_open_and_one_agreement_is_enough(
    harness: Harness, settings: Settings
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await submitted_entry(harness, "ana", "Our board")
    await harness.app.db.close()
    bot = await make_harness(settings.model_copy(update={"consent_version": "2027-01"}))
    try:
        # Reviewing what was given is not contributing: no consent text in the way.
        await bot.say("ana", "/mine")
        shown = text_of(await bot.press("ana", "1. The issue"))
        assert "Our board" in shown and "consent version" not in shown
        # Contributing is: asked once, even when another contributing command comes meanwhile.
        assert "now version 2027-01" in text_of(await bot.say("ana", "/add"))
        assert "now version 2027-01" in text_of(await bot.say("ana", "/add"))
        agreed = await bot.press("ana", "I agree")
        assert "Which language" not in text_of(agreed)  # known already: not asked again
        assert [b.data for b in agreed[-1].buttons][:1] == ["/add"]
        async with bot.app.db.session() as session:
            versions = (await session.exec(select(ConsentRecord.version))).all()
        assert sorted(versions) == ["2026-11", "2027-01"]
        assert "Which part of the diary" in text_of(await bot.say("ana", "/add"))
    finally:
        await bot.app.db.close()


async def test_consent_asked_with_the_command_mid_entry_comes_back_to_the_entry(
    harness: Harness,
) -> None:
    codes = await demo_codes(harness)
    await member(harness, "ana", codes["contributor"])
    await harness.say("ana", "/add")
    await harness.press("ana", "Impact")
    question = harness.channel.sent[-1][1].text
    await harness.say("ana", "/consent")
    assert question in text_of(await harness.press("ana", "I agree"))
