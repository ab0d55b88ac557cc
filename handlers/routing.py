"""The machinery behind the routing table: command specs, flows, stale buttons, typed labels.

`handlers.router` holds the table itself (which command and flow goes where); this module holds
how a message travels through it, so the table stays readable at a glance.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from enum import IntEnum

from bot.messages import Button, ChatKind, Incoming, Reply
from handlers import hub
from handlers.context import Context, StaleButton, say

Handler = Callable[[Context], Awaitable[list[Reply]]]

OFFERED = "_offered"


class Needs(IntEnum):
    """What a person must have done before a command is allowed, in increasing order."""

    NOTHING = 0
    MEMBERSHIP = 1
    CONSENT = 2


@dataclass(frozen=True)
class Command:
    """A slash command: its handler, what it needs, and whether it works in group chats."""

    handler: Handler
    needs: Needs = Needs.CONSENT
    in_groups: bool = False


@dataclass(frozen=True)
class Flow:
    """A multi-step conversation: `handle` takes the next message, `ask` repeats the question."""

    handle: Handler
    ask: Handler
    # True for the flows that add to the diary: a person who agreed only to an earlier consent
    # text is asked the current one first. The others (reviewing and taking back, privacy,
    # reminders, the calendar) stay open to them; the write guard still refuses new content.
    contributes: bool = False


@dataclass(frozen=True)
class Table:
    """The routing table: commands by name, flows by name, what to do with other messages."""

    commands: Mapping[str, Command]
    flows: Mapping[str, Flow]
    fallback: Handler
    # A reaction to a message (a Matrix hub's way of answering a meeting post).
    reaction: Handler | None = None
    # A message edited after it was sent.
    edit: Handler | None = None
    # A message the person deleted (`Incoming.deleted_of`).
    delete: Handler | None = None
    # Asked instead, in a private chat, when the person agreed to an earlier version of the
    # consent text and their message needs consent; it keeps their place to come back to.
    reconsent: Handler | None = None


def stamp(replies: list[Reply], rev: int) -> list[Reply]:
    """Prefix flow buttons with the state revision; command buttons (`/...`) stay as they are."""
    stamped = []
    for reply in replies:
        if reply.buttons:
            buttons = tuple(
                b if b.data.startswith("/") else Button(b.label, f"{rev}:{b.data}")
                for b in reply.buttons
            )
            reply = replace(reply, buttons=buttons)
        stamped.append(reply)
    return stamped


def _offered_map(replies: list[Reply]) -> dict[str, str]:
    """The choices a typed line may pick: by label, and by number from the last list.

    Kept with the conversation's state, so a restart of the bot (or of the console, which
    numbers the options it prints) forgets none of them.
    """
    own = [r for r in replies if r.chat is None and r.buttons]
    offered = {b.label.casefold(): b.data for r in own for b in r.buttons}
    if own and not own[-1].expects_text:  # a free answer's shortcuts are picked by name only
        offered.update({str(n): b.data for n, b in enumerate(own[-1].buttons, 1)})
    return offered


def _as_button_press(msg: Incoming, offered: dict[str, str]) -> Incoming:
    """Treat typed text equal to an offered button label as a press of that button.

    A typed number picks the option of that number only where the channel shows numbers.
    """
    if msg.button is None and msg.text and not msg.attachments:
        typed = msg.text.strip().casefold()
        if typed.isdigit() and not msg.numbered:
            return msg
        data = offered.get(typed)
        if data is not None:
            return replace(msg, button=data, text="")
    return msg


async def _allowed(table: Table, spec: Command, ctx: Context) -> list[Reply] | None:
    """None when the command may run, otherwise the replies explaining why not."""
    if not spec.in_groups and ctx.msg.chat.kind == ChatKind.GROUP:
        return [say(ctx.t("errors.private_only"))]
    if spec.needs >= Needs.MEMBERSHIP and not await ctx.memberships():
        return [say(ctx.t("errors.join_first"))]
    if spec.needs >= Needs.CONSENT and not ctx.consents:
        return [say(ctx.t("errors.consent_first"), Button(ctx.t("buttons.consent"), "/consent"))]
    return None


def _contributes(table: Table, ctx: Context) -> bool:
    """Whether the message goes on to add to the diary.

    So do a command that needs consent, a step of a contributing flow, and a message outside
    any flow (its answer offers to contribute).
    """
    msg = ctx.msg
    if msg.command is not None:
        spec = table.commands.get(msg.command)
        return spec is not None and spec.needs >= Needs.CONSENT
    flow = table.flows.get(ctx.state.flow)
    return flow is None or flow.contributes


async def route(table: Table, ctx: Context) -> list[Reply]:
    """Find the handler for the message in `ctx`, run it, and stamp the buttons it offers."""
    if ctx.msg.unreadable:
        # Nothing of it reached us; the current step stays as it was.
        private = ctx.msg.chat.kind == ChatKind.PRIVATE
        return [say(ctx.t("errors.unreadable"))] if private else []
    if ctx.msg.reaction is not None:
        # Not a message: nothing of the conversation's state or offered choices applies.
        return await table.reaction(ctx) if table.reaction is not None else []
    if ctx.msg.edit_of is None and ctx.msg.deleted_of is None:  # neither is ever a choice
        ctx.msg = _as_button_press(ctx.msg, ctx.state.data.get(OFFERED, {}))
    msg = ctx.msg
    if msg.button is not None and msg.button.startswith("/"):
        ctx.msg = msg = replace(msg, text=msg.button, button=None)

    replies: list[Reply]
    limit = ctx.settings.max_text_chars
    if msg.moved_from is not None:
        # Not something a person said: the platform telling us a chat changed its id.
        replies = await hub.moved(ctx)
    elif msg.deleted_of is not None:
        # Not a message: no step moves on, and taking something out needs no consent.
        replies = await table.delete(ctx) if table.delete is not None else []
    elif len(msg.text) > limit and (msg.chat.kind == ChatKind.PRIVATE or msg.command):
        # Refused whole, before any handler sees it: the draft stays as it was.
        replies = [say(ctx.t("errors.too_long", length=len(msg.text), limit=limit))]
    elif (
        table.reconsent is not None
        and ctx.consent_outdated
        and msg.chat.kind == ChatKind.PRIVATE
        and _contributes(table, ctx)
    ):
        replies = await table.reconsent(ctx)
    elif msg.edit_of is not None:
        # Not a new message: no step moves on; the edit applies to what it once answered.
        replies = await table.edit(ctx) if table.edit is not None else []
    elif msg.button is not None:
        rev, _, value = msg.button.partition(":")
        flow = table.flows.get(ctx.state.flow)
        try:
            if rev != str(ctx.state.rev) or flow is None:
                raise StaleButton(msg.button)
            ctx.msg = replace(msg, button=value)
            replies = await flow.handle(ctx)
        except StaleButton:
            replies = [say(ctx.t("errors.stale_button"))]
            if flow is not None:
                replies += await flow.ask(ctx)
    elif msg.command is not None:
        spec = table.commands.get(msg.command)
        if spec is None:
            in_group = msg.chat.kind == ChatKind.GROUP
            replies = (
                [] if in_group else [say(ctx.t("errors.unknown_command", command=msg.command))]
            )
        else:
            replies = await _allowed(table, spec, ctx) or await spec.handler(ctx)
    elif msg.chat.kind == ChatKind.GROUP:
        replies = []  # in hub chats the bot answers its commands only
    elif ctx.state.flow in table.flows:
        replies = await table.flows[ctx.state.flow].handle(ctx)
    else:
        replies = await table.fallback(ctx)

    if ctx.ask_again and ctx.state.flow in table.flows:
        replies += await table.flows[ctx.state.flow].ask(ctx)
    replies = stamp(replies, ctx.state.rev)
    offered = _offered_map(replies)
    # An edit's or a deletion's note offers nothing, and the choices on screen stay open.
    noted = msg.edit_of is not None or msg.deleted_of is not None
    if offered or (OFFERED in ctx.state.data and not noted):
        ctx.update(**{OFFERED: offered})
    return replies
