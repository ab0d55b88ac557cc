"""What a file is, decided from its bytes, never from the name or MIME type a client declared.

Binary formats are recognised by their signatures with `filetype` (pure Python, no libmagic,
one clear answer per file, Office and OpenDocument files told apart from plain ZIP archives).
A signature wins, even one that is made of letters (an RTF file, or a text that happens to begin
with "MZ", an executable's mark, which is then refused: better than the other way round).
Plain text, CSV and Markdown have no signature: a file counts as text only when its bytes read
as text, with no control characters besides tab, line breaks and form feed, in UTF-8, in UTF-16
with a byte-order mark, or in a single-byte code page (older Windows files, Windows-1250 say).
Text that draws a picture (SVG) is reported as an image, for the image rules to apply.
"""

from __future__ import annotations

import codecs
import re

import filetype

CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")  # all but tab, LF, FF and CR
CONTROL_BYTES = re.compile(CONTROL.pattern.encode())
# Text types a client may name; any other text is kept as text/plain.
TEXT_TYPES = {
    "text/plain": "text/plain",
    "text/csv": "text/csv",
    "text/tab-separated-values": "text/tab-separated-values",
    "text/markdown": "text/markdown",
    "text/x-markdown": "text/markdown",
}


def is_text(data: bytes) -> bool:
    """Whether the bytes read as text (see the module docstring); an empty file is not."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return CONTROL.search(data.decode("utf-16")) is None
        except UnicodeDecodeError:
            return False
    return bool(data) and CONTROL_BYTES.search(data) is None


def sniff(data: bytes, declared_mime: str = "") -> str | None:
    """The MIME type the bytes show, or None when they are neither a known format nor text.

    `declared_mime` only chooses between text types (a CSV stays text/csv); it never makes a
    file text, nor anything else.
    """
    found = filetype.guess_mime(data)
    if found is not None or not is_text(data):
        return found
    if b"<svg" in data[:4096].lower():
        return "image/svg+xml"
    return TEXT_TYPES.get(declared_mime.split(";", 1)[0].strip().lower(), "text/plain")
