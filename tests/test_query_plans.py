"""Every query the handlers run reads by index, bounded by the person or cluster it serves.

On a small generated network (benchmarks/network.py at 2 % scale: 4 clusters, 20 schools,
200 people, 2,000 entries, 2,000 evidence items, with their roles, consent, focus proposals,
conversation states and audit rows), each query function of `storage.arrival`, `storage.diary`,
`storage.people`, `storage.clusters` and `storage.channel_values` is run and every statement it
sends is explained (benchmarks/query_plans.py): none may read a whole table or a whole index.

How the check stays independent of the number of rows:
- PostgreSQL runs with `enable_seqscan = off` for the check. On tables this small a sequential
  scan is what PostgreSQL rightly prefers, so its own choice says nothing; with the method
  turned off it still falls back to a sequential scan (or a whole-index scan) when no index can
  serve the query, and that is what the test catches.
- SQLite has no statistics (the bot never runs ANALYZE), so its plans come from the schema and
  the query alone, whatever the size.
Timings are never asserted here; benchmarks/handler_latency.py measures them.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import col, select

from benchmarks.network import Network, Shape, generate
from benchmarks.query_plans import QUERIES, explain_all, summary
from storage.db import Database
from storage.diary import entries_of
from storage.models import DiaryEntry, EntryStatus, EvidenceItem, SQLModel

SMALL = Shape.scaled(0.02)


async def _network(db: Database) -> Network:
    return await generate(db, shape=SMALL, seed=9)


async def test_every_handler_query_reads_by_index(db: Database) -> None:
    net = await _network(db)
    results = await explain_all(db, net, forced=True)
    assert [r.name for r in results] == [name for name, _, _ in QUERIES]
    silent = [r.name for r in results if not r.plans]
    assert silent == [], "these query functions sent no statement to explain"
    scans = {
        r.name: (sorted(set(r.full_scans)), [summary(plan) for plan in r.plans])
        for r in results
        if r.full_scans
    }
    assert scans == {}


async def test_mine_stops_after_the_entries_it_shows(db: Database) -> None:
    """/mine's entries come in index order (no sort of all the person's entries), and the
    evidence is counted per entry shown, not grouped over the whole evidence table."""
    net = await _network(db)
    # With sorting and bitmap scans off, PostgreSQL sorts anyway only if no index gives the order.
    (result,) = await explain_all(
        db, net, forced=True, only=["diary.entries_of"], turned_off=("sort", "bitmapscan")
    )
    (plan,) = result.plans
    text = summary(plan)
    assert "ix_entries_author_status" in text, text
    assert "ix_evidence_items_entry_id" in text, text
    assert "TEMP B-TREE" not in text and "Sort" not in text, text
    assert "Aggregate" not in text.split("ix_entries_author_status")[0], text  # no GROUP BY first


async def test_entries_of_counts_the_live_evidence_of_the_newest_entries(db: Database) -> None:
    net = await _network(db)
    async with db.session() as session:
        entries = (
            await session.exec(select(DiaryEntry).where(DiaryEntry.author_id == net.busiest_author))
        ).all()
        items = (
            await session.exec(
                select(EvidenceItem).where(
                    col(EvidenceItem.entry_id).in_([e.id for e in entries]),
                    col(EvidenceItem.removed_at).is_(None),
                )
            )
        ).all()
        found = await entries_of(session, author_id=net.busiest_author, limit=7)
    submitted = [e for e in entries if e.status == EntryStatus.SUBMITTED]
    newest = sorted(submitted, key=lambda e: (e.submitted_at, e.id), reverse=True)[:7]
    counts = {e.id: sum(1 for item in items if item.entry_id == e.id) for e in newest}
    assert len(newest) == 7 and any(counts.values())
    assert [(entry.id, n) for entry, n in found] == [(e.id, counts[e.id]) for e in newest]


async def test_migrations_create_the_indexes_the_models_declare(db: Database) -> None:
    def index_differences(connection) -> list:
        context = MigrationContext.configure(connection)
        diffs = compare_metadata(context, SQLModel.metadata)
        return [d for d in diffs if isinstance(d, tuple) and d[0] in ("add_index", "remove_index")]

    async with db.engine.connect() as connection:
        assert await connection.run_sync(index_differences) == []
