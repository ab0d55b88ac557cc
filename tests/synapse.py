"""A real Synapse homeserver on loopback for the Matrix tests, and helpers to register users.

Synapse lives in its own virtual environment (`make test` creates `.venv-synapse`); the variable
`DIARYBOT_TEST_SYNAPSE` names its Python. Without it the Matrix tests are skipped on a developer
machine but fail under CI (`CI` set), so a CI run can never pass by skipping them.

The generated configuration keeps Synapse small and quick: SQLite, `server_name` localhost, one
client listener on 127.0.0.1 and no federation listener, no trusted key servers, no URL previews,
open registration without verification, cheap password hashing, and rate limits far above what
the tests produce (the adapter's own handling of `M_LIMIT_EXCEEDED` is tested separately).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit
from uuid import uuid4

import pytest
from nio import (
    Api,
    AsyncClient,
    AsyncClientConfig,
    Event,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    RoomCreateResponse,
    RoomMessage,
    RoomRedactResponse,
    RoomSendResponse,
    TypingNoticeEvent,
    UploadResponse,
)
from nio.api import RelationshipType

SERVER_NAME = "localhost"
PASSWORD = "secret-password"
ENCRYPTION_STATE = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}
# Bounds, not durations: every wait ends as soon as what it waits for happens. They are generous
# because CI shares a busy machine, where a sync or a start can take many times its usual second.
START_TIMEOUT_S = 120.0
# How long a test waits for the bot's answer (or any other event) before failing.
WAIT_S = 60.0
# Generous enough never to throttle a test, including the 200-message burst.
_FAST = {"per_second": 10000, "burst_count": 10000}


@dataclass(frozen=True)
class Synapse:
    """A running homeserver: its base URL, where its files and log are, and its process id."""

    url: str
    directory: Path
    log: Path
    shared_secret: str
    pid: int = 0

    def register(self, localpart: str, password: str = PASSWORD) -> str:
        """Create an account (no device is logged in) and return its user id."""
        self._post(
            "/_matrix/client/v3/register",
            {
                "username": localpart,
                "password": password,
                "auth": {"type": "m.login.dummy"},
                "inhibit_login": True,
            },
        )
        return f"@{localpart}:{SERVER_NAME}"

    def _post(self, path: str, body: dict[str, object]) -> dict[str, object]:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=WAIT_S) as response:
            return json.loads(response.read())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _config(directory: Path, port: int, shared_secret: str) -> str:
    config = {
        "server_name": SERVER_NAME,
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "pid_file": str(directory / "homeserver.pid"),
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": {"name": "sqlite3", "args": {"database": str(directory / "homeserver.db")}},
        "media_store_path": str(directory / "media"),
        "signing_key_path": str(directory / "signing.key"),
        "report_stats": False,
        "enable_metrics": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "federation_domain_whitelist": [],
        "url_preview_enabled": False,
        "enable_registration": True,
        "enable_registration_without_verification": True,
        "registration_shared_secret": shared_secret,
        "macaroon_secret_key": secrets.token_hex(16),
        "form_secret": secrets.token_hex(16),
        "bcrypt_rounds": 4,
        "presence": {"enabled": False},
        "rc_message": _FAST,
        "rc_registration": _FAST,
        "rc_login": {"address": _FAST, "account": _FAST, "failed_attempts": _FAST},
        "rc_joins": {"local": _FAST, "remote": _FAST},
        "rc_joins_per_room": _FAST,
        "rc_invites": {"per_room": _FAST, "per_user": _FAST, "per_issuer": _FAST},
        "rc_key_requests": _FAST,
        "rc_media_create": _FAST,
        "rc_room_creation": _FAST,
        "rc_3pid_validation": _FAST,
        "rc_admin_redaction": _FAST,
    }
    # JSON is valid YAML, which spares the test environment a YAML library.
    return json.dumps(config, indent=2)


def _signing_key() -> str:
    # Synapse's key file format: algorithm, key version, unpadded base64 of the 32-byte seed.
    seed = base64.b64encode(os.urandom(32)).decode().rstrip("=")
    return f"ed25519 a_test {seed}\n"


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Synapse exited at start:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"Synapse did not answer within {START_TIMEOUT_S:.0f} s")


def synapse_python() -> str:
    """The Python of the Synapse environment; skips (or fails under CI) when it is not set."""
    python = os.environ.get("DIARYBOT_TEST_SYNAPSE", "")
    if python and Path(python).is_file():
        return python
    message = (
        "DIARYBOT_TEST_SYNAPSE does not name Synapse's Python "
        "(run `make test`, which creates .venv-synapse)"
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def running_synapse(python: str, directory: Path) -> Iterator[Synapse]:
    """A freshly configured Synapse in `directory` on a free loopback port, stopped at the end.

    `python` is the Python of the Synapse environment (`synapse_python()` for the tests).
    """
    port = _free_port()
    shared_secret = secrets.token_hex(16)
    config = directory / "homeserver.yaml"
    config.write_text(_config(directory, port, shared_secret))
    (directory / "signing.key").write_text(_signing_key())
    log = directory / "synapse.log"
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [python, "-m", "synapse.app.homeserver", "--config-path", str(config)],
            cwd=directory,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(url, process, log)
        yield Synapse(
            url=url, directory=directory, log=log, shared_secret=shared_secret, pid=process.pid
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    """A freshly configured Synapse on a free loopback port, stopped after the module's tests."""
    python = synapse_python()
    with running_synapse(python, tmp_path_factory.mktemp("synapse")) as server:
        yield server


class Teacher:
    """A person on Matrix: a real nio client (with encryption) that syncs in the background.

    Messages from others arrive in one queue per room; `until` reads them in order.
    """

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self.user_id = client.user_id
        self._inbox: dict[str, asyncio.Queue[RoomMessage]] = defaultdict(asyncio.Queue)
        self._task: asyncio.Task[None] | None = None
        # Who has been seen typing in each room (Matrix typing notices, as Element shows them).
        self.typing: defaultdict[str, set[str]] = defaultdict(set)

    @classmethod
    async def create(cls, server: Synapse, localpart: str, store: Path) -> Teacher:
        """Register `localpart`, log in with a fresh encrypted device and start syncing."""
        user_id = server.register(localpart)
        await asyncio.to_thread(store.mkdir, parents=True, exist_ok=True)
        config = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False)
        client = AsyncClient(server.url, user_id, store_path=str(store), config=config)
        login = await client.login(PASSWORD, device_name=localpart)
        assert isinstance(login, LoginResponse), login
        teacher = cls(client)
        client.add_event_callback(teacher._received, RoomMessage)
        client.add_ephemeral_callback(teacher._typing, TypingNoticeEvent)
        teacher._task = asyncio.create_task(client.sync_forever(timeout=1000, full_state=True))
        async with asyncio.timeout(WAIT_S):
            await teacher.client.synced.wait()
        return teacher

    async def close(self) -> None:
        """Stop syncing and log the client off the network."""
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        await self.client.close()

    async def _typing(self, room: MatrixRoom, event: TypingNoticeEvent) -> None:
        self.typing[room.room_id].update(event.users)

    async def _received(self, room: MatrixRoom, event: RoomMessage) -> None:
        if event.sender != self.user_id:
            self._inbox[room.room_id].put_nowait(event)

    async def room_with(
        self, bot: str, *, encrypted: bool = False, name: str | None = None, direct: bool = True
    ) -> str:
        """Create a room, invite the bot, and return once the bot has joined."""
        state = [ENCRYPTION_STATE] if encrypted else []
        created = await self.client.room_create(
            name=name, is_direct=direct, invite=[bot], initial_state=state
        )
        assert isinstance(created, RoomCreateResponse), created
        await self.wait_for(lambda: self.member(created.room_id, bot) == "join")
        return created.room_id

    def member(self, room_id: str, user_id: str) -> str | None:
        """`join`, `invite` or None: `user_id`'s membership in the room as this client sees it."""
        room = self.client.rooms.get(room_id)
        user = room.users.get(user_id) if room else None
        if user is None:
            return None
        return "invite" if user.invited else "join"

    def knows_device(self, user_id: str, device_id: str) -> bool:
        """Whether this client has the keys of `user_id`'s device (so it encrypts for it)."""
        return any(d.id == device_id for d in self.client.device_store.active_user_devices(user_id))

    async def wait_for(self, condition: Callable[[], bool]) -> None:
        """Wait until `condition()` holds (checked after each sync)."""
        async with asyncio.timeout(WAIT_S):
            while not condition():
                await self.client.synced.wait()

    async def say(self, room_id: str, text: str) -> str:
        """Send a text message; returns its event id."""
        return await self.send(room_id, {"msgtype": "m.text", "body": text})

    async def send(self, room_id: str, content: dict[str, object]) -> str:
        """Send a message content (encrypted in an encrypted room); returns its event id.

        Waits until this client's sync knows the room: nio refuses to send to a room it has not
        seen yet (as right after creating it).
        """
        await self.wait_for(lambda: room_id in self.client.rooms)
        response = await self.client.room_send(
            room_id, "m.room.message", content, ignore_unverified_devices=True
        )
        assert isinstance(response, RoomSendResponse), response
        return response.event_id

    async def send_file(
        self, room_id: str, data: bytes, *, msgtype: str, filename: str, mime: str, **extra: object
    ) -> str:
        """Upload a file (encrypted in an encrypted room) and send it as `msgtype`."""
        encrypted = self.client.rooms[room_id].encrypted
        uploaded, keys = await self.client.upload(
            lambda *_: data,
            content_type=mime,
            filename=filename,
            encrypt=encrypted,
            filesize=len(data),
        )
        assert isinstance(uploaded, UploadResponse), uploaded
        content: dict[str, object] = {
            "msgtype": msgtype,
            "body": filename,
            "info": {"mimetype": mime, "size": len(data)},
            **extra,
        }
        if encrypted:
            content["file"] = {"url": uploaded.content_uri, **(keys or {})}
        else:
            content["url"] = uploaded.content_uri
        return await self.send(room_id, content)

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        """React to `event_id` with `key`; returns the reaction's event id.

        In an encrypted room the reaction is encrypted, with its relation left in the clear, as
        Element sends it: nio's `room_send` would send a reaction unencrypted even there.
        """
        await self.wait_for(lambda: room_id in self.client.rooms)
        client = self.client
        content: dict[str, Any] = {
            "m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}
        }
        if not client.rooms[room_id].encrypted:
            response = await client.room_send(room_id, "m.reaction", content)
            assert isinstance(response, RoomSendResponse), response
            return response.event_id
        # What nio's room_send does before it encrypts.
        if not client.rooms[room_id].members_synced:
            await client.joined_members(room_id)
        if client.should_query_keys:
            await client.keys_query()
        if client.olm is not None and client.olm.should_share_group_session(room_id):
            await client.share_group_session(room_id, ignore_unverified_devices=True)
        event_type, encrypted = client.encrypt(room_id, "m.reaction", content)
        assert encrypted["m.relates_to"] == content["m.relates_to"]  # in the clear
        method, path, data = Api.room_send("", room_id, event_type, encrypted, uuid4())
        return (await self._raw(method, path, data))["event_id"]

    async def redact(self, room_id: str, event_id: str) -> str:
        """Delete (redact) an event, as Element's "Remove" does; returns the redaction's id."""
        response = await self.client.room_redact(room_id, event_id)
        assert isinstance(response, RoomRedactResponse), response
        return response.event_id

    async def upgrade(self, room_id: str, version: str = "12") -> str:
        """Upgrade a room this person administers, as Element does; returns the new room's id.

        The old room gets a tombstone naming the new one; nobody is invited to the new room.
        """
        path = f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/upgrade"
        answer = await self._raw("POST", path, json.dumps({"new_version": version}))
        return answer["replacement_room"]

    async def read_event(self, room_id: str, event_id: str) -> dict[str, Any]:
        """An event as the homeserver stores it (still encrypted in an encrypted room)."""
        return await self._raw(*Api.room_get_event("", room_id, event_id))

    async def edits_of(self, room_id: str, event_id: str) -> list[dict[str, Any]]:
        """The `m.replace` edits of an event, as the homeserver relates them to it (raw)."""
        method, path = Api.room_get_event_relations(
            "", room_id, event_id, RelationshipType.replacement
        )
        return (await self._raw(method, path))["chunk"]

    async def _raw(self, method: str, path: str, data: str | None = None) -> dict[str, Any]:
        """A client-server API request (`path` from `nio.Api`) and its answer as it is: nio's
        own calls would encrypt or decrypt on the way. The token goes in the header alone, as
        Synapse refuses one in the query string as well."""
        token = self.client.access_token
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        query = [(k, v) for k, v in parse_qsl(urlsplit(path).query) if k != "access_token"]
        path = urlsplit(path)._replace(query=urlencode(query)).geturl()
        answer = await self.client.send(method, path, data, headers=headers)
        assert answer.status == 200, await answer.text()
        return await answer.json()

    def decrypted(self, source: dict[str, Any]) -> dict[str, Any]:
        """An event read raw from the homeserver, decrypted with this client's room keys."""
        event = Event.parse_event(source)
        if isinstance(event, MegolmEvent):
            return self.client.decrypt_event(event).source
        return source

    async def next(self, room_id: str) -> RoomMessage:
        """The next message someone else sent in the room."""
        return await asyncio.wait_for(self._inbox[room_id].get(), WAIT_S)

    async def until(self, room_id: str, text: str) -> list[RoomMessage]:
        """Messages from others up to and including the first whose body contains `text`."""
        seen: list[RoomMessage] = []
        async with asyncio.timeout(WAIT_S):
            while not seen or text not in seen[-1].body:
                seen.append(await self._inbox[room_id].get())
        return seen

    def pending(self, room_id: str) -> int:
        """How many received messages have not been read yet."""
        return self._inbox[room_id].qsize()
