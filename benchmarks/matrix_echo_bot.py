"""A bare matrix-nio echo bot: the yardstick the Matrix benchmark holds our bot against.

Run: .venv/bin/python -m benchmarks.matrix_echo_bot HOMESERVER USER_ID PASSWORD STORE_DIR

What a matrix-nio user writes from the library's own examples: `AsyncClient` with end-to-end
encryption, a callback that joins on invitation, a callback that sends every text back, and
`sync_forever` (which also uploads, queries and claims keys). Two choices keep it comparable
with our bot rather than bare to the point of failing: the sync asks for up to 1000 timeline
events per room (nio's default of 10 drops messages of a burst), and replies go to every device
in the room, verified or not (our trust policy). It prints `ready` once the first sync is done.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from nio import AsyncClient, AsyncClientConfig, InviteMemberEvent, MatrixRoom, RoomMessageText

SYNC_FILTER = {"room": {"timeline": {"limit": 1000}}}


async def main(homeserver: str, user_id: str, password: str, store: str) -> None:
    await asyncio.to_thread(Path(store).mkdir, parents=True, exist_ok=True)
    config = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True)
    client = AsyncClient(homeserver, user_id, store_path=store, config=config)
    await client.login(password, device_name="echo")

    async def echo(room: MatrixRoom, event: RoomMessageText) -> None:
        if event.sender != client.user_id:
            content = {"msgtype": "m.text", "body": event.body}
            await client.room_send(
                room.room_id, "m.room.message", content, ignore_unverified_devices=True
            )

    async def invited(room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key == client.user_id and event.membership == "invite":
            await client.join(room.room_id)

    client.add_event_callback(echo, RoomMessageText)
    client.add_event_callback(invited, InviteMemberEvent)
    syncing = asyncio.create_task(
        client.sync_forever(timeout=30_000, sync_filter=SYNC_FILTER, full_state=True)
    )
    await client.synced.wait()
    print("ready", flush=True)
    try:
        await syncing
    finally:
        await client.close()


if __name__ == "__main__":
    try:
        asyncio.run(main(*sys.argv[1:5]))
    except KeyboardInterrupt:
        pass
