"""Paragraphs and runs written straight into a Word table cell's XML, for the template's table.

The table holds nearly all of a diary's text: on a network's worth of entries, python-docx's
object layer (a proxy per paragraph and run, a search for each child's place in the schema,
the text looked at a character at a time) took most of the document's time. Inside a cell the
order is simple (a paragraph's properties first, then its runs; a run's properties first, then
its text), so the elements are appended in that order with lxml directly.
"""

from __future__ import annotations

from typing import Any

from docx.oxml.ns import qn
from lxml import etree

_P, _PPR, _SPACING, _BEFORE = qn("w:p"), qn("w:pPr"), qn("w:spacing"), qn("w:before")
_R, _RPR, _B, _I, _T, _BR = qn("w:r"), qn("w:rPr"), qn("w:b"), qn("w:i"), qn("w:t"), qn("w:br")
_PRESERVE = qn("xml:space")
# Word measures paragraph spacing in twentieths of a point.
TWIPS_PER_POINT = 20


def paragraph(cell: Any, *, reuse: bool = False, space_before: int = 0) -> Any:
    """A new paragraph (`w:p`) at the end of the cell; its first, empty one when `reuse`.

    `space_before` is in points (a new paragraph only).
    """
    tc = cell._tc
    if reuse:
        return tc.find(_P)  # a new cell holds one empty paragraph
    p = etree.SubElement(tc, _P)
    if space_before:
        spacing = etree.SubElement(etree.SubElement(p, _PPR), _SPACING)
        spacing.set(_BEFORE, str(space_before * TWIPS_PER_POINT))
    return p


def run(p: Any, text: str = "", *, bold: bool = False, italic: bool = False) -> Any:
    """A run (`w:r`) of `text` at the end of paragraph `p`, its lines kept as line breaks."""
    r = etree.SubElement(p, _R)
    if bold or italic:
        properties = etree.SubElement(r, _RPR)
        if bold:
            etree.SubElement(properties, _B)
        if italic:
            etree.SubElement(properties, _I)
    for n, line in enumerate(text.split("\n")):
        if n:
            etree.SubElement(r, _BR)
        if line:
            t = etree.SubElement(r, _T)
            t.text = line
            if line != line.strip():  # Word drops spaces at the ends unless told not to
                t.set(_PRESERVE, "preserve")
    return r


def text(cell: Any, words: str, *, bold: bool = False, italic: bool = False) -> Any:
    """A new paragraph at the end of the cell holding `words`."""
    p = paragraph(cell)
    run(p, words, bold=bold, italic=italic)
    return p
