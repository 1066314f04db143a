"""Telegram's parse modes: the HTML, MarkdownV2 and legacy Markdown parsers (text -> plain text + entities)."""

from __future__ import annotations

import re
from typing import Any

from .common import utf16_len


def _byte_offset(text: str, i: int) -> int:
    return len(text[:i].encode("utf-8"))


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
            # <pre><code class="language-x"> : the language goes to the enclosing pre
            if kind == "code" and top.get("language") and stack and stack[-1]["kind"] == "pre":
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
