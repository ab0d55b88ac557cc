"""Benchmark 1: our whole stack against python-telegram-bot's bare echo bot, on one fake server.

Run: .venv/bin/python -m benchmarks.telegram_echo [--repeat 3] [--chats 20] [--messages 50]

Both bots run in processes of their own (`benchmarks.telegram_procs`) against a `FakeTelegram`
in this process, unpaced. Ours is `diarybot run` on a fresh SQLite database holding the demo
cluster; its chats have joined and agreed to the consent text beforehand, and then do real
diary walk-throughs (/add, a section, answers, "That's all", a reflection, "Add it", a
visibility), typed, one reply per message. The echo bot answers the same texts. Per repetition
each bot gets, in one process, after a warm-up walk-through:

- a burst: every chat sends `--messages` at once; throughput until the last reply (msg/s) and
  the bot's CPU per message;
- steady load at `--rates` messages a second (spread over the chats), `--seconds` long: each
  message's latency from its injection to its reply (p50, p99, max) and the rate achieved (a
  bot that cannot keep up falls behind the offered rate, and its latency grows with the run).

Repetitions alternate which bot goes first. Every line carries the machine's load; the summary
gives min / median / max and the ratio ours / echo (median, and the range over repetitions).
Numbers only: nothing here is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.telegram_procs import (
    Bot,
    failures,
    join,
    load,
    polling,
    prepare_ours,
    spread,
    start_echo,
    start_ours,
)
from tests.fake_telegram import FakeTelegram, User

WALK = (
    "/add",
    "Impact",
    "Pupils asked more questions",
    "We compared two lessons",
    "Teachers felt more confident",
    "That's all",
    "It was worth it",
    "Add it",
    "Cluster only",
)
BOTS = ("ours", "PTB echo")


@dataclass
class Chats:
    """The benchmark's users, and where each is in its walk-through."""

    users: list[User]
    step: defaultdict[int, int] = field(default_factory=lambda: defaultdict(int))

    def next_text(self, user: User) -> str:
        text = WALK[self.step[user.id] % len(WALK)]
        self.step[user.id] += 1
        return text


async def burst(fake: FakeTelegram, bot: Bot, chats: Chats, messages: int) -> dict[str, float]:
    """Every chat sends `messages` at once; msg/s until the last reply, CPU ms per message."""
    base, total = len(fake.posted), len(chats.users) * messages
    cpu = bot.cpu()
    start = time.perf_counter()
    for _ in range(messages):
        for user in chats.users:
            await fake.message(user, chats.next_text(user))
    await fake.wait_until(lambda: len(fake.posted) >= base + total, within=900)
    took = fake.posted[base + total - 1][1] - start
    return {"msg/s": total / took, "cpu ms/msg": (bot.cpu() - cpu) * 1000 / total}


async def steady(fake: FakeTelegram, chats: Chats, rate: float, seconds: float) -> dict[str, float]:
    """`rate` messages a second for `seconds`; latency percentiles (ms) and the rate achieved."""
    count = int(rate * seconds)
    base = len(fake.posted)
    sent: defaultdict[int, list[float]] = defaultdict(list)
    start = time.perf_counter()
    for n in range(count):
        user = chats.users[n % len(chats.users)]
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent[user.id].append(time.perf_counter())
        await fake.message(user, chats.next_text(user))
    await fake.wait_until(lambda: len(fake.posted) >= base + count, within=900)
    answered: defaultdict[int, list[float]] = defaultdict(list)
    for chat_id, at in fake.posted[base:]:
        answered[chat_id].append(at)
    latencies = sorted(
        (reply - asked) * 1000
        for chat_id, asks in sent.items()
        for asked, reply in zip(asks, answered[chat_id], strict=False)
    )
    last = max(at for _, at in fake.posted[base:])
    return {
        "p50 ms": statistics.median(latencies),
        "p99 ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "max ms": latencies[-1],
        "msg/s": count / (last - start),
    }


async def one_bot(name: str, tmp: Path, run: int, args: argparse.Namespace) -> dict[str, float]:
    """All measurements of one bot in one process; returns them by name."""
    results: dict[str, float] = {}
    async with FakeTelegram() as fake:
        users = [User(7000 + n, f"Teacher {n}") for n in range(args.chats + 1)]
        chats, warm = Chats(users[1:]), Chats(users[:1])
        if name == "ours":
            data = tmp / f"ours-{run}"
            code = (await prepare_ours(fake, data))["contributor"]
            bot = await start_ours(fake, data)
        else:
            bot = await start_echo(fake)
        try:
            await polling(fake, bot)
            if name == "ours":
                await join(fake, users, code)
            for _ in WALK:  # warm-up: one walk-through, one message at a time
                want = len(fake.posted) + 1
                await fake.message(warm.users[0], warm.next_text(warm.users[0]))
                await fake.wait_until(lambda want=want: len(fake.posted) >= want, within=120)
            for key, value in (await burst(fake, bot, chats, args.messages)).items():
                results[f"burst {key}"] = value
            print(f"run {run}  {name:8}  burst   {_line(results, 'burst ')}  {load()}")
            for rate in args.rates:
                measured = await steady(fake, chats, rate, args.seconds)
                label = f"{rate:g}/s "
                results.update({f"{label}{key}": value for key, value in measured.items()})
                print(f"run {run}  {name:8}  {label:7} {_line(measured, '')}  {load()}")
            results["failed"] = failures(fake)
        finally:
            await bot.stop()
    return results


def _line(results: dict[str, float], prefix: str) -> str:
    return "  ".join(
        f"{key.removeprefix(prefix)} {value:7.1f}"
        for key, value in results.items()
        if key.startswith(prefix)
    )


def summary(runs: dict[str, list[dict[str, float]]]) -> None:
    """min / median / max of each measurement, and the ratio ours / echo."""
    print(f"\n{'':24}{'ours min / median / max':>28}  {'PTB echo min / median / max':>28}  ratio")
    for key in runs["ours"][0]:
        ours = [r[key] for r in runs["ours"]]
        echo = [r.get(key, 0.0) for r in runs["PTB echo"]]
        if key == "failed":
            print(f"{'failed messages':24}{sum(ours):28.0f}  {sum(echo):28.0f}")
            continue
        ratios = [o / e for o, e in zip(ours, echo, strict=True) if e]
        ratio = (
            f"{statistics.median(ours) / statistics.median(echo):5.2f} "
            f"({min(ratios):.2f}-{max(ratios):.2f})"
            if ratios
            else "-"
        )
        print(f"{key:24}{spread(ours):>28}  {spread(echo):>28}  {ratio}")
    print(f"({load()})")


async def main(args: argparse.Namespace) -> None:
    """Run the bots alternately, `repeat` times each, then print the summary."""
    total = args.chats * args.messages
    print(
        f"{args.chats} chats x {args.messages} messages = {total} per burst; steady "
        f"{', '.join(f'{r:g}/s' for r in args.rates)} for {args.seconds:g} s; {load()}"
    )
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in BOTS}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(1, args.repeat + 1):
            order: Sequence[str] = BOTS if run % 2 else tuple(reversed(BOTS))
            for name in order:
                runs[name].append(await one_bot(name, Path(tmp), run, args))
    summary(runs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--rates", type=float, nargs="+", default=[50.0, 200.0])
    parser.add_argument("--seconds", type=float, default=10.0)
    asyncio.run(main(parser.parse_args()))
