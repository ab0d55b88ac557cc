"""The two bots of the Telegram benchmarks, each in a process of its own, and what they cost.

`start_ours` runs `diarybot run` (the console script, as deployed) against a `FakeTelegram` in
the benchmark's process, with a data folder of its own (SQLite); `start_echo` runs PTB's bare
echo bot (`benchmarks.telegram_echo_bot`) against the same kind of server. `Bot` reads a
process's CPU time and resident memory from `/proc`, and stops it with SIGTERM, as systemd does.

Outbox pacing: our bot paces its messages to Telegram's 30 a second, PTB's echo bot does not
pace at all. `DIARYBOT_TEST_TELEGRAM_PER_SECOND` (read by `bot.app`, never by a deployment)
lifts ours, so both run unpaced.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.fake_telegram import FakeTelegram, User

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
UNPACED = "1000000"
ERROR_TEXT = "something went wrong"


def load() -> str:
    """The machine's load averages, to print beside every number."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def spread(values: Sequence[float]) -> str:
    """min / median / max of some numbers."""
    return (
        f"{min(values):7.1f} / {statistics.median(values):7.1f} / {max(values):7.1f}"
        if values
        else "-"
    )


def diarybot() -> list[str]:
    """The command that starts our bot: the installed console script beside this Python."""
    script = Path(sys.executable).with_name("diarybot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


@dataclass
class Bot:
    """A bot running in its own process."""

    name: str
    process: asyncio.subprocess.Process
    started: float  # time.perf_counter() just before the process was spawned

    def cpu(self) -> float:
        """Seconds of CPU (user + system) the process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def rss_mib(self) -> float:
        """The process's resident memory now, in MiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    async def stop(self) -> None:
        """SIGTERM, as `systemctl stop` sends; killed if it has not ended within 30 s."""
        if self.process.returncode is None:
            self.process.terminate()
            try:
                async with asyncio.timeout(30):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


def environment(fake: FakeTelegram, data_dir: Path) -> dict[str, str]:
    """The environment `diarybot` runs with: pointed at `fake`, data in `data_dir`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIARYBOT_")}
    env.update(
        DIARYBOT_DATA_DIR=str(data_dir),
        DIARYBOT_TELEGRAM_TOKEN=fake.token,
        DIARYBOT_TELEGRAM_API_URL=fake.api_url,
        DIARYBOT_TELEGRAM_FILE_URL=f"http://127.0.0.1:{fake.port}/file/bot",
    )
    return env


async def prepare_ours(fake: FakeTelegram, data_dir: Path) -> dict[str, str]:
    """A migrated database holding the demo cluster; returns its invite codes by role."""
    process = await asyncio.create_subprocess_exec(
        *diarybot(),
        "demo",
        "--json",
        env=environment(fake, data_dir),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"diarybot demo failed with status {process.returncode}")
    return json.loads(out)["invites"]


async def start_ours(fake: FakeTelegram, data_dir: Path, *, unpaced: bool = True) -> Bot:
    """`diarybot run` against `fake`; returns at once (see `polling`)."""
    env = environment(fake, data_dir)
    if unpaced:
        env["DIARYBOT_TEST_TELEGRAM_PER_SECOND"] = UNPACED
    log = data_dir.with_name(f"{data_dir.name}.stderr.log").open("ab")
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *diarybot(), "run", env=env, stdin=asyncio.subprocess.DEVNULL, stderr=log
    )
    log.close()
    return Bot("ours", process, started)


async def start_echo(fake: FakeTelegram) -> Bot:
    """PTB's echo bot against `fake`; returns at once (see `polling`)."""
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.telegram_echo_bot",
        fake.token,
        fake.api_url,
        stdin=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return Bot("PTB echo", process, started)


async def polling(fake: FakeTelegram, bot: Bot) -> None:
    """Wait until the bot has asked for updates (it has started)."""

    def asked() -> bool:
        if bot.process.returncode is not None:
            raise RuntimeError(f"{bot.name} exited with status {bot.process.returncode}")
        return any(method == "getUpdates" for method, _ in fake.calls)

    await fake.wait_until(asked, within=120)


def replies_in(fake: FakeTelegram, chats: set[int]) -> int:
    """How many messages the bot has posted in these chats."""
    return sum(1 for chat_id, _ in fake.posted if chat_id in chats)


async def join(fake: FakeTelegram, users: Sequence[User], code: str) -> None:
    """Each user joins with `code` and agrees to the consent text (in the cluster's English)."""
    chats = {user.id for user in users}
    for text, answers in ((f"/join {code}", 1), ("I agree", 3)):
        want = replies_in(fake, chats) + answers * len(users)
        for user in users:
            await fake.message(user, text)
        await fake.wait_until(lambda want=want: replies_in(fake, chats) >= want, within=120)


def failures(fake: FakeTelegram) -> int:
    """Replies saying something went wrong (a message that failed)."""
    return sum(ERROR_TEXT in (m.get("text") or "") for m in fake.sent)
