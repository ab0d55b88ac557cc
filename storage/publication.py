"""The public version of the diary: which entries it holds and how they appear in it.

The briefing allows a public version "upon consent of the contributors". An entry is in it when
it is submitted, its author chose a public visibility (named or anonymous), a moderator approved
it as it now stands (`storage.moderation`: any change sends it back), and its author's newest
consent answer agrees to the consent text in force.

An author who chose to be named is named. Anyone else is "Teacher <n>" of their school, the
number kept in `public_authors`, so the same person is the same teacher in every public
version. Nothing in it leads back to the private diary or to anyone's chat account: ids are
counted afresh in each export (cluster 1, school 1, entry 1, ...), the names, sizes and hashes
of the original files are dropped, and phone numbers, e-mail addresses and chat accounts typed
into any text are masked (`storage.masking`). Photos stay, re-encoded without their metadata on
the way out (`bot.exports`); every other medium is withheld, and the record says so. The
cluster's coordinators, meetings and focus deliberations are its working record rather than
anyone's contribution: the public version has none of them, only each school's confirmed focus.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.anonymise import shows_name
from storage.entry_json import FILES_DIR
from storage.masking import mask
from storage.models import ConsentRecord, DiaryEntry, PublicAuthor, Visibility
from storage.moderation import Moderation
from storage.people import newest_consent_ids

PUBLIC = (Visibility.PUBLIC_NAMED, Visibility.PUBLIC_ANONYMOUS)
# What the public version says of each contribution's text and evidence.
ENTRY_TEXT = ("reflection",)
EVIDENCE_TEXT = ("caption", "transcript", "url")


@dataclass
class Publication:
    """One public export in the making: its rules, and the ids it has counted so far.

    Args:
        consent_version: the consent text in force; an author must have agreed to it.
        words: what stands in for masked details, by kind (`storage.masking.KINDS`).
    """

    consent_version: str
    words: Mapping[str, str]
    _counted: dict[str, int] = field(default_factory=dict)

    def conditions(self) -> tuple[Any, ...]:
        """The entries a moderator let through, as conditions on `DiaryEntry`."""
        return (
            col(DiaryEntry.visibility).in_(PUBLIC),
            DiaryEntry.moderation == Moderation.APPROVED,
        )

    async def consenting(self, session: AsyncSession, people: Iterable[int]) -> set[int]:
        """Those of `people` whose newest consent answer agrees to the text in force."""
        wanted = list(set(people))
        if not wanted:
            return set()
        rows = await session.exec(
            select(ConsentRecord).where(col(ConsentRecord.id).in_(newest_consent_ids(wanted)))
        )
        return {r.person_id for r in rows.all() if r.grants(self.consent_version)}

    async def teachers(
        self, session: AsyncSession, entries: Iterable[DiaryEntry]
    ) -> dict[tuple[int, int], int]:
        """The teacher number of each nameless author, by (school, person); new ones are given.

        Numbers go to people in the order of their first entry here, after the highest
        number their school already gave.
        """
        wanted = [(e.school_id, e.author_id) for e in entries if not shows_name(e)]
        schools = list({school for school, _ in wanted})
        if not schools:
            return {}
        rows = await session.exec(
            select(PublicAuthor).where(col(PublicAuthor.school_id).in_(schools))
        )
        numbers = {(a.school_id, a.person_id): a.number for a in rows.all()}
        highest = await session.exec(
            select(PublicAuthor.school_id, func.max(PublicAuthor.number))
            .where(col(PublicAuthor.school_id).in_(schools))
            .group_by(col(PublicAuthor.school_id))
        )
        last = dict(highest.all())
        for school, person in dict.fromkeys(wanted):
            if (school, person) not in numbers:
                last[school] = number = last.get(school, 0) + 1
                numbers[school, person] = number
                session.add(PublicAuthor(school_id=school, person_id=person, number=number))
        return numbers

    def count(self, what: str) -> int:
        """The next id of `what` ("cluster", "school", "entry") in this export, from 1."""
        self._counted[what] = self._counted.get(what, 0) + 1
        return self._counted[what]

    def hide(self, text: str) -> str:
        """`text` with its contact details masked."""
        return mask(text, self.words)

    def entry(self, record: dict[str, Any]) -> None:
        """Make one entry's record public: ids counted afresh, texts masked, files only photos."""
        record["id"] = number = self.count("entry")
        record["meeting_id"] = None
        record["activity"] = {k: self.hide(v) for k, v in record["activity"].items()}
        for key in ENTRY_TEXT:
            record[key] = self.hide(record[key])
        for n, item in enumerate(record["evidence"], start=1):
            for key in EVIDENCE_TEXT:
                if item[key]:
                    item[key] = self.hide(item[key])
            item["file_name"] = None
            if item["file"] is None and not item["sha256"]:
                continue  # a link
            if item["kind"] == "photo" and item["file"]:
                # Re-encoded as a JPEG on the way out, which gives its size and hash then.
                item["file"], item["mime"] = f"{FILES_DIR}/{number}-{n}.jpg", "image/jpeg"
            else:
                item["file"], item["size"], item["sha256"] = None, None, None
                item["withheld"] = True

    def cluster(self, record: dict[str, Any]) -> None:
        """Make a cluster's record public (its entries already are): the rest of the rules."""
        record["id"] = cluster_id = self.count("cluster")
        record["coordinators"], record["meetings"] = [], []
        for school in record["schools"]:
            school["id"] = self.count("school")
            focus = school["focus"]
            if focus is not None:
                focus.update(
                    title=self.hide(focus["title"]),
                    rationale=self.hide(focus["rationale"]),
                    decision_note="",
                )
            school["focus_history"] = [focus] if focus else []
            for entry in school["entries"]:
                entry["cluster"]["id"] = cluster_id
                entry["school"]["id"] = school["id"]
