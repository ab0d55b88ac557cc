"""Contact details typed into a text are masked for the public version; dates and counts stay."""

from __future__ import annotations

import pytest

from storage.masking import mask

WORDS = {"phone": "[phone]", "email": "[e-mail]", "account": "[account]"}


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Liguem 912 345 678 ou +351 21 123 4567.", "Liguem [phone] ou [phone]."),
        ("Hívjon: +36 20 123 4567 vagy 06-30/123-4567", "Hívjon: [phone] vagy [phone]"),
        ("Zavolejte na 603 123 456", "Zavolejte na [phone]"),
        ("chiamate il 333 1234567", "chiamate il [phone]"),
        ("bel 0412 34 56 78", "bel [phone]"),
        ("nazovite 091 234 5678", "nazovite [phone]"),
        ("call +44 20 7946 0018 today", "call [phone] today"),
        ("mail ana.silva@escola.pt now", "mail [e-mail] now"),
        ("ask @ana_reads or @ana:matrix.example.org", "ask [account] or [account]"),
        ("see t.me/ana_reads, https://matrix.to/#/@ana:example.org.", "see [account], [account]."),
        ("join https://t.me/+AbCdEf12 or tg://resolve?domain=ana", "join [account] or [account]"),
        ("gsm 0475.12.3456 of 0475 12 34 56", "gsm [phone] of [phone]"),
    ],
)
def test_contact_details_are_masked(text: str, masked: str) -> None:
    assert mask(text, WORDS) == masked


@pytest.mark.parametrize(
    "text",
    [
        "Meeting on 12.05.2026 at 14:00-15:30, then 2026-12-06, 5/12/26 and 2026.12.06.",
        "The school year 2025/2026 (and 2025-26): 1200 pupils in 48 classes, 60% of them.",
        "Grades 7-9, 3 times a week for 45 minutes, since 10/12/2026.",
        "Nothing here but words.",
        "",
    ],
)
def test_dates_counts_and_plain_words_stay(text: str) -> None:
    assert mask(text, WORDS) == text
