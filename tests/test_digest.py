"""Digests: what they say, who may ask for one, periods, and the weekly post in the hub.

The demo cluster runs behind the in-memory channel on SQLite and PostgreSQL, its diary seeded
directly in the database; the dispatcher and the scheduler share a clock the test sets.
"""

from __future__ import annotations

import asyncio
import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import select

from bot.messages import Reply
from handlers.dates import say_day
from handlers.digest import PeriodError, parse_period
from handlers.digest_text import chart_data, digest_texts
from handlers.sections import QUESTIONS
from prompts import Translator
from storage.clusters import create_cluster, create_invite
from storage.digests import digest_of
from storage.meetings import answer, create_meeting
from storage.models import (
    Answer,
    Cluster,
    DiaryEntry,
    EvidenceItem,
    Person,
    Reminder,
    RoleName,
    School,
    SchoolFocus,
)
from storage.people import grant_role, identity_for
from storage.types import utcnow
from tests.builders import member
from tests.helpers import Harness, text_of
from tests.test_cli_calendar import _main
from tests.test_meetings import Clock, cluster_with_hub, restarted

EN = Translator("en")
# Friday 5 March 2027, 15:00 in Lisbon (winter time): the demo cluster's weekly digest moment.
FRIDAY = datetime(2027, 3, 5, 15, tzinfo=UTC)
HILLVIEW, LAKESIDE = "Hillview Primary", "Lakeside Secondary"


async def _ids(bot: Harness) -> dict[str, int]:
    """People (by user name) and schools (by name) of the demo cluster."""
    found: dict[str, int] = {}
    async with bot.app.db.session() as session:
        for user in ("ana", "rui", "cora"):
            _, person = await identity_for(session, platform="memory", external_id=user)
            found[user] = person.id or 0
        for school in (await session.exec(select(School))).all():
            found[school.name] = school.id or 0
        found["cluster"] = (await session.exec(select(Cluster))).one().id or 0
    return found


def _entry(school: int, author: int, section: str, when: datetime, **fields: object) -> DiaryEntry:
    key = QUESTIONS[section][0]
    defaults: dict[str, object] = {"status": "submitted", "submitted_at": when}
    return DiaryEntry(
        school_id=school,
        author_id=author,
        section=section,
        activity={key: f"{section} by {author}: we tried a reading corner"},
        **(defaults | fields),
    )


async def seeded(bot: Harness) -> dict[str, int]:
    """Hillview: 3 entries this week (one anonymous), evidence, a draft and a deleted entry;
    Lakeside: nothing since it joined; a meeting next week with two answers."""
    ids = await _ids(bot)
    week = FRIDAY - timedelta(days=3)
    async with bot.app.db.session() as session:
        for user in ("ana", "rui"):
            person = await session.get(Person, ids[user])
            assert person is not None
            person.display_name = user.title()
            session.add(person)
        cluster = await session.get(Cluster, ids["cluster"])
        assert cluster is not None
        cluster.nudge_after_days = 42
        cluster.digest_day = 5  # Friday, at 15:00
        session.add(cluster)
        hill = ids[HILLVIEW]
        first = _entry(hill, ids["ana"], "issue", week)
        session.add_all(
            [
                first,
                _entry(hill, ids["ana"], "issue", week + timedelta(hours=1)),
                _entry(hill, ids["rui"], "action", week, visibility="public_anonymous"),
                _entry(hill, ids["ana"], "impact", week, status="draft", submitted_at=None),
                _entry(hill, ids["ana"], "impact", week, status="deleted"),
                _entry(hill, ids["ana"], "issue", FRIDAY - timedelta(days=60)),  # before
                SchoolFocus(school_id=hill, title="Reading for pleasure", status="confirmed"),
            ]
        )
        await session.flush()
        session.add_all(
            [
                EvidenceItem(entry_id=first.id, kind="photo"),
                EvidenceItem(entry_id=first.id, kind="photo"),
                EvidenceItem(entry_id=first.id, kind="voice", transcript="Children chose books"),
                EvidenceItem(entry_id=first.id, kind="photo", removed_at=week),
            ]
        )
        meeting = await create_meeting(
            session,
            cluster_id=ids["cluster"],
            start=FRIDAY + timedelta(days=5),
            end=FRIDAY + timedelta(days=5, hours=2),
            place="Hillview",
            agenda="",
            invited=[],
            person_id=ids["cora"],
            now=week,
        )
        for user, choice in (("ana", Answer.COMING), ("rui", Answer.MAYBE)):
            await answer(
                session, meeting_id=meeting.id or 0, person_id=ids[user], choice=choice, now=week
            )
        # Another cluster's school and entry: never in this digest.
        other = await create_cluster(session, name="Far", language="en", timezone="Europe/Rome")
        far = School(cluster_id=other.id or 0, name="Far School")
        session.add(far)
        await session.flush()
        session.add(_entry(far.id or 0, ids["ana"], "issue", week))
    return ids


async def _digest_text(bot: Harness) -> str:
    async with bot.app.db.session() as session:
        cluster = (await session.exec(select(Cluster).where(Cluster.name != "Far"))).one()
        digest = await digest_of(
            session,
            cluster=cluster,
            since=FRIDAY - timedelta(days=7),
            until=FRIDAY,
            questions=QUESTIONS,
        )
    return "\n\n".join(digest_texts(EN, digest, now=FRIDAY))


async def test_digest_counts_excerpts_anonymity_quiet_schools_and_the_next_meeting(
    harness: Harness,
) -> None:
    await cluster_with_hub(harness, Clock(FRIDAY))
    await seeded(harness)
    text = await _digest_text(harness)
    assert "Contributions in this period: 3" in text
    hill = text.split(f"🏫 {HILLVIEW}")[1].split("🏫")[0]
    assert "Focus: Reading for pleasure" in hill
    assert "Added: The issue 2 · Action taken 1" in hill
    assert hill.count("• ") == 3
    assert "The issue — Ana: “issue by" in hill
    assert "Action taken — anonymous: “action by" in hill and "Rui" not in hill
    assert "Evidence: photos 2 · voice notes 1" in hill
    assert "🎙 “Children chose books”" in hill
    lakeside = text.split(f"🏫 {LAKESIDE}")[1].split("🏫")[0]
    assert "No new contributions for a while" in lakeside  # since 1 Aug 2026, not counted
    assert "Focus: not confirmed yet" in lakeside
    assert "Far School" not in text and "Impact" not in hill, "no drafts, nothing deleted"
    assert "Next cluster meeting: Wednesday, 10 March 2027, 15:00" in text
    assert "Coming 1 · maybe 1 · not coming 0" in text


async def test_chart_counts_the_terms_entries_per_school_and_section(harness: Harness) -> None:
    await cluster_with_hub(harness, Clock(FRIDAY))
    ids = await seeded(harness)
    async with harness.app.db.session() as session:
        cluster = await session.get(Cluster, ids["cluster"])
        assert cluster is not None
        digest = await digest_of(
            session,
            cluster=cluster,
            since=FRIDAY - timedelta(days=7),
            until=FRIDAY,
            questions=QUESTIONS,
        )
        data = await chart_data(session, EN, digest, now=FRIDAY)
    # No term covers March 2027 in the demo calendar: the last 90 days, which include the
    # entry of 60 days ago.
    assert data.title == "Contributions in the last 90 days"
    row = dict(zip(data.schools, data.counts, strict=True))
    assert row[HILLVIEW] == (3, 1, 0, 0, 0)
    assert row[LAKESIDE] == (0, 0, 0, 0, 0)
    assert data.caption_total == "In all: 4"


@pytest.mark.parametrize(
    ("text", "language", "days_back"),
    [("30d", "en", 30), ("4 weeks", "en", 28), ("2 semanas", "pt", 14), ("", "en", None)],
)
def test_periods_by_length(text: str, language: str, days_back: int | None) -> None:
    start = parse_period(text, Translator(language), FRIDAY, "Europe/Lisbon")
    assert start == (FRIDAY - timedelta(days=days_back) if days_back else None)


@pytest.mark.parametrize(
    ("text", "language"),
    [("since 1 September", "en"), ("1 September", "en"), ("desde 1 de setembro", "pt")],
)
def test_periods_since_a_day_take_the_last_one(text: str, language: str) -> None:
    start = parse_period(text, Translator(language), FRIDAY, "Europe/Lisbon")
    assert start == datetime(2026, 9, 1, tzinfo=UTC) - timedelta(hours=1)  # Lisbon summer


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("whenever", "digest.bad_period"),
        ("0d", "digest.bad_period"),
        ("3 bananas", "digest.bad_period"),
        ("since 1 January 2030", "digest.future_period"),
        ("1000 weeks", "digest.long_period"),
    ],
)
def test_bad_periods_say_why(text: str, why: str) -> None:
    with pytest.raises(PeriodError) as refused:
        parse_period(text, EN, FRIDAY, "Europe/Lisbon")
    assert refused.value.key == why


async def test_who_may_ask_and_where_it_goes(harness: Harness) -> None:
    await cluster_with_hub(harness, Clock(FRIDAY))
    await seeded(harness)
    # cora in the hub: posted there, text and chart.
    mark = len(harness.channel.sent)
    await harness.say("cora", "/digest 7d", group="hub")
    posted = harness.channel.sent[mark:]
    assert {c.chat_id for c, _ in posted} == {"hub"}
    assert "Contributions in this period: 3" in text_of([r for _, r in posted])
    photo = posted[-1][1]
    assert photo.photo is not None and photo.text.startswith("Contributions in the last 90")
    # ana (a contributor) in the hub: told privately, nothing in the hub.
    mark = len(harness.channel.sent)
    await harness.say("ana", "/digest", group="hub")
    assert [(c.chat_id, "coordinators" in r.text) for c, r in harness.channel.sent[mark:]] == [
        ("dm-ana", True)
    ]
    # Someone the bot has never met privately: the refusal is all that goes to the hub.
    mark = len(harness.channel.sent)
    await harness.say("zed", "/digest", group="hub")
    ((chat, reply),) = harness.channel.sent[mark:]
    assert chat.chat_id == "hub" and "coordinators" in reply.text and reply.photo is None
    # In private: ana may not; rui (a school lead) gets his own school only.
    assert "Digests are for" in text_of(await harness.say("ana", "/digest"))
    lead = text_of(await harness.say("rui", "/digest 7d"))
    assert HILLVIEW in lead and LAKESIDE not in lead
    bad = text_of(await harness.say("cora", "/digest whenever"))
    assert "could not read that period" in bad


async def test_another_clusters_coordinator_gets_nothing_from_this_hub(harness: Harness) -> None:
    await cluster_with_hub(harness, Clock(FRIDAY))
    await seeded(harness)
    async with harness.app.db.session() as session:
        far = (await session.exec(select(Cluster).where(Cluster.name == "Far"))).one()
        invite = await create_invite(
            session, cluster_id=far.id or 0, role=RoleName.CLUSTER_COORDINATOR, school_id=None
        )
    await member(harness, "olga", invite.code)
    mark = len(harness.channel.sent)
    await harness.say("olga", "/digest", group="hub")
    assert [c.chat_id for c, _ in harness.channel.sent[mark:]] == ["dm-olga"]
    own = text_of(await harness.say("olga", "/digest 30d"))
    assert "Far School" in own and HILLVIEW not in own


def _digests(bot: Harness, mark: int) -> list[Reply]:
    """The digest messages posted in the hub since `mark` (the meeting's reminders left out)."""
    return [
        r
        for c, r in bot.channel.sent[mark:]
        if c.chat_id == "hub" and (r.photo is not None or r.text.startswith("📰"))
    ]


async def test_weekly_digest_posts_once_and_skips_an_empty_week(harness: Harness) -> None:
    clock = Clock(FRIDAY - timedelta(minutes=1))
    scheduler = await cluster_with_hub(harness, clock)
    await seeded(harness)
    mark = len(harness.channel.sent)
    await scheduler.tick()
    assert _digests(harness, mark) == [], "not before 15:00"
    clock.now = FRIDAY
    await restarted(harness.app, clock).tick()
    posted = _digests(harness, mark)
    assert "Contributions in this period: 3" in text_of(posted)
    assert posted[-1].photo is not None
    with Image.open(io.BytesIO(posted[-1].photo)) as image:
        assert image.format == "PNG"
    # Once: again later that day, and after a restart.
    mark = len(harness.channel.sent)
    clock.now = FRIDAY + timedelta(hours=2)
    await scheduler.tick()
    await restarted(harness.app, clock).tick()
    assert _digests(harness, mark) == []
    # The next Friday nothing new was added since this digest: nothing is posted.
    clock.now = FRIDAY + timedelta(days=7)
    await restarted(harness.app, clock).tick()
    assert _digests(harness, mark) == []
    async with harness.app.db.session() as session:
        rows = (await session.exec(select(Reminder).where(Reminder.kind == "digest"))).all()
    assert sorted((r.status, r.outcome) for r in rows) == [
        ("sent", ""),
        ("skipped", "nothing new to report"),
    ]


async def test_coordinators_set_the_weekly_digest_in_calendar(harness: Harness) -> None:
    await cluster_with_hub(harness, Clock(FRIDAY))
    shown = text_of(await harness.say("cora", "/calendar"))
    assert "Weekly digest in the hub chat: none" in shown  # the meeting tests' cluster has none
    await harness.press("cora", EN("calendar.action_digest"))
    await harness.press("cora", "Thursday")
    assert "could not read a time" in text_of(await harness.say("cora", "whenever"))
    saved = text_of(await harness.say("cora", "16h30"))
    assert "Saved. Weekly digest in the hub chat: Thursday, 16:30" in saved
    async with harness.app.db.session() as session:
        cluster = (await session.exec(select(Cluster))).one()
    assert (cluster.digest_day, cluster.digest_time) == (4, "16:30")
    # A teacher sees it and cannot change it.
    shown = text_of(await harness.say("ana", "/calendar"))
    assert "Thursday, 16:30" in shown and EN("calendar.action_digest") not in shown


async def test_the_command_line_prints_the_digest_and_writes_the_chart(
    harness: Harness, database_url: str, tmp_path: Path
) -> None:
    await cluster_with_hub(harness, Clock(FRIDAY))
    ids = await seeded(harness)  # in 2027: after the command's "now", so not in its digest
    yesterday = utcnow() - timedelta(days=1)
    async with harness.app.db.session() as session:
        session.add(_entry(ids[HILLVIEW], ids["ana"], "impact", yesterday))
    since = (yesterday - timedelta(days=2)).date()
    chart = tmp_path / "chart.png"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DIARYBOT_")}
    environment |= {"DIARYBOT_DATA_DIR": str(tmp_path), "DIARYBOT_DATABASE_URL": database_url}
    args = ["digest", "--cluster", "Demo Cluster", "--since", since.isoformat()]
    result = await asyncio.to_thread(_main, [*args, "--chart", str(chart)], environment)
    assert result.returncode == 0, result.stderr
    assert f"Diary digest of Demo Cluster: {say_day(since, 'en')}" in result.stdout
    assert "Contributions in this period: 1" in result.stdout
    assert "Impact — Ana" in result.stdout
    assert f"chart written to {chart}" in result.stdout
    with Image.open(chart) as image:
        assert image.format == "PNG"
    refused = await asyncio.to_thread(
        _main, ["digest", "--cluster", "Demo Cluster", "--since", "2999-01-01"], environment
    )
    assert refused.returncode == 2 and "in the future" in refused.stderr


async def test_a_busy_school_lists_its_newest_five_and_counts_the_rest(harness: Harness) -> None:
    await cluster_with_hub(harness, Clock(FRIDAY))
    ids = await seeded(harness)
    async with harness.app.db.session() as session:
        session.add_all(
            _entry(ids[LAKESIDE], ids["ana"], "impact", FRIDAY - timedelta(hours=n))
            for n in range(1, 8)
        )
    lakeside = (await _digest_text(harness)).split(f"🏫 {LAKESIDE}")[1].split("🏫")[0]
    assert "Added: Impact 7" in lakeside
    assert lakeside.count("• ") == 5 and "… and more: 2" in lakeside
    assert "Contributions in this period: 10" in await _digest_text(harness)


async def test_a_changed_digest_time_moves_a_waiting_digest_and_never_makes_two(
    harness: Harness,
) -> None:
    clock = Clock(FRIDAY - timedelta(hours=6))  # Friday 09:00 in Lisbon
    scheduler = await cluster_with_hub(harness, clock)
    ids = await seeded(harness)
    await scheduler.tick()  # plans this week's digest for 15:00

    async def set_time(value: str) -> None:
        async with harness.app.db.session() as session:
            cluster = await session.get(Cluster, ids["cluster"])
            assert cluster is not None
            cluster.digest_time = value
            session.add(cluster)

    await set_time("12:00")  # before it went: the waiting row moves to 12:00
    clock.now = FRIDAY - timedelta(hours=3)
    mark = len(harness.channel.sent)
    await restarted(harness.app, clock).tick()
    assert "Contributions in this period: 3" in text_of(_digests(harness, mark))
    # After it went: a later time this week posts no second digest, even with news since.
    async with harness.app.db.session() as session:
        session.add(_entry(ids[HILLVIEW], ids["ana"], "impact", clock.now))
    await set_time("14:00")
    clock.now = FRIDAY - timedelta(hours=1)
    mark = len(harness.channel.sent)
    await restarted(harness.app, clock).tick()
    assert _digests(harness, mark) == []


async def test_each_cluster_has_its_own_last_digest_in_a_chat(harness: Harness) -> None:
    await cluster_with_hub(harness, Clock(FRIDAY))
    ids = await seeded(harness)
    async with harness.app.db.session() as session:
        far = (await session.exec(select(Cluster).where(Cluster.name == "Far"))).one()
        await grant_role(
            session,
            person_id=ids["cora"],
            role=RoleName.NATIONAL_COORDINATOR,
            cluster_id=far.id or 0,
            school_id=None,
        )
    await harness.say("cora", "/digest")
    first = text_of(await harness.press("cora", "Demo Cluster"))
    assert "Contributions in this period: 3" in first
    await harness.say("cora", "/digest")
    second = text_of(await harness.press("cora", "Far"))
    assert "Far School" in second and "Contributions in this period: 1" in second


async def test_the_mentor_schools_lead_has_no_school_digest(harness: Harness) -> None:
    await cluster_with_hub(harness, Clock(FRIDAY))
    ids = await seeded(harness)
    async with harness.app.db.session() as session:
        mentor = (await session.exec(select(School).where(School.kind == "mentor"))).one()
        invite = await create_invite(
            session, cluster_id=ids["cluster"], role=RoleName.SCHOOL_LEAD, school_id=mentor.id
        )
    await member(harness, "mo", invite.code)
    assert "Digests are for" in text_of(await harness.say("mo", "/digest 30d"))
