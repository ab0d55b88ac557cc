"""The `diarybot` command line: its commands and options, and a check on every argument.

A bad argument ends with one line and exit status 2 before anything is opened (argparse's own
status, its message kept to one line); `--help` shows each option's default.
"""

from __future__ import annotations

import argparse
import unicodedata
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import NoReturn

from bot.settings import LANGUAGES, known_time_zone
from storage.models import RoleName
from storage.types import MAX_ROW_ID

MAX_INVITE_DAYS = 3650
MAX_INVITE_USES = 10_000


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default in its help, unless there is none worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False, "") or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (and exit status 2, as argparse's)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        """Print `message` as one line and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _whole_number(low: int, high: int) -> Callable[[str], int]:
    """An argument type: a whole number from `low` to `high`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, not {value}")
        return value

    return parse


def _text(limit: int, *, empty: bool = False) -> Callable[[str], str]:
    """An argument type: text of at most `limit` characters, without control characters."""

    def parse(text: str) -> str:
        value = text.strip()
        if not value and not empty:
            raise argparse.ArgumentTypeError("must not be empty")
        if len(value) > limit:
            raise argparse.ArgumentTypeError(f"must be at most {limit} characters long")
        if any(unicodedata.category(c) == "Cc" for c in value):
            raise argparse.ArgumentTypeError("must not contain control characters")
        return value

    return parse


def _cluster_ref(text: str) -> str:
    """An argument type: a cluster's name, or its id (digits)."""
    value = _text(200)(text)
    if value.isdigit() and not (value.isascii() and 1 <= int(value) <= MAX_ROW_ID):
        raise argparse.ArgumentTypeError(f"{value!r} is neither a cluster name nor a cluster id")
    return value


def _time_zone(text: str) -> str:
    """An argument type: an IANA time zone name such as Europe/Zagreb."""
    try:
        return known_time_zone(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} {exc}") from None


def _version() -> str:
    try:
        return version("cluster-diary-bot")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def parser() -> argparse.ArgumentParser:
    """The parser of the `diarybot` command line."""
    parser = _Parser(prog="diarybot", description="The Cluster Diary bot and its admin tools.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("--config", type=Path, help="a TOML settings file (keys as in README)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    name = _text(200)
    person = _text(64)

    run = sub.add_parser(
        "run",
        help="start the configured channels (the console if none and stdin is a terminal)",
    )
    run.add_argument(
        "--as", dest="user", type=person, help="console user (default: your login name)"
    )

    console = sub.add_parser("console", help="chat with the bot in this terminal")
    console.add_argument("--as", dest="user", type=person, required=True, help="who you are")
    console.add_argument("--chat", type=person, help="talk in this group chat, not a private one")

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="bring the schema to the newest version")

    demo = sub.add_parser("demo", help="create a fictional demo cluster and print invite codes")
    demo.add_argument("--json", action="store_true", help="print one JSON object")

    cluster = sub.add_parser("cluster", help="manage clusters")
    cluster_sub = cluster.add_subparsers(dest="cluster_command", required=True, metavar="ACTION")
    create = cluster_sub.add_parser("create", help="create a cluster")
    create.add_argument("name", type=name, help="the cluster's name (unique)")
    create.add_argument("--country", type=_text(100, empty=True), default="", help="country")
    create.add_argument(
        "--language", choices=LANGUAGES, help="default language (default: the bot's)"
    )
    create.add_argument(
        "--timezone", type=_time_zone, help="IANA time zone name (default: the bot's)"
    )
    cluster_sub.add_parser("list", help="list clusters and their schools")
    from bot.cli_retention import add_end_parser, add_retention_parser

    add_end_parser(cluster_sub)

    school = sub.add_parser("school", help="manage schools")
    school_sub = school.add_subparsers(dest="school_command", required=True, metavar="ACTION")
    add = school_sub.add_parser("add", help="add a school to a cluster")
    add.add_argument("cluster", type=_cluster_ref, help="cluster name or id")
    add.add_argument("name", type=name, help="the school's name")
    add.add_argument("--mentor", action="store_true", help="the cluster's mentor school")

    invite = sub.add_parser("invite", help="issue an invite code")
    invite.add_argument("cluster", type=_cluster_ref, help="cluster name or id")
    invite.add_argument(
        "--role", choices=[r.value for r in RoleName], default="contributor", help="their role"
    )
    invite.add_argument("--school", type=name, help="school name (needed for school roles)")
    invite.add_argument(
        "--uses",
        type=_whole_number(0, MAX_INVITE_USES),
        default=1,
        help="how many people may use it (0: any)",
    )
    invite.add_argument(
        "--days",
        type=_whole_number(1, MAX_INVITE_DAYS),
        default=30,
        help="days until it expires",
    )
    invite.add_argument("--hub", action="store_true", help="a code to link a group as the hub")

    from bot.cli_calendar import add_calendar_parser  # here: it uses this module's types

    add_calendar_parser(sub)
    from bot.cli_digest import add_digest_parser

    add_digest_parser(sub)
    from bot.cli_media import add_media_parser

    add_media_parser(sub)
    add_retention_parser(sub)
    from bot.cli_export import add_export_parser

    add_export_parser(sub)
    return parser
