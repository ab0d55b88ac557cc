"""Every string the bot says, one TOML file per language, looked up by dotted key.

English (`en.toml`) is the reference; the tests fail if another language misses a key or a
placeholder. Files are read with `importlib.resources`, so they load from a checkout and from an
installed wheel alike. They never change while the bot runs, so the list of languages and each
language's catalogue are read once, when first needed, and kept: every message looks up its
language (listing the folder each time cost 23 `stat` calls per message).
"""

from __future__ import annotations

import string
import tomllib
from functools import cache
from importlib import resources
from typing import Any

REFERENCE = "en"


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
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


@cache
def catalog(language: str) -> dict[str, Any]:
    """All strings of one language as a flat `{dotted.key: value}` mapping."""
    text = resources.files(__name__).joinpath(f"{language}.toml").read_text("utf-8")
    return _flatten(tomllib.loads(text))


def placeholders(value: Any) -> set[str]:
    """The `{name}` placeholders a string (or each string of a list) uses."""
    items = value if isinstance(value, list) else [value]
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

    def has(self, key: str) -> bool:
        """Whether `key` exists in the reference language."""
        return key in self._reference
