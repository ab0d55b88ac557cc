"""Benchmark 4: cold start to first reply, and idle memory, of ours beside PTB's echo bot.

Run: .venv/bin/python -m benchmarks.telegram_start [--repeat 5] [--idle 3]

A message waits on a `FakeTelegram` before the bot's process is spawned; "cold start" is the
time from spawning the process to the reply arriving at the server (the interpreter's start,
imports, connecting, Telegram's start-up calls, fetching and answering). Then the bot idles
`--idle` seconds in its long poll and its resident memory (VmRSS) is read, and its CPU time
since the spawn. Three kinds of start, alternating in order between repetitions:

- ours: `diarybot run` on a database that exists (a restart: the usual case), default settings
  (pacing on);
- ours, new database: the very first start, which creates the database and runs every
  migration;
- PTB echo: `benchmarks.telegram_echo_bot`.

Our packages are byte-compiled first, as `pip install .` (the Dockerfile's) compiles them: a
checkout run with PYTHONDONTWRITEBYTECODE set (as on these machines) would otherwise compile a
hundred modules from source at every start, which no installed bot does; the echo bot is one
small module. Prints each start with the machine's load, then min / median / max and the ratio
to the echo bot. Numbers only: nothing here is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import statistics
import tempfile
from pathlib import Path

from benchmarks.telegram_procs import load, prepare_ours, spread, start_echo, start_ours
from tests.fake_telegram import FakeTelegram, User

KINDS = ("ours", "ours, new database", "PTB echo")
ANA = User(7000, "Ana")


async def one_start(kind: str, data: Path, idle: float) -> dict[str, float]:
    """Start one bot with a message waiting; its cold start (ms), idle RSS (MiB) and CPU (s)."""
    async with FakeTelegram() as fake:
        if kind == "ours":
            await prepare_ours(fake, data)
        await fake.message(ANA, "/help")
        if kind.startswith("ours"):
            bot = await start_ours(fake, data, unpaced=False)
        else:
            bot = await start_echo(fake)
        try:

            def answered() -> bool:
                if bot.process.returncode is not None:
                    raise RuntimeError(f"{kind} exited with {bot.process.returncode}")
                return bool(fake.posted)

            await fake.wait_until(answered, within=120)
            cold = (fake.posted[0][1] - bot.started) * 1000
            await asyncio.sleep(idle)
            return {"cold start ms": cold, "idle RSS MiB": bot.rss_mib(), "CPU s": bot.cpu()}
        finally:
            await bot.stop()


def compile_ours() -> None:
    """Byte-compile our packages, as installing them does (see the module's description)."""
    root = Path(__file__).resolve().parent.parent
    for package in ("bot", "handlers", "prompts", "storage"):
        compileall.compile_dir(root / package, quiet=1)


async def main(repeat: int, idle: float) -> None:
    """Start each kind `repeat` times, alternating the order, then print the summary."""
    print(f"cold start to first reply and idle RSS, {repeat} starts each; {load()}")
    runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in KINDS}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(1, repeat + 1):
            order = KINDS if run % 2 else tuple(reversed(KINDS))
            for kind in order:
                result = await one_start(kind, Path(tmp) / f"{run}-{len(kind)}", idle)
                runs[kind].append(result)
                numbers = "  ".join(f"{key} {value:7.1f}" for key, value in result.items())
                print(f"run {run}  {kind:20} {numbers}  {load()}")
    echo = runs["PTB echo"]
    print(f"\n{'':34}{'min / median / max':>28}  ratio to echo (median)")
    for kind in KINDS:
        for key in runs[kind][0]:
            values = [r[key] for r in runs[kind]]
            ratio = statistics.median(values) / statistics.median([r[key] for r in echo])
            print(f"{kind:20}{key:14}{spread(values):>28}  {ratio:5.2f}")
    print(f"({load()})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--idle", type=float, default=3.0)
    args = parser.parse_args()
    compile_ours()
    asyncio.run(main(args.repeat, args.idle))
