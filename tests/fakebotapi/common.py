"""Shared by the fake Bot API: default ids/names, Telegram's limits, ApiError, UploadedFile, Call, dict helpers."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TOKEN = "123456789:AAHfAkE0fFl1nE7e5tT0kEn-Laoshan_QAbot"
DEFAULT_USER_ID = 10001
DEFAULT_FIRST_NAME = "小明"
DEFAULT_GROUP_ID = -1001234567890
DEFAULT_GROUP_TITLE = "崂山问答测试群"

# Limits (tests/botapi/LIMITS.md)
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_ANSWER_TEXT = 200
MAX_INLINE_RESULTS = 50
MAX_INLINE_ID_BYTES = 64
MAX_NEXT_OFFSET_BYTES = 64
MAX_CALLBACK_DATA_BYTES = 64
MAX_COMMANDS = 100
MAX_INLINE_QUERY_LEN = 256
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # getFile: bots download files up to 20 MB


def utf16_len(s: str) -> int:
    """Length in UTF-16 code units (what Telegram's entity offsets/lengths count)."""
    return len(s) + sum(1 for ch in s if ord(ch) > 0xFFFF)


def _norm(obj: Any) -> Any:
    """Canonical form for comparisons: drop None values, recursively."""
    if isinstance(obj, dict):
        return {k: _norm(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_norm(v) for v in obj]
    return obj


class ApiError(Exception):
    """A Bot API error response.  Raise from custom handlers registered with ``FakeBotAPI.on``."""

    def __init__(self, code: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict:
        out: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            out["parameters"] = self.parameters
        return out


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


@dataclass
class UploadedFile:
    """One multipart file part."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes

    def __repr__(self) -> str:  # keep reprs of calls short
        return f"UploadedFile({self.name!r}, filename={self.filename!r}, {len(self.data)} bytes)"


@dataclass
class Call:
    """One HTTP call to the fake server (valid or not).

    ``method`` is the canonical spec name (``sendMessage`` even if sent as ``SENDMESSAGE``), or
    the name as sent when it is unknown.  ``params`` holds the decoded parameter values (ints,
    bools, dicts, ``UploadedFile``) -- for rejected calls whatever could be decoded, the rest as raw
    strings.  ``at`` is ``time.monotonic()`` when the request arrived.
    """

    method: str
    params: dict
    at: float
    status: int | None = None  # HTTP status sent; None if the connection was dropped
    result: Any = None  # the "result" of a successful call
    error: str | None = None  # "description" of an error response
    injected: bool = False  # answered by fail_next / drop_next
    abandoned: bool = False  # the client had gone before the answer (e.g. cancelled long poll)
    raw: dict = field(default_factory=dict, repr=False)  # parameters as received (strings / files)
    files: dict = field(default_factory=dict, repr=False)  # multipart file parts by part name
    http_method: str = field(default="POST", repr=False)
    content_type: str = field(default="", repr=False)
    finished_at: float | None = field(default=None, repr=False)
    ignored_params: list = field(default_factory=list, repr=False)  # tolerated PTB Defaults leftovers

    @property
    def ok(self) -> bool:
        return self.status == 200


def _public(msg: dict | None, strip_reply: bool = False) -> dict:
    """A deep copy without the fake's private keys (and without a nested reply, if asked)."""
    out = copy.deepcopy({k: v for k, v in (msg or {}).items() if not k.startswith("_")})
    if strip_reply:
        out.pop("reply_to_message", None)
    if isinstance(out.get("reply_to_message"), dict):
        out["reply_to_message"] = {k: v for k, v in out["reply_to_message"].items() if not k.startswith("_")}
    return out


def _set_or_pop(d: dict, key: str, value: Any) -> None:
    if value is None:
        d.pop(key, None)
    else:
        d[key] = value
