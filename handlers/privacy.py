"""/privacy: the opt-out. Withdraw consent, or delete every contribution, at any time.

Withdrawing stops further contributions and takes the person's entries out of any public
version (they stay visible to the cluster, as agreed when they were written). Deleting removes
every entry and its evidence from view; both leave an audit record.
"""

from __future__ import annotations

from bot.messages import Reply
from handlers.context import Context, confirm, say
from handlers.onboarding import CONSENT_VERSION
from storage.diary import delete_entry, live_entries
from storage.models import Visibility
from storage.people import audit, record_consent

FLOW = "privacy"


async def privacy(ctx: Context) -> list[Reply]:
    """/privacy: the choices."""
    ctx.goto(FLOW, "menu")
    return await ask(ctx)


async def ask(ctx: Context) -> list[Reply]:
    """The privacy menu, or the confirmation of the chosen action."""
    if ctx.state.step == "menu":
        return [
            say(
                ctx.t("privacy.menu"),
                ctx.choice("privacy.withdraw", "withdraw"),
                ctx.choice("privacy.delete_all", "delete"),
                ctx.choice("privacy.keep", "keep"),
            )
        ]
    key = "privacy.confirm_withdraw" if ctx.state.step == "withdraw" else "privacy.confirm_delete"
    return [confirm(ctx, key, "privacy.yes")]


async def handle(ctx: Context) -> list[Reply]:
    """Carry out the confirmed choice."""
    step, choice = ctx.state.step, ctx.msg.button
    if step == "menu":
        if choice in ("withdraw", "delete"):
            ctx.goto(FLOW, choice)  # type: ignore[arg-type]
            return await ask(ctx)
        ctx.finish()
        return [say(ctx.t("privacy.kept"))]
    if choice != "yes":
        ctx.finish()
        return [say(ctx.t("privacy.kept"))]
    assert ctx.person.id is not None
    entries = await live_entries(ctx.session, author_id=ctx.person.id)
    if step == "withdraw":
        await record_consent(
            ctx.session, person_id=ctx.person.id, version=CONSENT_VERSION, granted=False
        )
        for entry in entries:
            if entry.visibility != Visibility.CLUSTER:
                entry.visibility = Visibility.CLUSTER
                ctx.session.add(entry)
        ctx.finish()
        return [say(ctx.t("privacy.withdrawn"))]
    for entry in entries:
        await delete_entry(ctx.session, entry=entry, person_id=ctx.person.id)
    await audit(
        ctx.session,
        person_id=ctx.person.id,
        action="privacy.deleted_all",
        detail={"entries": len(entries)},
    )
    ctx.finish()
    return [say(ctx.t("privacy.deleted", n=len(entries)))]
