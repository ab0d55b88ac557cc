"""How fast the dispatcher carries a teacher through a diary entry, on SQLite and PostgreSQL.

Run: .venv/bin/python -m benchmarks.dispatch [--people N]
Prints messages per second for people one after another and all at once (each person in their
own chat, so the per-chat lock lets them proceed concurrently), and the ratio between the two.
Numbers only; nothing is asserted (shared machines are noisy).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from bot.settings import load_settings
from tests.builders import demo_codes, member
from tests.helpers import Harness, make_harness

POSTGRES = "postgresql://postgres@127.0.0.1:5432"


async def walk_through(bot: Harness, user: str) -> int:
    """One entry with four answers; returns how many messages it took."""
    steps = [
        bot.say(user, "/add"),
        bot.press(user, "Impact"),
        bot.say(user, "Pupils asked more questions"),
        bot.say(user, "We compared two lessons"),
        bot.say(user, "Teachers felt more confident"),
        bot.press(user, "That's all"),
        bot.say(user, "It was worth it"),
        bot.press(user, "Add it"),
        bot.press(user, "Cluster only"),
    ]
    for step in steps:
        await step
    return len(steps)


async def measure(url: str, people: int, data_dir: Path) -> tuple[float, float]:
    bot = await make_harness(load_settings(database_url=url, data_dir=data_dir))
    try:
        code = (await demo_codes(bot))["contributor"]
        users = [f"teacher{i}" for i in range(people)]
        for user in users:
            await member(bot, user, code)
        start = time.perf_counter()
        count = sum([await walk_through(bot, user) for user in users[: people // 2]])
        sequential = count / (time.perf_counter() - start)
        start = time.perf_counter()
        counts = await asyncio.gather(*(walk_through(bot, u) for u in users[people // 2 :]))
        concurrent = sum(counts) / (time.perf_counter() - start)
        return sequential, concurrent
    finally:
        await bot.app.db.close()


async def main(people: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        targets = {"sqlite": f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"}
        admin = None
        try:
            admin = await asyncpg.connect(f"{POSTGRES}/test", timeout=3)
            name = f"bench_{uuid.uuid4().hex[:8]}"
            await admin.execute(f'CREATE DATABASE "{name}"')
            targets["postgresql"] = f"{POSTGRES}/{name}"
        except OSError as exc:
            print(f"postgresql: skipped ({exc})")
        for kind, url in targets.items():
            sequential, concurrent = await measure(url, people, Path(tmp) / kind)
            print(
                f"{kind:10} one chat at a time: {sequential:7.1f} msg/s   "
                f"{people // 2} chats at once: {concurrent:7.1f} msg/s   "
                f"ratio {concurrent / sequential:.2f}"
            )
        if admin is not None:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=40)
    asyncio.run(main(parser.parse_args().people))
