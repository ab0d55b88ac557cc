"""The `diarybot` command: run the bot, chat in the console, upgrade the database, administer.

Every failure an operator can cause (a bad setting, an unreachable database, an unknown
cluster) ends with one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from sqlmodel import col, select

from bot.app import App, build_app, configured_channels
from bot.channel import ChannelError
from bot.channels.console import ConsoleChannel
from bot.demo import create_demo
from bot.settings import LANGUAGES, Settings, SettingsError, load_settings
from storage.clusters import (
    ClusterError,
    add_school,
    create_cluster,
    create_invite,
    find_cluster,
    schools_of,
)
from storage.db import Database, DatabaseError
from storage.models import Cluster, InvitePurpose, RoleName, SchoolKind

log = logging.getLogger("diarybot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="diarybot", description="The Cluster Diary bot and its admin tools."
    )
    parser.add_argument("--config", type=Path, help="a TOML settings file (keys as in README)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="start the configured channels (the console if none)")
    run.add_argument("--as", dest="user", default=None, help="console user when no channel is set")

    console = sub.add_parser("console", help="chat with the bot in this terminal")
    console.add_argument("--as", dest="user", required=True, help="who you are in the chat")
    console.add_argument("--chat", help="talk in this group chat instead of a private one")

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="bring the schema to the newest version")

    demo = sub.add_parser("demo", help="create a fictional demo cluster and print invite codes")
    demo.add_argument("--json", action="store_true", help="print one JSON object")

    cluster = sub.add_parser("cluster", help="manage clusters")
    cluster_sub = cluster.add_subparsers(dest="cluster_command", required=True, metavar="ACTION")
    create = cluster_sub.add_parser("create", help="create a cluster")
    create.add_argument("name")
    create.add_argument("--country", default="")
    create.add_argument("--language", choices=LANGUAGES, help="default: the bot's default")
    create.add_argument("--timezone", help="IANA name, default: the bot's time zone")
    cluster_sub.add_parser("list", help="list clusters and their schools")

    school = sub.add_parser("school", help="manage schools")
    school_sub = school.add_subparsers(dest="school_command", required=True, metavar="ACTION")
    add = school_sub.add_parser("add", help="add a school to a cluster")
    add.add_argument("cluster", help="cluster name or id")
    add.add_argument("name")
    add.add_argument("--mentor", action="store_true", help="the cluster's mentor school")

    invite = sub.add_parser("invite", help="issue an invite code")
    invite.add_argument("cluster", help="cluster name or id")
    invite.add_argument("--role", choices=[r.value for r in RoleName], default="contributor")
    invite.add_argument("--school", help="school name (needed for school roles)")
    invite.add_argument("--uses", type=int, default=1, help="how many people may use it (0: any)")
    invite.add_argument("--days", type=int, default=30, help="days until it expires")
    invite.add_argument("--hub", action="store_true", help="a code to link a group as the hub")
    return parser


async def _with_db(
    settings: Settings, work: Callable[[Database], Awaitable[None]] | None = None
) -> None:
    """Open (and upgrade) the database, run `work` on it, close it."""
    db = Database(settings.resolved_database_url)
    try:
        await db.upgrade()
        if work is not None:
            await work(db)
    finally:
        await db.close()


async def _serve(app: App) -> None:
    """Run the app until its channels close; SIGTERM or SIGINT stop it gracefully.

    A graceful stop lets channels finish what is in flight (and Telegram confirm it), so
    `systemctl stop` or `docker stop` neither loses nor repeats a message.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    received: list[str] = []

    def stop(name: str) -> None:
        received.append(name)
        task.cancel()

    handled = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop, sig.name)
            handled.append(sig)
        except (ValueError, RuntimeError, NotImplementedError):
            pass  # not the main thread (embedded, tests) or no signals here: default handling
    try:
        await app.run()
    except asyncio.CancelledError:
        if not received:
            raise
        task.uncancel()
        log.info("stopped by %s", received[0])
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)


async def _console(settings: Settings, user: str, chat: str | None) -> None:
    await _serve(await build_app(settings, {"console": ConsoleChannel(user=user, chat=chat)}))


async def _run(settings: Settings, user: str | None) -> None:
    app = await build_app(settings)
    channels = configured_channels(settings, app.db)
    if not channels:
        channels = [ConsoleChannel(user=user or getpass.getuser())]
        print(
            "No Telegram or Matrix settings found: chatting in this terminal "
            "(type /help, Ctrl-D to quit).",
            file=sys.stderr,
        )
    for channel in channels:
        app.add_channel(channel)
    await _serve(app)


async def _demo(db: Database, settings: Settings, as_json: bool) -> None:
    async with db.session() as session:
        demo = await create_demo(
            session, language=settings.default_language, timezone=settings.timezone
        )
    if as_json:
        print(json.dumps(demo.as_json()))
        return
    print(f"Demo cluster: {demo.cluster}")
    for school in demo.schools:
        print(f"  {school['kind']:6}  {school['name']}")
    print("Invite codes (valid 7 days, any number of uses):")
    for role, code in demo.invites.items():
        print(f"  {role:12} /join {code}")


async def _cluster(db: Database, settings: Settings, args: argparse.Namespace) -> None:
    async with db.session() as session:
        if args.cluster_command == "create":
            cluster = await create_cluster(
                session,
                name=args.name,
                country=args.country,
                language=args.language or settings.default_language,
                timezone=args.timezone or settings.timezone,
            )
            print(f"cluster {cluster.id}: {cluster.name}")
            return
        for cluster in (await session.exec(select(Cluster).order_by(col(Cluster.name)))).all():
            print(f"{cluster.id}  {cluster.name} ({cluster.country}, {cluster.language})")
            assert cluster.id is not None
            for school in await schools_of(session, cluster_id=cluster.id):
                print(f"    {school.kind:6}  {school.name}")


async def _school(db: Database, args: argparse.Namespace) -> None:
    async with db.session() as session:
        cluster = await find_cluster(session, name_or_id=args.cluster)
        assert cluster.id is not None
        kind = SchoolKind.MENTOR if args.mentor else SchoolKind.MENTEE
        school = await add_school(session, cluster_id=cluster.id, name=args.name, kind=kind)
        print(f"school {school.id}: {school.name} ({school.kind}) in {cluster.name}")


async def _invite(db: Database, args: argparse.Namespace) -> None:
    async with db.session() as session:
        cluster = await find_cluster(session, name_or_id=args.cluster)
        assert cluster.id is not None
        school_id = None
        if args.school:
            schools = await schools_of(session, cluster_id=cluster.id)
            match = [s for s in schools if s.name == args.school]
            if not match:
                raise ClusterError("no_school", f"no school {args.school!r} in {cluster.name}")
            school_id = match[0].id
        invite = await create_invite(
            session,
            cluster_id=cluster.id,
            role=args.role,
            school_id=school_id,
            purpose=InvitePurpose.HUB if args.hub else InvitePurpose.JOIN,
            max_uses=args.uses or None,
            valid_for=timedelta(days=args.days),
        )
        print(invite.code)


async def _dispatch(args: argparse.Namespace, settings: Settings) -> None:
    if args.command == "run":
        await _run(settings, args.user)
    elif args.command == "console":
        await _console(settings, args.user, args.chat)
    elif args.command == "db":
        await _with_db(settings)
        print(f"database is up to date: {settings.resolved_database_url}")
    elif args.command == "demo":
        await _with_db(settings, lambda db: _demo(db, settings, args.json))
    elif args.command == "cluster":
        await _with_db(settings, lambda db: _cluster(db, settings, args))
    elif args.command == "school":
        await _with_db(settings, lambda db: _school(db, args))
    elif args.command == "invite":
        await _with_db(settings, lambda db: _invite(db, args))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `diarybot` console script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load_settings(args.config)
        asyncio.run(_dispatch(args, settings))
    except (SettingsError, DatabaseError, ClusterError, ChannelError) as exc:
        print(f"diarybot: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
