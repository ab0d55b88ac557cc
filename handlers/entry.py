"""/add: the walk-through that adds one entry to a school's diary, and /cancel.

Steps: (school, for coordinators or people in several schools) → section → the section's guiding
questions one at a time (answer, skip, or "that's all") → an optional reflection with a few
rotating themes → preview → submit → visibility. Evidence can be sent at any step once the
section is chosen. The entry is a draft row from the moment the section is picked, and every
answer is written to it as it arrives.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from bot.messages import Button, Reply
from handlers import edits
from handlers.context import Context, confirm, say
from handlers.evidence import link_in, take_evidence
from handlers.onboarding import menu
from handlers.render import render_entry, visibility_question
from handlers.sections import (
    CONTRIBUTOR_SECTIONS,
    COORDINATOR_SECTIONS,
    QUESTIONS,
    themes_for,
)
from storage.clusters import schools_of
from storage.diary import (
    REFLECTION,
    confirmed_focus,
    delete_entry,
    evidence_of,
    open_draft,
    set_part,
    start_draft,
    touch,
)
from storage.models import DiaryEntry, EntryStatus, School, SchoolKind, Visibility
from storage.people import audit

FLOW = edits.FLOW
# Flows that hand a walk-through over and take the person back once the entry is submitted:
# the draft key they leave their place under, and what then runs (registered by each flow).
Resume = Callable[[Context, dict[str, Any], DiaryEntry], Awaitable[list[Reply]]]
AFTER_SUBMIT: dict[str, Resume] = {}


async def _schools(ctx: Context) -> list[School]:
    """The schools whose diary this person may add to: their own, or every mentee school."""
    schools: dict[int, School] = {}
    for membership in await ctx.memberships():
        if membership.school is not None:
            schools[membership.school.id] = membership.school  # type: ignore[index]
        elif membership.is_coordinator:
            assert membership.cluster.id is not None
            for school in await schools_of(ctx.session, cluster_id=membership.cluster.id):
                if school.kind == SchoolKind.MENTEE:
                    schools[school.id] = school  # type: ignore[index]
    return list(schools.values())


async def _sections(ctx: Context) -> tuple[str, ...]:
    """The sections this person may write: coordinators also write the meeting notes."""
    coordinator = any(m.is_coordinator for m in await ctx.memberships())
    return COORDINATOR_SECTIONS if coordinator else CONTRIBUTOR_SECTIONS


async def _entry(ctx: Context) -> DiaryEntry | None:
    entry_id = ctx.data.get("entry_id")
    entry = await ctx.session.get(DiaryEntry, entry_id) if entry_id else None
    return entry if entry is not None and entry.status == EntryStatus.DRAFT else None


async def add(ctx: Context) -> list[Reply]:
    """/add: continue an unfinished entry, or start a new one."""
    assert ctx.person.id is not None
    draft = await open_draft(ctx.session, author_id=ctx.person.id)
    if draft is not None:
        ctx.goto(FLOW, "draft", entry_id=draft.id)
        return await ask(ctx)
    return await _begin(ctx)


async def _begin(ctx: Context) -> list[Reply]:
    schools = await _schools(ctx)
    if not schools:
        ctx.finish()
        return [say(ctx.t("entry.no_school"))]
    if len(schools) == 1:
        ctx.goto(FLOW, "section", school_id=schools[0].id)
    else:
        ctx.goto(FLOW, "school")
    return await ask(ctx)


async def ask(ctx: Context) -> list[Reply]:
    """Say the current step's question again (after a restart, a stale button, a detour)."""
    step = ctx.state.step
    if step == "draft":
        entry = await _entry(ctx)
        section = ctx.t(f"sections.{entry.section}") if entry else "?"
        return [
            say(
                ctx.t("entry.draft_found", section=section),
                ctx.choice("entry.continue", "continue"),
                ctx.choice("entry.start_new", "new"),
            )
        ]
    if step == "school":
        buttons = [Button(s.name, str(s.id)) for s in await _schools(ctx)]
        return [say(ctx.t("entry.which_school"), *buttons)]
    if step == "section":
        return await _ask_section(ctx)
    if step == "question":
        return _ask_question(ctx)
    if step == "reflection":
        themes = themes_for(int(ctx.data.get("entry_id", 0)))
        ideas = "\n".join(f"• {ctx.t(f'themes.{theme}')}" for theme in themes)
        skip = ctx.choice("entry.skip", "skip")
        return [say(ctx.t("entry.reflection", ideas=ideas), skip, expects_text=True)]
    if step == "preview":
        return await _preview(ctx)
    if step == "visibility":
        return [visibility_question(ctx)]
    if step == "cancel":
        return [confirm(ctx, "cancel.confirm", "cancel.yes")]
    ctx.finish()
    return []


async def _ask_section(ctx: Context) -> list[Reply]:
    school_id = int(ctx.data["school_id"])
    school = await ctx.session.get(School, school_id)
    focus = await confirmed_focus(ctx.session, school_id=school_id)
    intro = (
        ctx.t("entry.focus_is", school=school.name if school else "", focus=focus.title)
        if focus
        else ctx.t("entry.no_focus_yet", school=school.name if school else "")
    )
    buttons = [ctx.choice(f"sections.{s}", s) for s in await _sections(ctx)]
    return [say(f"{intro}\n\n{ctx.t('entry.which_section')}", *buttons)]


def _ask_question(ctx: Context, *, hint: bool = True) -> list[Reply]:
    section, index = ctx.data["section"], int(ctx.data["q"])
    keys = QUESTIONS[section]
    text = ctx.t(
        "entry.question",
        section=ctx.t(f"sections.{section}"),
        n=index + 1,
        total=len(keys),
        question=ctx.t(f"questions.{section}.{keys[index]}"),
    )
    if index == 0 and hint:
        text = f"{ctx.t('entry.evidence_hint')}\n\n{text}"
    shortcuts = (ctx.choice("entry.skip", "skip"), ctx.choice("entry.enough", "done"))
    return [say(text, *shortcuts, expects_text=True)]


async def _preview(ctx: Context) -> list[Reply]:
    entry = await _entry(ctx)
    assert entry is not None and entry.id is not None
    items = await evidence_of(ctx.session, entry_id=entry.id)
    return [
        say(
            f"{ctx.t('entry.preview')}\n\n{render_entry(ctx, entry, items)}",
            ctx.choice("entry.submit", "submit"),
            ctx.choice("entry.discard", "discard"),
        )
    ]


async def handle(ctx: Context) -> list[Reply]:
    """The next message inside the walk-through."""
    step, choice = ctx.state.step, ctx.msg.button
    if step == "cancel":
        return await _handle_cancel(ctx)
    if step in ("draft", "school", "section") and choice is None:
        if ctx.msg.attachments:
            return [say(ctx.t("entry.choose_first")), *await ask(ctx)]
        return [say(ctx.t("errors.use_buttons")), *await ask(ctx)]
    if step == "draft":
        return await _handle_draft(ctx, choice)
    if step == "school":
        allowed = {str(s.id) for s in await _schools(ctx)}
        if choice not in allowed:
            return await ask(ctx)
        ctx.goto(FLOW, "section", school_id=int(choice))  # type: ignore[arg-type]
        return await ask(ctx)
    if step == "section":
        return await _handle_section(ctx, choice)
    entry = await _entry(ctx)
    if entry is None:  # deleted elsewhere (e.g. /privacy) while the walk-through was open
        ctx.finish()
        return [say(ctx.t("entry.gone"))]
    if ctx.msg.attachments or link_in(ctx.msg.text):
        replies = await take_evidence(ctx, entry)
        touch(entry, ctx.now)
        ctx.session.add(entry)
        # The question has scrolled away behind the file: say it again, without the hint, in
        # the same message as the word that the file was kept (one notification, not two).
        if not replies:  # the rest of an album, already acknowledged (and asked again)
            return []
        again = _ask_question(ctx, hint=False) if step == "question" else await ask(ctx)
        if again and not replies[-1].buttons:
            said = f"{replies[-1].text}\n\n{again[0].text}"
            return [*replies[:-1], replace(again[0], text=said), *again[1:]]
        return replies + again
    if step == "visibility":
        if choice is None:
            return [say(ctx.t("errors.use_buttons")), *await ask(ctx)]
        return await _submit(ctx, entry, choice)
    if choice is None and not ctx.msg.text.strip():
        return [say(ctx.t("errors.empty"))]
    if step == "question":
        return await _handle_answer(ctx, entry, choice)
    if step == "reflection":
        if choice is None:
            set_part(entry, REFLECTION, ctx.msg.text.strip(), ctx.msg.message_id)
            touch(entry, ctx.now)
            ctx.session.add(entry)
        ctx.goto(FLOW, "preview")
        return await ask(ctx)
    if step == "preview":
        return await _handle_preview(ctx, entry, choice)
    return await ask(ctx)


async def _handle_draft(ctx: Context, choice: str | None) -> list[Reply]:
    entry = await _entry(ctx)
    if choice == "new" and entry is not None:
        assert ctx.person.id is not None
        await delete_entry(ctx.session, entry=entry, person_id=ctx.person.id)
        return await _begin(ctx)
    if entry is None:
        return await _begin(ctx)
    # Pick up after the last answered question; with all answered, at the reflection.
    keys = QUESTIONS[entry.section]
    answered = [i for i, key in enumerate(keys) if entry.activity.get(key)]
    next_question = max(answered, default=-1) + 1
    step = "question" if next_question < len(keys) else "reflection"
    ctx.goto(FLOW, step, school_id=entry.school_id, section=entry.section, q=next_question)
    return await ask(ctx)


async def _handle_section(ctx: Context, choice: str | None) -> list[Reply]:
    if choice not in await _sections(ctx):
        return await ask(ctx)
    assert ctx.person.id is not None
    entry = await start_draft(
        ctx.session,
        author_id=ctx.person.id,
        school_id=int(ctx.data["school_id"]),
        section=choice,  # type: ignore[arg-type]
        language=ctx.t.language,
    )
    ctx.goto(FLOW, "question", entry_id=entry.id, section=choice, q=0)
    return await ask(ctx)


async def _handle_answer(ctx: Context, entry: DiaryEntry, choice: str | None) -> list[Reply]:
    keys = QUESTIONS[entry.section]
    index = int(ctx.data["q"])
    if choice is None:
        set_part(entry, keys[index], ctx.msg.text.strip(), ctx.msg.message_id)
        touch(entry, ctx.now)
        ctx.session.add(entry)
    if choice == "done" or index + 1 >= len(keys):
        ctx.goto(FLOW, "reflection")
    else:
        ctx.goto(FLOW, "question", q=index + 1)
    return await ask(ctx)


def _is_empty(entry: DiaryEntry, evidence_count: int) -> bool:
    return not any(entry.activity.values()) and not entry.reflection and evidence_count == 0


async def _handle_preview(ctx: Context, entry: DiaryEntry, choice: str | None) -> list[Reply]:
    if choice == "discard":
        ctx.goto(FLOW, "cancel", back="preview")
        return await ask(ctx)
    if choice != "submit":
        return await ask(ctx)
    assert entry.id is not None
    if _is_empty(entry, len(await evidence_of(ctx.session, entry_id=entry.id))):
        ctx.goto(FLOW, "question", q=0)
        return [say(ctx.t("entry.empty")), *await ask(ctx)]
    ctx.goto(FLOW, "visibility")
    return await ask(ctx)


async def _submit(ctx: Context, entry: DiaryEntry, choice: str) -> list[Reply]:
    if choice not in set(Visibility):
        return await ask(ctx)
    entry.visibility = choice
    entry.status = EntryStatus.SUBMITTED
    entry.submitted_at = ctx.now
    touch(entry, ctx.now)
    ctx.session.add(entry)
    await audit(
        ctx.session,
        person_id=ctx.person.id,
        action="entry.submitted",
        target=f"entry:{entry.id}",
        detail={"visibility": choice},
    )
    school = await ctx.session.get(School, entry.school_id)
    # A walk-through started by another flow (a meeting's notes) goes back to it afterwards.
    then = next(((key, ctx.data[key]) for key in AFTER_SUBMIT if ctx.data.get(key)), None)
    ctx.finish()
    done = ctx.t(
        "entry.submitted",
        section=ctx.t(f"sections.{entry.section}"),
        school=school.name if school else "",
    )
    if then is not None:
        key, back = then
        return [say(done), *await AFTER_SUBMIT[key](ctx, back, entry)]
    return [say(done, *menu(ctx))]


async def cancel(ctx: Context) -> list[Reply]:
    """/cancel: leave the current conversation; a draft entry is discarded only if confirmed."""
    if ctx.state.flow == FLOW and await _entry(ctx) is not None and ctx.state.step != "cancel":
        ctx.goto(FLOW, "cancel", back=ctx.state.step)
        return await ask(ctx)
    had_flow = bool(ctx.state.flow)
    ctx.finish()
    return [say(ctx.t("cancel.stopped" if had_flow else "cancel.nothing"))]


async def _handle_cancel(ctx: Context) -> list[Reply]:
    choice = ctx.msg.button
    if choice == "yes":
        entry = await _entry(ctx)
        if entry is not None:
            assert ctx.person.id is not None
            await delete_entry(ctx.session, entry=entry, person_id=ctx.person.id)
        ctx.finish()
        return [say(ctx.t("cancel.discarded"), *menu(ctx))]
    if choice == "no":
        ctx.goto(FLOW, ctx.data.get("back") or "question")
        return [say(ctx.t("cancel.kept")), *await ask(ctx)]
    return await ask(ctx)
