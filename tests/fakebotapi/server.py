"""FakeBotAPI: start/stop, PTB wiring, and the HTTP entry point that validates, routes and records each call."""

from __future__ import annotations

import itertools
import json
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .common import DEFAULT_TOKEN, ApiError, Call, UploadedFile
from .recording import CallLog, _Fault
from .routes_bot import BotRoutes
from .routes_messages import MessageRoutes
from .scenario import Scenarios
from .spec import FACTS_PATH, BotApiSpec, lenient_decode, validate_params
from .state import ChatState
from .wire import _Handler, _Server, parse_request

DOWNLOAD = "downloadFile"  # how a file download (not a Bot API method) shows in ``calls``


class FakeBotAPI(Scenarios, MessageRoutes, BotRoutes, ChatState, CallLog):
    """A fake Telegram Bot API server for offline end-to-end tests (see the package docstring, fakebotapi/__init__.py).

    The methods come from mixins, one file each: CallLog (recording.py: calls, waiting, faults),
    ChatState (state.py: chats, messages, files, updates), Scenarios (scenario.py: what users do),
    BotRoutes / MessageRoutes (routes_bot.py / routes_messages.py: the ``_m_<method>`` models).
    This class holds all the state, the HTTP entry point, validation and dispatch.
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "LaoshanQABot",
        bot_first_name: str = "崂山问答",
        poll_cap: float = 1.0,
        strict_chats: bool = True,
        privacy_mode: bool = True,
        tolerate_ptb_defaults: bool = True,
        facts_path: Path = FACTS_PATH,
        port: int = 0,
    ):
        """
        Args:
            token: the bot token the server accepts (others get 401 Unauthorized).
            port: the port to listen on (default: a free one).
            poll_cap: longest real time a long-polling getUpdates blocks (its ``timeout`` is capped).
            strict_chats: sending to a chat the server has never seen (no update from it and not
                added with ``add_private_chat``/``add_group``) fails with "chat not found", as on
                Telegram.
            privacy_mode: group privacy mode (getMe ``can_read_all_group_messages`` is its negation):
                ``group_message`` only delivers what such a bot would see (commands, replies to
                the bot, mentions of the bot); other messages are not queued (returns None).
            tolerate_ptb_defaults: ignore (instead of rejecting as unknown) the parameters in
                ``PTB_DEFAULTS_LEAKS`` on methods that do not have them.  PTB 22.8's ``ExtBot`` adds
                ``Defaults(parse_mode=..., disable_notification=..., protect_content=...)`` to
                every call that goes through ``Bot._send_message`` -- e.g. ``parse_mode`` on
                sendLocation/sendSticker/sendPoll/forwardMessage, ``disable_notification`` on
                editMessageText.  Telegram ignores them; the call records them in
                ``Call.ignored_params``.
        """
        self.spec = BotApiSpec.load(facts_path)
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.poll_cap = poll_cap
        self.strict_chats = strict_chats
        self.privacy_mode = privacy_mode
        self.tolerate_ptb_defaults = tolerate_ptb_defaults
        self._port = port

        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._stop_event = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

        # recording
        self.calls: list[Call] = []
        self.errors: list[Call] = []
        self.internal_errors: list[BaseException] = []
        self.undelivered: list[dict] = []  # group messages a privacy-mode bot would not see

        # state
        self._updates: list[dict] = []
        self.pushed_updates: list[dict] = []
        self._next_update_id = 100_000_001
        self._acknowledged_offset = 0
        self._allowed_updates: set[str] | None = None
        self._poll_generation = 0
        self._chats: dict[int, dict] = {}
        self._blocked: set[int] = set()
        self._msg_counters: dict[int, int] = {}
        self.messages: dict[tuple[int, int], dict] = {}
        self._inline_messages: dict[str, dict] = {}
        self._callback_queries: dict[str, dict] = {}  # id -> {"update":..., "answered": bool}
        self._inline_queries: dict[str, dict] = {}
        self.callback_answers: dict[str, dict] = {}
        self.inline_answers: dict[str, dict] = {}
        self.commands: dict[tuple[str, str], list[dict]] = {}
        self.webhook: dict | None = None
        self.files: dict[str, dict] = {}  # file_id -> {"data": bytes, "file_path": str, ...}
        self._faults: dict[str, list[_Fault]] = {}
        self._held: dict[str, int] = {}  # method -> calls hang_next holds now
        self._handlers: dict[str, Callable[[dict, FakeBotAPI], Any]] = {}
        self._ids = itertools.count(1)
        self._local = threading.local()  # per-request data for method models (uploaded files)

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> FakeBotAPI:
        if self._server is not None:
            return self
        self._stop_event.clear()
        self._server = _Server(("127.0.0.1", self._port), _Handler)
        self._server.api = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name="FakeBotAPI", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stop_event.set()
        with self._cond:
            self._cond.notify_all()
        self._server.shutdown()
        with self._lock:
            conns = list(self._connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeBotAPI:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            (self._connections.add if add else self._connections.discard)(conn)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeBotAPI is not started")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``Bot(token, base_url=...)`` / ``ApplicationBuilder().base_url(...)``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    # -- PTB helpers: the server is plain HTTP, so skip loading certifi's CA bundle (~100 ms per
    #    HTTPXRequest, i.e. ~200 ms per Bot) by giving httpx a bare SSL context.
    @staticmethod
    def make_request(**kwargs: Any):
        """A PTB ``HTTPXRequest`` that starts fast (kwargs: connection_pool_size, read_timeout, ...)."""
        from telegram.request import HTTPXRequest

        return HTTPXRequest(httpx_kwargs={"verify": _bare_ssl_context()}, **kwargs)

    def bot_kwargs(self) -> dict:
        """``Bot(**api.bot_kwargs())`` / ``ExtBot(**api.bot_kwargs(), defaults=...)``."""
        return {
            "token": self.token,
            "base_url": self.base_url,
            "base_file_url": self.base_file_url,
            "request": self.make_request(connection_pool_size=8),
            "get_updates_request": self.make_request(),
        }

    def application_builder(self):
        """An ``ApplicationBuilder`` pointed at this server (token, URLs, fast requests); chain
        ``.defaults(...)`` etc. and ``.build()``.  Connection settings must go through
        ``api.make_request(...)``, as PTB forbids them next to ``.request()``."""
        from telegram.ext import ApplicationBuilder

        return (
            ApplicationBuilder()
            .token(self.token)
            .base_url(self.base_url)
            .base_file_url(self.base_file_url)
            .request(self.make_request(connection_pool_size=256))
            .get_updates_request(self.make_request())
        )

    def method_url(self, method: str, token: str | None = None) -> str:
        return f"{self.base_url}{token or self.token}/{method}"

    # ---------------------------------------------------------------- HTTP entry point
    def _handle(self, h: _Handler) -> None:
        try:
            self._handle_request(h)
        except Exception as exc:  # a bug in the fake: make it loud, answer 500
            self.internal_errors.append(exc)
            h.send_bytes(500, json.dumps({"ok": False, "error_code": 500,
                                          "description": f"Internal Server Error: fake_bot_api bug: {exc!r}"}).encode())

    def _handle_request(self, h: _Handler) -> None:
        arrived = time.monotonic()
        try:
            body = h.read_body()
        except (OSError, ValueError):
            h.close_connection = True
            return
        split = urllib.parse.urlsplit(h.path)
        m_file = re.fullmatch(r"/file/bot([^/]*)/(.+)", split.path)
        if m_file:
            self._serve_file(h, urllib.parse.unquote(m_file.group(1)), urllib.parse.unquote(m_file.group(2)))
            return
        m = re.fullmatch(r"/bot([^/]*)/([^/]*)", split.path)
        if not m:
            h.send_bytes(404, json.dumps({"ok": False, "error_code": 404, "description": "Not Found"}).encode())
            return
        token, method_sent = urllib.parse.unquote(m.group(1)), m.group(2)
        method = self.spec.canonical_method(method_sent)
        call = Call(method=method or method_sent, params={}, at=arrived, http_method=h.command,
                    content_type=h.headers.get("Content-Type", ""))
        try:
            raw, files = parse_request(h.headers.get("Content-Type", ""), split.query, body)
            call.raw, call.files = raw, files
            call.params = lenient_decode(self.spec, method, raw)
        except ApiError as exc:
            self._finish(h, call, exc)
            return

        if token != self.token:
            self._finish(h, call, ApiError(401, "Unauthorized"))
            return
        if method is None:
            self._finish(h, call, ApiError(404, "Not Found: method not found"))
            return

        for fault in self._take_faults(method):
            if fault.kind == "delay":
                self._stop_event.wait(fault.kw["seconds"])
            elif fault.kind == "drop":
                call.injected = True
                call.status = None
                call.error = "connection dropped"
                self._record(call)
                h.close_connection = True
                try:
                    h.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            elif fault.kind == "hang":
                self._hold(h, call)
                return
            elif fault.kind == "fail":
                call.injected = True
                self._finish(h, call, self._injected_error(**fault.kw), html=fault.kw["html"])
                return
        try:
            result = self._dispatch(method, raw, files, call, h)
        except ApiError as exc:
            self._finish(h, call, exc)
            return
        except Exception as exc:  # a bug in the fake: make it loud
            self.internal_errors.append(exc)
            self._finish(h, call, ApiError(500, f"Internal Server Error: fake_bot_api bug: {exc!r}"))
            return
        call.status = 200
        call.result = result
        body_out = json.dumps({"ok": True, "result": result}, ensure_ascii=False).encode("utf-8")
        if method == "getUpdates" and h.client_gone():
            call.abandoned = True
        self._record(call)
        h.send_bytes(200, body_out)

    def _hold(self, h: _Handler, call: Call) -> None:
        """hang_next: wait for the client to go away, then drop the call undone."""
        call.injected = True
        with self._lock:
            self._held[call.method] = self._held.get(call.method, 0) + 1
        try:
            while not self._stop_event.is_set() and not h.client_gone():
                self._stop_event.wait(0.02)
        finally:
            with self._lock:
                self._held[call.method] -= 1
        call.status = None
        call.error = "held, then dropped undone (the client went away)"
        self._record(call)
        h.close_connection = True

    def _finish(self, h: _Handler, call: Call, exc: ApiError, html: bool = False) -> None:
        call.status = exc.code
        call.error = exc.description
        if html:
            body, ctype = exc.description.encode(), "text/html"
        else:
            body, ctype = json.dumps(exc.payload(), ensure_ascii=False).encode("utf-8"), "application/json"
        if call.method == "getUpdates" and exc.code == 409:
            # the poll that got terminated is usually one PTB cancelled (e.g. Updater.stop());
            # give its client a moment to close the connection before calling it a real conflict
            deadline = time.monotonic() + 0.2
            call.abandoned = h.client_gone()
            while not call.abandoned and time.monotonic() < deadline:
                time.sleep(0.01)
                call.abandoned = h.client_gone()
        self._record(call)
        h.send_bytes(exc.code, body, ctype)

    def _serve_file(self, h: _Handler, token: str, path: str) -> None:
        """GET /file/bot<token>/<file_path>: the bytes of a file whose path getFile gave out.

        Recorded as a call to ``downloadFile`` (``params``: the file_path) so tests see the whole
        exchange; a wrong token, an unknown path or one getFile never gave out is an error."""
        call = Call(method=DOWNLOAD, params={"file_path": path}, at=time.monotonic(), http_method=h.command)
        if token != self.token:
            self._finish(h, call, ApiError(401, "Unauthorized"))
            return
        if h.command != "GET":
            self._finish(h, call, ApiError(405, "Method Not Allowed"))
            return
        with self._lock:
            info = next((i for i in self.files.values() if i["file_path"] == path), None)
        if info is None or not info.get("downloadable"):
            self._finish(h, call, ApiError(404, "Not Found"))
            return
        call.status, call.result = 200, {"file_size": len(info["data"])}
        self._record(call)
        h.send_bytes(200, info["data"], "application/octet-stream")

    # ---------------------------------------------------------------- validation
    def validate(self, method: str, raw: dict[str, Any], files: dict[str, UploadedFile] | None = None,
                 ignored: list[str] | None = None) -> dict:
        """Validate raw (string / UploadedFile) parameters of ``method``; return decoded params or
        raise ApiError.  Usable without HTTP, e.g. ``api.validate("sendMessage", {...})``.
        Tolerated PTB ``Defaults`` leftovers (see PTB_DEFAULTS_LEAKS) are appended to ``ignored``."""
        return validate_params(self.spec, method, raw, files, ignored,
                               tolerate_ptb_defaults=self.tolerate_ptb_defaults)

    # ---------------------------------------------------------------- dispatch
    def _dispatch(self, method: str, raw: dict, files: dict, call: Call, h: _Handler) -> Any:
        params = self.validate(method, raw, files, call.ignored_params)
        call.params = params
        self._local.files = files
        if method in self._handlers:
            return self._handlers[method](params, self)
        impl = getattr(self, f"_m_{method}", None)
        if impl is not None:
            if method == "getUpdates":
                return impl(params, h)
            return impl(params)
        returns = self.spec.methods[method]["returns"]
        if method.startswith(("send", "copy", "forward")) and returns == ["Message"]:
            return self._send_generic(method, params)
        if returns == ["Boolean"]:
            return True
        return self._minimal(returns[0])


_SSL_CONTEXT = None


def _bare_ssl_context():
    global _SSL_CONTEXT
    if _SSL_CONTEXT is None:
        import ssl

        _SSL_CONTEXT = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return _SSL_CONTEXT
