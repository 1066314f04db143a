"""Reliability: hostile input, Telegram faults, restarts, per-chat order and bad configuration.

The real Application (``bot.telegram.app.build_application``: handlers, error handler, rate limiter,
``bot.telegram.resilience``) runs against the fake Bot API server on 127.0.0.1, which checks every call
against the Bot API spec and Telegram's limits (HTML that parses, 4096 characters, 64-byte
callback data, ...). Every test ends with ``assert not api.errors``.

Hostile input is property-based (hypothesis): ONE application and fake server serve all the
examples of the module (it runs in its own thread and event loop, so the ``@given`` tests are
plain synchronous tests that push an update and wait for its answer). The number of cases per
entry point and input class is printed at the end of the module and kept in pytest's cache
(``.pytest_cache/v/reliability/cases``).
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import logging
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from telegram import Chat, Message, Update, User
from telegram.error import NetworkError, TimedOut

from bot.answering.service import Service
from bot.ops.store import Store
from bot.telegram import messages
from bot.telegram.resilience import ChatOrderedUpdateProcessor, ResilientRequest, order_key

try:
    from fake_bot_api import DEFAULT_GROUP_ID, FakeBotAPI, parse_html
except ImportError:
    from tests.fake_bot_api import DEFAULT_GROUP_ID, FakeBotAPI, parse_html

ROOT = Path(__file__).resolve().parent.parent
BOT = "LaoshanQABot"
from bot_harness import bot_env, fresh_data_dir, running  # noqa: E402

QUESTIONS = [json.loads(line)["question"] for line in (ROOT / "eval" / "seed-qa-dev.jsonl").open(encoding="utf-8")]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def service(cache_dir) -> Service:
    return Service.from_corpus(ROOT / "corpus", 3, cache_dir)


class ErrorLog(logging.Handler):
    """Records every log record at ERROR or above, from any logger (of one thread, if named)."""

    def __init__(self, thread: str | None = None) -> None:
        super().__init__(logging.ERROR)
        self.thread = thread
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if self.thread is None or record.threadName == self.thread:
            self.records.append(record)

    def __enter__(self) -> ErrorLog:
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        logging.getLogger().removeHandler(self)

    def messages(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()} {r.exc_info[1]!r}" if r.exc_info else f"{r.name}: {r.getMessage()}"
                for r in self.records]


def ok_sends(api: FakeBotAPI, chat_id: int | None = None) -> list:
    return [c for c in api.calls_to("sendMessage")
            if c.ok and (chat_id is None or c.result["chat"]["id"] == chat_id)]


def sends_to(api: FakeBotAPI, chat_id: int) -> list:
    """Every sendMessage to a chat, accepted or not."""
    return [c for c in api.calls_to("sendMessage") if str(c.raw.get("chat_id")) == str(chat_id)]


def buttons(call) -> list[dict]:
    markup = call.params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


BOT_TAGS = {"b", "blockquote"}
ESCAPES = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


def assert_safe_html(text: str) -> str:
    """A reply is Telegram HTML that parses, holds only the bot's own markup, fits one message —
    and every '<', '>' and '&' in it is the bot's markup or an escape, so nothing the user typed
    can reach it unescaped. Returns the visible text."""
    plain, entities = parse_html(text)
    assert {e["type"] for e in entities} <= {"bold", "blockquote"}, entities
    assert {t.lower() for t in re.findall(r"</?([^\s>/]+)", text)} <= BOT_TAGS, text[:300]
    bare = re.sub(r"</?(?:b|blockquote)>", "", ESCAPES.sub("", text))
    assert not set(bare) & set("<>&"), text[:300]
    assert plain.strip() and len(plain) <= 4096
    return plain


# =========================================================================== hostile input

# --- the input classes (each a strategy of strings) ------------------------------------------

CHINESE_WORDS = ["崂山区", "高新技术企业", "多少", "党建", "崂先办", "平台", "群众诉求", "亿元楼", "社区", "人才"]
HTML_BITS = ["<b>", "</b>", "<i>", "</i>", '<a href="https://example.com">点我</a>', "<script>alert(1)</script>",
             "&", "&amp;", "&lt;", "&gt;", "&quot;", "&#60;", "&#x3C;", "&#0;", "&nbsp;", "&#x110000;", "<", ">",
             "<<", ">>", '"', "'", "<blockquote>", "</blockquote>", "<tg-spoiler>", "<pre><code class=\"x\">",
             "<br/>", "<!-- x -->", "<b", "</", "&#", "<img src=x onerror=alert(1)>", "</blockquote></b>"]
MARKDOWN_BITS = ["*", "**", "_", "__", "`", "```", "~", "~~", "||", "[", "]", "(", ")", "[链接](https://example.com)",
                 "\\", ">", "#", "+", "-", "=", "|", "{", "}", ".", "!", "*粗体*", "_斜体_", "`代码`", "```python\nx\n```"]
CONTROL_AND_INVISIBLE = ([chr(c) for c in range(0x20)] + ["\x7f", "\x85", "\u00ad", "\u200b", "\u200c", "\u200d",
                         "\u2060", "\ufeff", "\u2028", "\u2029", "\u3000", "\u00a0", "\ufffc", "\ufffd"])
RTL_BITS = ["مرحبا بالعالم", "كم عدد الشركات؟", "שלום עולם", "מה זה?", "\u202e", "\u202b", "\u202a", "\u202c",
            "\u2066", "\u2067", "\u2069", "\u200f", "\u200e", "\u061c"]
EMOJI = ["😀", "👍", "👍🏽", "👨‍👩‍👧‍👦", "🇨🇳", "🏳️‍🌈", "❤️", "🔥", "🤖", "🀄", "🈶", "#️⃣", "🫠", "\U0001fae8"]

chinese = st.sampled_from(CHINESE_WORDS + QUESTIONS)
any_unicode = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=120)


def mixed(bits: list[str], with_chinese: bool = True) -> st.SearchStrategy[str]:
    parts = st.sampled_from(bits) | chinese if with_chinese else st.sampled_from(bits)
    return st.lists(parts | st.sampled_from([" ", ""]), min_size=1, max_size=25).map("".join)


def repeat_to(n: int) -> st.SearchStrategy[str]:
    """Exactly ``n`` characters, from a repeated fragment (Chinese, hostile or anything)."""
    return (chinese | any_unicode | st.sampled_from(HTML_BITS + EMOJI)).map(lambda s: (s * (n // len(s) + 1))[:n])


def numbers() -> st.SearchStrategy[str]:
    digits = st.sampled_from(list("0123456789") + ["０", "１", "２", "٣", "४", "²", "½", "Ⅻ", "一", "万", "亿",
                                                   ".", ",", "%", "-", "+", "e"])
    return st.lists(digits, min_size=1, max_size=40).map("".join) | st.integers().map(str) | st.floats().map(str)


def english() -> st.SearchStrategy[str]:
    words = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"), min_size=1, max_size=12)
    return (st.lists(words, min_size=1, max_size=20).map(" ".join).map(lambda s: s + "?")
            | st.sampled_from(["How do I install Python?", "What is Laoshan?", "hello", "ok", "Who are you",
                               "DROP TABLE questions; --", "' OR 1=1 --", "null", "undefined", "NaN", "/start"]))


TEXT_CLASSES: dict[str, st.SearchStrategy[str]] = {
    "arbitrary unicode": any_unicode,
    "html fragments": mixed(HTML_BITS),
    "markdown fragments": mixed(MARKDOWN_BITS),
    "control and zero-width": mixed(CONTROL_AND_INVISIBLE),
    "right-to-left": mixed(RTL_BITS),
    "emoji only": st.lists(st.sampled_from(EMOJI), min_size=1, max_size=30).map("".join),
    "numbers only": numbers(),
    "english only": english(),
    "chinese question": chinese,
}


# One fixed case per class, drawn first (hypothesis tries the first alternative early).
SAMPLES = {
    "arbitrary unicode": "ʕ•ᴥ•ʔ ∑∫ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \U0010fffd Ａ",
    "html fragments": "<b>&</b> 崂山区高新技术企业 <script>alert(1)</script> &amp;lt; <a href=\"x\">",
    "markdown fragments": "*崂山区* _高新技术企业_ `多少` [链接](https://example.com) ||剧透|| \\",
    "control and zero-width": "\x00\x01崂\u200b山\u200d区\ufeff\x1b[31m有多少\u2028家\x7f企业",
    "right-to-left": "\u202eكم عدد الشركات؟ 崂山区 שלום\u202c",
    "emoji only": "👨‍👩‍👧‍👦🇨🇳🏳️‍🌈👍🏽",
    "numbers only": "2023",
    "english only": "How do I install Python?",
    "chinese question": "崂山区有多少家高新技术企业？",
    "4096-character message": "崂山区高新技术企业" * 455 + "吗",
    "256-character query": "崂山区党建" * 51 + "崂",
}


def case_of(kind: str, classes: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[str]:
    return st.just(SAMPLES[kind]) | classes[kind] if kind in SAMPLES else classes[kind]


PRIVATE_CLASSES = {**TEXT_CLASSES, "4096-character message": repeat_to(4096)}
ASK_CLASSES = {**TEXT_CLASSES, "4096-character message": repeat_to(4091),
               "empty /ask": st.sampled_from(["", " ", "   ", "\n", "\t", "\u3000"])}
MENTION_CLASSES = {**TEXT_CLASSES, "nothing but the mention": st.just("")}
INLINE_CLASSES = {**TEXT_CLASSES, "256-character query": repeat_to(256), "empty query": st.just("")}
OFFSETS = st.sampled_from(["", "", "", "10", "40", "50", "9999"])
CALLBACK_CLASSES = ["random bytes", "arbitrary unicode", "html/markdown", "look-alike, other generation",
                    "current generation, not on the message", "malformed look-alike"]

PER_CLASS = settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), print_blob=True)
CASES: collections.Counter = collections.Counter()


class BotThread:
    """The real Application in its own thread and event loop, so that synchronous ``@given`` tests
    can push updates and block on the answers (``api.wait_for``) while the bot keeps running."""

    NAME = "hostile-input-bot"

    def __init__(self, api: FakeBotAPI, service: Service, store: Store | None = None) -> None:
        self.api, self.service, self.store = api, service, store
        self.errors: list = []
        self.ready = threading.Event()
        self.failure: BaseException | None = None

    def __enter__(self) -> BotThread:
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), name=self.NAME, daemon=True)
        self.thread.start()
        if not self.ready.wait(30) or self.failure is not None:
            raise RuntimeError(f"the bot did not start: {self.failure!r}")
        return self

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.stopping = asyncio.Event()
        try:
            async with running(self.api, self.service, self.store, self.errors) as app:
                self.app = app
                self.ready.set()
                await self.stopping.wait()
        except BaseException as exc:
            self.failure = exc
            self.ready.set()
            raise

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(30)


class Hostile:
    def __init__(self, api: FakeBotAPI, bot: BotThread, log: ErrorLog) -> None:
        self.api, self.bot, self.log = api, bot, log
        self.ids = itertools.count(1)
        self.chats: dict[int, str] = {}  # chat -> entry point, for the one-answer-each check
        self.inline_queries: list[str] = []

    def user(self) -> int:
        return 700_000_000 + next(self.ids)

    def group(self) -> int:
        return -1_002_000_000_000 - next(self.ids)

    def reply_in(self, chat: int):
        """The one message the bot sent to ``chat``, accepted by the fake server."""
        [call] = self.api.wait_for("sendMessage", where=lambda c: str(c.raw.get("chat_id")) == str(chat),
                                   timeout=15)
        assert call.ok, call.error
        return call

    def group_reply(self, text: str, place: str):
        """Post ``text`` in a new group; the bot's one reply, which quotes it."""
        chat = self.group()
        self.chats[chat] = place
        assert self.api.group_message(text, chat_id=chat) is not None  # the bot sees it
        call = self.reply_in(chat)
        assert call.params["reply_parameters"]["message_id"] == 1  # quotes the question
        return call

    def check_clean(self) -> None:
        assert not self.api.errors, self.api.errors[-3:]
        assert not self.bot.errors, self.bot.errors[-3:]
        assert not self.log.records, self.log.messages()[-3:]


def _fit64(s: str) -> str:
    """Telegram's callback data is 1-64 bytes."""
    while len(s.encode()) > 64:
        s = s[:-1]
    return s


def _bytes_data(b: bytes) -> str:
    return _fit64(b.decode("utf-8", errors="replace"))


def callback_classes(generation: str) -> dict[str, st.SearchStrategy[str]]:
    other_gen = st.text("0123456789abcdef", min_size=1, max_size=8).filter(lambda g: g != generation)
    ref = st.text("0123456789abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12)
    return {
        "random bytes": st.binary(min_size=1, max_size=64).map(_bytes_data).filter(bool),
        "arbitrary unicode": any_unicode.map(_fit64).filter(bool),
        "html/markdown": mixed(HTML_BITS + MARKDOWN_BITS, with_chinese=False).map(_fit64).filter(bool),
        "look-alike, other generation": st.builds(
            lambda tag, gen, r, off: f"{tag}:{gen}:{r}" + (f":{off}" if off is not None else ""),
            st.sampled_from("mpev"), other_gen, ref, st.none() | st.integers(0, 999)),
        "current generation, not on the message": st.builds(
            lambda tag, r, off: f"{tag}:{generation}:{r}" + (f":{off}" if tag in "mv" else ""),
            st.sampled_from("mpev"), ref, st.integers(0, 999)),
        "malformed look-alike": st.builds(
            lambda tag, r, tail: f"{tag}:{generation}:{r}{tail}",
            st.sampled_from("mpevxM"), ref | st.just(""),
            st.sampled_from([":", "::", ":-1", ":1000", ":a", " ", ":1:2"])),
    }


@pytest.fixture(scope="class")
def hostile(service, tmp_path_factory, request):
    store = Store(tmp_path_factory.mktemp("store") / "q.sqlite3")
    with ErrorLog(BotThread.NAME) as log, FakeBotAPI() as api, BotThread(api, service, store) as bot:
        h = Hostile(api, bot, log)
        yield h
        time.sleep(0.3)  # a late second answer would show up now
        for chat, entry in h.chats.items():
            n = len(sends_to(api, chat))
            assert n == 1, f"{entry}: chat {chat} got {n} answers"
        answered = collections.Counter(c.params.get("inline_query_id") for c in api.calls_to("answerInlineQuery"))
        assert all(answered[qid] == 1 for qid in h.inline_queries)
        h.check_clean()
    lines = [f"{entry:>14} | {kind:<28} | {n:>3}" for (entry, kind), n in sorted(CASES.items())]
    print("\nhostile input cases (entry point | input class | cases):\n" + "\n".join(lines))
    print(f"total: {sum(CASES.values())} cases")
    cache = getattr(request.config, "cache", None)  # absent with -p no:cacheprovider
    if cache is not None:
        cache.set("reliability/cases", {f"{e} | {k}": n for (e, k), n in sorted(CASES.items())})


@pytest.fixture(scope="class")
def answered_message(hostile):
    """A private chat where the bot answered with buttons (📄 全文, 更多结果, 👍/👎)."""
    user = hostile.user()
    hostile.chats[user] = "callback data"  # the one answer; the forged buttons must add none
    hostile.api.private_message("崂山区人才服务", user_id=user)
    [call] = hostile.api.wait_for("sendMessage", where=lambda c: c.ok and c.result["chat"]["id"] == user, timeout=15)
    assert {b["callback_data"][0] for b in buttons(call)} == {"p", "m", "v"}
    return user, call


class TestHostileInput:
    """Every entry point, fed every input class (each its own test, ~6 cases): one application."""

    @pytest.mark.parametrize("kind", sorted(PRIVATE_CLASSES))
    @PER_CLASS
    @given(data=st.data())
    def test_private_text_gets_one_valid_answer(self, hostile, kind, data):
        text = data.draw(case_of(kind, PRIVATE_CLASSES), label=kind).strip()[:4096]
        assume(text)  # Telegram delivers no empty or blank message
        user = hostile.user()
        hostile.chats[user] = "private"
        hostile.api.private_message(text, user_id=user, first_name="<b>&amp;</b>")
        call = hostile.reply_in(user)
        assert_safe_html(call.params["text"])
        hostile.check_clean()
        CASES["private text", kind] += 1

    @pytest.mark.parametrize("kind", sorted(ASK_CLASSES))
    @PER_CLASS
    @given(data=st.data())
    def test_group_ask_gets_one_valid_answer(self, hostile, kind, data):
        question = data.draw(case_of(kind, ASK_CLASSES), label=kind)
        command = data.draw(st.sampled_from(["/ask", f"/ask@{BOT}"]), label="command")
        text = (f"{command} {question}".rstrip() if question.strip() else command)[:4096]
        call = hostile.group_reply(text, "group /ask")
        plain = assert_safe_html(call.params["text"])
        if kind == "empty /ask":
            assert plain == messages.ASK_HINT
        hostile.check_clean()
        CASES["group /ask", kind] += 1

    @pytest.mark.parametrize("kind", sorted(MENTION_CLASSES))
    @PER_CLASS
    @given(data=st.data())
    def test_group_mention_gets_one_valid_answer(self, hostile, kind, data):
        question = data.draw(case_of(kind, MENTION_CLASSES), label=kind)
        where = data.draw(st.sampled_from(["start", "end", "middle"]), label="mention at")
        mention = f"@{BOT}"
        if where == "start":
            text = f"{mention} {question}"
        elif where == "end":
            text = f"{question} {mention}"
        else:
            half = len(question) // 2
            text = f"{question[:half]} {mention} {question[half:]}"
        text = text.strip()[:4096]
        assume(not text.startswith("/"))  # that is a command (see the /ask test), not a mention
        call = hostile.group_reply(text, "group mention")  # the mention makes it visible
        assert_safe_html(call.params["text"])
        hostile.check_clean()
        CASES["group mention", kind] += 1

    @pytest.mark.parametrize("kind", sorted(INLINE_CLASSES))
    @PER_CLASS
    @given(data=st.data())
    def test_inline_query_gets_one_valid_answer(self, hostile, kind, data):
        query = data.draw(case_of(kind, INLINE_CLASSES), label=kind)[:256]
        offset = data.draw(OFFSETS, label="offset")
        qid = hostile.api.inline_query(query, offset=offset, user_id=hostile.user())
        hostile.inline_queries.append(qid)
        [call] = hostile.api.wait_for("answerInlineQuery", where=lambda c: c.params.get("inline_query_id") == qid,
                                      timeout=15)
        assert call.ok, call.error
        for result in call.params["results"]:
            content = result["input_message_content"]
            if (content.get("parse_mode") or "").upper() == "HTML":
                assert_safe_html(content["message_text"])
        hostile.check_clean()
        CASES["inline query", kind] += 1

    @pytest.mark.parametrize("kind", CALLBACK_CLASSES)
    @settings(PER_CLASS, max_examples=12)
    @given(data=st.data())
    def test_forged_callback_data_gets_a_short_notice_and_changes_nothing(self, hostile, answered_message, service,
                                                                          kind, data):
        user, _ = answered_message
        forged = data.draw(callback_classes(service.generation)[kind], label=kind)
        assume(forged not in {b["callback_data"] for b in buttons(answered_message[1])})  # a real button
        qid = hostile.api.callback_query(forged, chat_id=user, user_id=user, check_button=False)
        [call] = hostile.api.wait_for("answerCallbackQuery", where=lambda c: c.params.get("callback_query_id") == qid,
                                      timeout=15)
        assert call.ok, call.error
        assert call.params.get("text") == messages.STALE
        assert len(sends_to(hostile.api, user)) == 1  # nothing was sent
        hostile.check_clean()
        CASES["callback data", kind] += 1

    def test_every_input_class_had_cases(self, hostile):
        """Last in the class: no class was emptied by the assumptions (unless deselected)."""
        expected = {"private text": PRIVATE_CLASSES, "group /ask": ASK_CLASSES, "group mention": MENTION_CLASSES,
                    "inline query": INLINE_CLASSES, "callback data": CALLBACK_CLASSES}
        ran = {entry for entry, _ in CASES}
        for entry, kinds in expected.items():
            if entry in ran:
                assert {k for k in kinds if CASES[entry, k] == 0} == set(), entry


# --------------------------------------------------------------------------- odd input, one case each


async def test_forged_inline_offsets_are_answered(service):
    with ErrorLog() as log, FakeBotAPI() as api:
        async with running(api, service):
            for offset in ("²", "٣", "-1", "abc", "1e3", " 10", "9" * 64):
                qid = api.inline_query("崂山区党建", offset=offset)
                await api.await_calls("answerInlineQuery", where=lambda c, qid=qid: c.params.get("inline_query_id") == qid)
        assert not api.errors and not log.records


async def test_another_chats_button_gets_a_notice_and_changes_nothing(service, tmp_path):
    store = Store(tmp_path / "q.sqlite3")
    with FakeBotAPI() as api:
        async with running(api, service, store):
            api.private_message("崂山区人才服务", user_id=1)
            [a] = await api.await_calls("sendMessage", where=lambda c: c.ok)
            api.private_message("崂山区有多少家高新技术企业？", user_id=2)
            await api.await_calls("sendMessage", count=2, where=lambda c: c.ok)
            foreign = [b["callback_data"] for b in buttons(a)]  # chat 1's buttons ...
            foreign.append(f"p:{service.generation}:0")  # ... and a made-up one with the right generation
            for data in foreign:
                api.callback_query(data, chat_id=2, user_id=2, check_button=False)  # pressed in chat 2
            acks = await api.await_calls("answerCallbackQuery", count=len(foreign))
            await asyncio.sleep(0.3)
        assert [c.params.get("text") for c in acks] == [messages.STALE] * len(foreign)
        assert len(ok_sends(api)) == 2
        assert store._db.execute("SELECT COUNT(*) FROM feedback").fetchone() == (0,)
        assert not api.errors


async def test_ask_glued_to_its_question_is_answered(service):
    with FakeBotAPI() as api:
        async with running(api, service):
            api.group_message("/ask：崂山区有多少家高新技术企业？")
            [call] = await api.await_calls("sendMessage", where=lambda c: c.ok, timeout=2)
        assert "920家" in call.result["text"]


async def test_an_unknown_command_in_private_gets_an_answer(service):
    with FakeBotAPI() as api:
        async with running(api, service):
            api.private_message("/foo 崂山区有多少家高新技术企业？", user_id=1)
            api.private_message("/help@SomeOtherBot", user_id=2)
            calls = await api.await_calls("sendMessage", count=2, where=lambda c: c.ok, timeout=5)
            api.group_message("/foo 崂山区有多少家高新技术企业？")  # in a group: silence
            await asyncio.sleep(0.3)
        assert [c.params["text"] for c in calls] == [messages.UNKNOWN_COMMAND] * 2
        assert len(ok_sends(api)) == 2
        assert not api.errors


# =========================================================================== non-text messages

NON_TEXT = {
    "sticker": lambda api, **kw: api.sticker_message(**kw),
    "photo": lambda api, **kw: api.photo_message(**kw),
    "photo with caption": lambda api, **kw: api.photo_message(caption="<b>崂山区</b>有多少家企业？", **kw),
    "voice": lambda api, **kw: api.voice_message(**kw),
    "location": lambda api, **kw: api.location_message(**kw),
}


async def test_non_text_in_private_gets_a_one_line_hint_and_in_groups_silence(service):
    with FakeBotAPI(privacy_mode=False) as api:
        async with running(api, service):
            for i, send in enumerate(NON_TEXT.values()):
                send(api, user_id=500 + i)  # each in its own private chat
                send(api, chat_id=DEFAULT_GROUP_ID, user_id=500 + i)  # and in the group, seen (privacy off)
            hints = await api.await_calls("sendMessage", count=len(NON_TEXT), where=lambda c: c.ok)
            api.group_message("/ask 崂山区新增了多少个停车位？")  # the group still gets answers
            await api.await_calls("sendMessage", count=len(NON_TEXT) + 1, where=lambda c: c.ok)
            await asyncio.sleep(0.3)
        assert sorted(c.result["chat"]["id"] for c in hints) == [500 + i for i in range(len(NON_TEXT))]
        assert all(c.params["text"] == messages.NON_TEXT_HINT and "\n" not in c.params["text"] for c in hints)
        [group_answer] = ok_sends(api, DEFAULT_GROUP_ID)
        assert "1.3万个" in group_answer.result["text"]
        assert not api.errors


# =========================================================================== stale buttons


async def test_old_buttons_after_the_index_changed_get_a_notice_and_change_nothing(service, tmp_path):
    store = Store(tmp_path / "q.sqlite3")
    with FakeBotAPI() as api:
        async with running(api, service, store) as app:
            api.private_message("崂山区人才服务")
            [answer] = await api.await_calls("sendMessage", where=lambda c: c.ok)
            old = [b["callback_data"] for b in buttons(answer)]
            assert {d[0] for d in old} == {"p", "m", "v"}
            # a reload with other documents: same passages here, but another generation
            app.bot_data["service"] = Service(service.index, service.corpus_path, service.top_k,
                                              generation="0" if service.generation != "0" else "1")
            for data in old:
                api.callback_query(data)  # the real buttons of the old answer
            acks = await api.await_calls("answerCallbackQuery", count=len(old))
            await asyncio.sleep(0.3)
        assert [c.params.get("text") for c in acks] == [messages.STALE] * len(old)
        assert len(api.calls_to("sendMessage")) == 1
        assert store._db.execute("SELECT COUNT(*) FROM feedback").fetchone() == (0,)
        assert not api.errors


# =========================================================================== Telegram faults


async def _ask_and_get_answer(api: FakeBotAPI, question: str, user: int, timeout: float = 15.0):
    api.private_message(question, user_id=user)
    [call] = await api.await_calls("sendMessage", timeout=timeout,
                                   where=lambda c: c.ok and c.result["chat"]["id"] == user)
    return call


async def test_a_429_is_waited_out_then_delivered_and_the_next_question_answered(fake_api, service):
    async with running(fake_api, service):
        fake_api.fail_next("sendMessage", 429, retry_after=1)
        first = await _ask_and_get_answer(fake_api, "崂山区的亿元楼有多少座？", 1)
        second = await _ask_and_get_answer(fake_api, "崂山区新增了多少个停车位？", 2)
    tries = sends_to(fake_api, 1)
    assert [c.status for c in tries] == [429, 200]
    assert first.at - tries[0].at >= 1.0 and "40座" in first.result["text"]
    assert "1.3万个" in second.result["text"]
    assert not fake_api.errors


@pytest.mark.parametrize("fault, times", [("500", 1), ("502", 1), ("503", 1), ("504", 1), ("drop", 1),
                                          ("500", 2), ("drop", 2)])
async def test_server_errors_and_dropped_connections_on_send_are_retried(fake_api, service, caplog, fault, times):
    async with running(fake_api, service):
        if fault == "drop":
            fake_api.drop_next("sendMessage", times=times)
        else:
            description = {"503": "Service Unavailable", "504": "Gateway Timeout"}.get(fault)
            fake_api.fail_next("sendMessage", int(fault), description=description, times=times)
        first = await _ask_and_get_answer(fake_api, "崂山区的亿元楼有多少座？", 1)
        second = await _ask_and_get_answer(fake_api, "崂山区新增了多少个停车位？", 2)
    assert len(sends_to(fake_api, 1)) == times + 1  # the failures, then the delivery
    assert "40座" in first.result["text"] and "1.3万个" in second.result["text"]
    assert len(sends_to(fake_api, 2)) == 1
    retried = [r for r in caplog.records if r.name == "bot.telegram.resilience" and "sendMessage" in r.getMessage()]
    assert len(retried) == times
    assert not fake_api.errors


async def test_a_send_that_keeps_failing_is_given_up_after_three_tries(fake_api, service, caplog):
    async with running(fake_api, service):
        fake_api.fail_next("sendMessage", 500, times=3)
        fake_api.private_message("崂山区的亿元楼有多少座？", user_id=1)
        await fake_api.await_calls("sendMessage", count=3)
        await asyncio.sleep(0.8)  # no fourth try
        assert [c.status for c in sends_to(fake_api, 1)] == [500] * 3
        second = await _ask_and_get_answer(fake_api, "崂山区新增了多少个停车位？", 2)
    assert "1.3万个" in second.result["text"]
    assert any("update skipped" in r.getMessage() for r in caplog.records)  # logged by the error handler
    assert not fake_api.errors


@pytest.mark.parametrize("status, description, level", [
    (403, "Forbidden: bot was blocked by the user", logging.INFO),
    (400, "Bad Request: message is not modified: specified new message content and reply markup are exactly "
          "the same as a current content and reply markup of a message", logging.DEBUG),
])
async def test_blocked_and_not_modified_are_not_retried_and_not_errors(fake_api, service, caplog, status,
                                                                       description, level):
    caplog.set_level(logging.DEBUG, logger="bot")
    async with running(fake_api, service):
        fake_api.fail_next("sendMessage", status, description=description)
        fake_api.private_message("崂山区的亿元楼有多少座？", user_id=1)
        await fake_api.await_calls("sendMessage")
        second = await _ask_and_get_answer(fake_api, "崂山区新增了多少个停车位？", 2)
        await asyncio.sleep(0.3)
    assert [c.status for c in sends_to(fake_api, 1)] == [status]  # tried once
    assert "1.3万个" in second.result["text"]
    handled = [r for r in caplog.records if r.name == "bot.telegram.handlers"]
    assert handled and all(r.levelno == level for r in handled), [(r.levelname, r.getMessage()) for r in handled]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("bot")]
    assert not fake_api.errors


@pytest.mark.parametrize("fault, times", [("500", 2), ("502", 1), ("drop", 2), ("500", 4)])
async def test_get_updates_failures_do_not_stop_polling(fake_api, service, fault, times):
    async with running(fake_api, service):
        if fault == "drop":
            fake_api.drop_next("getUpdates", times=times)
        else:
            fake_api.fail_next("getUpdates", int(fault), times=times)
        await fake_api.await_calls("getUpdates", count=times, where=lambda c: c.injected, timeout=15)
        call = await _ask_and_get_answer(fake_api, "崂山区的亿元楼有多少座？", 1)
    assert "40座" in call.result["text"]
    assert not fake_api.errors


async def test_a_get_updates_that_times_out_is_polled_again(fake_api, service):
    """The Bot API holds a long poll past the client's read timeout (5 s + the poll's 1 s)."""
    fake_api.delay_next("getUpdates", 60)  # released when the fake server stops
    async with running(fake_api, service):
        started = time.monotonic()
        call = await _ask_and_get_answer(fake_api, "崂山区的亿元楼有多少座？", 1, timeout=20)
    assert call.at - started >= 4  # answered by the next poll, after the timeout
    assert "40座" in call.result["text"]
    assert not fake_api.errors


# --------------------------------------------------------------------------- the request class alone


async def test_resilient_request_retries_refused_connections_but_not_timeouts(fake_api):
    refused = ResilientRequest(backoff=0.01)
    dead = fake_api.method_url("getMe").replace(f":{fake_api.port}/", ":9/")  # the discard port: closed
    try:
        with pytest.raises(NetworkError) as caught:
            await refused.post(dead)
        assert not isinstance(caught.value, TimedOut)
        assert refused.retries == 2  # three tries in all
    finally:
        await refused.shutdown()

    slow = ResilientRequest(read_timeout=0.3, backoff=0.01)
    fake_api.delay_next("getMe", 1.0)
    try:
        with pytest.raises(TimedOut):
            await slow.post(fake_api.method_url("getMe"))
        assert slow.retries == 0  # a send that timed out may have been delivered: never sent twice
    finally:
        await slow.shutdown()


async def test_a_5xx_error_page_that_outlasts_the_retries_is_a_plain_network_error(fake_api, caplog):
    request = ResilientRequest(backoff=0.01)
    fake_api.fail_next("getMe", 502, times=3)  # nginx's HTML "502 Bad Gateway" page, three times
    try:
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await request.post(fake_api.method_url("getMe"))
    finally:
        await request.shutdown()
    assert request.retries == 2
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # PTB logged no parse traceback


async def test_the_request_tells_which_kind_of_no_an_answer_is_and_leaves_downloads_alone(fake_api):
    from telegram import Bot

    from bot.telegram.resilience import NotBotApi, NotFound, Unauthorized

    request = ResilientRequest(backoff=0.01)
    try:
        fake_api.fail_next("getMe", 401)
        with pytest.raises(Unauthorized):
            await request.post(fake_api.method_url("getMe"))
        fake_api.fail_next("getMe", 404)
        with pytest.raises(NotFound):
            await request.post(fake_api.method_url("getMe"))
        fake_api.fail_next("getMe", 415, html=True)
        with pytest.raises(NotBotApi, match="HTTP 415 with an HTML page"):
            await request.post(fake_api.method_url("getMe"))
        fake_api.fail_next("getMe", 200, html=True)  # a captive portal's "OK"
        with pytest.raises(NotBotApi, match="HTTP 200 with an HTML page"):
            await request.post(fake_api.method_url("getMe"))
        # A file is not JSON, and its download (a GET) is not judged as an answer.
        pdf = b"%PDF-1.4 <html> not JSON"
        fake_api.document_message(pdf, file_name="a.pdf", mime_type="application/pdf")
        file_id = fake_api.pushed_updates[-1]["message"]["document"]["file_id"]
        async with Bot(fake_api.token, base_url=fake_api.base_url, base_file_url=fake_api.base_file_url,
                       request=request) as bot:
            assert bytes(await (await bot.get_file(file_id)).download_as_bytearray()) == pdf
    finally:
        await request.shutdown()
    assert not fake_api.errors


# =========================================================================== no loss, no duplicates


async def test_stop_mid_batch_and_restart_answers_every_update_exactly_once(service):
    groups = [DEFAULT_GROUP_ID - i for i in range(3)]
    with FakeBotAPI() as api:
        asked: dict[tuple[int, int], int] = {}  # (chat, message id) -> update id

        def ask(chat: int, i: int) -> None:
            update_id = api.group_message(f"/ask {QUESTIONS[i % len(QUESTIONS)]}", chat_id=chat)
            message = next(u for u in api.pushed_updates if u["update_id"] == update_id)["message"]
            asked[chat, message["message_id"]] = update_id

        for i in range(10):
            for chat in groups:
                ask(chat, i)
        api.delay_next("sendMessage", 0.1, times=30)  # answers trickle: the stop comes mid-batch
        first_batch = max(asked.values())
        async with running(api, service) as app:
            await api.await_calls("sendMessage", count=10, where=lambda c: c.ok, timeout=15)
            await app.bot_data["session"].stop_fetching()  # as on SIGTERM: stop fetching ...
            assert api.acknowledged_offset == first_batch + 1  # (the poller confirms what it fetched)
            assert len(ok_sends(api)) < 30, "the stop came too late to be mid-batch"
            await app.stop()  # ... then handle everything already fetched
            assert len(ok_sends(api)) == 30
        for i in range(10):  # asked while the bot is down
            ask(DEFAULT_GROUP_ID - 9, i)
        async with running(api, service):
            await api.await_calls("sendMessage", count=40, where=lambda c: c.ok, timeout=15)
            await asyncio.sleep(0.5)
        answered = collections.Counter(
            asked[c.result["chat"]["id"], c.params["reply_parameters"]["message_id"]] for c in ok_sends(api))
        assert sorted(answered) == sorted(asked.values())
        assert set(answered.values()) == {1}
        assert not api.errors


def test_sigterm_mid_batch_answers_everything_fetched_once_and_exits_cleanly(cache_dir, tmp_path):
    """The real thing: `python -m bot` (run_polling) gets SIGTERM while it is answering a batch."""
    groups = [DEFAULT_GROUP_ID - i for i in range(3)]
    with FakeBotAPI() as api:
        asked = {}
        for i in range(10):
            for chat in groups:
                update_id = api.group_message(f"/ask {QUESTIONS[i]}", chat_id=chat)
                asked[chat, api.pushed_updates[-1]["message"]["message_id"]] = update_id
        api.delay_next("sendMessage", 0.1, times=30)
        env = bot_env(api, fresh_data_dir(cache_dir, tmp_path))
        proc = subprocess.Popen([sys.executable, "-m", "bot"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            api.wait_for("sendMessage", count=10, where=lambda c: c.ok, timeout=30)
            assert len(ok_sends(api)) < 30, "the stop came too late to be mid-batch"
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        answered = collections.Counter(
            asked[c.result["chat"]["id"], c.params["reply_parameters"]["message_id"]] for c in ok_sends(api))
        assert proc.returncode == 0 and "Traceback" not in err, err[-2000:]
        assert sorted(answered) == sorted(asked.values()) and set(answered.values()) == {1}
        assert api.acknowledged_offset == max(asked.values()) + 1  # a restart will not get them again
        assert not api.errors


# =========================================================================== per-chat order


async def test_answers_in_one_chat_keep_the_order_asked_while_chats_interleave(service):
    groups = [DEFAULT_GROUP_ID - i for i in range(5)]
    with FakeBotAPI() as api:
        async with running(api, service):
            api.delay_next("sendMessage", 0.6)  # the first answer sent is slow
            for i in range(10):
                for chat in groups:
                    api.group_message(f"/ask {QUESTIONS[i]}", chat_id=chat)
            calls = await api.await_calls("sendMessage", count=50, where=lambda c: c.ok, timeout=20)
        assert not api.errors
    slow = max(calls, key=lambda c: c.finished_at - c.at)
    assert slow.finished_at - slow.at >= 0.6
    for chat in groups:
        mine = sorted((c for c in calls if c.result["chat"]["id"] == chat), key=lambda c: c.result["message_id"])
        assert [c.params["reply_parameters"]["message_id"] for c in mine] == list(range(1, 11)), chat
    later_in_slow_chat = [c for c in calls if c.result["chat"]["id"] == slow.result["chat"]["id"] and c is not slow]
    assert all(c.at >= slow.finished_at for c in later_in_slow_chat)  # nothing overtook the slow answer
    others_meanwhile = [c for c in calls if c.result["chat"]["id"] != slow.result["chat"]["id"]
                        and c.finished_at < slow.finished_at]
    assert len(others_meanwhile) >= 5  # ... while the other chats went on


def _update(n: int, chat: int) -> Update:
    return Update(n, message=Message(n, date=None, chat=Chat(chat, Chat.PRIVATE), text="q",
                                     from_user=User(chat, "u", False)))


async def test_the_processor_orders_per_chat_bounds_concurrency_and_forgets_idle_chats():
    rng = random.Random(7)
    processor = ChatOrderedUpdateProcessor(max_concurrent_updates=4)
    assert processor.max_concurrent_updates == 4
    done: list[tuple[int, int]] = []
    running_now = peak = 0

    async def handle(chat: int, i: int) -> None:
        nonlocal running_now, peak
        running_now += 1
        peak = max(peak, running_now)
        await asyncio.sleep(rng.random() * 0.005)
        done.append((chat, i))
        running_now -= 1

    async with processor:
        # chat 1 floods the bot with 60 updates; chat 2..7 send 5 each, after the flood started
        updates = [(1, i) for i in range(60)] + [(c, i) for i in range(5) for c in range(2, 8)]
        tasks = [asyncio.create_task(processor.process_update(_update(n, c), handle(c, i)))
                 for n, (c, i) in enumerate(updates)]
        await asyncio.gather(*tasks)
        assert processor.tracked_chats == 0  # idle chats are forgotten
    for chat in range(1, 8):
        assert [i for c, i in done if c == chat] == sorted(i for c, i in done if c == chat)
    assert 1 < peak <= 4
    flood_end = max(k for k, (c, _) in enumerate(done) if c == 1)
    assert all(k < flood_end for k, (c, _) in enumerate(done) if c != 1)  # not stuck behind the flood
    assert order_key(_update(1, 5)) == ("chat", 5)
    assert order_key(object()) is None


async def test_a_cancelled_update_waiting_its_turn_leaves_nothing_behind():
    processor = ChatOrderedUpdateProcessor(max_concurrent_updates=2)
    gate = asyncio.Event()

    async def blocked() -> None:
        await gate.wait()

    async def never() -> None:  # pragma: no cover - must not run
        raise AssertionError("ran after being cancelled")

    first = asyncio.create_task(processor.process_update(_update(1, 9), blocked()))
    second = asyncio.create_task(processor.process_update(_update(2, 9), never()))
    await asyncio.sleep(0.01)
    second.cancel()
    gate.set()
    await first
    with pytest.raises(asyncio.CancelledError):
        await second
    assert processor.tracked_chats == 0


# =========================================================================== bad configuration

TOKEN = "123456789:AAHfAkE0fFl1nE7e5tT0kEn-Laoshan_QAbot"


def _corpus(tmp: Path, name: str, files: dict[str, bytes]) -> Path:
    d = tmp / name
    d.mkdir()
    for fname, data in files.items():
        (d / fname).write_bytes(data)
    return d


def _config_cases(tmp: Path) -> dict[str, tuple[dict[str, str], list[str]]]:
    """name -> (settings, what the one line must name)."""
    good_jsonl = '{"id": "a", "title": "标题", "text": "崂山区很好。"}\n'.encode()
    latin = _corpus(tmp, "latin", {"a.txt": "# 标题\n\n崂山区".encode() + b"\n\n\xff\xfe\x81 caf\xe9\n"})
    broken = _corpus(tmp, "broken", {"d.jsonl": good_jsonl + b'{"id": "b", "title": \n' + good_jsonl})
    notext = _corpus(tmp, "notext", {"d.jsonl": b'{"id": "a", "title": "t"}\n'})
    return {
        "BOT_TOKEN garbage": ({"BOT_TOKEN": "not-a-token"}, ["BOT_TOKEN"]),
        "BOT_TOKEN with a space": ({"BOT_TOKEN": TOKEN[:20] + " " + TOKEN[20:]}, ["BOT_TOKEN"]),
        "ADMIN_IDS not numbers": ({"ADMIN_IDS": "12,abc"}, ["ADMIN_IDS", "abc"]),
        "BOT_API_BASE_URL not http": ({"BOT_API_BASE_URL": "ftp://127.0.0.1/bot"}, ["BOT_API_BASE_URL"]),
        "BOT_API_BASE_URL no scheme": ({"BOT_API_BASE_URL": "127.0.0.1:8081/bot"}, ["BOT_API_BASE_URL"]),
        "BOT_API_BASE_URL bad port": ({"BOT_API_BASE_URL": "http://127.0.0.1:abc/bot"}, ["BOT_API_BASE_URL"]),
        "BOT_API_BASE_URL port out of range": ({"BOT_API_BASE_URL": "http://127.0.0.1:99999/bot"},
                                               ["BOT_API_BASE_URL"]),
        "BOT_API_BASE_URL without /bot": ({"BOT_API_BASE_URL": "http://127.0.0.1:8081"}, ["BOT_API_BASE_URL"]),
        "WEBHOOK_LISTEN not an address": ({"WEBHOOK_LISTEN": "0.0.0.0:8443"}, ["WEBHOOK_LISTEN"]),
        "corpus not UTF-8": ({"CORPUS_PATH": str(latin)}, ["a.txt"]),
        "corpus empty directory": ({"CORPUS_PATH": str(_corpus(tmp, "empty", {}))}, ["empty"]),
        "corpus empty file": ({"CORPUS_PATH": str(_corpus(tmp, "emptyfile", {"e.md": b""}))}, ["e.md"]),
        "jsonl broken line": ({"CORPUS_PATH": str(broken)}, ["d.jsonl:2"]),
        "jsonl missing text": ({"CORPUS_PATH": str(notext)}, ["d.jsonl:1"]),
        "DATA_DIR is a file": ({"DATA_DIR": str(_corpus(tmp, "datafile", {"f": b""}) / "f" / "sub")}, ["DATA_DIR"]),
    }


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARNING) ")


@pytest.fixture(scope="module")
def config_runs(tmp_path_factory, service, cache_dir):
    """Every bad configuration started at once (`python -m bot`, the run path, BOT_TOKEN set), against
    a fake Bot API server that must not hear from any of them."""
    tmp = tmp_path_factory.mktemp("config")
    cases = {name: case for name, case in _config_cases(tmp).items() if name in CONFIG_CASES}
    with FakeBotAPI() as api:
        base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT", "TMPDIR")}
        base.update({"BOT_TOKEN": api.token, "BOT_API_BASE_URL": api.base_url, "CORPUS_PATH": str(ROOT / "corpus"),
                     "ADMIN_IDS": "", "WEBHOOK_URL": "", "TOP_K": "", "LOG_LEVEL": "", "LOG_RETENTION_DAYS": "",
                     "PYTHONPATH": str(ROOT)})

        def run(name: str) -> subprocess.CompletedProcess:
            env = {**base, "DATA_DIR": str(cache_dir), **cases[name][0]}  # the index is cached there
            return subprocess.run([sys.executable, "-m", "bot"], cwd=ROOT, env=env, capture_output=True,
                                  text=True, timeout=60, stdin=subprocess.DEVNULL)

        with ThreadPoolExecutor(3) as pool:
            results = dict(zip(cases, pool.map(run, cases)))
        contacted = list(api.calls)
    return cases, results, contacted


CONFIG_CASES = [
    "BOT_TOKEN garbage", "BOT_TOKEN with a space", "ADMIN_IDS not numbers", "BOT_API_BASE_URL not http",
    "BOT_API_BASE_URL no scheme", "BOT_API_BASE_URL bad port", "BOT_API_BASE_URL port out of range",
    "BOT_API_BASE_URL without /bot", "WEBHOOK_LISTEN not an address",
    "corpus not UTF-8", "corpus empty directory", "corpus empty file", "jsonl broken line", "jsonl missing text",
    "DATA_DIR is a file",
]


@pytest.mark.parametrize("name", CONFIG_CASES)
def test_bad_configuration_stops_the_start_with_one_line(config_runs, name):
    cases, results, contacted = config_runs
    result = results[name]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, (result.returncode, result.stderr[-800:])
    assert "Traceback" not in result.stderr
    # one line: "error: ..." — after a log line or two when the index was already being built
    assert lines and lines[-1].startswith("error: "), result.stderr[-800:]
    assert all(LOG_LINE.match(line) for line in lines[:-1]), result.stderr[-800:]
    for word in cases[name][1]:
        assert word in lines[-1], (word, lines[-1])
    assert result.stdout == ""
    assert not contacted, "a bad configuration must stop the start before Telegram is contacted"


def test_a_token_the_bot_api_rejects_stops_the_start_with_one_line_and_no_token(cache_dir, tmp_path):
    revoked = "987654321:RevokedRevokedRevokedRevokedRevoked00"
    with FakeBotAPI() as api:  # it accepts only its own token
        env = bot_env(api, fresh_data_dir(cache_dir, tmp_path), BOT_TOKEN=revoked, LOG_LEVEL="INFO")
        result = subprocess.run([sys.executable, "-m", "bot"], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=60, stdin=subprocess.DEVNULL)
    assert revoked not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert result.returncode == 3 and result.stderr.strip().splitlines()[-1].startswith("error: BOT_TOKEN")


def test_a_bot_api_failing_at_start_is_waited_for(cache_dir, tmp_path):
    with FakeBotAPI() as api:
        api.fail_next("getMe", 502, times=6)  # every getMe try of the first two start-up attempts
        api.group_message(f"/ask {QUESTIONS[1]}")
        env = bot_env(api, fresh_data_dir(cache_dir, tmp_path))
        proc = subprocess.Popen([sys.executable, "-m", "bot"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 20
            while not ok_sends(api) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            assert proc.poll() is None, "the bot gave up"
            assert ok_sends(api), "no answer within 20 s"
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                _, err = proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
        assert proc.returncode == 0 and "Traceback" not in err, err[-1500:]
        assert not api.errors
