"""Content-addressed media store: evidence files named by their SHA-256, the same bytes kept once.

Files live at `<root>/<first two hex>/<hash>`; a write goes to a temporary file first and is
renamed into place, so a crash never leaves a half-written file under a valid name. Disk work
runs in a thread so the event loop never blocks on it. Evidence is private: the folders the store
creates are 0700 and its files 0600 (the bot's user only), also under a permissive umask.

Storing bytes that are already there touches the file, so a file's modification time says when
it was last written or reused; `diarybot media gc` keeps files younger than its grace age, and
that covers a file reused by a message whose evidence row is not committed yet.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

HEX = frozenset("0123456789abcdef")
# Temporary files of writes in progress; one left behind was interrupted (a crash, a full disk).
INCOMING = ".incoming-"


def make_private_dirs(path: Path) -> None:
    """Create `path` and each missing parent as a folder only its owner can enter (0700).

    Folders that exist already keep their mode: they are the operator's to choose.
    """
    missing: list[Path] = []
    while not path.exists():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:  # made meanwhile by another writer; it used the same mode
            pass


@dataclass(frozen=True)
class StoredFile:
    """A file found in the store: the bytes of `digest`, or (digest None) a stray temporary file."""

    path: Path
    digest: str | None
    size: int
    modified: float  # seconds since the epoch: last written, or reused by `put`


class MediaStore:
    """Stores and reads evidence bytes by hash."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, digest: str) -> Path:
        """Where the file with this SHA-256 hex digest lives."""
        if len(digest) != 64 or not HEX.issuperset(digest):
            raise ValueError(f"not a SHA-256 hex digest: {digest!r}")
        return self.root / digest[:2] / digest

    async def put(self, data: bytes) -> str:
        """Store `data` (once) and return its SHA-256 hex digest."""
        return await asyncio.to_thread(self._put, data)

    async def get(self, digest: str) -> bytes:
        """Read the bytes stored under `digest`."""
        return await asyncio.to_thread(self.path_for(digest).read_bytes)

    async def exists(self, digest: str) -> bool:
        """Whether bytes with this digest are stored."""
        return await asyncio.to_thread(self.path_for(digest).is_file)

    async def remove(self, digest: str, *, unless_reused_since: float = math.inf) -> bool:
        """Remove the file stored under `digest`; whether it went.

        A file `put` reused at or after `unless_reused_since` (seconds since the epoch, such as
        when an erasure found nothing using it) stays: its new evidence row may not be
        committed yet.
        """
        found = StoredFile(self.path_for(digest), digest, 0, 0.0)
        return await asyncio.to_thread(_discard_one, found, unless_reused_since)

    async def inventory(self) -> list[StoredFile]:
        """Every stored file and every stray temporary file, in no particular order.

        Anything else in the folder is not the store's and is left out (and so left alone).
        """
        return await asyncio.to_thread(self._inventory)

    async def discard(self, files: list[StoredFile], *, older_than: float) -> list[StoredFile]:
        """Remove those of `files` still not modified since `older_than`; returns those removed.

        The age is read again at the moment of removal, so a file that `put` reused since it was
        listed stays. Whether a file is referenced is the caller's to check, before.
        """
        return await asyncio.to_thread(self._discard, files, older_than)

    def _inventory(self) -> list[StoredFile]:
        found: list[StoredFile] = []
        try:
            with os.scandir(self.root) as top:
                folders = [e for e in top if _is_prefix_folder(e)]
        except FileNotFoundError:  # nothing was ever stored
            return found
        for folder in folders:
            with os.scandir(folder.path) as entries:
                for entry in entries:
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    if entry.name.startswith(INCOMING):
                        digest = None
                    elif entry.name[:2] == folder.name and len(entry.name) == 64:
                        digest = entry.name
                        if not HEX.issuperset(digest):
                            continue
                    else:
                        continue
                    info = entry.stat(follow_symlinks=False)
                    found.append(StoredFile(Path(entry.path), digest, info.st_size, info.st_mtime))
        return found

    def _discard(self, files: list[StoredFile], older_than: float) -> list[StoredFile]:
        return [found for found in files if _discard_one(found, older_than)]

    def _put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_for(digest)
        try:
            os.utime(target)  # reused: its grace age starts again (see the module docstring)
            return digest
        except FileNotFoundError:
            pass
        make_private_dirs(target.parent)
        # mkstemp creates the file 0600; the rename keeps that mode.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=INCOMING)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest


def _is_prefix_folder(entry: os.DirEntry[str]) -> bool:
    return len(entry.name) == 2 and HEX.issuperset(entry.name) and entry.is_dir()


def _discard_one(found: StoredFile, older_than: float) -> bool:
    """Remove one file if it is still older than `older_than`; whether it went."""
    if found.digest is None:  # a stray temporary file: nothing reuses it
        aside = found.path
    else:
        # Moved aside first, then its age read again: a `put` of the same bytes either touched
        # it before the move (seen now, so it goes back) or finds it gone and writes it anew.
        # A crash in between leaves a stray temporary file, swept by a later run.
        aside = found.path.with_name(f"{INCOMING}gc-{uuid.uuid4().hex[:12]}")
        try:
            os.rename(found.path, aside)
        except FileNotFoundError:
            return False
    try:
        if os.stat(aside).st_mtime >= older_than:
            if aside != found.path:
                os.replace(aside, found.path)  # the same bytes as any copy written meanwhile
            return False
        os.unlink(aside)
    except FileNotFoundError:
        return False
    return True
