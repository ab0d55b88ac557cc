"""Getting in: /start, /join with an invite code, informed consent, language, /help.

A join code is checked at once but redeemed only after the person agrees to the consent text,
so someone who declines leaves nothing behind but their refusal. The text names the deployment's
data controller, contact, purpose and retention period (settings); when its version changes,
whoever agreed to an earlier one is asked again before their next step, and agreeing takes them
back to that step with their draft as it was.

Someone new is spoken to in their app's language when it is one of ours, otherwise in the
language of the cluster their code joins, from the moment the code is checked; the other
languages are offered beside the consent text, one tap showing it again in another.
Agreeing keeps the language they read it in, so joining takes a code and one answer.
"""

from __future__ import annotations

from babel.units import format_unit

from bot.messages import Button, Reply
from bot.settings import LANGUAGES
from handlers.context import Context, say
from handlers.dates import locale_of
from prompts import Translator, hinted
from storage.clusters import ClusterError, join_with_code, normalise_code, usable_invite
from storage.models import Cluster, InvitePurpose, RoleName
from storage.people import audit, current_consent, record_consent

FLOW_CONSENT = "consent"
FLOW_LANGUAGE = "language"
# A language button beside the consent text: "lang:pt".
SHOW_IN = "lang:"


def menu(ctx: Context) -> list[Button]:
    """The buttons a member sees when nothing else is going on."""
    return [
        ctx.choice("buttons.add", "/add"),
        ctx.choice("buttons.mine", "/mine"),
        ctx.choice("buttons.focus", "/focus"),
    ]


async def start(ctx: Context) -> list[Reply]:
    """/start: a join code in a deep link joins; otherwise a short introduction."""
    if ctx.msg.argument:
        return await join(ctx)
    if await ctx.memberships():
        name = ctx.person.display_name or ctx.msg.sender.display_name
        return [say(ctx.t("start.member", name=name), *menu(ctx))]
    return [say(ctx.t("start.intro"))]


async def help_(ctx: Context) -> list[Reply]:
    """/help: the commands this person can use."""
    lines = [ctx.t("help.header"), ctx.t("help.everyone")]
    members = await ctx.memberships()
    if members:
        lines.append(ctx.t("help.members"))
    if any(m.role == RoleName.SCHOOL_LEAD for m in members):
        lines.append(ctx.t("help.leads"))
    if any(m.is_coordinator for m in members):
        lines.append(ctx.t("help.coordinators"))
    elif any(m.role == RoleName.ANALYST for m in members):
        lines.append(ctx.t("help.analysts"))
    return [say("\n\n".join(lines))]


async def fallback(ctx: Context) -> list[Reply]:
    """A private message outside any conversation: point to what can be done."""
    if ctx.msg.attachments:
        return [say(ctx.t("fallback.media"), ctx.choice("buttons.add", "/add"))]
    if await ctx.memberships():
        return [say(ctx.t("fallback.member"), *menu(ctx))]
    return [say(ctx.t("start.intro"))]


async def join(ctx: Context) -> list[Reply]:
    """/join CODE: check the code, then ask for consent (or join at once if already given)."""
    code = normalise_code(ctx.msg.argument)
    if not code:
        return [say(ctx.t("join.usage"))]
    try:
        invite = await usable_invite(ctx.session, code=code, purpose=InvitePurpose.JOIN)
    except ClusterError as exc:
        return [say(ctx.t(f"join.{exc.code}"))]
    assert ctx.person.id is not None
    consent = await current_consent(ctx.session, person_id=ctx.person.id)
    if consent is not None and consent.grants(ctx.settings.consent_version):
        return await _redeem(ctx, code)
    cluster = await ctx.session.get(Cluster, invite.cluster_id)
    ctx.goto(FLOW_CONSENT, "ask", code=code)
    # The person's own choice first, then their app's language where it is one of ours, then
    # the cluster's: a teacher whose phone speaks none of ours reads their colleagues' language.
    chosen = ctx.person.language or ctx.data.get("language")  # a /join again keeps a choice
    if cluster is not None and not chosen and not hinted(ctx.msg.sender.language_hint):
        ctx.update(language=cluster.language)
    return await ask_consent(ctx)


def _speak(ctx: Context) -> None:
    """Until the person chose a language, speak the one the consent question is asked in."""
    language = ctx.data.get("language")
    if language in LANGUAGES and not ctx.person.language:
        ctx.t = Translator(language)


async def _redeem(ctx: Context, code: str) -> list[Reply]:
    assert ctx.person.id is not None
    try:
        joined = await join_with_code(ctx.session, person_id=ctx.person.id, code=code)
    except ClusterError as exc:
        ctx.finish()
        return [say(ctx.t(f"join.{exc.code}"))]
    ctx.forget_memberships()
    where = joined.school.name if joined.school else joined.cluster.name
    role = ctx.t(f"roles.{joined.invite.role}")
    return [say(ctx.t("join.done", role=role, where=where))]


def _ask_keeping_place(ctx: Context, *, keep: bool = True) -> None:
    """Go to the consent question; agreeing comes back to the step that was open, if `keep`."""
    state = ctx.state
    if state.flow == FLOW_CONSENT:  # asked already: what it comes back to (or redeems) stays
        return
    keep = keep and bool(state.flow)
    place = {"flow": state.flow, "step": state.step, "data": state.data} if keep else None
    ctx.goto(FLOW_CONSENT, "ask", resume=place)


async def consent_command(ctx: Context) -> list[Reply]:
    """/consent: read the consent text again and answer it."""
    _ask_keeping_place(ctx)
    return await ask_consent(ctx)


async def reconsent(ctx: Context) -> list[Reply]:
    """The person agreed to an earlier consent text: ask the current one, keeping their place.

    A command leaves whatever step was open, so after a command there is no place to keep: the
    menu follows the agreement instead.
    """
    _ask_keeping_place(ctx, keep=ctx.msg.command is None)
    version = ctx.settings.consent_version
    return [say(ctx.t("consent.changed", version=version)), *await ask_consent(ctx)]


def consent_text(ctx: Context) -> str:
    """The consent text as this deployment fills it in, in the person's language."""
    settings, t = ctx.settings, ctx.t
    period = format_unit(
        settings.retention_months, "duration-month", length="long", locale=locale_of(t.language)
    )
    return t(
        "consent.text",
        version=settings.consent_version,
        controller=settings.data_controller or t("consent.controller_unset"),
        contact=settings.data_contact or t("consent.contact_unset"),
        purpose=settings.data_purpose or t("consent.purpose"),
        period=period,
    )


async def ask_consent(ctx: Context) -> list[Reply]:
    """The consent text with its two answers; to someone new, also the other languages."""
    _speak(ctx)
    buttons = [ctx.choice("consent.agree", "yes"), ctx.choice("consent.decline", "no")]
    if not ctx.person.language:
        # Each language by its own name, whichever language the text is in.
        others = [code for code in LANGUAGES if code != ctx.t.language]
        buttons += [Button(Translator(c)(f"languages.{c}"), SHOW_IN + c) for c in others]
    return [say(consent_text(ctx), *buttons)]


async def handle_consent(ctx: Context) -> list[Reply]:
    """The answer to the consent text."""
    answer = ctx.msg.button or ""
    _speak(ctx)
    shown_in = answer.removeprefix(SHOW_IN)
    if answer.startswith(SHOW_IN) and shown_in in LANGUAGES and not ctx.person.language:
        ctx.update(language=shown_in)
        return await ask_consent(ctx)
    if answer not in ("yes", "no"):
        return [say(ctx.t("consent.please_choose")), *await ask_consent(ctx)]
    assert ctx.person.id is not None
    granted = answer == "yes"
    await record_consent(
        ctx.session, person_id=ctx.person.id, version=ctx.settings.consent_version, granted=granted
    )
    code, place = ctx.data.get("code"), ctx.data.get("resume")
    if not granted:
        ctx.finish()
        return [say(ctx.t("consent.declined"))]
    if not ctx.person.display_name:
        ctx.person.display_name = ctx.msg.sender.display_name[:200]
        ctx.identity.display_name = ctx.msg.sender.display_name[:200]
    if place:
        ctx.resume(place["flow"], place["step"], place["data"])
        return [say(ctx.t("consent.resumed"))]
    if code and not ctx.person.language:  # the language they just read and agreed in
        await _choose_language(ctx, ctx.t.language)
    replies = [say(ctx.t("consent.thanks"))]
    if code:
        joined = await _redeem(ctx, code)
        if not ctx.state.flow:  # the code could not be used after all
            return replies + joined
        ctx.finish()
        return [*replies, *joined, say(ctx.t("join.next"), *menu(ctx))]
    if ctx.person.language:  # someone known answering again: nothing more to set up
        ctx.finish()
        if await ctx.memberships():
            replies.append(say(ctx.t("fallback.member"), *menu(ctx)))
        return replies
    ctx.goto(FLOW_LANGUAGE, "ask")
    return replies + await ask_language(ctx)


async def _choose_language(ctx: Context, language: str) -> None:
    """Speak `language` with the person from now on (and note it in the audit log)."""
    ctx.person.language = language
    ctx.reload_strings()
    await audit(ctx.session, person_id=ctx.person.id, action="language", detail={"to": language})


async def language_command(ctx: Context) -> list[Reply]:
    """/language: pick the language the bot speaks."""
    ctx.goto(FLOW_LANGUAGE, "ask")
    return await ask_language(ctx)


async def ask_language(ctx: Context) -> list[Reply]:
    """The seven languages, the cluster's (or current) one first."""
    members = await ctx.memberships()
    preferred = ctx.person.language or (members[0].cluster.language if members else None)
    order = sorted(LANGUAGES, key=lambda code: code != preferred)
    buttons = [Button(ctx.t(f"languages.{code}"), code) for code in order]
    return [say(ctx.t("language.ask"), *buttons)]


async def handle_language(ctx: Context) -> list[Reply]:
    """The chosen language; every later message uses it."""
    choice = ctx.msg.button
    if choice not in LANGUAGES:
        return [say(ctx.t("language.please_choose")), *await ask_language(ctx)]
    await _choose_language(ctx, choice)
    ctx.finish()
    if await ctx.memberships():
        return [say(ctx.t("language.done_member"), *menu(ctx))]
    return [say(ctx.t("language.done"))]
