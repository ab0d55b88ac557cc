"""The Matrix channel: the bot as a Matrix account, through matrix-nio, encrypted rooms included.

One sync loop receives everything. Each sync response is handled in three steps: encryption
housekeeping (keys uploaded, queried, claimed; to-device messages sent), invites answered (joined
when the inviter's homeserver is allowed, declined otherwise), and each new message of a joined
room put in the inbox (`matrix_inbox`), which dispatches a room's messages (and people's
reactions) in timeline order. Replies, edits, uploads and downloads go through the outbox
(`matrix_outbox`).

Once every message of a sync's batch (and of all earlier batches) has been handled, each room's
last handled event is saved (`matrix_checkpoint`), so a restart continues exactly after the last
answered message: nothing is answered twice after a clean stop, and nothing is lost after a crash
(the unfinished batch comes again). The very first start skips the history the account already
had; in a room the bot has just joined, only what was said from its invitation on is answered.

These marks, not the sync token, decide what is new: a sync that joins a room hands back the
room's last events, and after a kick and a new invitation those include what the bot has
already answered; and a restart syncs from the saved token, which is written only now and then.
A timeline is handled only after the room's last handled event and the bot's latest arrival.

Rooms change too (`matrix_membership`): a room everyone else has left, the bot leaves, after its
chat has heard of it as the bot's removal; a room upgraded to a new one (a tombstone), the bot
follows: it joins the new room (or waits for the invitation to it), its chat moves there
(`Incoming.moved_from`: a hub link, a direct chat's conversation), and the bot leaves the old one.

The crypto store (`matrix/` in the data folder) holds the device's secret keys, so it is the
bot's user's only: the folder 0700 and every file in it 0600, also under a permissive umask.

Trust policy for unverified devices (see the README, Matrix): the bot reads messages from, and
shares its room keys with, every device of the people in a room without interactive
verification. Who may use the bot is decided by invite codes and consent, not by device trust.
"""

from __future__ import annotations

import asyncio
import logging
import stat
import time
from collections.abc import Container
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from nio import (
    Api,
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    JoinError,
    JoinResponse,
    MatrixRoom,
    SyncError,
    SyncResponse,
    UploadFilterResponse,
)

from bot.channel import ChannelError, Dispatch
from bot.channels.matrix_checkpoint import Checkpoints
from bot.channels.matrix_events import (
    PLATFORM,
    chat_for,
    first_new_event,
    removal,
    server_of,
)
from bot.channels.matrix_inbox import Inbox
from bot.channels.matrix_membership import abandoned, replacement
from bot.channels.matrix_outbox import NETWORK_ERRORS, Outbox, Refused, backoff, is_transient
from bot.channels.matrix_session import SavedValues, log_in
from bot.messages import Attachment, ChatKind, ChatRef, Incoming, Reply
from bot.settings import Settings
from storage.db import Database
from storage.media import make_private_dirs

log = logging.getLogger(__name__)
# How long a typing notice lasts unless renewed (the dispatcher renews it every few seconds).
TYPING_MS = 6000

SYNC_TIMEOUT_MS = 30_000


def sync_filter(user_id: str, *, history: bool = True) -> dict[str, Any]:
    """What the bot's syncs ask for: the rooms' timelines and state, without the bot's own events.

    A busy room must never lose messages between two syncs: the default limit of 10 would, so
    up to 1000 events per room. The bot's own events are left out (`not_senders`): they are
    never answered, and without them the echo of every reply no longer wakes a sync of its own
    (the bot's own membership still arrives, in the rooms' state). Without `history` (the first
    sync of a new bot, which answers nothing) one event per room.
    """
    return {
        "room": {
            "timeline": {"limit": 1000 if history else 1, "not_senders": [user_id]},
            "state": {"lazy_load_members": False},
            "ephemeral": {"not_types": ["*"]},
            "account_data": {"not_types": ["*"]},
        },
        "presence": {"not_types": ["*"]},
    }


async def join_via(client: AsyncClient, room_id: str, server: str) -> JoinResponse | JoinError:
    """Join a room through `server`, a homeserver that is in it.

    nio's `join` names no server, and since room version 12 a room id names none either, so a
    homeserver that is not in the room yet would not know whom to ask. `via` is the parameter's
    name since Matrix 1.12, `server_name` before.
    """
    method, path = Api.join(client.access_token, room_id)
    path += "&" + urlencode({"via": server, "server_name": server})
    return await client._send(JoinResponse, method, path)


def keep_private(folder: Path) -> None:
    """Take group and other access off `folder` and everything in it: folders 0700, files 0600.

    nio creates its store's files under the process umask (0644 under the usual 022) and takes
    no mode, so they are tightened once it has made them; SQLite then creates its journals with
    the database file's mode, private too. The folder's own 0700 already keeps others out of
    them; this keeps the files private wherever they travel with their modes (a backup, a move).
    """
    for path in (folder, *folder.rglob("*")):
        with suppress(FileNotFoundError):  # a journal that SQLite has removed meanwhile
            info = path.lstat()
            if not stat.S_ISLNK(info.st_mode) and info.st_mode & 0o077:
                path.chmod(stat.S_IMODE(info.st_mode) & 0o700)


class MatrixChannel:
    """A Matrix account driven by the bot."""

    platform = PLATFORM

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.user_id = settings.matrix_user_id or ""
        own = server_of(self.user_id)
        self.allowed_servers = set(settings.matrix_allowed_servers or [own])
        self._saved = SavedValues(db, self.user_id)
        self.store = settings.data_dir / "matrix"  # nio's crypto store
        self._client: AsyncClient | None = None
        self._sync_task: asyncio.Task[None] | None = None
        self._checkpoints = Checkpoints(self._saved, lambda: self.outbox.take_offered())
        self._born_ms = 0
        self._outbox: Outbox | None = None
        self._inbox: Inbox | None = None
        self._filter: str = ""
        self._answered_invites: set[str] = set()
        # Rooms that replace rooms the bot is in, not joined yet: the move each announced.
        self._upgrades: dict[str, Incoming] = {}

    @property
    def client(self) -> AsyncClient:
        """The logged-in nio client."""
        if self._client is None:
            raise ChannelError("the Matrix channel has not been started")
        return self._client

    @property
    def outbox(self) -> Outbox:
        """Where replies go out and attachments come in."""
        if self._outbox is None:
            raise ChannelError("the Matrix channel has not been started")
        return self._outbox

    @property
    def inbox(self) -> Inbox:
        """Where new events wait their turn to be dispatched."""
        if self._inbox is None:
            raise ChannelError("the Matrix channel has not been started")
        return self._inbox

    async def start(self, dispatch: Dispatch) -> None:
        """Log in (or restore the saved login), sync once, and keep syncing in the background."""
        homeserver = self.settings.matrix_homeserver
        if not homeserver or not self.user_id.startswith("@") or ":" not in self.user_id:
            raise ChannelError("set DIARYBOT_MATRIX_HOMESERVER and DIARYBOT_MATRIX_USER_ID")
        await asyncio.to_thread(make_private_dirs, self.store)
        config = AsyncClientConfig(
            encryption_enabled=True,
            store_sync_tokens=False,  # ours are saved in the database, after handling
            max_timeouts=0,  # network errors are retried here, with backoff
        )
        self._client = AsyncClient(
            homeserver, self.user_id, store_path=str(self.store), config=config
        )
        try:
            offered = await self._checkpoints.load()
            self._outbox = Outbox(self._client, self._saved, offered)
            self._inbox = Inbox(self._client, self._outbox, dispatch)
            await self._log_in()
            self._filter = await self._upload_filter()
            self._born_ms = await self._first_sync_time()
            first = await self._sync(first=True)
        except NETWORK_ERRORS as exc:
            await self.client.close()
            raise ChannelError(f"cannot reach the Matrix homeserver {homeserver}: {exc}") from exc
        except BaseException:
            await self.client.close()
            raise
        if isinstance(first, SyncError):
            await self.client.close()
            raise ChannelError(f"the first Matrix sync failed: {first.message}")
        self._sync_task = asyncio.create_task(self._sync_loop())

    async def wait_closed(self) -> None:
        """Return when the sync loop ends: after `stop`, or with `ChannelError` if it failed."""
        if self._sync_task is not None:
            with suppress(asyncio.CancelledError):
                await self._sync_task

    async def stop(self) -> None:
        """Stop syncing, finish the messages already received, save the sync token, log off."""
        if self._sync_task is not None and not self._sync_task.done():
            self._sync_task.cancel()
            with suppress(asyncio.CancelledError, ChannelError):
                await self._sync_task
        if self._inbox is not None:
            await self._inbox.drain()
            await self._checkpoints.close()
        if self._client is not None:
            await self._client.close()

    async def send(self, chat: ChatRef, reply: Reply) -> list[str]:
        """Deliver a reply to a room the bot is in; returns the ids of the events it posted.

        For a reply with `edit` set, the edited event's id (see `Outbox.send`).

        Raises:
            ChannelError: the bot is not in the room, or the homeserver kept refusing.
        """
        room = self.client.rooms.get(chat.chat_id)
        if room is None:
            raise ChannelError(f"the bot is not in the Matrix room {chat.chat_id}")
        group = chat.kind == ChatKind.GROUP
        return await self.outbox.send(room, reply, group=group, thread=chat.thread)

    async def working(self, chat: ChatRef) -> None:
        """Show the bot typing in the room for a few seconds (until its reply, in Element)."""
        try:
            answer = await self.client.room_typing(chat.chat_id, True, timeout=TYPING_MS)
        except NETWORK_ERRORS as exc:  # only a courtesy: the work goes on without it
            log.info("matrix: no typing notice in %s: %s", chat.chat_id, exc)
            return
        if isinstance(answer, ErrorResponse):
            log.info("matrix: no typing notice in %s: %s", chat.chat_id, answer.message)

    async def download(self, attachment: Attachment) -> bytes:
        """Fetch (and decrypt) the file of an attachment that arrived in a Matrix room."""
        return await self.outbox.download(attachment)

    # The sync loop ------------------------------------------------------------------------

    async def _log_in(self) -> None:
        """Log in (see `log_in`); the crypto store nio has just loaded or created made private."""
        await log_in(self.client, self.settings, self._saved)
        await asyncio.to_thread(keep_private, self.store)

    async def _upload_filter(self) -> str:
        response = await self.client.upload_filter(**sync_filter(self.user_id))
        if not isinstance(response, UploadFilterResponse):
            raise ChannelError(f"the Matrix homeserver refused the sync filter: {response}")
        return response.filter_id

    async def _sync_loop(self) -> None:
        """Sync until cancelled; only a login that can no longer be renewed ends it."""
        failures = 0
        while True:
            try:
                response = await self._sync()
                if isinstance(response, SyncResponse):
                    failures = 0
                    continue
                if response.status_code == "M_UNKNOWN_TOKEN":
                    if not response.soft_logout:
                        # A new device needs a fresh client and crypto store: a restart.
                        raise ChannelError(
                            "the bot's Matrix session was signed out; start the bot again to "
                            "log in as a new device"
                        )
                    await self._log_in()
                    continue
                problem: object = response
            except ChannelError:
                raise
            except Exception as exc:  # a bot that goes silent is worse than one that retries
                problem = exc
            failures += 1
            log.warning("Matrix sync failed (%s); trying again", problem)
            await asyncio.sleep(backoff(failures))

    async def _sync(self, *, first: bool = False) -> SyncResponse | SyncError:
        """One sync; the first after a start brings every room's full state (nio keeps none)."""
        since = self._checkpoints.token if first else None
        fresh = first and since is None
        response = await self.client.sync(
            timeout=0 if first else SYNC_TIMEOUT_MS,
            sync_filter=sync_filter(self.user_id, history=False) if fresh else self._filter,
            since=since,
            full_state=first or None,
        )
        if isinstance(response, SyncResponse):
            await self._keep_keys()
            await self._answer_invites()
            self._schedule(response, warn_if_limited=not fresh)
            self.inbox.synced()
        return response

    async def _keep_keys(self) -> None:
        """What nio's sync_forever does between syncs for end-to-end encryption."""
        client = self.client
        if client.outgoing_to_device_messages:
            await client.send_to_device_messages()
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())

    async def _answer_invites(self) -> None:
        """Join rooms people on allowed homeservers invite the bot to; decline the others."""
        invited = self.client.invited_rooms
        self._answered_invites &= set(invited)
        for room_id, room in list(invited.items()):
            if room_id in self._answered_invites:
                continue
            inviter = room.inviter or ""
            allowed = self._allowed(inviter)
            answer = self.client.join(room_id) if allowed else self.client.room_leave(room_id)
            response = await answer
            if isinstance(response, ErrorResponse):
                log.warning("answering the invite to %s failed: %s", room_id, response)
                if is_transient(response):
                    continue  # tried again after the next sync
            elif not allowed:
                log.info("declined %s's invite: %s is not allowed", inviter, server_of(inviter))
            self._answered_invites.add(room_id)

    def _allowed(self, user_id: str) -> bool:
        """Whether someone with this user id may bring the bot into a room (by their homeserver)."""
        return "*" in self.allowed_servers or server_of(user_id) in self.allowed_servers

    def _schedule(self, response: SyncResponse, *, warn_if_limited: bool) -> None:
        """Start a task per new message, then save the sync token once they are all done.

        Besides, the rooms' changes: a chat moves to the room that replaces it first, before what
        is said there; the bot leaves a room after what was said there.
        """
        tasks: list[asyncio.Task[None]] = []
        handled: dict[str, str] = {}
        joined = response.rooms.join
        for room_id, info in joined.items():
            room = self.client.rooms.get(room_id)
            if room is None:
                continue
            moved = self._upgrades.pop(room_id, None)
            if moved is not None:  # the replacement of a room the bot is in, joined at last
                tasks.append(self._then_leave(moved))
            events = info.timeline.events
            start, anchored = first_new_event(
                [event.source for event in events],
                last_handled=self._checkpoints.last_handled.get(room_id),
                user_id=self.user_id,
            )
            # A newly joined room always comes "limited": it has a past, none of it new. A
            # replacement the bot joined uninvited has no landmark (its own join is filtered
            # out): all of it is new, none of it older than the upgrade.
            if info.timeline.limited and warn_if_limited and not anchored and moved is None:
                log.warning("room %s had more new events than one sync returns", room_id)
            for event in events[start:]:
                source = event.source
                # The bot's own replies; and, older than its very first sync, history.
                if source.get("sender") == self.user_id or not source.get("event_id"):
                    continue
                sent_at = source.get("origin_server_ts")
                if isinstance(sent_at, int) and sent_at >= self._born_ms:
                    tasks.append(self.inbox.put(room, event))
                    handled[room_id] = source["event_id"]
            tasks += self._room_changes(room, info, joined)
        for room_id, info in response.rooms.leave.items():
            room = self.client.rooms.get(room_id)  # nio keeps a room the bot has left
            if room is None:
                continue
            chat = chat_for(
                room_id, members=room.member_count, name=room.name, title=room.display_name
            )
            if chat.kind != ChatKind.GROUP:  # only a group can be a hub
                continue
            for event in info.timeline.events:
                taken_out = removal(event.source, self.user_id, chat)
                if taken_out is not None:  # a hub the bot was kicked from is unlinked
                    tasks.append(asyncio.create_task(self.inbox.dispatch(taken_out)))
        self._checkpoints.after(response.next_batch, tasks, handled)

    def _room_changes(
        self, room: MatrixRoom, info: Any, joined: Container[str]
    ) -> list[asyncio.Task[None]]:
        """Follow a room's upgrade, or leave the room if everyone else has (see the module).

        `info` is the room's part of the sync, `joined` every room in it the bot is in.
        """
        sources = [event.source for event in (*info.state, *info.timeline.events)]
        chat = chat_for(
            room.room_id, members=room.member_count, name=room.name, title=room.display_name
        )
        moved = replacement(sources, chat)
        if moved is not None and self._allowed(moved.sender.user_id):
            if moved.chat.chat_id in joined:  # in both rooms already (after a restart)
                return [self._then_leave(moved)]
            self._upgrades[moved.chat.chat_id] = moved
            return [asyncio.create_task(self._join_replacement(moved))]
        if room.replacement_room is not None:
            return []  # everyone may have moved on: the bot leaves once it has followed them
        alone = abandoned(
            sources,
            own=self.user_id,
            room_id=room.room_id,
            members=room.users,
            name=room.name,
            title=room.display_name,
        )
        return [] if alone is None else [self._then_leave(alone)]

    async def _join_replacement(self, moved: Incoming) -> None:
        """Join the room replacing `moved.moved_from`; the chat moves when a sync brings it.

        Asked through the homeserver of whoever upgraded the room, which is in it. A replacement
        open by invitation only refuses until the bot is invited (Element invites the old room's
        members when it upgrades one), and the invitation is answered as any other.
        """
        room_id = moved.chat.chat_id
        server = server_of(moved.sender.user_id)
        try:
            await self.outbox.request(
                f"joining {room_id}", lambda: join_via(self.client, room_id, server)
            )
        except Refused as exc:
            log.info("%s (it replaces %s); waiting for an invitation", exc, moved.moved_from)
        except ChannelError as exc:  # the old room's tombstone comes again after a restart
            log.warning("%s (it replaces %s)", exc, moved.moved_from)

    def _then_leave(self, msg: Incoming) -> asyncio.Task[None]:
        """Dispatch `msg`, then leave its room, or the room its chat moved from if it moved.

        After everything handed to the inbox for either room so far.
        """
        room_id = msg.moved_from or msg.chat.chat_id

        async def work() -> None:
            if msg.moved_from is not None and not await self._replaces(msg):
                return
            await self.inbox.dispatch(msg)
            try:
                await self.outbox.request(
                    f"leaving {room_id}", lambda: self.client.room_leave(room_id)
                )
            except ChannelError as exc:  # the room is found alone again after a restart
                log.warning("%s", exc)

        rooms = dict.fromkeys((msg.chat.chat_id, room_id))
        return self.inbox.then(rooms, work, f"leaving {room_id}")

    async def _replaces(self, moved: Incoming) -> bool:
        """Whether the room `moved` goes to says it was made from the old one (its creation).

        A tombstone may name any room; only a room whose `m.room.create` names the old room as
        its predecessor is its upgrade, so nobody can move a hub, or a conversation, elsewhere.
        """
        new_room, old_room = moved.chat.chat_id, moved.moved_from
        answer = await self.client.room_get_state_event(new_room, "m.room.create")
        content = getattr(answer, "content", None)
        predecessor = content.get("predecessor") if isinstance(content, dict) else None
        if isinstance(predecessor, dict) and predecessor.get("room_id") == old_room:
            return True
        log.warning("%s does not replace %s: its chat stays where it was", new_room, old_room)
        return False

    async def _first_sync_time(self) -> int:
        """When this bot account first synced (milliseconds), saved at the very first start."""
        saved = await self._saved.get("first_sync_at")
        if saved is None:
            saved = str(int(time.time() * 1000))
            await self._saved.set("first_sync_at", saved)
        return int(saved)
