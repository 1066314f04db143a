"""Recorded calls (waiting for them, what was sent) and fault injection (fail_next, drop_next, delay_next,
hang_next)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from .common import ApiError, Call, _public

if TYPE_CHECKING:
    from .server import FakeBotAPI


class _Fault:
    def __init__(self, kind: str, times: int, after: int = 0, **kw: Any):
        self.kind = kind
        self.times = times
        self.after = after  # calls to let through before this fault starts
        self.kw = kw


class CallLog:
    """FakeBotAPI's call log and fault queue (mixin: the state lives in ``FakeBotAPI.__init__``)."""

    # ---------------------------------------------------------------- recording helpers
    def _canon(self, method: str) -> str:
        return self.spec.canonical_method(method) or method

    def calls_to(self, method: str) -> list[Call]:
        name = self._canon(method)
        with self._lock:
            return [c for c in self.calls if c.method == name]

    def _matching(self, method: str, where: Callable[[Call], bool] | None) -> list[Call]:
        name = self._canon(method)
        return [c for c in self.calls if c.method == name and (where is None or where(c))]

    def _timeout_message(self, method: str, count: int, got: int, timeout: float) -> str:
        with self._lock:
            summary = [f"{c.method}:{c.status}{' ' + c.error if c.error else ''}" for c in self.calls[-15:]]
        return f"timed out after {timeout}s waiting for {count} {method} call(s), got {got}; last calls: {summary}"

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0,
                 where: Callable[[Call], bool] | None = None) -> list[Call]:
        """Block until ``count`` calls of ``method`` (optionally filtered by ``where``) were made.

        Returns all matching calls so far.  Do NOT call this from the event loop the bot runs in
        (it would block the bot); use ``await api.await_calls(...)`` there.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError("wait_for() blocks; inside an event loop use `await api.await_calls(...)`")
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = self._matching(method, where)
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(self._timeout_message(method, count, len(found), timeout))
                self._cond.wait(remaining)

    async def await_calls(self, method: str, count: int = 1, timeout: float = 5.0,
                          where: Callable[[Call], bool] | None = None) -> list[Call]:
        """Async ``wait_for``: polls without blocking the event loop."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                found = self._matching(method, where)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise AssertionError(self._timeout_message(method, count, len(found), timeout))
            await asyncio.sleep(0.01)

    def sent_texts(self, chat_id: int | None = None, *, plain: bool = False) -> list[str]:
        """``text`` of every successful sendMessage (as sent; ``plain=True``: after entity parsing)."""
        out = []
        with self._lock:
            for c in self.calls:
                if c.method != "sendMessage" or not c.ok:
                    continue
                if chat_id is not None and c.result["chat"]["id"] != chat_id:
                    continue
                out.append(c.result["text"] if plain else c.params["text"])
        return out

    def sent_messages(self, chat_id: int | None = None) -> list[dict]:
        """Current state of every message the bot sent (edits applied), oldest first."""
        with self._lock:
            return [
                _public(m)
                for (cid, _), m in sorted(self.messages.items(), key=lambda kv: kv[1]["_seq"])
                if m.get("from", {}).get("id") == self.bot_id and (chat_id is None or cid == chat_id)
            ]

    def reset_calls(self) -> None:
        with self._lock:
            self.calls.clear()
            self.errors.clear()

    def on(self, method: str, handler: Callable[[dict, FakeBotAPI], Any]) -> None:
        """Answer ``method`` (after validation) with ``handler(params, api)``; it may raise ApiError."""
        name = self.spec.canonical_method(method)
        if name is None:
            raise ValueError(f"unknown Bot API method {method!r}")
        self._handlers[name] = handler

    # ---------------------------------------------------------------- fault injection
    def _add_fault(self, method: str, fault: _Fault) -> None:
        name = "*" if method == "*" else self.spec.canonical_method(method)
        if name is None:
            raise ValueError(f"unknown Bot API method {method!r}")
        with self._lock:
            self._faults.setdefault(name, []).append(fault)

    def fail_next(self, method: str, status: int = 429, *, retry_after: int | None = None,
                  description: str | None = None, times: int = 1, after: int = 0, html: bool | None = None) -> None:
        """Answer the next ``times`` calls of ``method`` ("*" = any) with an error, before validation
        (after letting ``after`` calls through).

        429 -> "Too Many Requests: retry after N" with parameters.retry_after (default N=1);
        403 -> "Forbidden: bot was blocked by the user"; 500 -> "Internal Server Error";
        401 -> "Unauthorized"; 404 -> "Not Found"; other statuses need a description.
        ``html``: answer with an nginx-style HTML page instead of the Bot API's JSON (default: for
        502 only, like Telegram's front end; any status with ``html=True``, like a proxy or a web
        server that is not a Bot API).
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        self._add_fault(method, _Fault("fail", times, after, status=status, retry_after=retry_after,
                                       description=description, html=status == 502 if html is None else html))

    def drop_next(self, method: str, times: int = 1, after: int = 0) -> None:
        """Close the connection without any response for the next call(s)."""
        self._add_fault(method, _Fault("drop", times, after))

    def delay_next(self, method: str, seconds: float, times: int = 1, after: int = 0) -> None:
        """Delay the next call(s) by ``seconds`` before processing them normally."""
        self._add_fault(method, _Fault("delay", times, after, seconds=seconds))

    def hang_next(self, method: str, times: int = 1, after: int = 0) -> None:
        """Hold the next call(s) unanswered until the client goes away (or the server stops), then
        drop them without carrying them out: a request that never reached Telegram (the call is
        recorded with status None when it is dropped)."""
        self._add_fault(method, _Fault("hang", times, after))

    def held_calls(self, method: str) -> int:
        """How many calls of ``method`` ``hang_next`` is holding right now."""
        with self._lock:
            return self._held.get(self._canon(method), 0)

    def _take_faults(self, method: str) -> list[_Fault]:
        taken = []
        with self._lock:
            for key in (method, "*"):
                queue = self._faults.get(key)
                if not queue:
                    continue
                kinds = {f.kind for f in taken}
                for f in list(queue):
                    if f.kind in kinds:
                        continue
                    if f.after > 0:
                        f.after -= 1
                        continue
                    taken.append(f)
                    kinds.add(f.kind)
                    f.times -= 1
                    if f.times <= 0:
                        queue.remove(f)
        return taken

    def _injected_error(self, status: int, retry_after: int | None, description: str | None,
                        html: bool = False) -> ApiError:
        if html:
            try:
                title = f"{status} {HTTPStatus(status).phrase}"
            except ValueError:
                title = str(status)
            return ApiError(status, f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
                                    f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
                                    "</body>\r\n</html>\r\n")
        default = {
            429: f"Too Many Requests: retry after {retry_after}",
            403: "Forbidden: bot was blocked by the user",
            500: "Internal Server Error",
            409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
            401: "Unauthorized",
            404: "Not Found",
        }
        desc = description or default.get(status)
        if desc is None:
            raise ValueError(f"fail_next({status}) needs a description")
        params = {"retry_after": retry_after} if status == 429 and retry_after else None
        return ApiError(status, desc, params)

    def _record(self, call: Call) -> None:
        call.finished_at = time.monotonic()
        with self._cond:
            self.calls.append(call)
            if call.error is not None and not call.injected and not call.abandoned:
                self.errors.append(call)
            self._cond.notify_all()
