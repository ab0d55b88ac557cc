"""The async engine, sessions and schema upgrades.

One `Database` is built from the settings in `main()`; nothing is created at import time.
The schema is always brought to the newest Alembic revision, never made with `create_all`,
so the tests exercise the same migrations a deployment runs.

Only SQLite (aiosqlite) and PostgreSQL (asyncpg) are supported: the migrations and every test run
on both. A SQLite file, and the folders made for it, are created for the bot's user only (0600,
0700); SQLite gives the `-wal` and `-shm` files the mode of the database file. A URL shown to the
operator (in an error, or by `diarybot db upgrade`) never shows its password.

Concurrency never fails a message. SQLite has one writer at a time: a transaction that reads
first and writes later fails at once ("database is locked") when another connection wrote in
between, so on SQLite every transaction begins with `BEGIN IMMEDIATE` (taking the write lock
first, waiting up to 30 s for another process such as an admin command) and sessions of this
process take turns through one FIFO lock, so they never contend inside SQLite at all. WAL with
`synchronous=NORMAL` keeps a commit to one write without an fsync (durable across a crash of
the process; a power cut may lose the last commits, never corrupt the file). On PostgreSQL the
pool holds `concurrency` connections and as many more, and waits for one rather than failing;
the dispatcher runs at most `concurrency` messages at once.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from contextvars import ContextVar
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, inspect
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import PoolResetState
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.media import make_private_dirs
from storage.moderation import install as install_moderation
from storage.sqlite_driver import connector

if TYPE_CHECKING:  # Alembic is imported only when the schema is upgraded (start-up time)
    from alembic.config import Config

SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
# `scheme://user:password@`: the password of a URL, also inside other text (the logs use it).
URL_PASSWORD = re.compile(r"(?<=://)([^/\s@:]*):[^/\s]*@")
# Whether the current task holds the SQLite turn already (a session opened inside a session).
_HOLDS_TURN: ContextVar[bool] = ContextVar("holds_sqlite_turn", default=False)


class DatabaseError(Exception):
    """The database URL is unusable or the server cannot be reached; one line for the operator."""


def _async_url(url: str) -> str:
    """Pick the async driver for plain `sqlite://` and `postgresql://` URLs."""
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.removeprefix("sqlite://")
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    return url


def hide_password(url: str) -> str:
    """`url` with its password shown as `***`, even when the URL does not parse."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return URL_PASSWORD.sub(r"\1:***@", url)


def _create_private_file(path: Path) -> None:
    """Create an empty SQLite file (a valid empty database) for its owner only, if missing."""
    make_private_dirs(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def _configure_sqlite(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    # The driver's own implicit BEGIN is off: `_begin_immediately` emits ours.
    dbapi_connection.isolation_level = None  # type: ignore[attr-defined]


def _begin_immediately(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _end_open_transaction(dbapi_connection: Any, _record: object, state: PoolResetState) -> None:
    """The pool's reset on SQLite: roll back only a transaction still open.

    The pool would roll back every connection it takes back, and a session has always
    committed or rolled back by then: on aiosqlite that was one more trip to the database
    thread per message for nothing.
    """
    # Garbage collected (not asyncio-safe): the pool terminates it, transaction and all. A
    # connection closed behind the pool's back raises here, and the pool replaces it.
    if state.asyncio_safe and dbapi_connection.driver_connection.in_transaction:
        dbapi_connection.rollback()


class Database:
    """The engine and session factory for one database URL."""

    def __init__(self, url: str, *, concurrency: int = 8) -> None:
        url = _async_url(url)
        shown = hide_password(url)
        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError) as exc:
            raise DatabaseError(f"database URL {shown!r} is not usable: {exc}") from None
        if parsed.drivername not in SUPPORTED_DRIVERS:
            raise DatabaseError(
                f"database URL {shown!r} is not supported: use sqlite:///PATH or "
                "postgresql://USER:PASSWORD@HOST/NAME"
            )
        sqlite = parsed.get_backend_name() == "sqlite"
        # Our connections open the file themselves, as it is named (`storage.sqlite_driver`);
        # a database in memory would lose everything at every restart.
        if sqlite and (parsed.query or parsed.database in (None, "", ":memory:")):
            raise DatabaseError(
                f"database URL {shown!r} is not usable: a SQLite URL names a file and takes no "
                "options after '?'; use sqlite:///PATH"
            )
        # A SQLite file cannot drop the connection as a server can: no ping before each session.
        pool: dict[str, Any] = (
            {
                "async_creator": connector(os.path.abspath(str(parsed.database))),
                "pool_reset_on_return": None,
            }
            if sqlite
            else {"pool_size": concurrency, "max_overflow": concurrency, "pool_pre_ping": True}
        )
        try:
            self.engine: AsyncEngine = create_async_engine(
                parsed, hide_parameters=True, pool_timeout=300, **pool
            )
        except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as exc:
            raise DatabaseError(f"database URL {shown!r} is not usable: {exc}") from None
        self._turn: asyncio.Lock | None = None
        if sqlite:
            _create_private_file(Path(str(parsed.database)))
            event.listen(self.engine.sync_engine, "connect", _configure_sqlite)
            event.listen(self.engine.sync_engine, "begin", _begin_immediately)
            event.listen(self.engine.sync_engine.pool, "reset", _end_open_transaction)
            self._turn = asyncio.Lock()
        self.sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        install_moderation()  # public entries wait for a moderator, whoever writes them

    @property
    def display_url(self) -> str:
        """The URL to show the operator: the password, if any, as `***`."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        """The database kind: `sqlite` or `postgresql`."""
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session that commits on success and rolls back on error.

        On SQLite the session waits for its turn (see the module docstring); a session opened
        inside another one in the same task shares its turn instead of waiting for itself.
        """
        async with AsyncExitStack() as stack:
            if self._turn is not None and not _HOLDS_TURN.get():
                await stack.enter_async_context(self._turn)
                token = _HOLDS_TURN.set(True)
                stack.callback(_HOLDS_TURN.reset, token)
            session = await stack.enter_async_context(self.sessions())
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def upgrade(self) -> None:
        """Bring the schema to the newest migration; raises `DatabaseError` if unreachable.

        A database already at the newest migration (every start but the first after an update)
        is recognised by its version row alone, without importing Alembic or reading the
        migration scripts: a sixth of the bot's start-up time.
        """
        try:
            async with self.engine.connect() as connection:
                sqlite = connection.dialect.name == "sqlite"
                if sqlite:
                    # A migration may rebuild a table others refer to (SQLite's batch mode:
                    # copy, drop, rename); dropping it with its rows would break their foreign
                    # keys for a moment, which SQLite refuses while it enforces them. The pragma
                    # works only outside a transaction; the keys are checked after, and back on.
                    raw = await connection.get_raw_connection()
                    await raw.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
                try:
                    async with connection.begin():
                        if await connection.run_sync(schema_version) == newest_migration():
                            return
                        await connection.run_sync(_run_upgrade)
                        if sqlite:
                            broken = await connection.exec_driver_sql("PRAGMA foreign_key_check")
                            if broken.first() is not None:
                                raise DatabaseError("the upgrade left broken foreign keys")
                finally:
                    if sqlite:
                        await raw.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
        except DatabaseError:
            raise
        except Exception as exc:  # each driver raises its own connection errors
            raise DatabaseError(
                f"cannot open the database {self.display_url}: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            ) from exc

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def alembic_config() -> Config:
    """The Alembic configuration pointing at the packaged migration scripts."""
    from alembic.config import Config

    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("storage").joinpath("migrations"))
    )
    return config


def newest_migration() -> str:
    """The revision of the newest migration script (files are named `NNNN_what.py`)."""
    versions = resources.files("storage").joinpath("migrations", "versions")
    return max(
        entry.name.split("_", 1)[0]
        for entry in versions.iterdir()
        if entry.name.endswith(".py") and entry.name[:4].isdigit()
    )


def schema_version(connection: Connection) -> str | None:
    """The revision the database is at, or None before the first migration."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def _run_upgrade(connection: Connection) -> None:
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def insert_for(session: AsyncSession) -> Any:
    """The INSERT construct of the session's dialect, which knows ON CONFLICT (both do)."""
    from sqlalchemy.dialects import postgresql, sqlite

    bind = session.bind
    return (
        postgresql.insert
        if bind is not None and bind.dialect.name == "postgresql"
        else sqlite.insert
    )
