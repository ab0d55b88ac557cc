"""Logging the Matrix bot in once and staying that device: values kept in the database.

The device id, access token and sync token are saved as channel values (platform `matrix`,
keys prefixed with the bot's user id, so a changed account never picks up another's token).
A restart restores the saved login instead of creating a new device, which keeps the device's
encryption keys (in the crypto store) valid and lets people's clients keep trusting it.

Per room (table `matrix_rooms`, also per bot account) the channel keeps the last event it
handled and the choices it last offered, both saved in one transaction with the sync token (a
checkpoint, see `matrix_checkpoint`), and read back in one query at the start.
"""

from __future__ import annotations

import logging

from nio import AsyncClient, ErrorResponse, LoginResponse, WhoamiResponse

from bot.channel import ChannelError
from bot.settings import Settings
from storage.channel_values import get_channel_value
from storage.db import Database
from storage.matrix_rooms import offered_buttons, room_memory, save_channel_value, save_rooms

log = logging.getLogger(__name__)

PLATFORM = "matrix"
DEVICE_NAME = "Cluster Diary bot"


class SavedValues:
    """The Matrix channel's values in the database, scoped to one bot account."""

    def __init__(self, db: Database, user_id: str) -> None:
        self.db = db
        self.user_id = user_id

    async def get(self, key: str) -> str | None:
        """The saved value of `key`, if any."""
        async with self.db.session() as session:
            return await get_channel_value(session, platform=PLATFORM, key=self._key(key))

    async def set(self, key: str, value: str) -> None:
        """Save `value` under `key`, replacing what was there."""
        async with self.db.session() as session:
            await save_channel_value(session, platform=PLATFORM, key=self._key(key), value=value)

    async def rooms(self) -> tuple[dict[str, str], dict[str, str]]:
        """Per room id, the last handled event, and the choices last offered (as saved)."""
        async with self.db.session() as session:
            memory = await room_memory(session, account=self.user_id)
        events = {room: event for room, (event, _) in memory.items() if event}
        offered = {room: buttons for room, (_, buttons) in memory.items() if buttons is not None}
        return events, offered

    async def last_handled(self) -> dict[str, str]:
        """The id of the last event handled in each room, by room id."""
        return (await self.rooms())[0]

    async def checkpoint(
        self,
        sync_token: str | None,
        last_handled: dict[str, str],
        buttons: dict[str, str] | None = None,
    ) -> None:
        """Save the sync token, rooms' last handled events and offered choices in one transaction.

        `last_handled` and `buttons` are by room id; a room in only one keeps its other value.
        Without a sync token (none known yet) only the rooms are saved.
        """
        async with self.db.session() as session:
            if sync_token is not None:
                key = self._key("sync_token")
                await save_channel_value(session, platform=PLATFORM, key=key, value=sync_token)
            await save_rooms(session, account=self.user_id, events=last_handled, buttons=buttons)

    async def buttons(self, room_id: str) -> str | None:
        """The choices last offered in a room (as `matrix_content.buttons_to_json` wrote them)."""
        async with self.db.session() as session:
            return await offered_buttons(session, account=self.user_id, room_id=room_id)

    async def set_buttons(self, room_id: str, buttons: str) -> None:
        """Remember the choices offered in a room, replacing the previous ones."""
        async with self.db.session() as session:
            await save_rooms(session, account=self.user_id, buttons={room_id: buttons})

    def _key(self, key: str) -> str:
        return f"{self.user_id}:{key}"


async def log_in(client: AsyncClient, settings: Settings, saved: SavedValues) -> None:
    """Log `client` in: a configured access token, else the saved login, else the password.

    On return the client is logged in, its crypto store is loaded, and the login is saved. A
    password login keeps the saved device unless the homeserver said it was signed out for good
    (its encryption keys are then gone from the server, so a new device starts with new ones).

    Raises:
        ChannelError: no way to log in worked; the message says which and why.
    """
    token = settings.matrix_access_token
    if token is not None:
        if await _restore(client, token.get_secret_value(), saved) is None:
            return
        raise ChannelError(f"the Matrix access token for {saved.user_id} is not valid")
    device = await saved.get("device_id") or ""
    saved_token = await saved.get("access_token")
    if saved_token:
        refused = await _restore(client, saved_token, saved)
        if refused is None:
            return
        log.warning("the saved Matrix login of %s no longer works: %s", saved.user_id, refused)
        if not refused.soft_logout:
            device = ""
    if settings.matrix_password is None:
        raise ChannelError("set DIARYBOT_MATRIX_PASSWORD or DIARYBOT_MATRIX_ACCESS_TOKEN")
    client.device_id = device
    response = await client.login(
        settings.matrix_password.get_secret_value(), device_name=DEVICE_NAME
    )
    if not isinstance(response, LoginResponse):
        raise ChannelError(f"Matrix login of {saved.user_id} failed: {response.message}")
    await _save(client, saved)


async def _restore(client: AsyncClient, token: str, saved: SavedValues) -> ErrorResponse | None:
    """Use `token` if the homeserver accepts it (None); otherwise its refusal."""
    client.access_token = token
    who = await client.whoami()
    if not isinstance(who, WhoamiResponse):
        client.access_token = ""
        if who.status_code not in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"):
            raise ChannelError(f"the Matrix homeserver refused the login: {who.message}")
        return who
    if who.user_id != saved.user_id:
        raise ChannelError(f"the Matrix access token is for {who.user_id}, not {saved.user_id}")
    if not who.device_id:
        raise ChannelError("the Matrix access token belongs to no device; log in with a password")
    client.restore_login(who.user_id, who.device_id, token)
    await _save(client, saved)
    return None


async def _save(client: AsyncClient, saved: SavedValues) -> None:
    await saved.set("device_id", client.device_id)
    await saved.set("access_token", client.access_token)
