"""/mine: a contributor reviews their own entries and edits, extends, hides or deletes them.

This is the briefing's right to review and withdraw: every change is written at once and
leaves an audit record; deletion is soft (the row stays, marked deleted, for the audit trail).
"""

from __future__ import annotations

from bot.messages import Button, Reply
from handlers.context import Context, confirm, say
from handlers.evidence import link_in, take_evidence
from handlers.render import render_entry, snippet, visibility_question
from handlers.sections import QUESTIONS
from storage.diary import (
    REFLECTION,
    audit_entry,
    count_entries,
    delete_entry,
    entries_of,
    evidence_of,
    own_entry,
    set_part,
    touch,
)
from storage.models import DiaryEntry, EvidenceItem, Visibility

FLOW = "review"
# Entries on a page of /mine, and the buttons that turn its pages.
PAGE = 10
OLDER, NEWER = "older", "newer"
ACTIONS = ("edit", "add", "remove", "visibility", "delete", "back")
# Without current consent a person may still take things back, but not add or change them.
RETRACTING_ACTIONS = ("remove", "delete", "back")


async def mine(ctx: Context) -> list[Reply]:
    """/mine: the person's entries, newest first (from the first page, whatever was open)."""
    ctx.goto(FLOW, "list", page=0)
    return await ask(ctx)


async def _current(ctx: Context) -> DiaryEntry | None:
    entry_id = ctx.data.get("entry_id")
    if entry_id is None:
        return None
    assert ctx.person.id is not None
    return await own_entry(ctx.session, entry_id=int(entry_id), author_id=ctx.person.id)


async def ask(ctx: Context) -> list[Reply]:
    """Show the current review step again."""
    step = ctx.state.step
    if step == "list":
        return await _ask_list(ctx)
    entry = await _current(ctx)
    if entry is None:
        ctx.goto(FLOW, "list")
        return await _ask_list(ctx)
    assert entry.id is not None
    items = await evidence_of(ctx.session, entry_id=entry.id)
    if step == "entry":
        actions = ACTIONS if ctx.consents else RETRACTING_ACTIONS
        buttons = [ctx.choice(f"review.action.{action}", action) for action in actions]
        return [say(render_entry(ctx, entry, items), *buttons)]
    if step == "edit_pick":
        buttons = [
            ctx.choice(f"labels.{entry.section}.{key}", key) for key in QUESTIONS[entry.section]
        ]
        buttons.append(ctx.choice("entry.reflection_label", REFLECTION))
        return [say(ctx.t("review.edit_which"), *buttons)]
    if step == "edit_text":
        back = ctx.choice("review.action.back", "back")
        return [say(ctx.t("review.edit_send"), back, expects_text=True)]
    if step == "add":
        return [say(ctx.t("review.add_send"), ctx.choice("review.done", "back"))]
    if step == "remove":
        buttons = [
            Button(_item_label(ctx, n, item), str(item.id)) for n, item in enumerate(items, 1)
        ]
        return [
            say(ctx.t("review.remove_which"), *buttons, ctx.choice("review.action.back", "back"))
        ]
    if step == "visibility":
        return [visibility_question(ctx)]
    if step == "delete":
        return [confirm(ctx, "review.delete_confirm", "review.delete_yes")]
    return await _ask_list(ctx)


def _item_label(ctx: Context, n: int, item: EvidenceItem) -> str:
    described = item.caption or item.url or item.filename or ""
    kind = ctx.t(f"evidence.kind.{item.kind}")
    return f"{n}. {kind} {described}"[:60].strip()


async def _ask_list(ctx: Context) -> list[Reply]:
    """A page of the person's entries, newest first, with the way to older and newer ones."""
    assert ctx.person.id is not None
    total = await count_entries(ctx.session, author_id=ctx.person.id)
    # A page that emptied meanwhile (entries deleted) gives way to the last one there is.
    page = min(int(ctx.data.get("page", 0)), max(total - 1, 0) // PAGE)
    entries = await entries_of(ctx.session, author_id=ctx.person.id, limit=PAGE, offset=page * PAGE)
    if not entries:
        ctx.finish()
        return [say(ctx.t("review.none"), ctx.choice("buttons.add", "/add"))]
    first = page * PAGE + 1
    if total == 1:  # said apart: a plural "one" form is more than 1 in some languages (21 hr)
        header = ctx.t("review.header_single")
    else:
        header = ctx.t.plural("review.header", total, first=first, last=first + len(entries) - 1)
    lines, buttons = [header], []
    for n, (entry, evidence_count) in enumerate(entries, 1):
        when = (entry.submitted_at or entry.created_at).strftime("%d.%m.%Y")
        section = ctx.t(f"sections.{entry.section}")
        lines.append(f"{n}. {section} · {when} · 📎{evidence_count}\n   {snippet(entry)}")
        buttons.append(Button(f"{n}. {section}", str(entry.id)))
    if first + len(entries) <= total:
        buttons.append(ctx.choice("review.older", OLDER))
    if page:
        buttons.append(ctx.choice("review.newer", NEWER))
    ctx.update(page=page)
    return [say("\n".join(lines), *buttons)]


async def handle(ctx: Context) -> list[Reply]:
    """The next message while reviewing."""
    step, choice = ctx.state.step, ctx.msg.button
    if step == "list":
        if choice is None:
            return [say(ctx.t("errors.use_buttons")), *await ask(ctx)]
        if choice in (OLDER, NEWER):
            page = int(ctx.data.get("page", 0))
            ctx.update(page=max(page + (1 if choice == OLDER else -1), 0))
            return await ask(ctx)
        ctx.goto(FLOW, "entry", entry_id=ctx.button_id())
        return await ask(ctx)
    entry = await _current(ctx)
    if entry is None:
        ctx.goto(FLOW, "list")
        return [say(ctx.t("entry.gone")), *await ask(ctx)]
    if choice == "back" and step != "entry":
        ctx.goto(FLOW, "entry")
        return await ask(ctx)
    if step == "add" and (ctx.msg.attachments or link_in(ctx.msg.text)):
        replies = await take_evidence(ctx, entry)
        await _changed(ctx, entry, "entry.evidence_added")
        return replies
    if step == "edit_text" and choice is None:
        return await _save_text(ctx, entry)
    if choice is None:
        return [say(ctx.t("errors.use_buttons")), *await ask(ctx)]
    return await _choose(ctx, entry, step, choice)


async def _choose(ctx: Context, entry: DiaryEntry, step: str, choice: str) -> list[Reply]:
    if step == "entry" and choice in ACTIONS:
        if choice == "remove" and not await evidence_of(ctx.session, entry_id=entry.id):  # type: ignore[arg-type]
            return [say(ctx.t("review.no_evidence")), *await ask(ctx)]
        next_step = {"edit": "edit_pick", "back": "list"}.get(choice, choice)
        ctx.goto(FLOW, next_step)
        return await ask(ctx)
    if step == "edit_pick" and (choice in QUESTIONS[entry.section] or choice == REFLECTION):
        ctx.goto(FLOW, "edit_text", part=choice)
        return await ask(ctx)
    if step == "remove":
        return await _remove(ctx, entry, choice)
    if step == "visibility" and choice in set(Visibility):
        entry.visibility = choice
        await _changed(ctx, entry, "entry.visibility", visibility=choice)
        ctx.goto(FLOW, "entry")
        return [say(ctx.t("review.saved")), *await ask(ctx)]
    if step == "delete":
        if choice == "yes":
            assert ctx.person.id is not None
            await delete_entry(ctx.session, entry=entry, person_id=ctx.person.id)
            ctx.goto(FLOW, "list")
            return [say(ctx.t("review.deleted")), *await ask(ctx)]
        ctx.goto(FLOW, "entry")
    return await ask(ctx)


async def _save_text(ctx: Context, entry: DiaryEntry) -> list[Reply]:
    text = ctx.msg.text.strip()
    if not text:
        return [say(ctx.t("errors.empty"))]
    part = ctx.data.get("part")
    if part in (REFLECTION, *QUESTIONS[entry.section]):
        # The text now comes from this message: deleting the one it replaced takes nothing out.
        set_part(entry, part, text, ctx.msg.message_id)
    await _changed(ctx, entry, "entry.edited", part=part)
    ctx.goto(FLOW, "entry")
    return [say(ctx.t("review.saved")), *await ask(ctx)]


async def _remove(ctx: Context, entry: DiaryEntry, choice: str) -> list[Reply]:
    items = {str(item.id): item for item in await evidence_of(ctx.session, entry_id=entry.id)}  # type: ignore[arg-type]
    item = items.get(choice)
    if item is None:
        return await ask(ctx)
    item.removed_at = ctx.now
    ctx.session.add(item)
    await _changed(ctx, entry, "entry.evidence_removed", item=item.id)
    ctx.goto(FLOW, "entry")
    return [say(ctx.t("review.removed")), *await ask(ctx)]


async def _changed(ctx: Context, entry: DiaryEntry, action: str, **detail: object) -> None:
    touch(entry, ctx.now)
    ctx.session.add(entry)
    await audit_entry(ctx.session, person_id=ctx.person.id, entry=entry, action=action, **detail)
