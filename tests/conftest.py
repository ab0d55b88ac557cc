"""Fixtures: a migrated database on SQLite and on PostgreSQL, settings, and the chat harness.

PostgreSQL tests get a database of their own, created and dropped around each test. When the
server is unreachable they are skipped on a developer machine but fail under CI (CI=true), so a
CI run can never pass by silently skipping them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from bot.settings import Settings, load_settings
from storage.db import Database
from tests.helpers import Harness, make_harness

POSTGRES_URL = os.environ.get(
    "DIARYBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


async def _admin_connection() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(POSTGRES_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[str]:
    """A URL of an empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
        return
    admin = await _admin_connection()
    name = f"diary_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated database."""
    database = Database(database_url)
    await database.upgrade()
    yield database
    await database.close()


@pytest.fixture
def settings(database_url: str, tmp_path) -> Settings:
    """Settings pointing at the test database and a temporary media folder."""
    return load_settings(database_url=database_url, data_dir=tmp_path / "data", max_upload_mb=1.0)


@pytest.fixture
async def harness(settings: Settings) -> AsyncIterator[Harness]:
    """The whole bot behind an in-memory channel."""
    bot = await make_harness(settings)
    yield bot
    await bot.app.db.close()
