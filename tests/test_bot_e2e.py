"""End to end: the real Application against the fake Bot API server on 127.0.0.1.

Every call the bot makes is checked by the fake against the Bot API 10.0 spec and Telegram's
limits; each test ends with ``assert not api.errors``.
"""

from __future__ import annotations

import asyncio
import html
import shutil
import time
from pathlib import Path

import pytest

from bot.answering import answer as answering
from bot.answering.service import Service
from bot.ops.store import Store
from bot.telegram import messages

try:
    from fake_bot_api import DEFAULT_GROUP_ID, DEFAULT_USER_ID, ApiError, FakeBotAPI
except ImportError:
    from tests.fake_bot_api import DEFAULT_GROUP_ID, DEFAULT_USER_ID, ApiError, FakeBotAPI

ROOT = Path(__file__).resolve().parent.parent
from bot_harness import ADMIN, running  # noqa: E402

BOT = "LaoshanQABot"


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Service:
    return Service.from_corpus(ROOT / "corpus", 3, tmp_path_factory.mktemp("cache"))


def _texts(api: FakeBotAPI, chat_id: int | None = None) -> list[str]:
    return api.sent_texts(chat_id)


def _buttons(call) -> list[dict]:
    markup = call.params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


async def _reply_to(api: FakeBotAPI, count: int = 1, timeout: float = 10.0):
    calls = await api.await_calls("sendMessage", count=count, timeout=timeout, where=lambda c: c.ok)
    return calls[count - 1]


# --------------------------------------------------------------------------- private chat


async def test_private_question_gets_quoted_answer_with_source_and_buttons(fake_api, service):
    async with running(fake_api, service):
        fake_api.private_message("崂山区有多少家高新技术企业？")
        call = await _reply_to(fake_api)
    text = call.params["text"]
    assert call.params["parse_mode"] == "HTML"
    assert "<blockquote>" in text and "920家" in call.result["text"]
    # the short answer first, and marked in the first quote (the only bold there); a further
    # quote marks one key word of the question
    assert text.startswith("答：<b>628家</b>\n")
    first_quote = text.split("<blockquote>")[1].split("</blockquote>")[0]
    assert first_quote.count("<b>") == 1 and "<b>628家</b>" in first_quote
    assert "<b>高新技术</b>" in text.split("</blockquote>")[1]
    assert "《" in text and "段" in text  # the source: title and paragraph
    datas = [b["callback_data"] for b in _buttons(call)]
    assert sum(d.startswith("v:") for d in datas) == 2  # 👍 / 👎
    assert all(len(d.encode()) <= 64 for d in datas)
    assert not fake_api.errors


SHORT_QUESTION = "康城社区有多少户居民？"  # the text: "为社区6558户居民服务"


async def test_the_short_answer_leads_in_private_group_and_inline(fake_api, service):
    async with running(fake_api, service):
        fake_api.private_message(SHORT_QUESTION)
        private = await _reply_to(fake_api)
        fake_api.group_message(f"/ask {SHORT_QUESTION}")
        group = await _reply_to(fake_api, count=2)
        fake_api.inline_query(SHORT_QUESTION)
        inline = (await fake_api.await_calls("answerInlineQuery"))[0]
    for call in (private, group):
        text = call.params["text"]
        assert text.startswith("答：<b>6558户</b>\n"), text
        # the quote under it marks the same span, and only it
        quote = text.split("<blockquote>", 1)[1]
        assert "<b>6558户</b>" in quote and quote.count("<b>") == 1
    first = inline.params["results"][0]
    assert first["title"] == "答：6558户"
    assert first["input_message_content"]["message_text"].startswith("问：")
    assert "<b>6558户</b>" in first["input_message_content"]["message_text"]
    # the replies as the fake Bot API recorded them (shown with pytest -s)
    print("\n--- private\n" + private.params["text"] + "\n--- group\n" + group.params["text"]
          + "\n--- inline (first result)\n" + str({k: first[k] for k in ("title", "description")})
          + "\n" + first["input_message_content"]["message_text"])
    assert not fake_api.errors


UNSURE_QUESTION = "崂山区怎样发展乡村旅游？"  # asks how: no short answer; several passages tell parts of it
DECLINED_QUESTION = "北京明天的天气怎么样？"


async def test_each_kind_of_reply_in_private_group_and_inline(fake_api, service):
    """A confident fact (the answer first, one quote), an uncertain one (no short answer, three
    numbered quotes), a declined one: in a private chat, a group (/ask) and inline, as the fake
    Bot API records them (printed with pytest -s)."""
    recorded = {}
    async with running(fake_api, service):
        for n, question in enumerate((SHORT_QUESTION, UNSURE_QUESTION, DECLINED_QUESTION)):
            fake_api.private_message(question)
            private = await _reply_to(fake_api, count=2 * n + 1)
            fake_api.group_message(f"/ask {question}")
            group = await _reply_to(fake_api, count=2 * n + 2)
            fake_api.inline_query(question)
            inline = (await fake_api.await_calls("answerInlineQuery", count=n + 1))[n]
            recorded[question] = (private.params["text"], group.params["text"], inline.params["results"])
    confident, unsure, declined = (recorded[q] for q in (SHORT_QUESTION, UNSURE_QUESTION, DECLINED_QUESTION))
    for text in confident[:2]:
        assert text.startswith("答：<b>6558户</b>\n") and text.count("<blockquote>") == 1
    assert confident[2][0]["title"] == "答：6558户"
    for text in unsure[:2]:
        assert not text.startswith("答：") and text.count("<blockquote>") == 3
        assert text.startswith("1. 《") and "\n\n2. 《" in text and "\n\n3. 《" in text
    assert len(unsure[2]) >= 2 and not unsure[2][0]["title"].startswith("答：")
    for text in declined[:2]:
        assert text == html.escape(answering.NOT_FOUND, quote=False)
    assert [r["title"] for r in declined[2]] == ["没有找到相关内容"]
    for question, (private, group, inline) in recorded.items():
        print(f"\n=== {question}\n--- private\n{private}\n--- group\n{group}\n--- inline, first result\n"
              f"{inline[0]['title']} | {inline[0].get('description', '')}\n{inline[0]['input_message_content']['message_text']}")
    assert not fake_api.errors


async def test_start_greets_lists_documents_and_offers_examples(fake_api, service):
    async with running(fake_api, service):
        fake_api.private_message("/start")
        call = await _reply_to(fake_api)
        assert "你好" in call.params["text"]
        for title, _ in service.documents():
            assert title.split("（")[0] in call.params["text"]
        examples = [b for b in _buttons(call) if b["callback_data"].startswith("e:")]
        assert 2 <= len(examples) <= 3
        fake_api.callback_query(examples[0]["callback_data"])
        await fake_api.await_calls("answerCallbackQuery")
        answer_call = await _reply_to(fake_api, count=2)
        await asyncio.sleep(0.3)
    assert len(fake_api.calls_to("sendMessage")) == 2  # one message: the answer, headed by its question
    assert answer_call.result["text"].startswith(f"问：{examples[0]['text']}\n")
    assert "<blockquote>" in answer_call.params["text"]
    assert not fake_api.errors


async def test_help_and_about(fake_api, service):
    async with running(fake_api, service):
        fake_api.private_message("/help")
        help_call = await _reply_to(fake_api)
        fake_api.private_message("/about")
        about_call = await _reply_to(fake_api, count=2)
    assert "/ask" in help_call.params["text"] and "inline" in help_call.params["text"]
    assert f"@{BOT}" in help_call.params["text"]
    assert f"{len(service.index)} 个段落" in about_call.params["text"]
    assert "5 篇文档" in about_call.params["text"]
    assert not fake_api.errors


async def test_commands_are_registered_at_start(fake_api, service):
    async with running(fake_api, service):
        calls = await fake_api.await_calls("setMyCommands")
    names = [c["command"] for c in calls[0].params["commands"]]
    assert {"ask", "help", "about", "start"} <= set(names)
    assert not fake_api.errors


async def test_admin_commands_are_listed_only_in_the_admins_chat(fake_api, service):
    async with running(fake_api, service):
        await fake_api.await_calls("setMyCommands", count=2)
    calls = fake_api.calls_to("setMyCommands")
    by_scope = {(c.params.get("scope") or {}).get("type", "default"): c.params for c in calls}
    default = [c["command"] for c in by_scope["default"]["commands"]]
    admin = by_scope["chat"]
    assert admin["scope"] == {"type": "chat", "chat_id": ADMIN}
    assert {"stats", "unanswered", "reload"}.isdisjoint(default)
    assert [c["command"] for c in admin["commands"]] == default + ["stats", "unanswered", "reload", "docs", "remove"]
    assert not fake_api.errors


async def test_an_admin_chat_telegram_does_not_know_does_not_stop_the_start(fake_api, service, caplog):
    calls = []

    def chat_not_found(params, api):
        calls.append(params)
        if params.get("scope", {}).get("type") == "chat":
            raise ApiError(400, "Bad Request: chat not found")
        return True

    fake_api.on("setMyCommands", chat_not_found)
    async with running(fake_api, service):
        fake_api.private_message("崂山区有多少家高新技术企业？")
        call = await _reply_to(fake_api)
    assert "<blockquote>" in call.params["text"]  # the bot started and answers
    assert [c.get("scope", {}).get("type", "default") for c in calls] == ["default", "chat"]
    assert any("chat not found" in r.getMessage().lower() and r.levelname == "WARNING" for r in caplog.records)


async def test_nothing_found_is_a_friendly_message_without_quotes(fake_api, service):
    async with running(fake_api, service):
        fake_api.private_message("怎么做红烧肉？")
        call = await _reply_to(fake_api)
    assert call.params["text"] == answering.NOT_FOUND
    assert "<blockquote>" not in call.params["text"]
    assert not _buttons(call)
    assert not fake_api.errors


async def test_html_hostile_question_is_never_echoed_raw(fake_api, service):
    async with running(fake_api, service):
        fake_api.private_message("<b>&</b> 崂山区高新技术企业 <i>")
        call = await _reply_to(fake_api)
    assert "<b>&</b>" not in call.params["text"] and "<i>" not in call.params["text"]
    assert not fake_api.errors  # the fake parses the HTML as Telegram would


async def test_a_4000_character_question_gets_one_valid_reply(fake_api, service):
    async with running(fake_api, service):
        fake_api.private_message("崂山区高新技术企业" * 444 + "吗")
        call = await _reply_to(fake_api)
        await asyncio.sleep(0.3)
    assert len(fake_api.calls_to("sendMessage")) == 1
    assert len(call.result["text"]) <= 4096
    assert not fake_api.errors


async def test_non_text_message_in_private_gets_a_hint(fake_api, service):
    async with running(fake_api, service):
        fake_api.sticker_message()
        call = await _reply_to(fake_api)
    assert call.params["text"] == messages.NON_TEXT_HINT
    assert not fake_api.errors


# --------------------------------------------------------------------------- groups


async def test_group_ask_command_with_and_without_bot_name(fake_api, service):
    async with running(fake_api, service):
        fake_api.group_message("/ask 崂山区上市企业总数是多少？")
        first = await _reply_to(fake_api)
        fake_api.group_message(f"/ask@{BOT} 康城社区的党委书记是谁？")
        second = await _reply_to(fake_api, count=2)
    assert first.result["chat"]["id"] == DEFAULT_GROUP_ID and "13家" in first.result["text"]
    assert "臧晓恩" in second.result["text"]
    assert "reply_parameters" in first.params  # in a group the answer quotes the question
    assert not fake_api.errors


async def test_empty_ask_gets_usage_hint(fake_api, service):
    async with running(fake_api, service):
        fake_api.group_message("/ask")
        call = await _reply_to(fake_api)
    assert call.params["text"] == messages.ASK_HINT
    assert not fake_api.errors


async def test_group_mention_is_answered(fake_api, service):
    async with running(fake_api, service):
        fake_api.group_message(f"@{BOT} 崂先办平台收集了多少群众诉求？")
        call = await _reply_to(fake_api)
    assert "9万余件" in call.result["text"]
    assert not fake_api.errors


async def test_a_greeting_or_thanks_is_answered_in_kind_and_not_logged_as_a_question(fake_api, service, tmp_path):
    store = Store(tmp_path / "q.sqlite3")
    async with running(fake_api, service, store):
        fake_api.private_message("你好！")
        hello = await _reply_to(fake_api)
        fake_api.group_message(f"@{BOT} 谢谢～")
        thanks = await _reply_to(fake_api, count=2)
        fake_api.private_message("你好，崂先办平台收集了多少群众诉求？")  # a greeting and a question: a question
        question = await _reply_to(fake_api, count=3)
    assert "我知道的资料" in hello.params["text"] and "没有找到" not in hello.params["text"]
    assert any(b["callback_data"].startswith("e:") for b in _buttons(hello))  # the examples, as /start gives
    assert thanks.params["text"] == messages.THANKS_REPLY and thanks.params["reply_parameters"]["message_id"]
    assert "9万余件" in question.result["text"]
    logged = [r[0] for r in store._db.execute("SELECT question FROM questions ORDER BY id")]
    assert logged == ["你好，崂先办平台收集了多少群众诉求？"]  # /unanswered is not filled with 你好
    assert not fake_api.errors


async def test_reply_to_the_bot_is_a_question(fake_api, service):
    async with running(fake_api, service):
        fake_api.group_message("/ask 崂山区的人才总量是多少？")
        await _reply_to(fake_api)
        fake_api.group_message("人才政策已经兑现了多少资金？", reply_to_bot=True)
        call = await _reply_to(fake_api, count=2)
    assert "3776.7万元" in call.result["text"]
    assert not fake_api.errors


async def test_group_chatter_and_stickers_are_ignored_when_the_bot_sees_them(service):
    # privacy mode off (or the bot is an admin): the bot sees everything and must stay silent
    with FakeBotAPI(privacy_mode=False) as api:
        async with running(api, service):
            assert api.group_message("今天中午吃什么？") is not None
            api.sticker_message(chat_id=DEFAULT_GROUP_ID)
            api.group_message("/ask 崂山区新增了多少个停车位？")
            call = await _reply_to(api)
            await asyncio.sleep(0.5)
        assert len(api.calls_to("sendMessage")) == 1
        assert "1.3万个" in call.result["text"]
        assert not api.errors


# --------------------------------------------------------------------------- inline mode


async def test_inline_query_pages_to_the_last_page(fake_api, service):
    async with running(fake_api, service):
        seen: list[str] = []
        offset = ""
        for page in range(1, 7):
            fake_api.inline_query("崂山区 党建 社区", offset=offset)
            call = (await fake_api.await_calls("answerInlineQuery", count=page))[-1]
            results = call.params["results"]
            assert 1 <= len(results) <= 10
            seen += [r["id"] for r in results]
            for r in results:
                assert r["type"] == "article" and r["title"]
                assert "<blockquote>" in r["input_message_content"]["message_text"]
            offset = call.params.get("next_offset") or ""
            if not offset:
                break
    assert offset == "" and page >= 2  # paged, and reached the last page
    assert len(seen) == len(set(seen)) <= 50
    assert not fake_api.errors


async def test_empty_inline_query_explains_how_to_use_it(fake_api, service):
    async with running(fake_api, service):
        fake_api.inline_query("")
        call = (await fake_api.await_calls("answerInlineQuery"))[0]
    [result] = call.params["results"]
    assert f"@{BOT}" in result["input_message_content"]["message_text"]
    assert not call.params.get("next_offset")
    assert not fake_api.errors


async def test_a_close_decline_says_so_and_shows_the_nearest_passage(fake_api, service, monkeypatch):
    from bot.answering import decision

    # between RELATED_FLOOR and the operating point: declined, but close
    monkeypatch.setattr(decision, "confidence", lambda *args, **kwargs: (answering.RELATED_FLOOR + 0.1) / 2)
    async with running(fake_api, service):
        fake_api.private_message("崂山区有多少家高新技术企业？")
        private = await _reply_to(fake_api)
        fake_api.inline_query("崂山区有多少家高新技术企业？")
        inline = (await fake_api.await_calls("answerInlineQuery"))[0]
    text = private.params["text"]
    assert text.startswith(html.escape(answering.NOT_DIRECT, quote=False) + "\n\n<blockquote>")
    assert "答：" not in text and "《" in text  # no short answer; the source is named
    datas = [b["callback_data"] for b in _buttons(private)]
    assert not any(d.startswith(("v:", "m:")) for d in datas)  # no votes, no "more": not an answer
    [result] = inline.params["results"]
    assert result["title"] == "没有直接答案 · 最接近的资料"
    assert result["input_message_content"]["message_text"].startswith(html.escape(answering.NOT_DIRECT, quote=False))
    print("\n--- private (declined, close)\n" + text + "\n--- inline\n" + str(result["title"]))
    assert not fake_api.errors


async def test_inline_query_with_no_answer_says_so(fake_api, service):
    async with running(fake_api, service):
        fake_api.inline_query("How do I install Python?")
        call = (await fake_api.await_calls("answerInlineQuery"))[0]
    [result] = call.params["results"]
    assert result["title"] == "没有找到相关内容"
    assert not fake_api.errors


async def test_longest_inline_query_is_answered(fake_api, service):
    async with running(fake_api, service):
        fake_api.inline_query("崂山区党建" * 51 + "崂")  # 256 characters
        await fake_api.await_calls("answerInlineQuery")
    assert not fake_api.errors


# --------------------------------------------------------------------------- buttons


async def test_more_results_and_full_paragraph_buttons(fake_api, service):
    async with running(fake_api, service):
        fake_api.private_message("崂山区人才服务")
        answer_call = await _reply_to(fake_api)
        more = next(b for b in _buttons(answer_call) if b["callback_data"].startswith("m:"))
        fake_api.callback_query(more["callback_data"])
        more_call = await _reply_to(fake_api, count=2)
        para = next(b for b in _buttons(answer_call) if b["callback_data"].startswith("p:"))
        fake_api.callback_query(para["callback_data"], message_id=answer_call.result["message_id"],
                                chat_id=answer_call.result["chat"]["id"])
        para_call = await _reply_to(fake_api, count=3)
        answered = await fake_api.await_calls("answerCallbackQuery", count=2)
    first_page = answer_call.params["text"].count("<blockquote>")
    # numbering continues after the first page, and each quote is numbered where it begins
    assert more_call.params["text"].startswith(f"{first_page + 1}. 《")
    assert "\n<blockquote>" in more_call.params["text"]
    assert para_call.params["text"].startswith("<blockquote>") and "段" in para_call.params["text"]
    assert all(c.ok for c in answered)
    assert not fake_api.errors


async def test_stale_and_forged_buttons_get_a_short_notice(fake_api, service):
    async with running(fake_api, service):
        fake_api.private_message("崂山区有多少家高新技术企业？")
        await _reply_to(fake_api)
        stale = "m:000000:1:3" if service.generation != "000000" else "m:ffffff:1:3"
        for data in (stale, "not-our-data", "p:" + service.generation + ":999999"):
            fake_api.callback_query(data, check_button=False)
        calls = await fake_api.await_calls("answerCallbackQuery", count=3)
        await asyncio.sleep(0.3)
    assert [c.params.get("text") for c in calls] == [messages.STALE] * 3
    assert len(fake_api.calls_to("sendMessage")) == 1  # nothing else happened
    assert not fake_api.errors


# --------------------------------------------------------------------------- Telegram faults


async def test_a_429_is_waited_out_and_the_answer_delivered(fake_api, service):
    fake_api.fail_next("sendMessage", 429, retry_after=1)
    async with running(fake_api, service):
        fake_api.private_message("崂山区的亿元楼有多少座？")
        call = await _reply_to(fake_api, timeout=15)
    sends = fake_api.calls_to("sendMessage")
    assert sends[0].status == 429 and sends[0].injected
    assert call.ok and "40座" in call.result["text"]
    assert call.at - sends[0].at >= 1.0  # waited retry_after before trying again
    assert not fake_api.errors


async def test_a_user_who_blocked_the_bot_does_not_stop_it(fake_api, service):
    fake_api.fail_next("sendMessage", 403, description="Forbidden: bot was blocked by the user")
    async with running(fake_api, service):
        fake_api.private_message("崂山区的亿元楼有多少座？")
        await fake_api.await_calls("sendMessage")
        fake_api.private_message("崂山区新增了多少个停车位？")
        call = await _reply_to(fake_api)
    assert "1.3万个" in call.result["text"]
    assert not fake_api.errors


# --------------------------------------------------------------------------- operator


async def test_questions_are_logged_per_place_but_not_group_chatter(service, tmp_path):
    store = Store(tmp_path / "q.sqlite3")
    with FakeBotAPI(privacy_mode=False) as api:
        async with running(api, service, store):
            api.private_message("崂山区有多少家高新技术企业？")
            await _reply_to(api)
            api.group_message("/ask 比特币今天的价格是多少？")
            await _reply_to(api, count=2)
            api.group_message("大家周末去哪玩？")  # chatter: seen, not answered, not stored
            api.inline_query("崂先办")
            await api.await_calls("answerInlineQuery")
            await asyncio.sleep(0.3)
        assert not api.errors
    rows = store._db.execute("SELECT place, question, answered, user_hash FROM questions ORDER BY id").fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("private", "崂山区有多少家高新技术企业？", 1),
        ("group", "比特币今天的价格是多少？", 0),
        ("inline", "崂先办", 1),
    ]
    assert all(str(DEFAULT_USER_ID) not in r[3] for r in rows)


async def test_feedback_is_recorded_once_per_user_and_acknowledged(fake_api, service, tmp_path):
    store = Store(tmp_path / "q.sqlite3")
    async with running(fake_api, service, store):
        fake_api.private_message("崂山区有多少家高新技术企业？")
        call = await _reply_to(fake_api)
        up, down = [b["callback_data"] for b in _buttons(call) if b["callback_data"].startswith("v:")]
        fake_api.callback_query(up)
        fake_api.callback_query(down)  # changes the vote
        acks = await fake_api.await_calls("answerCallbackQuery", count=2)
    assert [a.params["text"] for a in acks] == [messages.THANKS_UP, messages.THANKS_DOWN]
    assert store._db.execute("SELECT vote FROM feedback").fetchall() == [(-1,)]
    assert not fake_api.errors


async def test_admin_commands_are_gated(fake_api, service, tmp_path):
    store = Store(tmp_path / "q.sqlite3")
    async with running(fake_api, service, store):
        for command in ("/stats", "/unanswered", "/reload"):
            fake_api.private_message(command)
        calls = await fake_api.await_calls("sendMessage", count=3)
    assert [c.params["text"] for c in calls] == [messages.NOT_ADMIN] * 3
    assert not fake_api.errors


async def test_stats_and_unanswered_for_an_admin(fake_api, service, tmp_path):
    store = Store(tmp_path / "q.sqlite3")
    now = time.time()
    for days_ago, q, ok in [(2, "崂山区有多少家高新技术企业？", True), (1, "深圳的房价是多少？", False),
                            (0, "深圳的房价是多少？", False), (0, "崂先办是什么", True)]:
        store.log_question("private", 1, q, ok, [], [], 12.0, at=now - days_ago * 86400)
    async with running(fake_api, service, store):
        fake_api.private_message("/stats 7", user_id=ADMIN)
        photo = (await fake_api.await_calls("sendPhoto", timeout=20))[0]
        fake_api.private_message("/unanswered", user_id=ADMIN)
        calls = await fake_api.await_calls("sendMessage", count=2)
    stats, unanswered = calls[0].params["text"], calls[1].params["text"]
    assert "4 个问题" in stats and "2×" in stats and "深圳的房价是多少？" in stats
    assert photo.ok and photo.files  # the chart PNG was uploaded
    assert "深圳的房价是多少？" in unanswered
    assert not fake_api.errors


async def test_reload_keeps_answering_and_swaps_the_index(fake_api, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    service = Service.from_corpus(corpus, 3, None)
    (corpus / "extra.md").write_text("# 新增文档\n\n崂山区今年新建了七座图书馆，方便市民阅读。\n", encoding="utf-8")
    async with running(fake_api, service) as app:
        fake_api.private_message("/reload", user_id=ADMIN)
        for i in range(20):  # a stream of questions while the index is rebuilt
            fake_api.private_message("崂山区有多少家高新技术企业？", user_id=100 + i)
        done = await fake_api.await_calls(
            "sendMessage", where=lambda c: c.ok and c.params["text"].startswith("已重新加载"), timeout=30)
        answers = await fake_api.await_calls(
            "sendMessage", count=20, where=lambda c: c.ok and "920家" in c.result["text"], timeout=30)
        assert len(answers) == 20  # none lost while the index was rebuilt and swapped
        assert app.bot_data["service"] is not service
        fake_api.private_message("崂山区新建了几座图书馆？")
        call = await fake_api.await_calls("sendMessage", where=lambda c: c.ok and "图书馆" in c.result["text"])
    assert "七座图书馆" in call[0].result["text"] and done
    assert not fake_api.errors


async def test_without_a_corpus_of_its_own_documents_are_not_managed_in_the_chat(fake_api, service):
    on_engine = Service(service.index, None, 3)  # as on a search engine (SEARCH_BACKEND=sphinxql)
    async with running(fake_api, on_engine) as app:
        for command in ("/reload", "/docs", "/remove 1"):
            fake_api.private_message(command, user_id=ADMIN)
        calls = await fake_api.await_calls(
            "sendMessage", count=3, where=lambda c: c.ok and c.params["text"] == messages.NO_CORPUS_HERE, timeout=10)
        assert len(calls) == 3 and app.bot_data["service"] is on_engine
    assert not fake_api.errors


async def test_reload_skips_an_unreadable_file_and_a_corpus_with_nothing_readable_keeps_the_old_index(fake_api, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    service = Service.from_corpus(corpus, 3, None)
    (corpus / "broken.txt").write_bytes(b"\x81\x00 not text")
    async with running(fake_api, service) as app:
        fake_api.private_message("/reload", user_id=ADMIN)
        await fake_api.await_calls("sendMessage", where=lambda c: "已重新加载" in c.params["text"], timeout=30)
        reloaded = app.bot_data["service"]
        assert reloaded is not service and len(reloaded.index) == len(service.index)  # broken.txt skipped
        for f in corpus.glob("*.md"):
            f.write_bytes(b"\x00 binary")
        fake_api.private_message("/reload", user_id=ADMIN)
        calls = await fake_api.await_calls("sendMessage", where=lambda c: "资料有误" in c.params["text"], timeout=30)
        assert app.bot_data["service"] is reloaded
        fake_api.private_message("崂山区有多少家高新技术企业？")
        answer_call = await fake_api.await_calls("sendMessage", where=lambda c: c.ok and "920家" in c.result["text"])
    assert "no document could be read" in calls[0].params["text"] and "binary data, not text" in calls[0].params["text"]
    assert answer_call
    assert not fake_api.errors


def test_unanswered_report_keeps_whole_lines_within_a_message():
    from bot.ops.reports import unanswered_html
    from bot.ops.store import LoggedQuestion

    rows = [LoggedQuestion(i, 1.7e9, "private", "<深圳>&房价" * 30) for i in range(50)]
    text = unanswered_html(rows, rows, 4096)
    assert len(text) <= 4096 and text.count("<b>") == text.count("</b>") == 2
    assert "<深圳>" not in text and "&lt;深圳&gt;&amp;房价" in text
