"""Method models for the bot itself: getMe, getUpdates, webhooks, commands, chat actions, getChat, getFile."""

from __future__ import annotations

import copy
import json
import re
import time
import urllib.parse
from typing import TYPE_CHECKING, Any

from .common import MAX_COMMANDS, MAX_DOWNLOAD_BYTES, ApiError, bad_request
from .spec import ARRAY_PREFIX

if TYPE_CHECKING:
    from .wire import _Handler

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

_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")


class BotRoutes:
    """``_m_<method>`` handlers that are not about messages (mixin of FakeBotAPI)."""

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
        """A file the bot may download: known, and at most 20 MB (LIMITS.md: bots download up to
        20 MB; Telegram answers "file is too big" above that and gives no file_path)."""
        with self._lock:
            info = self.files.get(p["file_id"])
        if info is None:
            raise bad_request("invalid file_id")
        if info["file_size"] > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        with self._lock:
            info["downloadable"] = True  # the file_path below now works at /file/bot<token>/
        return {k: info[k] for k in ("file_id", "file_unique_id", "file_size", "file_path")}
