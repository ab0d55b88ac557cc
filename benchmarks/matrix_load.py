"""The Matrix benchmark's moving parts: bot processes, their CPU time, scripts and the two phases.

Each bot runs in a process of its own, so its CPU time (user + system, every thread: aiosqlite's
included) is read from `/proc/PID/stat` before and after a phase. A phase ends when the last reply
has arrived and the bot's CPU time has stopped growing (what it does after replying, such as
saving its sync position, counts too).

A script is what one person says, step by step, each step with a piece of text that marks the
reply the person waits for: for our bot a diary walk-through, answered by number or by label as
on Matrix; for the echo bot the same texts, each tagged so that its echo is recognisable.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median

from tests.synapse import WAIT_S, Teacher

TICK_S = 1 / os.sysconf("SC_CLK_TCK")
# One diary entry on Matrix: what is said, and a piece of the reply the person then waits for.
WALK_THROUGH = (
    ("/add", "Which part of the diary"),
    ("1", "question 1 of"),
    ("Pupils asked more questions", "question 2 of"),
    ("We compared two lessons", "question 3 of"),
    ("Teachers felt more confident", "question 4 of"),
    ("That's all", "reflection"),
    ("It was worth it", "Shall I add it"),
    ("1", "Who may see"),
    ("1", "now part of"),
)


@dataclass(frozen=True)
class Step:
    """One message of a script and the text that marks the reply it waits for."""

    text: str
    marker: str


def diary_script(walks: int) -> list[Step]:
    """`walks` diary entries, one after another."""
    return [Step(text, marker) for _ in range(walks) for text, marker in WALK_THROUGH]


def echo_script(walks: int, tag: str) -> list[Step]:
    """The same texts for the echo bot, each tagged (`[tag.n]`) so its echo can be told apart."""
    texts = [text for _ in range(walks) for text, _ in WALK_THROUGH]
    return [Step(f"{text} [{tag}.{n}]", f"[{tag}.{n}]") for n, text in enumerate(texts)]


def cpu_seconds(pid: int) -> float:
    """The user and system CPU time a process has used so far, all its threads together."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_S


async def settled_cpu(pid: int, *, quiet_s: float = 0.3, limit_s: float = 5.0) -> float:
    """The process's CPU time once it has stopped growing for `quiet_s` (or after `limit_s`)."""
    deadline = time.monotonic() + limit_s
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(quiet_s)
        now = cpu_seconds(pid)
        if now == last:
            break
        last = now
    return last


def start_process(args: Sequence[str], log: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """A bot process with its output in `log` (stdout piped for the echo bot's `ready`)."""
    with log.open("w") as output:
        return subprocess.Popen(
            [sys.executable, *args], stdout=subprocess.PIPE, stderr=output, env=env, text=True
        )


@dataclass
class Measured:
    """What one phase gave: round trips (sequential) or elapsed time (burst), and CPU time."""

    messages: int
    seconds: float
    cpu_s: float
    round_trips: list[float]

    @property
    def cpu_ms_per_message(self) -> float:
        return 1000 * self.cpu_s / self.messages

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds

    @property
    def median_rtt_ms(self) -> float:
        return 1000 * median(self.round_trips)


async def sequential(pid: int, person: Teacher, room: str, script: list[Step]) -> Measured:
    """A person says each step and waits for its reply before the next."""
    before = cpu_seconds(pid)
    started = time.perf_counter()
    trips = []
    for step in script:
        sent = time.perf_counter()
        await person.say(room, step.text)
        await person.until(room, step.marker)
        trips.append(time.perf_counter() - sent)
    elapsed = time.perf_counter() - started
    return Measured(len(script), elapsed, await settled_cpu(pid) - before, trips)


async def burst(pid: int, rooms: list[tuple[Teacher, str]], script: list[Step]) -> Measured:
    """Everyone says their whole script at once; ends when every room has its last reply."""
    last = script[-1].marker
    count = sum(step.marker == last for step in script)

    async def one(person: Teacher, room: str) -> None:
        for step in script:
            await person.say(room, step.text)
        async with asyncio.timeout(WAIT_S * 5):
            seen = 0
            while seen < count:
                seen += last in (await person.next(room)).body

    before = cpu_seconds(pid)
    started = time.perf_counter()
    await asyncio.gather(*(one(person, room) for person, room in rooms))
    elapsed = time.perf_counter() - started
    return Measured(len(script) * len(rooms), elapsed, await settled_cpu(pid) - before, [])


def spread(values: Sequence[float], digits: int = 1) -> str:
    """`min / median / max` of a few numbers."""
    low, mid, high = min(values), median(values), max(values)
    return f"{low:.{digits}f} / {mid:.{digits}f} / {high:.{digits}f}"


def load() -> str:
    """The machine's load averages, as `uptime` shows them."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"
