"""The Telegram channel's calls besides receiving: a reply's parts, edits, menus, pressed buttons.

Each takes the bot, and the outbox too where it paces its own calls (the channel puts posts and
edits through it), so the channel itself keeps to receiving, handing over and stopping. Text
goes out as plain text with link previews off (they would make Telegram's servers fetch the
links contributors keep as evidence).
"""

from __future__ import annotations

import logging
from functools import partial

from telegram import BotCommand, BotCommandScopeAllPrivateChats, CallbackQuery, LinkPreviewOptions
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError

from bot.channels.telegram_client import RawBot
from bot.channels.telegram_convert import TEXT_LIMIT, Part, units
from bot.channels.telegram_outbox import Outbox
from handlers.router import command_menu
from prompts import available_languages

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# How Telegram words its refusal of an edit that would leave the message as it is.
NOT_MODIFIED = "message is not modified"


async def post(bot: RawBot, chat_id: int, part: Part, topic: int | None = None) -> str:
    """Make the one Bot API call that posts `part` (a text, a photo or a document).

    `topic` is the forum topic to post in. Returns the posted message's id, as `Channel.send`
    hands it on (a text's without building PTB's `Message`).
    """
    if part.photo is not None:
        message = await bot.send_photo(
            chat_id,
            part.photo,
            caption=part.text or None,
            reply_markup=part.markup,
            message_thread_id=topic,
        )
    elif part.document is not None:
        message = await bot.send_document(
            chat_id,
            part.document,
            caption=part.text or None,
            filename=part.filename,
            reply_markup=part.markup,
            message_thread_id=topic,
        )
    else:
        sent = await bot.send_text(
            chat_id, part.text, markup=part.markup, preview=NO_PREVIEW, topic=topic
        )
        return str(sent)
    return str(message.message_id)


async def edit(bot: RawBot, chat_id: int, message_id: int, part: Part) -> None:
    """Make the one editMessageText that gives an earlier text message `part`'s text and buttons.

    Without buttons the message's keyboard goes (Telegram drops one an edit does not repeat).
    Telegram refuses an edit that changes nothing ("message is not modified"); the message then
    already says what it should, so that counts as done: two edits racing to the same tally, or
    one sent again after its answer was lost, must not be reported undelivered.

    Raises:
        TelegramError: Telegram refused the edit otherwise (the message is gone, not the bot's,
            or not a text message), as `edit_message_text` does.
    """
    try:
        await bot.edit_message_text(
            part.text,
            chat_id=chat_id,
            message_id=message_id,
            reply_markup=part.markup,
            link_preview_options=NO_PREVIEW,
        )
    except BadRequest as exc:
        if NOT_MODIFIED not in str(exc).lower():
            raise


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
    """Stop the button's spinner; in a private chat, also tidy the pressed message.

    Tidying shows under the message which choice was made and takes its buttons away. In a
    group the pressed message is left as it is: its buttons are everyone's (a meeting's RSVP
    buttons stay for the next person), and what a press changed is for the handlers to show.
    Whether the press still counts is the router's business (an outdated one gets a polite
    answer in the chat); this only answers and tidies, so failures here (the message is too old
    to edit, say) are logged and otherwise ignored.
    """
    try:
        await outbox.call(query.answer, what=f"callback {query.id}")
    except TelegramError as exc:
        log.info("telegram: callback %s not answered: %s", query.id, exc)
    message = query.message
    text = getattr(message, "text", None)
    markup = getattr(message, "reply_markup", None)
    if message is None or message.chat.type != ChatType.PRIVATE or not text or markup is None:
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
    try:
        await outbox.deliver(str(message.chat.id), call, group=False)
    except TelegramError as exc:
        log.info("telegram: pressed message not tidied: %s", exc)
