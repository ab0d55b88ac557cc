"""A message edited after it was sent: the diary follows an answer still in the entry being written.

Telegram (`edited_message`) and Matrix (`m.replace`) let a person correct what they sent. When
the edited message was taken as an answer (or the reflection) of the entry they are writing, the
saved answer becomes the edited text, and the bot says so; the walk-through stays where it is.
An edit of anything else (an answer of an entry already added, a command, a message from
before) changes nothing, and the reply says that `/mine` is the way to change the diary. Edits
in group chats are not the diary's and get no answer.

Which message gave which answer is the entry's own record (`DiaryEntry.sources`, written by
`storage.diary.set_part`), which a deleted message follows too (`handlers.deletions`).
"""

from __future__ import annotations

from bot.messages import ChatKind, Reply
from handlers.context import Context, say
from storage.diary import REFLECTION, set_part, touch
from storage.models import DiaryEntry, EntryStatus

# The entry walk-through's flow (`handlers.entry` takes its name from here).
FLOW = "entry"


async def _being_written(ctx: Context) -> DiaryEntry | None:
    """The person's draft of the walk-through they are in, if they are in one."""
    entry_id = ctx.data.get("entry_id") if ctx.state.flow == FLOW else None
    entry = await ctx.session.get(DiaryEntry, entry_id) if entry_id else None
    if entry is None or entry.status != EntryStatus.DRAFT or entry.author_id != ctx.person.id:
        return None
    return entry


async def edited(ctx: Context) -> list[Reply]:
    """Apply the edit to the answer it gave, or say where changes are made."""
    if ctx.msg.chat.kind == ChatKind.GROUP:
        return []
    entry = await _being_written(ctx)
    part = (entry.sources or {}).get(ctx.msg.edit_of or "") if entry is not None else None
    text = ctx.msg.text.strip()
    if entry is None or part is None or not text:
        return [say(ctx.t("edits.elsewhere"))]
    set_part(entry, part, text, ctx.msg.edit_of or "")  # the same message, said anew
    if part == REFLECTION:
        label = ctx.t("export.column_reflection")
    else:
        label = ctx.t(f"labels.{entry.section}.{part}")
    touch(entry, ctx.now)
    ctx.session.add(entry)
    if ctx.state.step == "preview":  # what they are about to add shows the change
        ctx.ask_again = True
    return [say(ctx.t("edits.applied", part=label))]
