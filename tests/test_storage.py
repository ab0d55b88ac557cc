"""Storage on SQLite and PostgreSQL: migrations, invites, identities, timestamps, media store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import inspect

from storage.clusters import (
    ClusterError,
    add_school,
    create_cluster,
    create_invite,
    join_with_code,
    normalise_code,
)
from storage.db import Database, alembic_config, newest_migration, schema_version
from storage.media import MediaStore
from storage.models import Meeting, RoleName, SchoolKind, SQLModel
from storage.people import identity_for, memberships

EXPECTED_TABLES = {
    "clusters",
    "schools",
    "people",
    "identities",
    "roles",
    "invites",
    "school_focus",
    "diary_entries",
    "evidence_items",
    "consent_records",
    "conversation_states",
    "hub_chats",
    "meetings",
    "reminders",
    "channel_state",
    "audit_log",
}


async def _cluster(db: Database) -> tuple[int, int]:
    async with db.session() as session:
        cluster = await create_cluster(
            session, name="North", language="pt", timezone="Europe/Lisbon"
        )
        school = await add_school(session, cluster_id=cluster.id, name="Escola A")
        return cluster.id, school.id


async def test_migrations_create_every_table_and_match_the_models(db: Database) -> None:
    async with db.engine.connect() as conn:
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    assert EXPECTED_TABLES <= tables
    assert set(SQLModel.metadata.tables) <= tables
    # Upgrading again is a no-op, not an error.
    await db.upgrade()


async def test_single_use_invite_can_be_redeemed_once_even_when_raced(db: Database) -> None:
    cluster_id, school_id = await _cluster(db)
    async with db.session() as session:
        code = (await create_invite(session, cluster_id=cluster_id, school_id=school_id)).code
        people = [
            (await identity_for(session, platform="t", external_id=str(i)))[1].id for i in range(4)
        ]

    async def attempt(person_id: int) -> str:
        try:
            async with db.session() as session:
                await join_with_code(session, person_id=person_id, code=code.lower())
            return "ok"
        except ClusterError as exc:
            return exc.code

    results = await asyncio.gather(*(attempt(p) for p in people))
    assert sorted(results).count("ok") == 1
    assert set(results) <= {"ok", "used_up"}


async def test_invite_rules(db: Database) -> None:
    cluster_id, school_id = await _cluster(db)
    async with db.session() as session:
        with pytest.raises(ClusterError) as err:
            await create_invite(session, cluster_id=cluster_id, role=RoleName.CONTRIBUTOR)
        assert err.value.code == "needs_school"
        expired = await create_invite(
            session, cluster_id=cluster_id, school_id=school_id, valid_for=timedelta(seconds=-1)
        )
        _, person = await identity_for(session, platform="t", external_id="x")
        with pytest.raises(ClusterError) as err:
            await join_with_code(session, person_id=person.id, code=expired.code)
        assert err.value.code == "expired"
        with pytest.raises(ClusterError) as err:
            await join_with_code(session, person_id=person.id, code="NOPE")
        assert err.value.code == "unknown"
        coordinator = await create_invite(
            session, cluster_id=cluster_id, role=RoleName.CLUSTER_COORDINATOR, max_uses=None
        )
        await join_with_code(session, person_id=person.id, code=coordinator.code)
        roles = await memberships(session, person_id=person.id)
        assert [(m.role, m.school) for m in roles] == [("cluster_coordinator", None)]
        assert roles[0].is_coordinator


async def test_one_mentor_school_per_cluster(db: Database) -> None:
    cluster_id, _ = await _cluster(db)
    async with db.session() as session:
        await add_school(session, cluster_id=cluster_id, name="AS", kind=SchoolKind.MENTOR)
        with pytest.raises(ClusterError):
            await add_school(session, cluster_id=cluster_id, name="AS2", kind=SchoolKind.MENTOR)


async def test_identity_is_created_once_per_platform_account(db: Database) -> None:
    async with db.session() as session:
        first, person = await identity_for(session, platform="telegram", external_id="42")
        again, same = await identity_for(session, platform="telegram", external_id="42")
        other, stranger = await identity_for(session, platform="matrix", external_id="42")
    assert first.id == again.id and person.id == same.id
    assert other.id != first.id and stranger.id != person.id
    assert person.display_name == ""  # nothing but the platform id before consent


async def test_timestamps_come_back_as_aware_utc(db: Database) -> None:
    cluster_id, _ = await _cluster(db)
    lisbon_noon = datetime(2026, 3, 1, 12, 0, tzinfo=UTC) + timedelta(hours=0)
    async with db.session() as session:
        meeting = Meeting(
            cluster_id=cluster_id,
            scheduled_at=lisbon_noon,
            ends_at=lisbon_noon + timedelta(hours=2),
        )
        session.add(meeting)
        await session.flush()
        meeting_id = meeting.id
    async with db.session() as session:
        loaded = await session.get(Meeting, meeting_id)
    assert loaded.scheduled_at == lisbon_noon
    assert loaded.scheduled_at.tzinfo is not None


def test_codes_are_normalised() -> None:
    assert normalise_code(" abcd-2345 ") == "ABCD2345"


async def test_media_store_keeps_identical_bytes_once(tmp_path) -> None:
    store = MediaStore(tmp_path / "media")
    first = await store.put(b"evidence")
    second = await store.put(b"evidence")
    other = await store.put(b"other")
    assert first == second != other
    assert await store.get(first) == b"evidence"
    assert len([p for p in (tmp_path / "media").rglob("*") if p.is_file()]) == 2
    with pytest.raises(ValueError):
        store.path_for("../../etc/passwd")


async def test_an_invite_without_a_use_limit_serves_many_people(db: Database) -> None:
    cluster_id, school_id = await _cluster(db)
    async with db.session() as session:
        invite = await create_invite(
            session, cluster_id=cluster_id, school_id=school_id, max_uses=None
        )
        assert invite.max_uses is None
        for n in range(3):
            _, person = await identity_for(session, platform="t", external_id=f"p{n}")
            await join_with_code(session, person_id=person.id, code=invite.code)
        await session.refresh(invite)
        assert invite.uses == 3 and invite.max_uses is None


async def test_a_database_error_does_not_quote_what_was_written(db: Database) -> None:
    from sqlalchemy.exc import IntegrityError

    from storage.models import Cluster

    with pytest.raises(IntegrityError) as raised:
        async with db.session() as session:
            session.add(Cluster(name="Private name of a school", language="en"))
            session.add(Cluster(name="Private name of a school", language="en"))
    assert "Private name" not in str(raised.value)


def test_the_newest_migration_is_alembics_head() -> None:
    """The start-up shortcut compares with the newest script's number: it must be the head."""
    from alembic.script import ScriptDirectory

    assert newest_migration() == ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_an_older_schema_is_still_upgraded(database_url: str) -> None:
    """A database one migration behind is brought to the head, not taken as up to date."""
    from alembic import command

    older = Database(database_url)
    try:
        async with older.engine.begin() as connection:

            def to_previous(sync_connection: object) -> None:
                config = alembic_config()
                config.attributes["connection"] = sync_connection
                command.upgrade(config, "0003")

            await connection.run_sync(to_previous)
        async with older.engine.connect() as connection:
            assert await connection.run_sync(schema_version) == "0003"
        await older.upgrade()
        async with older.engine.connect() as connection:
            assert await connection.run_sync(schema_version) == newest_migration()
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        assert {"terms", "holidays", "input_points"} <= set(tables)
    finally:
        await older.close()


async def test_an_older_schema_with_rows_in_every_table_is_upgraded(database_url: str) -> None:
    """Rebuilding a table others refer to (SQLite's batch mode) must not trip foreign keys."""
    import datetime as dt

    import sqlalchemy as sa
    from alembic import command

    older = Database(database_url)
    try:
        async with older.engine.begin() as connection:

            def fill_at_0006(sync_connection: Any) -> None:
                config = alembic_config()
                config.attributes["connection"] = sync_connection
                command.upgrade(config, "0006")
                tables = sa.MetaData()
                tables.reflect(sync_connection)
                for table in tables.sorted_tables:
                    if table.name == "alembic_version":
                        continue
                    row: dict[str, Any] = {}
                    for column in table.columns:
                        if column.primary_key or column.nullable or column.server_default:
                            continue
                        row[column.name] = _value_for(column)
                    sync_connection.execute(table.insert().values(row))

            def _value_for(column: Any) -> Any:
                if column.foreign_keys:
                    return 1
                try:
                    kind = column.type.python_type
                except NotImplementedError:
                    kind = str
                return {
                    int: 1,
                    bool: False,
                    float: 1.0,
                    dict: {},
                    list: [],
                    dt.datetime: dt.datetime(2026, 1, 1),  # as reflected: no time zone
                    dt.date: dt.date(2026, 1, 1),
                }.get(kind, "x")

            await connection.run_sync(fill_at_0006)
        await older.upgrade()
        async with older.engine.connect() as connection:
            assert await connection.run_sync(schema_version) == newest_migration()
            count = await connection.exec_driver_sql("SELECT count(*) FROM diary_entries")
            assert count.scalar_one() == 1
    finally:
        await older.close()
