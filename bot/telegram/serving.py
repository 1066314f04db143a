"""Start, serve and stop: what is worth waiting for, what is not, and when to give up.

``online(app, settings)`` brings the bot online and takes it down again:

1. ``getMe`` until it answers. A 5xx, a timeout or a refused connection is waited out (1 s,
   doubling to 30 s, one WARNING a try). A 401 means the token is wrong (``TokenRejected``,
   exit 3); a 404, an answer that is not the Bot API's JSON (an HTML page) or a user that is not a
   bot means ``BOT_API_BASE_URL`` is not a Bot API (``NotABotApi``, exit 4). Nothing else stops
   the start.
2. The command menus (``setMyCommands``): cosmetic, so a failure is one WARNING and the bot
   serves without them.
3. The updates an earlier run fetched and did not handle (``bot/telegram/journal.py``) are
   queued first.
4. Polling (``deleteWebhook``, then the ``Poller``) or a webhook (``setWebhook``, then PTB's
   webhook server on ``WEBHOOK_LISTEN:WEBHOOK_PORT``); the first call is waited for as in 1.

While the bot serves, a 401 or 404 on ``getUpdates``, or a 401 on any call answering an update,
means Telegram has cut the bot off (token revoked, bot deleted): ``Session.cut_off`` logs one
ERROR line and sets ``Session.lost``; ``run`` then stops and returns ``ExitCode.CUT_OFF`` so a
supervisor sees it.

The poller is ours, not PTB's ``Updater.start_polling``: it confirms a batch only after the
batch is queued (recorded), stops at once, and ends with one line instead of a traceback on a
revoked token.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import signal
import sqlite3
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from enum import IntEnum
from typing import Any, TypeVar
from urllib.parse import urlparse

from telegram import Bot, BotCommandScopeChat, Update
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes

from bot.config import ConfigError, Settings
from bot.telegram import messages
from bot.telegram.journal import JournaledQueue
from bot.telegram.resilience import NotBotApi, Unauthorized

log = logging.getLogger(__name__)
T = TypeVar("T")

FIRST_PAUSE = 1.0  # seconds before the first retry of a start-up call; doubles up to MAX_PAUSE
MAX_PAUSE = 30.0


class ExitCode(IntEnum):
    """What ``python -m bot`` exits with (documented in its --help and the README)."""

    OK = 0              # stopped by SIGTERM / Ctrl-C
    BAD_SETTING = 2     # a missing or malformed setting, an unreadable corpus, an unusable DATA_DIR
    TOKEN_REJECTED = 3  # getMe answered 401: BOT_TOKEN is wrong or revoked
    NOT_A_BOT_API = 4   # BOT_API_BASE_URL answers, but not as a Bot API
    CUT_OFF = 5         # while serving, Telegram stopped accepting the bot (token revoked, bot deleted)


class StartRefused(Exception):
    """The Bot API turned the bot away for good at start; the message is one line."""

    exit_code = ExitCode.NOT_A_BOT_API


class TokenRejected(StartRefused):
    exit_code = ExitCode.TOKEN_REJECTED


class NotABotApi(StartRefused):
    exit_code = ExitCode.NOT_A_BOT_API


class Stopped(Exception):
    """A stop signal came while the bot was still starting."""


class Session:
    """The bot online, as ``online`` yields it (also in ``bot_data["session"]``)."""

    def __init__(self, app: Application) -> None:
        self.app = app
        self.lost = asyncio.Event()  # set when Telegram cut the bot off
        self.poller: Poller | None = None

    def cut_off(self, why: str) -> None:
        """Telegram no longer accepts the bot: say so once, keep what is in hand for the next start."""
        if self.lost.is_set():
            return
        log.error("Telegram no longer accepts the bot (%s): stopping; check BOT_TOKEN with @BotFather", why)
        if isinstance(self.app.update_queue, JournaledQueue):
            self.app.update_queue.keep_pending()
        self.lost.set()

    async def stop_fetching(self) -> None:
        """No more updates come in; those already fetched are still handled (``app.stop``)."""
        if self.poller is not None:
            await self.poller.stop()
        updater = self.app.updater
        if updater is not None and updater.running:
            await updater.stop()


async def cut_off_on_rejected_token(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Error handler, first in line: a 401 while answering means the token was revoked."""
    if isinstance(context.error, Unauthorized):
        session = context.bot_data.get("session")
        if isinstance(session, Session):
            session.cut_off(f"{context.error.message} while answering an update")
        raise ApplicationHandlerStop  # one line, from cut_off, instead of a traceback per update


@contextlib.asynccontextmanager
async def online(
    app: Application, settings: Settings, *, poll_timeout: int = 10, stopping: asyncio.Event | None = None
) -> AsyncIterator[Session]:
    """Bring the bot online (see the module docstring); on exit, stop fetching, answer what was
    fetched and shut down. ``stopping`` (a stop signal) ends a start that is still waiting."""
    session = Session(app)
    app.bot_data["session"] = session
    try:
        await _until_answered("getMe", app.initialize, stopping)
    except InvalidToken as exc:
        # Bot.initialize re-raises our Unauthorized / NotFound as a bare InvalidToken quoting the token.
        cause = exc.__cause__ if isinstance(exc.__cause__, InvalidToken) else exc
        if isinstance(cause, Unauthorized):
            raise TokenRejected(f"BOT_TOKEN was rejected by the Bot API ({cause.message}): "
                                "check it with @BotFather") from None
        raise NotABotApi(f"BOT_API_BASE_URL does not answer as a Bot API: getMe got {cause.message}") from None
    except NotBotApi as exc:
        raise NotABotApi(f"BOT_API_BASE_URL does not answer as a Bot API: {exc.message}") from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:  # PTB could not read the answer
        raise NotABotApi(f"BOT_API_BASE_URL does not answer as a Bot API: getMe answered something "
                         f"that is not a bot user ({type(exc).__name__})") from None
    except TelegramError as exc:  # e.g. 400 or 403 on getMe: no Bot API answers that
        raise NotABotApi(f"BOT_API_BASE_URL does not answer as a Bot API: getMe got {exc.message}") from None
    try:
        me = app.bot.bot
        if not me.is_bot or not me.username:
            raise NotABotApi(f"BOT_API_BASE_URL does not answer as a Bot API: getMe answered user {me.id}, "
                             "which is not a bot")
        await _show_commands(app.bot, settings.admin_ids)
        if isinstance(app.update_queue, JournaledQueue):
            await app.update_queue.replay(app.bot)
        await app.start()
        if settings.webhook_url:
            await _start_webhook(app, settings, stopping)
        else:
            await _start_polling(app, session, poll_timeout, stopping)
        log.info("serving @%s (%s)", me.username, "webhook" if settings.webhook_url else "polling")
        yield session
    finally:
        await session.stop_fetching()
        if app.running:
            await app.stop()  # handles every update already fetched
        await app.shutdown()


def run(app: Application, settings: Settings) -> int:
    """Serve until SIGTERM / SIGINT (exit 0) or until Telegram cuts the bot off (exit 5)."""
    return asyncio.run(_serve(app, settings))


async def _serve(app: Application, settings: Settings) -> int:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    try:
        async with online(app, settings, stopping=stopping) as session:
            await _first_of(stopping, session.lost)
    except Stopped:
        return ExitCode.OK
    return ExitCode.CUT_OFF if session.lost.is_set() else ExitCode.OK


# --------------------------------------------------------------------------- start-up steps


async def _until_answered(what: str, call: Callable[[], Awaitable[T]], stopping: asyncio.Event | None) -> T:
    """``call()`` until it gets an answer: what may pass (5xx after the request's own tries,
    timeouts, refused connections, 429) is waited out with a growing pause; anything else raises."""
    pause = FIRST_PAUSE
    while True:
        try:
            return await call()
        except RetryAfter as exc:
            wait, why = _retry_after(exc), exc.message
        except (BadRequest, NotBotApi):  # PTB's BadRequest is a NetworkError too
            raise
        except NetworkError as exc:  # TimedOut included
            wait, why, pause = pause, exc.message, min(MAX_PAUSE, pause * 2)
        log.warning("%s failed (%s): trying again in %.0f s", what, why, wait)
        if stopping is None:
            await asyncio.sleep(wait)
        elif await _wait(stopping, wait):
            raise Stopped


async def _show_commands(bot: Bot, admin_ids: frozenset[int]) -> None:
    """The command menus: for everyone, and each admin's also lists the admin commands."""
    try:
        await bot.set_my_commands(messages.COMMANDS)
    except TelegramError as exc:
        log.warning("could not set the command menu (%s); the commands still work when typed", exc.message)
        return
    for admin in sorted(admin_ids):
        try:
            await bot.set_my_commands(
                messages.COMMANDS + messages.ADMIN_COMMANDS, scope=BotCommandScopeChat(admin)
            )
        except TelegramError as exc:  # e.g. "chat not found": the admin never opened the bot
            log.warning("admin %s: could not list the admin commands in their chat (%s); "
                        "they still work when typed", admin, exc.message)


async def _start_polling(app: Application, session: Session, timeout: int, stopping: asyncio.Event | None) -> None:
    try:
        await _until_answered("deleteWebhook", app.bot.delete_webhook, stopping)
    except InvalidToken as exc:
        _refused("deleteWebhook", exc)
    session.poller = Poller(app, session, timeout)
    session.poller.start()


def webhook_secret(token: str) -> str:
    """A secret Telegram echoes in a header, so the webhook ignores anyone else's POSTs."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


async def _start_webhook(app: Application, settings: Settings, stopping: asyncio.Event | None) -> None:
    url = settings.webhook_url or ""
    secret = webhook_secret(settings.bot_token or "")

    async def set_webhook() -> bool:
        return await app.bot.set_webhook(url, allowed_updates=Update.ALL_TYPES, secret_token=secret)

    try:
        await _until_answered("setWebhook", set_webhook, stopping)
    except BadRequest as exc:
        raise ConfigError(f"WEBHOOK_URL was refused by the Bot API: {exc.message}") from None
    except InvalidToken as exc:
        _refused("setWebhook", exc)
    assert app.updater is not None  # built with one
    try:
        # PTB sets the webhook once more (the same call, just answered), then listens.
        await app.updater.start_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=urlparse(url).path.lstrip("/"),
            webhook_url=url,
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
            bootstrap_retries=-1,
        )
    except OSError as exc:
        raise ConfigError(f"WEBHOOK_LISTEN / WEBHOOK_PORT: cannot listen on {settings.webhook_listen}:"
                          f"{settings.webhook_port} ({exc.strerror or exc})") from None


def _refused(what: str, exc: InvalidToken) -> None:
    if isinstance(exc, Unauthorized):
        raise TokenRejected(f"BOT_TOKEN was rejected by the Bot API at {what} ({exc.message})") from None
    raise NotABotApi(f"BOT_API_BASE_URL does not answer as a Bot API: {what} got {exc.message}") from None


# --------------------------------------------------------------------------- polling


class Poller:
    """Long polling: fetch, queue (the journal records), and only then confirm by asking for more."""

    def __init__(self, app: Application, session: Session, timeout: int) -> None:
        self.app = app
        self.session = session
        self.timeout = timeout  # seconds a long poll waits for an update (the Bot API takes an integer)
        self.offset = 0  # the next update_id wanted; asking for it confirms every earlier one
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._poll(), name="poller")

    async def stop(self) -> None:
        """Stop now (a long poll in progress is dropped), then confirm what was fetched."""
        if self._task is None:
            return
        self._stopping.set()
        task, self._task = self._task, None
        await task
        if self.offset and not self.session.lost.is_set():
            try:
                await self.app.bot.get_updates(offset=self.offset, timeout=0, allowed_updates=Update.ALL_TYPES)
            except TelegramError as exc:  # the journal drops them if they come again
                log.warning("could not confirm the last updates (%s); they may be fetched again", exc.message)

    async def _poll(self) -> None:
        pause = 0.0
        while True:
            fetch = asyncio.ensure_future(self.app.bot.get_updates(
                offset=self.offset or None, timeout=self.timeout, allowed_updates=Update.ALL_TYPES))
            if not await _unless_stopped(fetch, self._stopping):
                return
            try:
                updates = fetch.result()
            except InvalidToken as exc:  # 401 / 404: the token was revoked or the bot deleted
                self.session.cut_off(f"getUpdates: {exc.message}")
                return
            except TimedOut:  # a long poll that outlived its timeout: poll again
                continue
            except RetryAfter as exc:
                pause = _retry_after(exc)
                log.warning("getUpdates: %s", exc.message)
            except TelegramError as exc:  # 5xx after the request's own tries, 409, no network
                pause = min(MAX_PAUSE, max(FIRST_PAUSE, pause * 2))
                log.warning("getUpdates failed (%s): polling again in %.0f s", exc.message, pause)
            except Exception:  # PTB could not read the batch: a bug worth a traceback
                pause = MAX_PAUSE
                log.exception("getUpdates answered something unreadable: polling again in %.0f s", pause)
            else:
                if not updates or await self._queue(updates):
                    pause = 0.0
                    continue
                pause = MAX_PAUSE
            if await _wait(self._stopping, pause):
                return

    async def _queue(self, updates: tuple[Update, ...]) -> bool:
        """Queue a batch and move the offset past it (so the next poll confirms it); False if it
        could not be recorded: then it is not confirmed, and comes again."""
        queue = self.app.update_queue
        try:
            if isinstance(queue, JournaledQueue):
                await queue.put_batch(updates)
            else:
                for update in updates:
                    await queue.put(update)
        except (OSError, sqlite3.Error):  # the disk is full, DATA_DIR went away, ...
            log.exception("could not record %d updates: fetching them again in %.0f s", len(updates), MAX_PAUSE)
            return False
        self.offset = updates[-1].update_id + 1
        return True


# --------------------------------------------------------------------------- waiting


def _retry_after(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB 22 warns that the number will become a timedelta
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


async def _wait(event: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds`` unless ``event`` is set first; whether it was."""
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return False
    return True


async def _first_of(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


async def _unless_stopped(task: asyncio.Future[Any], stopping: asyncio.Event) -> bool:
    """Wait for ``task``; if ``stopping`` is set first, cancel it and return False."""
    stop = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
    if task.done():
        return True
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, TelegramError):
        await task
    return False
