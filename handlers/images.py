"""Cleaning pictures before they are kept: no metadata is stored, nothing oversized is decoded.

Size first: Pillow opens a file lazily, so width and height (and, where every frame must be
decoded, the frame count) come from the header, and a picture above the limit is refused before a
pixel is decoded; a 500 KB file that would unpack to gigabytes costs nothing. Pillow's global
MAX_IMAGE_PIXELS is not relied on.

Quality: teachers send photos "as a file" to keep their quality, so cleaning must not cost any.
JPEG, PNG (also animated) and WebP lose their metadata segments and chunks without being
re-encoded (`handlers.image_segments`): the compressed pixels are kept byte for byte. A picture
is re-encoded only when it must be turned upright (an EXIF orientation other than "normal": the
stored file then looks as it did on the phone, also to programs that ignore EXIF), and GIF, TIFF
and BMP always are, each in its own format. PNG, GIF, TIFF, BMP and lossless WebP stay lossless;
a JPEG is saved with its own quantisation tables (turned with it), which adds about the loss of
one more save at its own quality; lossy WebP at quality 95. Kept: pixels, colour profile (ICC),
transparency, animation, resolution. Dropped: EXIF (GPS, camera, times, the embedded thumbnail),
XMP, IPTC/Photoshop blocks, comments, text chunks, and anything appended (a JPEG's extra pictures).

Formats that cannot be cleaned this way (HEIC, AVIF, SVG, PSD, camera raw, ...) are refused, and
so is any result in which metadata can still be found: better no picture than a leaking one.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable

from PIL import Image, ImageOps, ImageSequence, JpegImagePlugin

from handlers.image_segments import strip_jpeg, strip_png, strip_webp, webp_is_lossy

CLEANABLE = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP")
ANIMATED = ("PNG", "WEBP", "GIF", "TIFF")  # all frames (pages) kept; of a JPEG only the first
STRIPPERS: dict[str, Callable[[bytes], bytes]] = {
    "JPEG": strip_jpeg,
    "PNG": strip_png,
    "WEBP": strip_webp,
}
ORIENTATION = 0x0112
UPRIGHT = (None, 0, 1)  # missing, invalid or "normal": nothing to turn
SWAPS_AXES = (5, 6, 7, 8)  # turned by 90°: a JPEG's quantisation tables turn with it
# Pillow's names for what it found besides the pixels; none of them may survive.
METADATA_KEYS = frozenset({"exif", "xmp", "XML:com.adobe.xmp", "comment", "photoshop", "iptc"})
LOOPING = (b"NETSCAPE2.0", b"ANIMEXTS1.0")  # the only GIF application extensions kept
# TIFF/EXIF tags that describe the picture's origin rather than its pixels.
ORIGIN_TAGS = frozenset(
    {270, 271, 272, 305, 306, 315, 316, 700, 33432, 33723, 34377, 34665, 34853, 37510}
    | set(range(40091, 40096))  # Windows XPTitle ... XPSubject
)
# What a re-encode carries over from the source besides the pixels.
PICTURE_KEYS = ("transparency", "duration", "loop", "background", "disposal")


class ImageRefused(Exception):
    """A picture that is not kept."""


class TooManyPixels(ImageRefused):
    """The picture's header announces more pixels than the limit allows."""

    def __init__(self, pixels: int) -> None:
        super().__init__(f"{pixels} pixels")
        self.pixels = pixels


class Uncleanable(ImageRefused):
    """The picture cannot be read, or cannot be stored without its metadata."""


def clean_image(data: bytes, *, max_pixels: int) -> tuple[bytes, str]:
    """The picture without its metadata, and its MIME type.

    Raises:
        TooManyPixels: width × height (× frames, when every frame must be decoded) exceeds
            `max_pixels`; checked from the header before anything is decoded.
        Uncleanable: not a picture Pillow reads in one of `CLEANABLE`, damaged, or metadata
            was still found in the result.
    """
    try:
        with Image.open(io.BytesIO(data), formats=CLEANABLE) as image:
            kind = "JPEG" if image.format == "MPO" else str(image.format)
            mime, pixels = Image.MIME[kind], image.width * image.height
            if pixels > max_pixels:  # before anything reads past the header
                raise TooManyPixels(pixels)
            orientation = _orientation(image)
            reencode = orientation not in UPRIGHT or kind not in STRIPPERS
            frames = getattr(image, "n_frames", 1) if kind in ANIMATED else 1
            if reencode and pixels * frames > max_pixels:
                raise TooManyPixels(pixels * frames)  # every frame will be decoded
            cleaned = _reencode(image, kind, data) if reencode else STRIPPERS[kind](data)
        _verify(cleaned, kind)
    except Image.DecompressionBombError as exc:  # Pillow's own, far larger, limit
        found = re.search(r"\((\d+) pixels\)", str(exc))
        raise TooManyPixels(int(found.group(1)) if found else max_pixels + 1) from exc
    except ImageRefused:
        raise
    except Exception as exc:  # Pillow and the walkers raise many kinds of errors on damaged files
        raise Uncleanable(str(exc)) from exc
    return cleaned, mime


def _orientation(image: Image.Image) -> int | None:
    """The EXIF orientation, read without decoding the picture.

    Pillow's `getexif` decodes a whole PNG to look for an eXIf chunk after the image data; only
    the chunks before it are read here (an orientation after the pixels is rare, and is dropped).
    """
    if image.format == "PNG" and "exif" not in image.info:
        return None
    return image.getexif().get(ORIENTATION)


def _reencode(image: Image.Image, kind: str, data: bytes) -> bytes:
    """Every frame turned upright and saved again in `kind`, with nothing but the picture."""
    frames = []
    for frame in ImageSequence.Iterator(image) if kind in ANIMATED else [image]:
        upright = ImageOps.exif_transpose(frame)  # a copy
        upright.info = {key: frame.info[key] for key in PICTURE_KEYS if key in frame.info}
        frames.append(upright)
    options: dict[str, object] = {
        key: image.info[key] for key in ("icc_profile", "dpi") if key in image.info
    }
    if len(frames) > 1:
        durations = [frame.info.get("duration", 100) for frame in frames]
        options.update(save_all=True, append_images=frames[1:], duration=durations)
        options["loop"] = image.info.get("loop", 0)
    if kind == "JPEG":  # the source's own tables: re-encoding adds next to no loss
        tables = getattr(image, "quantization", None)
        if tables and _orientation(image) in SWAPS_AXES:
            tables = {
                n: [t[col * 8 + row] for row in range(8) for col in range(8)]
                for n, t in tables.items()
            }
        options.update({"qtables": tables} if tables else {"quality": 95})
        if (sampling := JpegImagePlugin.get_sampling(image)) != -1:
            options["subsampling"] = sampling
    elif kind == "WEBP":
        lossy = webp_is_lossy(data)
        options.update(lossless=not lossy, quality=95 if lossy else 100)
    elif kind == "TIFF":
        options["compression"] = "tiff_deflate"
    out = io.BytesIO()
    frames[0].save(out, format=kind, **options)
    return out.getvalue()


def _verify(cleaned: bytes, kind: str) -> None:
    """Fail unless `cleaned` opens as a `kind` picture in which no metadata is found."""
    strip = STRIPPERS.get(kind)
    if strip is not None and strip(cleaned) != cleaned:
        raise Uncleanable("metadata segments left")
    with Image.open(io.BytesIO(cleaned), formats=(kind,)) as image:
        exif = image.getexif() if kind != "PNG" else {}  # PNG: eXIf is gone, `strip` says
        extension = image.info.get("extension", (LOOPING[0],))[0]
        if METADATA_KEYS & image.info.keys() or ORIGIN_TAGS & exif.keys():
            raise Uncleanable("metadata left")
        if extension not in LOOPING:
            raise Uncleanable("GIF application extension left")
