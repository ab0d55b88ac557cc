"""Builders for conversation tests: a demo cluster with members, and evidence files."""

from __future__ import annotations

import io
import math
import struct
import wave
from datetime import UTC, date, datetime
from pathlib import Path

from PIL import Image
from sqlmodel import select

from bot.demo import create_demo
from bot.settings import LANGUAGES
from prompts import Translator
from storage.calendar import add_term
from storage.db import Database
from storage.models import Cluster, School
from storage.people import identity_for
from tests.helpers import PLATFORM, Harness


def photo_with_gps(path: Path) -> Path:
    """A small JPEG carrying a camera make and a GPS position in its EXIF block."""
    image = Image.new("RGB", (64, 48), (200, 40, 40))
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (38.0, 42.0, 0.0)
    exif[0x8825] = gps
    image.save(path, format="JPEG", exif=exif)
    return path


def voice_note(path: Path, seconds: float = 1.5) -> Path:
    """A short mono WAV tone standing in for a recorded voice note."""
    rate = 8000
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
        for i in range(int(rate * seconds))
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return path


def exif_of(data: bytes) -> dict[int, object]:
    """The EXIF tags of a stored image (empty when it has none)."""
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif())


async def demo_codes(bot: Harness) -> dict[str, str]:
    """Create the demo cluster and return its invite codes by role."""
    async with bot.app.db.session() as session:
        demo = await create_demo(session, language="en", timezone="Europe/Lisbon")
    return demo.invites


async def issue_entry_started(bot: Harness, user: str) -> None:
    """`user` starts an entry on the issue; its first question waits."""
    await bot.say(user, "/add")
    await bot.press(user, "The issue")


async def contributor_writing(bot: Harness, user: str = "ana") -> None:
    """`user` joins the demo cluster as a contributor and starts an entry on the issue."""
    codes = await demo_codes(bot)
    await member(bot, user, codes["contributor"])
    await issue_entry_started(bot, user)


async def submitted_entry(bot: Harness, user: str, answer: str, *paths: Path) -> None:
    """A submitted issue entry, seen by the cluster only, with these files as evidence."""
    await issue_entry_started(bot, user)
    for path in paths:
        await bot.attach(user, path)
    await bot.say(user, answer)
    await bot.press(user, "That's all")
    await bot.press(user, "Skip")
    await bot.press(user, "Add it")
    await bot.press(user, "Cluster only")


async def person_id(bot: Harness, user: str) -> int:
    """The id of the person behind `user` of the in-memory channel."""
    async with bot.app.db.session() as session:
        _, person = await identity_for(session, platform=PLATFORM, external_id=user)
        assert person.id is not None
        return person.id


async def member(bot: Harness, user: str, code: str, language_label: str = "English") -> None:
    """Join with `code` and agree to the consent text, read in the language `language_label`.

    The text comes in the cluster's language, the others offered beside it by their names.
    """
    said = await bot.say(user, f"/join {code}")
    if any(b.label == language_label for b in said[-1].buttons):
        await bot.press(user, language_label)
    await bot.press(user, Translator(language_named(language_label))("consent.agree"))


def language_named(label: str) -> str:
    """The code of the language whose own name is `label` ("Português": "pt")."""
    return next(code for code in LANGUAGES if Translator(code)(f"languages.{code}") == label)


# The demo cluster's rhythm in the reminder tests: created on 1 Aug 2026, an autumn term of 96
# days (14 Sep - 18 Dec 2026) whose input points are Friday 16 Oct and Tuesday 17 Nov.
RHYTHM_START = datetime(2026, 8, 1, 12, tzinfo=UTC)
AUTUMN_TERM = (date(2026, 9, 14), date(2026, 12, 18))


async def set_rhythm(
    db: Database,
    *,
    timezone: str | None = None,
    nudge_days: int | None = None,
    term: bool = True,
) -> int:
    """Date the demo cluster and its schools to `RHYTHM_START` and give it the autumn term.

    `timezone` and `nudge_days` replace the cluster's when given. Returns the cluster's id.
    """
    async with db.session() as session:
        cluster = (await session.exec(select(Cluster))).one()
        cluster.created_at = RHYTHM_START
        if timezone is not None:
            cluster.timezone = timezone
        if nudge_days is not None:
            cluster.nudge_after_days = nudge_days
        session.add(cluster)
        for school in (await session.exec(select(School))).all():
            school.created_at = RHYTHM_START
            session.add(school)
        assert cluster.id is not None
        if term:
            first, last = AUTUMN_TERM
            await add_term(session, cluster_id=cluster.id, name="Autumn", first=first, last=last)
        return cluster.id
