"""The public version: only approved entries of consenting authors, nothing that leads back.

Seeded on the export tests' demo cluster (`tests.test_export.seeded`), through the whole bot and
`diarybot export --public`, on SQLite and PostgreSQL. Entries are made public and approved in
the database, with `storage.moderation.decide` as /moderate does (its own tests drive the chat).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
from docx import Document
from PIL import Image as PILImage
from sqlmodel import col, select

from bot.photos import shrink_photo
from bot.settings import DEFAULT_CONSENT_VERSION, Settings
from storage.erasure import erase_person
from storage.models import (
    AuditEvent,
    ConsentRecord,
    DiaryEntry,
    EvidenceItem,
    Person,
    Visibility,
)
from storage.moderation import Moderation, decide
from storage.personal_data import personal_data
from storage.types import utcnow
from tests.builders import exif_of, member, person_id, photo_with_gps, submitted_entry
from tests.helpers import Harness
from tests.test_export import export, schema, seeded, unzip

REFLECTION = "Ring me on 912 345 678 or write to ana.silva@escola.pt, or @ana_reads; 12.05.2026."


async def _publish(
    bot: Harness, entry_id: int, visibility: Visibility, *, approve: bool = True, **changes: Any
) -> None:
    """Make the entry public with `changes`, then (in a later session) approve it."""
    async with bot.app.db.session() as session:
        entry = await session.get(DiaryEntry, entry_id)
        assert entry is not None
        entry.visibility = visibility
        for key, value in changes.items():
            setattr(entry, key, value)
        session.add(entry)
    if approve:
        cora = await person_id(bot, "cora")
        async with bot.app.db.session() as session:
            entry = await session.get(DiaryEntry, entry_id)
            assert entry is not None and entry.moderation == Moderation.PENDING
            decide(entry, approve=True, moderator_id=cora, note="", now=utcnow())
            session.add(entry)


async def _entry_ids(bot: Harness) -> list[int]:
    async with bot.app.db.session() as session:
        rows = await session.exec(select(DiaryEntry.id).order_by(col(DiaryEntry.id)))
        return [i for i in rows.all() if i is not None]


async def public_seed(bot: Harness, tmp_path: Path) -> dict[str, Any]:
    """The export seed with entries of every public fate.

    Ana's photo entry is public without her name, approved, a phone number, an e-mail address
    and a chat account typed into its reflection; her report entry (a document and a voice
    note) public with her name, approved. Then: Bea's public entry approved, but Bea has since
    said no to the consent text; Caio's approved, but he agreed to an older consent text only;
    Dora's public entry still waiting; Edu's entry, which stays in the cluster.
    """
    seed = await seeded(bot, tmp_path)
    codes = seed["codes"]
    ana_photo, ana_report = (await _entry_ids(bot))[:2]
    await _publish(bot, ana_photo, Visibility.PUBLIC_ANONYMOUS, reflection=REFLECTION)
    await _publish(bot, ana_report, Visibility.PUBLIC_NAMED)
    for user in ("bea", "caio", "dora", "edu"):
        await member(bot, user, codes["contributor"])
        await submitted_entry(bot, user, f"{user.title()}'s own words")
    bea, caio, dora, _edu = (await _entry_ids(bot))[-4:]
    await _publish(bot, bea, Visibility.PUBLIC_NAMED)
    await _publish(bot, caio, Visibility.PUBLIC_ANONYMOUS)
    await _publish(bot, dora, Visibility.PUBLIC_NAMED, approve=False)
    async with bot.app.db.session() as session:
        now = DEFAULT_CONSENT_VERSION
        said_no = ConsentRecord(person_id=await person_id(bot, "bea"), version=now, granted=False)
        older = ConsentRecord(person_id=await person_id(bot, "caio"), version="2025", granted=True)
        session.add_all([said_no, older])
        hashes = (await session.exec(select(EvidenceItem.media_hash))).all()
    return {**seed, "hashes": {h for h in hashes if h}}


async def test_the_public_json_holds_approved_entries_of_consenting_authors_only(
    harness: Harness, settings: Settings, tmp_path: Path
) -> None:
    seed = await public_seed(harness, tmp_path)
    out = tmp_path / "public.zip"
    said = export(settings, out, "--cluster", "Demo Cluster", "--public", fmt="json")
    assert "public version, 1 clusters, 2 entries" in said

    files = unzip(out)
    data = json.loads(files.pop("cluster-diary.json"))
    jsonschema.Draft202012Validator(schema()).validate(data)
    assert data["public"] is True and data["scope"] == "cluster:1"
    (cluster,) = data["clusters"]
    assert cluster["id"] == 1 and cluster["coordinators"] == [] and cluster["meetings"] == []
    entries = [e for school in cluster["schools"] for e in school["entries"]]
    assert [e["activity"]["why"] for e in entries] == [
        "Pupils read aloud to each other",
        "The reading plan",
    ]
    assert [e["id"] for e in entries] == [1, 2]
    photo_entry, report_entry = entries
    assert photo_entry["author"] == {"name": None, "pseudonym": None, "teacher": 1}
    assert report_entry["author"] == {"name": "Ana", "pseudonym": None, "teacher": None}
    assert photo_entry["reflection"] == (
        "Ring me on [phone number] or write to [e-mail address], or [chat account]; 12.05.2026."
    )

    text = json.dumps(data, ensure_ascii=False)
    for absent in ("Bea's", "Caio's", "Dora's", "Edu's", "withdrawn from view", "North"):
        assert absent not in text, absent
    for private in ("912 345 678", "ana.silva", "@ana_reads", "Cora", "Plano de leitura"):
        assert private not in text, private
    assert not any(h in text for h in seed["hashes"])  # no original file's hash
    school = next(s for s in cluster["schools"] if s["entries"])
    assert [f["title"] for f in school["focus_history"]] == ["Reading for pleasure"]

    # The photo is there, re-encoded without its camera and GPS tags; the rest is withheld.
    evidence = {i["kind"]: i for e in entries for i in e["evidence"]}
    photo = evidence["photo"]
    assert photo["file"] == "files/1-1.jpg" and photo["file_name"] is None
    assert set(files) == {"files/1-1.jpg"} and exif_of(files["files/1-1.jpg"]) == {}
    for kind in ("document", "audio"):
        item = evidence[kind]
        assert item["withheld"] is True and item["file"] is None and item["sha256"] is None
    assert evidence["audio"]["transcript"] == "We read for ten minutes every morning."

    async with harness.app.db.session() as session:
        audits = (await session.exec(select(AuditEvent).where(AuditEvent.action == "export"))).all()
    assert [(a.detail["public"], a.detail["format"]) for a in audits] == [(True, "json")]


async def test_a_nameless_author_keeps_their_teacher_number_from_one_export_to_the_next(
    harness: Harness, settings: Settings, tmp_path: Path
) -> None:
    seed = await public_seed(harness, tmp_path)
    first = tmp_path / "first.zip"
    export(settings, first, "--cluster", "Demo Cluster", "--public", fmt="json")

    # Someone new writes nameless and is approved; a named entry goes nameless.
    ana_photo, ana_report = (await _entry_ids(harness))[:2]
    await member(harness, "fay", seed["codes"]["contributor"])
    await submitted_entry(harness, "fay", "Fay's own words")
    fay = (await _entry_ids(harness))[-1]
    async with harness.app.db.session() as session:  # Fay's comes first in the next export
        entry = await session.get(DiaryEntry, fay)
        photo = await session.get(DiaryEntry, ana_photo)
        assert entry is not None and photo is not None and photo.submitted_at is not None
        entry.submitted_at = photo.submitted_at.replace(year=photo.submitted_at.year - 1)
        session.add(entry)
    await _publish(harness, fay, Visibility.PUBLIC_ANONYMOUS)
    await _publish(harness, ana_report, Visibility.PUBLIC_ANONYMOUS)
    second = tmp_path / "second.zip"
    export(settings, second, "--cluster", "Demo Cluster", "--public", fmt="json")

    def authors(path: Path) -> dict[str, Any]:
        data = json.loads(unzip(path)["cluster-diary.json"])
        entries = [e for s in data["clusters"][0]["schools"] for e in s["entries"]]
        return {e["activity"]["why"]: e["author"]["teacher"] for e in entries}

    assert authors(first) == {"Pupils read aloud to each other": 1, "The reading plan": None}
    assert authors(second) == {
        "Fay's own words": 2,
        "Pupils read aloud to each other": 1,
        "The reading plan": 1,
    }
    # Ana's own download says which number she goes by.
    async with harness.app.db.session() as session:
        mine = await personal_data(session, person_id=seed["ana"])
    assert [(n["school"], n["teacher"]) for n in mine["public_names"]] == [("Hillview Primary", 1)]


async def test_every_format_of_the_public_version_says_what_it_is_and_hides_the_rest(
    harness: Harness, settings: Settings, tmp_path: Path
) -> None:
    await public_seed(harness, tmp_path)
    school = "Hillview Primary"
    teacher = f"Teacher 1, {school}"

    out = tmp_path / "public.docx"
    export(settings, out, "--cluster", "Demo Cluster", "--public", fmt="docx")
    document = Document(str(out))
    paragraphs = [p.text for p in document.paragraphs]
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    text = "\n".join(paragraphs + cells)
    assert "Public version:" in text and teacher in text and "Ana," in text
    assert "not included in the public version" in text and "Cora" not in text
    assert "912 345 678" not in text and "[phone number]" in text
    with zipfile.ZipFile(out) as archive:
        pictures = [archive.read(n) for n in archive.namelist() if n.startswith("word/media/")]
    assert len(pictures) == 1 and exif_of(pictures[0]) == {}

    folder = tmp_path / "site"
    export(settings, folder, "--cluster", "Demo Cluster", "--public", fmt="html")
    pages = "\n".join(p.read_text() for p in folder.glob("*.html"))
    assert "Public version:" in pages and teacher in pages and "Cora" not in pages
    assert "not included in the public version" in pages
    media = [p for p in (folder / "media").iterdir()]
    assert len(media) == 1 and exif_of(media[0].read_bytes()) == {}

    markdown = tmp_path / "public-md.zip"
    export(settings, markdown, "--cluster", "Demo Cluster", "--public", fmt="md")
    files = unzip(markdown)
    text = files.pop("cluster-diary.md").decode()
    assert "Public version:" in text and teacher in text and "ana.silva" not in text
    assert list(files) == ["files/1-1.jpg"] and exif_of(files["files/1-1.jpg"]) == {}

    table = tmp_path / "public-csv.zip"
    export(settings, table, "--cluster", "Demo Cluster", "--public", fmt="csv")
    rows = unzip(table)["contributions.csv"].decode("utf-8-sig")
    assert "withheld" in rows and re.search(r"\b1\b", rows) and "ana.silva" not in rows


async def test_a_coordinator_asks_for_the_public_version_in_the_chat(
    harness: Harness, tmp_path: Path
) -> None:
    await public_seed(harness, tmp_path)
    await harness.say("cora", "/export")
    await harness.press("cora", "Public version")
    said = await harness.press("cora", "Data (JSON)")
    (data,) = [r for r in said if r.document is not None]
    assert data.filename is not None and data.filename.startswith("cluster-diary-public-")
    with zipfile.ZipFile(io.BytesIO(data.document or b"")) as archive:
        records = json.loads(archive.read("cluster-diary.json"))
    assert records["public"] is True
    whys = [e["activity"]["why"] for s in records["clusters"][0]["schools"] for e in s["entries"]]
    assert whys == ["Pupils read aloud to each other", "The reading plan"]
    async with harness.app.db.session() as session:
        audit = (await session.exec(select(AuditEvent).where(AuditEvent.action == "export"))).one()
    assert audit.detail["public"] is True and audit.detail["by"] == "chat"


async def test_an_account_for_a_name_or_none_gives_a_number_and_an_erased_number_stays_taken(
    harness: Harness, settings: Settings, tmp_path: Path
) -> None:
    seed = await public_seed(harness, tmp_path)
    names = {"gil": "Gil (@gil:matrix.example.org)", "hal": "", "ivo": "Ivo"}
    for user, name in names.items():
        await member(harness, user, seed["codes"]["contributor"])
        await submitted_entry(harness, user, f"{user.title()}'s own words")
        async with harness.app.db.session() as session:
            person = await session.get(Person, await person_id(harness, user))
            assert person is not None
            person.display_name = name
            session.add(person)
    gil, hal, ivo = (await _entry_ids(harness))[-3:]
    await _publish(harness, gil, Visibility.PUBLIC_NAMED)
    await _publish(harness, hal, Visibility.PUBLIC_NAMED)

    def authors(path: Path) -> dict[str, Any]:
        data = json.loads(unzip(path)["cluster-diary.json"])
        entries = [e for s in data["clusters"][0]["schools"] for e in s["entries"]]
        return {e["activity"]["why"]: e["author"] for e in entries}

    first = tmp_path / "first.zip"
    export(settings, first, "--cluster", "Demo Cluster", "--public", fmt="json")
    found = authors(first)
    assert found["Gil's own words"] == {"name": None, "pseudonym": None, "teacher": 2}
    assert found["Hal's own words"] == {"name": None, "pseudonym": None, "teacher": 3}
    assert "@gil" not in json.dumps(found)

    # Hal is erased; the next nameless author is 4, never Hal's 3.
    async with harness.app.db.session() as session:
        await erase_person(session, person_id=await person_id(harness, "hal"))
    await _publish(harness, ivo, Visibility.PUBLIC_ANONYMOUS)
    second = tmp_path / "second.zip"
    export(settings, second, "--cluster", "Demo Cluster", "--public", fmt="json")
    found = authors(second)
    assert "Hal's own words" not in found
    assert found["Ivo's own words"]["teacher"] == 4 and found["Gil's own words"]["teacher"] == 2


def test_a_public_photo_keeps_no_comment_or_camera_tags(tmp_path: Path) -> None:
    source = photo_with_gps(tmp_path / "tagged.jpg")
    with PILImage.open(source) as image:
        image.save(tmp_path / "commented.jpg", exif=image.getexif(), comment=b"Ana +351912345678")
    out = io.BytesIO()
    assert shrink_photo(tmp_path / "commented.jpg", out, longest=1600, at_least=1600)
    with PILImage.open(io.BytesIO(out.getvalue())) as image:
        assert "comment" not in image.info and "exif" not in image.info
    assert b"351912345678" not in out.getvalue()
