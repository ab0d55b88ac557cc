"""`diarybot digest`: a cluster's digest in the terminal, and its chart as a PNG file.

The same digest a coordinator gets with /digest, in the cluster's language (or `--language`):
from `--since` (a date, YYYY-MM-DD, midnight in the cluster's time zone) or the last 30 days,
up to now. `--chart FILE` writes the chart (the current term per school and section).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.cli_args import _cluster_ref
from bot.cli_calendar import _day
from bot.settings import LANGUAGES
from handlers.digest_text import chart_reply, written
from prompts import Translator
from storage.clusters import ClusterError, find_cluster
from storage.db import Database
from storage.digests import ON_DEMAND
from storage.types import utcnow


def add_digest_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `digest` to the command line."""
    digest = sub.add_parser("digest", help="print a cluster's digest and write its chart")
    digest.add_argument("--cluster", type=_cluster_ref, required=True, help="cluster name or id")
    digest.add_argument(
        "--since", type=_day, help="first day, YYYY-MM-DD (default: the last 30 days)"
    )
    digest.add_argument("--chart", type=Path, help="write the chart to this PNG file")
    digest.add_argument("--language", choices=LANGUAGES, help="default: the cluster's")


def digest_work(args: argparse.Namespace) -> Callable[[Database], Awaitable[None]]:
    """What `diarybot digest` does with the database."""

    async def work(db: Database) -> None:
        now = utcnow()
        async with db.session() as session:
            cluster = await find_cluster(session, name_or_id=args.cluster)
            since = now - ON_DEMAND
            if args.since is not None:
                since = datetime.combine(args.since, time(0), ZoneInfo(cluster.timezone))
                if since >= now:
                    raise ClusterError("since", f"--since {args.since} is in the future")
            t = Translator(args.language or cluster.language)
            digest = await written(session, t, cluster, since=since, now=now)
        print("\n\n".join(reply.text for reply in digest.replies))
        if args.chart is not None and digest.chart is not None:
            chart = await chart_reply(digest.chart)
            assert chart.photo is not None
            await asyncio.to_thread(args.chart.write_bytes, chart.photo)
            print(f"\nchart written to {args.chart}")

    return work
