"""A message the person deleted on their platform (a Matrix redaction): the diary lets it go too.

Someone who deletes a message that gave an answer expects the answer gone. When the deleted
message gave an answer or the reflection of one of their entries (`DiaryEntry.sources`), that
part is taken out; when it brought evidence (`EvidenceItem.source_message`), the evidence is
removed, as /mine removes it. The bot says what went, and where: the entry being written, or an
entry already in the diary, whose change also leaves an audit record, as every change /mine
makes does. Taking things out needs no consent (`storage.guard` lets it pass).

Only the person's own entries are searched, and only for deletions in private chats. Deleting
anything else (a chat message, a command, a reaction, an id that is not theirs) gets no answer
at all: people delete chat messages all the time.
"""

from __future__ import annotations

from bot.messages import ChatKind, Reply
from handlers.context import Context, say
from handlers.edits import FLOW
from storage.diary import (
    REFLECTION,
    audit_entry,
    drop_source,
    entry_with_source,
    evidence_from,
    touch,
)
from storage.models import DiaryEntry, EntryStatus


async def deleted(ctx: Context) -> list[Reply]:
    """Take out of the diary what the deleted message gave it, and say so (or say nothing)."""
    message_id = ctx.msg.deleted_of
    if ctx.msg.chat.kind != ChatKind.PRIVATE or not message_id:
        return []
    assert ctx.person.id is not None
    # What went from each entry, in the order found: one line per entry touched.
    gone: dict[int | None, tuple[DiaryEntry, list[str]]] = {}

    entry = await entry_with_source(ctx.session, author_id=ctx.person.id, message_id=message_id)
    part = drop_source(entry, message_id) if entry is not None else None
    if entry is not None and part is not None:
        what = _take_out(ctx, entry, part)
        await _record(ctx, entry, "entry.answer_deleted", part=part)
        gone.setdefault(entry.id, (entry, []))[1].append(what)

    items = await evidence_from(ctx.session, author_id=ctx.person.id, message_id=message_id)
    for item, holder in items:
        item.removed_at = ctx.now
        ctx.session.add(item)
        await _record(ctx, holder, "entry.evidence_deleted", item=item.id)
        what = ctx.t(f"deletions.kind.{item.kind}")
        gone.setdefault(holder.id, (holder, []))[1].append(what)

    replies = []
    for changed, said in gone.values():
        touch(changed, ctx.now)
        ctx.session.add(changed)
        replies.append(say(_told(ctx, changed, ", ".join(said))))
    if replies and ctx.state.flow == FLOW and ctx.state.step == "preview":
        ctx.ask_again = True  # the entry they are about to add is shown without it
    return replies


def _take_out(ctx: Context, entry: DiaryEntry, part: str) -> str:
    """Remove the answer `part` from the entry; how the reply names it."""
    if part == REFLECTION:
        entry.reflection = ""
        return ctx.t("deletions.reflection")
    entry.activity = {key: text for key, text in entry.activity.items() if key != part}
    return ctx.t("deletions.answer", part=ctx.t(f"labels.{entry.section}.{part}"))


async def _record(ctx: Context, entry: DiaryEntry, action: str, **detail: object) -> None:
    """Audit a change to an entry already in the diary; a draft's answers were never audited."""
    if entry.status == EntryStatus.SUBMITTED:
        await audit_entry(
            ctx.session, person_id=ctx.person.id, entry=entry, action=action, **detail
        )


def _told(ctx: Context, entry: DiaryEntry, what: str) -> str:
    if entry.status == EntryStatus.DRAFT:
        return ctx.t("deletions.from_draft", what=what)
    return ctx.t("deletions.from_entry", what=what, section=ctx.t(f"sections.{entry.section}"))
