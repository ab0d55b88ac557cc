"""Benchmark 3: /mine, /add and /focus latency on an empty database and on a large network.

Run: .venv/bin/python -m benchmarks.handler_latency [--rounds 7] [--repeat 5] [--scale 1.0]
         [--databases sqlite,postgresql]

Each command goes through the whole bot (dispatcher, storage, routing, commit) behind the
in-memory channel of tests/helpers.py, sent by one school lead of a demo cluster with the same
twelve submitted entries (with evidence) and three focus proposals in every database, so every
case answers exactly the same thing. "empty" holds only that cluster; "large" holds it plus a
generated network (benchmarks/network.py: 200 clusters, 1,000 schools, 10,000 people, 100,000
entries, 100,000 evidence items at scale 1), added after it, so the lead's rows are the oldest.
SQLite files live in a temporary folder; PostgreSQL databases are scratch ones, dropped after.

The cases are interleaved: each round sends every command `--repeat` times to each database in
turn (the order rotating from round to round), after a warm-up. Printed: min/median/max per case
in milliseconds, the ratio large/empty of the medians (goal: within 1.5x) and of the minimums,
and the machine's load average while it ran. Numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import asyncpg

from benchmarks.network import Shape, generate
from bot.settings import load_settings
from storage.models import (
    DiaryEntry,
    EntryStatus,
    EvidenceItem,
    FocusStatus,
    School,
    SchoolFocus,
    Section,
)
from storage.people import identity_for, memberships
from storage.types import utcnow
from tests.builders import demo_codes, member
from tests.helpers import Harness, make_harness, text_of

POSTGRES = os.environ.get("DIARYBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
COMMANDS = ("/mine", "/add", "/focus")
USER = "lead"
ENTRIES = 12


@dataclass
class Case:
    """One database (kind and size) with the bot running on it, and its samples per command."""

    kind: str
    size: str
    bot: Harness
    samples: dict[str, list[float]] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.size}"


def load() -> str:
    """The machine's load averages (1, 5, 15 minutes), as `uptime` shows them."""
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


async def _seed(bot: Harness) -> None:
    """The lead's surroundings: twelve submitted entries with evidence, three focus proposals."""
    codes = await demo_codes(bot)
    await member(bot, USER, codes["school_lead"])
    now = utcnow()
    async with bot.app.db.session() as session:
        _, person = await identity_for(session, platform="memory", external_id=USER)
        assert person.id is not None
        school = next(m.school for m in await memberships(session, person_id=person.id))
        assert isinstance(school, School) and school.id is not None
        sections = [Section.ISSUE, Section.ACTION, Section.IMPACT, Section.NEXT_STEPS]
        for n in range(ENTRIES):
            when = now - timedelta(days=ENTRIES - n)
            entry = DiaryEntry(
                school_id=school.id,
                author_id=person.id,
                section=sections[n % len(sections)],
                activity={"why": f"Reason number {n}", "rationale": "Pupils asked for it"},
                reflection="It went better than expected",
                status=EntryStatus.SUBMITTED,
                created_at=when,
                updated_at=when,
                submitted_at=when,
            )
            session.add(entry)
            await session.flush()
            assert entry.id is not None
            for k in range(n % 3 + 1):
                session.add(
                    EvidenceItem(
                        entry_id=entry.id,
                        kind="photo",
                        mime="image/jpeg",
                        media_hash=f"{n:032d}{k:032d}",
                        caption=f"photo {k}",
                        removed_at=when if k == 2 else None,
                    )
                )
        for n, status in enumerate((FocusStatus.SUPERSEDED, FocusStatus.CONFIRMED)):
            session.add(
                SchoolFocus(
                    school_id=school.id,
                    title=f"Focus {n}",
                    rationale="Reading for pleasure",
                    status=status,
                    proposed_by=person.id,
                    created_at=now - timedelta(days=30 - n),
                )
            )
        session.add(
            SchoolFocus(
                school_id=school.id,
                title="Focus 2",
                rationale="Writing across subjects",
                status=FocusStatus.PROPOSED,
                proposed_by=person.id,
                created_at=now - timedelta(days=1),
            )
        )


async def _open(kind: str, size: str, url: str, data_dir: Path, shape: Shape) -> Case:
    bot = await make_harness(load_settings(database_url=url, data_dir=data_dir))
    await _seed(bot)
    if size == "large":
        net = await generate(bot.app.db, shape=shape)
        print(f"  {kind}: network generated in {net.seconds:.1f} s ({load()})", flush=True)
    return Case(kind, size, bot)


async def _send(case: Case, command: str) -> float:
    start = time.perf_counter()
    replies = await case.bot.say(USER, command)
    elapsed = (time.perf_counter() - start) * 1000
    case.answers.setdefault(command, text_of(replies))
    return elapsed


async def run(cases: list[Case], rounds: int, repeat: int) -> list[float]:
    """Interleaved rounds; returns the 1-minute load average seen after each round."""
    for case in cases:  # warm-up: caches, prepared statements, the first commit
        for command in COMMANDS:
            for _ in range(3):
                await _send(case, command)
        case.answers.clear()
    loads = []
    for r in range(rounds):
        order = cases[r % len(cases) :] + cases[: r % len(cases)]
        for command in COMMANDS:
            for case in order:
                for _ in range(repeat):
                    case.samples.setdefault(command, []).append(await _send(case, command))
        loads.append(os.getloadavg()[0])
    return loads


def report(cases: list[Case], loads: list[float], started: str) -> None:
    """The table: min/median/max per case and the ratios large/empty."""
    print(f"\nstarted with {started}; 1-min load during rounds {min(loads):.2f}-{max(loads):.2f}")
    print(f"ended with {load()}")
    header = (
        f"{'database':11} {'command':7} {'size':6} {'n':>4} {'min':>7} {'median':>7} {'max':>7}"
    )
    print(header + "   large/empty median (min)")
    by_key = {(c.kind, c.size): c for c in cases}
    for kind in dict.fromkeys(c.kind for c in cases):
        for command in COMMANDS:
            medians = {}
            for size in ("empty", "large"):
                case = by_key.get((kind, size))
                if case is None:
                    continue
                values = case.samples[command]
                medians[size] = (statistics.median(values), min(values))
                line = (
                    f"{kind:11} {command:7} {size:6} {len(values):4} {min(values):7.2f} "
                    f"{statistics.median(values):7.2f} {max(values):7.2f}"
                )
                if size == "large" and "empty" in medians:
                    ratio = medians["large"][0] / medians["empty"][0]
                    ratio_min = medians["large"][1] / medians["empty"][1]
                    line += f"   {ratio:5.2f}x ({ratio_min:.2f}x)"
                print(line)
    for kind in dict.fromkeys(c.kind for c in cases):
        empty, large = by_key.get((kind, "empty")), by_key.get((kind, "large"))
        if empty and large:
            for command in COMMANDS:
                if _masked(empty.answers[command]) != _masked(large.answers[command]):
                    print(f"note: {kind} {command} answered differently on the two databases")


def _masked(text: str) -> str:
    """A reply without the digits (dates and ids differ between databases)."""
    return "".join("#" if ch.isdigit() else ch for ch in text)


async def main(databases: list[str], rounds: int, repeat: int, scale: float) -> None:
    started = load()
    print(f"benchmark 3: handler latency, {started}", flush=True)
    shape = Shape.scaled(scale)
    cases: list[Case] = []
    drops: list[str] = []
    admin = None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for kind in databases:
                for size in ("empty", "large"):
                    if kind == "sqlite":
                        url = f"sqlite:///{tmp}/{size}.sqlite3"
                    else:
                        if admin is None:
                            admin = await asyncpg.connect(POSTGRES, timeout=5)
                        name = f"latency_{size}_{uuid.uuid4().hex[:8]}"
                        await admin.execute(f'CREATE DATABASE "{name}"')
                        drops.append(name)
                        url = f"{POSTGRES.rsplit('/', 1)[0]}/{name}"
                    cases.append(await _open(kind, size, url, Path(tmp) / f"{kind}-{size}", shape))
            loads = await run(cases, rounds, repeat)
            report(cases, loads, started)
        finally:
            for case in cases:
                await case.bot.app.db.close()
            if admin is not None:
                for name in drops:
                    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    asyncio.run(main(args.databases.split(","), args.rounds, args.repeat, args.scale))
