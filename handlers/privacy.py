"""/privacy: see or download what is kept, withdraw consent, erase contributions or the account.

Withdrawing stops further contributions and reminders and takes the person's entries out of any
public version; the person chooses whether what they shared stays in the diary without their
name (under their pseudonym, `storage.anonymise`) or is erased. Their name goes either way.
Downloading sends everything kept as a zip (`handlers.privacy_download`). Erasing the
contributions removes every entry the person wrote, with its evidence, from the database, and
the files nothing else uses from the disk. Erasing the account does that and removes the person
too (`storage.erasure`). Each destructive choice says what will go and asks once more; each
says afterwards what went. Seeing shows everything kept about the person, counted
(`storage.stored`), with the way to the entries themselves (/mine).
"""

from __future__ import annotations

import time

from babel.units import format_unit

from bot.messages import Button, Reply
from handlers.context import Context, say
from handlers.dates import locale_of, say_day
from handlers.privacy_download import download
from storage.anonymise import anonymise_entries, forget_name
from storage.erasure import Erased, erase_contributions, erase_person
from storage.models import DiaryEntry
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
        return [say(ctx.t("privacy.menu"), *_menu(ctx))]
    values = await _what_goes(ctx)
    if step == "withdraw":
        choices = (ctx.choice(f"privacy.withdraw_{c}", c) for c in ("keep", "delete", "cancel"))
        return [say(ctx.t("privacy.confirm_withdraw", **values), *choices)]
    yes, no = ctx.choice("privacy.yes", "yes"), ctx.choice("cancel.no", "no")
    return [say(ctx.t(f"privacy.confirm_{step}", **values), yes, no)]


def _menu(ctx: Context) -> list[Button]:
    choices = [ctx.choice(f"privacy.{c}", c) for c in ("see", "download", *CHOICES)]
    return [*choices, ctx.choice("privacy.keep", "keep")]


async def handle(ctx: Context) -> list[Reply]:
    """Carry out the confirmed choice."""
    # Before anything is erased: a file the same bytes were sent as since then stays on disk.
    started = time.time()
    step, choice = ctx.state.step, ctx.msg.button
    if step == "menu":
        if choice == "see":  # the choices stay open below the summary, without their long text
            return [await _summary(ctx), say(ctx.t("privacy.again"), *_menu(ctx))]
        if choice == "download":  # the zips come once committed: nothing may follow them
            ctx.finish()
            return await download(ctx)
        if choice in CHOICES:
            ctx.goto(FLOW, choice)  # type: ignore[arg-type]
            return await ask(ctx)
        ctx.finish()
        return [say(ctx.t("privacy.kept"))]
    if choice not in (("keep", "delete") if step == "withdraw" else ("yes",)):
        ctx.finish()
        return [say(ctx.t("privacy.kept"))]
    if step == "withdraw":
        return await _withdraw(ctx, keep=choice == "keep", started=started)
    assert ctx.person.id is not None
    if step == "erase":
        erased = await erase_contributions(ctx.session, person_id=ctx.person.id)
        ctx.finish()
    else:
        erased = await erase_person(ctx.session, person_id=ctx.person.id)
        ctx.forget_person()
    _remove_files_later(ctx, erased, started)
    return [say(ctx.t(f"privacy.done_{step}", entries=erased.entries, evidence=erased.evidence))]


async def _withdraw(ctx: Context, *, keep: bool, started: float) -> list[Reply]:
    """Record the withdrawal; keep the person's entries without their name, or erase them."""
    person_id = ctx.person.id
    assert person_id is not None
    version = ctx.settings.consent_version
    await record_consent(ctx.session, person_id=person_id, version=version, granted=False)
    ctx.finish()
    if keep:
        await anonymise_entries(ctx.session, DiaryEntry.author_id == person_id)
        await forget_name(ctx.session, person_id=person_id)
        pseudonym = ctx.t("privacy.pseudonym", code=ctx.person.pseudonym)
        return [say(ctx.t("privacy.withdrawn_keep", pseudonym=pseudonym))]
    erased = await erase_contributions(ctx.session, person_id=person_id)
    await forget_name(ctx.session, person_id=person_id)
    _remove_files_later(ctx, erased, started)
    counts = {"entries": erased.entries, "evidence": erased.evidence}
    return [say(ctx.t("privacy.withdrawn_delete", **counts))]


def _remove_files_later(ctx: Context, erased: Erased, started: float) -> None:
    """The files nothing uses any more go from the disk once the erasure is committed.

    One whose bytes someone sent again since `started` stays: their evidence row may not be
    committed yet; `diarybot media gc` removes it later if nothing ends up using it.
    """
    if not erased.files:
        return

    async def remove() -> list[Reply]:
        for digest in erased.files:
            await ctx.media.remove(digest, unless_reused_since=started)
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
