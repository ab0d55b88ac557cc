"""Content-addressed media store: evidence files named by their SHA-256, the same bytes kept once.

Files live at `<root>/<first two hex>/<hash>`; a write goes to a temporary file first and is
renamed into place, so a crash never leaves a half-written file under a valid name. Disk work
runs in a thread so the event loop never blocks on it. Evidence is private: the folders the store
creates are 0700 and its files 0600 (the bot's user only), also under a permissive umask.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path


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


class MediaStore:
    """Stores and reads evidence bytes by hash."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, digest: str) -> Path:
        """Where the file with this SHA-256 hex digest lives."""
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
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

    async def remove(self, digest: str) -> bool:
        """Remove the file stored under `digest`; False when there was none."""
        path = self.path_for(digest)
        try:
            await asyncio.to_thread(path.unlink)
        except FileNotFoundError:
            return False
        return True

    def _put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_for(digest)
        if target.is_file():
            return digest
        make_private_dirs(target.parent)
        # mkstemp creates the file 0600; the rename keeps that mode.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
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
