"""The composition root: build the Application, wire the handlers, run polling or a webhook."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sqlite3
from urllib.parse import urlparse

from telegram import Bot, BotCommandScopeChat, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.answering.service import Service
from bot.config import ConfigError, Settings
from bot.ops.store import Store
from bot.telegram import handlers, messages
from bot.telegram.resilience import ChatOrderedUpdateProcessor, ResilientRequest

log = logging.getLogger(__name__)


def build_application(settings: Settings, service: Service, store: Store | None = None) -> Application:
    """An Application ready to start; the index is already built, so no update waits for it."""
    if settings.bot_token is None:
        raise ConfigError("BOT_TOKEN is not set: the Telegram bot needs one (from @BotFather)")

    async def post_init(app: Application) -> None:
        app.bot_data["service"] = service
        await app.bot.set_my_commands(messages.COMMANDS)
        await _show_admin_commands(app.bot, settings.admin_ids)
        log.info("serving @%s with %d passages", app.bot.username, len(service.index))

    app = (
        ApplicationBuilder()
        .token(settings.bot_token)
        .base_url(settings.api_base_url)
        .base_file_url(_file_url(settings.api_base_url))
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .rate_limiter(AIORateLimiter(max_retries=3))
        .request(ResilientRequest(connection_pool_size=256))
        .get_updates_request(ResilientRequest(connection_pool_size=1))
        .concurrent_updates(ChatOrderedUpdateProcessor(max_concurrent_updates=64))
        .post_init(post_init)
        .build()
    )
    app.bot_data["service"] = service
    app.bot_data["admins"] = settings.admin_ids
    app.bot_data["data_dir"] = settings.data_dir
    if store is not None:
        app.bot_data["store"] = store
    add_handlers(app)
    return app


async def _show_admin_commands(bot: Bot, admin_ids: frozenset[int]) -> None:
    """Each admin's command menu (in their private chat with the bot) also lists the admin commands."""
    for admin in sorted(admin_ids):
        try:
            await bot.set_my_commands(
                messages.COMMANDS + messages.ADMIN_COMMANDS, scope=BotCommandScopeChat(admin)
            )
        except TelegramError as exc:  # e.g. "chat not found": the admin never opened the bot
            log.warning("admin %s: could not list the admin commands in their chat (%s); "
                        "they still work when typed", admin, exc)


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


def open_store(settings: Settings) -> Store:
    path = settings.data_dir / "questions.sqlite3"
    try:
        return Store(path, settings.log_retention_days)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"DATA_DIR is unusable: cannot open {path} ({exc})") from None


def _file_url(base_url: str) -> str:
    """PTB's file URL beside its API URL (…/bot -> …/file/bot)."""
    return base_url[: -len("/bot")] + "/file/bot" if base_url.endswith("/bot") else base_url


def webhook_secret(token: str) -> str:
    """A secret Telegram echoes in a header, so the webhook ignores anyone else's POSTs."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def run_telegram(settings: Settings) -> int:
    store = open_store(settings)  # an unusable DATA_DIR stops the start before the index is built
    service = Service.from_corpus(settings.corpus_path, settings.top_k, settings.data_dir)
    log.info("index built: %d passages", len(service.index))
    asyncio.run(_check_token(settings))
    app = build_application(settings, service, store)
    try:
        _serve(app, settings)
    except InvalidToken:
        raise ConfigError("BOT_TOKEN was rejected by the Bot API: check it with @BotFather") from None
    return 0


async def _check_token(settings: Settings) -> None:
    """One getMe before serving: a revoked token is one clear line, not PTB's retry traceback."""
    try:
        async with Bot(settings.bot_token or "", base_url=settings.api_base_url, request=ResilientRequest()):
            pass
    except InvalidToken:
        raise ConfigError("BOT_TOKEN was rejected by the Bot API: check it with @BotFather") from None
    except NetworkError as exc:  # Telegram unreachable for now: polling will keep retrying
        log.warning("could not reach the Bot API yet: %s", exc)


def _serve(app: Application, settings: Settings) -> None:
    if settings.webhook_url:
        path = urlparse(settings.webhook_url).path.lstrip("/")
        app.run_webhook(
            listen="0.0.0.0",
            port=settings.webhook_port,
            url_path=path,
            webhook_url=settings.webhook_url,
            secret_token=webhook_secret(settings.bot_token or ""),
            allowed_updates=Update.ALL_TYPES,
            bootstrap_retries=-1,
        )
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES, bootstrap_retries=-1)
