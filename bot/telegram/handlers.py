"""Thin python-telegram-bot callbacks: read the update, call the service, reply."""

from __future__ import annotations

import asyncio
import html
import logging
import time
from collections.abc import Callable

from telegram import Message, MessageEntity, Update
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import ContextTypes

from bot.answering import answer as answering
from bot.answering import followup, smalltalk
from bot.answering.answer import Answer
from bot.answering.service import MAX_RESULTS, Service, base36
from bot.ops import reports
from bot.ops.documents import DocumentError, Library
from bot.ops.store import Store
from bot.search.corpus import CorpusError
from bot.telegram import messages

log = logging.getLogger(__name__)


def _service(context: ContextTypes.DEFAULT_TYPE) -> Service:
    return context.bot_data["service"]


def _store(context: ContextTypes.DEFAULT_TYPE) -> Store | None:
    return context.bot_data.get("store")


async def _ask_and_log(
    context: ContextTypes.DEFAULT_TYPE, place: str, user_id: int | None, question: str,
    k: int | None = None, offset: int = 0, log: bool = True,
) -> tuple[Answer, int | None]:
    """Answer a question and log it (when a store is configured and ``log``); returns the log row id.

    The log keeps the quotes a chat reply would show (the first ``top_k``), however many were asked for.
    """
    start = time.perf_counter()
    service = _service(context)
    ans = service.ask(question, k=k, offset=offset)
    latency_ms = (time.perf_counter() - start) * 1000
    store = _store(context)
    if store is None or not log:
        return ans, None
    shown = ans.quotes[: service.top_k]
    log_id = await store.run(
        store.log_question, place, user_id, question, ans.answered,
        [q.passage.doc for q in shown], [q.passage.key for q in shown], latency_ms,
    )
    return ans, log_id


async def _reply_answer(
    message: Message, context: ContextTypes.DEFAULT_TYPE, question: str, user_id: int | None = None,
    heading: bool = False,
) -> None:
    """Answer a question in a chat, read in the context of the question it follows: the one the
    answer it replies to answered, or in a private chat the one asked a few minutes before."""
    service, store = _service(context), _store(context)
    chat = message.chat
    private = chat.type == ChatType.PRIVATE
    if (said := smalltalk.kind(question)) is not None:  # 你好, 谢谢: not a question, not logged as one
        user = message.from_user
        reply, keyboard = messages.small_talk(said, service, user.first_name if user else None)
        await message.reply_text(reply, parse_mode=ParseMode.HTML, reply_markup=keyboard, do_quote=not private)
        return
    if user_id is None:
        user_id = message.from_user.id if message.from_user else None
    replied = message.reply_to_message
    reply_to = replied.message_id if replied and replied.from_user and replied.from_user.id == context.bot.id else None
    previous = None
    if store is not None and (reply_to is not None or private):
        since = None if reply_to is not None else time.time() - followup.FOLLOWUP_SECONDS
        previous = await store.run(store.previous, chat.id, reply_to, since)
    start = time.perf_counter()
    follow = service.read(question, previous, replied=reply_to is not None)
    latency_ms = (time.perf_counter() - start) * 1000
    ans = follow.answer
    log_id = asked_id = None
    if store is not None:
        shown = ans.quotes[: service.top_k]
        log_id = await store.run(
            store.log_question, "private" if private else "group", user_id, question, ans.answered,
            [q.passage.doc for q in shown], [q.passage.key for q in shown], latency_ms, chat_id=chat.id,
        )
        asked_id = await store.run(
            store.remember, chat.id, follow.reading.question, follow.reading.offset + len(ans.quotes)
        )
    qid = base36(asked_id) if asked_id is not None and ans.answered else None
    sent = await message.reply_text(
        messages.reply_html(follow, question, heading),
        parse_mode=ParseMode.HTML,
        reply_markup=messages.answer_keyboard(service, ans, qid, follow.reading.offset, log_id),
        do_quote=not private and not heading,
    )
    if store is not None and asked_id is not None:
        await store.run(store.sent, asked_id, sent.message_id)


# Every handler below is registered for updates that carry what it reads (a message, a callback
# query, an inline query); it returns at once on any other update, as PTB's types allow.


async def start_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if (message := update.effective_message) is None:
        return
    service = _service(context)
    user = update.effective_user
    await message.reply_text(
        messages.start_html(service, user.first_name if user else None),
        parse_mode=ParseMode.HTML,
        reply_markup=messages.examples_keyboard(service),
    )


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if (message := update.effective_message) is None:
        return
    await message.reply_text(messages.help_html(context.bot.username), parse_mode=ParseMode.HTML)


async def about_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if (message := update.effective_message) is None:
        return
    await message.reply_text(messages.about_html(_service(context)), parse_mode=ParseMode.HTML)


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask 问题 — in groups and private chats alike (also /ask：问题, glued as is usual in Chinese)."""
    if (message := update.effective_message) is None:
        return
    question = command_argument(message)
    if not question.strip():
        await message.reply_text(messages.ASK_HINT)
        return
    await _reply_answer(message, context, question)


async def private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any text in a private chat is a question."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    await _reply_answer(message, context, message.text)


async def group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In groups: answer a mention of the bot or a reply to one of its messages; else stay silent."""
    if (message := update.effective_message) is None:
        return
    question = addressed_question(message, context.bot.id, context.bot.username)
    if question is None:
        return
    if not question.strip():
        await message.reply_text(messages.ASK_HINT, do_quote=True)
        return
    await _reply_answer(message, context, question)


def command_argument(message: Message) -> str:
    """The text after the leading /command (and @BotName), without separating punctuation."""
    text = message.text or ""
    for entity in message.entities:
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            text = text[len(message.parse_entity(entity)):]  # offset 0: the command is a prefix
            break
    return text.lstrip(" \t\n:：,，、.。").strip()


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A /command the bot does not have, in a private chat: say what it does have."""
    if (message := update.effective_message) is None:
        return
    await message.reply_text(messages.UNKNOWN_COMMAND)


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
    if (message := update.effective_message) is None:
        return
    await message.reply_text(messages.NON_TEXT_HINT)


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if (query := update.callback_query) is None:
        return
    service = _service(context)
    cb = messages.decode_callback(query.data)
    message = query.message
    # Not a Message: none (an inline answer's button) or an InaccessibleMessage (too old to reach).
    if (
        cb is None or cb.generation != service.generation or not isinstance(message, Message)
        or not _on_message(query.data, message)
    ):
        await query.answer(messages.STALE)
        return
    if cb.kind == "remove":
        await _remove_pressed(update, context, cb, message)
    elif cb.kind == "vote":
        store = _store(context)
        vote = 1 if cb.offset == messages.VOTE_UP else -1
        user_id = query.from_user.id if query.from_user else None
        if store is None or not await store.run(store.record_feedback, int(cb.ref, 36), user_id, vote):
            await query.answer(messages.STALE)
            return
        await query.answer(messages.THANKS_UP if vote > 0 else messages.THANKS_DOWN)
    elif cb.kind == "para":
        passage = service.passage_at(int(cb.ref)) if cb.ref.isdigit() else None
        if passage is None:
            await query.answer(messages.STALE)
            return
        await query.answer()
        await message.reply_text(messages.paragraph_html(passage), parse_mode=ParseMode.HTML, do_quote=True)
    elif cb.kind == "more":
        store = _store(context)
        question = await store.run(store.recall, int(cb.ref, 36)) if store is not None else None
        if question is None:
            await query.answer(messages.STALE)
            return
        ans = service.ask(question, offset=cb.offset)  # a further page of an answer already logged
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
        # One message: the answer, headed by the question (the button's press shows no text of its own).
        await _reply_answer(message, context, examples[i], query.from_user.id, heading=True)


def _on_message(data: str | None, message: Message) -> bool:
    """Was the pressed data really on that message? (Only a forged client sends other data.)"""
    markup = message.reply_markup
    if markup is None:
        return False
    return any(b.callback_data == data for row in markup.inline_keyboard for b in row)


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if (query := update.inline_query) is None:
        return
    offset = int(query.offset) if query.offset.isascii() and query.offset.isdigit() else 0
    ans = None
    if query.query.strip() and offset < MAX_RESULTS:
        # One search serves every page; only the first page is logged (the rest is scrolling).
        ans, _ = await _ask_and_log(
            context, "inline", query.from_user.id, query.query, k=MAX_RESULTS, log=offset == 0
        )
    results, next_offset = messages.inline_results(
        _service(context), query.query, ans, offset, context.bot.username
    )
    await query.answer(results, next_offset=next_offset, cache_time=60, is_personal=False)


# --------------------------------------------------------------------------- admin commands


def _is_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    user = update.effective_user
    return user is not None and user.id in context.bot_data.get("admins", frozenset())


async def _refuse(message: Message) -> None:
    await message.reply_text(messages.NOT_ADMIN)


def _number_arg(context: ContextTypes.DEFAULT_TYPE, default: int, lo: int, hi: int) -> int:
    args = context.args or []
    if args and args[0].isascii() and args[0].isdigit():
        return max(lo, min(hi, int(args[0])))
    return default


async def _admin_store(message: Message, update: Update, context: ContextTypes.DEFAULT_TYPE) -> Store | None:
    """The question log for an admin; anyone else gets a polite refusal (and None)."""
    if not _is_admin(update, context):
        await _refuse(message)
        return None
    store = _store(context)
    if store is None:
        await message.reply_text("问题日志未启用。")
    return store


async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats [days] — in a private chat, the bot's admins see every chat; in a group, the bot's
    admins and the group's own see that group only."""
    if (message := update.effective_message) is None:
        return
    group = message.chat.type != ChatType.PRIVATE
    if group and not _is_admin(update, context) and not await _is_group_admin(update, context):
        await _refuse(message)
        return
    store = _store(context) if group else await _admin_store(message, update, context)
    if store is None:
        if group:
            await message.reply_text("问题日志未启用。")
        return
    days = _number_arg(context, 7, 1, 3650)
    report = await store.run(
        store.report, days=days, zone=context.bot_data.get("zone"), chat_id=message.chat.id if group else None
    )
    await message.reply_text(reports.report_html(report), parse_mode=ParseMode.HTML)
    png = await asyncio.to_thread(reports.chart_png, report)  # matplotlib: 0.1 s a chart, 2 s the first
    if png is not None:
        await message.reply_photo(png, caption=reports.chart_labels(report)[0])


async def _is_group_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Is the sender an administrator (or the owner) of the group they write in?"""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return False
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError as exc:
        log.info("could not check %s's role in the group (%s): /stats refused", user.id, exc.message)
        return False
    return member.status in ("creator", "administrator")


async def unanswered_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/unanswered [n] — admins only."""
    if (message := update.effective_message) is None:
        return
    if (store := await _admin_store(message, update, context)) is None:
        return
    n = _number_arg(context, 10, 1, 50)
    declined = await store.run(store.recent_declined, n)
    disliked = await store.run(store.thumbs_down, n)
    text = reports.unanswered_html(declined, disliked, answering.MAX_MESSAGE_CHARS, context.bot_data.get("zone"))
    await message.reply_text(text, parse_mode=ParseMode.HTML)


async def reload_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reload — admins only: rebuild the index in the background, then swap it in."""
    if (message := update.effective_message) is None:
        return
    if not _is_admin(update, context):
        await _refuse(message)
        return
    if not await _corpus_here(message, context):
        return
    old = _service(context)
    await message.reply_text(messages.RELOAD_STARTED)
    try:
        new = await asyncio.to_thread(old.reloaded, context.bot_data.get("data_dir"))
    except CorpusError as exc:
        await message.reply_text(f"资料有误，继续使用旧索引：{html.escape(str(exc), quote=False)}")
        return
    context.bot_data["service"] = new  # one assignment: every later update sees the new index
    await message.reply_text(f"已重新加载：{len(new.documents())} 篇文档，{len(new.index)} 个段落。")


async def _corpus_here(message: Message, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """The bot reads its documents itself (else they are on a search engine, built apart: say so)."""
    if _service(context).corpus_path is None:
        await message.reply_text(messages.NO_CORPUS_HERE)
        return False
    return True


def _library(context: ContextTypes.DEFAULT_TYPE) -> Library:
    """The corpus directory as admins change it (made on first use, kept in bot_data)."""
    library = context.bot_data.get("library")
    if library is None:
        library = Library(_service(context).corpus_path, context.bot_data.get("data_dir"))
        context.bot_data["library"] = library
    return library


def _swapper(context: ContextTypes.DEFAULT_TYPE) -> tuple[Callable[[], Service], Callable[[Service], None]]:
    """How the library reads the service now serving and swaps in a new one (one assignment)."""
    def swap(new: Service) -> None:
        context.bot_data["service"] = new

    return (lambda: _service(context)), swap


async def document_upload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A file sent in a private chat: an admin's is checked and added to the corpus; anyone
    else's gets one polite line (nothing is downloaded or stored)."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    if not _is_admin(update, context):
        await message.reply_text(messages.UPLOAD_NOT_ADMIN)
        return
    if not await _corpus_here(message, context):
        return
    document = message.document
    library = _library(context)
    try:
        library.check_upload(document.file_name, document.file_size)  # before downloading anything
    except DocumentError as exc:
        await message.reply_text(messages.upload_refused(str(exc)))
        return
    await message.reply_chat_action(ChatAction.TYPING)  # reading and rebuilding take a few seconds
    try:
        file = await document.get_file()
        data = bytes(await file.download_as_bytearray())
    except TelegramError as exc:
        await message.reply_text(messages.upload_refused(f"从 Telegram 下载失败（{exc.message}）。"))
        return
    current, swap = _swapper(context)
    try:
        added = await asyncio.to_thread(library.add, data, document.file_name, current, swap)
    except DocumentError as exc:
        await message.reply_text(messages.upload_refused(str(exc)))
        return
    await message.reply_text(messages.added_html(added, _service(context)), parse_mode=ParseMode.HTML)


async def docs_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/docs — admins only: the documents, numbered, with their passage counts."""
    if (message := update.effective_message) is None:
        return
    if not _is_admin(update, context):
        await _refuse(message)
        return
    if not await _corpus_here(message, context):
        return
    listing = _library(context).listing(_service(context))
    await message.reply_text(messages.docs_html(listing), parse_mode=ParseMode.HTML)


async def remove_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/remove <n> — admins only: asks to confirm removing document n of /docs."""
    if (message := update.effective_message) is None:
        return
    if not _is_admin(update, context):
        await _refuse(message)
        return
    if not await _corpus_here(message, context):
        return
    args = context.args or []
    if len(args) != 1 or not (args[0].isascii() and args[0].isdigit()):
        await message.reply_text(messages.REMOVE_HINT)
        return
    service = _service(context)
    listing = _library(context).listing(service)
    number = int(args[0])
    if not 1 <= number <= len(listing):
        await message.reply_text(f"没有第 {number} 篇：资料库共有 {len(listing)} 篇文档，编号见 /docs。")
        return
    text, keyboard = messages.remove_confirm(listing[number - 1], service.generation)
    await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=keyboard)


async def _remove_pressed(
    update: Update, context: ContextTypes.DEFAULT_TYPE, cb: messages.Callback, message: Message
) -> None:
    query = update.callback_query
    if query is None:
        return
    if not _is_admin(update, context):
        await query.answer(messages.NOT_ADMIN)
        return
    await query.answer()
    await message.edit_reply_markup(None)  # one press only
    if cb.offset != messages.REMOVE_CONFIRM:
        await message.reply_text(messages.REMOVE_CANCELLED)
        return
    current, swap = _swapper(context)
    try:
        doc, new = await asyncio.to_thread(_library(context).remove, int(cb.ref), current, swap, cb.generation)
    except DocumentError as exc:
        await message.reply_text(f"没有删除：{html.escape(str(exc), quote=False)}")
        return
    await message.reply_text(messages.removed_html(doc, new), parse_mode=ParseMode.HTML)


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
