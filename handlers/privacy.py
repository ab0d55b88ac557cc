"""/privacy: see what is kept, withdraw consent, erase every contribution, or erase the account.

Withdrawing stops further contributions and takes the person's entries out of any public
version (they stay visible to the cluster, as agreed when they were written). Erasing the
contributions removes every entry the person wrote, with its evidence, from the database, and
the files nothing else uses from the disk. Erasing the account does that and removes the person
too (`storage.erasure`). Each destructive choice says what will go and asks once more; each
says afterwards what went. Seeing shows everything kept about the person, counted
(`storage.stored`), with the way to the entries themselves (/mine).
"""

from __future__ import annotations

from babel.units import format_unit

from bot.messages import Button, Reply
from handlers.context import Context, say
from handlers.dates import locale_of, say_day
from handlers.onboarding import CONSENT_VERSION
from storage.diary import live_entries
from storage.erasure import Erased, erase_contributions, erase_person
from storage.models import Visibility
from storage.people import record_consent
from storage.stored import stored_about

FLOW = "privacy"
CHOICES = ("withdraw", "erase", "erase_account")
KILOBYTE = 1024


async def privacy(ctx: Context) -> list[Reply]:
    """/privacy: the choices."""
    ctx.goto(FLOW, "menu")
    return await ask(ctx)


async def _what_goes(ctx: Context) -> dict[str, int]:
    """How many entries (drafts included) and evidence items the person has."""
    assert ctx.person.id is not None
    stored = await stored_about(ctx.session, person_id=ctx.person.id)
    return {"entries": stored.entries.total(), "evidence": stored.evidence.total()}


async def ask(ctx: Context) -> list[Reply]:
    """The privacy menu, or the confirmation of the chosen action with what it will remove."""
    step = ctx.state.step
    if step == "menu":
        choices = [ctx.choice(f"privacy.{c}", c) for c in ("see", *CHOICES)]
        return [say(ctx.t("privacy.menu"), *choices, ctx.choice("privacy.keep", "keep"))]
    values = await _what_goes(ctx) if step != "withdraw" else {}
    yes, no = ctx.choice("privacy.yes", "yes"), ctx.choice("cancel.no", "no")
    return [say(ctx.t(f"privacy.confirm_{step}", **values), yes, no)]


async def handle(ctx: Context) -> list[Reply]:
    """Carry out the confirmed choice."""
    step, choice = ctx.state.step, ctx.msg.button
    if step == "menu":
        if choice == "see":  # the menu stays open below the summary
            return [await _summary(ctx), *await ask(ctx)]
        if choice in CHOICES:
            ctx.goto(FLOW, choice)  # type: ignore[arg-type]
            return await ask(ctx)
        ctx.finish()
        return [say(ctx.t("privacy.kept"))]
    if choice != "yes":
        ctx.finish()
        return [say(ctx.t("privacy.kept"))]
    assert ctx.person.id is not None
    if step == "withdraw":
        await record_consent(
            ctx.session, person_id=ctx.person.id, version=CONSENT_VERSION, granted=False
        )
        for entry in await live_entries(ctx.session, author_id=ctx.person.id):
            if entry.visibility != Visibility.CLUSTER:
                entry.visibility = Visibility.CLUSTER
                ctx.session.add(entry)
        ctx.finish()
        return [say(ctx.t("privacy.withdrawn"))]
    if step == "erase":
        erased = await erase_contributions(ctx.session, person_id=ctx.person.id)
        ctx.finish()
    else:
        erased = await erase_person(ctx.session, person_id=ctx.person.id)
        ctx.forget_person()
    _remove_files_later(ctx, erased)
    return [say(ctx.t(f"privacy.done_{step}", entries=erased.entries, evidence=erased.evidence))]


def _remove_files_later(ctx: Context, erased: Erased) -> None:
    """The files nothing uses any more go from the disk once the erasure is committed."""
    if not erased.files:
        return

    async def remove() -> list[Reply]:
        for digest in erased.files:
            await ctx.media.remove(digest)
        return []

    ctx.after_commit(remove)


async def _summary(ctx: Context) -> Reply:
    """Everything kept about the person, counted, with the way to their entries themselves."""
    assert ctx.person.id is not None
    stored = await stored_about(ctx.session, person_id=ctx.person.id)
    t, language = ctx.t, ctx.t.language
    roles = ", ".join(
        t("privacy.stored_role", role=t(f"roles.{m.role}"), where=(m.school or m.cluster).name)
        for m in stored.roles
    )
    history = "; ".join(
        t(
            "privacy.stored_given" if c.granted else "privacy.stored_refused",
            day=say_day(c.created_at.date(), language),
            version=c.version,
        )
        for c in stored.consents
    )
    entries = stored.entries
    lines = [
        t("privacy.stored_header"),
        t("privacy.stored_accounts", platforms=", ".join(stored.platforms)),
        t("privacy.stored_roles", roles=roles or "—"),
        t("privacy.stored_consent", history=history or "—"),
        t(
            "privacy.stored_entries",
            submitted=entries["submitted"],
            drafts=entries["draft"],
            hidden=entries["deleted"],
        ),
    ]
    if stored.evidence:
        kinds = " · ".join(
            f"{t(f'digest.kind.{k}')} {n}" for k, n in sorted(stored.evidence.items())
        )
        size = _size(stored.evidence_bytes, language)
        lines.append(t("privacy.stored_evidence", kinds=kinds, size=size))
    else:
        lines.append(t("privacy.stored_no_evidence"))
    reminders = stored.reminders
    other = reminders.total() - reminders["sent"] - reminders["planned"]
    lines.append(
        t(
            "privacy.stored_reminders",
            sent=reminders["sent"],
            planned=reminders["planned"],
            other=other,
        )
    )
    lines += [
        t("privacy.stored_meetings", count=stored.meetings_answered),
        "",
        t("privacy.stored_more"),
    ]
    return say("\n".join(lines), Button(t("privacy.mine_button"), "/mine"))


def _size(count: int, language: str) -> str:
    """A number of bytes as people read it, in their language: "340 kB", "2.5 MB"."""
    locale = locale_of(language)
    if count < KILOBYTE * KILOBYTE:
        kilobytes = max(1, round(count / KILOBYTE)) if count else 0
        return format_unit(kilobytes, "digital-kilobyte", length="short", locale=locale)
    megabytes = round(count / KILOBYTE / KILOBYTE, 1)
    return format_unit(megabytes, "digital-megabyte", length="short", locale=locale)
