"""Starting the Telegram channel: webhook mode over HTTP, and a refused token in `diarybot run`."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
from pydantic import SecretStr

from bot import cli
from bot.settings import Settings
from tests.fake_telegram import FakeTelegram, User
from tests.telegram_driver import telegram_bot, texts


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_webhook_mode_receives_updates_over_http(settings: Settings) -> None:
    port = free_port()
    hook = f"http://127.0.0.1:{port}/telegram-hook"
    webhook = {
        "telegram_webhook_url": hook,
        "telegram_webhook_listen": f"127.0.0.1:{port}",
        "telegram_webhook_secret": SecretStr("s3cret-token"),
    }
    async with (
        FakeTelegram() as fake,
        telegram_bot(settings.model_copy(update=webhook), fake) as bot,
    ):
        assert fake.webhook == {"url": hook, "secret_token": "s3cret-token"}
        said = await bot.chat.say(User(1001, "Ana"), "/help")
        assert "/start" in texts(said)
        assert fake.webhook_statuses == [200]
        assert "getUpdates" not in {method for method, _ in fake.calls}

        # A request without the secret is turned away and never reaches the bot.
        async with aiohttp.ClientSession() as session:
            update = {"update_id": 99, "message": {"message_id": 1, "date": 0, "text": "hi"}}
            async with session.post(hook, json=update) as answer:
                assert answer.status == 403


async def test_run_with_a_refused_token_exits_with_one_line(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeTelegram() as fake:
        configured = fake.configure(settings, token="654321:revoked")
        for name in ("database_url", "data_dir", "telegram_api_url", "telegram_file_url"):
            monkeypatch.setenv(f"DIARYBOT_{name.upper()}", str(getattr(configured, name)))
        monkeypatch.setenv("DIARYBOT_TELEGRAM_TOKEN", "654321:revoked")
        # `main` runs its own event loop, so it runs in a thread while the fake serves here.
        status = await asyncio.to_thread(cli.main, ["run"])
    assert status == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("diarybot: error: Telegram refused the bot token")
