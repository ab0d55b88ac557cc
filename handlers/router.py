"""The routing table: every command and conversation flow, registered here in plain sight."""

from __future__ import annotations

from handlers import (
    calendar,
    deletions,
    digest,
    edits,
    entry,
    export,
    focus,
    hub,
    meeting,
    meeting_edit,
    meeting_notes,
    moderate,
    onboarding,
    privacy,
    reminders,
    review,
    rsvp,
)
from handlers.routing import Command, Flow, Needs, Table
from prompts import Translator


def build_table() -> Table:
    """The commands and flows the bot understands."""
    commands = {
        "start": Command(onboarding.start, Needs.NOTHING),
        "help": Command(onboarding.help_, Needs.NOTHING, in_groups=True),
        "join": Command(onboarding.join, Needs.NOTHING),
        "consent": Command(onboarding.consent_command, Needs.NOTHING),
        "language": Command(onboarding.language_command, Needs.NOTHING),
        "cancel": Command(entry.cancel, Needs.NOTHING),
        "add": Command(entry.add),
        "mine": Command(review.mine, Needs.MEMBERSHIP),
        "focus": Command(focus.show, Needs.MEMBERSHIP),
        "calendar": Command(calendar.command, Needs.MEMBERSHIP),
        "propose": Command(focus.propose),
        "confirm": Command(focus.confirm),
        "privacy": Command(privacy.privacy, Needs.MEMBERSHIP),
        "reminders": Command(reminders.command, Needs.MEMBERSHIP),
        "meeting": Command(meeting.command),
        "meetings": Command(meeting_edit.command, Needs.MEMBERSHIP),
        "rsvp": Command(rsvp.command, Needs.NOTHING, in_groups=True),
        "notes": Command(meeting_notes.command),
        "digest": Command(digest.command, Needs.NOTHING, in_groups=True),
        "export": Command(export.command, Needs.MEMBERSHIP),
        "moderate": Command(moderate.command),
        "hubcode": Command(hub.hub_code),
        "linkhub": Command(hub.link, Needs.NOTHING, in_groups=True),
    }
    flows = {
        onboarding.FLOW_CONSENT: Flow(onboarding.handle_consent, onboarding.ask_consent),
        onboarding.FLOW_LANGUAGE: Flow(onboarding.handle_language, onboarding.ask_language),
        entry.FLOW: Flow(entry.handle, entry.ask, contributes=True),
        review.FLOW: Flow(review.handle, review.ask),
        focus.FLOW_PROPOSE: Flow(focus.handle_propose, focus.ask_propose, contributes=True),
        focus.FLOW_DECIDE: Flow(focus.handle_decide, focus.ask_decide, contributes=True),
        privacy.FLOW: Flow(privacy.handle, privacy.ask),
        calendar.FLOW: Flow(calendar.handle, calendar.ask),
        reminders.FLOW: Flow(reminders.handle, reminders.ask),
        meeting.FLOW: Flow(meeting.handle, meeting.ask, contributes=True),
        meeting_notes.FLOW: Flow(meeting_notes.handle, meeting_notes.ask, contributes=True),
        digest.FLOW: Flow(digest.flow.handle, digest.flow.ask),
        export.FLOW: Flow(export.flow.handle, export.flow.ask),
        moderate.FLOW: Flow(moderate.flow.handle, moderate.flow.ask, contributes=True),
    }
    return Table(
        commands=commands,
        flows=flows,
        fallback=onboarding.fallback,
        reaction=rsvp.reaction,
        edit=edits.edited,
        delete=deletions.deleted,
        reconsent=onboarding.reconsent,
    )


# The commands shown in a platform's command menu (Telegram's "/" list), in this order.
MENU_COMMANDS = (
    "add",
    "mine",
    "focus",
    "calendar",
    "meetings",
    "reminders",
    "cancel",
    "language",
    "privacy",
    "help",
)


def command_menu(language: str) -> list[tuple[str, str]]:
    """(command, short description) pairs for a platform's command menu, in `language`."""
    t = Translator(language)
    return [(name, t(f"commands.{name}")) for name in MENU_COMMANDS]
