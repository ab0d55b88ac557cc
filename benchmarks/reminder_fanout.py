"""Benchmark: an input reminder to 10,000 people through the Telegram channel, paced and once each.

Run: .venv/bin/python -m benchmarks.reminder_fanout [--people 10000] [--per-second 300]
         [--schools 100] [--clusters 1] [--repeat 3] [--postgres URL] [--no-kill]

Each run builds a fresh database (a SQLite file; also a scratch PostgreSQL database on the
server of `--postgres URL`, created and dropped here) holding one cluster in Europe/Brussels
(or `--clusters` alike ones, the mentee schools dealt out to them) with a mentor school,
`--schools` mentee schools and `--people` people spread over them, each with consent of the
current version (`bot.settings.DEFAULT_CONSENT_VERSION`), a school role (contributor, every
twentieth a school lead) and a Telegram identity with its private chat. The clusters' autumn
term puts an input point on Friday 16 October 2026, and the bot's clock is 10:00 local that
day, inside the working hours: the planner makes one `input` row per person and all of them
are due. (Nudges wait a year here, so no other kind is planned.)

The bot runs in a process of its own (`benchmarks.reminder_fanout_bot`: `diarybot run`'s
wiring, with its `TelegramChannel` started for real, but a `Scheduler` on that fixed clock
ticking until nothing is due) against a `FakeTelegram` (tests/fake_telegram.py, real HTTP on
loopback) in this process. `DIARYBOT_TEST_TELEGRAM_PER_SECOND` sets the outbox's overall pace
to `--per-second`: Telegram's own limit is ~30 messages a second, at which 10,000 messages
take 333 s, so the default is ten times that; the ratio is reported against whatever is set.
Two runs a repetition, on each database:

- clean: the bot sends everything and exits. Reported: messages/s from the first message the
  server received to the last, `(n - 1) / span`, and its ratio to the configured limit (goal
  >= 0.97; the outbox's window lets a second's allowance go at once, so a bot that keeps it
  full shows slightly above 1), the most messages the server saw in any one second (the limit
  as Telegram would count it), the start (process spawn to first message) and planning times,
  the bot's CPU per message, and duplicates and losses (goal 0 and 0).
- kill: once the server has received about half of the messages (half a claim batch past a
  whole number of batches, so many rows are claimed and not sent yet), the bot is killed with
  SIGKILL and started again. A claim is leased for `storage.reminders.LEASE` (20 min), so the
  new process first runs at 10 s past the first one's clock (everything not claimed goes at
  once), then at the lease's end plus a minute (the dead process's claims are taken again).
  Reported: the rows claimed but not finished at the kill and, of those, how many the server
  had received already (sent, not yet recorded: the messages in flight, which the restart
  sends again), the duplicates and losses after the restart (goal: 0 losses, duplicates at
  most those in flight), how many rows waited for the lease, the time from the restart to its
  first message and the pace before the kill and after the restart.

Duplicates and losses are counted from what the fake server received: each person must get
exactly one message, in their private chat, naming their school. A bot process that fails
(or is still running long after its sending should have ended) fails its run: the line names
the first exception the bot logged, and the summary counts such runs. Every run prints a line with
the machine's load; the summary gives min / median / max of each figure over the repetitions
and the range of the 1-minute load average during those runs. Numbers only; nothing is
asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.reminder_population import (
    Databases,
    Population,
    prepare,
    statuses,
)
from benchmarks.telegram_procs import environment, load
from bot.delivery import BATCH
from storage.models import (
    ReminderStatus,
)
from storage.reminders import LEASE
from tests.fake_telegram import FakeTelegram

EXCEPTION_LINE = re.compile(r"^[\w.]+(Error|Exception|Exit): ")
RESTART_AFTER = timedelta(seconds=10)
# A bot process gets this long plus three times the least time its sending can take.
RUN_TIMEOUT = 300.0


@dataclass
class Proc:
    """A bot process, with where its output and log go."""

    process: asyncio.subprocess.Process
    spawned: float  # time.perf_counter() just before spawning
    within: float  # seconds it may take before it is taken for stuck
    out: Path
    err: Path

    def reports(self) -> list[dict[str, Any]]:
        """The JSON lines it printed (none after the last one before a SIGKILL)."""
        lines = self.out.read_text().splitlines() if self.out.exists() else []
        return [json.loads(line) for line in lines if line.startswith("{")]

    def failed(self, what: str) -> BotFailed:
        log = self.err.read_text() if self.err.exists() else ""
        # The root cause: the first line naming an exception (a chained one comes later).
        causes = [line for line in log.splitlines() if EXCEPTION_LINE.match(line)]
        cause = causes[0][:300] if causes else log[-300:].strip()
        return BotFailed(f"{what} (status {self.process.returncode}): {cause}")


class BotFailed(RuntimeError):
    """A bot process failed or got stuck; the message names the first exception it logged."""


@dataclass
class Result:
    """One run's figures, by name, and the 1-minute load average at its end."""

    figures: dict[str, float] = field(default_factory=dict)
    load1: float = 0.0
    failure: str | None = None


# The figures of each mode, in print order, with their format.
FIGURES: dict[str, dict[str, str]] = {
    "clean": {
        "msg/s": ".1f",
        "ratio": ".3f",
        "peak 1 s": ".0f",
        "start s": ".2f",
        "plan s": ".2f",
        "send s": ".2f",
        "cpu ms/msg": ".3f",
        "duplicates": ".0f",
        "losses": ".0f",
    },
    "kill": {
        "killed at": ".0f",
        "claimed at kill": ".0f",
        "in flight": ".0f",
        "duplicates": ".0f",
        "losses": ".0f",
        "after lease": ".0f",
        "restart s": ".2f",
        "ratio before": ".3f",
        "ratio after": ".3f",
    },
}


# --- the bot process -----------------------------------------------------------------------


async def spawn(
    fake: FakeTelegram,
    url: str,
    folder: Path,
    moments: Sequence[datetime],
    args: argparse.Namespace,
) -> Proc:
    """Start `benchmarks.reminder_fanout_bot` against `fake`; returns at once."""
    out, err = _outputs(folder)
    env = environment(fake, folder / "data")
    env.update(
        DIARYBOT_DATABASE_URL=url,
        DIARYBOT_REMINDER_CHECK_SECONDS="0",
        DIARYBOT_TEST_TELEGRAM_PER_SECOND=str(args.per_second),
    )
    with out.open("wb") as stdout, err.open("wb") as stderr:
        spawned = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.reminder_fanout_bot",
            *(m.isoformat() for m in moments),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )
    within = RUN_TIMEOUT + 3 * args.people / args.per_second
    return Proc(process, spawned, within, out, err)


def _outputs(folder: Path) -> tuple[Path, Path]:
    """Where the next bot process of a run prints its reports and logs."""
    folder.mkdir(parents=True, exist_ok=True)
    n = len(list(folder.glob("bot-*.out")))
    return folder / f"bot-{n}.out", folder / f"bot-{n}.log"


async def finished(proc: Proc) -> None:
    """Wait for the bot to exit on its own; raise with its log if it failed."""
    try:
        async with asyncio.timeout(proc.within):
            await proc.process.wait()
    except TimeoutError:
        proc.process.kill()
        await proc.process.wait()
        raise proc.failed(f"the bot was still running after {proc.within:.0f} s") from None
    if proc.process.returncode != 0:
        raise proc.failed("the bot failed")


async def until(condition: Callable[[], bool], proc: Proc) -> None:
    """Wait until `condition()` holds while the bot runs; raise if it exits first."""
    async with asyncio.timeout(proc.within):
        while not condition():
            if proc.process.returncode is not None:
                raise proc.failed("the bot exited before the kill")
            await asyncio.sleep(0.002)


# --- the figures ---------------------------------------------------------------------------


def pace(times: Sequence[float]) -> float:
    """Messages a second from the first to the last of these arrival times."""
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else float("nan")


def peak(times: Sequence[float]) -> int:
    """The most arrivals in any one second (half-open windows)."""
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def delivered(fake: FakeTelegram, population: Population) -> dict[str, float]:
    """Duplicates, losses and strays counted from what the server received."""
    per_chat: Counter[int] = Counter()
    wrong = 0
    for message in fake.sent:
        chat_id = message["chat"]["id"]
        per_chat[chat_id] += 1
        school = population.schools.get(chat_id)
        if school is None or f"of {school}:" not in (message.get("text") or ""):
            wrong += 1
    duplicates = sum(n - 1 for chat_id, n in per_chat.items() if chat_id in population.schools)
    losses = sum(1 for chat_id in population.schools if not per_chat[chat_id])
    return {"duplicates": duplicates, "losses": losses, "wrong": wrong}


def _sent(report: dict[str, Any]) -> int:
    return int(report.get("outcomes", {}).get(ReminderStatus.SENT, 0))


async def clean_run(
    fake: FakeTelegram, url: str, folder: Path, population: Population, args: argparse.Namespace
) -> dict[str, float]:
    """The bot sends everything and exits; its pace, costs, duplicates and losses."""
    proc = await spawn(fake, url, folder, [population.moment], args)
    await finished(proc)
    times = [at for _, at in fake.posted]
    reports = proc.reports()
    (moment,) = [r for r in reports if "at" in r]
    cpu = next(r["cpu_s"] for r in reports if "cpu_s" in r)
    rate = pace(times)
    figures = {
        "msg/s": rate,
        "ratio": rate / args.per_second,
        "peak 1 s": peak(times),
        "start s": times[0] - proc.spawned if times else float("nan"),
        "plan s": moment["plan_s"],
        "send s": times[-1] - times[0] if times else float("nan"),
        "cpu ms/msg": cpu * 1000 / max(1, len(times)),
        **delivered(fake, population),
    }
    figures["rows not sent"] = await _unsent(url, len(population.schools))
    return figures


async def kill_run(
    fake: FakeTelegram, url: str, folder: Path, population: Population, args: argparse.Namespace
) -> dict[str, float]:
    """The bot is killed mid-way and started again; what was in flight, duplicates, losses."""
    people = len(population.schools)
    # About half, in the middle of a claimed batch: many rows claimed and not yet sent.
    half = min(people - 1, people // 2 // BATCH * BATCH + BATCH // 2)
    first = await spawn(fake, url, folder, [population.moment], args)
    await until(lambda: len(fake.posted) >= half, first)
    first.process.kill()
    await first.process.wait()
    await asyncio.sleep(0.5)  # a request the server was still reading ends one way or the other
    killed_at = len(fake.posted)
    before = [at for _, at in fake.posted]
    _, claimed = await statuses(url)
    received = {chat_id for chat_id, _ in fake.posted}
    in_flight = len(claimed & received)
    moments = [population.moment + RESTART_AFTER, population.moment + LEASE + timedelta(minutes=1)]
    second = await spawn(fake, url, folder, moments, args)
    await finished(second)
    reports = [r for r in second.reports() if "at" in r]
    now_sent = _sent(reports[0])
    after = [at for _, at in fake.posted[killed_at : killed_at + now_sent]]
    figures = {
        "killed at": killed_at,
        "claimed at kill": len(claimed),
        "in flight": in_flight,
        **delivered(fake, population),
        "after lease": _sent(reports[1]),
        "restart s": after[0] - second.spawned if after else float("nan"),
        "ratio before": pace(before) / args.per_second,
        "ratio after": pace(after) / args.per_second,
    }
    figures["rows not sent"] = await _unsent(url, len(population.schools))
    return figures


async def _unsent(url: str, people: int) -> int:
    by_status, _ = await statuses(url)
    return people - by_status[ReminderStatus.SENT]


# --- the runs ------------------------------------------------------------------------------


async def one_run(
    dbs: Databases, kind: str, mode: str, run: int, tmp: Path, args: argparse.Namespace
) -> Result:
    """One run on a fresh database; prints its line (or why it failed)."""
    label = f"run {run}  {kind:10} {mode:5}"
    url = await dbs.fresh(kind)
    try:
        began = time.perf_counter()
        population = await prepare(
            url, people=args.people, schools=args.schools, clusters=args.clusters
        )
        setup = time.perf_counter() - began
        folder = tmp / f"{kind}-{mode}-{run}"
        async with FakeTelegram() as fake:
            if mode == "clean":
                figures = await clean_run(fake, url, folder, population, args)
            else:
                figures = await kill_run(fake, url, folder, population, args)
    except BotFailed as exc:
        print(f"{label}  FAILED: {exc}  {load()}", flush=True)
        return Result(load1=os.getloadavg()[0], failure=str(exc))
    finally:
        if kind == "postgresql":
            await dbs.drop_all()
    shown = "  ".join(f"{name} {figures[name]:{fmt}}" for name, fmt in FIGURES[mode].items())
    extra = "".join(f"{k} {figures[k]:.0f}  " for k in ("wrong", "rows not sent") if figures[k])
    print(f"{label}  {shown}  {extra}(setup {setup:.1f} s)  {load()}", flush=True)
    return Result(figures, os.getloadavg()[0])


def summary(results: dict[tuple[str, str], list[Result]]) -> None:
    """min / median / max of each figure, per database and mode, with the load during them."""
    print(f"\n{'':30}{'min':>10} {'median':>10} {'max':>10}")
    for (kind, mode), results_of in results.items():
        runs = [r for r in results_of if r.failure is None]
        failed = [r.failure for r in results_of if r.failure is not None]
        if failed:
            print(f"{kind:10} {mode:5} failed {len(failed)} of {len(results_of)}: {failed[0]}")
        if not runs:
            continue
        loads = [r.load1 for r in runs]
        for name, fmt in FIGURES[mode].items():
            values = [r.figures[name] for r in runs]
            cells = " ".join(
                f"{v:10{fmt}}" for v in (min(values), statistics.median(values), max(values))
            )
            print(f"{kind:10} {mode:5} {name:14}{cells}   load {min(loads):.2f}-{max(loads):.2f}")
        totals = {k: sum(r.figures[k] for r in runs) for k in ("wrong", "rows not sent")}
        if any(totals.values()):
            print(f"{kind:10} {mode:5} " + "  ".join(f"{k} {v:.0f}" for k, v in totals.items()))
    print(f"({load()})")


async def main(args: argparse.Namespace) -> None:
    """Every database, `repeat` times a clean run and a kill run; then the summary."""
    floor = args.people / args.per_second
    print(
        f"reminder fan-out: {args.people} people in {args.schools} schools of {args.clusters} "
        f"cluster(s), outbox paced to "
        f"{args.per_second}/s (at least {floor:.1f} s of sending); {load()}",
        flush=True,
    )
    modes = ["clean"] if args.no_kill else ["clean", "kill"]
    results: dict[tuple[str, str], list[Result]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        dbs = Databases(Path(tmp), args.postgres)
        try:
            for run in range(1, args.repeat + 1):
                for kind in dbs.kinds:
                    for mode in modes:
                        result = await one_run(dbs, kind, mode, run, Path(tmp), args)
                        results.setdefault((kind, mode), []).append(result)
        finally:
            await dbs.drop_all()
    summary(results)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--per-second", type=int, default=300)
    parser.add_argument("--schools", type=int, default=100)
    parser.add_argument("--clusters", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", metavar="URL", default=None)
    parser.add_argument("--no-kill", action="store_true", help="clean runs only")
    asyncio.run(main(parser.parse_args()))
