"""/export in the private chat: who may, which clusters, which form, what arrives, the audit.

Through the whole bot behind the in-memory channel, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from docx import Document
from sqlmodel import select

import handlers.export
from storage.clusters import add_school, create_cluster, create_invite
from storage.models import AuditEvent, RoleName
from tests.builders import person_id
from tests.helpers import Harness, text_of
from tests.test_export import seeded


async def _invited(bot: Harness, user: str, cluster: str, role: RoleName) -> None:
    """`user` joins `cluster` (created when missing) in a cluster-wide role."""
    async with bot.app.db.session() as session:
        made = await create_cluster(session, name=cluster, language="pt", timezone="Europe/Lisbon")
        assert made.id is not None
        await add_school(session, cluster_id=made.id, name=f"Escola de {cluster}")
        code = (await create_invite(session, cluster_id=made.id, role=role)).code
    joined = await bot.say(user, f"/join {code}")
    if any(b.label == "English" for r in joined for b in r.buttons):  # someone new
        await bot.press(user, "English")  # the cluster speaks Portuguese; they read English
        await bot.press(user, "I agree")


async def test_a_coordinator_gets_the_word_document_and_the_data(
    harness: Harness, tmp_path: Path
) -> None:
    await seeded(harness, tmp_path)
    await harness.say("cora", "/export")  # one cluster: straight to the version
    await harness.press("cora", "Full diary")
    said = await harness.press("cora", "Word document")
    (document,) = [r for r in said if r.document is not None]
    assert document.filename is not None and document.filename.endswith(".docx")
    assert "The diary of Demo Cluster as of" in document.text and "2 entries" in document.text
    text = "\n".join(p.text for p in Document(io.BytesIO(document.document)).paragraphs)
    assert "Cluster Diary" in text and "Hillview Primary" in text

    await harness.say("cora", "/export")
    await harness.press("cora", "Full diary")
    said = await harness.press("cora", "Data (JSON)")
    (data,) = [r for r in said if r.document is not None]
    with zipfile.ZipFile(io.BytesIO(data.document or b"")) as archive:
        records = json.loads(archive.read("cluster-diary.json"))
        assert len(archive.namelist()) == 4  # the JSON and three media files
    assert [c["name"] for c in records["clusters"]] == ["Demo Cluster"]

    cora = await person_id(harness, "cora")
    async with harness.app.db.session() as session:
        audits = (await session.exec(select(AuditEvent).where(AuditEvent.action == "export"))).all()
    assert [(a.person_id, a.detail["format"], a.detail["by"]) for a in audits] == [
        (cora, "docx", "chat"),
        (cora, "json", "chat"),
    ]


async def test_contributors_and_leads_may_not_and_coordinators_only_their_clusters(
    harness: Harness, tmp_path: Path
) -> None:
    await seeded(harness, tmp_path)  # ana contributes, rui leads, cora coordinates Demo Cluster
    for user in ("ana", "rui"):
        assert "coordinators and the project's analysts" in text_of(
            await harness.say(user, "/export")
        )
    await _invited(harness, "bia", "Norte", RoleName.ANALYST)
    await harness.say("bia", "/export")
    await harness.press("bia", "Full diary")
    said = await harness.press("bia", "Table (CSV)")
    (table,) = [r for r in said if r.document is not None]
    with zipfile.ZipFile(io.BytesIO(table.document or b"")) as archive:
        rows = archive.read("contributions.csv").decode("utf-8-sig")
    assert "Demo Cluster" not in rows and "Pupils read aloud" not in rows

    # A coordinator of two clusters picks one, or both.
    await _invited(harness, "cora", "Sul", RoleName.CLUSTER_COORDINATOR)
    asked = await harness.say("cora", "/export")
    assert [b.label for b in asked[-1].buttons] == ["Demo Cluster", "Sul", "All of them"]
    await harness.press("cora", "All of them")
    await harness.press("cora", "Full diary")
    said = await harness.press("cora", "Data (JSON)")
    (data,) = [r for r in said if r.document is not None]
    with zipfile.ZipFile(io.BytesIO(data.document or b"")) as archive:
        records = json.loads(archive.read("cluster-diary.json"))
    assert [c["name"] for c in records["clusters"]] == ["Demo Cluster", "Sul"]


async def test_a_file_too_big_for_a_chat_says_how_to_make_it(
    harness: Harness, tmp_path: Path, monkeypatch
) -> None:
    await seeded(harness, tmp_path)
    monkeypatch.setattr(handlers.export, "CHAT_LIMIT", 100)
    await harness.say("cora", "/export")
    await harness.press("cora", "Full diary")
    said = await harness.press("cora", "Word document")
    assert not any(r.document for r in said)
    assert 'diarybot export --cluster "Demo Cluster" --format docx' in text_of(said)


async def test_the_web_pages_arrive_zipped(harness: Harness, tmp_path: Path) -> None:
    await seeded(harness, tmp_path)
    await harness.say("cora", "/export")
    await harness.press("cora", "Full diary")
    said = await harness.press("cora", "Web pages (HTML)")
    (pages,) = [r for r in said if r.document is not None]
    assert pages.filename is not None and pages.filename.endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(pages.document or b"")) as archive:
        names = archive.namelist()
        index = archive.read(next(n for n in names if n.endswith("index.html"))).decode()
    assert "Demo Cluster" in index and any(n.endswith("style.css") for n in names)
