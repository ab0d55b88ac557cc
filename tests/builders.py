"""Builders for conversation tests: a demo cluster with members, and evidence files."""

from __future__ import annotations

import io
import math
import struct
import wave
from pathlib import Path

from PIL import Image

from bot.demo import create_demo
from tests.helpers import Harness


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


async def member(bot: Harness, user: str, code: str, language_label: str = "English") -> None:
    """Join with `code`, agree to the consent text and pick a language."""
    await bot.say(user, f"/join {code}")
    await bot.press(user, "I agree")
    await bot.press(user, language_label)
