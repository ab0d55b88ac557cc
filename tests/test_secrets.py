"""No token or password in anything the bot prints or logs, at any level (DEBUG included)."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from bot.logs import REDACTED, RedactingFilter, Redactor, logging_to_stderr, secrets_of
from bot.settings import Settings, load_settings
from tests.fake_telegram import FakeTelegram, User
from tests.telegram_driver import telegram_bot, texts
from tests.test_cli import diarybot

ANA = User(1001, "Ana")


def test_the_secrets_are_every_secret_setting_and_every_url_password(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path,
        database_url="postgresql://diary:pg%40pass@db.example/diary",
        telegram_token=SecretStr("42:tg-token"),
        telegram_webhook_secret=SecretStr("hook-secret"),
        telegram_api_url="https://proxy:proxy-pass@tg.example/bot",
        matrix_password=SecretStr("mx-password"),
        matrix_access_token=SecretStr("mx-access"),
    )
    assert set(secrets_of(settings)) == {
        "pg%40pass",
        "42:tg-token",
        "hook-secret",
        "proxy-pass",
        "mx-password",
        "mx-access",
    }
    redact = Redactor(secrets_of(settings))
    # As written, percent-encoded and percent-decoded; and a URL password nobody announced.
    assert redact("GET /bot42:tg-token/getMe and /bot42%3Atg-token/x") == (
        f"GET /bot{REDACTED}/getMe and /bot{REDACTED}/x"
    )
    assert "pg@pass" not in redact("login with pg@pass")
    assert (
        redact("postgresql://someone:other@host/db") == f"postgresql://someone:{REDACTED}@host/db"
    )
    assert redact("http://127.0.0.1:8080/path@x") == "http://127.0.0.1:8080/path@x"
    # Secrets made while running, which no setting knows: the values of secret-named keys.
    assert redact("{'url': 'u', 'secret_token': 'made-at-start'}") == (
        f"{{'url': 'u', 'secret_token': '{REDACTED}'}}"
    )
    assert redact("/sync?access_token=syt_x&since=s1") == f"/sync?access_token={REDACTED}&since=s1"
    for prose in ("DIARYBOT_TELEGRAM_TOKEN is not set", "one instance per token: stop the other"):
        assert redact(prose) == prose


def test_the_filter_redacts_arguments_tracebacks_and_stacks() -> None:
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep()
    handler.addFilter(RedactingFilter(Redactor(["s3cr3t"])))
    logger = logging.getLogger("test_secrets.filter")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("calling %s", "https://api/bots3cr3t/getMe")
        try:
            raise RuntimeError("refused https://api/bots3cr3t/getMe")
        except RuntimeError:
            logger.exception("failed")
        logger.error("where", stack_info=True, extra={"token": "irrelevant"})
    finally:
        logger.removeHandler(handler)
    assert records[0] == f"calling https://api/bot{REDACTED}/getMe"
    assert "Traceback" in records[1] and f"bot{REDACTED}/getMe" in records[1]
    assert "Stack (most recent call last)" in records[2]
    assert not any("s3cr3t" in record for record in records)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_debug_log_of_a_telegram_session_holds_no_token(settings: Settings) -> None:
    stream = io.StringIO()
    async with FakeTelegram() as fake:
        redact = Redactor(secrets_of(fake.configure(settings)))
        with logging_to_stderr(redact, verbose=True, stream=stream):
            async with telegram_bot(settings, fake) as bot:
                said = await bot.chat.say(ANA, "/help")
                assert "/start" in texts(said)
                await bot.chat.say(ANA, "Our pupils in 5B read aloud every Friday")
    log = stream.getvalue()
    assert fake.token not in log and quote(fake.token, safe="") not in log
    # What people say stays out too: the libraries that log it at DEBUG are kept at INFO.
    assert "5B read aloud" not in log
    # httpx logged every request URL (each carries the token), with the token cut out.
    assert f"/bot{REDACTED}/getUpdates" in log
    assert f"/bot{REDACTED}/sendMessage" in log


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_webhook_secret_picked_at_start_stays_out_of_a_debug_log(
    settings: Settings,
) -> None:
    # No telegram_webhook_secret set: the bot picks one at start, which no setting knows.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    webhook = {
        "telegram_webhook_url": f"http://127.0.0.1:{port}/hook",
        "telegram_webhook_listen": f"127.0.0.1:{port}",
    }
    stream = io.StringIO()
    async with FakeTelegram() as fake:
        configured = fake.configure(settings.model_copy(update=webhook))
        with logging_to_stderr(Redactor(secrets_of(configured)), verbose=True, stream=stream):
            async with telegram_bot(settings.model_copy(update=webhook), fake) as bot:
                assert "/start" in texts(await bot.chat.say(ANA, "/help"))
        assert fake.webhook is not None
        secret = fake.webhook["secret_token"]
    log = stream.getvalue()
    assert secret and secret not in log
    assert f"/bot{REDACTED}/setWebhook" in log  # DEBUG is on: httpx logged the call


async def test_diarybot_v_run_logs_the_telegram_session_without_the_token(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DIARYBOT_")}
    async with FakeTelegram() as fake:
        environment.update(
            DIARYBOT_DATA_DIR=str(tmp_path),
            DIARYBOT_TELEGRAM_TOKEN=fake.token,
            DIARYBOT_TELEGRAM_API_URL=fake.api_url,
            DIARYBOT_TELEGRAM_FILE_URL=f"http://127.0.0.1:{fake.port}/file/bot",
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "-v",
            "run",
            env=environment,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await fake.message(ANA, "/help")
            await fake.wait_until(lambda: len(fake.sent) == 1, within=60)
            process.send_signal(signal.SIGTERM)  # a graceful stop: exit status 0
            async with asyncio.timeout(60):
                _, err = await process.communicate()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    log = err.decode()
    assert process.returncode == 0, log
    assert fake.token not in log and quote(fake.token, safe="") not in log
    assert f"/bot{REDACTED}/getUpdates" in log  # DEBUG is on and the URLs are there


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_db_upgrade_shows_the_database_url_without_its_password(
    database_url: str, tmp_path: Path
) -> None:
    url = make_url(database_url)
    if url.password is None:  # the test server trusts loopback, so any password will do
        url = url.set(password="Pg-S3cret-pw")
    password = str(url.password)
    with_password = url.render_as_string(hide_password=False)
    result = diarybot(
        "-v", "db", "upgrade", data_dir=tmp_path, env={"DIARYBOT_DATABASE_URL": with_password}
    )
    assert result.returncode == 0, result.stderr
    assert password not in result.stdout + result.stderr
    assert result.stdout.startswith("database is up to date: ") and f":{REDACTED}@" in result.stdout


def test_a_malformed_database_url_is_shown_without_its_password(tmp_path: Path) -> None:
    for url in (
        "postgresql://diary:Pg-S3cret-pw@127.0.0.1:54x2/diary",
        "mysql://u:Pg-S3cret-pw@h/d",
    ):
        result = diarybot("db", "upgrade", data_dir=tmp_path, env={"DIARYBOT_DATABASE_URL": url})
        assert result.returncode == 2
        (line,) = result.stderr.splitlines()
        assert line.startswith("diarybot: error: database URL") and f":{REDACTED}@" in line
        assert "Pg-S3cret-pw" not in result.stdout + result.stderr
