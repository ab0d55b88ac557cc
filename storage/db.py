"""The async engine, sessions and schema upgrades.

One `Database` is built from the settings in `main()`; nothing is created at import time.
The schema is always brought to the newest Alembic revision, never made with `create_all`,
so the tests exercise the same migrations a deployment runs.

Only SQLite (aiosqlite) and PostgreSQL (asyncpg) are supported: the migrations and every test run
on both. A SQLite file, and the folders made for it, are created for the bot's user only (0600,
0700); SQLite gives the `-wal` and `-shm` files the mode of the database file. A URL shown to the
operator (in an error, or by `diarybot db upgrade`) never shows its password.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.media import make_private_dirs

SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
_USERINFO_PASSWORD = re.compile(r"(://[^/@:]*:)[^/]*@")


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
        return _USERINFO_PASSWORD.sub(r"\1***@", url)


def _create_private_file(path: Path) -> None:
    """Create an empty SQLite file (a valid empty database) for its owner only, if missing."""
    make_private_dirs(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def _enable_sqlite_foreign_keys(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


class Database:
    """The engine and session factory for one database URL."""

    def __init__(self, url: str) -> None:
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
        try:
            self.engine: AsyncEngine = create_async_engine(
                parsed, pool_pre_ping=True, hide_parameters=True
            )
        except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as exc:
            raise DatabaseError(f"database URL {shown!r} is not usable: {exc}") from None
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                _create_private_file(Path(parsed.database))
            event.listen(self.engine.sync_engine, "connect", _enable_sqlite_foreign_keys)
        self.sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)

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
        """A session that commits on success and rolls back on error."""
        async with self.sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def upgrade(self) -> None:
        """Bring the schema to the newest migration; raises `DatabaseError` if unreachable."""
        try:
            async with self.engine.begin() as connection:
                await connection.run_sync(_run_upgrade)
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
    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("storage").joinpath("migrations"))
    )
    return config


def _run_upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
