"""What the bot writes to disk is for its own user only: folders 0700, files 0600.

Each test runs under the usual permissive umask (022), with which folders would be 0755 and
files 0644 unless the bot asks for private ones.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.settings import load_settings
from tests.builders import demo_codes, member, photo_with_gps
from tests.helpers import make_harness, text_of
from tests.test_cli import diarybot


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("permissive_umask")
async def test_database_data_and_media_are_private_after_a_message_with_evidence(
    tmp_path: Path,
) -> None:
    data = tmp_path / "srv" / "diary"  # neither folder exists yet
    settings = load_settings(data_dir=data, database_url="", max_upload_mb=1.0)
    bot = await make_harness(settings)
    try:
        await member(bot, "ana", (await demo_codes(bot))["contributor"])
        await bot.say("ana", "/add")
        await bot.press("ana", "Impact")
        replies = await bot.attach("ana", photo_with_gps(tmp_path / "board.jpg"))
        assert "Kept as evidence" in text_of(replies)

        # Checked while the app is open: SQLite's -wal and -shm exist only then.
        database = data / "diary.sqlite3"
        files = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
        media = data / "media"
        stored = [path for path in media.rglob("*") if path.is_file()]
        folders = [tmp_path / "srv", data, media, *(p for p in media.rglob("*") if p.is_dir())]
        assert stored and len(folders) >= 4
        assert {str(path): oct(mode(path)) for path in files + stored} == {
            str(path): "0o600" for path in files + stored
        }
        assert {str(path): oct(mode(path)) for path in folders} == {
            str(path): "0o700" for path in folders
        }
    finally:
        await bot.app.db.close()


def test_the_cli_creates_the_data_folder_and_database_private(tmp_path: Path) -> None:
    data = tmp_path / "fresh"
    result = diarybot("demo", data_dir=data, umask=0o022)
    assert result.returncode == 0, result.stderr
    assert oct(mode(data)) == "0o700"
    assert oct(mode(data / "diary.sqlite3")) == "0o600"


def test_run_makes_the_data_folder_private_also_with_postgresql(tmp_path: Path) -> None:
    # The data folder holds the Matrix crypto store even when the database is elsewhere; `run`
    # creates it private before anything else (here it stops at once: no channel, no terminal).
    data = tmp_path / "fresh"
    result = diarybot(
        "run",
        data_dir=data,
        umask=0o022,
        env={"DIARYBOT_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none"},
    )
    assert result.returncode == 2
    assert oct(mode(data)) == "0o700"
