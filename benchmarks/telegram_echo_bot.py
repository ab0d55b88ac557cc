"""The yardstick of the Telegram benchmarks: python-telegram-bot 22's bare echo bot.

Run: .venv/bin/python -m benchmarks.telegram_echo_bot TOKEN BASE_URL

What PTB's own echo example does, with nothing tuned: an `Application` with default settings
(one update at a time, no rate limiter), one `MessageHandler` that answers every text (commands
included, so each message of the benchmark gets exactly one reply) with `reply_text`, and
`run_polling()` (long polling, stopped by SIGTERM). `benchmarks/telegram_echo.py` runs it in its
own process, as it runs `diarybot run`.
"""

from __future__ import annotations

import sys

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a text with the same text."""
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


def main(token: str, base_url: str) -> None:
    """Build the application and poll until SIGTERM or SIGINT."""
    application = Application.builder().token(token).base_url(base_url).build()
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
