"""The `diarybot` command as an operator and a scripted console user meet it (real processes)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import pty
import signal
import subprocess
import sys
from pathlib import Path
from subprocess import PIPE

import pytest

from bot.channels.console import ConsoleChannel
from bot.messages import ChatKind, ChatRef, Reply
from bot.settings import Settings


def diarybot(
    *args: str,
    data_dir: Path,
    stdin: str = "",
    env: dict[str, str] | None = None,
    umask: int = -1,
) -> subprocess.CompletedProcess[str]:
    """Run `diarybot ARGS` in a process of its own (stdin a pipe, never a terminal)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DIARYBOT_")}
    environment.update({"DIARYBOT_DATA_DIR": str(data_dir), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
        umask=umask,
    )


def diarybot_on(settings: Settings, *args: str) -> tuple[int, str]:
    """Run `diarybot ARGS` on the database and data folder of `settings`: status and output."""
    env = {"DIARYBOT_DATABASE_URL": settings.database_url} if settings.database_url else {}
    done = diarybot(*args, data_dir=settings.data_dir, env=env)
    return done.returncode, done.stdout + done.stderr


@pytest.fixture
def demo(tmp_path: Path) -> dict:
    result = diarybot("demo", "--json", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_demo_json_has_a_cluster_five_schools_and_three_invites(demo: dict) -> None:
    assert demo["cluster"]
    kinds = [school["kind"] for school in demo["schools"]]
    assert kinds.count("mentor") == 1 and kinds.count("mentee") == 4
    assert set(demo["invites"]) == {"contributor", "school_lead", "coordinator"}


def test_console_join_and_membership_survives_a_restart(tmp_path: Path, demo: dict) -> None:
    code = demo["invites"]["contributor"]
    first = diarybot(
        "console", "--as", "ana", data_dir=tmp_path, stdin=f"/start\n/join {code}\n1\n1\n/help\n"
    )
    assert first.returncode == 0, first.stderr
    assert "/join" in first.stdout  # the introduction explains how to join
    assert "[1] I agree" in first.stdout
    assert "contributor at Hillview Primary" in first.stdout
    assert "/add" in first.stdout  # members see the member commands in /help
    again = diarybot("console", "--as", "ana", data_dir=tmp_path, stdin="/start\n")
    assert "Welcome back" in again.stdout


def test_console_unknown_command_and_junk(tmp_path: Path) -> None:
    result = diarybot(
        "console",
        "--as",
        "bo",
        data_dir=tmp_path,
        stdin="/frobnicate\n\x00\x01junk\n/attach /no/such/file\n",
    )
    assert result.returncode == 0, result.stderr
    assert "I don't know the command /frobnicate" in result.stdout
    assert "invite code" in result.stdout  # junk from a stranger gets the introduction
    assert "no such file" in result.stdout
    assert "Traceback" not in result.stderr


def test_bad_database_url_is_one_clear_line(tmp_path: Path) -> None:
    result = diarybot(
        "db", "upgrade", data_dir=tmp_path, env={"DIARYBOT_DATABASE_URL": "nosuchdb://x"}
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "database URL" in lines[0]
    unreachable = diarybot(
        "db",
        "upgrade",
        data_dir=tmp_path,
        env={"DIARYBOT_DATABASE_URL": "postgresql://127.0.0.1:9/none"},
    )
    assert unreachable.returncode == 2
    assert len(unreachable.stderr.strip().splitlines()) == 1


def test_admin_commands_create_cluster_school_and_invite(tmp_path: Path) -> None:
    assert (
        diarybot(
            "cluster", "create", "Zagreb North", "--language", "hr", data_dir=tmp_path
        ).returncode
        == 0
    )
    assert (
        diarybot(
            "school", "add", "Zagreb North", "OS Mentor", "--mentor", data_dir=tmp_path
        ).returncode
        == 0
    )
    assert diarybot("school", "add", "Zagreb North", "OS Jedan", data_dir=tmp_path).returncode == 0
    invite = diarybot(
        "invite", "Zagreb North", "--role", "school_lead", "--school", "OS Jedan", data_dir=tmp_path
    )
    assert invite.returncode == 0, invite.stderr
    assert len(invite.stdout.strip()) == 10
    missing = diarybot("invite", "Zagreb North", "--role", "contributor", data_dir=tmp_path)
    assert missing.returncode == 2 and "needs a school" in missing.stderr
    listing = diarybot("cluster", "list", data_dir=tmp_path)
    assert "OS Jedan" in listing.stdout and "mentor" in listing.stdout


def test_every_command_has_help(tmp_path: Path) -> None:
    for command in (
        [],
        ["run"],
        ["console"],
        ["db"],
        ["demo"],
        ["cluster"],
        ["school"],
        ["invite"],
    ):
        result = diarybot(*command, "--help", data_dir=tmp_path)
        assert result.returncode == 0 and "usage: diarybot" in result.stdout


async def _read_until(stream, needle: str) -> str:
    seen = ""
    while needle not in seen:
        line = await asyncio.wait_for(stream.readline(), timeout=30)
        if not line:
            raise AssertionError(f"output ended before {needle!r}:\n{seen}")
        seen += line.decode()
    return seen


async def test_killed_mid_entry_the_console_resumes_at_the_same_question(
    tmp_path: Path, demo: dict
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIARYBOT_")}
    env["DIARYBOT_DATA_DIR"] = str(tmp_path)
    command = [sys.executable, "-m", "bot.cli", "console", "--as", "rui"]
    first = await asyncio.create_subprocess_exec(
        *command, stdin=PIPE, stdout=PIPE, stderr=PIPE, env=env
    )
    code = demo["invites"]["contributor"]
    first.stdin.write(f"/join {code}\n1\n1\n/add\n2\nWe planned peer visits\n".encode())
    await first.stdin.drain()
    await _read_until(first.stdout, "question 2 of 6")
    first.kill()  # SIGKILL: no clean shutdown, no chance to flush anything
    await first.wait()

    second = await asyncio.create_subprocess_exec(
        *command, stdin=PIPE, stdout=PIPE, stderr=PIPE, env=env
    )
    out, _ = await asyncio.wait_for(second.communicate(b"Visits every Friday\n"), timeout=60)
    assert "Action taken, question 3 of 6" in out.decode()
    assert second.returncode == 0


async def test_sigterm_stops_the_bot_gracefully_while_it_waits_for_input(tmp_path: Path) -> None:
    # With no channel configured, `run` chats in the terminal, so its stdin is a terminal here.
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIARYBOT_")}
    env["DIARYBOT_DATA_DIR"] = str(tmp_path)
    terminal, stdin = pty.openpty()
    try:
        bot = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            "--as",
            "ana",
            stdin=stdin,
            stdout=PIPE,
            stderr=PIPE,
            env=env,
        )
        os.close(stdin)
        os.write(terminal, b"/start\n")
        await _read_until(bot.stdout, "/join")  # running, and now blocked reading the terminal
        bot.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(bot.communicate(), timeout=30)
    finally:
        os.close(terminal)
    assert bot.returncode == 0
    assert "chatting in this terminal" in err.decode()
    assert "Traceback" not in err.decode()


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a command that failed as an operator mistake should."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_a_config_file_that_is_not_toml_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "diarybot.toml"
    config.write_text('default_language = "pt"\nmatrix_allowed_servers = [\n')
    line = one_line_error(diarybot("--config", str(config), "db", "upgrade", data_dir=tmp_path))
    assert line.startswith(f"diarybot: error: config file {config} is not valid TOML")


def test_a_list_setting_given_as_plain_text_is_read_as_comma_separated(tmp_path: Path) -> None:
    plain = {"DIARYBOT_MATRIX_ALLOWED_SERVERS": "example.org, school.example"}
    result = diarybot("db", "upgrade", data_dir=tmp_path, env=plain)
    assert result.returncode == 0, result.stderr
    broken = {"DIARYBOT_ALLOWED_DOCUMENT_TYPES": '["application/pdf"'}
    line = one_line_error(diarybot("db", "upgrade", data_dir=tmp_path, env=broken))
    assert "DIARYBOT_ALLOWED_DOCUMENT_TYPES" in line and "JSON list" in line


def test_an_unsupported_database_is_one_line(tmp_path: Path) -> None:
    env = {"DIARYBOT_DATABASE_URL": "mysql://diary@127.0.0.1/diary"}
    line = one_line_error(diarybot("db", "upgrade", data_dir=tmp_path, env=env))
    assert "is not supported" in line and "sqlite" in line and "postgresql" in line


@pytest.mark.parametrize("url", ["sqlite:///{dir}/diary.sqlite3?mode=ro", "sqlite://"])
def test_a_sqlite_url_with_options_or_without_a_file_is_refused(tmp_path: Path, url: str) -> None:
    env = {"DIARYBOT_DATABASE_URL": url.format(dir=tmp_path)}
    line = one_line_error(diarybot("db", "upgrade", data_dir=tmp_path, env=env))
    assert "names a file and takes no options" in line and "sqlite:///PATH" in line


def test_run_without_a_channel_and_without_a_terminal_stops_with_exit_2(tmp_path: Path) -> None:
    # systemd and docker give no terminal: a console there would read nothing and exit 0.
    line = one_line_error(diarybot("run", data_dir=tmp_path, stdin="/start\n"))
    assert "no channel is configured" in line
    assert "DIARYBOT_TELEGRAM_TOKEN" in line and "DIARYBOT_MATRIX_HOMESERVER" in line


def test_misspelled_diarybot_variables_are_warned_about_without_their_values(
    tmp_path: Path,
) -> None:
    env = {"DIARYBOT_TELEGRAM_TOKN": "123456:very-secret", "DIARYBOT_SHOUT": "x"}
    result = diarybot("db", "upgrade", data_dir=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "diarybot: warning: environment variable DIARYBOT_SHOUT is not a setting and is ignored",
        "diarybot: warning: environment variable DIARYBOT_TELEGRAM_TOKN is not a setting and is "
        "ignored; did you mean DIARYBOT_TELEGRAM_TOKEN?",
    ]
    assert "very-secret" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["invite", "Zagreb North", "--days", "0"], "--days"),
        (["invite", "Zagreb North", "--days", "-5"], "--days"),
        (["invite", "Zagreb North", "--days", "99999999999"], "--days"),
        (["invite", "Zagreb North", "--uses", "-3"], "--uses"),
        (["invite", "Zagreb North", "--uses", "many"], "--uses"),
        (["invite", "99999999999999999999"], "cluster"),
        (["cluster", "create", "Mars", "--timezone", "Mars/Base"], "--timezone"),
        (["cluster", "create", "   "], "name"),
        (["school", "add", "Zagreb North", "x" * 201], "name"),
        (["console", "--as", "ana\x07"], "--as"),
    ],
)
def test_invalid_arguments_are_refused_with_one_line(
    tmp_path: Path, args: list[str], named: str
) -> None:
    line = one_line_error(diarybot(*args, data_dir=tmp_path))
    assert line.startswith(f"diarybot {args[0]}") and f"argument {named}:" in line
    assert not (tmp_path / "diary.sqlite3").exists()  # refused before anything was opened


def test_help_shows_the_defaults_and_version_prints_the_installed_one(tmp_path: Path) -> None:
    from importlib.metadata import version

    wide = {"COLUMNS": "200"}  # argparse wraps help to the terminal's width
    invite = diarybot("invite", "--help", data_dir=tmp_path, env=wide).stdout
    assert "(default: 30)" in invite and "(default: 1)" in invite
    assert "(default: contributor)" in invite
    result = diarybot("--version", data_dir=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"diarybot {version('cluster-diary-bot')}"


async def test_console_prints_a_scheduled_message_to_its_own_chat_without_a_prefix() -> None:
    """A message the scheduler addresses to the console's chat (no title) reads as any reply."""
    out = io.StringIO()
    console = ConsoleChannel(user="cora", stdin=io.StringIO(""), stdout=out)
    own = ChatRef("console", "dm-cora", ChatKind.PRIVATE)
    hub = ChatRef("console", "hub", ChatKind.GROUP, title="Cluster hub")
    assert await console.send(own, Reply("You are invited")) == ["1"]
    assert await console.send(hub, Reply("A meeting is planned")) == ["2"]
    assert await console.send(hub, Reply("Coming 1", edit="2")) == ["2"]
    assert out.getvalue().splitlines() == [
        "You are invited",
        "[Cluster hub] A meeting is planned",
        "[Cluster hub] ✎ Coming 1",
    ]
