"""Method models for messages: send*, edit*, deleteMessage, answerCallbackQuery, answerInlineQuery."""

from __future__ import annotations

import re
import time
from typing import Any

from .common import (
    MAX_CALLBACK_ANSWER_TEXT,
    MAX_INLINE_ID_BYTES,
    MAX_INLINE_RESULTS,
    MAX_NEXT_OFFSET_BYTES,
    UploadedFile,
    _norm,
    _public,
    _set_or_pop,
    bad_request,
)
from .text import parse_formatted, strip_formatted


class MessageRoutes:
    """``_m_<method>`` handlers that send, edit, delete or answer (mixin of FakeBotAPI)."""

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
