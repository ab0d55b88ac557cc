"""Every string the bot says, one TOML file per language, looked up by dotted key.

English (`en.toml`) is the reference; the tests fail if another language misses a key or a
placeholder. Files are read with `importlib.resources`, so they load from a checkout and from an
installed wheel alike. They never change while the bot runs, so the list of languages and each
language's catalogue are read once, when first needed, and kept: every message looks up its
language (listing the folder each time cost 23 `stat` calls per message).

A message that counts something is a table of its plural forms, named by the CLDR categories
(`one`, `few`, `many`, `other`; Croatian and Czech need `few`, English only `one` and `other`):
`Translator.plural` picks the form Babel's plural rules give the count, in the language's own
rules (Portugal's for Portuguese).
"""

from __future__ import annotations

import string
import tomllib
from functools import cache
from importlib import resources
from typing import Any

from babel import Locale

REFERENCE = "en"
# The CLDR plural categories; a table with only these keys is one message in its plural forms.
PLURAL_FORMS = frozenset({"zero", "one", "two", "few", "many", "other"})
# Portugal's plural rules, not Brazil's (which count 0 as singular).
PLURAL_LOCALES = {"pt": "pt_PT"}


@cache
def available_languages() -> tuple[str, ...]:
    """Language codes that have a prompt file, reference first."""
    names = sorted(
        entry.name.removesuffix(".toml")
        for entry in resources.files(__name__).iterdir()
        if entry.name.endswith(".toml")
    )
    return (REFERENCE, *(name for name in names if name != REFERENCE))


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and "other" in value and set(value) <= PLURAL_FORMS:
            flat[name] = value  # one message, in its plural forms
        elif isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


@cache
def catalog(language: str) -> dict[str, Any]:
    """All strings of one language as a flat `{dotted.key: value}` mapping."""
    text = resources.files(__name__).joinpath(f"{language}.toml").read_text("utf-8")
    return _flatten(tomllib.loads(text))


def hinted(hint: str | None) -> str | None:
    """Ours of a platform's language hint ("pt-BR" gives "pt"), or None."""
    code = (hint or "").split("-")[0].lower()
    return code if code in available_languages() else None


@cache
def plural_rule(language: str) -> Any:
    """Babel's plural rule of a language: a count's CLDR category ("one", "few", "other")."""
    return Locale.parse(PLURAL_LOCALES.get(language, language)).plural_form


def plural_forms(language: str) -> frozenset[str]:
    """The categories a language's whole numbers fall into: the forms its catalogue needs."""
    rule = plural_rule(language)
    return frozenset(rule(n) for n in range(1000))


def placeholders(value: Any) -> set[str]:
    """The `{name}` placeholders a string (or each string of a list or plural table) uses."""
    items = list(value.values()) if isinstance(value, dict) else value
    items = items if isinstance(items, list) else [items]
    return {
        field
        for item in items
        if isinstance(item, str)
        for _, field, _, _ in string.Formatter().parse(item)
        if field
    }


class Translator:
    """Looks strings up in one language, falling back to English for a missing key."""

    def __init__(self, language: str) -> None:
        self.language = language if language in available_languages() else REFERENCE
        self._strings = catalog(self.language)
        self._reference = catalog(REFERENCE)

    def raw(self, key: str) -> Any:
        """The stored value (a string or a list of strings) for `key`."""
        if key in self._strings:
            return self._strings[key]
        return self._reference[key]

    def __call__(self, key: str, **values: object) -> str:
        """The string for `key` with its placeholders filled in."""
        value = self.raw(key)
        if isinstance(value, list):
            value = "\n".join(value)
        return value.format(**values) if values else value

    def plural(self, key: str, count: int, **values: object) -> str:
        """The form of the plural message `key` for `count`, filled in (`{count}` too)."""
        forms = self.raw(key)
        text = forms.get(plural_rule(self.language)(count), forms["other"])
        return text.format(count=count, **values)

    def has(self, key: str) -> bool:
        """Whether `key` exists in the reference language."""
        return key in self._reference
