"""Staying up when Telegram or the network misbehaves, and answering in order under load.

Two pieces, both plugged into the ``ApplicationBuilder`` chain in ``bot/telegram/app.py``:

``ResilientRequest``
    python-telegram-bot's ``HTTPXRequest`` with a short, bounded retry. PTB waits out a 429 (via
    ``AIORateLimiter``) but gives up at once on a 5xx answer or a dropped connection; a Bot API
    front end answers 502/504 now and then, and an answer is worth one more try. Retried: HTTP
    500, 502, 503, 504 and connections that broke (refused, reset, closed without an answer) —
    at most ``max_attempts`` tries in all, with a short jittered backoff. (A connection that broke
    after Telegram had acted on a send can so deliver it twice: rare, and better than never.)
    Never retried: timeouts
    (a long-polling ``getUpdates`` times out by design, and a send that timed out may have been
    delivered), 4xx answers (403 "bot was blocked", 400 "message is not modified", 429 — the
    rate limiter's job) and anything else PTB raises. A 5xx that outlasts the tries and came as a
    proxy's HTML page is handed on as the Bot API's JSON error, so PTB raises a plain NetworkError
    instead of first logging a traceback about unparsable JSON.

    It also says what kind of "no" an answer is, which PTB does not: a 401 raises ``Unauthorized``
    and a 404 ``NotFound`` (PTB raises ``InvalidToken`` for both; these are its subclasses), and
    any other answer that is not the Bot API's JSON (an HTML page, another server's JSON) raises
    ``NotBotApi`` — a ``NetworkError`` while serving, a wrong ``BOT_API_BASE_URL`` at start.

``ChatOrderedUpdateProcessor``
    An update processor for ``ApplicationBuilder.concurrent_updates(...)``: updates of different
    chats run concurrently (at most ``max_concurrent_updates`` handlers at a time), updates of
    one chat run one at a time in the order they arrived — so a chat's answers never overtake
    each other, and a chat that floods the bot cannot hold every slot while it waits its turn.
    ``on_done`` is awaited after each update, in its chat's turn (the journal marks it handled).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import random
from collections.abc import Awaitable, Callable, Hashable
from http import HTTPStatus
from typing import Any

import httpx
from telegram import Update
from telegram.error import InvalidToken, NetworkError, TimedOut
from telegram.ext import BaseUpdateProcessor
from telegram.request import BaseRequest, HTTPXRequest, RequestData

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({500, 502, 503, 504})
# httpx errors after which a request can be sent again: the connection failed or broke before an
# answer came. Timeouts are deliberately absent (see the module docstring).
RETRY_ERRORS: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
)


class Unauthorized(InvalidToken):
    """HTTP 401: the Bot API does not accept the token (wrong, or revoked with @BotFather)."""


class NotFound(InvalidToken):
    """HTTP 404 with the Bot API's JSON: no such method here (not a Bot API, or the bot was deleted)."""


class NotBotApi(NetworkError):
    """An answer that is not the Bot API's JSON: an HTML page, another web server's error."""


class ResilientRequest(HTTPXRequest):
    """``HTTPXRequest`` that retries 5xx answers and broken connections a bounded number of times."""

    def __init__(
        self,
        *args: Any,
        max_attempts: int = 3,
        backoff: float = 0.25,
        max_backoff: float = 2.0,
        **kwargs: Any,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        super().__init__(*args, **kwargs)
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.retries = 0  # how many times a request was sent again (for tests and logs)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed try ``attempt`` (1-based): doubling, jittered, capped."""
        return min(self.max_backoff, self.backoff * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        attempt = 1
        while True:
            try:
                status, body = await super().do_request(
                    url, method, request_data,
                    read_timeout=read_timeout, write_timeout=write_timeout,
                    connect_timeout=connect_timeout, pool_timeout=pool_timeout,
                )
            except NetworkError as exc:
                if (isinstance(exc, TimedOut) or not isinstance(exc.__cause__, RETRY_ERRORS)
                        or attempt >= self.max_attempts):
                    raise
                reason = type(exc.__cause__).__name__
            else:
                if status not in RETRY_STATUSES or attempt >= self.max_attempts:
                    return status, _checked(url, method, status, body)
                reason = f"HTTP {status}"
            wait = self.delay(attempt)
            # The URL holds the bot token: log the method name only.
            log.warning("Telegram %s failed (%s), try %d of %d in %.2f s",
                        _method_name(url), reason, attempt + 1, self.max_attempts, wait)
            self.retries += 1
            await asyncio.sleep(wait)
            attempt += 1


def _checked(url: str, method: str, status: int, body: bytes) -> bytes:
    """The body, if it is a Bot API answer; else the exception that says what it is."""
    if status >= 500:
        return _json_error(status, body)
    if method != "POST":  # a file download (GET): its bytes are the file, not JSON
        return body
    if 200 <= status < 300:
        # PTB parses it next; only a body that cannot be JSON (an HTML page) is stopped here.
        if body.lstrip()[:1] not in (b"{", b"["):
            raise NotBotApi(f"{_method_name(url)}: HTTP {status} with {_kind(body)}, not the Bot API's JSON")
        return body
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or answer.get("ok") is not False:
        raise NotBotApi(f"{_method_name(url)}: HTTP {status} with {_kind(body)}, not the Bot API's JSON")
    description = str(answer.get("description") or f"HTTP {status}")
    if status == 401:
        raise Unauthorized(description)
    if status == 404:
        raise NotFound(description)
    return body


def _kind(body: bytes) -> str:
    head = body.lstrip()[:200].lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<body" in head or b"<head" in head:
        return "an HTML page"
    if not head:
        return "an empty body"
    return "JSON of another kind" if head[:1] in (b"{", b"[") else "a body that is not JSON"


def _json_error(status: int, body: bytes) -> bytes:
    """A 5xx answer with a body that is not JSON (a proxy's HTML error page) as the Bot API's JSON
    error, so PTB raises its NetworkError without logging a parse traceback first."""
    if status < 500:
        return body
    try:
        json.loads(body)
        return body
    except ValueError:
        pass
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Server Error"
    return json.dumps({"ok": False, "error_code": status, "description": phrase}).encode()


def _method_name(url: str) -> str:
    return url.rsplit("/", 1)[-1].split("?", 1)[0]


# --------------------------------------------------------------------------- per-chat order


def order_key(update: object) -> Hashable | None:
    """What must be handled one at a time: the chat, else (inline mode) the user; None: nothing."""
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return ("chat", update.effective_chat.id)
        if update.effective_user is not None:
            return ("user", update.effective_user.id)
    return None


class _Turn:
    """One chat's queue: a FIFO lock and how many updates hold or wait for it."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class ChatOrderedUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across chats, one at a time (in arrival order) within a chat.

    ``max_concurrent_updates`` handlers run at once. PTB's own semaphore (taken before
    ``do_process_update``) bounds the updates admitted — running or waiting for their chat's
    turn — at ``max_waiting_updates``; the running limit is a second semaphore taken only once it
    is the update's turn in its chat, so updates queued behind a slow chat hold no running slot.

    Order: PTB's update fetcher starts one task per update in arrival order, and a task reaches
    its chat's ``asyncio.Lock`` (FIFO) without suspending first, so a chat's updates take the lock
    in the order they came. The lock of a chat with nothing left to do is dropped at once.
    """

    def __init__(
        self,
        max_concurrent_updates: int = 64,
        max_waiting_updates: int = 4096,
        on_done: Callable[[object], Awaitable[None]] | None = None,
    ) -> None:
        if max_concurrent_updates < 1:
            raise ValueError("max_concurrent_updates must be a positive integer")
        if max_waiting_updates < max_concurrent_updates:
            raise ValueError("max_waiting_updates must be at least max_concurrent_updates")
        super().__init__(max_waiting_updates)  # PTB's semaphore: the admission bound
        self._limit = max_concurrent_updates
        self._running = asyncio.Semaphore(max_concurrent_updates)
        self._turns: dict[Hashable, _Turn] = {}
        self._active = 0
        self._on_done = on_done

    @property
    def max_concurrent_updates(self) -> int:
        """How many handlers run at once (the base class reads its own value while it is built)."""
        return getattr(self, "_limit", None) or self._max_concurrent_updates

    @property
    def current_concurrent_updates(self) -> int:
        return self._active

    @property
    def tracked_chats(self) -> int:
        """Chats with an update running or waiting (idle chats are forgotten)."""
        return len(self._turns)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = order_key(update)
        if key is None:
            await self._run(coroutine)
            await self._done(update)
            return
        turn = self._turns.get(key)
        if turn is None:
            turn = self._turns[key] = _Turn()
        turn.users += 1
        try:
            async with turn.lock:
                await self._run(coroutine)
                await self._done(update)  # before the chat's next update starts
        finally:
            turn.users -= 1
            if turn.users == 0 and self._turns.get(key) is turn:
                del self._turns[key]
            if inspect.iscoroutine(coroutine) and inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED:
                coroutine.close()  # cancelled before its turn: no "never awaited" warning

    async def _run(self, coroutine: Awaitable[Any]) -> None:
        async with self._running:
            self._active += 1
            try:
                await coroutine
            finally:
                self._active -= 1

    async def _done(self, update: object) -> None:
        if self._on_done is not None:
            await self._on_done(update)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free: ``Application.stop()`` has already waited for every update."""
        self._turns.clear()
