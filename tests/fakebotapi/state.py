"""The fake's Telegram state: the bot, users, chats, stored messages, files and the update queue."""

from __future__ import annotations

import time
from typing import Any

from .common import (
    DEFAULT_FIRST_NAME,
    DEFAULT_GROUP_ID,
    DEFAULT_GROUP_TITLE,
    DEFAULT_USER_ID,
    ApiError,
    _public,
    bad_request,
)
from .spec import Validator, _Invalid


class ChatState:
    """FakeBotAPI's chats, messages, files and updates (mixin: the state lives in ``FakeBotAPI.__init__``)."""

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

    def _find(self, chat_id: int, message_id: int) -> dict:
        with self._lock:
            m = self.messages.get((chat_id, message_id))
        if m is None:
            raise ValueError(f"no message {message_id} in chat {chat_id}")
        return m

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

    def _self_check(self, type_name: str, obj: dict) -> None:
        """The fake's own objects must match the spec too (bug in the fake otherwise)."""
        try:
            Validator(self.spec).check(_public(obj), [type_name], "")
        except _Invalid as exc:
            raise AssertionError(f"fake_bot_api built an invalid {type_name}: {exc.message()}") from None
