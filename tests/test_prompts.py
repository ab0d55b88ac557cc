"""Prompt files: every language has every English key, with the same placeholders."""

from __future__ import annotations

import pytest

from bot.settings import LANGUAGES
from prompts import REFERENCE, Translator, available_languages, catalog, placeholders


def test_every_supported_language_has_a_prompt_file() -> None:
    assert set(available_languages()) == set(LANGUAGES)


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != REFERENCE])
def test_language_matches_the_reference(language: str) -> None:
    reference, strings = catalog(REFERENCE), catalog(language)
    assert sorted(set(reference) - set(strings)) == [], "missing keys"
    assert sorted(set(strings) - set(reference)) == [], "keys English does not have"
    for key, value in reference.items():
        assert placeholders(strings[key]) == placeholders(value), key
        assert type(strings[key]) is type(value), key
        # Lists of lines (themes, a text's paragraphs) match one for one; a list of words a
        # person may type ("days", "dias") is as long as that language needs.
        if isinstance(value, list) and not key.endswith("_words"):
            assert len(strings[key]) == len(value), key


def test_translator_fills_placeholders_and_falls_back_to_english() -> None:
    t = Translator("zz")
    assert t.language == REFERENCE
    assert "/bogus" in t("errors.unknown_command", command="bogus")
