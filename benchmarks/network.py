"""A large, realistic network of clusters written straight into a database, for query plans.

Run: .venv/bin/python -m benchmarks.network URL [--scale 1.0] [--seed 0]
(URL as the bot takes it: sqlite:///PATH or postgresql://USER@HOST/NAME.)

At scale 1: 200 clusters, 1,000 schools (one mentor and four mentees each), 10,000 people
(50 a cluster: a coordinator, a school lead and about nine contributors a school, and one
national coordinator per country in every cluster of it) with 12,000 identities, their roles,
consent records (some declined first, some withdrew later), invites, hub chats, meetings,
3,000 focus proposals, 100,000 diary entries (skewed: a few people write much more than most;
drafts and deleted ones among them), 100,000 evidence items, a conversation state per identity
and about 140,000 audit rows.

The schema comes from the migrations (`Database.upgrade`); the rows go in as multi-row
inserts, not through the bot, so the whole network takes seconds. Ids continue after what the
database holds already, so a benchmark can set up its own people first (with the oldest ids,
the worst case for a plan that walks an index backwards from the newest rows). PostgreSQL's
statistics are refreshed afterwards (`ANALYZE`, as autovacuum would); SQLite is left without
statistics, as the bot leaves it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from storage.db import Database
from storage.models import (
    AuditEvent,
    Cluster,
    ConsentRecord,
    ConversationState,
    DiaryEntry,
    EntryStatus,
    EvidenceItem,
    FocusStatus,
    HubChat,
    Identity,
    Invite,
    InvitePurpose,
    Meeting,
    Person,
    Role,
    RoleName,
    School,
    SchoolFocus,
    SchoolKind,
    Section,
    Visibility,
)
from storage.types import utcnow

CONSENT_VERSION = "2026-11"  # bot.settings.DEFAULT_CONSENT_VERSION, kept import-free here
YEAR_START = datetime(2025, 9, 1, 7, 0, tzinfo=UTC)
YEAR_DAYS = 300
COUNTRIES = (("HR", "hr"), ("NL", "nl"), ("CZ", "cs"), ("HU", "hu"), ("IT", "it"), ("PT", "pt"))
QUESTION_KEYS = {
    Section.ISSUE: ("why", "rationale", "challenges", "progress"),
    Section.ACTION: ("plan", "actions", "helped", "barriers"),
    Section.IMPACT: ("results", "evaluation", "effects", "changed"),
    Section.NEXT_STEPS: ("steps", "organisation", "who", "expected"),
    Section.MEETING_NOTES: ("feedback", "reflections"),
}
WORDS = (
    "pupils asked more questions during the reading hour and the teachers compared notes on "
    "how the new routine worked in mixed classes with support from the mentor school team"
).split()
CHUNK = 2000


# Every table the generator fills, in an order that satisfies the foreign keys.
TABLES = (
    Cluster,
    School,
    Person,
    Identity,
    Role,
    Invite,
    HubChat,
    Meeting,
    ConsentRecord,
    SchoolFocus,
    DiaryEntry,
    EvidenceItem,
    ConversationState,
    AuditEvent,
)


@dataclass(frozen=True)
class Shape:
    """How many of each thing the network holds."""

    clusters: int = 200
    schools_per_cluster: int = 5
    people_per_cluster: int = 50
    entries: int = 100_000
    evidence: int = 100_000

    @classmethod
    def scaled(cls, scale: float) -> Shape:
        """The default network times `scale` (at least one cluster, one entry, one item)."""
        return cls(
            clusters=max(1, round(200 * scale)),
            entries=max(1, round(100_000 * scale)),
            evidence=max(1, round(100_000 * scale)),
        )


@dataclass
class Network:
    """What was generated: row counts per table and a few ids to aim queries at."""

    counts: dict[str, int] = field(default_factory=dict)
    busiest_author: int = 0  # the person with the most entries
    typical_author: int = 0  # a contributor with about the median number of entries
    coordinator: int = 0  # a cluster coordinator
    lead: int = 0  # a school lead
    cluster_id: int = 0
    school_id: int = 0
    entry_with_evidence: int = 0
    proposed_focus: int = 0
    identity: tuple[str, str] = ("", "")  # (platform, external id) of the typical author
    invite_code: str = ""
    hub_chat: tuple[str, str] = ("", "")  # (platform, chat id)
    seconds: float = 0.0


def _words(rng: random.Random, n: int) -> str:
    start = rng.randrange(len(WORDS))
    return " ".join(WORDS[(start + i) % len(WORDS)] for i in range(n))


def _when(rng: random.Random) -> datetime:
    return YEAR_START + timedelta(seconds=rng.randrange(YEAR_DAYS * 86400))


class _Ids:
    """Hands out ids after those the database holds already, per table."""

    def __init__(self, start: dict[str, int]) -> None:
        self.next = {name: first + 1 for name, first in start.items()}

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


async def _max_ids(conn: AsyncConnection, tables: list[str]) -> dict[str, int]:
    found = {}
    for name in tables:
        table = SQLModel.metadata.tables[name]
        found[name] = (await conn.execute(select(func.coalesce(func.max(table.c.id), 0)))).scalar()
    return found


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


async def _insert(conn: AsyncConnection, model: type[SQLModel], rows: list[dict[str, Any]]) -> int:
    table = model.__table__  # type: ignore[attr-defined]
    for chunk in _chunks(rows):
        await conn.execute(insert(table), chunk)
    return len(rows)


def _build(shape: Shape, ids: _Ids, rng: random.Random) -> tuple[dict[type, list], Network]:
    """Every row of the network, by table, in an order that satisfies the foreign keys."""
    rows: dict[type, list[dict[str, Any]]] = {model: [] for model in TABLES}
    net = Network()
    audit = rows[AuditEvent]
    writers: list[tuple[int, int]] = []  # (person, school) of everyone who writes entries
    national: dict[str, int] = {}
    tag = f"{ids.next['clusters']:06d}"  # names stay unique when a network is added twice

    def person(when: datetime, language: str) -> int:
        pid = ids.take("people")
        rows[Person].append(
            {"id": pid, "display_name": f"Person {pid}", "language": language, "created_at": when}
        )
        platforms = [("telegram", str(700_000_000 + pid))]
        if rng.random() < 0.2:
            platforms.append(("matrix", f"@teacher{pid}:school{pid % 97}.example"))
        for platform, external in platforms:
            iid = ids.take("identities")
            chat = external if platform == "telegram" else f"!dm{pid}:school.example"
            rows[Identity].append(
                {
                    "id": iid,
                    "person_id": pid,
                    "platform": platform,
                    "external_id": external,
                    "display_name": f"Teacher {pid}",
                    "private_chat_id": chat,
                    "created_at": when,
                }
            )
            in_flow = rng.random() < 0.1
            rows[ConversationState].append(
                {
                    "id": ids.take("conversation_states"),
                    "identity_id": iid,
                    "chat_key": f"{platform}:{chat}",
                    "flow": "entry" if in_flow else "",
                    "step": "question" if in_flow else "",
                    "data": {"entry_id": 0, "school_id": 0} if in_flow else {},
                    "rev": rng.randrange(1, 200),
                    "updated_at": when,
                }
            )
        answers = [True]
        if rng.random() < 0.1:
            answers.insert(0, False)
        if rng.random() < 0.03:
            answers.append(False)
        for n, granted in enumerate(answers):
            rows[ConsentRecord].append(
                {
                    "id": ids.take("consent_records"),
                    "person_id": pid,
                    "version": CONSENT_VERSION,
                    "granted": granted,
                    "created_at": when + timedelta(minutes=n),
                }
            )
            action = "consent.granted" if granted else "consent.declined"
            if not granted and n:
                action = "consent.withdrawn"
            audit.append(_audit(ids, pid, action, "", {"version": CONSENT_VERSION}, when))
        audit.append(_audit(ids, pid, "language", "", {"to": language}, when))
        return pid

    def role(pid: int, name: str, cluster: int, school: int | None, when: datetime) -> None:
        rows[Role].append(
            {
                "id": ids.take("roles"),
                "person_id": pid,
                "role": name,
                "cluster_id": cluster,
                "school_id": school,
                "created_at": when,
            }
        )
        audit.append(
            _audit(
                ids, pid, "joined", "", {"role": name, "cluster": cluster, "school": school}, when
            )
        )

    for c in range(shape.clusters):
        country, language = COUNTRIES[c % len(COUNTRIES)]
        cid = ids.take("clusters")
        created = YEAR_START - timedelta(days=30 - c % 30)
        rows[Cluster].append(
            {
                "id": cid,
                "name": f"Cluster {tag}-{c:04d}",
                "country": country,
                "language": language,
                "timezone": "Europe/Zagreb",
                "created_at": created,
            }
        )
        schools = []
        for s in range(shape.schools_per_cluster):
            sid = ids.take("schools")
            schools.append(sid)
            rows[School].append(
                {
                    "id": sid,
                    "cluster_id": cid,
                    "name": f"School {s + 1} of cluster {c}",
                    "kind": SchoolKind.MENTOR if s == 0 else SchoolKind.MENTEE,
                    "created_at": created,
                }
            )
            for purpose_role in (RoleName.CONTRIBUTOR, RoleName.SCHOOL_LEAD):
                rows[Invite].append(_invite(ids, rng, cid, sid, purpose_role, created))
        rows[Invite].append(_invite(ids, rng, cid, None, RoleName.CLUSTER_COORDINATOR, created))
        rows[Invite].append(
            {**_invite(ids, rng, cid, None, RoleName.CONTRIBUTOR, created), "purpose": "hub"}
        )
        coordinator = person(created, language)
        role(coordinator, RoleName.CLUSTER_COORDINATOR, cid, None, created)
        staff = shape.people_per_cluster - 1
        if country not in national:  # counted in the first cluster of the country
            national[country] = person(created, language)
            staff -= 1
        role(national[country], RoleName.NATIONAL_COORDINATOR, cid, None, created)
        writers.append((coordinator, schools[1 % len(schools)]))
        rows[HubChat].append(
            {
                "id": ids.take("hub_chats"),
                "cluster_id": cid,
                "platform": "telegram",
                "chat_id": str(-1_000_000_000_000 - cid),
                "title": f"Hub {c}",
                "linked_by": coordinator,
                "created_at": created,
            }
        )
        for term in range(3):
            rows[Meeting].append(
                {
                    "id": ids.take("meetings"),
                    "cluster_id": cid,
                    "uid": f"bench-{c}-{term}@cluster-diary",
                    "scheduled_at": YEAR_START + timedelta(days=40 + 100 * term),
                    "ends_at": YEAR_START + timedelta(days=40 + 100 * term, hours=2),
                    "invited": [],
                    "place": f"School 1 of cluster {c}",
                    "agenda": _words(rng, 12),
                    "created_by": coordinator,
                    "created_at": created,
                }
            )
        for n in range(staff):
            school = schools[n % len(schools)]
            when = _when(rng) - timedelta(days=30)
            pid = person(when, language)
            lead = n < len(schools)
            role(pid, RoleName.SCHOOL_LEAD if lead else RoleName.CONTRIBUTOR, cid, school, when)
            writers.append((pid, school))
            if lead:
                net.lead = net.lead or pid
                _focus_history(rows[SchoolFocus], audit, ids, rng, school, pid, coordinator)
        if not net.cluster_id:
            net.cluster_id, net.school_id, net.coordinator = cid, schools[1], coordinator

    # Entries: a skewed share per writer (most write a handful, a few several hundred).
    weights = [rng.lognormvariate(0.0, 1.0) for _ in writers]
    school_of = dict(writers)
    authors = rng.choices([pid for pid, _ in writers], weights=weights, k=shape.entries)
    written: dict[int, int] = {}
    for author in authors:
        eid = ids.take("diary_entries")
        created = _when(rng)
        roll = rng.random()
        status = EntryStatus.SUBMITTED
        if roll < 0.04:
            status = EntryStatus.DRAFT
        elif roll < 0.12:
            status = EntryStatus.DELETED
        section = rng.choice(list(QUESTION_KEYS))
        keys = QUESTION_KEYS[section]
        submitted = created + timedelta(minutes=rng.randrange(3, 90))
        rows[DiaryEntry].append(
            {
                "id": eid,
                "school_id": school_of[author],
                "section": section,
                "author_id": author,
                "activity": {
                    k: _words(rng, rng.randrange(4, 25)) for k in keys[: rng.randrange(1, 5)]
                },
                "reflection": _words(rng, rng.randrange(0, 30)),
                "status": status,
                "visibility": rng.choice(list(Visibility)),
                "language": "en",
                "created_at": created,
                "updated_at": submitted,
                "submitted_at": None if status == EntryStatus.DRAFT else submitted,
                "deleted_at": submitted + timedelta(days=2)
                if status == EntryStatus.DELETED
                else None,
            }
        )
        written[author] = written.get(author, 0) + 1
        if status != EntryStatus.DRAFT:
            audit.append(_audit(ids, author, "entry.submitted", f"entry:{eid}", {}, submitted))
        if status == EntryStatus.DELETED:
            audit.append(_audit(ids, author, "entry.deleted", f"entry:{eid}", {}, submitted))
    entries = rows[DiaryEntry]
    first_entry = entries[0]["id"]
    for _ in range(shape.evidence):
        entry = entries[rng.randrange(len(entries))]
        kind = rng.choices(("photo", "voice", "document", "link", "video"), (6, 2, 2, 1, 1))[0]
        removed = entry["status"] == EntryStatus.DELETED or rng.random() < 0.05
        created = entry["created_at"] + timedelta(minutes=rng.randrange(1, 60))
        rows[EvidenceItem].append(
            {
                "id": ids.take("evidence_items"),
                "entry_id": entry["id"],
                "kind": kind,
                "media_hash": None if kind == "link" else f"{rng.getrandbits(256):064x}",
                "url": "https://example.org/lesson" if kind == "link" else None,
                "mime": {"photo": "image/jpeg", "voice": "audio/ogg", "video": "video/mp4"}.get(
                    kind, "application/pdf" if kind == "document" else ""
                ),
                "size": rng.randrange(10_000, 5_000_000),
                "filename": "plan.pdf" if kind == "document" else None,
                "caption": _words(rng, rng.randrange(0, 8)),
                "duration_s": rng.uniform(3, 90) if kind == "voice" else None,
                "created_at": created,
                "removed_at": created + timedelta(days=1) if removed else None,
            }
        )

    ranked = sorted(written, key=written.__getitem__)
    net.busiest_author = ranked[-1]
    net.typical_author = ranked[len(ranked) // 2]
    net.entry_with_evidence = (
        rows[EvidenceItem][0]["entry_id"] if rows[EvidenceItem] else first_entry
    )
    typical = next(i for i in rows[Identity] if i["person_id"] == net.typical_author)
    net.identity = (typical["platform"], typical["external_id"])
    net.invite_code = rows[Invite][0]["code"]
    hub = rows[HubChat][0]
    net.hub_chat = (hub["platform"], hub["chat_id"])
    proposed = [f for f in rows[SchoolFocus] if f["status"] == FocusStatus.PROPOSED]
    net.proposed_focus = proposed[0]["id"] if proposed else 0
    return rows, net


def _audit(
    ids: _Ids, pid: int | None, action: str, target: str, detail: dict[str, Any], when: datetime
) -> dict[str, Any]:
    return {
        "id": ids.take("audit_log"),
        "person_id": pid,
        "action": action,
        "target": target,
        "detail": detail,
        "created_at": when,
    }


def _invite(
    ids: _Ids, rng: random.Random, cluster: int, school: int | None, role: str, when: datetime
) -> dict[str, Any]:
    return {
        "id": ids.take("invites"),
        "code": "".join(rng.choice("ABCDEFGHJKMNPQRSTUVWXYZ23456789") for _ in range(10)),
        "purpose": InvitePurpose.JOIN,
        "cluster_id": cluster,
        "school_id": school,
        "role": role,
        "max_uses": None,
        "uses": rng.randrange(0, 12),
        "expires_at": utcnow() + timedelta(days=365),  # usable: the queries redeem one
        "created_by": None,
        "created_at": when,
    }


def _focus_history(
    rows: list[dict[str, Any]],
    audit: list[dict[str, Any]],
    ids: _Ids,
    rng: random.Random,
    school: int,
    lead: int,
    coordinator: int,
) -> None:
    """Three proposals: an old confirmed one superseded, the current one, and a newer one."""
    last = rng.choice((FocusStatus.PROPOSED, FocusStatus.REVISE))
    for n, status in enumerate((FocusStatus.SUPERSEDED, FocusStatus.CONFIRMED, last)):
        fid = ids.take("school_focus")
        when = YEAR_START + timedelta(days=10 + 60 * n)
        decided = status != FocusStatus.PROPOSED
        rows.append(
            {
                "id": fid,
                "school_id": school,
                "title": _words(rng, 5),
                "rationale": _words(rng, 20),
                "status": status,
                "proposed_by": lead,
                "decided_by": coordinator if decided else None,
                "decision_note": "needs a measurable goal" if status == FocusStatus.REVISE else "",
                "created_at": when,
                "decided_at": when + timedelta(days=3) if decided else None,
            }
        )
        audit.append(_audit(ids, lead, "focus.proposed", f"focus:{fid}", {}, when))


async def generate(db: Database, *, shape: Shape | None = None, seed: int = 0) -> Network:
    """Fill a migrated database with a network; returns what was made and how long it took."""
    shape = shape or Shape()
    rng = random.Random(seed)
    start = time.perf_counter()
    names = [model.__tablename__ for model in TABLES]  # type: ignore[attr-defined]
    async with db.engine.begin() as conn:
        ids = _Ids(await _max_ids(conn, names))
        rows, net = _build(shape, ids, rng)
        for model, table_rows in rows.items():
            net.counts[model.__tablename__] = await _insert(conn, model, table_rows)  # type: ignore[attr-defined]
        if db.dialect == "postgresql":
            for name in names:  # explicit ids leave the sequences behind
                await conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT max(id) FROM {name}))"
                    )
                )
            await conn.execute(text("ANALYZE"))
    net.seconds = time.perf_counter() - start
    return net


async def _main(url: str, scale: float, seed: int) -> None:
    db = Database(url)
    try:
        await db.upgrade()
        net = await generate(db, shape=Shape.scaled(scale), seed=seed)
    finally:
        await db.close()
    print(f"generated in {net.seconds:.1f} s into {db.display_url}")
    for name, count in net.counts.items():
        print(f"  {name:20} {count:8,}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(_main(args.url, args.scale, args.seed))
