"""The consent rule, kept where every write to the diary passes: the session's flush.

A person who has not consented to the current consent text (or has withdrawn) may still read
their own entries and take things back: delete an entry, remove evidence, narrow an entry to
cluster-only, take an answer out (as when they delete the message that gave it). Anything else
that would add to or change the diary (a new entry or evidence item, edited text, a wider
visibility, a focus proposal or decision) is refused with `ConsentRequired` before it reaches
the database. Checking at the flush rather than in each
command means a step added to any flow later is covered without remembering to ask.
Bulk statements do not pass the flush, and only those that take things away use them: erasure,
keeping entries without a name, retention.

The dispatcher names the acting person (and whether they consent) on each message's session;
sessions without an actor (the CLI, operators' tools) are not restricted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    ConsentRecord,
    DiaryEntry,
    EntryStatus,
    EvidenceItem,
    SchoolFocus,
    Visibility,
)
from storage.moderation import Moderation

ACTOR = "diary_actor"


class ConsentRequired(Exception):
    """A write to the diary by a person who does not currently consent."""


@dataclass
class Actor:
    """Who is acting in a session, and whether their latest answer grants the current text."""

    person_id: int
    consent_version: str
    consented: bool


def act_as(session: AsyncSession, *, person_id: int, consent_version: str, consented: bool) -> None:
    """Make the consent rule apply to every flush of `session`, on behalf of this person."""
    sync = session.sync_session
    sync.info[ACTOR] = Actor(person_id, consent_version, consented)
    event.listen(sync, "before_flush", _check)


def consents(session: AsyncSession) -> bool:
    """Whether the acting person consents now (True where no person acts)."""
    actor: Actor | None = session.sync_session.info.get(ACTOR)
    return actor is None or actor.consented


# The value before a change when it was never loaded: nothing can be shown to shrink from it.
_UNKNOWN = object()
# A value that is allowed to shrink: it may lose items or become empty, never gain or change.
_SHRINKS = object()


def _changed(obj: Any) -> dict[str, tuple[Any, Any]]:
    """The attributes changed on a loaded object: (value before, value now) by name."""
    state = inspect(obj)
    changed = {}
    for attr in state.attrs:
        history = attr.history
        if history.has_changes():
            before = history.deleted[0] if history.deleted else _UNKNOWN
            changed[attr.key] = (before, attr.value)
    return changed


def _shrank(before: Any, now: Any) -> bool:
    """Whether `now` only leaves out some of `before` (dict items, or all of a text)."""
    if before is _UNKNOWN:
        return False
    if not now:
        return True
    if isinstance(before, dict) and isinstance(now, dict):
        return all(key in before and before[key] == value for key, value in now.items())
    return False


# Changes that only take something back: what may be written without consent. The answers and
# their sources may shrink: an answer is taken out when its message is deleted on the platform.
# Taking from a public entry sends it back to its moderator (`storage.moderation`), which only
# keeps it from the public until then, or, narrowed to the cluster, out of moderation.
_RETRACTIONS: dict[type, dict[str, Any]] = {
    DiaryEntry: {
        "status": {EntryStatus.DELETED},
        "visibility": {Visibility.CLUSTER},
        "moderation": {Moderation.PENDING, Moderation.NONE},
        "deleted_at": None,
        "updated_at": None,
        "activity": _SHRINKS,
        "reflection": _SHRINKS,
        "sources": _SHRINKS,
    },
    EvidenceItem: {"removed_at": None},
}


def _is_retraction(obj: Any) -> bool:
    allowed = _RETRACTIONS.get(type(obj))
    if allowed is None:
        return False
    for key, (before, value) in _changed(obj).items():
        if key not in allowed:
            return False
        if allowed[key] is _SHRINKS:
            if not _shrank(before, value):
                return False
        elif allowed[key] is not None and value not in allowed[key]:
            return False
    return True


def _check(session: Session, _context: object, _instances: object) -> None:
    actor: Actor | None = session.info.get(ACTOR)
    if actor is None:
        return
    # A consent answer given in this very message counts from now on.
    for obj in session.new:
        if isinstance(obj, ConsentRecord) and obj.person_id == actor.person_id:
            actor.consented = obj.grants(actor.consent_version)
    if actor.consented:
        return
    guarded = (DiaryEntry, EvidenceItem, SchoolFocus)
    if any(isinstance(obj, guarded) for obj in session.new):
        raise ConsentRequired("a new diary record without consent")
    for obj in session.dirty:
        if isinstance(obj, guarded) and session.is_modified(obj) and not _is_retraction(obj):
            raise ConsentRequired(f"a change to {type(obj).__name__} without consent")
