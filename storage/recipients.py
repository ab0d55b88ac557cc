"""Everything the delivery of a batch of reminders needs to know about its recipients.

Loaded for a whole claimed batch at once, in a handful of `IN` queries, so deciding whether each
message may go costs no query of its own: who the people are, their newest consent answer,
the roles they hold, their private chats, the schools and hub chats the rows name, and the
meetings they are about with everyone's answers and the invited schools.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.meetings import invites
from storage.models import (
    ConsentRecord,
    HubChat,
    Meeting,
    MeetingAnswer,
    Person,
    Reminder,
    Role,
    School,
)
from storage.people import Contact, contacts, newest_consent_ids


@dataclass
class Recipients:
    """What is stored about the people, schools and hub chats of some reminder rows."""

    people: dict[int, Person] = field(default_factory=dict)
    consents: dict[int, ConsentRecord] = field(default_factory=dict)
    # (person, cluster, role, school or None) for every active role
    roles: set[tuple[int, int, str, int | None]] = field(default_factory=set)
    chats: dict[int, list[Contact]] = field(default_factory=dict)
    schools: dict[int, School] = field(default_factory=dict)
    hubs: dict[int, HubChat] = field(default_factory=dict)
    meetings: dict[int, Meeting] = field(default_factory=dict)
    # every answer to those meetings, by meeting and person
    answers: dict[int, dict[int, MeetingAnswer]] = field(default_factory=dict)

    def holds(
        self, person_id: int, cluster_id: int, roles: frozenset[str], school_id: int | None
    ) -> bool:
        """Whether the person holds one of `roles` in the cluster (at the school, if given)."""
        return any(
            p == person_id and c == cluster_id and r in roles and (school_id in (None, s))
            for p, c, r, s in self.roles
        )

    def invited(self, person_id: int, meeting: Meeting) -> bool:
        """Whether the person is (still) invited to the meeting."""
        return any(
            p == person_id and c == meeting.cluster_id and invites(meeting, r, s)
            for p, c, r, s in self.roles
        )


async def recipients_of(session: AsyncSession, rows: Sequence[Reminder]) -> Recipients:
    """Load what deciding and writing these rows' messages needs."""
    found = Recipients()
    person_ids = sorted({r.person_id for r in rows if r.person_id is not None})
    school_ids = {r.school_id for r in rows if r.school_id is not None}
    meeting_ids = sorted({r.meeting_id for r in rows if r.meeting_id is not None})
    if meeting_ids:
        meetings = await session.exec(select(Meeting).where(col(Meeting.id).in_(meeting_ids)))
        found.meetings = {m.id: m for m in meetings.all() if m.id is not None}
        school_ids |= {s for m in found.meetings.values() for s in m.invited}
        answers = await session.exec(
            select(MeetingAnswer).where(col(MeetingAnswer.meeting_id).in_(meeting_ids))
        )
        by_meeting: dict[int, dict[int, MeetingAnswer]] = defaultdict(dict)
        for answer in answers.all():
            by_meeting[answer.meeting_id][answer.person_id] = answer
        found.answers = dict(by_meeting)
    hub_ids = sorted({int(r.payload.get("hub", 0)) for r in rows if r.person_id is None})
    if person_ids:
        people = await session.exec(select(Person).where(col(Person.id).in_(person_ids)))
        found.people = {p.id: p for p in people.all() if p.id is not None}
        consents = await session.exec(
            select(ConsentRecord).where(col(ConsentRecord.id).in_(newest_consent_ids(person_ids)))
        )
        found.consents = {c.person_id: c for c in consents.all()}
        roles = await session.exec(
            select(Role.person_id, Role.cluster_id, Role.role, Role.school_id).where(
                col(Role.person_id).in_(person_ids), col(Role.revoked_at).is_(None)
            )
        )
        found.roles = {tuple(r) for r in roles.all()}  # type: ignore[misc]
        chats: dict[int, list[Contact]] = defaultdict(list)
        for contact in await contacts(session, person_ids=person_ids):
            chats[contact.person_id].append(contact)
        found.chats = dict(chats)
    if school_ids:
        schools = await session.exec(select(School).where(col(School.id).in_(sorted(school_ids))))
        found.schools = {s.id: s for s in schools.all() if s.id is not None}
    if hub_ids:
        hubs = await session.exec(select(HubChat).where(col(HubChat.id).in_(hub_ids)))
        found.hubs = {h.id: h for h in hubs.all() if h.id is not None}
    return found
