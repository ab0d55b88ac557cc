"""`diarybot export`: the analysts' export of one cluster or all of them, as a zip file.

`--format json` gives `cluster-diary.json` (described by `storage/schemas/export-1.schema.json`)
and `--format csv` gives `contributions.csv`, each with the media files the records name.
The audit log records every export: which clusters, which format, that it came from the
command line.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlmodel import col, select

from bot.cli_args import _cluster_ref
from bot.export_files import FORMATS, write_export
from bot.settings import Settings
from storage.clusters import find_cluster
from storage.db import Database
from storage.export_data import cluster_record, export_header
from storage.media import MediaStore
from storage.models import AuditEvent, Cluster
from storage.types import utcnow


def add_export_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `export` to the command line."""
    export = sub.add_parser("export", help="export clusters' diaries for analysis (a zip file)")
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--cluster", type=_cluster_ref, help="cluster name or id")
    which.add_argument("--all", action="store_true", help="every cluster")
    export.add_argument("--format", choices=FORMATS, required=True, help="what the zip holds")
    export.add_argument("-o", "--output", type=Path, required=True, help="the zip file to write")


def export_work(
    args: argparse.Namespace, settings: Settings
) -> Callable[[Database], Awaitable[None]]:
    """What `diarybot export` does with the database."""

    async def work(db: Database) -> None:
        now = utcnow()
        async with db.session() as session:
            if args.all:
                query = select(Cluster).order_by(col(Cluster.id))
                clusters = list((await session.exec(query)).all())
            else:
                clusters = [await find_cluster(session, name_or_id=args.cluster)]
            scope = "all" if args.all else f"cluster:{clusters[0].id}"
            export = export_header(now=now, scope=scope)
            export["clusters"] = [await cluster_record(session, cluster=c) for c in clusters]
            session.add(
                AuditEvent(
                    action="export",
                    target=scope,
                    detail={
                        "clusters": [c.id for c in clusters],
                        "format": args.format,
                        "public": False,
                        "by": "command line",
                    },
                )
            )
        media = MediaStore(settings.resolved_media_dir)
        written = await write_export(export, fmt=args.format, media=media, destination=args.output)
        print(
            f"{args.output}: {written.clusters} clusters, {written.entries} entries, "
            f"{written.files} files"
            + (
                f" ({written.missing} files missing from the media folder)"
                if written.missing
                else ""
            )
        )

    return work
