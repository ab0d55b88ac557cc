"""How fast the dispatcher carries teachers through diary entries, and whether any message fails.

Run: .venv/bin/python -m benchmarks.dispatch [--people N] [--repeats R] [--wide W]

For SQLite and PostgreSQL: people walk through one entry each (9 messages), first one chat at a
time, then 20 chats at once, then W chats at once (200 by default), repeated R times in turn
(interleaved, so a change in the machine's load touches every case alike). Prints messages per
second as min/median/max, the ratio of each concurrent case to one-at-a-time (medians), and how
many messages were answered with "something went wrong" (the goal is 0 at any concurrency), with
the load average at the start and end. Numbers only; nothing is asserted (machines are noisy).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from bot.settings import load_settings
from prompts import Translator
from tests.builders import demo_codes, member
from tests.helpers import Harness, make_harness, text_of

POSTGRES = "postgresql://postgres@127.0.0.1:5432"
WENT_WRONG = Translator("en")("errors.internal")


async def walk_through(bot: Harness, user: str) -> tuple[int, int]:
    """One entry with three answers: (messages sent, messages that went wrong)."""
    steps = [
        lambda: bot.say(user, "/add"),
        lambda: bot.press(user, "Impact"),
        lambda: bot.say(user, "Pupils asked more questions"),
        lambda: bot.say(user, "We compared two lessons"),
        lambda: bot.say(user, "Teachers felt more confident"),
        lambda: bot.press(user, "That's all"),
        lambda: bot.say(user, "It was worth it"),
        lambda: bot.press(user, "Add it"),
        lambda: bot.press(user, "Cluster only"),
    ]
    failed = 0
    for step in steps:
        try:
            replies = await step()
        except AssertionError:  # the button to press never came: an earlier step went wrong
            return len(steps), failed + 1
        failed += WENT_WRONG in text_of(replies)
    return len(steps), failed


async def one_round(bot: Harness, users: list[str], at_once: int) -> tuple[float, int]:
    """Every user walks through an entry, `at_once` of them side by side: (msg/s, failed)."""
    start = time.perf_counter()
    sent = failed = 0
    for first in range(0, len(users), at_once):
        results = await asyncio.gather(*(walk_through(bot, u) for u in users[first:][:at_once]))
        sent += sum(n for n, _ in results)
        failed += sum(f for _, f in results)
    return sent / (time.perf_counter() - start), failed


async def measure(url: str, data_dir: Path, people: int, wide: int, repeats: int) -> dict:
    bot = await make_harness(load_settings(database_url=url, data_dir=data_dir))
    cases = {"1 at a time": 1, "20 at once": 20, f"{wide} at once": wide}
    rates: dict[str, list[float]] = {case: [] for case in cases}
    failures = dict.fromkeys(cases, 0)
    try:
        code = (await demo_codes(bot))["contributor"]
        users = [f"teacher{i}" for i in range(max(people, wide))]
        await asyncio.gather(*(member(bot, user, code) for user in users))
        for _ in range(repeats):
            for case, at_once in cases.items():
                group = users[: max(people, at_once)]
                rate, failed = await one_round(bot, group, at_once)
                rates[case].append(rate)
                failures[case] += failed
    finally:
        await bot.app.db.close()
    return {"rates": rates, "failures": failures}


def report(kind: str, result: dict) -> None:
    base = statistics.median(next(iter(result["rates"].values())))
    for case, values in result["rates"].items():
        median = statistics.median(values)
        print(
            f"{kind:10} {case:14} msg/s min {min(values):6.1f}  median {median:6.1f}  "
            f"max {max(values):6.1f}  ratio {median / base:4.2f}  "
            f"failed {result['failures'][case]}"
        )


async def main(people: int, repeats: int, wide: int) -> None:
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores)")
    with tempfile.TemporaryDirectory() as tmp:
        targets = {"sqlite": f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"}
        admin = name = None
        try:
            admin = await asyncpg.connect(f"{POSTGRES}/test", timeout=3)
            name = f"bench_{uuid.uuid4().hex[:8]}"
            await admin.execute(f'CREATE DATABASE "{name}"')
            targets["postgresql"] = f"{POSTGRES}/{name}"
        except OSError as exc:
            print(f"postgresql: skipped ({exc})")
        try:
            for kind, url in targets.items():
                result = await measure(url, Path(tmp) / kind, people, wide, repeats)
                report(kind, result)
        finally:
            if admin is not None:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await admin.close()
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=40, help="people per round")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--wide", type=int, default=200, help="the widest concurrency")
    args = parser.parse_args()
    asyncio.run(main(args.people, args.repeats, args.wide))
