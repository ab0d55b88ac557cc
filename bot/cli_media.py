"""`diarybot media gc`: remove the evidence files no evidence row uses any more.

Files are left without a row when evidence was erased in a way that could not remove them (the
bot stopped between the commit and the removal) or by an upload whose message then failed;
`.incoming-*` files are writes that were interrupted. A file stays while any row names it, and
whatever its use while it is younger than `--min-age-hours`: a message being handled has its
file on disk before its evidence row is committed, and a file reused by such a message counts
as new again (see `storage.media`).

The output names each file by its hash (a stray temporary file by its path in the store) and
size, nothing about what it holds, then a summary line.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Awaitable, Callable

from bot.cli_args import _whole_number
from bot.settings import Settings
from storage.db import Database
from storage.media import MediaStore, StoredFile
from storage.media_refs import CHUNK, referenced

MAX_AGE_HOURS = 24 * 365 * 10


def add_media_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `media` to the command line."""
    media = sub.add_parser("media", help="maintain the evidence files on disk")
    media_sub = media.add_subparsers(dest="media_command", required=True, metavar="ACTION")
    gc = media_sub.add_parser("gc", help="remove evidence files no entry uses any more")
    gc.add_argument("--dry-run", action="store_true", help="list what would go, remove nothing")
    gc.add_argument(
        "--min-age-hours",
        # At least an hour: a file younger than its message's handling must never go.
        type=_whole_number(1, MAX_AGE_HOURS),
        default=24,
        help="keep every file written or reused more recently than this",
    )


async def unused_files(store: MediaStore, db: Database, *, older_than: float) -> list[StoredFile]:
    """The files not modified since `older_than` that no evidence row names, strays included."""
    old = [f for f in await store.inventory() if f.modified < older_than]
    digests = sorted({f.digest for f in old if f.digest})
    used: set[str] = set()
    for start in range(0, len(digests), CHUNK):
        # A session a chunk: on SQLite each holds the write lock, and the bot writes between.
        async with db.session() as session:
            used |= await referenced(session, digests=digests[start : start + CHUNK])
    unused = [f for f in old if f.digest not in used]
    return sorted(unused, key=lambda f: (f.digest is None, f.digest or f.path.name))


def _name(store: MediaStore, found: StoredFile) -> str:
    if found.digest is not None:
        return found.digest
    return f"stray temporary file {found.path.relative_to(store.root)}"


def media_work(
    args: argparse.Namespace, settings: Settings
) -> Callable[[Database], Awaitable[None]]:
    """What `diarybot media gc` does with the database and the media folder."""

    async def work(db: Database) -> None:
        store = MediaStore(settings.resolved_media_dir)
        older_than = time.time() - args.min_age_hours * 3600
        files = await unused_files(store, db, older_than=older_than)
        if not args.dry_run:
            files = await store.discard(files, older_than=older_than)
        verb = "would remove" if args.dry_run else "removed"
        for found in files:
            print(f"{verb} {_name(store, found)} ({found.size:,} bytes)")
        total = sum(f.size for f in files)
        files_word = "file" if len(files) == 1 else "files"
        summary = f"{verb} {len(files)} {files_word}, {total:,} bytes"
        print(f"{summary} (dry run: nothing was removed)" if args.dry_run else summary)

    return work
