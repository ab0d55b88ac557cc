"""School names shortened for a phone-sized chart label, still telling the schools apart.

A name that fits is shown exactly as its school writes it. A longer one first loses the words
that say what kind of school it is (Escola, Básica, Primary, Osnovna škola, ...), then is cut
with an ellipsis; names that come out the same keep what tells them apart.
"""

from __future__ import annotations

import unicodedata

# Words that say what kind of school it is rather than which one, compared without accents and
# case (the cluster's languages: en, pt, it, nl, cs, hu, hr). They go only when a name is too
# long, so a name that fits is shown exactly as its school writes it.
_GENERIC_WORDS = frozenset(
    {
        # English
        "school",
        "primary",
        "secondary",
        "elementary",
        "basic",
        "high",
        "junior",
        "infant",
        "academy",
        "college",
        # Portuguese
        "escola",
        "escolas",
        "agrupamento",
        "basica",
        "secundaria",
        "profissional",
        # Italian
        "scuola",
        "istituto",
        "comprensivo",
        "primaria",
        "secondaria",
        "statale",
        "elementare",
        "liceo",
        # Dutch
        "basisschool",
        "openbare",
        # Czech
        "zakladni",
        "skola",
        "materska",
        "stredni",
        "gymnazium",
        "gimnazium",  # Hungarian
        # Hungarian
        "altalanos",
        "iskola",
        "iskolaja",
        "kozepiskola",
        # Croatian
        "osnovna",
        "srednja",
        "gimnazija",
    }
)
# Abbreviations of the same, compared with their accents: "OŠ" (Croatian) must not take the
# Portuguese article "Os" with it, nor "ES" (Escola Secundária) the Hungarian "és".
_GENERIC_ABBREVIATIONS = frozenset({"eb", "es", "ebs", "eb1", "eb23", "eb2,3", "ic", "obs", "cbs"})
_GENERIC_ABBREVIATIONS |= frozenset({"oš", "zš"})
# Little words left stranded at either end once the generic words are gone ("Agrupamento de
# Escolas de Vila Real" becomes "Vila Real", not "de de Vila Real"). Only lower-case ones go:
# a capitalised article is part of the name ("Basisschool De Regenboog" keeps "De Regenboog").
_CONNECTORS = frozenset(
    {
        *("de", "da", "do", "das", "dos", "e"),  # pt
        *("di", "del", "della", "dello", "dei", "degli", "delle", "ed"),  # it
        *("of", "the", "and", "for"),  # en
        *("van", "der", "het", "en"),  # nl
        *("a", "az", "es"),  # hu (és), cs (a)
        *("i", "u"),  # hr
    }
)
_ELLIPSIS = "…"
# Characters not worth keeping right before the ellipsis.
_CUT_STRIP = " ,;:.-–—/(&+"


def short_name(name: str, limit: int = 18) -> str:
    """A school name shortened for a phone-sized label (drops common words like Escola/School/Primary/Basic... only if needed, then cuts with an ellipsis); stable and unique enough.

    The result depends on the name and the limit only. A name that fits (after collapsing runs
    of white space) comes back unchanged; a longer one loses the words that only say what kind
    of school it is ("Escola Básica de Telheiras" gives "Telheiras") and, if still too long, is
    cut to `limit` characters, the last of them an ellipsis. Two schools of one cluster rarely
    differ only in those words; `draw_chart` tells such names apart when they do.

    Raises:
        ValueError: if `limit` is below 1.
    """  # noqa: E501 (the first line is the agreed interface text)
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    text = _tidy(name)
    if len(text) <= limit:
        return text
    return _cut(_without_generic(text), limit)


def _tidy(name: str) -> str:
    """`name` in NFC with its white space collapsed.

    NFC, so that a letter and its accent count as one character and are never cut apart.
    """
    return " ".join(unicodedata.normalize("NFC", name).split())


def _without_generic(text: str, only: frozenset[str] | None = None) -> str:
    """`text` without its generic words (those whose `_key` is in `only`, if given).

    Connectors stranded at either end go too; a name made only of generic words ("Primary
    School") comes back whole.
    """
    words = text.split(" ")
    kept = [w for w in words if not (_is_generic(w) and (only is None or _key(w) in only))]
    if len(kept) == len(words):
        return text
    while kept and _is_stranded_connector(kept[0]):
        kept.pop(0)
    while kept and _is_stranded_connector(kept[-1]):
        kept.pop()
    return " ".join(kept) if kept else text


def _key(word: str) -> str:
    """A word compared without case, accents or surrounding punctuation."""
    decomposed = unicodedata.normalize("NFD", word.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.strip(".,;:()'\"-–—")


def _is_generic(word: str) -> bool:
    if _key(word) in _GENERIC_WORDS:
        return True
    return word.casefold().strip(".,;:()'\"-–—") in _GENERIC_ABBREVIATIONS


def _is_stranded_connector(word: str) -> bool:
    return word.islower() and _key(word) in _CONNECTORS


def _cut(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, the last one an ellipsis, if it is longer than that."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip(_CUT_STRIP) + _ELLIPSIS


def school_labels(schools: tuple[str, ...], limit: int = 18) -> list[str]:
    """Chart labels: `short_name` of each school, told apart when two come out the same.

    Names that collide once their generic words are gone ("Escola Básica de Vila Real",
    "Escola Secundária de Vila Real" both give "Vila Real") lose only the generic words they
    all share ("Básica de Vila Re…", "Secundária de Vil…"); any still alike get a number, in
    display order.
    """
    full = [_tidy(school) for school in schools]
    labels = [short_name(name, limit) for name in full]
    clashes: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        clashes.setdefault(label.casefold(), []).append(index)
    for members in clashes.values():
        if len(members) < 2:
            continue
        shared = frozenset.intersection(
            *(frozenset(_key(w) for w in full[i].split(" ") if _is_generic(w)) for i in members)
        )
        for i in members:
            labels[i] = _cut(_without_generic(full[i], shared), limit)
    seen: dict[str, int] = {}
    for index, label in enumerate(labels):
        key = label.casefold()
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            suffix = f" ({seen[key]})"
            labels[index] = _cut(label, max(1, limit - len(suffix))) + suffix
    return labels
