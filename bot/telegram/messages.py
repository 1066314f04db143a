"""What the bot says and the buttons it shows: pure builders, no network.

Callback data is kept well inside Telegram's 64-byte limit: a tag, the index generation (so a
button from before a reload is recognised as stale) and short ids, never question text.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
)

from bot.answering import answer as answering
from bot.answering import followup, smalltalk
from bot.answering.answer import Answer, Quote
from bot.answering.service import MAX_RESULTS, Service, base36
from bot.ops.documents import Added, Listed
from bot.search import text
from bot.search.corpus import Passage

MAX_CALLBACK_BYTES = 64
INLINE_PAGE = 10
DESCRIPTION_CHARS = 60

COMMANDS = [
    BotCommand("ask", "提问：/ask 问题"),
    BotCommand("help", "怎么用：私聊、群聊、inline"),
    BotCommand("about", "资料库里有哪些文档"),
    BotCommand("start", "开始"),
]
# Shown only in each admin's private chat with the bot (BotCommandScopeChat).
ADMIN_COMMANDS = [
    BotCommand("stats", "统计：/stats 天数（默认 7）"),
    BotCommand("unanswered", "最近没找到答案的问题：/unanswered 条数"),
    BotCommand("reload", "重新载入资料库"),
    BotCommand("docs", "资料库里的文档及段落数"),
    BotCommand("remove", "删除文档：/remove 编号（见 /docs）"),
]

STALE = "这个按钮已过期，请重新提问。"
THANKS_UP = "谢谢反馈！👍"
THANKS_DOWN = "谢谢反馈，我们会改进。👎"
NOT_ADMIN = "抱歉，这个命令只对管理员开放。"
RELOAD_STARTED = "正在重新读取资料并重建索引，期间照常回答问题……"
# The documents are on a search engine (SEARCH_BACKEND=sphinxql): the bot has no corpus of its own.
NO_CORPUS_HERE = ("资料在搜索引擎上，不能在聊天里重新加载、添加或删除文档："
                  "请在服务器上用 python -m bot index --backend sphinxql 重建（见 docs/scale-out.md）。")

ASK_HINT = "请在 /ask 后面写上问题，例如：/ask 崂山区有多少家高新技术企业？"
UNKNOWN_COMMAND = "没有这个命令。直接发送问题即可，或发送 /help 查看用法。"
NON_TEXT_HINT = "我只能回答文字问题，请用中文把问题打出来。"
NO_CHINESE_HINT = "我只回答关于资料内容的中文问题，请用中文提问，例如：崂山区有多少家高新技术企业？"


# --------------------------------------------------------------------------- callback data


@dataclass(frozen=True)
class Callback:
    kind: str  # "more" | "para" | "example" | "vote" | "remove"
    generation: str
    ref: str  # question id (more), passage position (para), example number, log id (vote), document number (remove)
    offset: int = 0


_TAGS = {"more": "m", "para": "p", "example": "e", "vote": "v", "remove": "r"}
_KINDS = {v: k for k, v in _TAGS.items()}
_CALLBACK = re.compile(r"^([mpevr]):([0-9a-f]{1,8}):([0-9a-z]{1,12})(?::(\d{1,3}))?$")


def encode_callback(cb: Callback) -> str:
    data = f"{_TAGS[cb.kind]}:{cb.generation}:{cb.ref}"
    if cb.kind in ("more", "vote", "remove"):
        data += f":{cb.offset}"
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {data!r}")
    return data


def decode_callback(data: str | None) -> Callback | None:
    """The button's meaning, or None for data this bot never made."""
    m = _CALLBACK.match(data or "")
    if not m:
        return None
    tag, gen, ref, offset = m.groups()
    return Callback(_KINDS[tag], gen, ref, int(offset or 0))


# --------------------------------------------------------------------------- replies


VOTE_UP, VOTE_DOWN = 1, 2  # the offset field of a vote button


def answer_keyboard(
    service: Service, ans: Answer, qid: str | None, offset: int, log_id: int | None = None
) -> InlineKeyboardMarkup | None:
    """Buttons under an answer: full paragraphs, the next results, and 👍/👎 feedback."""
    rows: list[list[InlineKeyboardButton]] = []
    paragraph_buttons = [
        InlineKeyboardButton(
            f"📄 第{n}条全文",
            callback_data=encode_callback(
                Callback("para", service.generation, str(service.position(q.passage)))
            ),
        )
        for n, q in enumerate(ans.quotes or ans.related, start=offset + 1)
        if q.text != q.passage.context
    ]
    if paragraph_buttons:
        rows.append(paragraph_buttons)
    next_offset = offset + len(ans.quotes)
    if qid is not None and ans.quotes and next_offset < MAX_RESULTS and ans.more:
        rows.append([
            InlineKeyboardButton(
                "更多结果 ▶",
                callback_data=encode_callback(Callback("more", service.generation, qid, next_offset)),
            )
        ])
    if log_id is not None and ans.answered:
        rows.append([
            InlineKeyboardButton(
                label,
                callback_data=encode_callback(Callback("vote", service.generation, base36(log_id), vote)),
            )
            for label, vote in (("👍 有帮助", VOTE_UP), ("👎 没帮助", VOTE_DOWN))
        ])
    return InlineKeyboardMarkup(rows) if rows else None


def paragraph_html(passage: Passage) -> str:
    body = html.escape(passage.context or passage.text, quote=False)
    source = html.escape(f"《{passage.title}》第{passage.paragraph}段", quote=False)
    text = f"<blockquote>{body}</blockquote>\n— {source}"
    if len(text) > answering.MAX_MESSAGE_CHARS:  # a paragraph longer than a message: its opening
        room = answering.MAX_MESSAGE_CHARS - len(source) - 40
        opening = html.escape((passage.context or passage.text)[:room], quote=False)
        text = f"<blockquote>{opening}…</blockquote>\n— {source}"
    return text


def start_html(service: Service, first_name: str | None) -> str:
    hello = f"你好，{html.escape(first_name, quote=False)}！" if first_name else "你好！"
    docs = "\n".join(f"• {html.escape(t, quote=False)}" for t, _ in service.documents())
    return (
        f"{hello}我是文档问答机器人：用中文提问，我从下面的资料里找出回答问题的原文段落，"
        f"标出关键词并注明出处；资料里没有的，我会直接告诉你。\n\n"
        f"<b>我知道的资料</b>\n{docs}\n\n"
        "直接发问题给我，或点下面的例子试试："
    )


# Small talk (bot/answering/smalltalk.py) is answered in kind; a greeting as /start is.
THANKS_REPLY = "不客气！还有问题随时问我。"
BYE_REPLY = "再见！有问题随时回来问我。"


def small_talk(
    said: smalltalk.Kind, service: Service, first_name: str | None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The reply (HTML) to a greeting, thanks or goodbye, and its buttons."""
    if said == "hello":
        return start_html(service, first_name), examples_keyboard(service)
    return (THANKS_REPLY if said == "thanks" else BYE_REPLY), None


def examples_keyboard(service: Service) -> InlineKeyboardMarkup | None:
    examples = service.example_questions()
    if not examples:
        return None
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(q, callback_data=encode_callback(Callback("example", service.generation, str(i))))]
        for i, q in enumerate(examples)
    ])


def help_html(bot_username: str | None) -> str:
    at = f"@{bot_username}" if bot_username else "@机器人"
    return (
        "<b>怎么用</b>\n"
        "• <b>私聊</b>：直接发送问题，例如“崂山区有多少家高新技术企业？”\n"
        f"• <b>群聊</b>：发送 /ask 问题，或 {html.escape(at)} 问题，或回复我的消息继续问。\n"
        f"• <b>任意聊天</b>：输入 {html.escape(at)} 加问题（inline 模式），从结果中选一条发送。\n\n"
        "每条回答引用资料原文，<b>粗体</b>是与问题对应的词，后面注明文档和段落。"
        "点“全文”看整段，点“更多结果”看后面的段落。找不到时，换个说法或用更具体的关键词再试。\n\n"
        "/about 查看资料库里的文档。"
    )


def about_html(service: Service) -> str:
    docs = service.documents()
    lines = [f"• {html.escape(t, quote=False)}（{n} 段）" for t, n in docs]
    return (
        f"<b>资料库</b>：{len(docs)} 篇文档，共索引 {len(service.index)} 个段落。\n"
        + "\n".join(lines)
    )


# --------------------------------------------------------------------------- inline mode


def inline_results(
    service: Service, query: str, ans: Answer | None, offset: int, bot_username: str | None = None
) -> tuple[list[InlineQueryResultArticle], str | None]:
    """One page of inline results and the next offset (None on the last page).

    ``ans`` is the answer to ``query`` with up to MAX_RESULTS quotes (None: nothing was asked).
    """
    if not query.strip():
        return [_inline_help(bot_username)], None
    if ans is None or not ans.answered:
        if offset == 0:
            return [_inline_related(service, ans.related[0]) if ans and ans.related else _inline_not_found()], None
        return [], None
    quotes = ans.quotes[offset : offset + INLINE_PAGE]
    has_more = len(ans.quotes) > offset + INLINE_PAGE
    asked = f"问：{html.escape(' '.join(query.split()), quote=False)}"
    results = []
    for n, q in enumerate(quotes, start=offset):
        short = ans.short if n == 0 else None  # the short answer stands in the first quote
        body = [asked, answering.short_html(ans)] if short else [asked]
        results.append(InlineQueryResultArticle(
            id=f"{service.generation}:{service.position(q.passage)}",
            title=f"答：{short.text}" if short else q.passage.title,
            description=(f"{q.passage.title}｜" if short else "") + _first_words(q.text),
            input_message_content=InputTextMessageContent(
                "\n".join(body) + "\n" + answering.quote_html(q), parse_mode="HTML"
            ),
        ))
    return results, (str(offset + INLINE_PAGE) if has_more else None)


def _first_words(s: str) -> str:
    s = " ".join(s.split())
    return s if len(s) <= DESCRIPTION_CHARS else s[: DESCRIPTION_CHARS - 1] + "…"


def _inline_help(bot_username: str | None) -> InlineQueryResultArticle:
    at = f"@{bot_username}" if bot_username else "@机器人"
    return InlineQueryResultArticle(
        id="help",
        title="输入问题，查找资料原文",
        description=f"例如：{at} 崂山区有多少家高新技术企业？",
        input_message_content=InputTextMessageContent(
            f"在任意聊天中输入 {at} 加中文问题，即可从资料中查找并引用原文。"
        ),
    )


def _inline_related(service: Service, q: Quote) -> InlineQueryResultArticle:
    """A declined question that came close: the nearest passage, said not to be an answer."""
    return InlineQueryResultArticle(
        id=f"{service.generation}:{service.position(q.passage)}",
        title="没有直接答案 · 最接近的资料",
        description=f"{q.passage.title}｜" + _first_words(q.text),
        input_message_content=InputTextMessageContent(
            html.escape(answering.NOT_DIRECT, quote=False) + "\n" + answering.quote_html(q), parse_mode="HTML"
        ),
    )


def _inline_not_found() -> InlineQueryResultArticle:
    return InlineQueryResultArticle(
        id="none",
        title="没有找到相关内容",
        description="换个说法或用更具体的关键词再试",
        input_message_content=InputTextMessageContent(answering.NOT_FOUND),
    )


# --------------------------------------------------------------------------- the corpus, for admins

UPLOAD_NOT_ADMIN = "谢谢！不过只有管理员可以往资料库里添加文档。有问题请直接用文字提问。"
REMOVE_HINT = "请在 /remove 后写上 /docs 里的编号，例如：/remove 3"
REMOVE_CANCELLED = "已取消，资料库没有改动。"
REMOVE_CONFIRM, REMOVE_CANCEL = 1, 0  # the offset field of a remove button


def upload_refused(reason: str) -> str:
    return f"没有加入资料库：{html.escape(reason, quote=False)}"


def added_html(added: Added, service: Service) -> str:
    """'《标题》: 23 段, 已可检索', or which document already holds an upload seen before."""
    titles = "；".join(f"《{html.escape(t, quote=False)}》：{n} 段" for t, n in added.documents)
    if added.duplicate:
        return f"这份文件已经在资料库里了（{titles or html.escape(added.file_name, quote=False)}），没有重复添加。"
    return (
        f"✅ {titles}，已可检索。\n"
        f"资料库现有 {len(service.documents())} 篇文档，{len(service.index)} 个段落。"
    )


def docs_html(listing: list[Listed]) -> str:
    """/docs: every document with its passage count, numbered for /remove (cut to one message)."""
    lines = [
        f"{d.number}. 《{html.escape(d.title, quote=False)}》 {d.passages} 段"
        + (f" · {html.escape(d.file.name, quote=False)}" if d.file is not None else " · JSONL 记录")
        for d in listing
    ]
    head = (
        f"<b>资料库</b>：{len(listing)} 篇文档，共 {sum(d.passages for d in listing)} 个段落。"
        "添加：发来 PDF、Word、网页、TXT、MD 或 JSONL 文件；删除：/remove 编号\n"
    )
    text, shown = head, 0
    for line in lines:
        if len(text) + len(line) + 40 > answering.MAX_MESSAGE_CHARS:
            break
        text += "\n" + line
        shown += 1
    if shown < len(lines):
        text += f"\n……还有 {len(lines) - shown} 篇"
    return text


def remove_confirm(doc: Listed, generation: str) -> tuple[str, InlineKeyboardMarkup]:
    """The question before a removal, with its two buttons."""
    text = f"确定从资料库删除第 {doc.number} 篇《{html.escape(doc.title, quote=False)}》（{doc.passages} 段）吗？"
    keyboard = InlineKeyboardMarkup([[
        InlineKeyboardButton(
            label, callback_data=encode_callback(Callback("remove", generation, str(doc.number), choice))
        )
        for label, choice in (("🗑 确认删除", REMOVE_CONFIRM), ("取消", REMOVE_CANCEL))
    ]])
    return text, keyboard


def removed_html(doc: Listed, service: Service) -> str:
    return (
        f"已删除《{html.escape(doc.title, quote=False)}》。"
        f"资料库现有 {len(service.documents())} 篇文档，{len(service.index)} 个段落。"
    )


# --------------------------------------------------------------------------- answers in their conversation


def reply_html(follow: followup.FollowUp, question: str, heading: bool = False) -> str:
    """The answer to ``question`` as read (a follow-up says how it was read), headed by the question
    when ``heading`` (an example pressed under /start); a question with no Chinese the corpus could
    not answer gets a hint that the bot answers Chinese questions."""
    if not follow.answer.answered and not text.HAN.search(question):
        return html.escape(NO_CHINESE_HINT, quote=False)
    head = f"问：{html.escape(' '.join(question.split()), quote=False)}\n" if heading else ""
    return head + followup.reply_html(follow, answering.MAX_MESSAGE_CHARS - len(head))


def reply_text(follow: followup.FollowUp, question: str) -> str:
    """The same as plain text, for the console."""
    if not follow.answer.answered and not text.HAN.search(question):
        return NO_CHINESE_HINT
    return followup.reply_text(follow)


_TAG = re.compile(r"<[^>]+>")


def plain(html_text: str) -> str:
    """Telegram HTML as the console prints it: tags dropped, entities read."""
    return html.unescape(_TAG.sub("", html_text))


def plain_reply(html_text: str, keyboard: InlineKeyboardMarkup | None = None) -> str:
    """A reply with its buttons as the console prints it: the text, then a line per button."""
    buttons = [b.text for row in keyboard.inline_keyboard for b in row] if keyboard else []
    return plain(html_text) + "".join(f"\n• {b}" for b in buttons)
