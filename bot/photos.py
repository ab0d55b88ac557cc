"""Photos made small for the documents we produce: upright, without metadata, cheap to decode.

A phone photo carries its orientation and much else (GPS, camera, times) as EXIF; the copy put
into the Word document or the HTML folder is turned upright first and then saved with no
metadata at all. A JPEG is decoded straight at a half, a quarter or an eighth of its size when
that is still big enough: far cheaper than decoding it whole and resampling, which was most of
an export's time.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError


def shrink_photo(
    source: Path, out: BinaryIO, *, longest: int, at_least: int
) -> tuple[int, int] | None:
    """Write the photo to `out` as a JPEG at most `longest` a side; its size, or None if unread.

    `at_least` is how big a side the cheap decoding must leave (where the photo has it).
    """
    try:
        with Image.open(source) as image:
            width, height = image.size
            scale = at_least / max(width, height, 1)
            if scale < 1:
                image.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail((longest, longest))
            small = upright.convert("RGB")
            # Pillow writes a JPEG comment (and other `info`) back unless it is cleared.
            small.info.clear()
            small.save(out, format="JPEG", quality=82, exif=b"")
            return small.size
    except (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError):
        return None
