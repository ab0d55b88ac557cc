"""Dropping the metadata of JPEG, PNG and WebP files without decoding or re-encoding them.

Pillow cannot write a JPEG without re-encoding its pixels, and no well-kept library strips every
kind of metadata (EXIF, XMP, IPTC, comments, appended images) from these containers byte for
byte, so these three walkers do it. Each keeps an allow-list of the segments or chunks that shape
the picture (pixels, colour profile, transparency, animation, resolution) and drops everything
else, including whatever follows the end of the image (a phone's second picture, a gain map, a
hidden archive). A file whose structure does not add up raises `ValueError`.
"""

from __future__ import annotations

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Critical chunks, colour and transparency, resolution and animation (APNG); not tEXt, zTXt,
# iTXt, eXIf, tIME, nor any private chunk.
PNG_KEEP = frozenset(
    {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"cHRM", b"gAMA", b"iCCP", b"sBIT", b"sRGB"}
    | {b"cICP", b"mDCV", b"cLLI", b"bKGD", b"hIST", b"pHYs", b"acTL", b"fcTL", b"fdAT"}
)
# Image data, alpha, animation and colour profile; not EXIF, XMP nor unknown chunks.
WEBP_KEEP = frozenset({b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"})
WEBP_EXIF_AND_XMP_FLAGS = 0x08 | 0x04
SOS, EOI, COM = 0xDA, 0xD9, 0xFE


def _keep_jpeg_segment(marker: int, payload: bytes) -> bool:
    """Whether a JPEG segment is needed to show the picture as it is."""
    if marker == 0xE0:
        return payload.startswith(b"JFIF\0")  # the JFIF header; not JFXX thumbnails
    if marker == 0xE2:
        return payload.startswith(b"ICC_PROFILE\0")  # colour; not MPF (more pictures)
    if marker == 0xEE:
        return payload.startswith(b"Adobe")  # how CMYK/YCCK colours are stored
    return not (0xE0 <= marker <= 0xEF or marker == COM)  # other APPn: EXIF, XMP, IPTC...


def _end_of_scan(data: bytes, pos: int) -> int:
    """Where the entropy-coded data that starts at `pos` ends (at the next real marker)."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            raise ValueError("JPEG ends inside the image data")
        follower = data[pos + 1]
        if follower == 0xFF:  # fill byte before a marker
            pos += 1
        elif follower == 0x00 or 0xD0 <= follower <= 0xD7:  # stuffed 0xFF, restart marker
            pos += 2
        else:
            return pos


def strip_jpeg(data: bytes) -> bytes:
    """The JPEG without APPn metadata segments and comments, and nothing after its end."""
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG")
    kept, pos = [b"\xff\xd8"], 2
    while True:
        if pos + 2 > len(data) or data[pos] != 0xFF:
            raise ValueError("JPEG segment expected")
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker == EOI:
            kept.append(b"\xff\xd9")
            return b"".join(kept)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            kept.append(data[pos : pos + 2])
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        end = pos + 2 + length
        if length < 2 or end > len(data):
            raise ValueError("JPEG segment runs past the end")
        if _keep_jpeg_segment(marker, data[pos + 4 : end]):
            kept.append(data[pos:end])
        pos = end
        if marker == SOS:
            scan_end = _end_of_scan(data, pos)
            kept.append(data[pos:scan_end])
            pos = scan_end


def strip_png(data: bytes) -> bytes:
    """The PNG (or APNG) with only the chunks in `PNG_KEEP`, and nothing after IEND."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG")
    kept, pos = [PNG_SIGNATURE], len(PNG_SIGNATURE)
    while True:
        length = int.from_bytes(data[pos : pos + 4], "big")
        chunk_type, end = data[pos + 4 : pos + 8], pos + 12 + length
        if len(chunk_type) < 4 or end > len(data):
            raise ValueError("PNG chunk runs past the end")
        if chunk_type in PNG_KEEP:
            kept.append(data[pos:end])
        pos = end
        if chunk_type == b"IEND":
            return b"".join(kept)


def _webp_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The top-level chunks of a WebP file as (four-character code, whole chunk with padding)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a WebP")
    end = min(len(data), 8 + int.from_bytes(data[4:8], "little"))
    chunks, pos = [], 12
    while pos + 8 <= end:
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        chunk = data[pos : pos + 8 + size + (size & 1)]
        if len(chunk) < 8 + size:
            raise ValueError("WebP chunk runs past the end")
        chunks.append((chunk[:4], chunk))
        pos += len(chunk)
    return chunks


def strip_webp(data: bytes) -> bytes:
    """The WebP with only the chunks in `WEBP_KEEP`, its header no longer announcing EXIF/XMP."""
    kept = []
    for fourcc, chunk in _webp_chunks(data):
        if fourcc == b"VP8X" and len(chunk) > 8:
            flags = chunk[8] & ~WEBP_EXIF_AND_XMP_FLAGS
            chunk = chunk[:8] + bytes([flags]) + chunk[9:]
        if fourcc in WEBP_KEEP:
            kept.append(chunk)
    body = b"WEBP" + b"".join(kept)
    return b"RIFF" + len(body).to_bytes(4, "little") + body


def webp_is_lossy(data: bytes) -> bool:
    """Whether a WebP holds lossy (VP8) image data, which a re-encode should keep lossy."""
    return any(fourcc == b"VP8 " for fourcc, _ in _webp_chunks(data))
