"""Formatted text as Telegram treats it: parse_mode dispatch, whitespace trim, length limits, incoming entities."""

from __future__ import annotations

import re

from .common import MAX_CAPTION, MAX_TEXT, bad_request, utf16_len
from .parse_modes import EntityParseError, parse_html, parse_markdown, parse_markdown_v2


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


def check_formatting(obj: dict, where: str) -> None:
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


def _entities_key(text_key: str) -> str:
    return "entities" if text_key in ("text", "message_text") else f"{text_key}_entities"


def _utf16_slice(text: str, offset: int, length: int) -> str:
    data = text.encode("utf-16-le")
    return data[offset * 2 : (offset + length) * 2].decode("utf-16-le")


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
