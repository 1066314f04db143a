"""Scenario helpers for tests: users writing to the bot (text, media), inline queries, button presses."""

from __future__ import annotations

import time
from typing import Any

from .common import (
    DEFAULT_FIRST_NAME,
    DEFAULT_GROUP_ID,
    DEFAULT_GROUP_TITLE,
    DEFAULT_USER_ID,
    MAX_INLINE_QUERY_LEN,
    _public,
)
from .text import _utf16_slice, detect_entities


class Scenarios:
    """What users do, queued as updates for the bot (mixin of FakeBotAPI; builds on ChatState)."""

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

    def document_message(self, data: bytes = b"hello", *, file_name: str | None = "doc.txt",
                         mime_type: str | None = "text/plain", caption: str | None = None,
                         chat_id: int | None = None, user_id: int = DEFAULT_USER_ID,
                         first_name: str = DEFAULT_FIRST_NAME, file_size: int | None = None) -> int | None:
        """A user sends a file (the bot fetches it with getFile, then from /file/bot<token>/<path>).
        ``file_size``: the size Telegram reports, when it should differ from ``len(data)`` (a
        file over the 20 MB download limit without holding 20 MB here)."""
        ext = (file_name or "").rsplit(".", 1)[-1] if "." in (file_name or "") else "bin"
        f = self._new_file(data, "documents", ext)
        if file_size is not None:
            f["file_size"] = file_size
            with self._lock:
                self.files[f["file_id"]]["file_size"] = file_size
        doc: dict[str, Any] = dict(f)
        if file_name is not None:
            doc["file_name"] = file_name
        if mime_type is not None:
            doc["mime_type"] = mime_type
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
