"""The corpus as admins change it (bot/ops/documents.py), without Telegram."""

from __future__ import annotations

import json
from pathlib import Path

import format_samples as fs
import pytest
from corpus_samples import LIGHTHOUSE_MD, LIGHTHOUSE_NOTES_TXT, write_files

from bot.answering.service import Service
from bot.ops import documents
from bot.ops.documents import DocumentError, Library


@pytest.fixture
def corpus(tmp_path) -> Path:
    record = json.dumps({"id": "r1", "title": "记录一", "text": "崂山茶园今年新增有机认证茶园三百亩，茶农收入明显增加。"},
                        ensure_ascii=False)
    return write_files(tmp_path / "corpus", {
        "island.md": LIGHTHOUSE_MD, "notes.txt": LIGHTHOUSE_NOTES_TXT, "records.jsonl": record + "\n",
    })


class Holder:
    """The service now serving, as the handlers keep it in bot_data."""

    def __init__(self, service: Service):
        self.service = service

    def get(self) -> Service:
        return self.service

    def set(self, new: Service) -> None:
        self.service = new


@pytest.fixture
def holder(corpus) -> Holder:
    return Holder(Service.from_corpus(corpus, 3))


@pytest.mark.parametrize(
    "sent, stored",
    [
        ("../../etc/passwd.txt", "passwd-"),
        ("/abs/path/报告 (终稿).md", "报告-终稿-"),
        ("..\\..\\win.txt", "win-"),
        (".hidden.txt", "hidden-"),
        ("???.txt", "upload-"),
        (None, "upload-"),
    ],
)
def test_the_stored_name_never_holds_a_path(sent, stored):
    name = documents.safe_name(sent, b"data", ".txt")
    assert name.startswith(stored) and name.endswith(".txt") and "/" not in name and "\\" not in name
    assert len(name) == len(stored) + 8 + 4  # eight hex digits of the content


def test_an_upload_is_stored_inside_the_corpus_and_swapped_in(corpus, holder):
    library = Library(corpus, None)
    old = holder.service
    added = library.add(fs.markdown().encode(), "../../海洋牧场.md", holder.get, holder.set)
    assert added.documents == ((fs.TITLE, 6),) and not added.duplicate
    assert (corpus / added.file_name).is_file() and added.file_name.startswith("海洋牧场-")
    assert holder.service is not old and len(holder.service.index) == len(old.index) + 6
    again = library.add(fs.markdown().encode(), "copy.md", holder.get, holder.set)
    assert again.duplicate and again.file_name == added.file_name


def test_a_failed_rebuild_undoes_the_upload(corpus, holder, monkeypatch):
    library = Library(corpus, None)
    before = sorted(p.name for p in corpus.iterdir())

    def broken(self, data_dir=None):
        raise OSError("disk full")

    monkeypatch.setattr(Service, "reloaded", broken)
    old = holder.service
    with pytest.raises(DocumentError, match="重建索引失败，已撤回这份文件：disk full"):
        library.add(fs.markdown().encode(), "a.md", holder.get, holder.set)
    assert sorted(p.name for p in corpus.iterdir()) == before and holder.service is old


def test_a_jsonl_record_cannot_be_removed_alone(corpus, holder):
    library = Library(corpus, None)
    listing = library.listing(holder.service)
    assert [(d.title, d.file.name if d.file else None) for d in listing] == [
        ("灯塔岛志愿服务纪实", "island.md"), ("灯塔岛渔业合作社", "notes.txt"), ("记录一", None),
    ]
    with pytest.raises(DocumentError, match="JSONL"):
        library.remove(3, holder.get, holder.set)
    doc, new = library.remove(2, holder.get, holder.set)
    assert doc.title == "灯塔岛渔业合作社" and not (corpus / "notes.txt").exists()
    assert holder.service is new and [d.title for d in library.listing(new)] == ["灯塔岛志愿服务纪实", "记录一"]


def test_removing_what_leaves_too_little_puts_it_back(tmp_path):
    corpus = write_files(tmp_path / "c", {"island.md": LIGHTHOUSE_MD, "notes.txt": LIGHTHOUSE_NOTES_TXT})
    holder = Holder(Service.from_corpus(corpus, 3))
    library = Library(corpus, None)
    with pytest.raises(DocumentError, match="删除后资料库无法使用，已恢复原状"):
        library.remove(1, holder.get, holder.set)  # two passages would be left: BM25 needs three
    assert (corpus / "island.md").is_file()


def test_checks_before_download(tmp_path):
    library = Library(tmp_path / "missing", None)
    with pytest.raises(DocumentError, match="不支持.exe的文件"):
        library.check_upload("setup.exe", 10)
    with pytest.raises(DocumentError, match="文件太大（20.0 MB）"):
        library.check_upload("a.pdf", 20 * 1024 * 1024 + 1)
    with pytest.raises(DocumentError, match="不是一个目录"):
        library.check_upload("a.pdf", 100)
