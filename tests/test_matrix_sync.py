"""What the bot's syncs bring, against a real Synapse: none of its own events, all of the rest.

The sync filter leaves the bot's own events out of the timelines, so the echo of a reply never
wakes a sync; the bot's membership still arrives in the rooms' state, so member counts (and
with them private chat or group) stay right.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.channels.matrix import MatrixChannel
from bot.messages import ChatKind
from bot.settings import Settings
from tests.synapse import Synapse, synapse  # noqa: F401 (the fixture)
from tests.test_matrix_e2e import keys_may_be_slow, running, settings, teacher  # noqa: F401

pytestmark = pytest.mark.synapse


async def test_the_bots_own_events_stay_out_of_its_syncs(
    synapse: Synapse,  # noqa: F811
    settings: Settings,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    senders: list[str] = []
    schedule = MatrixChannel._schedule

    def recording(self: MatrixChannel, response: Any, **kwargs: Any) -> None:
        for info in response.rooms.join.values():
            senders.extend(event.source.get("sender", "") for event in info.timeline.events)
        schedule(self, response, **kwargs)

    monkeypatch.setattr(MatrixChannel, "_schedule", recording)
    bot_id = settings.matrix_user_id
    async with (
        running(settings) as bot,
        teacher(synapse, tmp_path, "lea") as lea,
        teacher(synapse, tmp_path, "max") as max_,
    ):
        dm = await lea.room_with(bot_id, encrypted=True)
        await lea.say(dm, "/help")
        await lea.until(dm, "what I can do")
        # Three people and no name: a group, so the bot must count itself among the members.
        group = await lea.room_with(bot_id, direct=False)
        await lea.client.room_invite(group, max_.user_id)
        await max_.wait_for(lambda: group in max_.client.invited_rooms)
        await max_.client.join(group)
        await max_.wait_for(lambda: max_.member(group, max_.user_id) == "join")
        await max_.say(group, "/help")
        await max_.until(group, "what I can do")
        await lea.say(dm, "/help")
        await lea.until(dm, "what I can do")
        kinds = [msg.chat.kind for msg in bot.seen]
        assert kinds == [ChatKind.PRIVATE, ChatKind.GROUP, ChatKind.PRIVATE]
        assert bot.channel.client.rooms[group].users.keys() >= {bot_id, max_.user_id}
    assert bot_id not in senders
    assert lea.user_id in senders and max_.user_id in senders
