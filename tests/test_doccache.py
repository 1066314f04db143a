"""Per-document caches (bot/search/doccache.py): a rebuild reads and segments only what changed,
and gives the very index a build from scratch gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from corpus_samples import DISTRICT, LIGHTHOUSE_MD, LIGHTHOUSE_NOTES_TXT, write_files

from bot.search import cache, corpus, doccache, parallel
from bot.search.index import Index

QUESTIONS = ["灯塔岛志愿服务队有多少名队员？", "合作社养殖什么？", "樱桃节", "渔港码头", "崂先办平台", "海洋牧场"]


@pytest.fixture
def counted(monkeypatch) -> list[list[str]]:
    """The groups of passages (documents) each build segmented."""
    seen: list[list[str]] = []
    real = parallel.count_groups

    def recording(groups, *args, **kwargs):
        seen.append([g[0][:8] for g in groups])
        return real(groups, *args, **kwargs)

    monkeypatch.setattr(parallel, "count_groups", recording)
    return seen


def _corpus(tmp_path: Path) -> Path:
    district = "# 崂山区各街道工作\n\n" + "\n\n".join(DISTRICT) + "\n"
    return write_files(tmp_path / "corpus", {
        "a-island.md": LIGHTHOUSE_MD, "b-notes.txt": LIGHTHOUSE_NOTES_TXT, "c-district.md": district,
    })


def _same(a: Index, b: Index) -> None:
    assert a.passages == b.passages and a.user_terms == b.user_terms
    for x, y in ((a.words, b.words), (a.grams, b.grams)):
        assert x.vocab == y.vocab and x.n_docs == y.n_docs
        for f in ("indptr", "rows", "data", "idf"):
            assert np.array_equal(getattr(x, f), getattr(y, f))
    for q in QUESTIONS:
        assert [(h.passage, h.score) for h in a.search(q)] == [(h.passage, h.score) for h in b.search(q)]


def test_adding_a_document_segments_that_document_only(tmp_path, counted):
    corpus_dir, data = _corpus(tmp_path), tmp_path / "data"
    cache.load_or_build(corpus_dir, data)
    assert len(counted[-1]) == 3  # the first build: every document
    write_files(corpus_dir, {"d-ranch.md": "# 海洋牧场\n\n青山湾海洋牧场投放人工鱼礁三千六百个。\n\n游客可以乘船参观牧场。\n"})
    after = cache.load_or_build(corpus_dir, data)
    assert counted[-1] == ["青山湾海洋牧场投"]  # the new document alone
    _same(after, cache.load_or_build(corpus_dir, None))


def test_a_new_term_recounts_the_older_documents_that_hold_it(tmp_path, counted):
    """“灯塔岛志愿服务队” in quotes makes it a dictionary term: the documents holding those
    characters are cut again; the others are reused."""
    corpus_dir, data = _corpus(tmp_path), tmp_path / "data"
    cache.load_or_build(corpus_dir, data)
    write_files(corpus_dir, {"d-new.md": "# 新闻\n\n“灯塔岛志愿服务队”获评全国优秀志愿服务组织。\n"})
    after = cache.load_or_build(corpus_dir, data)
    assert sorted(counted[-1]) == sorted(["灯塔岛志愿服务队", "“灯塔岛志愿服务"])
    _same(after, cache.load_or_build(corpus_dir, None))
    (corpus_dir / "d-new.md").unlink()  # and back: the term goes, the document that held it is cut again
    again = cache.load_or_build(corpus_dir, data)
    assert counted[-1] == ["灯塔岛志愿服务队"]
    _same(again, cache.load_or_build(corpus_dir, None))


def test_files_are_read_once_until_they_change(tmp_path, monkeypatch):
    corpus_dir, data = _corpus(tmp_path), tmp_path / "data"
    reads: list[str] = []
    real = corpus.read_file_docs

    def recording(file, data_=None):
        reads.append(file.name)
        return real(file, data_)

    monkeypatch.setattr(corpus, "read_file_docs", recording)
    files = doccache.FileCache(data / "docs")
    first = corpus.read_corpus(corpus_dir, files)
    assert sorted(reads) == ["a-island.md", "b-notes.txt", "c-district.md"]
    reads.clear()
    assert corpus.read_corpus(corpus_dir, files) == first and reads == []
    write_files(corpus_dir, {"b-notes.txt": LIGHTHOUSE_NOTES_TXT.replace("一万三千元", "一万五千元")})
    corpus.read_corpus(corpus_dir, files)
    assert reads == ["b-notes.txt"]


def test_a_damaged_entry_is_counted_again_not_trusted(tmp_path, counted):
    corpus_dir, data = _corpus(tmp_path), tmp_path / "data"
    good = cache.load_or_build(corpus_dir, data)
    for entry in (data / "tokens").glob("*.npz"):
        entry.write_bytes(entry.read_bytes()[:100])
    for entry in (data / "docs").glob("*.json"):
        entry.write_text("{not json")
    rebuilt = cache.load_or_build(corpus_dir, data, rebuild=True)
    assert len(counted[-1]) == 3
    _same(good, rebuilt)


def test_old_entries_are_pruned(tmp_path):
    directory = tmp_path / "tokens"
    write_files(directory, {"old.npz": b"x", "new.npz": b"y"})
    import os
    import time

    os.utime(directory / "old.npz", (time.time() - 40 * 86400,) * 2)
    assert doccache.prune(directory) == 1
    assert [p.name for p in directory.iterdir()] == ["new.npz"]
