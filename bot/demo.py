"""A fictional demo cluster for trying the bot: one mentor school, four mentee schools, invites."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.clusters import add_school, create_cluster, create_invite, schools_of
from storage.models import Cluster, RoleName, SchoolKind

DEMO_NAME = "Demo Cluster"
MENTOR = "Riverside Mentor School"
MENTEES = ("Hillview Primary", "Lakeside Secondary", "Oakwood Primary", "Meadow Lane School")


@dataclass(frozen=True)
class Demo:
    """What `diarybot demo` made: the cluster, its schools and three invite codes."""

    cluster: str
    schools: list[dict[str, str]]
    invites: dict[str, str]

    def as_json(self) -> dict[str, object]:
        """The demo as one JSON-ready object with keys cluster, schools and invites."""
        return {"cluster": self.cluster, "schools": self.schools, "invites": self.invites}


async def create_demo(session: AsyncSession, *, language: str, timezone: str) -> Demo:
    """Create the demo cluster (or reuse it) and issue fresh invite codes.

    The codes can be used many times for a week, so several people can try the same one.
    """
    cluster = (await session.exec(select(Cluster).where(Cluster.name == DEMO_NAME))).first()
    if cluster is None:
        cluster = await create_cluster(
            session, name=DEMO_NAME, country="Demo", language=language, timezone=timezone
        )
        assert cluster.id is not None
        await add_school(session, cluster_id=cluster.id, name=MENTOR, kind=SchoolKind.MENTOR)
        for name in MENTEES:
            await add_school(session, cluster_id=cluster.id, name=name)
    assert cluster.id is not None

    schools = await schools_of(session, cluster_id=cluster.id)
    first_mentee = next(s for s in schools if s.kind == SchoolKind.MENTEE)
    invites = {}
    for role, school_id in (
        (RoleName.CONTRIBUTOR, first_mentee.id),
        (RoleName.SCHOOL_LEAD, first_mentee.id),
        (RoleName.CLUSTER_COORDINATOR, None),
    ):
        invite = await create_invite(
            session,
            cluster_id=cluster.id,
            role=role,
            school_id=school_id,
            max_uses=None,
            valid_for=timedelta(days=7),
        )
        key = "coordinator" if role == RoleName.CLUSTER_COORDINATOR else str(role)
        invites[key] = invite.code
    return Demo(
        cluster=cluster.name,
        schools=[{"name": s.name, "kind": s.kind} for s in schools],
        invites=invites,
    )
