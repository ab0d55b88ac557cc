"""The public version of the diary: which entries it holds and how they appear in it.

The briefing allows a public version "upon consent of the contributors". An entry is in it when
it is submitted, its author chose a public visibility (named or anonymous), a moderator approved
it as it now stands (`storage.moderation`: any change sends it back), and its author's newest
consent answer agrees to the consent text in force.

An author who chose to be named is named, unless the name their chat account shows is an
account itself (a Matrix user id, "Ana (@ana:example.org)"). Anyone else is "Teacher <n>" of
their school, the number kept in `public_authors`, so the same person is the same teacher in
every public version; an erased person's number is never given again.

Nothing in it leads back to the private diary or to anyone's chat account: ids are counted
afresh in each export (cluster 1, school 1, entry 1, ...), the names, sizes and hashes of the
original files are dropped, and phone numbers, e-mail addresses and chat accounts typed into
any text are masked (`storage.masking`). Photos stay, re-encoded without their metadata on the
way out (`bot.exports`); every other medium is withheld, and the record says so. The cluster's
coordinators, meetings and focus deliberations are its working record rather than anyone's
contribution: the public version has none of them, only each school's confirmed focus.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.anonymise import shows_name
from storage.entry_json import FILES_DIR
from storage.masking import mask
from storage.models import ConsentRecord, DiaryEntry, PublicAuthor, Visibility
from storage.moderation import Moderation
from storage.people import newest_consent_ids

PUBLIC = (Visibility.PUBLIC_NAMED, Visibility.PUBLIC_ANONYMOUS)
# Two public exports at once may reach for the same number; the later one takes the next.
NUMBER_ATTEMPTS = 5
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

    def named(self, entry: DiaryEntry, name: str) -> bool:
        """Whether the public version shows the entry under its author's `name`."""
        return shows_name(entry) and bool(name) and self.hide(name) == name

    async def teachers(
        self, session: AsyncSession, authors: Iterable[tuple[int, int]]
    ) -> dict[tuple[int, int], int]:
        """The teacher number of each (school, person); those without one are given one.

        Numbers go to people in the order they come, after the highest number their school
        ever gave.
        """
        wanted = list(dict.fromkeys(authors))
        schools = list({school for school, _ in wanted})
        if not schools:
            return {}
        rows = await session.exec(
            select(PublicAuthor).where(col(PublicAuthor.school_id).in_(schools))
        )
        numbers: dict[tuple[int, int], int] = {
            (a.school_id, a.person_id): a.number for a in rows.all() if a.person_id is not None
        }
        for school, person in wanted:
            if (school, person) not in numbers:
                numbers[school, person] = await _give(session, school, person)
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
                withhold(item)

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


def withhold(item: dict[str, Any]) -> None:
    """Leave an evidence item's file out of the public version, and say so in its record."""
    item["file"], item["size"], item["sha256"], item["withheld"] = None, None, None, True


async def _give(session: AsyncSession, school: int, person: int) -> int:
    """A new teacher number for `person` in `school`: the next after the highest ever given."""
    for _ in range(NUMBER_ATTEMPTS):
        highest = await session.exec(
            select(func.max(PublicAuthor.number)).where(PublicAuthor.school_id == school)
        )
        number = (highest.one() or 0) + 1
        try:
            async with session.begin_nested():
                session.add(PublicAuthor(school_id=school, person_id=person, number=number))
        except IntegrityError:
            # Another export gave this number (or this person one) first, and has committed.
            given = await session.exec(
                select(PublicAuthor.number).where(
                    PublicAuthor.school_id == school, PublicAuthor.person_id == person
                )
            )
            found = given.first()
            if found is not None:
                return found
            continue
        return number
    raise RuntimeError(f"no free teacher number in school {school} after {NUMBER_ATTEMPTS} tries")
