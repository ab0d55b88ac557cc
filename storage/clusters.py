"""Queries about clusters, schools, invite codes and hub chats."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Cluster,
    HubChat,
    Invite,
    InvitePurpose,
    MeetingPost,
    RoleName,
    School,
    SchoolKind,
)
from storage.people import COORDINATOR_ROLES, SCHOOL_ROLES, audit, grant_role, holders_of
from storage.types import utcnow

# No 0/O, 1/I/L: codes are read aloud and typed on phones.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


class ClusterError(ValueError):
    """A cluster, school or invite request that cannot be carried out; `code` names why."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(detail or code)
        self.code = code


def normalise_code(text: str) -> str:
    """An invite code as stored: upper case, without spaces or dashes."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def new_code() -> str:
    """A fresh random invite code of ten characters."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))


async def create_cluster(
    session: AsyncSession, *, name: str, country: str = "", language: str, timezone: str
) -> Cluster:
    """Create a cluster; its name must be unique."""
    name = name.strip()
    if not name:
        raise ClusterError("empty_name", "a cluster needs a name")
    if (await session.exec(select(Cluster).where(Cluster.name == name))).first():
        raise ClusterError("duplicate", f"a cluster named {name!r} exists already")
    cluster = Cluster(name=name, country=country, language=language, timezone=timezone)
    session.add(cluster)
    await session.flush()
    return cluster


async def find_cluster(session: AsyncSession, *, name_or_id: str) -> Cluster:
    """A cluster by id or exact name."""
    query = select(Cluster).where(
        (Cluster.id == int(name_or_id)) if name_or_id.isdigit() else (Cluster.name == name_or_id)
    )
    cluster = (await session.exec(query)).first()
    if cluster is None:
        raise ClusterError("no_cluster", f"no cluster {name_or_id!r}")
    return cluster


async def add_school(
    session: AsyncSession, *, cluster_id: int, name: str, kind: str = SchoolKind.MENTEE
) -> School:
    """Add a school to a cluster; a cluster has at most one mentor school."""
    if kind not in set(SchoolKind):
        raise ClusterError("bad_kind", f"school kind must be one of {', '.join(SchoolKind)}")
    existing = (await session.exec(select(School).where(School.cluster_id == cluster_id))).all()
    if any(school.name == name for school in existing):
        raise ClusterError("duplicate", f"the cluster has a school named {name!r} already")
    if kind == SchoolKind.MENTOR and any(s.kind == SchoolKind.MENTOR for s in existing):
        raise ClusterError("two_mentors", "the cluster has a mentor school already")
    school = School(cluster_id=cluster_id, name=name.strip(), kind=kind)
    session.add(school)
    await session.flush()
    return school


async def schools_of(session: AsyncSession, *, cluster_id: int) -> list[School]:
    """The cluster's schools, mentor first, then by name."""
    rows = await session.exec(select(School).where(School.cluster_id == cluster_id))
    return sorted(rows.all(), key=lambda s: (s.kind != SchoolKind.MENTOR, s.name))


async def school_names_of(session: AsyncSession, *, school_ids: list[int]) -> list[str]:
    """The names of these schools, sorted."""
    if not school_ids:
        return []
    rows = await session.exec(select(School.name).where(col(School.id).in_(school_ids)))
    return sorted(rows.all())


async def create_invite(
    session: AsyncSession,
    *,
    cluster_id: int,
    role: str = RoleName.CONTRIBUTOR,
    school_id: int | None = None,
    purpose: str = InvitePurpose.JOIN,
    max_uses: int | None = 1,
    valid_for: timedelta | None = timedelta(days=30),
    created_by: int | None = None,
) -> Invite:
    """Issue an invite code; school roles need a school, cluster roles must not have one."""
    if purpose == InvitePurpose.JOIN:
        if role not in set(RoleName):
            raise ClusterError("bad_role", f"role must be one of {', '.join(RoleName)}")
        if role in SCHOOL_ROLES and school_id is None:
            raise ClusterError("needs_school", f"a {role} invite needs a school")
    if school_id is not None:
        school = await session.get(School, school_id)
        if school is None or school.cluster_id != cluster_id:
            raise ClusterError("no_school", "that school is not in the cluster")
    invite = Invite(
        code=new_code(),
        purpose=purpose,
        cluster_id=cluster_id,
        school_id=school_id,
        role=role,
        max_uses=max_uses,
        expires_at=utcnow() + valid_for if valid_for else None,
        created_by=created_by,
    )
    session.add(invite)
    await session.flush()
    return invite


@dataclass(frozen=True)
class Redeemed:
    """What a redeemed invite gave: the role, cluster and school."""

    invite: Invite
    cluster: Cluster
    school: School | None


async def usable_invite(
    session: AsyncSession, *, code: str, purpose: str, now: datetime | None = None
) -> Invite:
    """The invite for `code`, checked but not used.

    Raises `ClusterError` with code `unknown`, `expired` or `used_up` when it cannot be used.
    """
    invite = (
        await session.exec(
            select(Invite).where(Invite.code == normalise_code(code), Invite.purpose == purpose)
        )
    ).first()
    if invite is None:
        raise ClusterError("unknown")
    if invite.expires_at is not None and invite.expires_at <= (now or utcnow()):
        raise ClusterError("expired")
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        raise ClusterError("used_up")
    return invite


async def redeem_invite(
    session: AsyncSession, *, code: str, purpose: str, now: datetime | None = None
) -> Redeemed:
    """Use one redemption of a code, atomically.

    Raises `ClusterError` with code `unknown`, `expired` or `used_up` when it cannot be used.
    """
    invite = await usable_invite(session, code=code, purpose=purpose, now=now)
    # One conditional UPDATE, so two people racing for the last use cannot both win.
    condition = col(Invite.id) == invite.id
    if invite.max_uses is not None:
        condition = condition & (col(Invite.uses) < invite.max_uses)
    result = await session.exec(
        update(Invite).where(condition).values(uses=Invite.uses + 1)  # type: ignore[call-overload]
    )
    if result.rowcount != 1:
        raise ClusterError("used_up")
    await session.refresh(invite)
    cluster = await session.get(Cluster, invite.cluster_id)
    assert cluster is not None
    school = await session.get(School, invite.school_id) if invite.school_id else None
    return Redeemed(invite, cluster, school)


async def join_with_code(session: AsyncSession, *, person_id: int, code: str) -> Redeemed:
    """Redeem a join code for a person and grant its role."""
    redeemed = await redeem_invite(session, code=code, purpose=InvitePurpose.JOIN)
    invite = redeemed.invite
    school_id = invite.school_id if invite.role not in COORDINATOR_ROLES else None
    await grant_role(
        session,
        person_id=person_id,
        role=invite.role,
        cluster_id=invite.cluster_id,
        school_id=school_id,
    )
    await audit(
        session,
        person_id=person_id,
        action="joined",
        target=f"invite:{invite.id}",
        detail={"role": invite.role, "cluster": invite.cluster_id, "school": school_id},
    )
    return redeemed


async def hub_chats_of(session: AsyncSession, *, cluster_id: int) -> list[HubChat]:
    """The group chats linked to the cluster as hubs."""
    rows = await session.exec(select(HubChat).where(HubChat.cluster_id == cluster_id))
    return list(rows.all())


async def hub_at(session: AsyncSession, *, platform: str, chat_id: str) -> HubChat | None:
    """The hub link of a group chat, if the chat is a cluster's hub."""
    return (
        await session.exec(
            select(HubChat).where(HubChat.platform == platform, HubChat.chat_id == chat_id)
        )
    ).first()


async def unlink_hub(session: AsyncSession, *, hub: HubChat) -> None:
    """End a hub link (the bot was taken out of the chat): its meeting posts go with it."""
    await _drop_hub(session, hub)
    await audit(
        session,
        person_id=None,
        action="hub.removed",
        target=f"cluster:{hub.cluster_id}",
        detail={"platform": hub.platform},
    )


async def _drop_hub(session: AsyncSession, hub: HubChat) -> None:
    """Delete a hub link with the records of its meeting posts, which refer to it."""
    await session.exec(delete(MeetingPost).where(col(MeetingPost.hub_id) == hub.id))  # type: ignore[call-overload]
    await session.delete(hub)


async def move_hub(
    session: AsyncSession, *, platform: str, old_chat_id: str, new_chat_id: str
) -> HubChat | None:
    """Point the hub link of a chat that changed its id at the new id; None if it was no hub.

    A topic or thread it was linked in stays behind: a Matrix thread belongs to the old room,
    and a Telegram group has no topics before it becomes a supergroup. Should the new chat be
    linked to the same cluster already, the old link is dropped (its chat no longer exists);
    linked to another cluster, both stay as they are: a chat is never taken from a cluster by
    a move, which anyone who may upgrade a room can announce.
    """
    rows = await session.exec(
        select(HubChat).where(
            HubChat.platform == platform, col(HubChat.chat_id).in_([old_chat_id, new_chat_id])
        )
    )
    found = {hub.chat_id: hub for hub in rows.all()}
    old = found.get(old_chat_id)
    if old is None:
        return found.get(new_chat_id)
    if new_chat_id in found:
        if found[new_chat_id].cluster_id == old.cluster_id:
            await _drop_hub(session, old)
        return found[new_chat_id]
    old.chat_id = new_chat_id
    old.thread_id = None
    session.add(old)
    await audit(
        session,
        person_id=None,
        action="hub.moved",
        target=f"{platform}:{new_chat_id}",
        detail={"from": old_chat_id},
    )
    return old


async def link_hub(
    session: AsyncSession,
    *,
    code: str,
    platform: str,
    chat_id: str,
    title: str,
    person_id: int,
    thread: str | None = None,
) -> Redeemed:
    """Link a group chat to the cluster a hub code belongs to.

    `thread` is the forum topic (Matrix thread) the code was sent in: the hub's posts go there.
    Only a coordinator of that cluster may use the code, and a group that is already another
    cluster's hub stays with it; relinking within the same cluster just renews the link (and
    moves the posts to the topic it was renewed in).

    Raises:
        ClusterError: code `unknown`, `expired`, `used_up`, `not_coordinator` or
            `other_cluster`; the code is not used up by a refused attempt.
    """
    invite = await usable_invite(session, code=code, purpose=InvitePurpose.HUB)
    coordinators = await holders_of(session, cluster_id=invite.cluster_id, roles=COORDINATOR_ROLES)
    if person_id not in coordinators:
        raise ClusterError("not_coordinator")
    hub = (
        await session.exec(
            select(HubChat).where(HubChat.platform == platform, HubChat.chat_id == chat_id)
        )
    ).first()
    if hub is not None and hub.cluster_id != invite.cluster_id:
        raise ClusterError("other_cluster")
    redeemed = await redeem_invite(session, code=code, purpose=InvitePurpose.HUB)
    if hub is None:
        hub = HubChat(platform=platform, chat_id=chat_id, cluster_id=invite.cluster_id)
    hub.title = title[:300]
    hub.thread_id = thread
    hub.linked_by = person_id
    session.add(hub)
    await audit(session, person_id=person_id, action="hub.linked", target=f"{platform}:{chat_id}")
    return redeemed
