"""Prompt files: every language has every English key, with the same placeholders."""

from __future__ import annotations

import pytest

from bot.settings import LANGUAGES
from prompts import (
    REFERENCE,
    Translator,
    available_languages,
    catalog,
    placeholders,
    plural_forms,
)


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


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_plural_message_has_the_forms_its_language_counts_with(language: str) -> None:
    needed = plural_forms(language)
    plurals = {k: v for k, v in catalog(language).items() if isinstance(v, dict)}
    assert plurals, "no plural messages"
    for key, forms in plurals.items():
        assert set(forms) == needed, key
        # The count itself is given as {count}; the other placeholders are the reference's.
        assert placeholders(forms) <= placeholders(catalog(REFERENCE)[key]) | {"count"}, key


def test_plural_forms_follow_each_languages_rules() -> None:
    def days(language: str, count: int) -> str:
        return Translator(language).plural("reminders.behind_line", count, school="S", days=count)

    assert [days("en", n) for n in (1, 2)] == ["• S: 1 day", "• S: 2 days"]
    assert [days("cs", n) for n in (1, 3, 5)] == ["• S: 1 den", "• S: 3 dny", "• S: 5 dní"]
    assert [days("hr", n) for n in (21, 22, 25)] == ["• S: 21 dan", "• S: 22 dana", "• S: 25 dana"]
    # Portugal's rules: nothing is singular but one (Brazil's would say "0 dia").
    assert days("pt", 0) == "• S: 0 dias" and days("pt", 1) == "• S: 1 dia"
    # Croatian's "one" is also 21, 31, ...: the header of a single entry is a message apart.
    assert "1–10 od 21" in Translator("hr").plural("review.header", 21, first=1, last=10)
