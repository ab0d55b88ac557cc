"""`diarybot export`: the analysts' export of one cluster or all of them, as a zip file.

`--format json` gives `cluster-diary.json` (described by `storage/schemas/export-1.schema.json`)
and `--format csv` gives `contributions.csv`, each zipped with the media files the records name;
`--format docx` gives the Cluster Diary document itself (`bot.export_docx`), `--format html` a
folder of web pages and `--format md` Markdown in a zip, each in each cluster's language unless
`--language` says otherwise. `--public` makes the public version instead (`storage.publication`):
only entries approved for it, of authors whose consent is current, nothing that leads back to
the private diary. The audit log records every export: which clusters, which format, public or
not, that it came from the command line.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlmodel import col, select

from bot.cli_args import _cluster_ref
from bot.exports import FORMATS, gather, write
from bot.settings import LANGUAGES, Settings
from storage.clusters import find_cluster
from storage.db import Database
from storage.export_data import entries_in
from storage.media import MediaStore
from storage.models import Cluster
from storage.types import utcnow


def add_export_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `export` to the command line."""
    export = sub.add_parser("export", help="export clusters' diaries for analysis (a zip file)")
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--cluster", type=_cluster_ref, help="cluster name or id")
    which.add_argument("--all", action="store_true", help="every cluster")
    export.add_argument("--format", choices=FORMATS, required=True, help="what to write")
    export.add_argument("-o", "--output", type=Path, required=True, help="the file to write")
    export.add_argument(
        "--language", choices=LANGUAGES, help="docx, html, md: default, each cluster's"
    )
    export.add_argument(
        "--public",
        action="store_true",
        help="the public version: approved entries of consenting authors, details masked",
    )


def export_work(
    args: argparse.Namespace, settings: Settings
) -> Callable[[Database], Awaitable[None]]:
    """What `diarybot export` does with the database."""

    async def work(db: Database) -> None:
        async with db.session() as session:
            if args.all:
                query = select(Cluster).order_by(col(Cluster.id))
                clusters = list((await session.exec(query)).all())
            else:
                clusters = [await find_cluster(session, name_or_id=args.cluster)]
            scope = "all" if args.all else f"cluster:{clusters[0].id}"
            export = await gather(
                session,
                clusters=clusters,
                scope=scope,
                fmt=args.format,
                now=utcnow(),
                by="command line",
                public=settings.consent_version if args.public else None,
                language=args.language,
            )
        media = MediaStore(settings.resolved_media_dir)
        missing = await write(
            export, fmt=args.format, media=media, destination=args.output, language=args.language
        )
        note = f" ({missing} files missing from the media folder)" if missing else ""
        version = "public version, " if args.public else ""
        counts = f"{len(clusters)} clusters, {entries_in(export)} entries"
        print(f"{args.output}: {version}{counts}{note}")

    return work
