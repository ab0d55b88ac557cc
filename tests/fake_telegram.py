"""A fake Telegram Bot API server on loopback, speaking real HTTP, driven by the tests.

`FakeTelegram` speaks real HTTP (aiohttp) on 127.0.0.1 and implements the part of the Bot API
the bot uses: getMe, getUpdates (long polling; updates below the offset are dropped, as the real
API does), sendMessage, sendPhoto, sendDocument, answerCallbackQuery, editMessageText, getFile
and file download, setMyCommands, setWebhook/deleteWebhook (with a webhook set, updates are
POSTed to it with the secret token header, and getUpdates answers 409 like Telegram). As on
Telegram, a long poll still waiting is cut off with 409 by a newer getUpdates ("terminated by
other getUpdates request") or by setWebhook: that is how a second process using the same token
shows. Tests inject updates as users (or any raw update body, parseable or not) and read what
the bot sent. `fail` makes the next calls answer 429 (with `parameters.retry_after`), another
4xx or 5xx, with the HTTP status equal to the error code, and `delay` adds simulated network
latency to every answer; `posted` timestamps each message the bot posts (for latency
benchmarks). editMessageText changes the posted message in place (text, buttons, `edit_date`),
so `message_at` (or any dict taken from `sent`) shows its current state, and `edits` lists the
edits made; like Telegram, it refuses an edit that changes neither text nor buttons with 400
"message is not modified". `tests/telegram_driver.py` chats with a bot through it; benchmarks
use both.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import SecretStr

from bot.settings import Settings

TOKEN = "123456:TEST-token"
BOT_ID = 123456
TERMINATED = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
JSON_FIELDS = {
    "reply_markup",
    "commands",
    "scope",
    "allowed_updates",
    "link_preview_options",
    "entities",
    "caption_entities",
}


@dataclass(frozen=True)
class User:
    """A Telegram user the test speaks as; their private chat has the same id."""

    id: int
    first_name: str
    language_code: str = "en"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": self.language_code,
        }

    @property
    def chat(self) -> dict[str, Any]:
        return {"id": self.id, "type": "private", "first_name": self.first_name}


def group(chat_id: int, title: str) -> dict[str, Any]:
    """A supergroup chat (Telegram gives groups negative ids)."""
    return {"id": -abs(chat_id), "type": "supergroup", "title": title}


@dataclass
class Failure:
    """Answer the next `times` calls of `method` (to `chat_id`, if given) with an error."""

    method: str
    status: int
    times: int
    retry_after: int | float = 1
    chat_id: int | None = None
    description: str | None = None


@dataclass
class FakeTelegram:
    """The fake Bot API server; use as `async with FakeTelegram() as fake:`."""

    token: str = TOKEN
    username: str = "cluster_diary_test_bot"
    delay: float = 0.0
    sent: list[dict[str, Any]] = field(default_factory=list)
    # (chat id, time.perf_counter()) of every message posted, in the order it arrived.
    posted: list[tuple[int, float]] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    commands: dict[str | None, list[tuple[str, str]]] = field(default_factory=dict)
    answered: list[str] = field(default_factory=list)
    # (chat id, message id) of every edit made, in order; refused ones are not counted.
    edits: list[tuple[int, int]] = field(default_factory=list)
    webhook: dict[str, Any] | None = None
    webhook_statuses: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.files: dict[str, tuple[str, bytes]] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self.allowed_updates: list[str] | None = None
        self.received: list[dict[str, Any]] = []  # the messages people sent, oldest first
        self.deleted_topics: set[int] = set()  # forum topics an admin deleted
        self.actions: list[tuple[int, str]] = []  # chat actions ("typing") by chat
        self.last_update_id = 0
        self._message_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._failures: list[Failure] = []
        self._changed = asyncio.Condition()
        self._closing = False
        self._revocations = 0
        self._polls = 0  # getUpdates calls so far: a newer one cuts off a waiting long poll
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def __aenter__(self) -> FakeTelegram:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing = True
        await self._notify()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def configure(self, settings: Settings, token: str | None = None, **more: Any) -> Settings:
        """`settings` pointed at this server (with another token, to test a refused one)."""
        return settings.model_copy(
            update={
                "telegram_token": SecretStr(token or self.token),
                "telegram_api_url": self.api_url,
                "telegram_file_url": f"http://127.0.0.1:{self.port}/file/bot",
                **more,
            }
        )

    # --- what tests do -------------------------------------------------------------------

    def fail(
        self,
        method: str,
        status: int = 429,
        *,
        times: int = 1,
        retry_after: int | float = 1,
        chat_id: int | None = None,
        description: str | None = None,
    ) -> None:
        """Make the next `times` calls of `method` fail with HTTP `status` (and `description`).

        `method` "file" stands for downloads from the file server.
        """
        self._failures.append(Failure(method, status, times, retry_after, chat_id, description))

    async def request(self, method: str, **params: Any) -> dict[str, Any]:
        """Call this server's Bot API over HTTP as another process holding the token would.

        Returns the decoded answer, an error included.
        """
        url = f"{self.api_url}{self.token}/{method}"
        async with aiohttp.ClientSession() as session, session.post(url, json=params) as answer:
            return await answer.json()

    @property
    def pending(self) -> list[int]:
        """The ids of the updates not confirmed yet (Telegram would send them again)."""
        return [u["update_id"] for u in self._updates]

    async def revoke(self) -> None:
        """Revoke the token, as /revoke in BotFather does: every call now answers 401.

        A long poll waiting at that moment returns at once, so the bot notices without delay.
        """
        self.token = f"{self.token}-revoked"
        self._revocations += 1
        await self._notify()

    def add_file(self, data: bytes, path: str) -> dict[str, Any]:
        """Keep `data` for download; returns the file fields a message carries."""
        number = next(self._file_ids)
        file_id = f"file-{number}"
        self.files[file_id] = (f"{number}/{path}", data)
        return {"file_id": file_id, "file_unique_id": f"u{number}", "file_size": len(data)}

    async def message(
        self, user: User, text: str = "", *, chat: dict[str, Any] | None = None, **content: Any
    ) -> dict[str, Any]:
        """Inject a message from `user` (in their private chat unless `chat` is given).

        `content` holds raw Bot API message fields (`photo=[...]`, `sticker={...}`, ...). A
        text starting with "/" gets its `bot_command` entity, as Telegram adds one.
        """
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat or user.chat,
            "from": user.as_json(),
            **content,
        }
        if text:
            message["text"] = text
            if text.startswith("/"):
                length = len(text.split(maxsplit=1)[0])
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        self.received.append(message)
        await self.inject({"message": message})
        return message

    async def press(self, user: User, label: str, *, chat: dict[str, Any] | None = None) -> None:
        """Press the button labelled `label` under the bot's latest message offering it."""
        chat_id = (chat or user.chat)["id"]
        for message in reversed(self.sent):
            if message["chat"]["id"] != chat_id:
                continue
            for row in message.get("reply_markup", {}).get("inline_keyboard", []):
                for button in row:
                    if button["text"] == label:
                        await self.inject(
                            {
                                "callback_query": {
                                    "id": f"q{next(self._message_ids)}",
                                    "from": user.as_json(),
                                    "message": {k: v for k, v in message.items() if k != "bytes"},
                                    "chat_instance": str(chat_id),
                                    "data": button["callback_data"],
                                }
                            }
                        )
                        return
        raise AssertionError(f"no button {label!r} has been offered in chat {chat_id}")

    async def inject(self, body: dict[str, Any]) -> int:
        """Queue an update (or POST it to the webhook, when one is set); returns its id."""
        update = {"update_id": next(self._update_ids), **body}
        self.last_update_id = update["update_id"]
        if self.webhook is None:
            self._updates.append(update)
            await self._notify()
            return update["update_id"]
        headers = {}
        if self.webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.webhook["url"], json=update, headers=headers) as answer,
        ):
            self.webhook_statuses.append(answer.status)
        return update["update_id"]

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        """Everything the bot posted in one chat, oldest first."""
        return [m for m in self.sent if m["chat"]["id"] == chat_id]

    def message_at(self, chat_id: int, message_id: int | str) -> dict[str, Any]:
        """A message the bot posted, as it is now (edits applied): `text`, `reply_markup`, ...

        `message_id` may be given as `Channel.send` returned it (a string).
        """
        found = self._find(chat_id, int(message_id))
        if found is None:
            raise AssertionError(f"no message {message_id} was posted in chat {chat_id}")
        return found

    async def wait_until(self, condition: Callable[[], bool], within: float = 60.0) -> None:
        """Wait until `condition()` holds; it is checked after every call the bot makes."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(condition)

    # --- the Bot API ---------------------------------------------------------------------

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params, files = await _read_params(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        failure = self._failure(method, params)
        if failure is not None:
            return failure
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        self.calls.append((method, params))
        try:
            result = await handler(params, files)
        except _ApiError as exc:
            return _error(exc.status, exc.description)
        finally:
            await self._notify()
        return web.json_response({"ok": True, "result": result})

    def _failure(self, method: str, params: dict[str, Any]) -> web.Response | None:
        for failure in self._failures:
            if failure.method != method or failure.times <= 0:
                continue
            if failure.chat_id is not None and int(params.get("chat_id", 0)) != failure.chat_id:
                continue
            failure.times -= 1
            if failure.status == 429:
                description = f"Too Many Requests: retry after {failure.retry_after}"
                return _error(429, description, {"retry_after": failure.retry_after})
            default = "Bad Gateway" if failure.status == 502 else "Error"
            return _error(failure.status, failure.description or default)
        return None

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        failure = self._failure("file", {})  # fail("file", 404): the download link is gone
        if failure is not None:
            return failure
        wanted = request.match_info["path"]
        for path, data in self.files.values():
            if path == wanted:
                return web.Response(body=data)
        return web.Response(status=404)

    async def _m_getMe(self, params: dict, files: dict) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Cluster Diary",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_getUpdates(self, params: dict, files: dict) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset") or 0)
        self._polls += 1
        poll = self._polls
        if params.get("allowed_updates") is not None:  # kept for later calls, as on the server
            self.allowed_updates = list(params["allowed_updates"])
        # Confirmed updates are forgotten for good, as on the real server; so are those of a
        # kind the bot did not ask for.
        self._updates = [u for u in self._updates if u["update_id"] >= offset and self._wanted(u)]
        await self._notify()  # a long poll still waiting is cut off (below), tests may look
        timeout = float(params.get("timeout") or 0)
        revocations = self._revocations
        if not self._updates and timeout > 0 and not self._closing:
            async with self._changed:
                try:
                    async with asyncio.timeout(timeout):
                        await self._changed.wait_for(
                            lambda: (
                                self._updates
                                or self._closing
                                or self._revocations != revocations
                                or self._polls != poll
                                or self.webhook is not None
                            )
                        )
                except TimeoutError:
                    pass
            if self.webhook is not None:
                raise _ApiError(409, "Conflict: terminated by setWebhook request")
            if self._polls != poll:
                raise _ApiError(409, TERMINATED)
        return self._updates[: int(params.get("limit") or 100)]

    def _wanted(self, update: dict[str, Any]) -> bool:
        """Whether the bot asked for updates of this kind (all but a few when it never said)."""
        kind = next(k for k in update if k != "update_id")
        if self.allowed_updates is None:
            return kind not in ("chat_member", "message_reaction", "message_reaction_count")
        return kind in self.allowed_updates

    async def _m_sendChatAction(self, params: dict, files: dict) -> bool:
        self.actions.append((int(params["chat_id"]), params["action"]))
        return True

    async def _m_setWebhook(self, params: dict, files: dict) -> bool:
        self.webhook = {"url": params["url"], "secret_token": params.get("secret_token")}
        return True

    async def _m_deleteWebhook(self, params: dict, files: dict) -> bool:
        self.webhook = None
        if str(params.get("drop_pending_updates")).lower() == "true":
            self._updates.clear()
        return True

    async def _m_setMyCommands(self, params: dict, files: dict) -> bool:
        pairs = [(c["command"], c["description"]) for c in params["commands"]]
        self.commands[params.get("language_code")] = pairs
        return True

    async def _m_sendMessage(self, params: dict, files: dict) -> dict[str, Any]:
        return self._post(params, text=params["text"])

    async def _m_sendPhoto(self, params: dict, files: dict) -> dict[str, Any]:
        stored = self.add_file(files["photo"], "photo.jpg")
        photo = [{**stored, "width": 640, "height": 480}]
        return self._post(params, photo=photo, bytes=files["photo"])

    async def _m_sendDocument(self, params: dict, files: dict) -> dict[str, Any]:
        data = files["document"]
        document = {**self.add_file(data, "document"), "file_name": params.get("_filename")}
        return self._post(params, document=document, bytes=data)

    async def _m_answerCallbackQuery(self, params: dict, files: dict) -> bool:
        self.answered.append(params["callback_query_id"])
        return True

    async def _m_editMessageText(self, params: dict, files: dict) -> dict[str, Any]:
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        message = self._find(chat_id, message_id)
        if message is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        if "text" not in message:  # a photo or document: only its caption could be edited
            raise _ApiError(400, "Bad Request: there is no text in the message to edit")
        if not params.get("text"):
            raise _ApiError(400, "Bad Request: message text is empty")
        # Telegram drops the keyboard of a message whose edit does not repeat it.
        markup = params.get("reply_markup")
        if params["text"] == message["text"] and markup == message.get("reply_markup"):
            raise _ApiError(400, NOT_MODIFIED)
        # Changed in place, so a dict a test took from `sent` shows the message as it is now.
        message["text"] = params["text"]
        message.pop("reply_markup", None)
        if markup is not None:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())
        self.edits.append((chat_id, message_id))
        return {k: v for k, v in message.items() if k != "bytes"}

    async def _m_getFile(self, params: dict, files: dict) -> dict[str, Any]:
        file_id = params["file_id"]
        if file_id not in self.files:
            raise _ApiError(400, "Bad Request: invalid file_id")
        path, data = self.files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": "u",
            "file_size": len(data),
            "file_path": path,
        }

    def _find(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        for message in self.sent:
            if message["chat"]["id"] == chat_id and message["message_id"] == message_id:
                return message
        return None

    def _post(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        if int(params.get("message_thread_id") or 0) in self.deleted_topics:
            raise _ApiError(400, "Bad Request: message thread not found")
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Cluster Diary"},
            **content,
        }
        if params.get("caption"):
            message["caption"] = params["caption"]
        if params.get("message_thread_id"):  # posted in a forum topic, as Telegram marks it
            message["message_thread_id"] = int(params["message_thread_id"])
            message["is_topic_message"] = True
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        self.sent.append(message)
        self.posted.append((chat_id, time.perf_counter()))
        # The bot gets the message back without the bytes the test keeps for itself.
        return {k: v for k, v in message.items() if k != "bytes"}


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _error(status: int, description: str, parameters: dict | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The call's parameters (PTB sends a form, or multipart when uploading) and its files."""
    if request.content_type == "application/json":
        return await request.json(), {}
    params: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    for name, value in (await request.post()).items():
        if isinstance(value, web.FileField):
            files[name] = value.file.read()
            params["_filename"] = value.filename
        else:
            params[name] = json.loads(value) if name in JSON_FIELDS else value
    return params, files
