"""Checkpoints of the Matrix channel: what is saved when, and the choices saved with them.

A checkpoint writes once per batch that brought something to keep (new events, choices offered
in replies), never for a batch without (the echoes of the bot's own replies), and the token at a
graceful stop; on SQLite and PostgreSQL (the `db` fixture).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest
from nio import MatrixRoom

from bot.channels import matrix_checkpoint, matrix_outbox
from bot.channels.matrix_checkpoint import Checkpoints
from bot.channels.matrix_events import chat_for, to_incoming
from bot.channels.matrix_outbox import Outbox
from bot.channels.matrix_session import SavedValues
from bot.messages import Button, Reply
from storage.db import Database
from tests.test_matrix_units import (  # noqa: F401 (the fixtures)
    BOT,
    CHAT,
    SENDER,
    event,
    fake,
    outbox,
)


class CountingSaved(SavedValues):
    """Saved values that count the checkpoints written."""

    writes: int = 0

    async def checkpoint(self, *args: Any, **kwargs: Any) -> None:
        self.writes += 1
        await super().checkpoint(*args, **kwargs)


async def test_a_checkpoint_writes_only_what_is_new_and_the_token_at_a_stop(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One write per batch with new events or choices, the token only now and then."""
    saved = CountingSaved(db, BOT)
    offered: dict[str, str] = {}

    def take() -> dict[str, str]:
        taken = dict(offered)
        offered.clear()
        return taken

    checkpoints = Checkpoints(saved, take)
    await checkpoints.load()

    async def batch(token: str, handled: dict[str, str]) -> None:
        checkpoints.after(token, [asyncio.create_task(asyncio.sleep(0))], handled)
        assert checkpoints._last is not None
        await checkpoints._last

    await batch("s1", {})  # the first token is saved even with nothing new
    assert (saved.writes, await saved.get("sync_token")) == (1, "s1")
    await batch("s2", {"!a:localhost": "$1"})
    offered["!a:localhost"] = '[["Yes", "y"]]'
    await batch("s3", {})
    assert saved.writes == 3
    assert await saved.rooms() == ({"!a:localhost": "$1"}, {"!a:localhost": '[["Yes", "y"]]'})
    for token in ("s4", "s5", "s6"):  # key messages, say: nothing to handle
        await batch(token, {})
    # The marks decide what a restart handles; the token stays behind until it is due.
    assert saved.writes == 3 and await saved.get("sync_token") == "s1"
    monkeypatch.setattr(matrix_checkpoint, "TOKEN_EVERY_S", 0.0)
    await batch("s7", {})  # the token alone, once it is old enough
    assert saved.writes == 4 and await saved.get("sync_token") == "s7"
    await batch("s8", {"!a:localhost": "$2"})  # and with the marks when they are written
    assert saved.writes == 5 and await saved.get("sync_token") == "s8"
    monkeypatch.setattr(matrix_checkpoint, "TOKEN_EVERY_S", 3600.0)
    await batch("s9", {"!a:localhost": "$3"})
    assert saved.writes == 6 and await saved.get("sync_token") == "s8"
    await batch("s10", {})
    await checkpoints.close()  # a graceful stop saves the newest handled token
    assert saved.writes == 7 and await saved.get("sync_token") == "s10"
    await checkpoints.close()
    assert saved.writes == 7


async def test_a_checkpoint_waits_for_its_batch_and_keeps_what_a_failed_write_missed(
    db: Database,
) -> None:
    saved = CountingSaved(db, BOT)
    checkpoints = Checkpoints(saved, dict)
    await checkpoints.load()
    gate = asyncio.Event()
    slow = asyncio.create_task(gate.wait())
    checkpoints.after("s1", [slow], {"!a:localhost": "$1"})
    checkpoints.after("s2", [], {"!b:localhost": "$2"})  # waits for the batch before it
    await asyncio.sleep(0.05)
    assert saved.writes == 0 and await saved.get("sync_token") is None
    gate.set()
    await checkpoints.close()
    assert await saved.get("sync_token") == "s2"
    assert await saved.last_handled() == {"!a:localhost": "$1", "!b:localhost": "$2"}

    async def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    saved.checkpoint = fail  # type: ignore[method-assign]
    checkpoints.after("s3", [], {"!a:localhost": "$3"})
    await checkpoints.close()
    del saved.checkpoint
    checkpoints.after("s4", [], {})
    await checkpoints.close()
    assert await saved.get("sync_token") == "s4"
    assert (await saved.last_handled())["!a:localhost"] == "$3"


class NoLookups(SavedValues):
    """Saved values that fail a test when asked for one room's choices."""

    async def buttons(self, room_id: str) -> str | None:
        raise AssertionError(f"looked up the choices of {room_id}")


async def test_choices_offered_in_a_reply_are_saved_with_its_checkpoint(
    outbox: Outbox,  # noqa: F811
) -> None:
    """No write of their own: saved with the message marked handled, read back at a start."""
    room = MatrixRoom("!room:localhost", BOT)
    checkpoints = Checkpoints(outbox.saved, outbox.take_offered)
    await checkpoints.load()

    async def handling() -> None:
        matrix_outbox.HANDLING.set(True)
        await outbox.send(room, Reply("Agree?", (Button("Yes", "3:yes"), Button("No", "3:no"))))
        # Not saved yet: a crash now repeats the message, and its choices with it.
        assert await outbox.saved.buttons(room.room_id) is None

    checkpoints.after("s1", [asyncio.create_task(handling())], {room.room_id: "$e1"})
    await checkpoints.close()
    assert await outbox.saved.rooms() == (
        {room.room_id: "$e1"},
        {room.room_id: '[["Yes", "3:yes"], ["No", "3:no"]]'},
    )
    # A restart reads every room's choices at once, and looks up no room on its own.
    _, offered = await outbox.saved.rooms()
    later = Outbox(outbox.client, NoLookups(outbox.saved.db, BOT), offered)
    msg = to_incoming(event({"msgtype": "m.text", "body": "2"}), chat=CHAT, sender=SENDER)
    assert (await later.pick(msg)).button == "3:no"
    elsewhere = replace(msg, chat=chat_for("!new:localhost", members=2, name=None, title="Ben"))
    assert (await later.pick(elsewhere)).text == "2"
    # Offered outside the handling of a message (a post of the bot's own): saved at once.
    await later.send(room, Reply("Still there?", (Button("Yes", "4:yes"),)))
    assert await outbox.saved.buttons(room.room_id) == '[["Yes", "4:yes"]]'
    assert later.take_offered() == {}
