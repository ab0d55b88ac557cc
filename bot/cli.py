"""The `diarybot` command: run the bot, chat in the console, upgrade the database, administer.

Every failure an operator can cause (a bad setting or argument, an unreachable database, an
unknown cluster, no channel to run) ends with one line on stderr and exit status 2, never a
traceback; nothing printed or logged contains a secret (see `bot.logs`).

The event loop is uvloop's when uvloop is installed (it is a dependency on Linux and macOS),
asyncio's own otherwise. Every message is a chain of small awaits (each SQLite statement hops to
aiosqlite's thread and back, each Bot API call is a socket round trip), and uvloop's loop runs
them with less CPU and steadier latency: in `benchmarks/telegram_echo.py`, 0.82x and 0.90x the
CPU per message of a burst and 0.69x and 0.42x the p99 latency at 50 messages a second (two sets
of 4 interleaved runs, medians, load 2.2-3.5).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlmodel import col, select

from bot.app import App, build_app, configured_channels
from bot.channel import ChannelError
from bot.channels.console import ConsoleChannel
from bot.cli_args import parser
from bot.cli_calendar import calendar_work
from bot.cli_retention import end_work, retention_work
from bot.demo import create_demo
from bot.logs import Redactor, logging_to_stderr, secrets_of
from bot.settings import (
    Settings,
    SettingsError,
    load_settings,
    unknown_environment,
)
from storage.clusters import (
    ClusterError,
    add_school,
    create_cluster,
    create_invite,
    find_cluster,
    schools_of,
)
from storage.db import Database, DatabaseError
from storage.media import make_private_dirs
from storage.models import Cluster, InvitePurpose, SchoolKind

log = logging.getLogger("diarybot")


NO_CHANNEL = (
    "no channel is configured and stdin is not a terminal: set DIARYBOT_TELEGRAM_TOKEN "
    "(Telegram) or DIARYBOT_MATRIX_HOMESERVER and DIARYBOT_MATRIX_USER_ID (Matrix), "
    "or chat in a terminal with `diarybot console --as NAME`"
)


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


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except ValueError:  # closed
        return False


async def _run(settings: Settings, user: str | None) -> None:
    # The Matrix crypto store and the media live here: create it private before anything else.
    await asyncio.to_thread(make_private_dirs, settings.data_dir)
    app = await build_app(settings)
    channels = configured_channels(settings, app.db)
    if not channels:
        if not _stdin_is_terminal():  # systemd, docker: a console would read nothing and quit
            await app.db.close()
            raise SettingsError(NO_CHANNEL)
        channels = [ConsoleChannel(user=user or getpass.getuser())]
        print(
            "No Telegram or Matrix settings found: chatting in this terminal "
            "(type /help, Ctrl-D to quit).",
            file=sys.stderr,
        )
    for channel in channels:
        app.add_channel(channel)
    # What start-up built (modules, classes, the app) lives as long as the process. A full
    # garbage collection walked all of it, some 150,000 objects: a 90 ms stall of every
    # message in flight, now and then. Frozen, later collections skip it.
    gc.freeze()
    await _serve(app)


async def _upgraded(db: Database) -> None:
    print(f"database is up to date: {db.display_url}")


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
        await _with_db(settings, _upgraded)
    elif args.command == "demo":
        await _with_db(settings, lambda db: _demo(db, settings, args.json))
    elif args.command == "cluster" and args.cluster_command == "end":
        await _with_db(settings, end_work(args, settings))
    elif args.command == "cluster":
        await _with_db(settings, lambda db: _cluster(db, settings, args))
    elif args.command == "school":
        await _with_db(settings, lambda db: _school(db, args))
    elif args.command == "invite":
        await _with_db(settings, lambda db: _invite(db, args))
    elif args.command == "calendar":
        await _with_db(settings, calendar_work(args))
    elif args.command == "digest":
        from bot.cli_digest import digest_work  # the digest's drawing is not for other commands

        await _with_db(settings, digest_work(args))
    elif args.command == "media":
        from bot.cli_media import media_work

        await _with_db(settings, media_work(args, settings))
    elif args.command == "retention":
        await _with_db(settings, retention_work(args, settings))
    elif args.command == "export":
        from bot.cli_export import export_work

        await _with_db(settings, export_work(args, settings))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop factory: uvloop's when it is installed, else None (asyncio's)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `diarybot` console script."""
    args = parser().parse_args(argv)
    for line in unknown_environment(os.environ):
        print(f"diarybot: warning: {line}", file=sys.stderr)
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        print(f"diarybot: error: {exc}", file=sys.stderr)
        return 2
    redact = Redactor(secrets_of(settings))
    with logging_to_stderr(redact, verbose=args.verbose):
        try:
            with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                runner.run(_dispatch(args, settings))
        except (SettingsError, DatabaseError, ClusterError, ChannelError) as exc:
            print(f"diarybot: error: {redact(str(exc))}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            return 130
        except Exception:  # a bug: its traceback goes through the redacting log handler
            log.critical("diarybot stopped by an unexpected error", exc_info=True)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
