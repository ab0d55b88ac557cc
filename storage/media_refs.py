"""Which media files the diary still uses: a digest is in use while any evidence row names it.

Rows of evidence taken off an entry (`removed_at` set) still count: the row is kept, and its
file with it (erasure is what removes both). Digests are asked about a chunk at a time, so a
large store never builds one giant `IN` list (SQLite caps a statement's parameters, PostgreSQL
plans a long list slowly).
"""

from __future__ import annotations

from collections.abc import Collection

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import EvidenceItem

CHUNK = 500


async def referenced(session: AsyncSession, *, digests: Collection[str]) -> set[str]:
    """Those of `digests` that at least one evidence row names."""
    wanted = sorted(set(digests))
    used: set[str] = set()
    for start in range(0, len(wanted), CHUNK):
        rows = await session.exec(
            select(EvidenceItem.media_hash)
            .where(col(EvidenceItem.media_hash).in_(wanted[start : start + CHUNK]))
            .distinct()
        )
        used.update(digest for digest in rows.all() if digest)
    return used
