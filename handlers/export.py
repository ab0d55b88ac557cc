"""/export: a cluster's diary sent in the private chat, as a Word document or as data.

For the cluster's coordinators (national coordinators included) and its analysts, each for the
clusters they hold such a role in: they pick the cluster (or all of theirs) when there are
several, then the full diary or its public version (`storage.publication`), then the form, and
get the file as a document in the chat, in the cluster's language. The records are read in the
message's session (and the export audited there); the file is made once that session is
committed, so the database is not held while the photos are shrunk and zipped. A file bigger
than a chat can carry is not sent: the reply says how the operator makes it with `diarybot
export`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from babel.units import format_unit

from bot.exports import FORMATS, SUFFIX, gather, write
from bot.messages import Button, Reply
from handlers.calendar_show import today_in
from handlers.context import Context, say
from handlers.dates import locale_of, say_day
from handlers.steps import Step, StepFlow
from storage.export_data import entries_in
from storage.models import Cluster, RoleName

FLOW = "export"
ALL = "all"
PUBLIC = "public"
VERSIONS = ("full", PUBLIC)
EXPORTERS = (RoleName.CLUSTER_COORDINATOR, RoleName.NATIONAL_COORDINATOR, RoleName.ANALYST)
# Telegram's cloud Bot API takes bot uploads up to 50 MB; Matrix homeservers mostly as much.
CHAT_LIMIT = 50_000_000


async def _exportable(ctx: Context) -> dict[str, Cluster]:
    """The clusters this person may export, by id as text."""
    return {str(m.cluster.id): m.cluster for m in await ctx.memberships() if m.role in EXPORTERS}


async def command(ctx: Context) -> list[Reply]:
    """/export: the cluster first when there are several, then the form."""
    clusters = await _exportable(ctx)
    if not clusters:
        return [say(ctx.t("export.chat_not_allowed"))]
    if len(clusters) == 1:
        ctx.goto(FLOW, "version", clusters=list(clusters))
    else:
        ctx.goto(FLOW, "cluster")
    return await flow.ask(ctx)


async def ask_cluster(ctx: Context) -> list[Reply]:
    """Which of their clusters, or all of them."""
    buttons = [Button(c.name, key) for key, c in (await _exportable(ctx)).items()]
    return [say(ctx.t("export.which_cluster"), *buttons, ctx.choice("export.all_clusters", ALL))]


async def take_cluster(ctx: Context) -> list[Reply]:
    """The chosen cluster (or all): on to the form."""
    clusters = await _exportable(ctx)
    choice = ctx.msg.button or ""
    if choice != ALL and choice not in clusters:
        return [say(ctx.t("errors.use_buttons"))]
    ctx.goto(FLOW, "version", clusters=list(clusters) if choice == ALL else [choice])
    return []


async def ask_version(ctx: Context) -> list[Reply]:
    """The full diary for analysis, or the public version."""
    buttons = [ctx.choice(f"export.version_{v}", v) for v in VERSIONS]
    return [say(ctx.t("export.which_version"), *buttons)]


async def take_version(ctx: Context) -> list[Reply]:
    """The chosen version: on to the form."""
    version = ctx.msg.button or ""
    if version not in VERSIONS:
        return [say(ctx.t("errors.use_buttons"))]
    ctx.goto(FLOW, "format", clusters=ctx.data.get("clusters", []), public=version == PUBLIC)
    return []


async def ask_format(ctx: Context) -> list[Reply]:
    """The form: Word document, web pages, JSON, CSV or Markdown."""
    buttons = [ctx.choice(f"export.format_{fmt}", fmt) for fmt in FORMATS]
    return [say(ctx.t("export.which_format"), *buttons)]


async def take_format(ctx: Context) -> list[Reply]:
    """Read and audit the export now; make and send the file once this is committed."""
    fmt = ctx.msg.button or ""
    if fmt not in FORMATS:
        return [say(ctx.t("errors.use_buttons"))]
    allowed = await _exportable(ctx)
    clusters = [allowed[key] for key in ctx.data.get("clusters", []) if key in allowed]
    public = bool(ctx.data.get("public"))
    ctx.finish()
    if not clusters:  # their role went meanwhile
        return [say(ctx.t("export.chat_not_allowed"))]
    scope = f"cluster:{clusters[0].id}" if len(clusters) == 1 else "clusters"
    export = await gather(
        ctx.session,
        clusters=clusters,
        scope=scope,
        fmt=fmt,
        now=ctx.now,
        by="chat",
        person_id=ctx.person.id,
        public=ctx.settings.consent_version if public else None,
    )
    names = ", ".join(c.name for c in clusters)
    today = today_in(ctx, clusters[0])
    entries = entries_in(export)
    caption = ctx.t.plural(
        "export.ready",
        entries,
        clusters=names,
        day=say_day(today, ctx.t.language),
        entries=entries,
    )
    version = "-public" if public else ""
    filename = f"cluster-diary{version}-{today.isoformat()}{SUFFIX[fmt]}"
    language = ctx.t.language

    async def made() -> list[Reply]:
        with tempfile.TemporaryDirectory(prefix="diarybot-export-") as folder:
            path = Path(folder) / filename
            await write(export, fmt=fmt, media=ctx.media, destination=path)
            size = path.stat().st_size
            if size > CHAT_LIMIT:
                command = f"{fmt} --public" if public else fmt
                return [_too_big(ctx, size, clusters, command, language)]
            return [Reply(text=caption, document=path.read_bytes(), filename=filename)]

    ctx.after_commit(made)
    return []


def _too_big(ctx: Context, size: int, clusters: list[Cluster], fmt: str, language: str) -> Reply:
    locale = locale_of(language)

    def megabytes(count: int) -> str:
        return format_unit(round(count / 1_000_000), "digital-megabyte", "short", locale=locale)

    # The command line takes one cluster (or every one): one command per cluster of theirs.
    scope = " … ".join(f'--cluster "{c.name}"' for c in clusters)
    return say(
        ctx.t(
            "export.too_big",
            size=megabytes(size),
            limit=megabytes(CHAT_LIMIT),
            scope=scope,
            format=fmt,
        )
    )


STEPS = {
    "cluster": Step(ask_cluster, take_cluster),
    "version": Step(ask_version, take_version),
    "format": Step(ask_format, take_format),
}
flow = StepFlow(FLOW, STEPS, lost="export.chat_not_allowed")
