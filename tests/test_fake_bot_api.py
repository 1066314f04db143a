"""Tests of the fake Bot API server itself (tests/fake_bot_api.py): it must accept what Telegram
accepts and reject what Telegram rejects, and speak PTB 22.8's wire format."""

from __future__ import annotations

import datetime as dtm
import html
import json
import threading
import time

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultCachedPhoto,
    InlineQueryResultPhoto,
    InputMediaPhoto,
    InputTextMessageContent,
    KeyboardButton,
    MessageEntity,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    ExtBot,
    MessageHandler,
    filters,
)

try:
    from fake_bot_api import (
        DEFAULT_GROUP_ID,
        DEFAULT_USER_ID,
        MAX_DOWNLOAD_BYTES,
        FakeBotAPI,
        detect_entities,
        parse_html,
        utf16_len,
    )
except ImportError:  # tests/ imported as a package
    from tests.fake_bot_api import (
        DEFAULT_GROUP_ID,
        DEFAULT_USER_ID,
        MAX_DOWNLOAD_BYTES,
        FakeBotAPI,
        detect_entities,
        parse_html,
        utf16_len,
    )

USER = DEFAULT_USER_ID


@pytest.fixture
async def bot(fake_api):
    fake_api.add_private_chat(USER)
    async with Bot(**fake_api.bot_kwargs()) as b:
        yield b


def post(api: FakeBotAPI, method: str, data=None, *, json_body=None, token=None, files=None) -> httpx.Response:
    # verify=False: plain HTTP anyway, and it skips loading the CA bundle for every new client
    return httpx.post(api.method_url(method, token), data=data, json=json_body, files=files, timeout=5, verify=False)


def keyboard(*datas: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(f"b{i}", callback_data=d)] for i, d in enumerate(datas)])


def article(i: int | str, text: str = "答案", **kw) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(str(i), f"标题{i}", InputTextMessageContent(text, **kw))


# ------------------------------------------------------------------------------------ basics


async def test_get_me_and_valid_html_message(bot, fake_api):
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456789, True, "LaoshanQABot")
    assert me.can_join_groups is True
    assert me.can_read_all_group_messages is False
    assert me.supports_inline_queries is True

    text = '<b>崂山</b> 海拔 1132.7 m &lt;最高&gt; 🏔 <a href="https://example.com/?a=1&amp;b=2">链接</a>'
    m1 = await bot.send_message(USER, text, parse_mode="HTML", reply_markup=keyboard("more:1"))
    m2 = await bot.send_message(USER, "第二条")
    assert m2.message_id == m1.message_id + 1
    assert m1.text == "崂山 海拔 1132.7 m <最高> 🏔 链接"
    assert m1.from_user.id == me.id and m1.chat.id == USER
    assert m1.reply_markup.inline_keyboard[0][0].callback_data == "more:1"
    assert m1.parse_entity(m1.entities[0]) == "崂山"
    link = m1.entities[1]
    assert (link.type, link.url, m1.parse_entity(link)) == ("text_link", "https://example.com/?a=1&b=2", "链接")

    [call, _] = fake_api.calls_to("sendMessage")
    assert call.params["chat_id"] == USER  # decoded from the form string "10001"
    assert call.params["reply_markup"] == {"inline_keyboard": [[{"text": "b0", "callback_data": "more:1"}]]}
    assert call.content_type.startswith("application/x-www-form-urlencoded")
    assert fake_api.sent_texts() == [text, "第二条"]
    assert fake_api.sent_texts(plain=True)[0] == m1.text
    assert not fake_api.errors


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("a < b & c", 'unsupported start tag ""'),
        ("<b>&</b>", 'unescaped "&"'),
        ("AT&T", 'unescaped "&"'),
        ("<p>段落</p>", 'unsupported start tag "p" at byte offset 0'),
        ("<b>粗<i>斜</b></i>", 'unmatched end tag at byte offset 12, expected "</i>", found "</b>"'),
        ("<b>没关", "can't find end tag corresponding to start tag \"b\""),
        ("</b>", "unexpected end tag"),
        ("<span>x</span>", 'tag "span" must have class "tg-spoiler"'),
        ("<br>", 'unsupported start tag "br"'),
    ],
)
async def test_bad_html_is_rejected(bot, fake_api, text, detail):
    with pytest.raises(BadRequest) as info:
        await bot.send_message(USER, text, parse_mode="HTML")
    assert info.value.message.lower().startswith(f"can't parse entities: {detail}".lower())
    assert [c.method for c in fake_api.errors] == ["sendMessage"]


async def test_html_that_telegram_accepts(bot, fake_api):
    ok = [
        "1 > 0",  # a bare '>' is tolerated
        "&quot;引号&quot; &#20320;&#x597D; &amp;",
        '<span class="tg-spoiler">剧透</span><tg-spoiler>剧透</tg-spoiler><s>删</s><u>下</u><ins>i</ins>',
        '<pre><code class="language-python">print("&lt;")</code></pre>',
        "<blockquote expandable>引用</blockquote><blockquote>b</blockquote>",
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
        "<B>大写标签</B>",
    ]
    for text in ok:
        await bot.send_message(USER, text, parse_mode="HTML")
    assert not fake_api.errors
    pre = fake_api.sent_messages()[3]
    assert pre["text"] == 'print("<")'
    assert pre["entities"] == [{"type": "pre", "offset": 0, "length": 10, "language": "python"}]
    assert fake_api.sent_messages()[1]["text"] == '"引号" 你好 &'


async def test_text_length_is_counted_after_entity_parsing(bot, fake_api):
    await bot.send_message(USER, "<b>" + "崂" * 4096 + "</b>", parse_mode="HTML")
    await bot.send_message(USER, "&lt;" * 4096, parse_mode="HTML")
    await bot.send_message(USER, "🏔" * 4096)  # 4096 characters (8192 UTF-16 units)
    assert not fake_api.errors
    with pytest.raises(BadRequest, match="(?i)^message is too long$"):
        await bot.send_message(USER, "a" * 4097)
    with pytest.raises(BadRequest, match="(?i)^message is too long$"):
        await bot.send_message(USER, "<i>" + "&amp;" * 4097 + "</i>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)^message text is empty$"):
        await bot.send_message(USER, " \n ")
    with pytest.raises(BadRequest, match="(?i)^message text is empty$"):
        await bot.send_message(USER, "<b></b>", parse_mode="HTML")
    assert len(fake_api.errors) == 4


async def test_markdown_v2_is_parsed_too(bot, fake_api):
    m = await bot.send_message(USER, r"*粗* _斜_ 1\.5 [链](https://example.com)", parse_mode="MarkdownV2")
    assert m.text == "粗 斜 1.5 链"
    assert [e.type for e in m.entities] == ["bold", "italic", "text_link"]
    with pytest.raises(BadRequest, match=r"(?i)character '\.' is reserved"):
        await bot.send_message(USER, "版本 1.5", parse_mode="MarkdownV2")
    with pytest.raises(BadRequest, match="(?i)unsupported parse_mode"):
        await bot.send_message(USER, "x", parse_mode="html5")


# ------------------------------------------------------------------------------------ keyboards


async def test_callback_data_is_limited_to_64_bytes(bot, fake_api):
    ok = "问" * 21  # 63 bytes
    await bot.send_message(USER, "ok", reply_markup=keyboard(ok, "a" * 64))
    assert not fake_api.errors
    with pytest.raises(BadRequest, match="(?i)^button_data_invalid$"):
        await bot.send_message(USER, "x", reply_markup=keyboard("问" * 22))  # 22 chars, 66 bytes
    with pytest.raises(BadRequest, match="(?i)^button_data_invalid$"):
        await bot.send_message(USER, "x", reply_markup=keyboard(""))


async def test_every_reply_markup_kind_that_ptb_builds_is_accepted(bot, fake_api):
    markups = [
        InlineKeyboardMarkup(
            [
                [InlineKeyboardButton("网址", url="https://example.com")],
                [InlineKeyboardButton("内联", switch_inline_query_current_chat="崂山")],
                [InlineKeyboardButton("复制", copy_text=None, callback_data="c")],
            ]
        ),
        ReplyKeyboardMarkup([[KeyboardButton("是"), KeyboardButton("否")]], resize_keyboard=True, one_time_keyboard=True),
        ReplyKeyboardRemove(),
        ForceReply(input_field_placeholder="问题"),
    ]
    for markup in markups:
        await bot.send_message(USER, "markup", reply_markup=markup)
    assert not fake_api.errors
    # only inline keyboards come back on the Message, like on Telegram
    assert [("reply_markup" in m) for m in fake_api.sent_messages()] == [True, False, False, False]


async def test_inline_keyboard_structure_errors(fake_api):
    fake_api.add_private_chat(USER)

    def send(markup) -> httpx.Response:
        return post(fake_api, "sendMessage", {"chat_id": USER, "text": "x", "reply_markup": json.dumps(markup)})

    r = send({"inline_keyboard": [[{"text": "纯文本"}]]})
    assert r.status_code == 400
    assert "Text buttons are unallowed in the inline keyboard" in r.json()["description"]
    r = send({"inline_keyboard": [[{"text": "a", "callback_data": 5}]]})
    assert r.status_code == 400
    assert 'must be of type String (at inline_keyboard[0][0].callback_data)' in r.json()["description"]
    r = send({"inline_keyboard": [[{"txt": "a", "callback_data": "x"}]]})
    assert r.status_code == 400 and "unknown field \"txt\"" in r.json()["description"]
    r = send({"inline_keyboard": [{"text": "a", "callback_data": "x"}]})  # a row must be an array
    assert r.status_code == 400 and "Array of InlineKeyboardButton" in r.json()["description"]
    r = post(fake_api, "sendMessage", {"chat_id": USER, "text": "x", "reply_markup": "{not json"})
    assert r.json()["description"] == "Bad Request: can't parse reply_markup JSON object"
    assert len(fake_api.errors) == 5


# ------------------------------------------------------------------------------------ inline mode


async def test_answer_inline_query_limits(bot, fake_api):
    qid = fake_api.inline_query("崂山")
    with pytest.raises(BadRequest, match="(?i)^results_too_much$"):
        await bot.answer_inline_query(qid, [article(i) for i in range(51)])
    with pytest.raises(BadRequest, match="(?i)^result_id_duplicate$"):
        await bot.answer_inline_query(qid, [article(1), article(1)])
    with pytest.raises(BadRequest, match="(?i)^result_id_invalid$"):
        await bot.answer_inline_query(qid, [article("标" * 22)])  # 66 bytes
    with pytest.raises(BadRequest, match="(?i)^next_offset_invalid$"):
        await bot.answer_inline_query(qid, [article(1)], next_offset="9" * 65)
    with pytest.raises(BadRequest, match="(?i)^message is too long$"):
        await bot.answer_inline_query(qid, [article(1, "x" * 4097)])
    with pytest.raises(BadRequest, match="(?i)^can't parse entities: unsupported start tag \"p\""):
        await bot.answer_inline_query(qid, [article(1, "<p>x</p>", parse_mode="HTML")])
    assert len(fake_api.errors) == 6

    results = [article(i, f"<b>第{i}条</b>", parse_mode="HTML") for i in range(50)]
    results[0] = InlineQueryResultPhoto("p", "https://example.com/a.jpg", "https://example.com/t.jpg")
    results[1] = InlineQueryResultCachedPhoto("c", "AgACfileid")
    assert await bot.answer_inline_query(qid, results, next_offset="50", cache_time=0, is_personal=True)
    answer = fake_api.inline_answers[qid]
    assert len(answer["results"]) == 50 and answer["next_offset"] == "50"
    assert answer["results"][5]["input_message_content"] == {"message_text": "<b>第5条</b>", "parse_mode": "HTML"}

    # answered already / never handed out
    for query_id in (qid, "123"):
        with pytest.raises(BadRequest, match="(?i)query is too old and response timeout expired or query id is invalid"):
            await bot.answer_inline_query(query_id, [article(1)])


async def test_inline_result_union_and_required_fields(fake_api):
    qid = fake_api.inline_query("q")

    def answer(results) -> httpx.Response:
        return post(fake_api, "answerInlineQuery", {"inline_query_id": qid, "results": json.dumps(results)})

    r = answer([{"type": "article", "id": "1", "input_message_content": {"message_text": "x"}}])
    assert r.status_code == 400 and 'Can\'t find field "title"' in r.json()["description"]
    r = answer([{"type": "articel", "id": "1", "title": "t"}])
    assert r.status_code == 400 and 'unsupported InlineQueryResult type "articel"' in r.json()["description"]
    # "photo" is both InlineQueryResultPhoto and InlineQueryResultCachedPhoto: resolved by fields
    r = answer([{"type": "photo", "id": "1", "photo_file_id": "abc"}])
    assert r.status_code == 200, r.text
    qid = fake_api.inline_query("q2")
    r = post(fake_api, "answerInlineQuery", {"inline_query_id": qid, "results": json.dumps(
        [{"type": "article", "id": "1", "title": "t", "input_message_content": {"latitude": 36.1, "longitude": 120.6}}])})
    assert r.status_code == 200, r.text  # InputMessageContent resolved to InputLocationMessageContent


async def test_ptb_defaults_empty_string_quirk_shows(fake_api):
    """PTB 22.8 + Defaults sends next_offset="" as "[]"; the fake refuses a non-string there."""
    qid = fake_api.inline_query("q")
    async with ExtBot(**fake_api.bot_kwargs(), defaults=Defaults(parse_mode="HTML")) as bot:
        with pytest.raises(BadRequest, match='(?i)parameter "next_offset" must be of type string'):
            await bot.answer_inline_query(qid, [article(1)], next_offset="")
    assert fake_api.calls_to("answerInlineQuery")[-1].raw["next_offset"] == "[]"
    async with Bot(**fake_api.bot_kwargs()) as plain_bot:  # without Defaults: fine
        assert await plain_bot.answer_inline_query(qid, [article(1)], next_offset="")
    assert fake_api.inline_answers[qid]["next_offset"] == ""


async def test_ptb_defaults_leftover_parameters_are_tolerated(fake_api):
    """ExtBot sends Defaults' parse_mode/disable_notification even where the method has none."""
    fake_api.add_private_chat(USER)
    sticker = fake_api.register_file(b"webp", kind="stickers", ext="webp")
    defaults = Defaults(parse_mode="HTML", disable_notification=True)
    async with ExtBot(**fake_api.bot_kwargs(), defaults=defaults) as bot:
        m = await bot.send_message(USER, "<b>x</b>", reply_markup=keyboard("a"))
        await bot.send_location(USER, 36.1, 120.6)
        await bot.send_sticker(USER, sticker)
        await bot.edit_message_reply_markup(USER, m.message_id, reply_markup=keyboard("b"))
        with pytest.raises(BadRequest, match="(?i)wrong file identifier"):
            await bot.send_sticker(USER, "CAACAgIAAxkBAAEunknown")
    assert fake_api.calls_to("sendLocation")[0].ignored_params == ["parse_mode"]
    assert sorted(fake_api.calls_to("editMessageReplyMarkup")[0].ignored_params) == ["disable_notification", "parse_mode"]
    assert fake_api.calls_to("sendMessage")[0].ignored_params == []
    assert len(fake_api.errors) == 1
    fake_api.tolerate_ptb_defaults = False
    r = post(fake_api, "sendLocation", {"chat_id": USER, "latitude": 1, "longitude": 2, "parse_mode": "HTML"})
    assert r.status_code == 400 and 'unknown parameter "parse_mode"' in r.json()["description"]


# ------------------------------------------------------------------------------------ raw HTTP


def test_raw_http_missing_unknown_and_wrongly_typed_parameters(fake_api):
    fake_api.add_private_chat(USER)
    r = post(fake_api, "sendMessage", {"text": "hi"})
    assert (r.status_code, r.json()) == (400, {"ok": False, "error_code": 400, "description": "Bad Request: chat_id is empty"})
    r = post(fake_api, "sendMessage", {"chat_id": USER})
    assert r.json()["description"] == "Bad Request: message text is empty"
    r = post(fake_api, "sendMessage", {"chat_id": USER, "text": "hi", "parse_mod": "HTML"})
    assert r.status_code == 400 and 'unknown parameter "parse_mod"' in r.json()["description"]
    r = post(fake_api, "sendMessage", {"chat_id": USER, "text": "hi", "message_thread_id": "abc"})
    assert r.status_code == 400 and 'parameter "message_thread_id" must be of type Integer' in r.json()["description"]
    r = post(fake_api, "sendMessage", {"chat_id": USER, "text": "hi", "disable_notification": "maybe"})
    assert r.status_code == 400 and "Boolean" in r.json()["description"]
    r = post(fake_api, "sendMessage", {"chat_id": USER, "text": "hi", "reply_parameters": '{"message_id": "x"}'})
    assert r.status_code == 400 and "must be of type Integer (at message_id)" in r.json()["description"]
    r = post(fake_api, "sendMessage", {"chat_id": 777, "text": "hi"})
    assert r.json()["description"] == "Bad Request: chat not found"
    r = post(fake_api, "sendLocation", {"chat_id": USER, "latitude": "north", "longitude": "120.6"})
    assert r.status_code == 400 and 'parameter "latitude" must be of type Float' in r.json()["description"]
    r = post(fake_api, "sendPhoto", {"chat_id": USER, "photo": "https://example.com/a.jpg"},
             files={"caption": ("c.txt", b"not a caption")})
    assert r.status_code == 400 and 'parameter "caption" must be of type String, not a file upload' in r.json()["description"]
    r = post(fake_api, "setWebhook", {"url": "https://example.com/hook", "certificate": "cert.pem"})
    assert r.status_code == 400 and 'parameter "certificate" must be a file upload' in r.json()["description"]
    r = post(fake_api, "sendMediaGroup", {"chat_id": USER, "media": json.dumps(
        [{"type": "photo", "media": "attach://missing"}, {"type": "photo", "media": "attach://missing2"}])})
    assert r.status_code == 400 and 'file "attach://missing" is not in the multipart upload' in r.json()["description"]
    r = post(fake_api, "sendLocation", {"chat_id": USER, "latitude": "36.1", "longitude": "120"})
    assert r.status_code == 200 and r.json()["result"]["location"] == {"latitude": 36.1, "longitude": 120.0}
    assert len(fake_api.errors) == 11
    assert fake_api.errors[2].params == {"chat_id": USER, "text": "hi", "parse_mod": "HTML"}


def test_raw_http_unknown_method_wrong_token_and_case_insensitive_names(fake_api):
    fake_api.add_private_chat(USER)
    r = post(fake_api, "sendMesage", {"chat_id": USER, "text": "hi"})
    assert (r.status_code, r.json()) == (404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"})
    r = post(fake_api, "getMe", token="123456789:AAHwrongwrongwrongwrongwrongwrong00")
    assert (r.status_code, r.json()["description"]) == (401, "Unauthorized")
    r = post(fake_api, "SENDMESSAGE", {"chat_id": USER, "text": "hi"})
    assert r.status_code == 200 and r.json()["result"]["text"] == "hi"
    assert fake_api.calls[-1].method == "sendMessage"
    assert [c.status for c in fake_api.errors] == [404, 401]


def test_raw_http_json_body_and_query_string(fake_api):
    fake_api.add_private_chat(USER)
    r = post(fake_api, "sendMessage", json_body={
        "chat_id": str(USER), "text": "<i>json</i>", "parse_mode": "HTML",
        "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]},
    })
    assert r.status_code == 200, r.text
    assert r.json()["result"]["entities"] == [{"type": "italic", "offset": 0, "length": 4}]
    r = httpx.get(fake_api.method_url("sendMessage"), params={"chat_id": USER, "text": "查询串"}, verify=False)
    assert r.status_code == 200 and r.json()["result"]["text"] == "查询串"
    r = httpx.get(fake_api.method_url("getMe"), verify=False)
    assert r.json()["result"]["username"] == "LaoshanQABot"
    assert not fake_api.errors


async def test_unknown_method_and_parameter_through_ptb(bot, fake_api):
    with pytest.raises(BadRequest, match='(?i)unknown parameter "foo"'):
        await bot.send_message(USER, "hi", api_kwargs={"foo": 1})
    # PTB maps 404 "method not found" to EndPointNotFound (only once the bot is initialized)
    with pytest.raises(EndPointNotFound, match="Endpoint 'sendMesage' not found"):
        await bot.do_api_request("sendMesage", api_kwargs={"chat_id": USER, "text": "x"})
    with pytest.raises(InvalidToken, match="rejected by the server"):
        async with Bot("123456789:AAHwrongwrongwrongwrongwrongwrong00", base_url=fake_api.base_url):
            pass
    assert [c.method for c in fake_api.errors] == ["sendMessage", "sendMesage", "getMe"]


# ------------------------------------------------------------------------------------ faults


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # int durations
async def test_fault_injection(bot, fake_api):
    fake_api.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(USER, "hi")
    assert info.value.retry_after in (7, dtm.timedelta(seconds=7))
    failed = fake_api.calls[-1]
    assert (failed.injected, failed.status, failed.error) == (True, 429, "Too Many Requests: retry after 7")
    assert failed.params == {"chat_id": USER, "text": "hi"}

    fake_api.fail_next("sendMessage", 403)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "hi")
    fake_api.fail_next("sendMessage", 500, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(USER, "hi")
    fake_api.fail_next("*", 502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.get_me()
    fake_api.drop_next("sendMessage")
    with pytest.raises(NetworkError):
        await bot.send_message(USER, "hi")
    assert fake_api.calls[-1].status is None and fake_api.calls[-1].injected

    fake_api.delay_next("sendMessage", 0.3)
    t0 = time.monotonic()
    await bot.send_message(USER, "after the faults")
    assert time.monotonic() - t0 >= 0.3
    assert fake_api.sent_texts() == ["after the faults"]
    assert sum(c.injected for c in fake_api.calls) == 6
    assert not fake_api.errors  # injected faults are not validation errors


def test_html_pages_for_any_status_faults_after_n_calls_and_held_calls(fake_api):
    def post(method: str, timeout: float = 5) -> httpx.Response:
        return httpx.post(fake_api.method_url(method), data={"chat_id": USER, "text": "x"}, timeout=timeout)

    fake_api.add_private_chat(USER)
    fake_api.fail_next("getMe", 415, html=True)
    page = post("getMe")
    assert page.status_code == 415 and page.headers["content-type"] == "text/html"
    assert "<title>415 Unsupported Media Type</title>" in page.text
    fake_api.fail_next("getMe", 404)
    assert post("getMe").json() == {"ok": False, "error_code": 404, "description": "Not Found"}

    fake_api.fail_next("sendMessage", 500, after=2)  # two calls get through, the third fails
    assert [post("sendMessage").status_code for _ in range(4)] == [200, 200, 500, 200]

    fake_api.hang_next("sendMessage")  # held until the client gives up, then dropped undone
    with pytest.raises(httpx.ReadTimeout):
        post("sendMessage", timeout=0.3)
    deadline = time.monotonic() + 5
    while fake_api.calls_to("sendMessage")[-1].status is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    held = fake_api.calls_to("sendMessage")[-1]
    assert held.status is None and held.injected and fake_api.held_calls("sendMessage") == 0
    assert len(fake_api.sent_texts()) == 3  # the held send was not carried out
    assert not fake_api.errors


# ------------------------------------------------------------------------------------ updates


def test_detected_entities_use_utf16_offsets():
    text = "/ask 🏔️崂山 @LaoshanQABot 在哪里？"
    ents = detect_entities(text)
    assert [e["type"] for e in ents] == ["bot_command", "mention"]
    mention = ents[1]
    assert mention["offset"] == utf16_len("/ask 🏔️崂山 ") == 11 and mention["length"] == 13
    assert detect_entities("/ask@LaoshanQABot 你好") == [{"type": "bot_command", "offset": 0, "length": 17}]
    assert detect_entities("请问@LaoshanQABot") == []  # '@' right after a letter is no mention
    assert parse_html("<b>🏔</b>x")[1] == [{"type": "bold", "offset": 0, "length": 2}]


async def test_get_updates_parses_entities_and_honours_offset(bot, fake_api):
    u1 = fake_api.private_message("/ask 🏔️崂山 @LaoshanQABot 在哪里？")
    u2 = fake_api.group_message("/ask@LaoshanQABot 崂山 最高峰？")
    u3 = fake_api.group_message("大家好")  # privacy mode: the bot does not see this
    assert u3 is None and fake_api.undelivered[0]["text"] == "大家好"
    assert fake_api.updates_pending() == 2

    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [u1, u2]
    assert all(isinstance(u, Update) for u in updates)
    msg = updates[0].message
    assert msg.chat.type == "private" and msg.from_user.first_name == "小明"
    assert sorted(msg.parse_entities().values()) == ["/ask", "@LaoshanQABot"]
    group_msg = updates[1].message
    assert group_msg.chat.id == DEFAULT_GROUP_ID and group_msg.chat.type == "supergroup"
    assert list(group_msg.parse_entities([MessageEntity.BOT_COMMAND]).values()) == ["/ask@LaoshanQABot"]

    assert [u.update_id for u in await bot.get_updates(offset=u2, timeout=0)] == [u2]
    assert await bot.get_updates(offset=u2 + 1, timeout=0) == ()
    assert fake_api.acknowledged_offset == u2 + 1
    assert fake_api.updates_pending() == 0
    u4 = fake_api.private_message("再来")
    assert [u.update_id for u in await bot.get_updates(offset=u2 + 1, limit=1)] == [u4]
    assert not fake_api.errors


async def test_long_poll_blocks_until_an_update_arrives_and_is_capped(bot, fake_api):
    t0 = time.monotonic()
    assert await bot.get_updates(timeout=30) == ()
    assert 0.8 < time.monotonic() - t0 < 3  # capped at poll_cap (1 s) instead of 30 s

    fake_api.poll_cap = 5
    timer = threading.Timer(0.2, fake_api.private_message, args=("你好",))
    timer.start()
    t0 = time.monotonic()
    updates = await bot.get_updates(timeout=30)
    assert time.monotonic() - t0 < 2
    assert updates[0].message.text == "你好"


async def test_callback_query_and_double_answer(bot, fake_api):
    sent = await bot.send_message(USER, "选择", reply_markup=keyboard("page:2"))
    with pytest.raises(ValueError):
        fake_api.callback_query("page:3")  # no such button
    qid = fake_api.callback_query("page:2")
    [update] = await bot.get_updates(timeout=0)
    cq = update.callback_query
    assert (cq.id, cq.data, cq.message.message_id) == (qid, "page:2", sent.message_id)
    assert await cq.answer("好的")
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await cq.answer()
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query("999")
    qid2 = fake_api.callback_query("page:2")
    with pytest.raises(BadRequest, match="(?i)^message_too_long$"):
        await bot.answer_callback_query(qid2, "字" * 201)
    assert await bot.answer_callback_query(qid2, "字" * 200, show_alert=True)
    assert fake_api.callback_answers[qid]["text"] == "好的"


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # int durations
async def test_non_text_updates_parse(bot, fake_api):
    fake_api.sticker_message("🐱")
    fake_api.photo_message("<图片说明>", data=b"JPEGDATA")
    fake_api.voice_message(5)
    fake_api.location_message(36.1, 120.5)
    fake_api.document_message(b"%PDF", file_name="a.pdf", mime_type="application/pdf")
    fake_api.push_update({"my_chat_member": {
        "chat": {"id": DEFAULT_GROUP_ID, "type": "supergroup", "title": "群"},
        "from": {"id": USER, "is_bot": False, "first_name": "小明"}, "date": 1,
        "old_chat_member": {"status": "left", "user": fake_api.bot_user},
        "new_chat_member": {"status": "member", "user": fake_api.bot_user},
    }})
    ups = await bot.get_updates(timeout=0)
    assert ups[0].message.sticker.emoji == "🐱"
    assert ups[1].message.caption == "<图片说明>" and len(ups[1].message.photo) == 2
    assert ups[2].message.voice.duration == 5
    assert ups[3].message.location.latitude == pytest.approx(36.1)
    assert ups[4].message.document.file_name == "a.pdf"
    assert ups[5].my_chat_member.new_chat_member.status == "member"
    photo_file = await ups[1].message.photo[-1].get_file()
    assert bytes(await photo_file.download_as_bytearray()) == b"JPEGDATA"
    assert not fake_api.errors


async def test_document_download_goes_through_getfile_and_the_file_endpoint(bot, fake_api):
    fake_api.document_message("正文".encode(), file_name="说明.txt", mime_type="text/plain")
    (update,) = await bot.get_updates(timeout=0)
    doc = update.message.document
    assert (doc.file_name, doc.mime_type, doc.file_size) == ("说明.txt", "text/plain", 6)
    file = await doc.get_file()  # PTB turns the file_path into the download URL
    assert file.file_path.startswith(f"{fake_api.base_file_url}{fake_api.token}/documents/")
    assert bytes(await file.download_as_bytearray()) == "正文".encode()
    (download,) = fake_api.calls_to("downloadFile")
    assert download.ok and file.file_path.endswith("/" + download.params["file_path"])
    assert [c.method for c in fake_api.calls][-2:] == ["getFile", "downloadFile"]
    assert not fake_api.errors


async def test_a_file_over_20_mb_cannot_be_fetched(bot, fake_api):
    fake_api.document_message(b"%PDF-1.4", file_name="big.pdf", mime_type="application/pdf",
                              file_size=MAX_DOWNLOAD_BYTES + 1)
    (update,) = await bot.get_updates(timeout=0)
    assert update.message.document.file_size == MAX_DOWNLOAD_BYTES + 1
    with pytest.raises(BadRequest, match="(?i)^file is too big$"):
        await update.message.document.get_file()
    fake_api.errors.clear()


async def test_a_file_path_getfile_never_gave_out_is_not_served(fake_api):
    fake_api.document_message(b"secret", file_name="a.txt")
    path = next(iter(fake_api.files.values()))["file_path"]
    async with httpx.AsyncClient() as client:
        unknown = await client.get(f"{fake_api.base_file_url}{fake_api.token}/{path}")
        wrong_token = await client.get(f"{fake_api.base_file_url}1:wrong/{path}")
    assert (unknown.status_code, wrong_token.status_code) == (404, 401)
    assert [c.status for c in fake_api.calls_to("downloadFile")] == [404, 401]
    fake_api.errors.clear()


# ------------------------------------------------------------------------------------ other methods


async def test_edit_message_text_and_markup(bot, fake_api):
    m = await bot.send_message(USER, "<b>第一页</b>", parse_mode="HTML", reply_markup=keyboard("p2"))
    with pytest.raises(BadRequest, match="(?i)^message is not modified: specified new message content"):
        await m.edit_text("<b>第一页</b>", parse_mode="HTML", reply_markup=keyboard("p2"))
    # same text but without formatting is a modification (entities differ)
    edited = await m.edit_text("第一页", reply_markup=keyboard("p2"))
    assert edited.text == "第一页" and not edited.entities and edited.edit_date is not None
    edited = await bot.edit_message_reply_markup(USER, m.message_id, reply_markup=keyboard("p3"))
    assert edited.reply_markup.inline_keyboard[0][0].callback_data == "p3"
    with pytest.raises(BadRequest, match="(?i)^message is not modified"):
        await bot.edit_message_reply_markup(USER, m.message_id, reply_markup=keyboard("p3"))
    with pytest.raises(BadRequest, match="(?i)^message to edit not found$"):
        await bot.edit_message_text("x", USER, m.message_id + 100)
    user_msg = fake_api.private_message("用户的消息")
    assert user_msg
    user_message_id = fake_api.pushed_updates[-1]["message"]["message_id"]
    with pytest.raises(BadRequest, match="(?i)^message can't be edited$"):
        await bot.edit_message_text("x", USER, user_message_id)
    # editing text without reply_markup removes the keyboard (as on Telegram)
    edited = await bot.edit_message_text("第二页", USER, m.message_id)
    assert edited.reply_markup is None
    assert fake_api.get_message(USER, m.message_id)["text"] == "第二页"
    assert len(fake_api.errors) == 4


async def test_reply_parameters(bot, fake_api):
    fake_api.private_message("问题")
    qmsg = fake_api.pushed_updates[-1]["message"]
    reply = await bot.send_message(USER, "回答", reply_parameters=ReplyParameters(qmsg["message_id"]))
    assert reply.reply_to_message.text == "问题"
    with pytest.raises(BadRequest, match="(?i)message to be replied not found"):
        await bot.send_message(USER, "回答", reply_parameters=ReplyParameters(9999))
    ok = await bot.send_message(USER, "回答", reply_parameters=ReplyParameters(9999, allow_sending_without_reply=True))
    assert ok.reply_to_message is None


async def test_my_commands(bot, fake_api):
    cmds = [BotCommand("ask", "提问"), BotCommand("help_2", "帮助")]
    assert await bot.set_my_commands(cmds)
    assert await bot.get_my_commands() == tuple(cmds)
    assert await bot.get_my_commands(language_code="en") == ()
    for bad, err in [
        ([BotCommand("Ask", "x")], "bot_command_invalid"),
        ([BotCommand("a" * 33, "x")], "bot_command_invalid"),
        ([BotCommand("问", "x")], "bot_command_invalid"),
        ([BotCommand("ask", "")], "bot_command_description_invalid"),
        ([BotCommand("ask", "x" * 257)], "bot_command_description_invalid"),
        ([BotCommand(f"c{i}", "x") for i in range(101)], "bot_commands_too_much"),
    ]:
        with pytest.raises(BadRequest, match=f"(?i)^{err}$"):
            await bot.set_my_commands(bad)
    assert await bot.set_my_commands([BotCommand(f"c{i}", "x" * 256) for i in range(100)])
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()


async def test_uploads_webhook_chat_action_and_misc(bot, fake_api):
    doc = await bot.send_document(USER, document=b"%PDF-1.4 fake", filename="答案.pdf", caption="<b>附件</b>",
                                  parse_mode="HTML")
    assert doc.document.file_name == "答案.pdf" and doc.caption == "附件"
    call = fake_api.calls_to("sendDocument")[0]
    assert call.content_type.startswith("multipart/form-data")
    assert call.params["document"].data == b"%PDF-1.4 fake"
    assert call.files["document"].filename == "答案.pdf"
    photo = await bot.send_photo(USER, photo=b"\x89PNG fake", caption="x" * 1024)
    assert photo.photo[0].file_size == len(b"\x89PNG fake")
    with pytest.raises(BadRequest, match="(?i)message caption is too long"):
        await bot.send_photo(USER, photo=b"\x89PNG", caption="x" * 1025)
    media = await bot.send_media_group(USER, [InputMediaPhoto(b"one"), InputMediaPhoto(b"two", caption="2")])
    assert [m.caption for m in media] == [None, "2"] and media[0].media_group_id == media[1].media_group_id
    assert media[1].photo[0].file_size == 3  # the attach:// part "two" was found and stored

    assert await bot.send_chat_action(USER, "typing")
    with pytest.raises(BadRequest, match="(?i)wrong parameter action"):
        await bot.send_chat_action(USER, "thinking")

    assert await bot.set_webhook("https://example.com/hook", secret_token="s3cret")
    assert (await bot.get_webhook_info()).url == "https://example.com/hook"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    with pytest.raises(BadRequest, match="(?i)https url must be provided"):
        await bot.set_webhook("http://example.com/hook")
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).url == ""

    chat = await bot.get_chat(USER)
    assert chat.id == USER and chat.type == "private"
    with pytest.raises(BadRequest, match="(?i)^chat not found$"):
        await bot.send_message(424242, "hi")
    fake_api.block_bot(USER)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "hi")
    assert [c.method for c in fake_api.errors] == [
        "sendPhoto", "sendChatAction", "getUpdates", "setWebhook", "sendMessage", "sendMessage"]


def test_wait_for_from_another_thread(fake_api):
    fake_api.add_private_chat(USER)
    threading.Timer(0.1, post, args=(fake_api, "sendMessage", {"chat_id": USER, "text": "later"})).start()
    [call] = fake_api.wait_for("sendMessage", timeout=3)
    assert call.params["text"] == "later" and call.ok
    with pytest.raises(AssertionError, match="timed out"):
        fake_api.wait_for("sendMessage", count=2, timeout=0.2)


async def test_wait_for_refuses_to_block_the_event_loop(fake_api):
    with pytest.raises(RuntimeError, match="await_calls"):
        fake_api.wait_for("sendMessage", timeout=0.1)


# ------------------------------------------------------------------------------------ Application


async def test_application_end_to_end(fake_api):
    async def echo(update, context):
        await update.message.reply_text(f"<b>回声</b> {html.escape(update.message.text)}")

    async def ask(update, context):
        await update.message.reply_text(f"问题：{html.escape(' '.join(context.args))}",
                                        reply_markup=keyboard("more"))

    async def more(update, context):
        await update.callback_query.answer()
        await update.callback_query.edit_message_text("<i>更多</i>")

    app = (
        ApplicationBuilder()
        .token(fake_api.token)
        .base_url(fake_api.base_url)
        .base_file_url(fake_api.base_file_url)
        .defaults(Defaults(parse_mode="HTML"))
        .build()
    )
    app.add_handler(CommandHandler("ask", ask))
    app.add_handler(CallbackQueryHandler(more))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        fake_api.private_message("你好 <世界> & 🏔")
        [echo_call] = await fake_api.await_calls("sendMessage")
        fake_api.group_message("/ask@LaoshanQABot 崂山 多高")
        await fake_api.await_calls("sendMessage", count=2)
        fake_api.callback_query("more", chat_id=DEFAULT_GROUP_ID)
        await fake_api.await_calls("editMessageText")
        last = fake_api.private_message("最后一条")
        await fake_api.await_calls("sendMessage", count=3)
        await app.updater.stop()
        await app.stop()

    assert echo_call.ok and echo_call.params["parse_mode"] == "HTML"
    assert echo_call.result["text"] == "回声 你好 <世界> & 🏔"
    assert fake_api.sent_texts(DEFAULT_GROUP_ID, plain=True) == ["问题：崂山 多高"]
    assert fake_api.sent_messages(DEFAULT_GROUP_ID)[0]["text"] == "更多"
    assert fake_api.calls_to("answerCallbackQuery")[0].ok
    assert fake_api.calls_to("deleteWebhook"), "start_polling deletes the webhook first"
    assert fake_api.acknowledged_offset == last + 1  # PTB confirmed every update on shutdown
    assert not fake_api.errors, fake_api.errors


async def test_application_builder_helper(fake_api):
    app = fake_api.application_builder().defaults(Defaults(parse_mode="HTML")).build()
    async with app:  # initialize() calls getMe
        assert app.bot.username == "LaoshanQABot"
        assert app.bot.defaults.parse_mode == "HTML"
    assert [c.method for c in fake_api.calls] == ["getMe"]


async def test_group_privacy_mode_delivery(bot, fake_api):
    assert fake_api.group_message("随便聊聊") is None
    assert fake_api.group_message("/ask@OtherBot 问题") is None  # a command for another bot
    mention = fake_api.group_message("请教 @LaoshanQABot 崂山有多高")
    command = fake_api.group_message("/help")
    await bot.send_message(DEFAULT_GROUP_ID, "我是机器人")
    reply = fake_api.group_message("回复你", reply_to_bot=True)
    assert None not in (mention, command, reply)
    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [mention, command, reply]
    assert updates[2].message.reply_to_message.from_user.username == "LaoshanQABot"
    assert [m["text"] for m in fake_api.undelivered] == ["随便聊聊", "/ask@OtherBot 问题"]
    everything = FakeBotAPI(privacy_mode=False)
    assert everything.bot_user["can_read_all_group_messages"] is True
    assert everything.group_message("随便聊聊") is not None


async def test_inline_message_edits_and_custom_handlers(bot, fake_api):
    fake_api.chosen_inline_result("1", "崂山")
    [update] = await bot.get_updates(timeout=0)
    imid = update.chosen_inline_result.inline_message_id
    assert await bot.edit_message_text("<b>新</b>", inline_message_id=imid, parse_mode="HTML") is True
    with pytest.raises(BadRequest, match="(?i)^message is not modified"):
        await bot.edit_message_text("<b>新</b>", inline_message_id=imid, parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)^message to edit not found$"):
        await bot.edit_message_text("x", inline_message_id="BAAAAnope")

    fake_api.on("getChatMemberCount", lambda params, api: 321)
    assert await bot.get_chat_member_count(USER) == 321
    assert fake_api.calls_to("getChatMemberCount")[0].params == {"chat_id": USER}
