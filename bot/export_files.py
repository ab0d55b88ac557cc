"""Writing the analysts' export to a file: JSON or CSV, zipped with the media files they name.

The records come from `storage.export_data`, a cluster at a time; the zip is written in a thread,
each media file copied from the store by path (never read whole into memory), uncompressed (the
photos, voice notes and videos are compressed already). A file missing from the store is named
with `file: null` rather than failing the export. The zip is written beside its destination and
renamed into place, readable by the bot's user only: it holds personal data.

CSV has one row per contribution, with a column for each guiding question (by its key, as in
`handlers.sections.QUESTIONS`), UTF-8 with a byte order mark so spreadsheet programs read the
accents right.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from handlers.sections import QUESTIONS
from storage.export_data import evidence_in
from storage.media import MediaStore

FORMATS = ("json", "csv")
JSON_NAME = "cluster-diary.json"
CSV_NAME = "contributions.csv"
QUESTION_KEYS = tuple(key for keys in QUESTIONS.values() for key in keys)
CSV_COLUMNS = (
    "cluster",
    "school",
    "school_kind",
    "entry_id",
    "section",
    "submitted",
    "language",
    "visibility",
    "author",
    "pseudonym",
    "teacher",
    *QUESTION_KEYS,
    "reflection",
    "evidence",
    "transcripts",
)


def _evidence_name(item: dict[str, Any]) -> str:
    """Where an evidence item is: its file in the zip, its address, or its name (or withheld)."""
    if item["withheld"]:
        return "withheld"
    return item["file"] or item["url"] or item["file_name"] or ""


def _csv_rows(export: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for cluster in export["clusters"]:
        for school in cluster["schools"]:
            for entry in school["entries"]:
                evidence = [f"{item['kind']}: {_evidence_name(item)}" for item in entry["evidence"]]
                transcripts = [i["transcript"] for i in entry["evidence"] if i["transcript"]]
                yield {
                    "cluster": cluster["name"],
                    "school": school["name"],
                    "school_kind": school["kind"],
                    "entry_id": entry["id"],
                    "section": entry["section"],
                    "submitted": entry["submitted"],
                    "language": entry["language"],
                    "visibility": entry["visibility"],
                    "author": entry["author"]["name"] or "",
                    "pseudonym": entry["author"]["pseudonym"] or "",
                    "teacher": entry["author"]["teacher"] or "",
                    **{key: entry["activity"].get(key, "") for key in QUESTION_KEYS},
                    "reflection": entry["reflection"],
                    "evidence": "\n".join(evidence),
                    "transcripts": "\n".join(transcripts),
                }


def _write(export: dict[str, Any], fmt: str, media: MediaStore, destination: Path) -> int:
    files: dict[str, Path] = {}
    missing = 0
    for item in evidence_in(export):
        if item["file"] is None:
            continue
        path = media.path_for(item["sha256"])
        if path.is_file():
            files[item["file"]] = path
        else:
            item["file"] = None
            missing += 1
    destination.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp makes the file 0600; the rename keeps that mode.
    fd, tmp = tempfile.mkstemp(dir=destination.parent, prefix=".export-", suffix=".zip")
    try:
        with (
            os.fdopen(fd, "wb") as handle,
            zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        ):
            name = JSON_NAME if fmt == "json" else CSV_NAME
            with archive.open(name, "w", force_zip64=True) as raw:
                if fmt == "json":
                    text = io.TextIOWrapper(raw, encoding="utf-8")
                    json.dump(export, text, ensure_ascii=False, indent=1)
                else:
                    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
                    writer = csv.DictWriter(text, fieldnames=CSV_COLUMNS)
                    writer.writeheader()
                    writer.writerows(_csv_rows(export))
                text.flush()
                text.detach()
            for inside, path in files.items():
                archive.write(path, inside, compress_type=zipfile.ZIP_STORED)
        os.replace(tmp, destination)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return missing


async def write_export(
    export: dict[str, Any], *, fmt: str, media: MediaStore, destination: Path
) -> int:
    """Write `export` (header and clusters, as `storage.export_data` makes them) as a zip.

    Returns how many of the media files its records name were missing from the store.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    return await asyncio.to_thread(_write, export, fmt, media, destination)
