"""Evidence files through the whole bot: kinds decided from bytes, pictures stored clean, bombs
refused before decoding, files that cannot be fetched answered clearly; SQLite and PostgreSQL."""

from __future__ import annotations

import io
import resource
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from bot.messages import Attachment, AttachmentKind
from storage.models import EvidenceItem
from tests.builders import demo_codes, exif_of, member, photo_with_gps, voice_note
from tests.helpers import Harness, text_of
from tests.test_conversation import rows

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The start of a real Windows executable: DOS header, stub, then the PE header.
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44
EXE += b"\x80\x00\x00\x00" + b"\x00" * 64 + b"PE\x00\x00\x4c\x01" + b"\x00" * 300


async def walk_through(bot: Harness) -> None:
    """Ana joins, consents and is at the first question of a new entry."""
    codes = await demo_codes(bot)
    await member(bot, "ana", codes["contributor"])
    await bot.say("ana", "/add")
    assert "question 1 of 6" in text_of(await bot.press("ana", "The issue"))


async def stored(bot: Harness) -> tuple[EvidenceItem, bytes]:
    """The only evidence item and the bytes the media store holds for it."""
    (item,) = await rows(bot, EvidenceItem)
    return item, await bot.app.media.get(item.media_hash)


def media_files(bot: Harness) -> list[Path]:
    return [p for p in bot.app.settings.resolved_media_dir.rglob("*") if p.is_file()]


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGBA").tobytes()


def png_chunks(data: bytes) -> list[bytes]:
    assert data.startswith(PNG_SIGNATURE)
    chunks, pos = [], len(PNG_SIGNATURE)
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    return chunks


def png_with_metadata(path: Path) -> Path:
    """A PNG with text chunks (an author, a place) and an eXIf block with a GPS position."""
    image = Image.new("RGBA", (40, 30), (20, 120, 220, 200))
    image.putpixel((3, 4), (255, 0, 0, 255))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Ana Silva")
    info.add_itxt("Comment", "Taken at Hillview Primary", zip=True)
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    exif.get_ifd(0x8825)[2] = (38.0, 42.0, 0.0)
    image.save(path, format="PNG", pnginfo=info, exif=exif)
    return path


def pixel_bomb(path: Path, side: int = 13_300) -> Path:
    """A PNG of a few kilobytes whose header announces side × side grey pixels (1 bit each)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    path.write_bytes(PNG_SIGNATURE + body)
    return path


def reset_peak_memory() -> None:
    """Start a new high-water mark of resident memory, where Linux allows it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_memory_kb() -> int:
    try:
        status = Path("/proc/self/status").read_text()
        return int(status.split("VmHWM:")[1].split()[0])
    except (OSError, IndexError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def test_a_jpeg_sent_as_a_file_is_stored_without_exif_or_gps(
    harness: Harness, tmp_path: Path
) -> None:
    await walk_through(harness)
    photo = photo_with_gps(tmp_path / "board.jpg")
    assert exif_of(photo.read_bytes())  # the original carries EXIF with a GPS block
    replies = await harness.attach("ana", photo, kind=AttachmentKind.DOCUMENT)
    assert "Kept as evidence: photo" in text_of(replies)
    item, data = await stored(harness)
    assert (item.kind, item.mime, item.filename) == ("photo", "image/jpeg", "board.jpg")
    assert data.startswith(b"\xff\xd8") and exif_of(data) == {}
    assert b"Exif\x00" not in data and b"TestCam" not in data
    # Lossless: the metadata went, the compressed picture is the same.
    assert pixels(data) == pixels(photo.read_bytes())


async def test_a_png_sent_as_a_file_stays_png_and_loses_its_metadata(
    harness: Harness, tmp_path: Path
) -> None:
    await walk_through(harness)
    original = png_with_metadata(tmp_path / "chart.png")
    assert {b"tEXt", b"iTXt", b"eXIf"} <= set(png_chunks(original.read_bytes()))
    replies = await harness.attach("ana", original, kind=AttachmentKind.DOCUMENT)
    assert "Kept as evidence" in text_of(replies)
    item, data = await stored(harness)
    assert item.mime == "image/png"
    assert set(png_chunks(data)) == {b"IHDR", b"IDAT", b"IEND"}
    assert b"Ana Silva" not in data and b"TestCam" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG" and image.mode == "RGBA" and image.info == {}
    assert pixels(data) == pixels(original.read_bytes())


async def test_an_exe_labelled_pdf_is_refused_and_a_real_pdf_is_kept(
    harness: Harness, tmp_path: Path
) -> None:
    await walk_through(harness)
    fake = tmp_path / "report.pdf"
    fake.write_bytes(EXE)
    replies = await harness.attach("ana", fake)  # declared application/pdf, from its name
    assert "can't keep files like report.pdf" in text_of(replies)
    assert await rows(harness, EvidenceItem) == [] and media_files(harness) == []

    real = tmp_path / "minutes.pdf"
    Image.new("RGB", (20, 20), "white").save(real, format="PDF")
    assert "Kept as evidence: document" in text_of(await harness.attach("ana", real))
    item, data = await stored(harness)
    assert (item.kind, item.mime, data) == ("document", "application/pdf", real.read_bytes())


async def test_bytes_decide_the_kind_whatever_was_declared(
    harness: Harness, tmp_path: Path
) -> None:
    await walk_through(harness)
    not_a_voice = tmp_path / "memo.ogg"
    not_a_voice.write_bytes(EXE)
    replies = await harness.attach("ana", not_a_voice, kind=AttachmentKind.VOICE)
    assert "can't keep files like memo.ogg" in text_of(replies)
    binary_text = tmp_path / "notes.txt"
    binary_text.write_bytes(b"plain words\x00\x01\x02 then binary")
    assert "can't keep files like notes.txt" in text_of(await harness.attach("ana", binary_text))
    picture = tmp_path / "drawing.svg"
    picture.write_text('<svg xmlns="http://www.w3.org/2000/svg"><metadata>Ana</metadata></svg>')
    replies = await harness.attach("ana", picture, kind=AttachmentKind.DOCUMENT)
    assert "couldn't open that picture" in text_of(replies)  # an image we cannot clean
    assert await rows(harness, EvidenceItem) == []

    table = tmp_path / "marks.csv"
    table.write_bytes("name,mark\nŠime,5\n".encode("cp1250"))
    assert "Kept as evidence: document" in text_of(await harness.attach("ana", table))
    voice = voice_note(tmp_path / "thoughts.wav")
    replies = await harness.attach("ana", voice, kind=AttachmentKind.DOCUMENT)
    assert "Kept as evidence: audio" in text_of(replies)
    items = await rows(harness, EvidenceItem)
    assert [(i.kind, i.mime) for i in items] == [("document", "text/csv"), ("audio", "audio/x-wav")]
    assert items[1].duration_s == 1.5


async def test_a_turned_photo_is_stored_upright_without_its_metadata(
    harness: Harness, tmp_path: Path
) -> None:
    await walk_through(harness)
    path = tmp_path / "portrait.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90° clockwise to view"
    exif[0x010F] = "TestCam"
    exif.get_ifd(0x8825)[2] = (38.0, 42.0, 0.0)
    Image.new("RGB", (64, 32), (10, 200, 10)).save(path, format="JPEG", exif=exif, quality=95)
    assert "Kept as evidence" in text_of(await harness.attach("ana", path))
    _, data = await stored(harness)
    assert exif_of(data) == {}
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (32, 64)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
async def test_a_pixel_bomb_is_refused_before_it_is_decoded(
    harness: Harness, tmp_path: Path
) -> None:
    await walk_through(harness)
    bomb = pixel_bomb(tmp_path / "bomb.png")
    assert bomb.stat().st_size < 100_000
    reset_peak_memory()
    before = peak_memory_kb()
    replies = await harness.attach("ana", bomb)  # as a photo
    grown_mb = (peak_memory_kb() - before) / 1024
    assert grown_mb < 400, f"memory grew by {grown_mb:.0f} MB"  # decoded, it takes over 1 GB
    assert "too large for me (176.9 megapixels; the most is 50)" in text_of(replies)
    replies = await harness.attach("ana", bomb, kind=AttachmentKind.DOCUMENT)
    assert "176.9 megapixels" in text_of(replies)
    assert await rows(harness, EvidenceItem) == [] and media_files(harness) == []
    assert "question 2 of 6" in text_of(await harness.say("ana", "Pupils rarely ask questions"))


async def test_a_file_that_cannot_be_fetched_is_asked_for_again(harness: Harness, tmp_path) -> None:
    await walk_through(harness)
    gone = Attachment(
        kind=AttachmentKind.DOCUMENT,
        ref=str(tmp_path / "uploaded-then-gone.pdf"),
        mime="application/pdf",
        filename="plan.pdf",
    )
    replies = await harness.send("ana", attachments=(gone,))
    assert "couldn't fetch that file" in text_of(replies)
    assert "went wrong" not in text_of(replies)
    assert await rows(harness, EvidenceItem) == []
    assert "question 2 of 6" in text_of(await harness.say("ana", "Pupils rarely ask questions"))
