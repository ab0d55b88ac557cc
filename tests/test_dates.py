"""Dates typed in each of our languages, and dates said back in words with their weekday."""

from __future__ import annotations

from datetime import date

import pytest

from handlers.dates import parse_day, say_day

TODAY = date(2026, 8, 20)  # a Thursday
SEPT_14 = date(2026, 9, 14)  # a Monday
NEXT_MONDAY = date(2026, 8, 24)


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "14 September 2026"),
        ("en", "14/09/2026"),
        ("pt", "14 setembro 2026"),
        ("pt", "14 de setembro de 2026"),
        ("cs", "14. září 2026"),
        ("cs", "14.9.2026"),
        ("hr", "14. rujna 2026."),
        ("hu", "2026. szeptember 14."),
        ("hu", "14/09/2026"),
        ("it", "14 settembre 2026"),
        ("nl", "14 september 2026"),
        ("nl", "14-09-2026"),
    ],
)
def test_each_language_reads_its_own_dates_day_first(language: str, text: str) -> None:
    assert parse_day(text, language, TODAY) == SEPT_14


@pytest.mark.parametrize("language", ["en", "pt", "cs", "hr", "hu", "it", "nl"])
def test_iso_dates_and_day_first_numbers_in_every_language(language: str) -> None:
    assert parse_day("2026-09-14", language, TODAY) == SEPT_14
    assert parse_day("03/04/2027", language, TODAY) == date(2027, 4, 3)


def test_a_date_without_its_year_is_the_coming_one() -> None:
    assert parse_day("14 September", "en", TODAY) == SEPT_14
    assert parse_day("3 fevereiro", "pt", TODAY) == date(2027, 2, 3)


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "next Monday"),
        ("en", "Monday"),
        ("pt", "próxima segunda"),
        ("pt", "segunda-feira que vem"),
        ("cs", "příští pondělí"),
        ("hr", "sljedeći ponedjeljak"),
        ("hu", "jövő hétfő"),
        ("it", "lunedì prossimo"),
        ("nl", "volgende maandag"),
    ],
)
def test_next_weekday_counts_from_the_given_today(language: str, text: str) -> None:
    assert parse_day(text, language, TODAY) == NEXT_MONDAY
    assert parse_day(text, language, date(2026, 9, 1)) == date(2026, 9, 7)


def test_tomorrow_counts_from_the_given_today() -> None:
    assert parse_day("tomorrow", "en", TODAY) == date(2026, 8, 21)
    assert parse_day("amanhã", "pt", TODAY) == date(2026, 8, 21)


@pytest.mark.parametrize(
    "text", ["", "   ", "soon-ish", "next", "banana split", "2026-02-30", "x" * 500]
)
def test_anything_else_is_none(text: str) -> None:
    assert parse_day(text, "en", TODAY) is None
    assert parse_day(text, "pt", TODAY) is None


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "Monday, 14 September 2026"),
        ("pt", "segunda-feira, 14 de setembro de 2026"),
        ("cs", "pondělí 14. září 2026"),
        ("hr", "ponedjeljak, 14. rujna 2026."),
        ("hu", "2026. szeptember 14., hétfő"),
        ("it", "lunedì 14 settembre 2026"),
        ("nl", "maandag 14 september 2026"),
    ],
)
def test_say_day_gives_the_weekday_in_words(language: str, said: str) -> None:
    assert say_day(SEPT_14, language) == said
