"""Pictures put into a python-docx document at a constant cost each, however many there are.

python-docx's `Run.add_picture` is quadratic in a large document: for every picture it finds a
free shape id with an XPath over the whole body, compares the image's SHA-1 with every image
part added before it, and scans those parts again for a free part name. In the export of a
network (2,400 photos) that was most of the Word document's time. Here the shape ids, part
names and relationship ids are counted instead, and a photo already in the document (the same
media hash) is drawn again from its one image part.
"""

from __future__ import annotations

from typing import Any

from docx.image.image import Image
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.oxml.ns import qn
from docx.oxml.shape import CT_Inline
from docx.parts.image import ImagePart
from docx.shared import Length
from lxml import etree


class Pictures:
    """Adds pictures to one document's body."""

    def __init__(self, document: Any) -> None:
        self.part = document.part
        # Ids above any the template already uses; nothing else we write has an id.
        self.next_shape = self.part.next_id
        self.parts: dict[str, tuple[str, Image]] = {}

    def __contains__(self, key: str) -> bool:
        return key in self.parts

    def add(self, run: Any, key: str, blob: bytes | None, width: Length) -> None:
        """Draw the image known by `key` (e.g. its media hash) in `run` (a `w:r`), `width` wide.

        `blob`, the image's bytes, is read only the first time `key` is drawn.
        """
        found = self.parts.get(key)
        if found is None:
            assert blob is not None, "a new picture needs its bytes"
            image = Image.from_blob(blob)
            n = len(self.parts) + 1
            part = ImagePart.from_image(image, PackURI(f"/word/media/photo{n}.{image.ext}"))
            # Not "rId<n>": python-docx numbers its own relationships that way, later too.
            rel_id = f"rIdPhoto{n}"
            self.part.rels.add_relationship(RT.IMAGE, part, rel_id)
            found = self.parts[key] = (rel_id, image)
        rel_id, image = found
        cx, cy = image.scaled_dimensions(width, None)
        inline = CT_Inline.new_pic_inline(self.next_shape, rel_id, image.filename, cx, cy)
        self.next_shape += 1
        etree.SubElement(run, qn("w:drawing")).append(inline)
