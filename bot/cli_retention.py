"""`diarybot cluster end` and `diarybot retention`: a cluster's end date and what follows it.

`cluster end NAME YYYY-MM-DD` records the last day of a cluster's work (`--clear` removes it).
`retention --cluster NAME --dry-run` reports what retention would purge and anonymise
(`storage.retention`); `--apply` does it, once the retention day (the end date plus the
`retention_months` setting) has come, or before it with `--early`. Both print counts only,
never a name or a text.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

from bot.cli_args import _cluster_ref
from bot.cli_calendar import _day
from bot.settings import Settings
from storage.clusters import ClusterError, find_cluster
from storage.db import Database
from storage.media import MediaStore
from storage.retention import Retained, apply_retention, retention_day
from storage.types import utcnow

LABELS = {
    "entries_kept": "submitted entries kept without names",
    "entries_erased": "drafts and deleted entries erased",
    "evidence_erased": "evidence items erased",
    "files": "files removed from the disk",
    "roles_removed": "roles in the cluster removed",
    "people_forgotten": "people forgotten (kept only as pseudonymous authors)",
    "people_erased": "people erased",
    "other_rows": "planned messages, meeting answers, invites and hub links removed",
}


def add_end_parser(cluster_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `cluster end` to the command line."""
    end = cluster_sub.add_parser("end", help="set (or clear) the last day of a cluster's work")
    end.add_argument("cluster", type=_cluster_ref, help="cluster name or id")
    end.add_argument("day", type=_day, nargs="?", help="the last day, YYYY-MM-DD")
    end.add_argument("--clear", action="store_true", help="the cluster has no end date")


def add_retention_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `retention` to the command line."""
    retention = sub.add_parser(
        "retention", help="purge and anonymise a cluster's data after its retention period"
    )
    retention.add_argument("--cluster", type=_cluster_ref, required=True, help="name or id")
    how = retention.add_mutually_exclusive_group(required=True)
    how.add_argument("--dry-run", action="store_true", help="report what would be done")
    how.add_argument("--apply", action="store_true", help="do it")
    retention.add_argument(
        "--early", action="store_true", help="apply before the retention day has come"
    )


def end_work(args: argparse.Namespace, settings: Settings) -> Callable[[Database], Awaitable[None]]:
    """What `diarybot cluster end` does with the database."""

    async def work(db: Database) -> None:
        if (args.day is None) == (not args.clear):
            raise ClusterError("end", "give the last day (YYYY-MM-DD) or --clear")
        async with db.session() as session:
            cluster = await find_cluster(session, name_or_id=args.cluster)
            cluster.ends_on = None if args.clear else args.day
            session.add(cluster)
        if cluster.ends_on is None:
            print(f"{cluster.name} has no end date")
            return
        due = retention_day(cluster, settings.retention_months)
        print(
            f"{cluster.name} ends on {cluster.ends_on}; its data is kept until {due} "
            f"(retention_months = {settings.retention_months}), then `diarybot retention` applies"
        )

    return work


def retention_work(
    args: argparse.Namespace, settings: Settings
) -> Callable[[Database], Awaitable[None]]:
    """What `diarybot retention` does with the database."""

    async def work(db: Database) -> None:
        now, started = utcnow(), time.time()
        async with db.session() as session:
            cluster = await find_cluster(session, name_or_id=args.cluster)
            if cluster.retention_applied_at is not None:
                print(f"retention was applied to {cluster.name} on {cluster.retention_applied_at}")
                return
            due = retention_day(cluster, settings.retention_months)
            if due is None:
                raise ClusterError(
                    "no_end", f"{cluster.name} has no end date: set one with `cluster end`"
                )
            today = now.astimezone(ZoneInfo(cluster.timezone)).date()
            if args.apply and today < due and not args.early:
                raise ClusterError(
                    "not_due",
                    f"{cluster.name}'s data is kept until {due}; use --early to apply it now",
                )
            name = cluster.name
            done = await apply_retention(session, cluster=cluster, now=now)
            if args.dry_run:
                await session.rollback()
        if args.apply:
            media = MediaStore(settings.resolved_media_dir)
            for digest in done.files:
                await media.remove(digest, unless_reused_since=started)
        _report(name, due, done, applied=args.apply)

    return work


def _report(name: str, due: object, done: Retained, *, applied: bool) -> None:
    head = "retention applied to" if applied else "dry run: retention would apply to"
    print(f"{head} {name} (kept until {due})")
    for key, count in done.counts().items():
        print(f"  {count:6}  {LABELS[key]}")
