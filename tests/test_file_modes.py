"""What the bot writes to disk is for its own user only: folders 0700, files 0600.

Each test runs under the usual permissive umask (022), with which folders would be 0755 and
files 0644 unless the bot asks for private ones.
"""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.settings import load_settings
from tests.builders import demo_codes, member, photo_with_gps
from tests.helpers import make_harness, text_of
from tests.synapse import Synapse, Teacher, synapse  # noqa: F401 (the fixture)
from tests.test_cli import diarybot
from tests.test_matrix_e2e import bot_settings, codes_of, running


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


def _modes_under(folder: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The modes of `folder` and every folder in it, and of every file in it (path: octal)."""
    paths = [folder, *folder.rglob("*")]
    folders = {str(p): oct(mode(p)) for p in paths if p.is_dir()}
    files = {str(p): oct(mode(p)) for p in paths if p.is_file()}
    return folders, files


def _all_private(folder: Path) -> None:
    folders, files = _modes_under(folder)
    assert files, "nio keeps its crypto store here"
    assert folders == dict.fromkeys(folders, "0o700")
    assert files == dict.fromkeys(files, "0o600")


@pytest.mark.synapse
@pytest.mark.usefixtures("permissive_umask")
async def test_the_matrix_crypto_store_is_private(
    synapse: Synapse,  # noqa: F811
    tmp_path: Path,
) -> None:
    # An encrypted conversation fills the store (keys, sessions, devices); a restart restores
    # the saved login, which opens the same store again.
    data = tmp_path / "srv" / "diary"  # neither folder exists yet, and the channel makes them
    # The database beside it, in tmp_path (as PostgreSQL would be elsewhere).
    settings = bot_settings(synapse, tmp_path).model_copy(update={"data_dir": data})
    store = data / "matrix"
    ana = await Teacher.create(synapse, f"ana-{uuid.uuid4().hex[:6]}", tmp_path / "ana")
    try:
        async with running(settings) as bot:
            _all_private(store)  # as soon as the store is loaded
            codes = await codes_of(bot)
            room = await ana.room_with(settings.matrix_user_id or "", encrypted=True)
            await ana.say(room, f"/join {codes['contributor']}")
            assert (await ana.until(room, "Do you agree"))[-1].decrypted
            _all_private(store)
        async with running(settings):
            await ana.say(room, "1")
            await ana.until(room, "English")
            _all_private(store)
    finally:
        await ana.close()
    _all_private(store)
    assert {oct(mode(p)) for p in (tmp_path / "srv", data)} == {"0o700"}
