"""What a handler gets besides the message: storage, settings, the person, their state, strings.

Handlers change `state` through `goto`/`finish` and return replies; the dispatcher commits the
session right after the handler returns, so every answer is saved the moment it arrives.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.messages import Attachment, Button, ChatKind, ChatRef, Incoming, Reply
from bot.settings import Settings
from prompts import Translator
from storage.guard import consents
from storage.media import MediaStore
from storage.models import ConversationState, Identity, Person
from storage.people import Membership, contacts, memberships
from storage.types import MAX_ROW_ID, utcnow


class StaleButton(Exception):
    """Button data that does not parse: treated like a button from an earlier message."""


@dataclass
class Context:
    """Everything one handler call may use."""

    msg: Incoming
    session: AsyncSession
    settings: Settings
    media: MediaStore
    download: Callable[[Attachment], Awaitable[bytes]]
    identity: Identity
    person: Person
    state: ConversationState
    t: Translator
    now: datetime = field(default_factory=utcnow)
    # Set when the handler planned messages that are due now (a meeting announced): the
    # dispatcher wakes the scheduler once the session is committed.
    wake: bool = False
    # Replies made once the session is committed (a chart drawn without holding the database).
    later: list[Callable[[], Awaitable[list[Reply]]]] = field(default_factory=list)
    # Set once the person erased themselves: nothing of them (not even this chat's state) is
    # written back.
    erased: bool = False
    # The person's newest answer agrees to an earlier version of the consent text.
    consent_outdated: bool = False
    # Set by `resume`: the routing asks the restored step's question after the handler's replies.
    ask_again: bool = False
    _memberships: list[Membership] | None = None

    @property
    def data(self) -> dict[str, Any]:
        """The draft data of the current flow (read-only view; use `update` to change it)."""
        return self.state.data

    def goto(self, flow: str, step: str, **data: Any) -> None:
        """Move to a flow step, merging `data` into the draft; older buttons become stale."""
        if (flow, step) != (self.state.flow, self.state.step):
            self.state.rev += 1
        if flow != self.state.flow:
            self.state.data = {}
        self.state.flow, self.state.step = flow, step
        self.update(**data)

    def update(self, **data: Any) -> None:
        """Merge values into the draft (assigning a new dict so the change is saved)."""
        self.state.data = {**self.state.data, **data}
        self.state.updated_at = self.now

    def finish(self) -> None:
        """Leave the current flow, dropping its draft data."""
        if self.state.flow:
            self.state.rev += 1
        self.state.flow, self.state.step, self.state.data = "", "", {}
        self.state.updated_at = self.now

    def resume(self, flow: str, step: str, data: dict[str, Any]) -> None:
        """Go back to a step saved earlier, with its draft, and have its question asked again."""
        self.state.rev += 1
        self.state.flow, self.state.step, self.state.data = flow, step, data
        self.state.updated_at = self.now
        self.ask_again = True

    def after_commit(self, produce: Callable[[], Awaitable[list[Reply]]]) -> None:
        """Add the replies `produce` makes after the session is committed (no database then)."""
        self.later.append(produce)

    def forget_person(self) -> None:
        """The person is erased: drop what the session still holds of them, write nothing back."""
        self.erased = True
        self.session.expunge_all()

    def wake_scheduler(self) -> None:
        """Ask for the messages just planned to be sent now rather than at the next wake-up."""
        self.wake = True

    def reload_strings(self) -> None:
        """Switch the translator to the person's (possibly just changed) language."""
        self.t = Translator(self.person.language or self.settings.default_language)

    @property
    def consents(self) -> bool:
        """Whether the person's latest answer grants the current consent text."""
        return consents(self.session)

    def button_id(self) -> int:
        """The pressed button's data as a row id.

        Raises:
            StaleButton: the data is no id (a forged or mangled button).
        """
        data = self.msg.button or ""
        if not (data.isascii() and data.isdigit()) or int(data) > MAX_ROW_ID:
            raise StaleButton(data)
        return int(data)

    async def memberships(self) -> list[Membership]:
        """The person's roles, loaded once per message."""
        if self._memberships is None:
            assert self.person.id is not None
            self._memberships = await memberships(self.session, person_id=self.person.id)
        return self._memberships

    def forget_memberships(self) -> None:
        """Drop the cached roles after granting or revoking one."""
        self._memberships = None

    def choice(self, label_key: str, value: str, **values: object) -> Button:
        """A button whose label is the translated string `label_key`."""
        return Button(self.t(label_key, **values), value)


def privately(ctx: Context, reply: Reply) -> Reply:
    """A reply meant for the person alone, sent privately when it comes from a group chat.

    It goes to their private chat with the bot on that platform when there is one they have not
    blocked, and to the group otherwise, as the only way to reach them.
    """
    private = ctx.identity.private_chat_id
    reachable = ctx.identity.unreachable_since is None
    if ctx.msg.chat.kind == ChatKind.GROUP and private and reachable:
        return reply.to(ChatRef(ctx.msg.chat.platform, private, ChatKind.PRIVATE))
    return reply


async def notify(ctx: Context, person_ids: list[int], key: str, **values: object) -> list[Reply]:
    """The same notice to each person's private chats, each in their own language.

    The person writing is left out: they read the answer to their own message.
    """
    others = [p for p in person_ids if p != ctx.person.id]
    return await notices(ctx.session, others, key, ctx.settings.default_language, **values)


async def notices(
    session: AsyncSession, person_ids: list[int], key: str, default_language: str, **values: object
) -> list[Reply]:
    """The notice `key` for each person's private chats, each in their own language."""
    found = []
    for contact in await contacts(session, person_ids=person_ids):
        t = Translator(contact.language or default_language)
        chat = ChatRef(contact.platform, contact.chat_id, ChatKind.PRIVATE)
        found.append(Reply(text=t(key, **values), chat=chat))
    return found


def say(text: str, *buttons: Button, expects_text: bool = False) -> Reply:
    """A text reply in the chat the message came from (see `Reply.expects_text`)."""
    return Reply(text=text, buttons=tuple(buttons), expects_text=expects_text)


def confirm(ctx: Context, question_key: str, yes_key: str) -> Reply:
    """A yes/no question whose answers come back as the button data `yes` and `no`."""
    return say(ctx.t(question_key), ctx.choice(yes_key, "yes"), ctx.choice("cancel.no", "no"))
