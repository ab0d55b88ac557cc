"""The SQLite connections `storage.db` makes (`storage.sqlite_driver`), through SQLAlchemy.

Every other SQLite test runs on them too; these pin what the driver itself promises: results
arrive whole (rows, counts, new ids), errors surface as SQLAlchemy's, a statement is one trip to
the database thread, and a connection handed back with a transaction open is rolled back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, text
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import Database
from storage.sqlite_driver import OneTripConnection

TABLE = "CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)"


async def sql(session: AsyncSession, statement: str, parameters: Any = None) -> Any:
    """Run plain SQL on the session's connection (SQLModel's session warns about `execute`)."""
    connection = await session.connection()
    return await connection.execute(text(statement), parameters)


@pytest.fixture
async def sqlite_db(tmp_path) -> AsyncIterator[Database]:
    """A SQLite database holding one table of our own, `things`."""
    database = Database(f"sqlite:///{tmp_path / 'driver.sqlite3'}")
    async with database.session() as session:
        await sql(session, TABLE)
    yield database
    await database.close()


async def test_results_arrive_whole(sqlite_db: Database) -> None:
    async with sqlite_db.session() as session:
        many = await sql(
            session,
            "INSERT INTO things (name) VALUES (:name)",
            [{"name": "ana"}, {"name": "bo"}, {"name": "cy"}],
        )
        one = await sql(session, "INSERT INTO things (name) VALUES ('dee')")
        changed = await sql(session, "UPDATE things SET name = name || '!' WHERE id < 3")
    assert many.rowcount == 3
    assert one.lastrowid == 4
    assert changed.rowcount == 2
    async with sqlite_db.session() as session:
        result = await sql(session, "SELECT id, name FROM things ORDER BY id")
        assert list(result.keys()) == ["id", "name"]
        assert result.all() == [(1, "ana!"), (2, "bo!"), (3, "cy"), (4, "dee")]
        first = await sql(session, "SELECT name FROM things ORDER BY id DESC")
        assert first.scalar() == "dee"
        none = await sql(session, "SELECT name FROM things WHERE id > 99")
        assert none.first() is None


async def test_a_streamed_result_arrives_in_parts(sqlite_db: Database) -> None:
    # Nothing of ours streams today; SQLAlchemy's server-side cursor fetches row by row and in
    # batches, which the driver's cursor answers from the one trip's rows.
    async with sqlite_db.session() as session:
        names = [{"name": f"n{i}"} for i in range(5)]
        await sql(session, "INSERT INTO things (name) VALUES (:name)", names)
        connection = await session.connection()
        result = await connection.stream(text("SELECT name FROM things ORDER BY id"))
        first = await result.fetchone()
        parts = [[row.name for row in part] async for part in result.partitions(2)]
    assert first is not None and first.name == "n0"
    assert parts == [["n1", "n2"], ["n3", "n4"]]


async def test_a_failed_statement_raises_and_nothing_else_is_lost(sqlite_db: Database) -> None:
    async with sqlite_db.session() as session:
        await sql(session, "INSERT INTO things (name) VALUES ('ana')")
    with pytest.raises(IntegrityError):
        async with sqlite_db.session() as session:
            await sql(session, "INSERT INTO things (name) VALUES ('bo')")
            await sql(session, "INSERT INTO things (name) VALUES ('ana')")
    async with sqlite_db.session() as session:
        names = (await sql(session, "SELECT name FROM things")).scalars().all()
    assert names == ["ana"]  # the failed session's 'bo' was rolled back with it


async def test_a_bulk_insert_returns_every_new_id_or_fails_whole(sqlite_db: Database) -> None:
    things = Table("things", MetaData(), Column("id", Integer, primary_key=True), Column("name"))
    add = insert(things).returning(things.c.id, sort_by_parameter_order=True)
    async with sqlite_db.session() as session:
        connection = await session.connection()
        ids = (await connection.execute(add, [{"name": "ana"}, {"name": "bo"}])).scalars().all()
    assert ids == [1, 2]
    with pytest.raises(IntegrityError):  # the third row breaks the unique name
        async with sqlite_db.session() as session:
            connection = await session.connection()
            rows = [{"name": "cy"}, {"name": "dee"}, {"name": "ana"}]
            await connection.execute(add, rows)
    async with sqlite_db.session() as session:
        names = (await sql(session, "SELECT name FROM things ORDER BY id")).scalars().all()
    assert names == ["ana", "bo"]


async def test_each_statement_is_one_trip_to_the_database_thread(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    trips: list[str] = []
    execute = OneTripConnection._execute

    async def counted(self: OneTripConnection, function: Any, *args: Any) -> Any:
        trips.append(getattr(function, "__name__", "call"))
        return await execute(self, function, *args)

    monkeypatch.setattr(OneTripConnection, "_execute", counted)
    async with sqlite_db.session() as session:
        await sql(session, "SELECT count(*) FROM things")
        await sql(session, "INSERT INTO things (name) VALUES ('ana')")
    # BEGIN IMMEDIATE, the two statements, the commit; no ping, and no rollback after it.
    assert trips == ["_run", "_run", "_run", "commit"]


async def test_a_connection_handed_back_mid_transaction_is_rolled_back(
    sqlite_db: Database,
) -> None:
    async with sqlite_db.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert isinstance(driver, OneTripConnection)
        # Behind SQLAlchemy's back, so only the pool's reset can end it.
        await driver.execute("BEGIN IMMEDIATE")
        await driver.execute("INSERT INTO things (name) VALUES ('abandoned')")
        assert driver.in_transaction
    assert not driver.in_transaction
    # The same pooled connection begins again (BEGIN inside an open one would fail) and the
    # abandoned row is gone.
    async with sqlite_db.session() as session:
        await sql(session, "INSERT INTO things (name) VALUES ('next')")
    async with sqlite_db.session() as session:
        names = (await sql(session, "SELECT name FROM things")).scalars().all()
    assert names == ["next"]


async def test_a_connection_closed_behind_the_pools_back_is_replaced(sqlite_db: Database) -> None:
    async with sqlite_db.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        await raw.driver_connection.close()  # no ping on SQLite: the reset must notice
    async with sqlite_db.session() as session:  # a new connection takes its place
        await sql(session, "INSERT INTO things (name) VALUES ('next')")
    async with sqlite_db.session() as session:
        names = (await sql(session, "SELECT name FROM things")).scalars().all()
    assert names == ["next"]
