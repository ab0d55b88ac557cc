"""The JSON shape of one diary entry with its evidence, shared by every export of entries.

A person's own download (`storage.personal_data`) and the analysts' export use the same record,
so a reader of either finds the same fields under the same names. Times are ISO 8601 in UTC
("2026-12-06T09:30:00Z"); the entry's text is given as stored (`activity` maps each guiding
question's key to the answer). Who wrote the entry is left to the caller: a person's own
download needs no author, and the analysts' export decides how to name one.

Evidence files are laid out as `files/<entry id>-<n>-<file name>` (`n` counting the entry's
evidence from 1), so a record can point to its file inside an archive before the archive exists.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from storage.models import Cluster, DiaryEntry, EvidenceItem, School

FILES_DIR = "files"
# Long enough to recognise a file, short enough for every unzip tool and file system.
NAME_LIMIT = 80
_UNSAFE = re.compile(r"[^\w.\-]+")


def iso(moment: datetime | None) -> str | None:
    """A stored time as ISO 8601 UTC with a `Z`, or None."""
    if moment is None:
        return None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def safe_name(item: EvidenceItem) -> str:
    """A file name that unpacks the same everywhere: letters, digits, `.`, `-`, `_` only.

    A photo usually comes without a name; it is then called after its kind, with the extension
    of its MIME type ("photo.jpg").
    """
    name = unicodedata.normalize("NFC", item.filename or "")
    # "Report (final).pdf" becomes "Report_final.pdf", not "Report_final_.pdf".
    name = _UNSAFE.sub("_", name).replace("_.", ".").strip("._")
    if not name:
        name = item.kind + (mimetypes.guess_extension(item.mime or "") or "")
    if len(name) > NAME_LIMIT:
        stem, dot, extension = name.rpartition(".")
        keep = NAME_LIMIT - len(extension) - 1
        name = (
            f"{stem[:keep]}.{extension}" if dot and 0 < len(extension) <= 16 else name[:NAME_LIMIT]
        )
    return name


def evidence_path(entry_id: int, n: int, item: EvidenceItem) -> str:
    """Where the file of the entry's `n`-th evidence item goes inside an archive."""
    return f"{FILES_DIR}/{entry_id}-{n}-{safe_name(item)}"


def evidence_files(entry_id: int, items: Sequence[EvidenceItem]) -> dict[int, str]:
    """For each of the entry's items with a file, by item id, where it goes in an archive."""
    return {
        item.id or 0: evidence_path(entry_id, n, item)
        for n, item in enumerate(items, start=1)
        if item.media_hash
    }


def evidence_record(item: EvidenceItem, *, file: str | None) -> dict[str, Any]:
    """One evidence item; `file` is its path inside the archive, or None (a link, no file)."""
    return {
        "kind": item.kind,
        "file_name": item.filename,
        "mime": item.mime,
        "size": item.size,
        "caption": item.caption,
        "sha256": item.media_hash,
        "url": item.url,
        "duration_s": item.duration_s,
        "transcript": item.transcript,
        "added": iso(item.created_at),
        "removed": iso(item.removed_at),  # taken off the entry; the row and file are kept
        "file": file,
        "withheld": False,  # the public version's: a file it leaves out
    }


def entry_record(
    entry: DiaryEntry,
    *,
    school: School,
    cluster: Cluster,
    evidence: Iterable[EvidenceItem] = (),
    files: Mapping[int, str | None] | None = None,
) -> dict[str, Any]:
    """One entry as JSON-ready data.

    Args:
        entry: the entry.
        school: its school.
        cluster: the school's cluster.
        evidence: its evidence items, in the order they were added.
        files: for each evidence item's id, the path of its file in the archive (None: not
            included); items not in the mapping get None.
    """
    files = files or {}
    return {
        "id": entry.id,
        "cluster": {"id": cluster.id, "name": cluster.name},
        "school": {"id": school.id, "name": school.name, "kind": school.kind},
        "section": entry.section,
        "status": entry.status,
        "visibility": entry.visibility,
        "anonymised": entry.anonymised,
        "language": entry.language,
        "meeting_id": entry.meeting_id,
        "created": iso(entry.created_at),
        "updated": iso(entry.updated_at),
        "submitted": iso(entry.submitted_at),
        "deleted": iso(entry.deleted_at),
        "activity": dict(entry.activity),
        "reflection": entry.reflection,
        "evidence": [evidence_record(item, file=files.get(item.id or 0)) for item in evidence],
    }
