"""The composition root: build the Application, wire the handlers; ``bot/telegram/serving.py`` runs it."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3

from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.answering.service import Service
from bot.config import ConfigError, Settings
from bot.ops.store import Store
from bot.search.backend import load_index
from bot.telegram import handlers, serving
from bot.telegram.journal import JournaledQueue
from bot.telegram.resilience import ChatOrderedUpdateProcessor, ResilientRequest

log = logging.getLogger(__name__)
RETENTION_EVERY = dt.timedelta(days=1)  # how often the question log's retention is applied


def build_application(settings: Settings, service: Service, store: Store | None = None) -> Application:
    """An Application ready to go online (``serving.online``); the index is already built, so no
    update waits for it. With a store, every update is journaled (``bot/telegram/journal.py``)."""
    if settings.bot_token is None:
        raise ConfigError("BOT_TOKEN is not set: the Telegram bot needs one (from @BotFather)")

    builder = (
        ApplicationBuilder()
        .token(settings.bot_token)
        .base_url(settings.api_base_url)
        .base_file_url(_file_url(settings.api_base_url))
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .rate_limiter(AIORateLimiter(max_retries=3))
        .request(ResilientRequest(connection_pool_size=256))
        .get_updates_request(ResilientRequest(connection_pool_size=1))
    )
    journal = None
    if store is not None:
        journal = JournaledQueue(store, bot_id=int(settings.bot_token.split(":", 1)[0]))
        builder = builder.update_queue(journal)
    processor = ChatOrderedUpdateProcessor(
        max_concurrent_updates=64, on_done=journal.handled if journal is not None else None
    )
    app = builder.concurrent_updates(processor).build()
    app.bot_data["service"] = service
    app.bot_data["admins"] = settings.admin_ids
    app.bot_data["data_dir"] = settings.data_dir
    app.bot_data["zone"] = settings.zone()
    if store is not None:
        app.bot_data["store"] = store
        # Retention is applied at start (Store()) and then daily: a bot that runs for a month
        # keeps no more than its retention. (JobQueue: the python-telegram-bot[job-queue] extra.)
        if app.job_queue is None:
            raise RuntimeError("python-telegram-bot was installed without its job-queue extra")
        app.job_queue.run_repeating(apply_retention, RETENTION_EVERY, first=RETENTION_EVERY, name="retention")
    app.add_error_handler(serving.cut_off_on_rejected_token)  # first: a revoked token is one line
    add_handlers(app)
    return app


def add_handlers(app: Application) -> None:
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    app.add_handler(CommandHandler("start", handlers.start_command))
    app.add_handler(CommandHandler("help", handlers.help_command))
    app.add_handler(CommandHandler("about", handlers.about_command))
    app.add_handler(CommandHandler("ask", handlers.ask_command))
    app.add_handler(CommandHandler("stats", handlers.stats_command))
    app.add_handler(CommandHandler("unanswered", handlers.unanswered_command))
    app.add_handler(CommandHandler("reload", handlers.reload_command))
    app.add_handler(CommandHandler("docs", handlers.docs_command))
    app.add_handler(CommandHandler("remove", handlers.remove_command))
    app.add_handler(MessageHandler(private & filters.Document.ALL, handlers.document_upload))
    app.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, handlers.private_text))
    app.add_handler(MessageHandler(private & filters.COMMAND, handlers.unknown_command))
    app.add_handler(MessageHandler(groups & filters.TEXT & ~filters.COMMAND, handlers.group_text))
    app.add_handler(
        MessageHandler(
            private & (filters.Sticker.ALL | filters.PHOTO | filters.VOICE | filters.LOCATION
                       | filters.AUDIO | filters.VIDEO | filters.Document.ALL | filters.VIDEO_NOTE),
            handlers.non_text,
        )
    )
    app.add_handler(CallbackQueryHandler(handlers.button))
    app.add_handler(InlineQueryHandler(handlers.inline_query))
    app.add_error_handler(handlers.error_handler)


async def apply_retention(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The daily job: drop what the question log and the buttons' questions keep past their time."""
    store: Store | None = context.bot_data.get("store")
    if store is not None:
        gone = await store.run(store.purge)
        log.info("retention: %d logged questions past LOG_RETENTION_DAYS removed", gone)


def open_store(settings: Settings) -> Store:
    path = settings.data_dir / "questions.sqlite3"
    try:
        return Store(path, settings.log_retention_days)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"DATA_DIR is unusable: cannot open {path} ({exc})") from None


def _file_url(base_url: str) -> str:
    """PTB's file URL beside its API URL (…/bot -> …/file/bot)."""
    return base_url[: -len("/bot")] + "/file/bot" if base_url.endswith("/bot") else base_url


def open_service(settings: Settings) -> Service:
    """The answering service on the index the settings name. On a search engine the corpus is the
    engine's (built by ``index --backend sphinxql``): no corpus path, so /reload has none to re-read."""
    if settings.search_backend == "sphinxql":
        return Service(load_index(settings), None, settings.top_k)
    return Service.from_corpus(settings.corpus_path, settings.top_k, settings.data_dir)


def run_telegram(settings: Settings) -> int:
    """Serve Telegram until stopped: exit 0 on SIGTERM / Ctrl-C, 5 when Telegram cuts the bot off.

    Raises ConfigError (exit 2) or ``serving.StartRefused`` (exit 3, 4) for what will not fix itself.
    """
    store = open_store(settings)  # an unusable DATA_DIR stops the start before the index is built
    try:
        service = open_service(settings)
        log.info("index built: %d passages", len(service.index))
        return serving.run(build_application(settings, service, store), settings)
    finally:
        store.close()
