"""Queries about people: identities, roles and memberships, consent and the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists
from sqlalchemy.orm import aliased
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    AuditEvent,
    Cluster,
    ConsentRecord,
    Identity,
    Person,
    Role,
    RoleName,
    School,
    new_pseudonym,
)

SCHOOL_ROLES = frozenset({RoleName.CONTRIBUTOR, RoleName.SCHOOL_LEAD})
COORDINATOR_ROLES = frozenset({RoleName.CLUSTER_COORDINATOR, RoleName.NATIONAL_COORDINATOR})


@dataclass(frozen=True)
class Membership:
    """One role a person holds, with the cluster and (for school roles) the school."""

    role: str
    cluster: Cluster
    school: School | None

    @property
    def is_coordinator(self) -> bool:
        """Whether this role coordinates the whole cluster."""
        return self.role in COORDINATOR_ROLES


async def find_identity(
    session: AsyncSession, *, platform: str, external_id: str
) -> Identity | None:
    """The stored identity of a platform account; None if the bot never heard from it."""
    found = await session.exec(
        select(Identity).where(Identity.platform == platform, Identity.external_id == external_id)
    )
    return found.first()


async def identity_for(
    session: AsyncSession, *, platform: str, external_id: str
) -> tuple[Identity, Person]:
    """The identity and person for a platform account, creating both on first contact.

    Nothing but the platform id is stored until the person consents.
    """
    identity = await find_identity(session, platform=platform, external_id=external_id)
    if identity is not None:
        person = await session.get(Person, identity.person_id)
        assert person is not None  # the foreign key guarantees it
        return identity, person
    return await create_identity(session, platform=platform, external_id=external_id)


async def create_identity(
    session: AsyncSession, *, platform: str, external_id: str
) -> tuple[Identity, Person]:
    """A new person with their first platform account (and nothing else about them)."""
    person = Person()
    while (
        await session.exec(select(Person.id).where(Person.pseudonym == person.pseudonym))
    ).first():
        person.pseudonym = new_pseudonym()  # taken already: rare, but never shared
    session.add(person)
    await session.flush()
    identity = Identity(person_id=person.id, platform=platform, external_id=external_id)
    session.add(identity)
    await session.flush()
    return identity, person


async def memberships(session: AsyncSession, *, person_id: int) -> list[Membership]:
    """The person's active roles, oldest first."""
    rows = await session.exec(
        select(Role, Cluster, School)
        .join(Cluster, col(Cluster.id) == Role.cluster_id)
        .outerjoin(School, col(School.id) == Role.school_id)
        .where(Role.person_id == person_id, col(Role.revoked_at).is_(None))
        .order_by(col(Role.id))
    )
    return [Membership(role.role, cluster, school) for role, cluster, school in rows]


async def grant_role(
    session: AsyncSession, *, person_id: int, role: str, cluster_id: int, school_id: int | None
) -> Role:
    """Give the person a role unless they already hold exactly that one."""
    existing = (
        await session.exec(
            select(Role).where(
                Role.person_id == person_id,
                Role.role == role,
                Role.cluster_id == cluster_id,
                Role.school_id == school_id,
                col(Role.revoked_at).is_(None),
            )
        )
    ).first()
    if existing is not None:
        return existing
    granted = Role(person_id=person_id, role=role, cluster_id=cluster_id, school_id=school_id)
    session.add(granted)
    await session.flush()
    return granted


async def current_consent(session: AsyncSession, *, person_id: int) -> ConsentRecord | None:
    """The person's most recent consent answer, if any."""
    return (
        await session.exec(
            select(ConsentRecord)
            .where(ConsentRecord.person_id == person_id)
            .order_by(col(ConsentRecord.id).desc())
        )
    ).first()


def newest_consent_ids(person_ids: list[int]) -> Any:
    """A subquery: the id of each of these people's newest consent answer."""
    return (
        select(func.max(ConsentRecord.id))
        .where(col(ConsentRecord.person_id).in_(person_ids))
        .group_by(col(ConsentRecord.person_id))
    )


async def reachable(
    session: AsyncSession, *, person_ids: list[int], consent_version: str, reminders: bool = True
) -> list[int]:
    """Those of the people who may get a reminder (or, not `reminders`, news) at all.

    That is: current consent, not deleted, and for reminders, reminders not stopped. Pauses and
    working hours are checked when a reminder is sent.
    """
    if not person_ids:
        return []
    query = (
        select(ConsentRecord)
        .join(Person, col(Person.id) == ConsentRecord.person_id)
        .where(
            col(ConsentRecord.id).in_(newest_consent_ids(person_ids)),
            col(Person.deleted_at).is_(None),
        )
    )
    if reminders:
        query = query.where(col(Person.reminders_stopped).is_(False))
    newest = await session.exec(query)
    return sorted({c.person_id for c in newest.all() if c.grants(consent_version)})


async def record_consent(
    session: AsyncSession, *, person_id: int, version: str, granted: bool
) -> ConsentRecord:
    """Store a consent answer (records are never overwritten: the history is the evidence).

    A refusal after consent had been given is audited as a withdrawal, not as a decline.
    """
    if granted:
        action = "consent.granted"
    else:
        previous = await current_consent(session, person_id=person_id)
        action = "consent.withdrawn" if previous and previous.granted else "consent.declined"
    record = ConsentRecord(person_id=person_id, version=version, granted=granted)
    session.add(record)
    await audit(session, person_id=person_id, action=action, detail={"version": version})
    return record


async def audit(
    session: AsyncSession,
    *,
    person_id: int | None,
    action: str,
    target: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one line to the audit log."""
    session.add(AuditEvent(person_id=person_id, action=action, target=target, detail=detail or {}))


@dataclass(frozen=True)
class Contact:
    """Where to reach a person privately: their platform chat and language."""

    person_id: int
    platform: str
    chat_id: str
    language: str | None


async def contacts(session: AsyncSession, *, person_ids: list[int]) -> list[Contact]:
    """The private chats of these people (every platform they have written to the bot from).

    A chat where the person blocked the bot is left out until they write again: the one place
    that keeps reminders and notices from going where they cannot arrive.
    """
    rows = await session.exec(
        select(Identity, Person)
        .join(Person, col(Person.id) == Identity.person_id)
        .where(
            col(Identity.person_id).in_(person_ids),
            col(Identity.private_chat_id).is_not(None),
            col(Identity.unreachable_since).is_(None),
            col(Person.deleted_at).is_(None),
        )
    )
    return [
        Contact(person.id, identity.platform, identity.private_chat_id, person.language)  # type: ignore[arg-type]
        for identity, person in rows
    ]


async def holders_of(
    session: AsyncSession, *, cluster_id: int, roles: frozenset[str], school_id: int | None = None
) -> list[int]:
    """Ids of the people holding any of `roles` in the cluster (and at the school, if given)."""
    query = select(Role.person_id).where(
        Role.cluster_id == cluster_id,
        col(Role.role).in_(roles),
        col(Role.revoked_at).is_(None),
    )
    if school_id is not None:
        query = query.where(Role.school_id == school_id)
    return sorted(set((await session.exec(query)).all()))


async def names_of(session: AsyncSession, *, person_ids: list[int]) -> dict[int, str]:
    """The names these people gave (empty when none), leaving out deleted people."""
    if not person_ids:
        return {}
    rows = await session.exec(
        select(Person.id, Person.display_name).where(
            col(Person.id).in_(person_ids), col(Person.deleted_at).is_(None)
        )
    )
    return {person_id: name for person_id, name in rows.all() if person_id is not None}


async def mark_unreachable(
    session: AsyncSession, *, platform: str, external_id: str, chat_id: str, now: datetime
) -> bool:
    """Note that this account blocked the bot in, or left, the private chat `chat_id`.

    Only the chat where the bot last heard from them counts: leaving an older direct chat (or
    one they never wrote in) while talking in another leaves them reachable. False when the
    account is unknown (nobody is created for it) or the chat is not theirs any more. Their
    next private message clears the mark (`bot.dispatcher`).
    """
    identity = await find_identity(session, platform=platform, external_id=external_id)
    if identity is None or identity.private_chat_id not in (None, chat_id):
        return False
    if identity.unreachable_since is None:
        identity.unreachable_since = now
        session.add(identity)
    return True


@dataclass(frozen=True)
class Unreachable:
    """A member of a cluster the bot cannot write to privately, and since when."""

    person_id: int
    name: str
    pseudonym: str
    since: datetime


async def unreachable_in(session: AsyncSession, *, cluster_id: int) -> list[Unreachable]:
    """The cluster's members the bot cannot write to privately any more, oldest block first.

    Those who blocked it where they had a private chat and have none left that they did not
    block (someone who blocked it on Telegram but writes on Matrix is reachable).
    """
    members = select(Role.person_id).where(
        Role.cluster_id == cluster_id, col(Role.revoked_at).is_(None)
    )
    other = aliased(Identity)
    reachable = exists().where(
        other.person_id == Person.id,
        col(other.private_chat_id).is_not(None),
        col(other.unreachable_since).is_(None),
    )
    rows = await session.exec(
        select(Person, func.min(Identity.unreachable_since))
        .join(Identity, col(Identity.person_id) == Person.id)
        .where(
            col(Person.id).in_(members),
            ~reachable,
            col(Person.deleted_at).is_(None),
            col(Identity.unreachable_since).is_not(None),
        )
        .group_by(col(Person.id))
        .order_by(func.min(Identity.unreachable_since))
    )
    return [
        Unreachable(person.id, person.display_name, person.pseudonym, since)  # type: ignore[arg-type]
        for person, since in rows.all()
    ]
