"""Benchmark 5: our Matrix bot against a bare matrix-nio echo bot on the same Synapse.

Run: .venv/bin/python -m benchmarks.matrix_echo [--rounds 3] [--people 5] [--profile FILE]
(with DIARYBOT_TEST_SYNAPSE naming Synapse's Python, as for the Matrix tests).

One Synapse on loopback (tests/synapse.py) serves both bots, each in a process of its own: ours
is `diarybot run` (the real MatrixChannel and dispatcher on SQLite) doing diary walk-throughs,
the echo bot (`benchmarks.matrix_echo_bot`) sends each text back. Teachers are nio clients in
this process, each with a direct chat per bot, unencrypted and encrypted.

Per room kind and bot, two phases:
- sequential: one person says each message and waits for its reply (round trip: from sending
  to the reply the person waits for; for our bot that is the next question, sometimes the
  second of two replies);
- burst: every person sends a whole script at once; messages per second until every last reply.

Both give CPU time per message of the bot's process (everything it does until it goes idle).
Phases are interleaved (echo and ours alternate, the order swapping every round) and repeated;
each line shows min / median / max over the rounds, and the ratio ours/echo of the same round.
Numbers only; nothing is asserted. The CPU time of each bot's main thread and other threads
(aiosqlite's) is shown too. `--profile FILE` runs cProfile in our bot during the rounds
(`benchmarks.matrix_profile`) and prints where its main thread's time went; cProfile slows the
bot down, so a profiled run's numbers are not for quoting.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks import matrix_profile
from benchmarks.matrix_load import (
    Measured,
    burst,
    diary_script,
    echo_script,
    load,
    sequential,
    spread,
    start_process,
)
from tests.synapse import PASSWORD, WAIT_S, Synapse, Teacher, running_synapse, synapse_python

MODES = ("unencrypted", "encrypted")


@dataclass
class Bot:
    """A bot process and the rooms each teacher has with it, per room kind."""

    name: str
    user_id: str
    process: subprocess.Popen[str]
    rooms: dict[str, list[str]]

    @property
    def pid(self) -> int:
        return self.process.pid


def bot_environment(server: Synapse, data: Path, user_id: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DIARYBOT_")}
    return {
        **clean,
        "DIARYBOT_DATA_DIR": str(data),
        "DIARYBOT_MATRIX_HOMESERVER": server.url,
        "DIARYBOT_MATRIX_USER_ID": user_id,
        "DIARYBOT_MATRIX_PASSWORD": PASSWORD,
    }


async def start_bots(server: Synapse, tmp: Path, profile: Path | None) -> tuple[Bot, Bot, str]:
    """Both bot processes, and an invite code of our bot's demo cluster."""
    ours_id, echo_id = server.register("diarybot"), server.register("echo")
    env = bot_environment(server, tmp / "ours", ours_id)
    demo = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot.cli", "demo", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    code = json.loads(demo.stdout)["invites"]["contributor"]
    run = matrix_profile.command(profile) if profile else ["-m", "bot.cli", "run"]
    ours = start_process(run, tmp / "ours.log", env)
    echo_args = ["-m", "benchmarks.matrix_echo_bot", server.url, echo_id, PASSWORD]
    echo = start_process([*echo_args, str(tmp / "echo-store")], tmp / "echo.log", env)
    async with asyncio.timeout(WAIT_S * 2):
        assert echo.stdout is not None
        if (await asyncio.to_thread(echo.stdout.readline)).strip() != "ready":
            raise RuntimeError(f"the echo bot did not start:\n{(tmp / 'echo.log').read_text()}")
    return (
        Bot("ours", ours_id, ours, {mode: [] for mode in MODES}),
        Bot("echo", echo_id, echo, {mode: [] for mode in MODES}),
        code,
    )


async def open_room(person: Teacher, bot: Bot, mode: str, code: str) -> str:
    """A direct chat with `bot`, warmed up: keys exchanged, and for ours a member with consent.

    Rooms of the first kind must be opened first (where the person joins our bot's cluster).
    """
    room = await person.room_with(bot.user_id, encrypted=mode == "encrypted")
    if mode == "encrypted":
        devices = person.client.device_store.active_user_devices
        await person.wait_for(lambda: any(True for _ in devices(bot.user_id)))
    joining = ((f"/join {code}", "Do you agree"), ("1", "speak English"))
    if bot.name == "ours":
        # A person joins once; in their other room they are a member already.
        for text, marker in joining if mode == MODES[0] else (("/help", "what I can do"),):
            await person.say(room, text)
            await person.until(room, marker)
    else:
        await person.say(room, "warm-up [w]")
        await person.until(room, "[w]")
    return room


def drain(person: Teacher, room: str) -> None:
    """Forget replies nobody waited for, so the next phase reads only its own."""
    while person.pending(room):
        person._inbox[room].get_nowait()


async def run_rounds(
    bots: tuple[Bot, Bot], people: list[Teacher], args: argparse.Namespace
) -> dict[tuple[str, str, str], list[Measured]]:
    results: dict[tuple[str, str, str], list[Measured]] = defaultdict(list)
    for number in range(args.rounds):
        order = bots if number % 2 == 0 else bots[::-1]
        for mode in MODES:
            for bot in order:
                tag = f"{number}{mode[0]}s"
                script = (
                    diary_script(args.walks) if bot.name == "ours" else echo_script(args.walks, tag)
                )
                room = bot.rooms[mode][0]
                drain(people[0], room)
                measured = await sequential(bot.pid, people[0], room, script)
                results[(mode, "sequential", bot.name)].append(measured)
            for bot in order:
                tag = f"{number}{mode[0]}b"
                script = (
                    diary_script(args.walks) if bot.name == "ours" else echo_script(args.walks, tag)
                )
                pairs = list(zip(people, bot.rooms[mode], strict=True))
                for person, room in pairs:
                    drain(person, room)
                measured = await burst(bot.pid, pairs, script)
                results[(mode, "burst", bot.name)].append(measured)
        print(f"round {number + 1}/{args.rounds} done, {load()}", flush=True)
    return results


def table(results: dict[tuple[str, str, str], list[Measured]]) -> str:
    rows: list[tuple[str, str, Callable[[Measured], float], int]] = [
        ("sequential", "round trip, median ms", lambda m: m.median_rtt_ms, 1),
        ("sequential", "CPU ms per message", lambda m: m.cpu_ms_per_message, 2),
        ("burst", "messages per second", lambda m: m.per_second, 1),
        ("burst", "CPU ms per message", lambda m: m.cpu_ms_per_message, 2),
    ]
    lines = [
        f"{'room':12} {'phase':11} {'measure':22} {'echo min/med/max':>22} "
        f"{'ours min/med/max':>22} {'ours/echo min/med/max':>22}"
    ]
    for mode in MODES:
        for phase, what, value, digits in rows:
            echo = [value(m) for m in results[(mode, phase, "echo")]]
            ours = [value(m) for m in results[(mode, phase, "ours")]]
            ratios = [o / e for o, e in zip(ours, echo, strict=True)]
            lines.append(
                f"{mode:12} {phase:11} {what:22} {spread(echo, digits):>22} "
                f"{spread(ours, digits):>22} {spread(ratios, 2):>22}"
            )
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    python = synapse_python()
    with tempfile.TemporaryDirectory(prefix="matrix-bench-") as name:
        tmp = Path(args.keep or name)
        (tmp / "synapse").mkdir(parents=True)
        with running_synapse(python, tmp / "synapse") as server:
            ours, echo, code = await start_bots(server, tmp, args.profile)
            people: list[Teacher] = []
            try:
                people = list(
                    await asyncio.gather(
                        *(
                            Teacher.create(server, f"teacher{i}", tmp / f"teacher{i}")
                            for i in range(args.people)
                        )
                    )
                )
                for bot in (echo, ours):
                    for mode in MODES:
                        bot.rooms[mode] = list(
                            await asyncio.gather(
                                *(open_room(person, bot, mode, code) for person in people)
                            )
                        )
                seq = len(diary_script(args.walks))
                print(
                    f"Matrix: {args.rounds} rounds; sequential {seq} messages by one person; "
                    f"burst {args.people} people x {seq} messages at once; {load()}",
                    flush=True,
                )
                threads = {bot.name: matrix_profile.thread_cpu(bot.pid) for bot in (echo, ours)}
                if args.profile:
                    ours.process.send_signal(signal.SIGUSR1)
                results = await run_rounds((echo, ours), people, args)
                if args.profile:
                    ours.process.send_signal(signal.SIGUSR2)
                print(table(results))
                for bot in (echo, ours):
                    after = matrix_profile.thread_cpu(bot.pid)
                    split = ", ".join(
                        f"{name} {after[name] - threads[bot.name].get(name, 0.0):.2f} s"
                        for name in sorted(after)
                    )
                    print(f"CPU of {bot.name} during the rounds: {split}")
                print(f"end: {load()}")
                if args.profile:
                    sent = sum(m.messages for k, v in results.items() if k[2] == "ours" for m in v)
                    await asyncio.sleep(2)  # the profile is written
                    print(matrix_profile.summary(args.profile, sent))
            finally:
                await asyncio.gather(*(person.close() for person in people))
                for bot in (ours, echo):
                    bot.process.terminate()
                    bot.process.wait(timeout=60)


def parser() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--rounds", type=int, default=3, help="repetitions (default 3)")
    options.add_argument("--people", type=int, default=5, help="people in a burst (default 5)")
    options.add_argument("--walks", type=int, default=2, help="diary entries per script (2)")
    options.add_argument("--profile", type=Path, help="profile our bot into FILE (cProfile)")
    options.add_argument("--keep", type=Path, help="work in this new folder and keep it")
    return options


if __name__ == "__main__":
    asyncio.run(main(parser().parse_args()))
