"""The Bot API client: PTB's `Bot` with two raw-JSON calls, over aiohttp instead of httpx.

`RawBot` fetches updates as Telegram sends them, so the poller can skip those it has seen before
anything is built, and sends text without building the `Message` Telegram answers with (only its
`message_id` is read, for `Channel.send` to return).

Every Bot API call goes through a `telegram.request.BaseRequest`; PTB's default is
`HTTPXRequest`. `AiohttpRequest` is a drop-in `BaseRequest` (PTB keeps building the calls,
reading the answers and turning errors into `TelegramError`s), only the HTTP underneath is
aiohttp's, which the Matrix channel (matrix-nio) and the tests' fake Bot API server use already.

Why, in numbers (`sendMessage` with an inline keyboard against `tests/fake_telegram.py` in another
process, CPU of the calling process per call, min / median / max of interleaved runs of 1,500
calls on this 2-core machine; asyncio's loop at load 2.5-3.9, uvloop's at load 0.8):

| transport, loop | one call at a time | 20 at once |
|---|---|---|
| httpx (PTB's default), asyncio | 0.95 / 1.06 / 1.18 ms | 1.57 / 1.76 / 1.80 ms |
| aiohttp, asyncio | 0.35 / 0.37 / 0.40 ms | 0.28 / 0.29 / 0.33 ms |
| httpx, uvloop | 1.09 / 1.15 / 1.22 ms | 1.66 / 1.67 / 1.69 ms |
| aiohttp, uvloop | 0.38 / 0.40 / 0.42 ms | 0.31 / 0.33 / 0.35 ms |
| aiohttp, uvloop, `send_text` (no `Message`) | 0.26 / 0.26 / 0.26 ms | 0.22 / 0.22 / 0.23 ms |

A diary message cost about 5-6 ms of CPU end to end, and each one is a share of a getUpdates
plus at least one send: httpx was a quarter of it. The price is aiohttp's import (about 8 MiB
and a few tens of milliseconds at start).

Timeouts keep PTB's meaning: `pool` waiting for a free connection plus `connect` establishing
one (aiohttp's `connect`), `connect` alone (`sock_connect`), `read` for the answer
(`sock_read`); aiohttp has no write timeout of its own, so the call as a whole is bounded by
the sum of all four. Timeouts raise `TimedOut`, other transport failures `NetworkError`, as
with httpx. Each request is logged at DEBUG with its URL, which carries the bot token: the CLI's
log filter (`bot.logs`) cuts it out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, TypeAlias

import aiohttp
from telegram import Bot, TelegramObject
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData

log = logging.getLogger(__name__)

JSON = dict[str, Any]
# A timeout argument: seconds, None (no limit), or PTB's marker for "not given".
Timeout: TypeAlias = float | object | None
_NOT_GIVEN = type(BaseRequest.DEFAULT_NONE)  # PTB's DefaultValue, without its private module


class AiohttpRequest(BaseRequest):
    """A `BaseRequest` over one aiohttp session with at most `connections` connections."""

    __slots__ = ("_connect", "_connections", "_media_write", "_pool", "_read", "_session", "_write")

    def __init__(
        self,
        *,
        connections: int = 1,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._connections = connections
        self._read = read_timeout
        self._write = write_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """The read timeout used when a call does not name one."""
        return self._read

    async def initialize(self) -> None:
        """Open the session (again, after a shutdown)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                headers={"User-Agent": self.USER_AGENT},
                timeout=aiohttp.ClientTimeout(total=None),
            )

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Timeout = BaseRequest.DEFAULT_NONE,
        write_timeout: Timeout = BaseRequest.DEFAULT_NONE,
        connect_timeout: Timeout = BaseRequest.DEFAULT_NONE,
        pool_timeout: Timeout = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Make one HTTP request; its status and body (PTB reads the Bot API's answer).

        Raises:
            TimedOut: a timeout passed (waiting for a connection, connecting, or the answer).
            NetworkError: the request failed otherwise (refused, reset, bad answer).
        """
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = request_data.multipart_data if request_data else None
        fields = request_data.json_parameters if request_data else None
        data: aiohttp.FormData | dict[str, str] | None = fields
        if files:
            form = aiohttp.FormData()
            for name, value in (fields or {}).items():
                form.add_field(name, value)
            for name, (filename, content, mime) in files.items():
                form.add_field(name, content, filename=filename, content_type=mime)
            data = form
        read = _chosen(read_timeout, self._read)
        write = _chosen(write_timeout, self._media_write if files else self._write)
        connect = _chosen(connect_timeout, self._connect)
        pool = _chosen(pool_timeout, self._pool)
        parts = (read, write, connect, pool)
        timeout = aiohttp.ClientTimeout(
            total=None if None in parts else sum(p for p in parts if p is not None),
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=read,
        )
        try:
            async with self._session.request(method, url, data=data, timeout=timeout) as answer:
                body = await answer.read()
        except TimeoutError as exc:  # aiohttp's timeouts are TimeoutErrors
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc
        if log.isEnabledFor(logging.DEBUG):
            log.debug('HTTP Request: %s %s "%s"', method, url, answer.status)
        return answer.status, body


def _chosen(value: Timeout, default: float | None) -> float | None:
    """A call's timeout, or the default when the call did not name one."""
    if isinstance(value, _NOT_GIVEN):
        return default
    assert value is None or isinstance(value, int | float)
    return value


class RawBot(Bot):
    """PTB's `Bot`, which can also fetch updates, and send text, without building PTB objects.

    A subclass, because PTB offers no public way that fits: `get_updates` builds the whole
    batch, and `do_api_request("getUpdates")` warns on every call (`Bot` has the method) and
    reports a refused token as `EndPointNotFound`. So this does what `get_updates` does up to
    the building, through the protected `_post` every `Bot` method goes through; the polling
    tests pin it against PTB upgrades. `send_text` does the same for the hottest call of all,
    sendMessage: `send_message` builds PTB's `Message` from every answer, of which only the
    `message_id` is read here (4 % of the bot's CPU in a burst of diary messages, 0.1-0.2 ms a
    reply).
    """

    __slots__ = ()

    async def get_updates_json(
        self,
        *,
        offset: int | None,
        wait: float,
        allowed_updates: Sequence[str],
        limit: int | None = None,
    ) -> list[JSON]:
        """getUpdates, answered as raw JSON: what `Bot.get_updates` does before it builds.

        `wait` is the long poll's `timeout`: how long Telegram may hold the call when it has
        nothing to send. The call goes through the bot's getUpdates connection with
        `get_updates`'s read timeout (the request's own plus `wait`), and raises the same
        `TelegramError`s.
        """
        data: JSON = {
            "offset": offset,
            "timeout": wait,
            "limit": limit,
            "allowed_updates": list(allowed_updates),
        }
        read_timeout = (self._request[0].read_timeout or 0) + wait  # [0]: getUpdates' own
        result = await self._post("getUpdates", data, read_timeout=read_timeout)
        if not isinstance(result, list):
            raise TelegramError(f"getUpdates answered {type(result).__name__}, not a list")
        return result

    async def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        markup: TelegramObject | None,
        preview: TelegramObject,
        topic: int | None = None,
    ) -> int:
        """Send plain text as `send_message` does, without building the `Message` answered.

        `topic` is the forum topic to post in (`message_thread_id`). Returns the posted
        message's `message_id`, read straight from the answer's JSON.

        Raises:
            TelegramError: as `send_message` does, or when the answer carries no message id.
        """
        data: JSON = {"chat_id": chat_id, "text": text, "link_preview_options": preview}
        if markup is not None:
            data["reply_markup"] = markup
        if topic is not None:
            data["message_thread_id"] = topic
        result = await self._post("sendMessage", data)
        if not isinstance(result, dict) or not isinstance(result.get("message_id"), int):
            raise TelegramError("sendMessage answered without a message_id")
        return result["message_id"]
