"""Logging for the `diarybot` command, with every secret redacted from every record.

The values that must never reach a log or the terminal are known from the settings: the value of
every `SecretStr` setting (`telegram_token`, `telegram_webhook_secret`, `matrix_password`,
`matrix_access_token`) and the password written in any URL setting (`database_url`, ...).
`Redactor` replaces each of them, also percent-encoded, with `***`; and, for secrets made while
the bot runs (the webhook secret picked at each start, a Matrix login's access token), the
password of any URL `scheme://user:password@host` and the value given to any key whose name ends
in `token`, `password` or `secret`, quoted or after `=` (`'secret_token': '...'`,
`access_token=...`).
`RedactingFilter` applies it to a log record's message, arguments, traceback and stack before a
handler formats it: httpx logs every request URL, Telegram's carry the bot token, and they come
out as `.../bot***/getUpdates`; python-telegram-bot logs each call's parameters at DEBUG, and
`setWebhook`'s come out as `'secret_token': '***'`.

People's messages stay out of the log too, even with `-v`: python-telegram-bot logs every API
call's parameters and results at DEBUG, matrix-nio every response it parses, and aiosqlite
every database call with its SQL parameters (a diary answer is one), so those libraries'
loggers stay at INFO whatever the verbosity.

`logging_to_stderr` installs the handler the CLI logs through, and the filter on every handler
of the root logger, for as long as a command runs; it puts back what it found when it ends, so
calling `main()` in a test leaves no handler behind.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TextIO
from urllib.parse import quote, unquote, urlsplit

from pydantic import SecretStr

from bot.settings import Settings
from storage.db import URL_PASSWORD

REDACTED = "***"
# Libraries that log message content (answers, captions, names) at DEBUG.
CONTENT_LOGGERS = ("telegram", "nio", "aiosqlite")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# `'secret_token': '...'`, `"access_token": "..."`, `password=...`: a secret-named key's value,
# quoted or after `=` (so prose such as "per token: stop the other one" is left alone).
_SECRET_KEY_VALUE = re.compile(
    r"""(?i)(\b\w*(?:token|password|secret)\b(?:['"]?\s*[:=]\s*b?['"]|=))[^'"\s&,;)}]+"""
)


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value in the settings: `SecretStr` values and passwords inside URLs."""
    found: set[str] = set()
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            found.add(value.get_secret_value())
        elif isinstance(value, str) and "@" in value:
            try:
                password = urlsplit(value).password
            except ValueError:  # not a URL after all
                continue
            if password:
                found.add(password)
    return sorted(found - {""})


class Redactor:
    """Replaces secrets by `***`: known ones, URL passwords, values of secret-named keys."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms = {form for secret in secrets if secret for form in _forms(secret)}
        # Longest first, so a secret containing another is replaced whole.
        alternatives = sorted(forms, key=len, reverse=True)
        self._known = re.compile("|".join(map(re.escape, alternatives))) if forms else None

    def __call__(self, text: str) -> str:
        """`text` without any secret in it."""
        if self._known is not None:
            text = self._known.sub(REDACTED, text)
        text = URL_PASSWORD.sub(rf"\1:{REDACTED}@", text)
        return _SECRET_KEY_VALUE.sub(rf"\1{REDACTED}", text)


def _forms(secret: str) -> set[str]:
    """The ways a secret can be written: as is, percent-encoded, percent-decoded."""
    return {secret, quote(secret, safe=""), quote(secret), unquote(secret)} - {""}


class RedactingFilter(logging.Filter):
    """A handler filter that removes secrets from each record before it is formatted."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place (message with its arguments, traceback, stack); keep it."""
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the format: keep what there is
            message = f"{record.msg} {record.args}"
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


@contextmanager
def logging_to_stderr(
    redact: Redactor, *, verbose: bool = False, stream: TextIO | None = None
) -> Iterator[logging.Handler]:
    """Log to `stream` (stderr) at WARNING, or DEBUG when `verbose`, with secrets redacted.

    The filter goes on this handler and on every handler the root logger already has.
    """
    root = logging.getLogger()
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    guard = RedactingFilter(redact)
    previous_level = root.level
    root.addHandler(handler)
    guarded = list(root.handlers)
    for each in guarded:
        each.addFilter(guard)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    quiet = {name: logging.getLogger(name) for name in CONTENT_LOGGERS}
    levels = {name: each.level for name, each in quiet.items()}
    for each in quiet.values():
        each.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        for name, each in quiet.items():
            each.setLevel(levels[name])
        root.setLevel(previous_level)
        for each in guarded:
            each.removeFilter(guard)
        root.removeHandler(handler)
