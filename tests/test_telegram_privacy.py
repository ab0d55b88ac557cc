"""The data-rights menu end to end on Telegram: see, download, withdraw, consent again, erase.

One teacher (and a colleague whose entry carries the same photo bytes) chats with the whole bot
through python-telegram-bot, which talks real HTTP to the fake Bot API server
(`tests.fake_telegram`). Nothing else is mocked: the database (SQLite and PostgreSQL), the media
store on disk and the bot's own photo cleaning are the real ones. The rights themselves are
checked in depth behind the in-memory channel (`test_consent_rights`, `test_erasure`,
`test_privacy_download`); here they go through Telegram once: inline buttons pressed, photos and
documents downloaded from the server, the data download uploaded to it with sendDocument.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from bot.demo import create_demo
from bot.settings import Settings
from storage.models import ConsentRecord, DiaryEntry, EvidenceItem, Person
from storage.people import identity_for
from tests.builders import exif_of, photo_with_gps
from tests.fake_telegram import FakeTelegram, User
from tests.telegram_driver import RunningBot, labels, telegram_bot, texts
from tests.test_erasure import _rows_naming

ANA, RUI = User(4001, "Ana"), User(4002, "Rui")
OTHER_LANGUAGES = ["Nederlands", "Hrvatski", "Čeština", "Magyar", "Italiano", "Português"]
ZIP_NAME = re.compile(r"my-data-\d{4}-\d{2}-\d{2}\.zip")
REPORT = b"%PDF-1.4\n1 0 obj << /Author (Ana) >> endobj\ntrailer << >>\n%%EOF\n"


async def _join(bot: RunningBot, user: User, code: str) -> None:
    said = await bot.chat.say(user, f"/join {code}")
    # The cluster's language first; the others by their own names, one tap to read in them.
    assert labels(said[-1]) == ["I agree", "No, thanks", *OTHER_LANGUAGES]
    await bot.chat.press(user, "I agree")


async def _entry(bot: RunningBot, user: User, answer: str, **evidence: Any) -> None:
    """A submitted issue entry with one piece of evidence (raw Bot API message fields)."""
    await bot.chat.say(user, "/add")
    await bot.chat.press(user, "The issue")
    assert "Kept as evidence" in texts(await bot.chat.say(user, **evidence))
    await bot.chat.say(user, answer)
    await bot.chat.press(user, "That's all")
    await bot.chat.press(user, "Skip")
    await bot.chat.press(user, "Add it")
    assert "Thank you" in texts(await bot.chat.press(user, "Cluster only"))


async def _person_id(bot: RunningBot, user: User) -> int:
    async with bot.app.db.session() as session:
        _, person = await identity_for(session, platform="telegram", external_id=str(user.id))
        assert person.id is not None
        return person.id


def _documents(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if "document" in m]


async def test_the_data_rights_menu_through_telegram(settings: Settings, tmp_path: Path) -> None:
    photo = photo_with_gps(tmp_path / "board.jpg").read_bytes()
    async with FakeTelegram() as fake, telegram_bot(settings, fake) as bot:
        async with bot.app.db.session() as session:
            codes = (await create_demo(session, language="en", timezone="Europe/Lisbon")).invites
        await _join(bot, ANA, codes["contributor"])
        await _join(bot, RUI, codes["school_lead"])

        # 1. Two entries: a photo (sent with its GPS position) and a document.
        size = {**fake.add_file(photo, "board.jpg"), "width": 64, "height": 48}
        await _entry(bot, ANA, "Our board in the hall", photo=[size], caption="The board")
        document = {
            **fake.add_file(REPORT, "report.pdf"),
            "file_name": "Ana Report (final).pdf",
            "mime_type": "application/pdf",
        }
        await _entry(bot, ANA, "The final report", document=document)
        again = {**fake.add_file(photo, "same.jpg"), "width": 64, "height": 48}
        await _entry(bot, RUI, "Rui's copy of the board", photo=[again])
        ana, rui = await _person_id(bot, ANA), await _person_id(bot, RUI)
        async with bot.app.db.session() as session:
            items = (await session.exec(select(EvidenceItem).order_by(col(EvidenceItem.id)))).all()
        board, report, ruis = items
        assert board.media_hash == ruis.media_hash, "the same photo is stored once"
        assert board.media_hash and report.media_hash
        stored_photo = await bot.app.media.get(board.media_hash)
        assert 0x8825 not in exif_of(stored_photo) and 0x8825 in exif_of(photo)
        assert await bot.app.media.get(report.media_hash) == REPORT

        # 2. See what is kept: the summary, with the menu again below it.
        said = await bot.chat.say(ANA, "/privacy")
        assert labels(said[-1]) == [
            "See what is kept",
            "Download my data",
            "Withdraw consent",
            "Erase my contributions",
            "Erase my account",
            "Keep things as they are",
        ]
        said = await bot.chat.press(ANA, "See what is kept")
        summary = texts(said)
        assert "Accounts: telegram" in summary
        assert "Roles: contributor at Hillview Primary" in summary
        assert "Consent: given on " in summary and "declined" not in summary
        assert "Entries: submitted: 2, drafts: 0, deleted from view: 0" in summary
        assert re.search(r"Evidence: documents 1 · photos 1 \(\d+ kB in all\)", summary)
        assert "Meetings answered: 0" in summary
        assert labels(said[0]) == ["My entries"] and "Download my data" in labels(said[-1])

        # 3. Download my data: a zip uploaded with sendDocument, holding her data only.
        said = await bot.chat.press(ANA, "Download my data")
        (sent,) = _documents(said)
        assert sent["chat"]["id"] == ANA.id
        (upload,) = [params for method, params in fake.calls if method == "sendDocument"]
        assert upload["_filename"] == sent["document"]["file_name"]  # a multipart file field
        assert ZIP_NAME.fullmatch(sent["document"]["file_name"])
        assert "Part 1 of 1" in sent["caption"] and "my-data.json" in sent["caption"]
        with zipfile.ZipFile(io.BytesIO(sent["bytes"])) as archive:
            assert archive.testzip() is None
            files = {name: archive.read(name) for name in archive.namelist()}
        data = json.loads(files.pop("my-data.json").decode("utf-8"))
        async with bot.app.db.session() as session:
            entries = (
                await session.exec(
                    select(DiaryEntry)
                    .where(DiaryEntry.author_id == ana)
                    .order_by(col(DiaryEntry.id))
                )
            ).all()
        assert data["person"]["display_name"] == "Ana"
        assert [(a["platform"], a["external_id"]) for a in data["accounts"]] == [
            ("telegram", str(ANA.id))
        ]
        assert [e["id"] for e in data["entries"]] == [e.id for e in entries]
        assert [e["activity"] for e in data["entries"]] == [e.activity for e in entries]
        assert [e["status"] for e in data["entries"]] == ["submitted", "submitted"]
        records = [r for e in data["entries"] for r in e["evidence"]]
        assert [(r["kind"], r["sha256"]) for r in records] == [
            ("photo", board.media_hash),
            ("document", report.media_hash),
        ]
        assert sorted(files) == sorted(r["file"] for r in records)
        assert records[1]["file"].endswith("-1-Ana_Report_final.pdf")
        assert files[records[0]["file"]] == stored_photo  # the cleaned photo the bot keeps
        assert files[records[1]["file"]] == REPORT  # the document exactly as she sent it
        for record in records:
            assert hashlib.sha256(files[record["file"]]).hexdigest() == record["sha256"]
        whole = json.dumps(data, ensure_ascii=False)
        assert "Rui" not in whole and str(RUI.id) not in whole and "copy of" not in whole
        assert ruis.entry_id not in [e["id"] for e in data["entries"]]

        # 4. Withdraw consent, keeping what she shared without her name.
        await bot.chat.say(ANA, "/privacy")
        said = await bot.chat.press(ANA, "Withdraw consent")
        assert "entries: 2, evidence items: 2" in texts(said)
        assert labels(said[-1]) == [
            "Leave it there, without my name",
            "Erase it",
            "Don't withdraw",
        ]
        said = await bot.chat.press(ANA, "Leave it there, without my name")
        async with bot.app.db.session() as session:
            person = await session.get(Person, ana)
        assert person is not None and person.display_name == ""
        assert f"participant {person.pseudonym}" in texts(said)
        said = await bot.chat.say(ANA, "/add")
        assert "read and answer the consent text" in texts(said)
        assert labels(said[-1]) == ["Read and answer"]
        said = await bot.chat.press(ANA, "Read and answer")  # the button runs /consent
        assert "consent version" in texts(said)
        assert labels(said[-1]) == ["I agree", "No, thanks"]
        await bot.chat.press(ANA, "I agree")
        async with bot.app.db.session() as session:
            answers = (
                await session.exec(
                    select(ConsentRecord.granted)
                    .where(ConsentRecord.person_id == ana)
                    .order_by(col(ConsentRecord.id))
                )
            ).all()
        assert answers == [True, False, True]
        assert "Which part of the diary" in texts(await bot.chat.say(ANA, "/add"))
        await bot.chat.say(ANA, "/cancel")

        # 5. Erase the account: her rows and her own file go, the shared photo stays for Rui.
        report_path = bot.app.media.path_for(report.media_hash)
        assert report_path.exists()
        await bot.chat.say(ANA, "/privacy")
        said = await bot.chat.press(ANA, "Erase my account")
        assert "entries: 2, evidence items: 2" in texts(said)
        said = await bot.chat.press(ANA, "Yes")
        assert "Your account is erased, with entries: 2 and evidence items: 2" in texts(said)
        assert await _rows_naming(bot, ana) == {}  # type: ignore[arg-type]
        assert not report_path.exists()
        assert not await bot.app.media.exists(report.media_hash)
        assert await bot.app.media.get(board.media_hash) == stored_photo
        async with bot.app.db.session() as session:
            left = (await session.exec(select(DiaryEntry))).all()
            (kept,) = (await session.exec(select(EvidenceItem))).all()
        assert [e.author_id for e in left] == [rui]
        assert kept.id == ruis.id and kept.media_hash == board.media_hash
        assert "join" in texts(await bot.chat.say(ANA, "/add")).lower()
