"""aiosqlite connections that run each statement in one trip to their thread.

aiosqlite keeps a sqlite3 connection in a thread of its own and runs every call there, each a
queue put, a thread wake-up and an event-loop wake-up. SQLAlchemy's adapter makes four such
trips per statement that returns rows (open a cursor, execute, fetch the rows, close) and three
per statement that does not; with the session's BEGIN and the pool's checks that came to about
24 trips for one diary message, about a third of the bot's CPU per message on SQLite (measured
in the dispatcher; see README, Benchmarks). Here a cursor is only a holder: `execute` runs the
statement, reads its rows and closes the sqlite3 cursor in a single trip, and the rest is
answered from what came back. SQLAlchemy reads every row of a result at once anyway (we use no
server-side cursors), so nothing is held in memory that was not held before.

`connector(path)` is handed to `create_async_engine(async_creator=...)` (`storage.db`), which
takes only a file (an absolute path): aiosqlite 0.22.1 or newer, whose thread is a member of
its connection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import aiosqlite

# What one trip brings back: description, rowcount, lastrowid, rows.
Outcome = tuple[Any, int, int | None, list[Any]]


def _run(connection: sqlite3.Connection, sql: str, parameters: Any, many: bool) -> Outcome:
    """In the database thread: the statement, all its rows, then the cursor closed."""
    cursor = (
        connection.executemany(sql, parameters) if many else connection.execute(sql, parameters)
    )
    try:
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class OneTripCursor:
    """The part of aiosqlite's cursor SQLAlchemy uses, filled by one trip per statement."""

    arraysize = 1

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []
        self._next = 0  # rows before this one were fetched already

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Any = ()) -> OneTripCursor:
        """Run one statement; its rows wait here for the fetch calls."""
        await self._trip(sql, parameters, many=False)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> OneTripCursor:
        """Run one statement once per set of parameters."""
        await self._trip(sql, parameters, many=True)
        return self

    async def _trip(self, sql: str, parameters: Any, *, many: bool) -> None:
        outcome = await self._connection.in_thread(_run, sql, parameters, many)
        self.description, self.rowcount, self.lastrowid, self._rows = outcome
        self._next = 0

    async def fetchall(self) -> list[Any]:
        """The rows not fetched yet (all of them, uncopied, after `execute`)."""
        return await self.fetchmany(len(self._rows))

    async def fetchone(self) -> Any:
        """The next row, or None."""
        rows = await self.fetchmany(1)
        return rows[0] if rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """The next `size` rows (`arraysize` by default)."""
        start = self._next
        self._next = min(len(self._rows), start + (self.arraysize if size is None else size))
        if start == 0 and self._next == len(self._rows):
            rows, self._rows, self._next = self._rows, [], 0
            return rows
        return self._rows[start : self._next]

    async def close(self) -> None:
        """Forget the rows; the sqlite3 cursor was closed in the trip already."""
        self._rows, self._next = [], 0


class OneTripConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors make one trip per statement."""

    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        """A cursor for SQLAlchemy's adapter (no trip: nothing is run yet)."""
        return OneTripCursor(self)

    async def in_thread(self, function: Callable[..., Outcome], *args: Any) -> Outcome:
        """`function(sqlite3_connection, *args)`, run in the connection's thread."""
        return await self._execute(function, self._conn, *args)


def connector(path: str) -> Callable[[], Awaitable[OneTripConnection]]:
    """The `async_creator` of an engine on the SQLite file at the absolute `path`."""

    async def connect() -> OneTripConnection:
        connection = OneTripConnection(lambda: sqlite3.connect(path), iter_chunk_size=64)
        # As SQLAlchemy does for aiosqlite: a connection nobody closed must not keep the
        # process from exiting.
        connection._thread.daemon = True
        return await connection

    return connect
