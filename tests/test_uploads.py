"""Admins add and remove documents through the chat (bot/ops/documents.py behind thin handlers),
end to end against the fake Bot API: getFile, the download, the replies, the index swapped in."""

from __future__ import annotations

import asyncio
import io
import threading
from pathlib import Path

import format_samples as fs
import pytest
from bot_harness import ADMIN, running
from corpus_samples import DISTRICT, LIGHTHOUSE_MD, LIGHTHOUSE_NOTES_TXT, write_files

from bot.answering.service import Service
from bot.telegram import messages

STRANGER = 777
RANCH_Q = "青山湾海洋牧场投放了多少个人工鱼礁？"
CHERRY_TITLE = "北宅樱桃节活动安排"
CHERRY = (
    "第三十届北宅樱桃节于五月十八日开幕，持续到六月十五日，主会场设在北宅街道大崂村。",
    "樱桃节期间开通三条樱桃采摘专线公交，游客可在枯桃站换乘前往各采摘园。",
    "今年北宅街道樱桃种植面积达到两万三千亩，预计总产量一千二百万斤。",
)
CHERRY_Q = "樱桃节采摘专线公交在哪里换乘？"
OLD_Q = "灯塔岛志愿服务队有多少名队员？"


def cherry_docx() -> bytes:
    import docx

    d = docx.Document()
    d.add_heading(CHERRY_TITLE, 1)
    for p in CHERRY:
        d.add_paragraph(p)
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


@pytest.fixture
def corpus(tmp_path) -> Path:
    district = "# 崂山区各街道工作\n\n" + "\n\n".join(DISTRICT) + "\n"
    return write_files(tmp_path / "corpus", {
        "island.md": LIGHTHOUSE_MD, "notes.txt": LIGHTHOUSE_NOTES_TXT, "district.md": district,
    })


@pytest.fixture
def service(corpus, tmp_path) -> Service:
    return Service.from_corpus(corpus, 3, tmp_path / "data")


def _use_data_dir(app, tmp_path: Path) -> None:
    app.bot_data["data_dir"] = tmp_path / "data"  # the harness has none: the caches go here


async def _replies(api, chat: int, count: int, timeout: float = 60.0) -> list[str]:
    calls = await api.await_calls(
        "sendMessage", count=count, timeout=timeout, where=lambda c: c.ok and c.result["chat"]["id"] == chat
    )
    return [c.result["text"] for c in calls[:count]]


def _files(corpus: Path) -> list[str]:
    return sorted(p.name for p in corpus.iterdir())


async def _ask(api, chat: int, question: str, n: int) -> str:
    api.private_message(question, user_id=chat)
    return (await _replies(api, chat, n))[-1]


async def test_an_admin_uploads_a_pdf_and_a_docx_and_questions_are_answered_from_them(fake_api, service, corpus, tmp_path):
    async with running(fake_api, service) as app:
        _use_data_dir(app, tmp_path)
        assert "没有找到" in await _ask(fake_api, ADMIN, RANCH_Q, 1) or "抱歉" in fake_api.sent_texts(ADMIN)[-1]
        fake_api.document_message(fs.pdf(), file_name="牧场简介.pdf", mime_type="application/pdf", user_id=ADMIN)
        (added,) = (await _replies(fake_api, ADMIN, 2))[1:]
        assert added.startswith(f"✅ 《{fs.TITLE}》：6 段，已可检索。")
        answer = await _ask(fake_api, ADMIN, RANCH_Q, 3)
        assert fs.PARAGRAPHS[1] in answer and f"《{fs.TITLE}》" in answer

        fake_api.document_message(cherry_docx(), file_name="樱桃节.docx", user_id=ADMIN,
                                  mime_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        added = (await _replies(fake_api, ADMIN, 4))[-1]
        assert added.startswith(f"✅ 《{CHERRY_TITLE}》：3 段，已可检索。")
        answer = await _ask(fake_api, ADMIN, CHERRY_Q, 5)
        assert CHERRY[1] in answer and f"《{CHERRY_TITLE}》" in answer
        assert fs.PARAGRAPHS[1] in await _ask(fake_api, ADMIN, RANCH_Q, 6)  # the PDF still answers

        # The same PDF again (under another name) is recognised; nothing is stored twice.
        before = _files(corpus)
        fake_api.document_message(fs.pdf(), file_name="again.pdf", mime_type="application/pdf", user_id=ADMIN)
        again = (await _replies(fake_api, ADMIN, 7))[-1]
        assert again.startswith("这份文件已经在资料库里了") and fs.TITLE in again
        assert _files(corpus) == before
    stored = [n for n in _files(corpus) if n.endswith((".pdf", ".docx"))]
    assert len(stored) == 2 and all(n.startswith(("牧场简介-", "樱桃节-")) for n in stored)
    assert [c.method for c in fake_api.calls if c.method in ("getFile", "downloadFile")] == ["getFile", "downloadFile"] * 3
    assert not fake_api.errors


async def test_a_non_admin_upload_is_refused_and_nothing_is_written(fake_api, service, corpus, tmp_path):
    before = _files(corpus)
    async with running(fake_api, service) as app:
        _use_data_dir(app, tmp_path)
        fake_api.document_message(fs.pdf(), file_name="x.pdf", mime_type="application/pdf", user_id=STRANGER)
        (reply,) = await _replies(fake_api, STRANGER, 1)
    assert reply == messages.UPLOAD_NOT_ADMIN
    assert _files(corpus) == before
    assert not fake_api.calls_to("getFile") and not fake_api.calls_to("downloadFile")
    assert not fake_api.errors


BAD_FILES = {
    "oversized": (b"%PDF-1.4", "big.pdf", 25 * 1024 * 1024, "文件太大（25.0 MB）：Telegram 只允许机器人下载 20 MB 以内的文件。"),
    "corrupt": (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage", "broken.pdf", None, "PDF 文件已损坏，无法读取"),
    "encrypted": (None, "locked.pdf", None, "PDF 已加密（需要密码），请解除密码后再发送"),
    "scanned": (None, "scan.pdf", None, "这个 PDF 没有文字层（可能是扫描件），暂不支持识别图片中的文字"),
    "mislabelled": (None, "report.pdf", None, "文件名是 .pdf，内容却是Word 文件，请检查后再发送"),
    "unsupported": (b"a,b\n1,2\n", "table.csv", None, "不支持.csv的文件：可以发送 PDF、Word（.docx）、网页（.html）、TXT、MD 或 JSONL。"),
    "empty text": (b"   \n\n", "blank.txt", None, "文件里没有正文"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
async def test_a_bad_file_is_refused_in_one_line_and_the_old_index_keeps_answering(fake_api, service, corpus, tmp_path, case):
    data, name, size, reason = BAD_FILES[case]
    data = data if data is not None else {
        "encrypted": fs.encrypted_pdf, "scanned": fs.scanned_pdf, "mislabelled": fs.docx,
    }[case]()
    before = _files(corpus)
    async with running(fake_api, service) as app:
        _use_data_dir(app, tmp_path)
        fake_api.document_message(data, file_name=name, mime_type="application/octet-stream", user_id=ADMIN,
                                  file_size=size)
        (reply,) = await _replies(fake_api, ADMIN, 1)
        assert reply == f"没有加入资料库：{reason}"
        answer = await _ask(fake_api, ADMIN, OLD_Q, 2)
        assert "八十六名" in answer
        assert app.bot_data["service"] is service  # the old index still serves
    assert _files(corpus) == before
    assert bool(fake_api.calls_to("getFile")) == (case not in ("oversized", "unsupported"))
    assert not fake_api.errors


async def test_docs_lists_and_remove_asks_then_removes(fake_api, service, corpus, tmp_path):
    async with running(fake_api, service) as app:
        _use_data_dir(app, tmp_path)
        fake_api.private_message("/docs", user_id=ADMIN)
        (listing,) = await _replies(fake_api, ADMIN, 1)
        assert listing.startswith(f"资料库：3 篇文档，共 {len(service.index)} 个段落。添加：发来 PDF、Word")
        assert "1. 《崂山区各街道工作》 8 段 · district.md\n2. 《灯塔岛志愿服务纪实》 3 段 · island.md" in listing

        fake_api.private_message("/remove 2", user_id=ADMIN)
        ask = (await _replies(fake_api, ADMIN, 2))[-1]
        assert ask == "确定从资料库删除第 2 篇《灯塔岛志愿服务纪实》（3 段）吗？"
        buttons = [b for row in fake_api.last_bot_message(ADMIN)["reply_markup"]["inline_keyboard"] for b in row]
        assert all(len(b["callback_data"].encode()) <= 64 for b in buttons)
        cancel, confirm = buttons[1]["callback_data"], buttons[0]["callback_data"]

        fake_api.callback_query(confirm, chat_id=ADMIN, user_id=STRANGER)  # not an admin: refused
        refused = await fake_api.await_calls("answerCallbackQuery")
        assert refused[-1].params.get("text") == messages.NOT_ADMIN and "island.md" in _files(corpus)
        fake_api.callback_query(cancel, chat_id=ADMIN, user_id=ADMIN)
        assert (await _replies(fake_api, ADMIN, 3))[-1] == messages.REMOVE_CANCELLED
        assert "island.md" in _files(corpus)

        fake_api.private_message("/remove 2", user_id=ADMIN)
        await _replies(fake_api, ADMIN, 4)
        confirm = next(b for row in fake_api.last_bot_message(ADMIN)["reply_markup"]["inline_keyboard"] for b in row)
        fake_api.callback_query(confirm["callback_data"], chat_id=ADMIN, user_id=ADMIN)
        removed = (await _replies(fake_api, ADMIN, 5))[-1]
        assert removed.startswith("已删除《灯塔岛志愿服务纪实》。资料库现有 2 篇文档")
        assert "island.md" not in _files(corpus) and (tmp_path / "data" / "removed" / "island.md").is_file()
        assert "八十六名" not in await _ask(fake_api, ADMIN, OLD_Q, 6)

        fake_api.private_message("/remove 9", user_id=ADMIN)
        assert (await _replies(fake_api, ADMIN, 7))[-1] == "没有第 9 篇：资料库共有 2 篇文档，编号见 /docs。"
        fake_api.private_message("/docs", user_id=STRANGER)
        assert (await _replies(fake_api, STRANGER, 1))[-1] == messages.NOT_ADMIN
    assert not fake_api.errors


async def test_twenty_questions_during_an_upload_are_all_answered(fake_api, service, corpus, tmp_path, monkeypatch):
    """The rebuild is held until the 20 answers are out: they came from the old index, meanwhile."""
    release = threading.Event()
    real = Service.reloaded

    def held(self, data_dir=None):
        assert release.wait(60)
        return real(self, data_dir)

    monkeypatch.setattr(Service, "reloaded", held)
    users = range(9000, 9020)
    async with running(fake_api, service) as app:
        _use_data_dir(app, tmp_path)
        fake_api.document_message(fs.pdf(), file_name="ranch.pdf", mime_type="application/pdf", user_id=ADMIN)
        await fake_api.await_calls("downloadFile", timeout=30)
        for user in users:
            fake_api.private_message(OLD_Q, user_id=user)
        answers = await fake_api.await_calls(
            "sendMessage", count=20, timeout=60, where=lambda c: c.ok and c.result["chat"]["id"] in users
        )
        assert not fake_api.calls_to("sendMessage") or all(c.result["chat"]["id"] != ADMIN for c in fake_api.calls_to("sendMessage"))
        release.set()
        added = (await _replies(fake_api, ADMIN, 1))[-1]
    assert len({c.result["chat"]["id"] for c in answers}) == 20
    assert all("八十六名" in c.result["text"] for c in answers)
    assert added.startswith(f"✅ 《{fs.TITLE}》")
    assert not fake_api.errors


async def test_commands_for_the_corpus_are_in_the_admins_menu(fake_api, service):
    async with running(fake_api, service):
        await fake_api.await_calls("setMyCommands", count=2)
    admin = next(c for c in fake_api.calls_to("setMyCommands") if c.params.get("scope"))
    assert {"docs", "remove"} <= {c["command"] for c in admin.params["commands"]}
    default = next(c for c in fake_api.calls_to("setMyCommands") if not c.params.get("scope"))
    assert {"docs", "remove"}.isdisjoint(c["command"] for c in default.params["commands"])
    await asyncio.sleep(0)

