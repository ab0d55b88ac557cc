"""The Telegram channel's calls besides receiving: a reply's parts, the menus, pressed buttons.

Each takes the bot and the outbox it goes through, so the channel itself keeps to receiving,
handing over and stopping. Text goes out as plain text with link previews off (they would make
Telegram's servers fetch the links contributors keep as evidence).
"""

from __future__ import annotations

import logging
from functools import partial

from telegram import BotCommand, BotCommandScopeAllPrivateChats, CallbackQuery, LinkPreviewOptions
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.channels.telegram_client import RawBot
from bot.channels.telegram_convert import TEXT_LIMIT, Part, units
from bot.channels.telegram_outbox import Outbox
from handlers.router import command_menu
from prompts import available_languages

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


async def post(bot: RawBot, chat_id: int, part: Part) -> None:
    """Make the one Bot API call that posts `part` (a text, a photo or a document)."""
    if part.photo is not None:
        await bot.send_photo(
            chat_id, part.photo, caption=part.text or None, reply_markup=part.markup
        )
    elif part.document is not None:
        await bot.send_document(
            chat_id,
            part.document,
            caption=part.text or None,
            filename=part.filename,
            reply_markup=part.markup,
        )
    else:
        await bot.send_text(chat_id, part.text, markup=part.markup, preview=NO_PREVIEW)


async def register_menus(bot: RawBot, outbox: Outbox, default_language: str) -> None:
    """The "/" command menu of private chats, once per language plus the default.

    The bot works without its menu: a menu that cannot be set is logged, and the next one tried.
    """
    for language in [None, *available_languages()]:
        menu = command_menu(language or default_language)
        call = partial(
            bot.set_my_commands,
            [BotCommand(name, description) for name, description in menu],
            scope=BotCommandScopeAllPrivateChats(),
            language_code=language,
        )
        try:
            await outbox.call(call, what=f"setMyCommands {language or 'default'}")
        except TelegramError as exc:
            log.warning("telegram: command menu for %s not set: %s", language, exc)


async def acknowledge(bot: RawBot, outbox: Outbox, query: CallbackQuery) -> None:
    """Stop the button's spinner and show under the message which choice was made.

    Whether the press still counts is the router's business (an outdated one gets a polite
    answer in the chat); this only tidies the pressed message, so failures here (the message is
    too old to edit, say) are logged and otherwise ignored.
    """
    try:
        await outbox.call(query.answer, what=f"callback {query.id}")
    except TelegramError as exc:
        log.info("telegram: callback %s not answered: %s", query.id, exc)
    message = query.message
    text = getattr(message, "text", None)
    markup = getattr(message, "reply_markup", None)
    if message is None or not text or markup is None:
        return
    chosen = [
        b.text for row in markup.inline_keyboard for b in row if b.callback_data == query.data
    ]
    edited = f"{text}\n\n✓ {chosen[0]}" if chosen else text
    call = partial(
        bot.edit_message_text,
        edited if units(edited) <= TEXT_LIMIT else text,
        chat_id=message.chat.id,
        message_id=message.message_id,
        link_preview_options=NO_PREVIEW,
    )
    group = message.chat.type != ChatType.PRIVATE
    try:
        await outbox.deliver(str(message.chat.id), call, group=group)
    except TelegramError as exc:
        log.info("telegram: pressed message not tidied: %s", exc)
