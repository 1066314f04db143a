"""Thin python-telegram-bot callbacks: read the update, call the service, reply."""

from __future__ import annotations

import html
import logging

from telegram import Message, MessageEntity, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ContextTypes

from bot import answer as answering
from bot import messages
from bot.service import Service

log = logging.getLogger(__name__)


def _service(context: ContextTypes.DEFAULT_TYPE) -> Service:
    return context.bot_data["service"]


async def _reply_answer(message: Message, context: ContextTypes.DEFAULT_TYPE, question: str) -> None:
    service = _service(context)
    ans = service.ask(question)
    qid = service.remember(question) if ans.answered else None
    await message.reply_text(
        answering.answer_html(ans),
        parse_mode=ParseMode.HTML,
        reply_markup=messages.answer_keyboard(service, ans, qid, 0),
        do_quote=message.chat.type != ChatType.PRIVATE,
    )


async def start_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    service = _service(context)
    user = update.effective_user
    await update.effective_message.reply_text(
        messages.start_html(service, user.first_name if user else None),
        parse_mode=ParseMode.HTML,
        reply_markup=messages.examples_keyboard(service),
    )


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(
        messages.help_html(context.bot.username), parse_mode=ParseMode.HTML
    )


async def about_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(
        messages.about_html(_service(context)), parse_mode=ParseMode.HTML
    )


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask 问题 — in groups and private chats alike."""
    question = " ".join(context.args or [])
    if not question.strip():
        await update.effective_message.reply_text(messages.ASK_HINT)
        return
    await _reply_answer(update.effective_message, context, question)


async def private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any text in a private chat is a question."""
    await _reply_answer(update.effective_message, context, update.effective_message.text)


async def group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In groups: answer a mention of the bot or a reply to one of its messages; else stay silent."""
    message = update.effective_message
    question = addressed_question(message, context.bot.id, context.bot.username)
    if question is None:
        return
    if not question.strip():
        await message.reply_text(messages.ASK_HINT, do_quote=True)
        return
    await _reply_answer(message, context, question)


def addressed_question(message: Message, bot_id: int, bot_username: str | None) -> str | None:
    """The question in a group message meant for the bot (its @mention removed), or None."""
    text = message.text or ""
    mention = f"@{bot_username}".lower() if bot_username else None
    mentions = [
        (e, t) for e, t in message.parse_entities([MessageEntity.MENTION]).items()
        if mention and t.lower() == mention
    ]
    replied = message.reply_to_message
    if mentions:
        for _, t in mentions:
            text = text.replace(t, " ")
        return " ".join(text.split())
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return text
    return None


async def non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A sticker, photo, voice note or location in a private chat gets a one-line hint."""
    await update.effective_message.reply_text(messages.NON_TEXT_HINT)


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    service = _service(context)
    cb = messages.decode_callback(query.data)
    if cb is None or cb.generation != service.generation or query.message is None:
        await query.answer(messages.STALE)
        return
    message = query.message
    if cb.kind == "para":
        passage = service.passage_at(int(cb.ref)) if cb.ref.isdigit() else None
        if passage is None:
            await query.answer(messages.STALE)
            return
        await query.answer()
        await message.reply_text(messages.paragraph_html(passage), parse_mode=ParseMode.HTML, do_quote=True)
    elif cb.kind == "more":
        question = service.recall(cb.ref)
        if question is None:
            await query.answer(messages.STALE)
            return
        ans = service.ask(question, offset=cb.offset)
        if not ans.quotes:
            await query.answer("没有更多结果了。")
            return
        await query.answer()
        await message.reply_text(
            answering.answer_html(ans, first_number=cb.offset + 1),
            parse_mode=ParseMode.HTML,
            reply_markup=messages.answer_keyboard(service, ans, cb.ref, cb.offset),
        )
    else:  # an example question from /start
        examples = service.example_questions()
        i = int(cb.ref) if cb.ref.isdigit() else -1
        if not 0 <= i < len(examples):
            await query.answer(messages.STALE)
            return
        await query.answer()
        await message.reply_text(f"❓ {html.escape(examples[i], quote=False)}")
        await _reply_answer(message, context, examples[i])


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.inline_query
    offset = int(query.offset) if query.offset.isdigit() else 0
    results, next_offset = messages.inline_results(
        _service(context), query.query, offset, context.bot.username
    )
    await query.answer(results, next_offset=next_offset, cache_time=60, is_personal=False)


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log what went wrong; Telegram faults that are part of normal life are not errors."""
    err = context.error
    if isinstance(err, Forbidden):
        log.info("not delivered, the user blocked the bot or left: %s", err.message)
    elif isinstance(err, BadRequest) and "message is not modified" in err.message.lower():
        log.debug("ignored: %s", err.message)
    elif isinstance(err, (TimedOut, NetworkError, RetryAfter)):
        log.warning("Telegram network problem, update skipped: %s", err)
    else:
        log.error("error while handling an update", exc_info=err)
    if isinstance(update, Update) and update.callback_query is not None:
        try:
            await update.callback_query.answer()
        except Exception:  # the query may already be answered or too old
            pass
