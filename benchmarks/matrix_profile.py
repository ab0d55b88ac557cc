"""Where our Matrix bot's time goes: its process under cProfile, and CPU time per thread.

With `--profile FILE` the benchmark starts our bot through this module (`python -m
benchmarks.matrix_profile FILE`, which runs `diarybot run`): SIGUSR1 starts cProfile, SIGUSR2
stops it and writes FILE, so the profile covers the measured rounds, not the start. cProfile
sees the main thread only, where the event loop, nio, SQLAlchemy and our code run; SQLite's own
work runs in aiosqlite's thread, so the CPU time of each thread (from `/proc`) is shown beside
it. Calls through SQLAlchemy's greenlets confuse cProfile's callers and cumulative times, so
the summary gives time per package (a function's own time is right) and, counted from
SQLAlchemy's events, the SQL statements and commits per message by kind and table.
py-spy was tried first; here it could not tell waiting threads from working ones.
"""

from __future__ import annotations

import cProfile
import json
import pstats
import re
import signal
import sys
from collections import Counter
from pathlib import Path

from benchmarks.matrix_load import TICK_S

# Shown as the share of the main thread's profiled time spent inside files of these packages.
PACKAGES = {
    "SQLAlchemy + SQLModel": ("sqlalchemy/", "sqlmodel/"),
    "aiosqlite + sqlite3": ("aiosqlite/", "sqlite3/"),
    "matrix-nio": ("nio/",),
    "aiohttp": ("aiohttp/", "yarl/", "multidict/"),
    "JSON, jsonschema": ("json/", "jsonschema/", "referencing/"),
    "asyncio": ("asyncio/",),
    "logging": ("logging/",),
    "our code": tuple(
        str(Path(__file__).resolve().parents[1] / part) + "/"
        for part in ("bot", "storage", "handlers", "prompts")
    ),
}


def command(output: Path) -> list[str]:
    """The arguments that start our bot ready to be profiled into `output` (see `main`)."""
    return ["-m", "benchmarks.matrix_profile", str(output)]


def statement_kind(sql: str) -> str:
    """`SELECT identities`, `INSERT matrix_rooms`: what a statement does, to which table."""
    words = sql.split()
    verb = words[0].upper() if words else "?"
    match = re.search(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", sql, re.IGNORECASE)
    return f"{verb} {match.group(1) if match else ''}".strip()


def main(output: str) -> int:
    """`diarybot run`, profiled from SIGUSR1 to SIGUSR2 (which writes `output`).

    The SQL statements and commits of that time are counted too, by kind, into `output.json`.
    """
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from bot.cli import main as diarybot

    profiler = cProfile.Profile()
    counts: Counter[str] = Counter()
    counting = [False]

    def statement(_conn: object, _cursor: object, sql: str, *_: object) -> None:
        if counting[0]:
            counts[statement_kind(sql)] += 1

    def commit(_conn: object) -> None:
        if counting[0]:
            counts["(commit)"] += 1

    event.listen(Engine, "before_cursor_execute", statement)
    event.listen(Engine, "commit", commit)

    def start(*_: object) -> None:
        counting[0] = True
        profiler.enable()

    def stop(*_: object) -> None:
        profiler.disable()
        counting[0] = False
        profiler.dump_stats(output)
        Path(f"{output}.json").write_text(json.dumps(counts))

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    return diarybot(["run"])


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds so far of the process's main thread and of all its other threads."""
    split: Counter[str] = Counter()
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        seconds = (int(fields[11]) + int(fields[12])) * TICK_S
        split["main thread" if task.name == str(pid) else "other threads"] += seconds
    return dict(split)


def summary(profile: Path, messages: int) -> str:
    """Milliseconds of the main thread per message: per package, and in our functions."""
    stats = pstats.Stats(str(profile))
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values())
    packages: Counter[str] = Counter()
    for (filename, _, _), entry in raw.items():
        for name, needles in PACKAGES.items():
            if any(needle in filename for needle in needles):
                packages[name] += entry[2]
                break
    ms = 1000 / messages
    lines = [f"profile of our bot (main thread, under cProfile): {total * ms:.2f} ms per message"]
    for name, seconds in packages.most_common():
        lines.append(f"  {seconds * ms:6.2f} ms  {100 * seconds / total:5.1f} %  in {name}")
    counts = json.loads(Path(f"{profile}.json").read_text())
    lines.append("  SQL statements and commits per message sent to it:")
    for kind, count in sorted(counts.items(), key=lambda item: -item[1]):
        lines.append(f"  {count / messages:6.2f}  {kind}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
