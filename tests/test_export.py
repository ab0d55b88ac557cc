"""The analysts' export (`diarybot export`): JSON against its schema, CSV, media, scope, audit.

A cluster filled through the bot (behind the in-memory channel), a second cluster that must not
leak into the first's export, then the command line in a process of its own against the same
database, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from sqlmodel import col, select

from bot.settings import Settings
from storage.clusters import add_school, create_cluster
from storage.models import (
    AuditEvent,
    Cluster,
    DiaryEntry,
    EvidenceItem,
    FocusStatus,
    Role,
    SchoolFocus,
)
from tests.builders import (
    demo_codes,
    member,
    person_id,
    photo_with_gps,
    submitted_entry,
    voice_note,
)
from tests.helpers import Harness
from tests.test_cli import diarybot_on

FOCUS = (("Reading aloud", FocusStatus.SUPERSEDED), ("Reading for pleasure", FocusStatus.CONFIRMED))


def export(settings: Settings, out: Path, *scope: str, fmt: str = "json") -> str:
    """`diarybot export` of `scope` to `out`; what it printed."""
    code, said = diarybot_on(settings, "export", *scope, "--format", fmt, "-o", str(out))
    assert code == 0, said
    return said


def schema() -> dict[str, Any]:
    text = resources.files("storage").joinpath("schemas/export-1.schema.json").read_text()
    return json.loads(text)


def unzip(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


async def seeded(bot: Harness, tmp_path: Path) -> dict[str, Any]:
    """The demo cluster with entries of every kind of fate, and another cluster beside it."""
    codes = await demo_codes(bot)
    await member(bot, "ana", codes["contributor"])
    await member(bot, "rui", codes["school_lead"])
    await member(bot, "cora", codes["coordinator"])
    report = tmp_path / "Plano de leitura.pdf"
    report.write_bytes(b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")
    await submitted_entry(
        bot, "ana", "Pupils read aloud to each other", photo_with_gps(tmp_path / "a.jpg")
    )
    await submitted_entry(bot, "ana", "The reading plan", report, voice_note(tmp_path / "v.wav"))
    await submitted_entry(bot, "rui", "Rui's entry, later withdrawn from view")
    await bot.say("ana", "/add")  # a draft, never submitted
    await bot.press("ana", "Impact")
    await bot.say("ana", "An unfinished thought")
    ana, rui = await person_id(bot, "ana"), await person_id(bot, "rui")
    async with bot.app.db.session() as session:
        demo = (await session.exec(select(Cluster))).one()
        entries = list((await session.exec(select(DiaryEntry).order_by(col(DiaryEntry.id)))).all())
        entries[0].reflection = "It worked better than we hoped."
        session.add(entries[0])
        hidden = entries[2]
        hidden.status, hidden.deleted_at = "deleted", hidden.updated_at
        session.add(hidden)
        voice = (await session.exec(select(EvidenceItem).where(EvidenceItem.kind == "audio"))).one()
        voice.transcript = "We read for ten minutes every morning."
        session.add(voice)
        school_id = (await session.exec(select(Role.school_id).where(Role.person_id == ana))).one()
        for title, status in (
            ("Reading aloud", FocusStatus.SUPERSEDED),
            ("Reading for pleasure", FocusStatus.CONFIRMED),
        ):
            session.add(SchoolFocus(school_id=school_id, title=title, status=status))
        north = await create_cluster(session, name="North", language="pt", timezone="Europe/Lisbon")
        assert north.id is not None
        other = await add_school(session, cluster_id=north.id, name="Escola do Norte")
        session.add(
            DiaryEntry(
                school_id=other.id,
                section="issue",
                author_id=rui,
                status="submitted",
                activity={"why": "North's secret"},
                submitted_at=hidden.updated_at,
            )
        )
    return {
        "cluster": demo,
        "ana": ana,
        "rui": rui,
        "report": report.read_bytes(),
        "codes": codes,
    }


async def test_json_export_follows_its_schema_and_holds_the_submitted_diary(
    harness: Harness, settings: Settings, tmp_path: Path
) -> None:
    seed = await seeded(harness, tmp_path)
    out = tmp_path / "out" / "demo.zip"
    code, said = diarybot_on(
        settings, "export", "--cluster", "Demo Cluster", "--format", "json", "-o", str(out)
    )
    assert code == 0, said
    assert "1 clusters, 2 entries" in said
    assert out.stat().st_mode & 0o777 == 0o600

    files = unzip(out)
    data = json.loads(files.pop("cluster-diary.json"))
    jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker()).validate(
        data
    )
    assert data["format"] == "cluster-diary/export/1" and data["public"] is False
    (cluster,) = data["clusters"]
    assert cluster["name"] == "Demo Cluster"
    entries = [e for school in cluster["schools"] for e in school["entries"]]
    texts = json.dumps(data)
    assert [e["activity"]["why"] for e in entries] == [
        "Pupils read aloud to each other",
        "The reading plan",
    ]
    assert "unfinished thought" not in texts and "withdrawn from view" not in texts
    assert "North" not in texts
    assert {e["author"]["name"] for e in entries} == {"Ana"}
    assert all(e["author"]["pseudonym"] is None for e in entries)  # never beside a name
    school = next(s for s in cluster["schools"] if s["entries"])
    assert school["focus"]["title"] == "Reading for pleasure"
    assert [f["title"] for f in school["focus_history"]] == [
        "Reading aloud",
        "Reading for pleasure",
    ]
    assert {c["name"] for c in cluster["coordinators"]} == {"Cora"}
    evidence = [i for e in entries for i in e["evidence"]]
    assert sorted(i["kind"] for i in evidence) == ["audio", "document", "photo"]
    assert next(i for i in evidence if i["kind"] == "audio")["transcript"].startswith("We read")
    # Every file named is in the zip, with the bytes the media store keeps, and nothing else.
    assert sorted(files) == sorted(i["file"] for i in evidence)
    for item in evidence:
        assert hashlib.sha256(files[item["file"]]).hexdigest() == item["sha256"]
    assert files[next(i["file"] for i in evidence if i["kind"] == "document")] == seed["report"]

    async with harness.app.db.session() as session:
        audit = (await session.exec(select(AuditEvent).where(AuditEvent.action == "export"))).one()
    assert audit.detail == {
        "clusters": [seed["cluster"].id],
        "format": "json",
        "public": False,
        "by": "command line",
    }


async def test_csv_export_has_a_row_per_contribution(
    harness: Harness, settings: Settings, tmp_path: Path
) -> None:
    await seeded(harness, tmp_path)
    out = tmp_path / "all.zip"
    assert "2 clusters, 3 entries" in export(settings, out, "--all", fmt="csv")
    files = unzip(out)
    raw = files.pop("contributions.csv")
    assert raw.startswith(b"\xef\xbb\xbf")  # a byte order mark, for spreadsheet programs
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [(r["cluster"], r["why"]) for r in rows] == [
        ("Demo Cluster", "Pupils read aloud to each other"),
        ("Demo Cluster", "The reading plan"),
        ("North", "North's secret"),
    ]
    assert rows[0]["author"] == "Ana" and rows[0]["pseudonym"] == ""
    assert "files/" in rows[1]["evidence"] and "audio: files/" in rows[1]["evidence"]
    assert rows[1]["transcripts"] == "We read for ten minutes every morning."
    assert len(files) == 3  # the media the rows name


async def test_an_entry_kept_without_a_name_is_exported_under_its_pseudonym(
    harness: Harness, settings: Settings, tmp_path: Path
) -> None:
    seed = await seeded(harness, tmp_path)
    await harness.say("ana", "/cancel")
    await harness.say("ana", "/privacy")
    await harness.press("ana", "Withdraw consent")
    await harness.press("ana", "Leave it there, without my name")
    out = tmp_path / "demo.zip"
    code, said = diarybot_on(
        settings, "export", "--cluster", "Demo Cluster", "--format", "json", "-o", str(out)
    )
    assert code == 0, said
    data = json.loads(unzip(out)["cluster-diary.json"])
    entries = [e for s in data["clusters"][0]["schools"] for e in s["entries"]]
    assert [(e["author"]["name"], e["anonymised"]) for e in entries] == [(None, True), (None, True)]
    assert "Ana" not in json.dumps(data)
    assert len({e["author"]["pseudonym"] for e in entries}) == 1
    assert seed["ana"] != seed["rui"]


async def test_what_a_person_erased_is_in_no_later_export(
    harness: Harness, settings: Settings, tmp_path: Path
) -> None:
    await seeded(harness, tmp_path)
    await harness.say("ana", "/cancel")
    await harness.say("ana", "/privacy")
    await harness.press("ana", "Erase my account")
    await harness.press("ana", "Yes")
    out = tmp_path / "after.zip"
    assert "1 clusters, 0 entries" in export(settings, out, "--cluster", "Demo Cluster")
    files = unzip(out)
    assert list(files) == ["cluster-diary.json"]
    text = files["cluster-diary.json"].decode()
    assert "Ana" not in text and "reading plan" not in text and "Pupils read aloud" not in text
