"""What every message needs before a handler runs, fetched in one query.

The sender's identity and person, whether their newest consent answer grants the current text,
and their conversation state in this chat. These were four queries per message; on the busiest
path of the bot one round trip matters (issue 9), so they are one join here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ConsentRecord, ConversationState, Identity, Person
from storage.people import create_identity


@dataclass
class Arrival:
    """The sender of one message as stored; `state` is not tracked by the session."""

    identity: Identity
    person: Person
    consented: bool
    state: ConversationState
    # The newest answer agrees to an earlier version of the consent text than the current one.
    outdated: bool = False


@cache
def _sender_query() -> Any:
    """The one query of `arrive`, built once.

    On the busiest path of the bot, building the statement and its cache key anew for every
    message took as long as running it.
    """
    newest_consent = (
        select(col(ConsentRecord.id))
        .where(ConsentRecord.person_id == Identity.person_id)
        .order_by(col(ConsentRecord.id).desc())
        .limit(1)
        .correlate(Identity)
        .scalar_subquery()
    )
    return (
        select(Identity, Person, ConversationState, ConsentRecord)
        .join(Person, col(Person.id) == Identity.person_id)
        .outerjoin(
            ConversationState,
            and_(
                col(ConversationState.identity_id) == Identity.id,
                col(ConversationState.chat_key) == bindparam("chat_key"),
            ),
        )
        .outerjoin(ConsentRecord, col(ConsentRecord.id) == newest_consent)
        .where(
            Identity.platform == bindparam("platform"),
            Identity.external_id == bindparam("external_id"),
        )
    )


async def arrive(
    session: AsyncSession, *, platform: str, external_id: str, chat_key: str, consent_version: str
) -> Arrival:
    """Load (or, on first contact, create) the sender of a message in one query.

    Nothing but the platform id is stored for a new person until they consent. The state is
    detached, so no autoflush writes it halfway through a handler; the caller saves it once,
    with `session.add`, when the message is done.
    """
    parameters = {"platform": platform, "external_id": external_id, "chat_key": chat_key}
    row = (await session.exec(_sender_query(), params=parameters)).first()
    if row is None:
        identity, person = await create_identity(
            session, platform=platform, external_id=external_id
        )
        assert identity.id is not None
        fresh = ConversationState(identity_id=identity.id, chat_key=chat_key)
        return Arrival(identity, person, consented=False, state=fresh)
    identity, person, state, consent = row
    if state is None:
        assert identity.id is not None
        state = ConversationState(identity_id=identity.id, chat_key=chat_key)
    else:
        session.expunge(state)
    consented = consent is not None and consent.grants(consent_version)
    outdated = consent is not None and consent.granted and not consented
    return Arrival(identity, person, consented=consented, state=state, outdated=outdated)
