"""The routing table: every command and conversation flow, registered here in plain sight."""

from __future__ import annotations

from handlers import onboarding
from handlers.routing import Command, Flow, Needs, Table


def build_table() -> Table:
    """The commands and flows the bot understands."""
    commands = {
        "start": Command(onboarding.start, Needs.NOTHING),
        "help": Command(onboarding.help_, Needs.NOTHING, in_groups=True),
        "join": Command(onboarding.join, Needs.NOTHING),
        "consent": Command(onboarding.consent_command, Needs.NOTHING),
        "language": Command(onboarding.language_command, Needs.NOTHING),
    }
    flows = {
        onboarding.FLOW_CONSENT: Flow(onboarding.handle_consent, onboarding.ask_consent),
        onboarding.FLOW_LANGUAGE: Flow(onboarding.handle_language, onboarding.ask_language),
    }
    return Table(
        commands=commands,
        flows=flows,
        fallback=onboarding.fallback,
        consent_version=onboarding.CONSENT_VERSION,
    )
