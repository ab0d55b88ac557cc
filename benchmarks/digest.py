"""Benchmark: a cluster's digest as text and as a chart, and how many SQL statements each sends.

Run: .venv/bin/python -m benchmarks.digest [--repeat 7] [--postgres URL]

Fills a temporary SQLite file and, if PostgreSQL answers at `--postgres URL` (default: the tests'
server, `DIARYBOT_TEST_POSTGRES_URL` or postgresql+asyncpg://postgres@127.0.0.1:5432/test), a
scratch database made there and dropped afterwards, with Core inserts (not through the bot): a
cluster of a mentor and five mentee schools, 20 people with consent and roles, 1,000 submitted
entries of the mentee schools over the last 120 days (the fifth school's older than 50 days, so
it is quiet), 2,000 evidence items on them (mixed kinds, transcribed voice notes, 5% removed),
confirmed focuses (one school has a proposal only), a term, a coming meeting with 15 answers;
and, not to be counted, 40 drafts, 60 deleted entries, 30 of the mentor school, 100 items there.

Per period ("last 30 days", "last 120 days"), one warm-up and `--repeat` timed calls, each in a
session of its own: text = `digest_of` + `digest_texts` (target 100 ms); chart = `chart_data` +
`draw_chart` (target 1 s; in this thread, where `chart_reply` uses a worker; the chart covers
the term whatever the period). The first chart call imports matplotlib: reported as "cold". A
`before_cursor_execute` listener counts each call's statements (transaction control aside), and
the counts of 30 and 120 days are compared: a query per entry would make them differ. The totals
are checked against the inserted rows. Printed: min / median / max ms, target, median/target,
per database, and the load average at start and end. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import event, insert, text
from sqlmodel import SQLModel

from bot.digest_chart import draw_chart
from bot.settings import DEFAULT_CONSENT_VERSION
from handlers.digest_text import chart_data, digest_texts
from handlers.sections import QUESTIONS
from prompts import Translator
from storage.db import Database, hide_password
from storage.digests import digest_of
from storage.models import (
    Answer,
    Cluster,
    EntryStatus,
    FocusStatus,
    RoleName,
    SchoolKind,
    Section,
    Visibility,
)
from storage.types import utcnow

POSTGRES = os.environ.get(
    "DIARYBOT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
MENTOR = "Agrupamento de Escolas de Benfica"
MENTEES = (
    "Escola Básica de Telheiras;Escola Secundária de Vila Real;Escola Básica de Vila Real;"
    "Colégio Vale do Sol;Escola Básica n.º 2 de Odivelas"
).split(";")
PEOPLE, ENTRIES, EVIDENCE, DAYS = 20, 1000, 2000, 120
PERIODS = (30, DAYS)
TARGETS = {"text": 100.0, "chart": 1000.0}  # ms
KINDS = {"photo": 6, "voice": 3, "document": 2, "link": 1, "video": 1}
CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
WORDS = (
    "pupils asked more questions during the reading hour and the teachers compared notes on "
    "how the new routine worked in mixed classes with support from the mentor school team"
).split()
T = Translator("en")


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


# The columns of each table filled, in the order `add` takes the values (ids are counted).
COLUMNS = {
    "clusters": "name country language timezone created_at",
    "schools": "cluster_id name kind created_at",
    "people": "display_name language created_at",
    "consent_records": "person_id version granted created_at",
    "roles": "person_id role cluster_id school_id created_at",
    "school_focus": "school_id title rationale status proposed_by decided_by decision_note "
    "created_at",
    "terms": "cluster_id name first_day last_day",
    "meetings": "cluster_id uid scheduled_at ends_at place agenda invited created_by created_at "
    "updated_at",
    "meeting_answers": "meeting_id person_id answer updated_at",
    "diary_entries": "school_id section author_id activity reflection status visibility language "
    "created_at updated_at submitted_at deleted_at",
    "evidence_items": "entry_id kind size caption transcript created_at removed_at",
}


def _rows(now: datetime, rng: random.Random) -> tuple[dict[str, list[dict]], list[tuple]]:
    """Every row by table (in foreign-key order), and (submitted_at, live evidence) counted."""
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in COLUMNS}

    def add(name: str, *values: Any) -> int:
        table, columns = rows[name], ["id", *COLUMNS[name].split()]
        table.append(dict(zip(columns, (len(table) + 1, *values), strict=True)))
        return len(table)

    old = now - timedelta(days=200)
    add("clusters", "Digest cluster", "PT", "en", "Europe/Lisbon", old)
    kinds = (SchoolKind.MENTOR, *[SchoolKind.MENTEE] * len(MENTEES))
    schools = [add("schools", 1, name, kinds[n], old) for n, name in enumerate((MENTOR, *MENTEES))]
    staff: dict[int, list[int]] = {s: [] for s in schools}
    for p in range(PEOPLE):  # the coordinator, then people dealt out to the schools
        pid = add("people", f"Teacher {p + 1}", "en", old)
        add("consent_records", pid, DEFAULT_CONSENT_VERSION, True, old)
        school = schools[p % len(schools)] if p else None
        role = RoleName.CLUSTER_COORDINATOR
        if school is not None:
            role = RoleName.CONTRIBUTOR if staff[school] else RoleName.SCHOOL_LEAD
            staff[school].append(pid)
        add("roles", pid, role, 1, school, old)
    for n, school in enumerate(schools[1:]):  # the last school has a proposal only
        confirmed = (FocusStatus.SUPERSEDED, FocusStatus.CONFIRMED)
        for status in confirmed if n < len(MENTEES) - 1 else (FocusStatus.PROPOSED,):
            title, why, lead = _words(rng, 5), _words(rng, 20), staff[school][0]
            add("school_focus", school, title, why, status, lead, 1, "", old)
    first, last = (now + timedelta(days=d) for d in (-DAYS - 5, 30))
    add("terms", 1, "Spring term", first.date(), last.date())
    for uid, days in (("past", -20), ("next", 9)):
        at, invited = now + timedelta(days=days), list(range(1, PEOPLE + 1))
        hours = at + timedelta(hours=2)
        add("meetings", 1, f"digest-{uid}", at, hours, MENTOR, _words(rng, 9), invited, 1, old, old)
    for pid in range(1, 16):
        add("meeting_answers", 2, pid, list(Answer)[pid % 3], now)

    def entry(school: int, status: str, submitted: datetime | None) -> int:
        section = rng.choices(list(Section), (4, 4, 3, 3, 1))[0]
        author = 1 if section == Section.MEETING_NOTES else rng.choice(staff[school])
        keys = QUESTIONS[section][: rng.randrange(1, 5)]
        activity = {k: _words(rng, rng.randrange(4, 25)) for k in keys}
        visibility = rng.choices(list(Visibility), (6, 3, 1))[0]
        created = (submitted or now) - timedelta(minutes=rng.randrange(3, 90))
        deleted = now - timedelta(days=1) if status == EntryStatus.DELETED else None
        reflection = _words(rng, rng.randrange(0, 30))
        values = (activity, reflection, status, visibility, "en", created, submitted or created)
        return add("diary_entries", school, section, author, *values, submitted, deleted)

    def ago(low: float) -> datetime:
        return now - timedelta(seconds=rng.uniform(low * 86400 + 60, DAYS * 86400 - 60))

    counted: dict[int, datetime] = {}
    for _ in range(ENTRIES):
        school = rng.choices(schools[1:], (4, 3, 2, 1, 0.5))[0]
        at = ago(50 if school == schools[-1] else 0)
        counted[entry(school, EntryStatus.SUBMITTED, at)] = at
    others = [entry(rng.choice(schools[1:]), EntryStatus.DRAFT, None) for _ in range(40)]
    others += [entry(rng.choice(schools[1:]), EntryStatus.DELETED, ago(0)) for _ in range(60)]
    others += [entry(schools[0], EntryStatus.SUBMITTED, ago(0)) for _ in range(30)]
    live = dict.fromkeys(counted, 0)
    ids = list(counted)
    for n in range(EVIDENCE + 100):
        eid = rng.choice(ids) if n < EVIDENCE else rng.choice(others)
        kind = rng.choices(list(KINDS), list(KINDS.values()))[0]
        removed = now if n >= EVIDENCE or rng.random() < 0.05 else None
        said = _words(rng, rng.randrange(5, 30)) if kind == "voice" and rng.random() < 0.7 else None
        size, created = rng.randrange(10_000, 5_000_000), now - timedelta(days=DAYS)
        add("evidence_items", eid, kind, size, _words(rng, 4), said, created, removed)
        if removed is None and eid in live:
            live[eid] += 1
    return rows, [(at, live[eid]) for eid, at in counted.items()]


async def timed(db: Database, sent: list[str], metric: str, since: datetime, now: datetime):
    """One call in a session of its own: (ms, statements sent, what it made)."""
    async with db.session() as session:
        cluster = await session.get(Cluster, 1)
        assert cluster is not None
        args = {"cluster": cluster, "since": since, "until": now, "questions": QUESTIONS}
        digest = await digest_of(session, **args) if metric == "chart" else None
        mark, start = len(sent), time.perf_counter()
        if metric == "chart":
            made: Any = draw_chart(await chart_data(session, T, digest, now=now))
        else:
            digest = await digest_of(session, **args)
            made = (digest, digest_texts(T, digest, now=now))
        return (time.perf_counter() - start) * 1000, len(sent) - mark, made


def row(label: str, metric: str, samples: list[float], counts: list[int]) -> None:
    mid, target = statistics.median(samples), TARGETS[metric]
    cells = "".join(f"{v:9.1f}" for v in (min(samples), mid, max(samples)))
    print(f"{label:26}{cells}{target:9.0f}{mid / target:7.2f}  {counts}", flush=True)


def check(made: Any, counted: list[tuple], since: datetime) -> str:
    """The digest's totals beside the inserted rows it must count, and its messages' size."""
    digest, texts = made
    live = [k for at, k in counted if at >= since]
    got = (digest.contributions, sum(sum(s.evidence.values()) for s in digest.schools))
    ok = "ok" if got == (len(live), sum(live)) else f"MISMATCH: {len(live)}, {sum(live)} inserted"
    size = f"{len(texts)} messages, {sum(map(len, texts)):,} characters"
    return f"{got[0]} contributions, {got[1]} evidence items ({ok}); {size}"


async def bench(kind: str, url: str, args: Any) -> None:
    """Fill one database, time each metric and print its table."""
    db = Database(url)
    sent: list[str] = []

    def record(_conn, _cursor, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(CONTROL):
            sent.append(statement)

    try:
        await db.upgrade()
        began = time.perf_counter()
        rows, counted = _rows(args.now, random.Random(0))
        async with db.engine.begin() as conn:
            for name, table_rows in rows.items():
                await conn.execute(insert(SQLModel.metadata.tables[name]), table_rows)
            if db.dialect == "postgresql":
                await conn.execute(text("ANALYZE"))  # as autovacuum would
        print(f"\n== {kind} (filled in {time.perf_counter() - began:.1f} s; {load()})")
        print(f"{'ms':26}{'min':>9}{'median':>9}{'max':>9}{'target':>9}{'ratio':>7}  queries")
        event.listen(db.engine.sync_engine, "before_cursor_execute", record)
        queries, notes = {}, []
        for metric in TARGETS:
            for days in PERIODS:
                since = args.now - timedelta(days=days)
                cold = metric == "chart" and "matplotlib" not in sys.modules
                calls = [
                    await timed(db, sent, metric, since, args.now) for _ in range(args.repeat + 1)
                ]
                queries[metric, days] = counts = sorted({count for _, count, _ in calls})
                if cold:
                    row("chart cold (first call)", metric, [calls[0][0]], counts)
                row(f"{metric}, last {days} days", metric, [ms for ms, _, _ in calls[1:]], counts)
                if metric == "text":
                    notes.append(f"text {days} days: {check(calls[0][2], counted, since)}")
        notes.append(f"chart: a PNG of {len(calls[0][2]) / 1024:.0f} kB")
        for metric in TARGETS:
            few, many = (queries[metric, days] for days in PERIODS)
            same = "the same: no per-entry queries" if few == many else "DIFFERENT"
            print(f"queries {metric}: {few} for {PERIODS[0]} days, {many} for {DAYS}: {same}")
        print("\n".join(notes))
    finally:
        await db.close()


async def main(args: argparse.Namespace) -> None:
    print(
        f"digest benchmark: {len(MENTEES)} mentee schools, {ENTRIES:,} entries, "
        f"{EVIDENCE:,} evidence items, repeat {args.repeat}; start {load()}"
    )
    args.now = utcnow()  # the entries are spread over the 120 days before this moment
    with tempfile.TemporaryDirectory() as tmp:
        await bench("sqlite", f"sqlite:///{tmp}/digest.sqlite3", args)
    plain = args.postgres.replace("postgresql+asyncpg://", "postgresql://")
    try:
        admin = await asyncpg.connect(plain, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"\nPostgreSQL not reachable at {hide_password(args.postgres)}: {exc}; skipped")
    else:
        name = f"digest_{uuid.uuid4().hex[:12]}"
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            await bench("postgresql", f"{plain.rsplit('/', 1)[0]}/{name}", args)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    print(f"\nend {load()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--postgres", metavar="URL", default=POSTGRES)
    asyncio.run(main(parser.parse_args()))
