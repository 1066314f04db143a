"""An offline fake of the Telegram Bot API server (Bot API 10.0, as used by python-telegram-bot 22.8).

It listens on 127.0.0.1 (free port, background thread) and lets the *real* PTB ``Bot`` /
``Application`` talk to it over HTTP.  Every call is validated the way Telegram would (and in a few
places more strictly, to catch bugs early), recorded, and answered with Telegram-shaped JSON.

Quick use::

    with FakeBotAPI() as api:                      # or the ``fake_api`` pytest fixture
        app = (ApplicationBuilder().token(api.token).base_url(api.base_url)
               .base_file_url(api.base_file_url).build())
        ...
        api.private_message("/ask 老山在哪里？")
        [call] = await api.await_calls("sendMessage")
        assert not api.errors

Everything the validator knows comes from ``tests/botapi/api-10.0.facts.json`` (generated from the
telegram-bot-api-spec; see ``tests/botapi/README.md``) and ``tests/botapi/LIMITS.md``.

Wire format (what PTB 22.8 sends, see ``telegram/request/_requestparameter.py``): a POST to
``<base_url><token>/<method>`` with ``application/x-www-form-urlencoded`` data, or
``multipart/form-data`` when files are uploaded.  ``str`` values are sent as they are, every other
value is ``json.dumps``-ed (ints -> ``123``, bools -> ``true``, objects -> JSON).  Telegram itself
treats every top-level parameter as a string and decodes it according to the declared type; this
server does the same (JSON bodies and query strings are flattened to strings first, like the real
server does), so ``chat_id=123`` and ``chat_id="123"`` are the same thing.

Deliberate strictness beyond Telegram (each one catches a real class of bot bugs):

* unknown parameters, and unknown fields inside JSON objects, are rejected (Telegram ignores them);
* inside JSON objects ``String`` fields must be JSON strings (Telegram would accept numbers);
* a ``String``-only parameter whose value is a JSON array or object is rejected: PTB sends
  non-``str`` values JSON-encoded, so ``[]``/``{...}`` there means the bot passed a list/dict -- or
  hit PTB 22.8's ``Defaults`` quirk that turns an empty string argument into ``[]``;
* in HTML, an ``&`` that does not start ``&lt; &gt; &amp; &quot;`` or a numeric reference is an
  error (Telegram would silently keep it);
* an ``InlineKeyboardButton`` must have exactly one action field (Telegram takes the first).

Tolerated although unknown: ``parse_mode`` / ``disable_notification`` / ``protect_content`` on
methods without them -- PTB 22.8's ``ExtBot`` adds them from ``Defaults`` to every method sent via
``Bot._send_message`` (sendLocation, sendSticker, editMessageText, ...); see PTB_DEFAULTS_LEAKS.

Simplifications: message ids count per chat; files are kept in memory; webhooks are stored but
never called; in groups with privacy mode every bare ``/command`` is delivered (Telegram: only if
this bot was the last bot to write there); text length is counted in code points.
"""

from __future__ import annotations

import asyncio
import copy
import http.server
import itertools
import json
import re
import select
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FACTS_PATH = Path(__file__).resolve().parent / "botapi" / "api-10.0.facts.json"

DEFAULT_TOKEN = "123456789:AAHfAkE0fFl1nE7e5tT0kEn-Laoshan_QAbot"
DEFAULT_USER_ID = 10001
DEFAULT_FIRST_NAME = "小明"
DEFAULT_GROUP_ID = -1001234567890
DEFAULT_GROUP_TITLE = "崂山问答测试群"

SCALARS = frozenset({"Integer", "Float", "Boolean", "String", "InputFile"})
ARRAY_PREFIX = "Array of "

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

# Parameters PTB 22.8's ExtBot fills from ``Defaults`` even on methods that do not have them
# (Bot._send_message always passes them as DEFAULT_NONE); Telegram ignores unknown parameters.
PTB_DEFAULTS_LEAKS = frozenset({"parse_mode", "disable_notification", "protect_content"})

# Telegram's getUpdates default when allowed_updates was never given (or given as []).
DEFAULT_ALLOWED_UPDATES_EXCLUDED = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

# InlineKeyboardButton: "You must use exactly one of the optional fields" (besides the cosmetic ones)
BUTTON_ACTION_FIELDS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)

_INT_RE = re.compile(r"-?[0-9]+")
_FLOAT_RE = re.compile(r"-?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?")
_BOOLS = {"true": True, "false": False, "1": True, "0": False}
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------


def utf16_len(s: str) -> int:
    """Length in UTF-16 code units (what Telegram's entity offsets/lengths count)."""
    return len(s) + sum(1 for ch in s if ord(ch) > 0xFFFF)


def _byte_offset(text: str, i: int) -> int:
    return len(text[:i].encode("utf-8"))


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


# --------------------------------------------------------------------------------------------
# formatted text: HTML / MarkdownV2 / Markdown parsing (Telegram's subsets)
# --------------------------------------------------------------------------------------------


class EntityParseError(Exception):
    """Text could not be parsed; message is what follows "can't parse entities: "."""


class _TextBuilder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.u16 = 0
        self.entities: list[dict] = []

    def add(self, s: str) -> None:
        self.parts.append(s)
        self.u16 += utf16_len(s)

    def entity(self, etype: str, start: int, **extra: Any) -> None:
        length = self.u16 - start
        if length > 0:
            ent = {"type": etype, "offset": start, "length": length}
            ent.update({k: v for k, v in extra.items() if v is not None})
            self.entities.append(ent)

    def result(self) -> tuple[str, list[dict]]:
        ents = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), ents


_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _decode_html_entity(text: str, i: int) -> tuple[str, int] | None:
    """text[i] == '&'.  Returns (decoded char, next index) like tdlib (the ';' is optional)."""
    n = len(text)
    j = i + 1
    if j < n and text[j] == "#":
        j += 1
        if j < n and text[j] in "xX":
            j += 1
            k = j
            while k < n and text[k] in "0123456789abcdefABCDEF":
                k += 1
            digits, base = text[j:k], 16
        else:
            k = j
            while k < n and text[k].isdigit() and text[k].isascii():
                k += 1
            digits, base = text[j:k], 10
        if not digits or len(digits) > 7:
            return None
        code = int(digits, base)
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        ch = chr(code)
    else:
        k = j
        while k < n and text[k].isascii() and text[k].isalpha():
            k += 1
        name = text[j:k]
        if name not in _NAMED_ENTITIES:
            return None
        ch = _NAMED_ENTITIES[name]
    if k < n and text[k] == ";":
        k += 1
    return ch, k


def parse_html(text: str) -> tuple[str, list[dict]]:
    """Parse Telegram's HTML subset (api#html-style) like tdlib does; raise EntityParseError."""
    b = _TextBuilder()
    stack: list[dict] = []
    i, n = 0, len(text)

    def entity_at(pos: int) -> tuple[str, int]:
        dec = _decode_html_entity(text, pos)
        if dec is None:
            raise EntityParseError(
                f'Unescaped "&" at byte offset {_byte_offset(text, pos)} '
                "(use &amp;; only &lt; &gt; &amp; &quot; and numeric references are supported)"
            )
        return dec

    while i < n:
        c = text[i]
        if c == "&":
            ch, i = entity_at(i)
            b.add(ch)
            continue
        if c != "<":
            j = i
            while j < n and text[j] not in "&<":
                j += 1
            b.add(text[i:j])
            i = j
            continue
        begin = i
        boff = _byte_offset(text, begin)
        i += 1
        if i < n and text[i] == "/":
            # end tag
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {boff}")
            j = i + 1
            while j < n and not text[j].isspace() and text[j] != ">":
                j += 1
            end_name = text[i + 1 : j].lower()
            while j < n and text[j].isspace():
                j += 1
            if j >= n or text[j] != ">":
                raise EntityParseError(f"Unclosed end tag at byte offset {boff}")
            top = stack[-1]
            if end_name and end_name != top["tag"]:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {boff}, expected "</{top["tag"]}>", found "</{end_name}>"'
                )
            i = j + 1
            stack.pop()
            kind = top["kind"]
            if kind == "code" and top.get("language"):
                # <pre><code class="language-x"> : the language goes to the enclosing pre
                if stack and stack[-1]["kind"] == "pre":
                    stack[-1]["language"] = top["language"]
                    continue
            if kind == "text_link":
                if top.get("url"):
                    b.entity("text_link", top["start"], url=top["url"])
            elif kind == "pre":
                b.entity("pre", top["start"], language=top.get("language"))
            elif kind == "custom_emoji":
                b.entity("custom_emoji", top["start"], custom_emoji_id=top["emoji_id"])
            elif kind == "blockquote" and top.get("expandable"):
                b.entity("expandable_blockquote", top["start"])
            else:
                b.entity(kind, top["start"])
            continue
        # start tag
        j = i
        while j < n and not text[j].isspace() and text[j] != ">":
            j += 1
        if j >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {boff}")
        tag = text[i:j].lower()
        if tag not in _HTML_TAGS:
            raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {boff}')
        attrs: dict[str, str] = {}
        while True:
            while j < n and text[j].isspace():
                j += 1
            if j >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {boff}")
            if text[j] == ">":
                j += 1
                break
            a0 = j
            while j < n and not text[j].isspace() and text[j] not in "=>":
                j += 1
            aname = text[a0:j].lower()
            if not aname:
                raise EntityParseError(f'Empty attribute name in the tag "{tag}" at byte offset {boff}')
            while j < n and text[j].isspace():
                j += 1
            if j >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {boff}")
            if text[j] != "=":
                attrs[aname] = ""
                continue
            j += 1
            while j < n and text[j].isspace():
                j += 1
            if j >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {boff}")
            if text[j] in "\"'":
                quote = text[j]
                j += 1
                val: list[str] = []
                while j < n and text[j] != quote:
                    if text[j] == "&":
                        ch, j = entity_at(j)
                        val.append(ch)
                    else:
                        val.append(text[j])
                        j += 1
                if j >= n:
                    raise EntityParseError(f"Unclosed start tag at byte offset {boff}")
                j += 1
                attrs[aname] = "".join(val)
            else:
                v0 = j
                while j < n and (text[j].isalnum() or text[j] in ".-_"):
                    j += 1
                if j == v0:
                    raise EntityParseError(f'Expected equal sign in declaration of an attribute of the tag "{tag}" at byte offset {boff}')
                attrs[aname] = text[v0:j]
        i = j
        kind = _HTML_TAGS[tag]
        item: dict[str, Any] = {"tag": tag, "kind": kind, "start": b.u16}
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError('Tag "span" must have class "tg-spoiler"')
        if tag == "a":
            item["url"] = attrs.get("href", "")
        elif tag == "tg-emoji":
            emoji_id = attrs.get("emoji-id", "")
            if not emoji_id.isdigit():
                raise EntityParseError("Custom emoji entity must contain a tg-emoji identifier")
            item["emoji_id"] = emoji_id
        elif tag == "code":
            cls = attrs.get("class", "")
            if cls.startswith("language-") and stack and stack[-1]["kind"] == "pre":
                item["language"] = cls[len("language-") :]
        elif tag == "blockquote":
            item["expandable"] = "expandable" in attrs
        stack.append(item)
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1]["tag"]}"')
    return b.result()


_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
    "code": "Code",
    "pre": "Pre",
    "custom_emoji": "CustomEmoji",
}


def parse_markdown_v2(text: str) -> tuple[str, list[dict]]:
    """Parse MarkdownV2 (api#markdownv2-style), modelled on tdlib's parse_markdown_v2."""
    b = _TextBuilder()
    stack: list[dict] = []
    i, n = 0, len(text)
    line_start = True
    quote: dict | None = None  # open blockquote

    def err_reserved(pos: int) -> EntityParseError:
        return EntityParseError(f"Character '{text[pos]}' is reserved and must be escaped with the preceding '\\'")

    while i < n:
        c = text[i]
        in_code = bool(stack) and stack[-1]["kind"] in ("code", "pre")
        if line_start:
            line_start = False
            if not in_code:
                if c == ">":
                    if quote is None:
                        quote = {"start": b.u16, "end": None}
                    i += 1
                    continue
                if quote is not None:
                    _close_quote(b, quote)
                    quote = None
        if c == "\\":
            if i + 1 < n and 0 < ord(text[i + 1]) <= 126:
                b.add(text[i + 1])
                i += 2
            else:
                b.add(c)
                i += 1
            continue
        if c == "\n":
            if quote is not None:
                quote["end"] = b.u16
            b.add(c)
            i += 1
            line_start = True
            continue
        if in_code:
            top = stack[-1]
            if top["kind"] == "code" and c == "`":
                stack.pop()
                b.entity("code", top["start"])
                i += 1
                continue
            if top["kind"] == "pre" and text.startswith("```", i):
                stack.pop()
                b.entity("pre", top["start"], language=top.get("language") or None)
                i += 3
                continue
            b.add(c)
            i += 1
            continue
        if c not in _MDV2_RESERVED:
            j = i
            while j < n and text[j] not in _MDV2_RESERVED and text[j] not in "\\\n":
                j += 1
            b.add(text[i:j])
            i = j
            continue
        # a reserved character: end of the innermost entity?
        top = stack[-1] if stack else None
        nxt = text[i + 1] if i + 1 < n else ""
        is_end = False
        if top is not None:
            k = top["kind"]
            is_end = (
                (k == "bold" and c == "*")
                or (k == "italic" and c == "_" and nxt != "_")
                or (k == "underline" and c == "_" and nxt == "_")
                or (k == "strikethrough" and c == "~")
                or (k == "spoiler" and c == "|" and nxt == "|")
                or (k in ("text_link", "custom_emoji") and c == "]")
            )
            if k == "italic" and c == "_" and nxt == "_" and stack[-2:-1] and stack[-2]["kind"] == "underline":
                is_end = False
        if is_end:
            assert top is not None
            stack.pop()
            k = top["kind"]
            if k in ("text_link", "custom_emoji"):
                i += 1
                url = ""
                if i < n and text[i] == "(":
                    i += 1
                    chars = []
                    while i < n and text[i] != ")":
                        if text[i] == "\\" and i + 1 < n:
                            chars.append(text[i + 1])
                            i += 2
                        else:
                            chars.append(text[i])
                            i += 1
                    if i >= n:
                        raise EntityParseError(f"Can't find end of a URL at byte offset {_byte_offset(text, top['pos'])}")
                    i += 1
                    url = "".join(chars)
                if k == "text_link" and url:
                    b.entity("text_link", top["start"], url=url)
                elif k == "custom_emoji":
                    m = re.fullmatch(r"tg://emoji\?id=(\d+)", url)
                    if not m:
                        raise EntityParseError("Custom emoji URL must have an emoji identifier")
                    b.entity("custom_emoji", top["start"], custom_emoji_id=m.group(1))
                continue
            b.entity(k, top["start"])
            i += 2 if k in ("underline", "spoiler") else 1
            continue
        start = {"start": b.u16, "pos": i}
        if c == "_" and nxt == "_":
            stack.append({"kind": "underline", **start})
            i += 2
        elif c == "_":
            stack.append({"kind": "italic", **start})
            i += 1
        elif c == "*":
            stack.append({"kind": "bold", **start})
            i += 1
        elif c == "~":
            stack.append({"kind": "strikethrough", **start})
            i += 1
        elif c == "|" and nxt == "|":
            stack.append({"kind": "spoiler", **start})
            i += 2
        elif c == "[":
            stack.append({"kind": "text_link", **start})
            i += 1
        elif c == "!" and nxt == "[":
            stack.append({"kind": "custom_emoji", **start})
            i += 2
        elif c == "`" and text.startswith("```", i):
            i += 3
            j = i
            while j < n and text[j] not in "\n`" and not text[j].isspace():
                j += 1
            language = ""
            if j < n and text[j] == "\n":
                language = text[i:j]
                i = j + 1
            stack.append({"kind": "pre", "language": language, **start})
        elif c == "`":
            stack.append({"kind": "code", **start})
            i += 1
        else:
            raise err_reserved(i)
    if stack:
        top = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_MDV2_NAMES[top['kind']]} entity at byte offset {_byte_offset(text, top['pos'])}"
        )
    if quote is not None:
        quote["end"] = None
        _close_quote(b, quote)
    return b.result()


def _close_quote(b: _TextBuilder, quote: dict) -> None:
    end = quote["end"] if quote["end"] is not None else b.u16
    saved, b.u16 = b.u16, end
    b.entity("blockquote", quote["start"])
    b.u16 = saved


def parse_markdown(text: str) -> tuple[str, list[dict]]:
    """Legacy Markdown (api#markdown-style): *bold* _italic_ `code` ```pre``` [text](url)."""
    b = _TextBuilder()
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            b.add(text[i + 1])
            i += 2
            continue
        if c not in "_*`[":
            b.add(c)
            i += 1
            continue
        begin = i
        start = b.u16
        not_found = EntityParseError(
            f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
        )
        if c == "[":
            end = text.find("]", i + 1)
            if end < 0:
                raise not_found
            b.add(text[i + 1 : end])
            i = end + 1
            url = ""
            if i < n and text[i] == "(":
                close = text.find(")", i + 1)
                if close < 0:
                    raise not_found
                url = text[i + 1 : close]
                i = close + 1
            if url:
                b.entity("text_link", start, url=url)
            continue
        if text.startswith("```", i):
            end = text.find("```", i + 3)
            if end < 0:
                raise not_found
            body = text[i + 3 : end]
            language = None
            if "\n" in body:
                first, rest = body.split("\n", 1)
                if first and not any(ch.isspace() for ch in first):
                    language, body = first, rest
            b.add(body)
            b.entity("pre", start, language=language)
            i = end + 3
            continue
        end = text.find(c, i + 1)
        if end < 0:
            raise not_found
        b.add(text[i + 1 : end])
        b.entity({"*": "bold", "_": "italic", "`": "code"}[c], start)
        i = end + 1
    return b.result()


def parse_formatted(text: str, parse_mode: str | None) -> tuple[str, list[dict]]:
    """(plain text, entities) for ``text`` sent with ``parse_mode``; raises ApiError like Telegram."""
    mode = (parse_mode or "").lower()
    try:
        if mode == "":
            return text, []
        if mode == "html":
            return parse_html(text)
        if mode == "markdownv2":
            return parse_markdown_v2(text)
        if mode == "markdown":
            return parse_markdown(text)
    except EntityParseError as exc:
        raise bad_request(f"can't parse entities: {exc}") from None
    raise bad_request("unsupported parse_mode")


def strip_formatted(text: str, entities: list[dict]) -> tuple[str, list[dict]]:
    """Trim leading/trailing whitespace like Telegram does, shifting/clipping entities."""
    ws = " \t\r\n\x0b\x0c"
    stripped = text.strip(ws)
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip(ws))])
    total = utf16_len(stripped)
    out = []
    for e in entities:
        start = max(e["offset"] - lead, 0)
        end = min(e["offset"] + e["length"] - lead, total)
        if end > start:
            out.append({**e, "offset": start, "length": end - start})
    return stripped, out


# --------------------------------------------------------------------------------------------
# spec facts + validator
# --------------------------------------------------------------------------------------------


class BotApiSpec:
    """The facts file: methods (params, returns) and types (fields, subtypes, discriminators).

    Read-only after construction; ``BotApiSpec.load(path)`` caches one instance per path.
    """

    _cache: dict[Path, BotApiSpec] = {}
    _cache_lock = threading.Lock()

    @classmethod
    def load(cls, path: Path = FACTS_PATH) -> BotApiSpec:
        key = Path(path).resolve()
        with cls._cache_lock:
            if key not in cls._cache:
                cls._cache[key] = cls(key)
            return cls._cache[key]

    def __init__(self, path: Path = FACTS_PATH):
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        self.source: dict = doc["source"]
        self.methods: dict[str, dict] = doc["methods"]
        self.types: dict[str, dict] = doc["types"]
        self._by_lower = {name.lower(): name for name in self.methods}
        self.fields = {
            kind: {name: {f["name"]: f for f in d["fields"]} for name, d in getattr(self, kind).items()}
            for kind in ("methods", "types")
        }

    def canonical_method(self, name: str) -> str | None:
        return self._by_lower.get(name.lower())


class _Invalid(Exception):
    """Structural validation failure at ``path`` (inside a JSON value)."""

    def __init__(self, path: str, detail: str):
        super().__init__(detail)
        self.path = path
        self.detail = detail
        self.depth = path.count(".") + path.count("[")

    def message(self) -> str:
        return f"{self.detail} (at {self.path})" if self.path else self.detail


class Validator:
    """Checks values against the facts.  ``files``: multipart parts available to ``attach://``."""

    def __init__(self, spec: BotApiSpec, files: dict[str, UploadedFile] | None = None,
                 hooks: dict[str, Callable[[dict, str], None]] | None = None,
                 object_hook: Callable[[str, dict, str], None] | None = None):
        self.spec = spec
        self.files = files or {}
        self.hooks = hooks or {}
        self.object_hook = object_hook
        self.referenced_files: set[str] = set()

    # -- top-level (string) parameters ----------------------------------------------------
    def decode_param(self, name: str, raw: Any, types: list[str]) -> Any:
        """Decode one top-level parameter (a string or an UploadedFile) per its declared types."""
        if isinstance(raw, UploadedFile):
            if "InputFile" in types:
                return raw
            raise bad_request(f'parameter "{name}" must be of type {" or ".join(types)}, not a file upload')
        s = raw
        for t in types:
            if t == "Integer" and _INT_RE.fullmatch(s):
                v = int(s)
                if INT64_MIN <= v <= INT64_MAX:
                    return v
            elif t == "Float" and _FLOAT_RE.fullmatch(s):
                return float(s)
            elif t == "Boolean" and s.lower() in _BOOLS:
                return _BOOLS[s.lower()]
            elif t == "InputFile" and s.startswith("attach://"):
                return self._attached(s, name)
        complex_types = [t for t in types if t not in SCALARS]
        if complex_types:
            try:
                value = json.loads(s)
            except ValueError:
                if "String" in types:
                    return s
                raise bad_request(f"can't parse {name} JSON object") from None
            try:
                return self.check(value, complex_types, "")
            except _Invalid as exc:
                raise bad_request(f"can't parse {name}: {exc.message()}") from None
        if "String" in types:
            kind = _json_container(s)
            if kind:
                raise bad_request(
                    f'parameter "{name}" must be of type String, got a JSON {kind} {s[:40]!r} '
                    "(a list/dict, or an empty string mangled by PTB Defaults?)"
                )
            return s
        if "InputFile" in types:
            raise bad_request(f'parameter "{name}" must be a file upload (InputFile)')
        raise bad_request(f'parameter "{name}" must be of type {" or ".join(types)}, got {s[:40]!r}')

    def _attached(self, s: str, path: str) -> UploadedFile:
        ref = s[len("attach://") :]
        if ref not in self.files:
            raise bad_request(f'file "{s}" referenced by {path or "a parameter"} is not in the multipart upload')
        self.referenced_files.add(ref)
        return self.files[ref]

    # -- JSON values ----------------------------------------------------------------------
    def check(self, value: Any, types: list[str], path: str) -> Any:
        if len(types) == 1:
            return self._check_type(value, types[0], path)
        errors: list[_Invalid] = []
        for t in self._order(value, types):
            try:
                return self._check_type(value, t, path)
            except _Invalid as exc:
                errors.append(exc)
        raise max(errors, key=lambda e: e.depth)

    def _order(self, value: Any, types: list[str]) -> list[str]:
        if not isinstance(value, dict):
            return list(types)

        def score(t: str) -> tuple[int, int]:
            fields = self.spec.fields["types"].get(t)
            if fields is None:
                return (-1, 0)
            required = [f for f, d in fields.items() if d["required"]]
            return (all(r in value for r in required), sum(1 for k in value if k in fields))

        return sorted(types, key=score, reverse=True)

    def _check_type(self, value: Any, t: str, path: str) -> Any:
        if t.startswith(ARRAY_PREFIX):
            inner = t[len(ARRAY_PREFIX) :]
            if not isinstance(value, list):
                raise _Invalid(path, f"must be of type {t}")
            return [self.check(v, [inner], f"{path}[{i}]") for i, v in enumerate(value)]
        if t == "Integer":
            if isinstance(value, bool):
                raise _Invalid(path, "must be of type Integer")
            if isinstance(value, int):
                return value
            if isinstance(value, str) and _INT_RE.fullmatch(value):  # tdlib accepts numeric strings
                return int(value)
            raise _Invalid(path, "must be of type Integer")
        if t == "Float":
            if isinstance(value, bool):
                raise _Invalid(path, "must be of type Float")
            if isinstance(value, (int, float)):
                return value
            if isinstance(value, str) and _FLOAT_RE.fullmatch(value):
                return float(value)
            raise _Invalid(path, "must be of type Float")
        if t == "Boolean":
            if isinstance(value, bool):
                return value
            raise _Invalid(path, "must be of type Boolean")
        if t == "String":
            if isinstance(value, str):
                if value.startswith("attach://") and value[len("attach://") :] not in self.files:
                    raise _Invalid(path, f'file "{value}" is not in the multipart upload')
                if value.startswith("attach://"):
                    self.referenced_files.add(value[len("attach://") :])
                return value
            raise _Invalid(path, "must be of type String")
        if t == "InputFile":
            if isinstance(value, str) and value.startswith("attach://"):
                try:
                    return self._attached(value, path)
                except ApiError as exc:
                    raise _Invalid(path, exc.description.removeprefix("Bad Request: ")) from None
            raise _Invalid(path, "must be of type InputFile (attach://<name>)")
        return self._check_object(value, t, path)

    def _check_object(self, value: Any, tname: str, path: str) -> Any:
        tdef = self.spec.types.get(tname)
        if tdef is None:
            raise _Invalid(path, f"unknown type {tname}")
        if not isinstance(value, dict):
            raise _Invalid(path, f"must be an Object ({tname})")
        subtypes = tdef.get("subtypes")
        if subtypes:
            candidates = list(subtypes)
            discs = [self.spec.types[s].get("discriminator") for s in candidates]
            if all(discs):
                dfield = discs[0]["field"]
                if dfield not in value:
                    raise _Invalid(path, f'Can\'t find field "{dfield}" ({tname})')
                candidates = [s for s, d in zip(candidates, discs) if d["value"] == value[dfield]]
                if not candidates:
                    raise _Invalid(path, f'unsupported {tname} {dfield} "{value[dfield]}"')
            errors = []
            for cand in self._order(value, candidates):
                try:
                    return self._check_object(value, cand, path)
                except _Invalid as exc:
                    errors.append(exc)
            raise max(errors, key=lambda e: e.depth)
        fields = self.spec.fields["types"][tname]
        for key in value:
            if key not in fields:
                raise _Invalid(f"{path}.{key}" if path else key, f'unknown field "{key}" of {tname}')
        for fname, f in fields.items():
            if f["required"] and value.get(fname) is None:
                raise _Invalid(path, f'Can\'t find field "{fname}" ({tname})')
        out = {}
        for key, v in value.items():
            if v is None:
                continue
            out[key] = self.check(v, fields[key]["types"], f"{path}.{key}" if path else key)
        disc = tdef.get("discriminator")
        if disc and out.get(disc["field"]) != disc["value"]:
            raise _Invalid(path, f'{tname}.{disc["field"]} must be "{disc["value"]}"')
        if self.object_hook:
            self.object_hook(tname, out, path)
        hook = self.hooks.get(tname)
        if hook:
            hook(out, path)
        return out


def _json_container(s: str) -> str | None:
    t = s.strip()
    if not t or t[0] not in "[{":
        return None
    try:
        v = json.loads(t)
    except ValueError:
        return None
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return None


# --------------------------------------------------------------------------------------------
# request parsing
# --------------------------------------------------------------------------------------------


def _parse_header_params(value: str) -> tuple[str, dict[str, str]]:
    parts = value.split(";")
    main = parts[0].strip().lower()
    params = {}
    for m in re.finditer(r';\s*([\w*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))', value):
        v = m.group(2) if m.group(2) is not None else m.group(3)
        params[m.group(1).lower()] = urllib.parse.unquote(v) if "%" in v else v
    return main, params


def parse_multipart(body: bytes, boundary: str) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    delim = b"--" + boundary.encode("latin-1")
    chunks = body.split(delim)
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise bad_request("can't parse multipart/form-data")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        _, disp = _parse_header_params(headers.get("content-disposition", ""))
        name = disp.get("name")
        if name is None:
            raise bad_request("can't parse multipart/form-data: part without a name")
        if "filename" in disp:
            files[name] = UploadedFile(name, disp["filename"], headers.get("content-type"), data)
        else:
            fields[name] = data.decode("utf-8")
    return fields, files


def _flatten_json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    api: FakeBotAPI


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeTelegramBotAPI/10.0"
    sys_version = ""
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.api._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.api._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr logging
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.server.api._handle(self)

    def do_POST(self) -> None:  # noqa: N802
        self.server.api._handle(self)

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_bytes(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            # headers and body in ONE write: two small writes + Nagle + delayed ACK cost ~40 ms/call
            self._headers_buffer.extend([b"\r\n", body])
            self.flush_headers()
        except OSError:
            self.close_connection = True

    def client_gone(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True


class _Fault:
    def __init__(self, kind: str, times: int, **kw: Any):
        self.kind = kind
        self.times = times
        self.kw = kw


# --------------------------------------------------------------------------------------------
# the fake server
# --------------------------------------------------------------------------------------------


class FakeBotAPI:
    """A fake Telegram Bot API server for offline end-to-end tests.  See the module docstring."""

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
    ):
        """
        Args:
            token: the bot token the server accepts (others get 401 Unauthorized).
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
        self._handlers: dict[str, Callable[[dict, FakeBotAPI], Any]] = {}
        self._ids = itertools.count(1)
        self._local = threading.local()  # per-request data for method models (uploaded files)

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> FakeBotAPI:
        if self._server is not None:
            return self
        self._stop_event.clear()
        self._server = _Server(("127.0.0.1", 0), _Handler)
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

    @property
    def bot_user(self) -> dict:
        """The getMe result."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _bot_from(self) -> dict:
        return {"id": self.bot_id, "is_bot": True, "first_name": self.bot_first_name, "username": self.bot_username}

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
                  description: str | None = None, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` ("*" = any) with an error, before validation.

        429 -> "Too Many Requests: retry after N" with parameters.retry_after (default N=1);
        403 -> "Forbidden: bot was blocked by the user"; 500 -> "Internal Server Error";
        502 -> an nginx HTML "Bad Gateway" page (like Telegram's front end); 400 needs a description.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        self._add_fault(method, _Fault("fail", times, status=status, retry_after=retry_after, description=description))

    def drop_next(self, method: str, times: int = 1) -> None:
        """Close the connection without any response for the next call(s)."""
        self._add_fault(method, _Fault("drop", times))

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Delay the next call(s) by ``seconds`` before processing them normally."""
        self._add_fault(method, _Fault("delay", times, seconds=seconds))

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
                    taken.append(f)
                    kinds.add(f.kind)
                    f.times -= 1
                    if f.times <= 0:
                        queue.remove(f)
        return taken

    # ---------------------------------------------------------------- chats & users
    def _user(self, user_id: int, first_name: str, username: str | None = None,
              language_code: str | None = "zh-hans", is_bot: bool = False) -> dict:
        u: dict[str, Any] = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
        if username:
            u["username"] = username
        if language_code:
            u["language_code"] = language_code
        return u

    def add_private_chat(self, user_id: int = DEFAULT_USER_ID, first_name: str = DEFAULT_FIRST_NAME,
                         username: str | None = None) -> dict:
        chat = {"id": user_id, "type": "private", "first_name": first_name}
        if username:
            chat["username"] = username
        with self._lock:
            self._chats.setdefault(user_id, chat)
            return self._chats[user_id]

    def add_group(self, chat_id: int = DEFAULT_GROUP_ID, title: str = DEFAULT_GROUP_TITLE,
                  chat_type: str = "supergroup", username: str | None = None) -> dict:
        chat = {"id": chat_id, "type": chat_type, "title": title}
        if username:
            chat["username"] = username
        with self._lock:
            self._chats.setdefault(chat_id, chat)
            return self._chats[chat_id]

    def block_bot(self, user_id: int) -> None:
        """The user blocks the bot: sending to them fails with 403 "bot was blocked by the user"."""
        with self._lock:
            self._blocked.add(user_id)

    def _resolve_chat(self, chat_id: Any) -> dict:
        if chat_id in (None, ""):
            raise bad_request("chat_id is empty")
        with self._lock:
            if isinstance(chat_id, str):
                if chat_id.startswith("@"):
                    for chat in self._chats.values():
                        if chat.get("username", "").lower() == chat_id[1:].lower():
                            return chat
                raise bad_request("chat not found")
            chat = self._chats.get(chat_id)
            if chat is None:
                if self.strict_chats:
                    raise bad_request("chat not found")
                chat = (
                    {"id": chat_id, "type": "private", "first_name": "User"}
                    if chat_id > 0
                    else {"id": chat_id, "type": "supergroup" if str(chat_id).startswith("-100") else "group", "title": "Group"}
                )
                self._chats[chat_id] = chat
            if chat_id in self._blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            return chat

    def _next_message_id(self, chat_id: int) -> int:
        with self._lock:
            self._msg_counters[chat_id] = self._msg_counters.get(chat_id, 0) + 1
            return self._msg_counters[chat_id]

    def _store_message(self, msg: dict) -> dict:
        with self._lock:
            msg["_seq"] = next(self._ids)
            self.messages[(msg["chat"]["id"], msg["message_id"])] = msg
        return msg

    def get_message(self, chat_id: int, message_id: int) -> dict | None:
        with self._lock:
            m = self.messages.get((chat_id, message_id))
            return _public(m) if m else None

    def last_bot_message(self, chat_id: int | None = None, *, with_keyboard: bool = False) -> dict | None:
        msgs = [
            m for m in self.sent_messages(chat_id)
            if not with_keyboard or m.get("reply_markup", {}).get("inline_keyboard")
        ]
        return _public(msgs[-1]) if msgs else None

    # ---------------------------------------------------------------- updates
    def push_update(self, update: dict) -> int:
        """Queue a raw update (``update_id`` is assigned if missing).  Returns the update_id."""
        with self._cond:
            update = dict(update)
            if "update_id" not in update:
                update["update_id"] = self._next_update_id
            self._next_update_id = max(self._next_update_id, update["update_id"]) + 1
            self._updates.append(update)
            self.pushed_updates.append(update)
            self._cond.notify_all()
            return update["update_id"]

    def updates_pending(self) -> int:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        with self._lock:
            return len(self._updates)

    @property
    def acknowledged_offset(self) -> int:
        """Highest ``offset`` confirmed by getUpdates (updates with smaller ids are gone)."""
        with self._lock:
            return self._acknowledged_offset

    def wait_acknowledged(self, update_id: int | None = None, timeout: float = 5.0) -> None:
        """Block until the bot confirmed ``update_id`` (default: the last pushed update)."""
        target = (update_id if update_id is not None else self._next_update_id - 1) + 1
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._acknowledged_offset < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"update {target - 1} not acknowledged within {timeout}s")
                self._cond.wait(remaining)

    def _incoming_message(self, chat: dict, user: dict, *, text: str | None = None,
                          entities: list[dict] | None = None, reply_to: dict | None = None,
                          **content: Any) -> dict:
        with self._lock:
            self._chats.setdefault(chat["id"], chat)
        msg: dict[str, Any] = {
            "message_id": self._next_message_id(chat["id"]),
            "from": user,
            "chat": chat,
            "date": int(time.time()),
        }
        if reply_to is not None:
            msg["reply_to_message"] = _public(reply_to, strip_reply=True)
        if text is not None:
            msg["text"] = text
            ents = detect_entities(text) if entities is None else entities
            if ents:
                msg["entities"] = ents
        msg.update(content)
        self._self_check("Message", msg)
        self._store_message(msg)
        return _public(msg)

    def private_message(self, text: str, *, user_id: int = DEFAULT_USER_ID, first_name: str = DEFAULT_FIRST_NAME,
                        username: str | None = None, language_code: str | None = "zh-hans",
                        reply_to_message_id: int | None = None, entities: list[dict] | None = None) -> int:
        """A user writes ``text`` to the bot in a private chat.  bot_command / mention entities are
        added automatically (UTF-16 offsets) unless ``entities`` is given.  Returns the update_id."""
        chat = self.add_private_chat(user_id, first_name, username)
        user = self._user(user_id, first_name, username, language_code)
        reply_to = self._find(user_id, reply_to_message_id) if reply_to_message_id else None
        msg = self._incoming_message(chat, user, text=text, entities=entities, reply_to=reply_to)
        return self.push_update({"message": msg})

    def group_message(self, text: str, *, chat_id: int = DEFAULT_GROUP_ID, title: str = DEFAULT_GROUP_TITLE,
                      chat_type: str = "supergroup", user_id: int = DEFAULT_USER_ID,
                      first_name: str = DEFAULT_FIRST_NAME, username: str | None = None,
                      reply_to_bot: bool = False, reply_to_message_id: int | None = None,
                      entities: list[dict] | None = None) -> int | None:
        """A user writes ``text`` in a group.  ``reply_to_bot``: as a reply to the bot's last message
        there.  With ``privacy_mode`` (default) a message the bot would not see -- not a command,
        not a reply to the bot, not mentioning @bot_username -- is NOT queued: returns None and the
        message is appended to ``api.undelivered``."""
        chat = self.add_group(chat_id, title, chat_type)
        user = self._user(user_id, first_name, username)
        reply_to = None
        if reply_to_bot:
            reply_to = self.last_bot_message(chat_id)
            if reply_to is None:
                raise ValueError(f"reply_to_bot: the bot has not sent anything to chat {chat_id}")
            reply_to = self.messages[(chat_id, reply_to["message_id"])]
        elif reply_to_message_id:
            reply_to = self._find(chat_id, reply_to_message_id)
        msg = self._incoming_message(chat, user, text=text, entities=entities, reply_to=reply_to)
        if self.privacy_mode and not self._privacy_allows(msg):
            with self._lock:
                self.undelivered.append(msg)
            return None
        return self.push_update({"message": msg})

    def _privacy_allows(self, msg: dict) -> bool:
        reply = msg.get("reply_to_message")
        if reply and reply.get("from", {}).get("id") == self.bot_id:
            return True
        text = msg.get("text") or msg.get("caption") or ""
        for e in msg.get("entities", []) + msg.get("caption_entities", []):
            frag = _utf16_slice(text, e["offset"], e["length"])
            if e["type"] == "bot_command":
                target = frag.split("@", 1)[1] if "@" in frag else None
                if target is None or target.lower() == self.bot_username.lower():
                    return True
            if e["type"] == "mention" and frag[1:].lower() == self.bot_username.lower():
                return True
        return False

    def _find(self, chat_id: int, message_id: int) -> dict:
        with self._lock:
            m = self.messages.get((chat_id, message_id))
        if m is None:
            raise ValueError(f"no message {message_id} in chat {chat_id}")
        return m

    def _media_message(self, content: dict, chat_id: int | None, user_id: int, first_name: str,
                       caption: str | None = None) -> int | None:
        if chat_id is None or chat_id == user_id:
            chat = self.add_private_chat(user_id, first_name)
        else:
            chat = self.add_group(chat_id)
        extra = dict(content)
        if caption is not None:
            extra["caption"] = caption
            ents = detect_entities(caption)
            if ents:
                extra["caption_entities"] = ents
        msg = self._incoming_message(chat, self._user(user_id, first_name), **extra)
        if chat["type"] != "private" and self.privacy_mode and not self._privacy_allows(msg):
            with self._lock:
                self.undelivered.append(msg)
            return None
        return self.push_update({"message": msg})

    def _new_file(self, data: bytes, path_prefix: str, ext: str, **meta: Any) -> dict:
        n = next(self._ids)
        file_id = f"AgAC{path_prefix[:3].upper()}fake{n:06d}"
        info = {"file_id": file_id, "file_unique_id": f"AQAD{n:06d}", "file_size": len(data)}
        with self._lock:
            self.files[file_id] = {**info, "data": data, "file_path": f"{path_prefix}/file_{n}.{ext}", **meta}
        return info

    def register_file(self, data: bytes = b"", *, kind: str = "documents", ext: str = "bin") -> str:
        """Make a file_id the server knows (sending an unknown file_id fails like on Telegram)."""
        return self._new_file(data, kind, ext)["file_id"]

    def sticker_message(self, emoji: str = "👍", *, chat_id: int | None = None, user_id: int = DEFAULT_USER_ID,
                        first_name: str = DEFAULT_FIRST_NAME) -> int | None:
        f = self._new_file(b"RIFF\x00\x00\x00\x00WEBP", "stickers", "webp")
        sticker = {**f, "type": "regular", "width": 512, "height": 512, "is_animated": False,
                   "is_video": False, "emoji": emoji}
        return self._media_message({"sticker": sticker}, chat_id, user_id, first_name)

    def photo_message(self, caption: str | None = None, *, data: bytes = b"\xff\xd8\xff\xe0fakejpeg",
                      chat_id: int | None = None, user_id: int = DEFAULT_USER_ID,
                      first_name: str = DEFAULT_FIRST_NAME) -> int | None:
        small = self._new_file(data, "photos", "jpg")
        large = self._new_file(data, "photos", "jpg")
        photo = [{**small, "width": 90, "height": 67}, {**large, "width": 800, "height": 600}]
        return self._media_message({"photo": photo}, chat_id, user_id, first_name, caption)

    def voice_message(self, duration: int = 3, *, data: bytes = b"OggS\x00fakeopus", chat_id: int | None = None,
                      user_id: int = DEFAULT_USER_ID, first_name: str = DEFAULT_FIRST_NAME) -> int | None:
        f = self._new_file(data, "voice", "oga")
        voice = {**f, "duration": duration, "mime_type": "audio/ogg"}
        return self._media_message({"voice": voice}, chat_id, user_id, first_name)

    def document_message(self, data: bytes = b"hello", *, file_name: str = "doc.txt", mime_type: str = "text/plain",
                         caption: str | None = None, chat_id: int | None = None, user_id: int = DEFAULT_USER_ID,
                         first_name: str = DEFAULT_FIRST_NAME) -> int | None:
        f = self._new_file(data, "documents", file_name.rsplit(".", 1)[-1] or "bin")
        doc = {**f, "file_name": file_name, "mime_type": mime_type}
        return self._media_message({"document": doc}, chat_id, user_id, first_name, caption)

    def location_message(self, latitude: float = 36.1357, longitude: float = 120.6125, *,
                         chat_id: int | None = None, user_id: int = DEFAULT_USER_ID,
                         first_name: str = DEFAULT_FIRST_NAME) -> int | None:
        return self._media_message({"location": {"latitude": latitude, "longitude": longitude}},
                                   chat_id, user_id, first_name)

    def inline_query(self, query: str, *, offset: str = "", user_id: int = DEFAULT_USER_ID,
                     first_name: str = DEFAULT_FIRST_NAME, chat_type: str | None = "sender") -> str:
        """A user types ``@bot query``.  Returns the inline query id (answer it with answerInlineQuery)."""
        if len(query) > MAX_INLINE_QUERY_LEN:
            raise ValueError(f"inline queries are at most {MAX_INLINE_QUERY_LEN} characters")
        qid = str(5_000_000_000_000_000_000 + next(self._ids))
        iq: dict[str, Any] = {"id": qid, "from": self._user(user_id, first_name), "query": query, "offset": offset}
        if chat_type:
            iq["chat_type"] = chat_type
        self._self_check("InlineQuery", iq)
        with self._lock:
            self._inline_queries[qid] = {"query": iq, "answered": False}
        self.push_update({"inline_query": iq})
        return qid

    def chosen_inline_result(self, result_id: str, query: str, *, user_id: int = DEFAULT_USER_ID,
                             first_name: str = DEFAULT_FIRST_NAME, with_inline_message_id: bool = True) -> int:
        """The user picked an inline result.  If the result had a keyboard, Telegram includes an
        inline_message_id, which the bot may then edit (``editMessageText(inline_message_id=...)``)."""
        cir: dict[str, Any] = {"result_id": result_id, "from": self._user(user_id, first_name), "query": query}
        if with_inline_message_id:
            imid = f"BAAAAFake{next(self._ids):08d}"
            cir["inline_message_id"] = imid
            with self._lock:
                self._inline_messages[imid] = {"text": None, "entities": [], "reply_markup": None}
        self._self_check("ChosenInlineResult", cir)
        return self.push_update({"chosen_inline_result": cir})

    def callback_query(self, data: str, *, message_id: int | None = None, chat_id: int | None = None,
                       user_id: int = DEFAULT_USER_ID, first_name: str = DEFAULT_FIRST_NAME,
                       inline_message_id: str | None = None, check_button: bool = True) -> str:
        """A user presses an inline button with ``data`` on a message the bot sent (by chat/message
        id; default: the bot's last message with an inline keyboard, in ``chat_id`` if given).
        ``check_button``: the message must really have a button with that callback_data.
        Returns the callback query id."""
        qid = str(4_000_000_000_000_000_000 + next(self._ids))
        cq: dict[str, Any] = {"id": qid, "from": self._user(user_id, first_name)}
        if inline_message_id is not None:
            with self._lock:
                if inline_message_id not in self._inline_messages:
                    self._inline_messages[inline_message_id] = {"text": None, "entities": [], "reply_markup": None}
            cq["inline_message_id"] = inline_message_id
            cq["chat_instance"] = "-7000000000000000001"
        else:
            if message_id is None:
                msg = self.last_bot_message(chat_id, with_keyboard=True)
                if msg is None:
                    raise ValueError("callback_query: the bot has not sent a message with an inline keyboard")
            else:
                if chat_id is None:
                    raise ValueError("callback_query: give chat_id together with message_id")
                msg = _public(self._find(chat_id, message_id))
            if check_button:
                datas = [
                    btn.get("callback_data")
                    for row in msg.get("reply_markup", {}).get("inline_keyboard", [])
                    for btn in row
                ]
                if data not in datas:
                    raise ValueError(f"message {msg['message_id']} has no button with callback_data {data!r}: {datas}")
            cq["message"] = msg
            cq["chat_instance"] = str(7_000_000_000_000 + abs(msg["chat"]["id"]) % 10**9)
        cq["data"] = data
        self._self_check("CallbackQuery", cq)
        with self._lock:
            self._callback_queries[qid] = {"query": cq, "answered": False}
        self.push_update({"callback_query": cq})
        return qid

    def _self_check(self, type_name: str, obj: dict) -> None:
        """The fake's own objects must match the spec too (bug in the fake otherwise)."""
        try:
            Validator(self.spec).check(_public(obj), [type_name], "")
        except _Invalid as exc:
            raise AssertionError(f"fake_bot_api built an invalid {type_name}: {exc.message()}") from None

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
            raw, files = self._parse_request(h, split.query, body)
            call.raw, call.files = raw, files
            call.params = self._lenient_decode(method, raw)
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
            elif fault.kind == "fail":
                call.injected = True
                self._finish(h, call, self._injected_error(**fault.kw))
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

    def _injected_error(self, status: int, retry_after: int | None, description: str | None) -> ApiError:
        if status == 502:
            return ApiError(502, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
                                 "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
                                 "</body>\r\n</html>\r\n")
        default = {
            429: f"Too Many Requests: retry after {retry_after}",
            403: "Forbidden: bot was blocked by the user",
            500: "Internal Server Error",
            409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
            401: "Unauthorized",
        }
        desc = description or default.get(status)
        if desc is None:
            raise ValueError(f"fail_next({status}) needs a description")
        params = {"retry_after": retry_after} if status == 429 and retry_after else None
        return ApiError(status, desc, params)

    def _finish(self, h: _Handler, call: Call, exc: ApiError) -> None:
        call.status = exc.code
        call.error = exc.description
        if exc.code == 502 and call.injected:
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

    def _record(self, call: Call) -> None:
        call.finished_at = time.monotonic()
        with self._cond:
            self.calls.append(call)
            if call.error is not None and not call.injected and not call.abandoned:
                self.errors.append(call)
            self._cond.notify_all()

    def _serve_file(self, h: _Handler, token: str, path: str) -> None:
        if token != self.token:
            h.send_bytes(401, json.dumps({"ok": False, "error_code": 401, "description": "Unauthorized"}).encode())
            return
        with self._lock:
            for info in self.files.values():
                if info["file_path"] == path:
                    h.send_bytes(200, info["data"], "application/octet-stream")
                    return
        h.send_bytes(404, json.dumps({"ok": False, "error_code": 404, "description": "Not Found"}).encode())

    def _parse_request(self, h: _Handler, query: str, body: bytes) -> tuple[dict, dict[str, UploadedFile]]:
        raw: dict[str, Any] = {}
        files: dict[str, UploadedFile] = {}
        if query:
            raw.update(urllib.parse.parse_qsl(query, keep_blank_values=True))
        ctype, cparams = _parse_header_params(h.headers.get("Content-Type", ""))
        if body:
            if ctype == "application/x-www-form-urlencoded":
                try:
                    raw.update(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                                                      errors="strict"))
                except UnicodeDecodeError:
                    raise bad_request("request is not valid UTF-8") from None
            elif ctype == "multipart/form-data":
                if "boundary" not in cparams:
                    raise bad_request("can't parse multipart/form-data: no boundary")
                fields, files = parse_multipart(body, cparams["boundary"])
                raw.update(fields)
                raw.update(files)
            elif ctype == "application/json":
                try:
                    doc = json.loads(body)
                except ValueError:
                    raise bad_request("can't parse JSON encoded request") from None
                if not isinstance(doc, dict):
                    raise bad_request("JSON encoded request must be an object")
                raw.update({k: _flatten_json(v) for k, v in doc.items() if v is not None})
            else:
                raise bad_request(f"unsupported Content-Type {ctype!r}")
        return raw, files

    def _lenient_decode(self, method: str | None, raw: dict) -> dict:
        if method is None:
            return dict(raw)
        fields = self.spec.fields["methods"][method]
        out = {}
        v = Validator(self.spec, {k: f for k, f in raw.items() if isinstance(f, UploadedFile)})
        for k, val in raw.items():
            if k in fields:
                try:
                    out[k] = v.decode_param(k, val, fields[k]["types"])
                    continue
                except ApiError:
                    pass
            out[k] = val
        return out

    # ---------------------------------------------------------------- validation
    def validate(self, method: str, raw: dict[str, Any], files: dict[str, UploadedFile] | None = None,
                 ignored: list[str] | None = None) -> dict:
        """Validate raw (string / UploadedFile) parameters of ``method``; return decoded params or
        raise ApiError.  Usable without HTTP, e.g. ``api.validate("sendMessage", {...})``.
        Tolerated PTB ``Defaults`` leftovers (see PTB_DEFAULTS_LEAKS) are appended to ``ignored``."""
        files = files or {}
        fields = self.spec.fields["methods"][method]
        validator = Validator(self.spec, files, hooks={"InlineKeyboardButton": _check_button},
                              object_hook=self._object_formatting_hook)
        for name, f in fields.items():
            value = raw.get(name)
            if f["required"] and (value is None or value == ""):
                if name == "chat_id":
                    raise bad_request("chat_id is empty")
                if name == "text" and method in ("sendMessage", "editMessageText"):
                    raise bad_request("message text is empty")
                raise bad_request(f'parameter "{name}" is required')
        decoded: dict[str, Any] = {}
        for name, value in raw.items():
            if name not in fields:
                continue
            decoded[name] = validator.decode_param(name, value, fields[name]["types"])
        for name, value in raw.items():
            if name in fields:
                continue
            if isinstance(value, UploadedFile) and name in validator.referenced_files:
                continue
            if self.tolerate_ptb_defaults and name in PTB_DEFAULTS_LEAKS:
                if ignored is not None:
                    ignored.append(name)
                continue
            raise bad_request(f'unknown parameter "{name}" (not a {method} parameter in Bot API 10.0)')
        self._check_formatting(decoded, where=method)
        return decoded

    def _object_formatting_hook(self, type_name: str, obj: dict, path: str) -> None:
        self._check_formatting(obj, where=type_name)

    def _check_formatting(self, obj: dict, where: str) -> None:
        """Parse every text that has a parse_mode, and apply the length limits of LIMITS.md."""
        for key in list(obj):
            if not key.endswith("parse_mode"):
                continue
            prefix = key[: -len("parse_mode")]
            if prefix:
                text_key = prefix.rstrip("_")
            else:
                text_key = next((k for k in ("text", "message_text", "caption") if k in obj), None)
            if text_key is None or not isinstance(obj.get(text_key), str):
                continue
            if obj.get(_entities_key(text_key)) is not None:
                continue  # explicit entities win over parse_mode
            parse_formatted(obj[text_key], obj[key])  # raises "can't parse entities: ..."
        limits = {"message_text": MAX_TEXT, "caption": MAX_CAPTION}
        if where in ("sendMessage", "editMessageText"):
            limits["text"] = MAX_TEXT
        for text_key, limit in limits.items():
            text = obj.get(text_key)
            if not isinstance(text, str):
                continue
            mode = obj.get("parse_mode") if obj.get(_entities_key(text_key)) is None else None
            plain, _ = parse_formatted(text, mode)
            plain = plain.strip(" \t\r\n\x0b\x0c")
            if text_key in ("text", "message_text") and not plain:
                raise bad_request("message text is empty")
            if len(plain) > limit:
                raise bad_request("message caption is too long" if text_key == "caption" else "message is too long")

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

    def _minimal(self, t: str) -> Any:
        """A minimal valid instance of ``t`` (required fields only), for methods with no model here."""
        if t.startswith(ARRAY_PREFIX):
            return []
        defaults = {"Integer": 0, "Float": 0.0, "Boolean": True, "String": ""}
        if t in defaults:
            return defaults[t]
        tdef = self.spec.types[t]
        if tdef.get("subtypes"):
            sub = tdef["subtypes"][0]
            out = self._minimal(sub)
            return out
        out = {}
        for f in tdef["fields"]:
            if f["required"]:
                if f["name"] in ("user", "from"):
                    out[f["name"]] = self._bot_from()
                else:
                    out[f["name"]] = self._minimal(f["types"][0]) if f["types"][0] != "Boolean" else False
        disc = tdef.get("discriminator")
        if disc:
            out[disc["field"]] = disc["value"]
        return out

    # ---------------------------------------------------------------- method models
    def _m_getMe(self, p: dict) -> dict:
        return self.bot_user

    def _m_logOut(self, p: dict) -> bool:
        return True

    def _m_close(self, p: dict) -> bool:
        return True

    def _m_getUpdates(self, p: dict, h: _Handler) -> list[dict]:
        if self.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = p.get("offset", 0)
        limit = min(max(p.get("limit", 100), 1), 100)
        timeout = max(p.get("timeout", 0), 0)
        with self._cond:
            if "allowed_updates" in p:
                allowed = p["allowed_updates"]
                self._allowed_updates = set(allowed) if allowed else None
            self._poll_generation += 1
            generation = self._poll_generation
            self._cond.notify_all()  # terminates a concurrent long poll (409 Conflict)
            if offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                self._acknowledged_offset = max(self._acknowledged_offset, offset)
            elif offset < 0:
                self._updates = self._updates[offset:]
            self._cond.notify_all()
            deadline = time.monotonic() + min(timeout, self.poll_cap)
            while True:
                if generation != self._poll_generation:
                    raise ApiError(409, "Conflict: terminated by other getUpdates request; "
                                        "make sure that only one bot instance is running")
                deliverable = self._deliverable()
                remaining = deadline - time.monotonic()
                if deliverable or remaining <= 0 or self._stop_event.is_set():
                    return copy.deepcopy(deliverable[:limit])
                self._cond.wait(remaining)

    def _deliverable(self) -> list[dict]:
        keep = []
        for u in self._updates:
            kind = next((k for k in u if k != "update_id"), None)
            if self._allowed_updates is None:
                if kind in DEFAULT_ALLOWED_UPDATES_EXCLUDED:
                    continue
            elif kind not in self._allowed_updates:
                continue
            keep.append(u)
        self._updates = keep  # Telegram never delivers filtered-out updates
        return keep

    def _m_setWebhook(self, p: dict) -> bool:
        url = p.get("url", "")
        if not url:
            self.webhook = None
            return True
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme != "https":
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if (parsed.port or 443) not in (443, 80, 88, 8443):
            raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        mc = p.get("max_connections", 40)
        if not 1 <= mc <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        secret = p.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad_request("bad webhook: secret token contains unallowed characters")
        with self._lock:
            if p.get("drop_pending_updates"):
                self._updates.clear()
            self.webhook = {"url": url, "max_connections": mc, "allowed_updates": p.get("allowed_updates"),
                            "secret_token": secret}
        return True

    def _m_deleteWebhook(self, p: dict) -> bool:
        with self._lock:
            self.webhook = None
            if p.get("drop_pending_updates"):
                self._updates.clear()
        return True

    def _m_getWebhookInfo(self, p: dict) -> dict:
        with self._lock:
            info: dict[str, Any] = {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._updates)}
            if self.webhook:
                info["url"] = self.webhook["url"]
                info["max_connections"] = self.webhook["max_connections"]
                if self.webhook["allowed_updates"]:
                    info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    @staticmethod
    def _commands_key(p: dict) -> tuple[str, str]:
        scope = p.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), p.get("language_code", "")

    def _m_setMyCommands(self, p: dict) -> bool:
        commands = p["commands"]
        if len(commands) > MAX_COMMANDS:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        for c in commands:
            if not _COMMAND_RE.fullmatch(c["command"]):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(c["description"]) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        with self._lock:
            self.commands[self._commands_key(p)] = [dict(c) for c in commands]
        return True

    def _m_getMyCommands(self, p: dict) -> list[dict]:
        with self._lock:
            return copy.deepcopy(self.commands.get(self._commands_key(p), []))

    def _m_deleteMyCommands(self, p: dict) -> bool:
        with self._lock:
            self.commands.pop(self._commands_key(p), None)
        return True

    def _m_sendChatAction(self, p: dict) -> bool:
        self._resolve_chat(p["chat_id"])
        if p["action"] not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def _reply_to(self, chat: dict, p: dict) -> dict | None:
        rp = p.get("reply_parameters")
        if not rp:
            return None
        target_chat = chat["id"]
        if rp.get("chat_id") not in (None, ""):
            target_chat = self._resolve_chat(rp["chat_id"])["id"]
        with self._lock:
            m = self.messages.get((target_chat, rp["message_id"]))
        if m is None:
            if rp.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        return m

    @staticmethod
    def _inline_markup(p: dict) -> dict | None:
        rm = p.get("reply_markup")
        return rm if rm and "inline_keyboard" in rm else None

    def _new_bot_message(self, chat: dict, p: dict, content: dict) -> dict:
        msg: dict[str, Any] = {
            "message_id": self._next_message_id(chat["id"]),
            "from": self._bot_from(),
            "chat": chat,
            "date": int(time.time()),
        }
        reply_to = self._reply_to(chat, p)
        if reply_to is not None:
            msg["reply_to_message"] = _public(reply_to, strip_reply=True)
        msg.update(content)
        markup = self._inline_markup(p)
        if markup:
            msg["reply_markup"] = markup
        self._self_check("Message", msg)
        self._store_message(msg)
        return _public(msg)

    def _formatted(self, p: dict, text_key: str, entities_key: str) -> tuple[str, list[dict]]:
        if p.get(entities_key) is not None:
            return strip_formatted(p[text_key], [_norm(e) for e in p[entities_key]])
        plain, ents = parse_formatted(p[text_key], p.get("parse_mode"))
        return strip_formatted(plain, ents)

    def _text_content(self, p: dict) -> dict:
        plain, ents = self._formatted(p, "text", "entities")
        content: dict[str, Any] = {"text": plain}
        if ents:
            content["entities"] = ents
        return content

    def _caption_content(self, p: dict) -> dict:
        if not p.get("caption"):
            return {}
        plain, ents = self._formatted(p, "caption", "caption_entities")
        out: dict[str, Any] = {"caption": plain} if plain else {}
        if ents:
            out["caption_entities"] = ents
        return out

    def _m_sendMessage(self, p: dict) -> dict:
        chat = self._resolve_chat(p["chat_id"])
        return self._new_bot_message(chat, p, self._text_content(p))

    def _file_for(self, value: Any, kind: str, ext: str, **meta: Any) -> dict:
        if isinstance(value, UploadedFile):
            return self._new_file(value.data, kind, ext, filename=value.filename, mime_type=value.content_type, **meta)
        with self._lock:
            known = self.files.get(value)
        if known is not None:
            return {k: known[k] for k in ("file_id", "file_unique_id", "file_size")}
        if re.match(r"https?://", value):
            return self._new_file(b"", kind, ext, source_url=value)
        raise bad_request("wrong file identifier/HTTP URL specified")

    def _m_sendPhoto(self, p: dict) -> dict:
        chat = self._resolve_chat(p["chat_id"])
        f = self._file_for(p["photo"], "photos", "jpg")
        photo = [{**f, "width": 800, "height": 600}]
        return self._new_bot_message(chat, p, {"photo": photo, **self._caption_content(p)})

    def _m_sendDocument(self, p: dict) -> dict:
        chat = self._resolve_chat(p["chat_id"])
        value = p["document"]
        f = self._file_for(value, "documents", "bin")
        doc = dict(f)
        if isinstance(value, UploadedFile):
            if value.filename:
                doc["file_name"] = value.filename
            if value.content_type:
                doc["mime_type"] = value.content_type
        return self._new_bot_message(chat, p, {"document": doc, **self._caption_content(p)})

    def _m_sendMediaGroup(self, p: dict) -> list[dict]:
        chat = self._resolve_chat(p["chat_id"])
        group_id = str(13_000_000_000_000_000 + next(self._ids))
        files = getattr(self._local, "files", {})
        out = []
        for item in p["media"]:
            kind, media = item["type"], item["media"]
            if media.startswith("attach://"):
                media = files[media[len("attach://") :]]
            f = self._file_for(media, kind, "bin")
            content: dict[str, Any] = {"media_group_id": group_id}
            if kind == "photo":
                content["photo"] = [{**f, "width": 800, "height": 600}]
            elif kind in ("video", "live_photo"):
                content["video"] = {**f, "width": 640, "height": 360, "duration": 1}
            else:
                content[kind] = dict(f)
            content.update(self._caption_content(item))
            out.append(self._new_bot_message(chat, {} if out else p, content))
        return out

    def _send_generic(self, method: str, p: dict) -> dict:
        chat = self._resolve_chat(p["chat_id"])
        content: dict[str, Any] = {}
        if method == "sendLocation":
            content["location"] = {"latitude": p["latitude"], "longitude": p["longitude"]}
        elif method == "sendSticker":
            f = self._file_for(p["sticker"], "stickers", "webp")
            content["sticker"] = {**f, "type": "regular", "width": 512, "height": 512,
                                  "is_animated": False, "is_video": False}
        elif method == "sendVoice":
            content["voice"] = {**self._file_for(p["voice"], "voice", "oga"), "duration": p.get("duration", 1)}
        elif method == "sendDice":
            content["dice"] = {"emoji": p.get("emoji", "🎲"), "value": 1}
        elif method == "sendContact":
            content["contact"] = {"phone_number": p["phone_number"], "first_name": p["first_name"]}
        content.update(self._caption_content(p) if "caption" in p else {})
        return self._new_bot_message(chat, p, content)

    def _editable(self, p: dict) -> tuple[dict | None, dict]:
        """(message or None for inline, record to modify)."""
        imid = p.get("inline_message_id")
        if imid:
            if p.get("chat_id") is not None or p.get("message_id") is not None:
                raise bad_request("can't specify both inline_message_id and chat_id/message_id")
            with self._lock:
                rec = self._inline_messages.get(imid)
            if rec is None:
                raise bad_request("message to edit not found")
            return None, rec
        if p.get("chat_id") in (None, ""):
            raise bad_request("chat_id is empty")
        if p.get("message_id") is None:
            raise bad_request("message identifier is not specified")
        chat = self._resolve_chat(p["chat_id"])
        with self._lock:
            msg = self.messages.get((chat["id"], p["message_id"]))
        if msg is None:
            raise bad_request("message to edit not found")
        if msg.get("from", {}).get("id") != self.bot_id:
            raise bad_request("message can't be edited")
        return msg, msg

    _NOT_MODIFIED = ("message is not modified: specified new message content and reply markup are exactly "
                     "the same as a current content and reply markup of a message")

    def _m_editMessageText(self, p: dict) -> Any:
        msg, rec = self._editable(p)
        if msg is not None and "text" not in msg:
            raise bad_request("there is no text in the message to edit")
        plain, ents = self._formatted(p, "text", "entities")
        markup = self._inline_markup(p)
        with self._lock:
            if (rec.get("text") == plain and _norm(rec.get("entities", [])) == _norm(ents)
                    and _norm(rec.get("reply_markup")) == _norm(markup)):
                raise bad_request(self._NOT_MODIFIED)
            rec["text"] = plain
            _set_or_pop(rec, "entities", ents or None)
            _set_or_pop(rec, "reply_markup", markup)
            if msg is None:
                return True
            msg["edit_date"] = int(time.time())
            return _public(msg)

    def _m_editMessageCaption(self, p: dict) -> Any:
        msg, rec = self._editable(p)
        content = self._caption_content(p)
        markup = self._inline_markup(p)
        with self._lock:
            if (rec.get("caption") == content.get("caption")
                    and _norm(rec.get("caption_entities")) == _norm(content.get("caption_entities"))
                    and _norm(rec.get("reply_markup")) == _norm(markup)):
                raise bad_request(self._NOT_MODIFIED)
            _set_or_pop(rec, "caption", content.get("caption"))
            _set_or_pop(rec, "caption_entities", content.get("caption_entities"))
            _set_or_pop(rec, "reply_markup", markup)
            if msg is None:
                return True
            msg["edit_date"] = int(time.time())
            return _public(msg)

    def _m_editMessageReplyMarkup(self, p: dict) -> Any:
        msg, rec = self._editable(p)
        markup = self._inline_markup(p)
        with self._lock:
            if _norm(rec.get("reply_markup")) == _norm(markup):
                raise bad_request(self._NOT_MODIFIED)
            _set_or_pop(rec, "reply_markup", markup)
            if msg is None:
                return True
            msg["edit_date"] = int(time.time())
            return _public(msg)

    def _m_deleteMessage(self, p: dict) -> bool:
        chat = self._resolve_chat(p["chat_id"])
        with self._lock:
            if self.messages.pop((chat["id"], p["message_id"]), None) is None:
                raise bad_request("message to delete not found")
        return True

    def _m_answerCallbackQuery(self, p: dict) -> bool:
        text = p.get("text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER_TEXT:
            raise bad_request("MESSAGE_TOO_LONG")
        with self._lock:
            rec = self._callback_queries.get(p["callback_query_id"])
            if rec is None or rec["answered"]:
                raise bad_request("query is too old and response timeout expired or query ID is invalid")
            rec["answered"] = True
            self.callback_answers[p["callback_query_id"]] = dict(p)
        return True

    def _m_answerInlineQuery(self, p: dict) -> bool:
        results = p["results"]
        if len(results) > MAX_INLINE_RESULTS:
            raise bad_request("RESULTS_TOO_MUCH")
        seen = set()
        for r in results:
            rid = r["id"]
            if not 1 <= len(rid.encode("utf-8")) <= MAX_INLINE_ID_BYTES:
                raise bad_request("RESULT_ID_INVALID")
            if rid in seen:
                raise bad_request("RESULT_ID_DUPLICATE")
            seen.add(rid)
        if len(p.get("next_offset", "").encode("utf-8")) > MAX_NEXT_OFFSET_BYTES:
            raise bad_request("NEXT_OFFSET_INVALID")
        with self._lock:
            rec = self._inline_queries.get(p["inline_query_id"])
            if rec is None or rec["answered"]:
                raise bad_request("query is too old and response timeout expired or query ID is invalid")
            rec["answered"] = True
            self.inline_answers[p["inline_query_id"]] = dict(p)
        return True

    def _m_getChat(self, p: dict) -> dict:
        chat = self._resolve_chat(p["chat_id"])
        info = self._minimal("ChatFullInfo")
        info.update(chat)
        return info

    def _m_getChatMember(self, p: dict) -> dict:
        self._resolve_chat(p["chat_id"])
        uid = p["user_id"]
        if uid == self.bot_id:
            return {"status": "member", "user": self._bot_from()}
        return {"status": "member", "user": self._user(uid, "User", language_code=None)}

    def _m_getFile(self, p: dict) -> dict:
        with self._lock:
            info = self.files.get(p["file_id"])
        if info is None:
            raise bad_request("invalid file_id")
        return {k: info[k] for k in ("file_id", "file_unique_id", "file_size", "file_path")}


# --------------------------------------------------------------------------------------------
# module helpers used above
# --------------------------------------------------------------------------------------------


_SSL_CONTEXT = None


def _bare_ssl_context():
    global _SSL_CONTEXT
    if _SSL_CONTEXT is None:
        import ssl

        _SSL_CONTEXT = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return _SSL_CONTEXT


def _public(msg: dict | None, strip_reply: bool = False) -> dict:
    """A deep copy without the fake's private keys (and without a nested reply, if asked)."""
    out = copy.deepcopy({k: v for k, v in (msg or {}).items() if not k.startswith("_")})
    if strip_reply:
        out.pop("reply_to_message", None)
    if isinstance(out.get("reply_to_message"), dict):
        out["reply_to_message"] = {k: v for k, v in out["reply_to_message"].items() if not k.startswith("_")}
    return out


def _entities_key(text_key: str) -> str:
    return "entities" if text_key in ("text", "message_text") else f"{text_key}_entities"


def _set_or_pop(d: dict, key: str, value: Any) -> None:
    if value is None:
        d.pop(key, None)
    else:
        d[key] = value


def _utf16_slice(text: str, offset: int, length: int) -> str:
    data = text.encode("utf-16-le")
    return data[offset * 2 : (offset + length) * 2].decode("utf-16-le")


def _check_button(button: dict, path: str) -> None:
    actions = [k for k in BUTTON_ACTION_FIELDS if k in button]
    if not button.get("text"):
        raise bad_request(f"can't parse inline keyboard button: Text must be non-empty (at {path})")
    if not actions:
        raise bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise bad_request(
            f"can't parse inline keyboard button: exactly one of {', '.join(actions)} must be used (at {path})"
        )
    if "callback_data" in button and not 1 <= len(button["callback_data"].encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
        raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button and (not button["url"] or any(ch.isspace() for ch in button["url"])):
        raise bad_request("BUTTON_URL_INVALID")


# /cmd or /cmd@bot: not preceded by a word character (Unicode, so not after 汉字), '/', '<' or '>'
_CMD_ENTITY_RE = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])")
_MENTION_RE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}(?![\w@])")
_URL_RE = re.compile(r"(?<![\w@/])https?://[^\s<>\"'，。！？、；：（）]+")


def detect_entities(text: str) -> list[dict]:
    """Entities Telegram's servers add to incoming text: bot_command, mention, url (UTF-16 offsets)."""
    spans: list[tuple[int, int, str]] = []
    for rx, etype in ((_CMD_ENTITY_RE, "bot_command"), (_URL_RE, "url"), (_MENTION_RE, "mention")):
        for m in rx.finditer(text):
            start, end = m.start(), m.end()
            if etype == "url":
                while end > start and text[end - 1] in ".,:;!?)]'\"":
                    end -= 1
            if any(a < end and start < b for a, b, _ in spans):
                continue
            spans.append((start, end, etype))
    spans.sort()
    return [
        {"type": etype, "offset": utf16_len(text[:s]), "length": utf16_len(text[s:e])} for s, e, etype in spans
    ]


__all__ = [
    "ApiError",
    "BotApiSpec",
    "Call",
    "FakeBotAPI",
    "UploadedFile",
    "Validator",
    "detect_entities",
    "parse_formatted",
    "parse_html",
    "parse_markdown",
    "parse_markdown_v2",
    "utf16_len",
]
