"""The database tables: the whole Cluster Diary domain in one schema.

Enumerated values are stored as short strings (the `StrEnum`s below name them) rather than
database enum types, so adding a value never needs a type migration on PostgreSQL.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import uuid4

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _when() -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=True)


def _meeting_uid() -> str:
    return f"{uuid4()}@cluster-diary"


# Pseudonyms avoid look-alike characters (0/O, 1/I/L) so they can be read out and typed.
PSEUDONYM_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
# 31**6, close to 900 million: collisions are rare, and the unique index refuses the rest.
PSEUDONYM_LENGTH = 6


def new_pseudonym() -> str:
    """A random code naming a person where their name must not appear ("participant K7Q2MX")."""
    return "".join(secrets.choice(PSEUDONYM_ALPHABET) for _ in range(PSEUDONYM_LENGTH))


def _json() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class SchoolKind(StrEnum):
    """A mentor school (Advanced School) or a mentee school (Advanced Practitioner School)."""

    MENTOR = "mentor"
    MENTEE = "mentee"


class RoleName(StrEnum):
    """What a person may do; school roles are scoped to a school, the rest to a cluster."""

    CONTRIBUTOR = "contributor"
    SCHOOL_LEAD = "school_lead"
    CLUSTER_COORDINATOR = "cluster_coordinator"
    NATIONAL_COORDINATOR = "national_coordinator"
    ANALYST = "analyst"


class Section(StrEnum):
    """The five sections of the diary template, in template order."""

    ISSUE = "issue"
    ACTION = "action"
    IMPACT = "impact"
    NEXT_STEPS = "next_steps"
    MEETING_NOTES = "meeting_notes"


class EntryStatus(StrEnum):
    """Where an entry is in its life."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    DELETED = "deleted"


class Visibility(StrEnum):
    """Who may see an entry: the cluster only, or also the public version (named or anonymous)."""

    CLUSTER = "cluster"
    PUBLIC_NAMED = "public_named"
    PUBLIC_ANONYMOUS = "public_anonymous"


class FocusStatus(StrEnum):
    """A school focus proposal's state."""

    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    REVISE = "revise"
    SUPERSEDED = "superseded"


class InvitePurpose(StrEnum):
    """What an invite code does: let a person join, or link a group chat as the cluster hub."""

    JOIN = "join"
    HUB = "hub"


class Cluster(SQLModel, table=True):
    """One mentor school with its mentee schools and coordinators."""

    __tablename__ = "clusters"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    country: str = Field(default="", max_length=100)
    language: str = Field(default="en", max_length=8)
    timezone: str = Field(default="Europe/Brussels", max_length=64)
    # When the bot may send unprompted messages, in the cluster's time zone: ISO weekdays
    # (1 = Monday) and local hours "HH:MM". Meeting reminders are the only exception.
    work_days: str = Field(default="12345", max_length=7)
    work_start: str = Field(default="09:00", max_length=5)
    work_end: str = Field(default="18:00", max_length=5)
    # Without terms, input points fall every `rhythm_weeks` from the cluster's creation.
    rhythm_weeks: int = Field(default=6)
    # A mentee school with no submitted entry for this long is nudged.
    nudge_after_days: int = Field(default=42)
    # How long before a meeting its reminders go, as "7d,1d,1h" (days, hours, minutes).
    meeting_reminders: str = Field(default="7d,1d,1h", max_length=64)
    # The weekly digest in the hub chats: ISO weekday (1 = Monday, 0 = none) and local time.
    digest_day: int = Field(default=5)
    digest_time: str = Field(default="15:00", max_length=5)
    # The last day of the cluster's work; its data is kept `retention_months` (a setting)
    # longer, then purged or anonymised by `diarybot retention`, which records when it did.
    ends_on: date | None = None
    retention_applied_at: datetime | None = _when()
    created_at: datetime = _created()


class DaySpan(SQLModel):
    """A named run of a cluster's days, both ends included, in the cluster's time zone."""

    id: int | None = Field(default=None, primary_key=True)
    cluster_id: int = Field(foreign_key="clusters.id", index=True)
    name: str = Field(max_length=100)
    first_day: date
    last_day: date


class Term(DaySpan, table=True):
    """A school term of a cluster."""

    __tablename__ = "terms"


class Holiday(DaySpan, table=True):
    """Days on which the bot sends nothing unprompted."""

    __tablename__ = "holidays"


class InputPoint(SQLModel, table=True):
    """A date on which schools are asked to add to the diary, set by hand.

    Rows with a school belong to that school's own timetable and replace the cluster's dates
    for it; rows without one replace the cluster's computed dates (two per term, or the rhythm).
    """

    __tablename__ = "input_points"
    __table_args__ = (UniqueConstraint("cluster_id", "school_id", "day"),)
    id: int | None = Field(default=None, primary_key=True)
    cluster_id: int = Field(foreign_key="clusters.id", index=True)
    school_id: int | None = Field(default=None, foreign_key="schools.id")
    day: date
    created_by: int | None = Field(default=None, foreign_key="people.id")


class School(SQLModel, table=True):
    """A school in a cluster."""

    __tablename__ = "schools"
    __table_args__ = (UniqueConstraint("cluster_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    cluster_id: int = Field(foreign_key="clusters.id", index=True)
    name: str = Field(max_length=200)
    kind: str = Field(default=SchoolKind.MENTEE, max_length=16)
    created_at: datetime = _created()


class Person(SQLModel, table=True):
    """Someone who talks to the bot; may have identities on several platforms."""

    __tablename__ = "people"
    id: int | None = Field(default=None, primary_key=True)
    display_name: str = Field(default="", max_length=200)
    # Shown instead of the name on entries kept without it (consent withdrawn, retention).
    pseudonym: str = Field(default_factory=new_pseudonym, max_length=16, unique=True, index=True)
    language: str | None = Field(default=None, max_length=8)
    created_at: datetime = _created()
    deleted_at: datetime | None = _when()
    # Reminders and nudges only; consent is separate. Paused until a moment, or stopped.
    reminders_paused_until: datetime | None = _when()
    reminders_stopped: bool = Field(default=False)


class Identity(SQLModel, table=True):
    """A person's account on one platform (Telegram user id, Matrix user id, console name)."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="people.id", index=True)
    platform: str = Field(max_length=32)
    external_id: str = Field(max_length=255)
    display_name: str = Field(default="", max_length=200)
    # The private chat where the bot last heard from this account: where notices go.
    private_chat_id: str | None = Field(default=None, max_length=255)
    created_at: datetime = _created()
    # The person blocked the bot (or left its direct chat): nothing unprompted is sent until
    # they write again.
    unreachable_since: datetime | None = _when()


class Role(SQLModel, table=True):
    """A role a person holds at a school or in a cluster."""

    __tablename__ = "roles"
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="people.id", index=True)
    role: str = Field(max_length=32)
    cluster_id: int = Field(foreign_key="clusters.id", index=True)
    school_id: int | None = Field(default=None, foreign_key="schools.id", index=True)
    created_at: datetime = _created()
    revoked_at: datetime | None = _when()


class Invite(SQLModel, table=True):
    """A code that binds whoever redeems it to a school and role, or links a hub chat."""

    __tablename__ = "invites"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    purpose: str = Field(default=InvitePurpose.JOIN, max_length=16)
    cluster_id: int = Field(foreign_key="clusters.id", index=True)
    school_id: int | None = Field(default=None, foreign_key="schools.id")
    role: str = Field(default=RoleName.CONTRIBUTOR, max_length=32)
    max_uses: int | None = Field(default=None)  # None: any number of uses
    uses: int = Field(default=0)
    expires_at: datetime | None = _when()
    created_by: int | None = Field(default=None, foreign_key="people.id")
    created_at: datetime = _created()


class SchoolFocus(SQLModel, table=True):
    """A mentoring focus proposed for a school; the history of proposals is kept."""

    __tablename__ = "school_focus"
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="schools.id", index=True)
    title: str = Field(max_length=300)
    rationale: str = Field(default="", sa_type=Text)
    status: str = Field(default=FocusStatus.PROPOSED, max_length=16)
    proposed_by: int | None = Field(default=None, foreign_key="people.id")
    decided_by: int | None = Field(default=None, foreign_key="people.id")
    decision_note: str = Field(default="", sa_type=Text)
    created_at: datetime = _created()
    decided_at: datetime | None = _when()


class DiaryEntry(SQLModel, table=True):
    """One contribution to one section of a school's diary template.

    `activity` maps each guiding question's key to the contributor's answer.
    """

    __tablename__ = "diary_entries"
    __table_args__ = (
        Index("ix_entries_school_status", "school_id", "status"),
        # A person's entries by status, newest submitted first (`/mine`, `/add`, `/privacy`).
        Index("ix_entries_author_status", "author_id", "status", "submitted_at", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="schools.id")
    section: str = Field(max_length=16)
    author_id: int = Field(foreign_key="people.id")
    activity: dict[str, Any] = _json()
    reflection: str = Field(default="", sa_type=Text)
    status: str = Field(default=EntryStatus.DRAFT, max_length=16)
    visibility: str = Field(default=Visibility.CLUSTER, max_length=20)
    language: str = Field(default="en", max_length=8)
    created_at: datetime = _created()
    updated_at: datetime = _created()
    submitted_at: datetime | None = _when()
    deleted_at: datetime | None = _when()
    # The cluster meeting whose notes this is (meeting-notes entries recorded after one).
    meeting_id: int | None = Field(default=None, foreign_key="meetings.id")
    # Shown to others under the author's pseudonym, never their name (kept on withdrawal).
    anonymised: bool = Field(default=False)
    # A public entry's way to the public version (`storage.moderation`): "" when it stays in
    # the cluster, else pending, approved or returned (with the moderator's note).
    moderation: str = Field(default="", max_length=16, index=True)
    moderated_by: int | None = Field(default=None, foreign_key="people.id")
    moderated_at: datetime | None = _when()
    moderation_note: str = Field(default="", sa_type=Text)
    # The platform ids of the messages that gave its answers ({message id: part}), so a message
    # the person deletes on the platform (a Matrix redaction) can be taken out of it.
    sources: dict[str, str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class PublicAuthor(SQLModel, table=True):
    """The number a nameless author goes by in their school's public version ("Teacher 3").

    Given the first time the public version shows one of their entries, and kept, so the same
    person is the same teacher in every public version, and nobody's number changes when
    another leaves. An erased person's row stays without them: their number is never given
    to anyone else.
    """

    __tablename__ = "public_authors"
    __table_args__ = (
        UniqueConstraint("school_id", "person_id", name="uq_public_authors_school_person"),
        UniqueConstraint("school_id", "number", name="uq_public_authors_school_number"),
    )
    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="schools.id")
    person_id: int | None = Field(default=None, foreign_key="people.id", index=True)
    number: int
    created_at: datetime = _created()


class EvidenceItem(SQLModel, table=True):
    """A photo, voice note, audio, video, document or link attached to an entry."""

    __tablename__ = "evidence_items"
    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="diary_entries.id", index=True)
    kind: str = Field(max_length=16)
    media_hash: str | None = Field(default=None, max_length=64, index=True)
    url: str | None = Field(default=None, sa_type=Text)
    mime: str = Field(default="", max_length=127)
    size: int | None = None
    filename: str | None = Field(default=None, max_length=255)
    caption: str = Field(default="", sa_type=Text)
    duration_s: float | None = None
    transcript: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = _created()
    removed_at: datetime | None = _when()
    # The platform id of the message that brought it (to follow the message's deletion).
    source_message: str | None = Field(default=None, max_length=255, index=True)


class ConsentRecord(SQLModel, table=True):
    """A person's answer to one version of the consent text; the newest record counts."""

    __tablename__ = "consent_records"
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="people.id", index=True)
    version: str = Field(max_length=32)
    granted: bool
    created_at: datetime = _created()

    def grants(self, version: str) -> bool:
        """Whether this answer agrees to that version of the consent text."""
        return self.granted and self.version == version


class ConversationState(SQLModel, table=True):
    """Where a person is in a conversation in one chat, with the draft data gathered so far.

    `rev` increases with every change, so a button from an older message can be recognised.
    """

    __tablename__ = "conversation_states"
    __table_args__ = (UniqueConstraint("identity_id", "chat_key"),)
    id: int | None = Field(default=None, primary_key=True)
    identity_id: int = Field(foreign_key="identities.id")
    chat_key: str = Field(max_length=300)
    flow: str = Field(default="", max_length=32)
    step: str = Field(default="", max_length=64)
    data: dict[str, Any] = _json()
    rev: int = Field(default=0)
    updated_at: datetime = _created()


class HubChat(SQLModel, table=True):
    """A group chat linked to a cluster, where the bot posts digests and meeting reminders."""

    __tablename__ = "hub_chats"
    __table_args__ = (UniqueConstraint("platform", "chat_id"),)
    id: int | None = Field(default=None, primary_key=True)
    cluster_id: int = Field(foreign_key="clusters.id", index=True)
    platform: str = Field(max_length=32)
    chat_id: str = Field(max_length=255)
    title: str = Field(default="", max_length=300)
    # The forum topic (Telegram) or thread (Matrix) it was linked in: the bot posts there.
    thread_id: str | None = Field(default=None, max_length=255)
    linked_by: int | None = Field(default=None, foreign_key="people.id")
    created_at: datetime = _created()


class MeetingStatus(StrEnum):
    """Whether a meeting still stands."""

    PLANNED = "planned"
    CANCELLED = "cancelled"


class Answer(StrEnum):
    """A person's answer to a meeting invitation."""

    COMING = "coming"
    MAYBE = "maybe"
    NOT_COMING = "not_coming"


class Meeting(SQLModel, table=True):
    """A cluster meeting (about once a term), planned, held or cancelled.

    `uid` and `sequence` are the calendar file's: the UID stays for the meeting's whole life
    and every change people are told about raises the sequence, so their calendars update the
    event they added instead of adding a second one. `invited` lists the invited schools' ids;
    empty means every school of the cluster (one that joins later included).
    """

    __tablename__ = "meetings"
    id: int | None = Field(default=None, primary_key=True)
    cluster_id: int = Field(foreign_key="clusters.id", index=True)
    uid: str = Field(default_factory=_meeting_uid, max_length=100, unique=True)
    sequence: int = Field(default=0)
    status: str = Field(default=MeetingStatus.PLANNED, max_length=16)
    scheduled_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    place: str = Field(default="", max_length=300)
    agenda: str = Field(default="", sa_type=Text)
    invited: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_by: int | None = Field(default=None, foreign_key="people.id")
    created_at: datetime = _created()
    updated_at: datetime = _created()
    # When its notes were recorded (the attendance and the schools' meeting-notes entries).
    held_at: datetime | None = _when()


class MeetingAnswer(SQLModel, table=True):
    """One person's RSVP to a meeting and, once recorded, whether they were there."""

    __tablename__ = "meeting_answers"
    __table_args__ = (UniqueConstraint("meeting_id", "person_id"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meetings.id", index=True)
    person_id: int = Field(foreign_key="people.id", index=True)
    answer: str | None = Field(default=None, max_length=16)
    attended: bool | None = Field(default=None)
    updated_at: datetime = _created()


class MeetingPost(SQLModel, table=True):
    """A meeting's announcement as posted in one hub chat, so its tally can be edited there."""

    __tablename__ = "meeting_posts"
    __table_args__ = (UniqueConstraint("platform", "chat_id", "message_id"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meetings.id", index=True)
    hub_id: int = Field(foreign_key="hub_chats.id")
    platform: str = Field(max_length=32)
    chat_id: str = Field(max_length=255)
    message_id: str = Field(max_length=255)
    created_at: datetime = _created()


class ReminderStatus(StrEnum):
    """Where a planned message is: waiting, being sent, or done one way or another."""

    PLANNED = "planned"
    CLAIMED = "claimed"
    SENT = "sent"
    SKIPPED = "skipped"  # not sent on purpose: no consent, paused, left the school
    EXPIRED = "expired"  # its moment passed while the bot was down and it means nothing now


class Reminder(SQLModel, table=True):
    """A planned unprompted message, and once sent, the record that it was sent.

    The database, not the scheduler's memory, decides what is due. A delivery claims the row
    with one conditional update that also sets a lease, so it fires once even with two bot
    processes; a claim whose lease ran out (the process died) is taken again. `topic` names
    what the message is about (a school's input point, a person's nudge of one week) and `key`
    adds the recipient, so planning the same thing twice finds the row already there.
    """

    __tablename__ = "reminders"
    __table_args__ = (
        Index("ix_reminders_due", "status", "due_at"),
        Index("ix_reminders_person", "person_id", "due_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    topic: str = Field(max_length=160, index=True)
    kind: str = Field(max_length=32)
    cluster_id: int = Field(foreign_key="clusters.id", index=True)
    school_id: int | None = Field(default=None, foreign_key="schools.id")
    meeting_id: int | None = Field(default=None, foreign_key="meetings.id")
    # The person it is for; None for a post in the cluster's hub chats.
    person_id: int | None = Field(default=None, foreign_key="people.id")
    status: str = Field(default=ReminderStatus.PLANNED, max_length=16)
    due_at: datetime = Field(sa_type=UTCDateTime)
    # After this moment the message means nothing any more (the input window closed).
    expires_at: datetime | None = _when()
    payload: dict[str, Any] = _json()
    claimed_at: datetime | None = _when()
    claimed_by: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = _when()
    sent_at: datetime | None = _when()
    # Why it was skipped or expired, for /reminders and the operator's log.
    outcome: str = Field(default="", max_length=200)
    created_at: datetime = _created()


class DigestMark(SQLModel, table=True):
    """How far the last digest of one cluster (or school) in one chat went; the next starts there.

    A chat is "platform:id"; `school_id` is 0 for a whole cluster's digest.
    """

    __tablename__ = "digest_marks"
    __table_args__ = (UniqueConstraint("chat_key", "cluster_id", "school_id"),)
    id: int | None = Field(default=None, primary_key=True)
    chat_key: str = Field(max_length=300)
    cluster_id: int = Field(foreign_key="clusters.id", index=True)
    school_id: int = Field(default=0)
    until: datetime = Field(sa_type=UTCDateTime)


class ChannelState(SQLModel, table=True):
    """Small values a channel must keep across restarts (a Matrix sync token, device id)."""

    __tablename__ = "channel_state"
    __table_args__ = (UniqueConstraint("platform", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=32)
    # A Matrix key starts with the bot's user id, which may be up to 255 characters long.
    key: str = Field(max_length=300)
    value: str = Field(sa_type=Text)
    updated_at: datetime = _created()


class MatrixRoom(SQLModel, table=True):
    """What the Matrix channel keeps per room and bot account, across restarts.

    `last_event_id` is the newest event of the room the bot has handled (saved in the same
    transaction as the sync token): when the room's history comes back, as it does when the bot
    is invited again after a kick, nothing up to that event is handled a second time. `buttons`
    are the choices last offered in the room, so a typed number picks one after a restart.
    Matrix limits user, room and event ids to 255 bytes.
    """

    __tablename__ = "matrix_rooms"
    __table_args__ = (UniqueConstraint("account", "room_id"),)
    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(max_length=255)
    room_id: str = Field(max_length=255)
    last_event_id: str | None = Field(default=None, max_length=255)
    buttons: str | None = Field(default=None, sa_type=Text)
    updated_at: datetime = _created()


class AuditEvent(SQLModel, table=True):
    """Who did what to which record: joins, consent, focus decisions, edits, deletions."""

    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    person_id: int | None = Field(default=None, foreign_key="people.id", index=True)
    action: str = Field(max_length=64)
    target: str = Field(default="", max_length=64)
    detail: dict[str, Any] = _json()
    created_at: datetime = _created()
