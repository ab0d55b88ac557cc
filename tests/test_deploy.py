"""The container image's promises, read from deploy/Dockerfile and .dockerignore (no Docker here).

`ignored` follows Docker's rules closely enough for these paths: patterns in order, the last
match wins, `!` re-includes, `*` stays within one path segment and `**` spans any number, and a
pattern matching a folder matches everything in it.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).parent.parent
DOCKERFILE = ROOT / "deploy" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def _regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out)


def ignored(path: str) -> bool:
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    verdict = False
    for rule in rules:
        include = rule.startswith("!")
        pattern = _regex(rule.removeprefix("!").strip("/"))
        if any(pattern.fullmatch(prefix) for prefix in prefixes):
            verdict = not include
    return verdict


def test_the_data_volume_is_created_for_the_unprivileged_user_before_it_is_declared() -> None:
    steps = instructions()
    user = next(args for word, args in steps if word == "USER")
    volume_at = next(i for i, (word, _) in enumerate(steps) if word == "VOLUME")
    assert '"/data"' in steps[volume_at][1]
    before = " && ".join(args for word, args in steps[:volume_at] if word == "RUN")
    commands = [shlex.split(command) for command in before.split("&&")]
    assert ["mkdir", "/data"] in commands or ["mkdir", "-p", "/data"] in commands
    assert ["chown", f"{user}:{user}", "/data"] in commands
    assert ["chmod", "0700", "/data"] in commands
    assert ("ENV", "DIARYBOT_DATA_DIR=/data") in steps


def test_the_build_context_leaves_out_the_venv_the_diary_and_secrets() -> None:
    for private in (
        ".venv/bin/python",
        ".venv-synapse/lib/site.py",
        "data/diary.sqlite3",
        "data/diary.sqlite3-wal",
        "data/media/ab/abcdef",
        "deploy/.env",
        ".git/config",
        "bot/__pycache__/cli.cpython-311.pyc",
        "storage/diary.sqlite3",
        "tests/test_cli.py",
    ):
        assert ignored(private), private


def test_everything_the_dockerfile_copies_is_in_the_build_context() -> None:
    copied = [
        source for word, args in instructions() if word == "COPY" for source in args.split()[:-1]
    ]
    assert copied
    for source in copied:
        files = [source] if (ROOT / source).is_file() else []
        files += [
            str(path.relative_to(ROOT))
            for path in (ROOT / source).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        ]
        assert files, source
        assert not [name for name in files if ignored(name)], source
