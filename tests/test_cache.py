"""The index cache (bot/search/cache.py): a current cache is loaded, anything else is rebuilt, never fatal."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from corpus_samples import LIGHTHOUSE_MD, LIGHTHOUSE_NOTES_TXT, write_files

from bot.search import cache
from bot.search.index import Index

QUESTIONS = ["灯塔岛志愿服务队有多少名队员？", "合作社养殖什么？", "海洋科普课堂讲什么", "渡船", "没有的东西"]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_files(tmp_path / "corpus", {"island.md": LIGHTHOUSE_MD, "notes.txt": LIGHTHOUSE_NOTES_TXT})


@pytest.fixture
def builds(monkeypatch) -> list[int]:
    """How many passages each index build saw (a load from the cache is not a build)."""
    seen: list[int] = []
    real = cache.build_index

    def counting(passages, *args, **kwargs):
        seen.append(len(passages))
        return real(passages, *args, **kwargs)

    monkeypatch.setattr(cache, "build_index", counting)
    return seen


def results(index: Index) -> list[list[tuple]]:
    return [
        [(h.passage, h.score, h.coverage, h.matched) for h in index.search(q, k=3)] for q in QUESTIONS
    ]


def same_models(a: Index, b: Index) -> bool:
    for x, y in ((a.words, b.words), (a.grams, b.grams)):
        if x.vocab != y.vocab or x.n_docs != y.n_docs:
            return False
        if not all(np.array_equal(getattr(x, f), getattr(y, f)) for f in ("indptr", "rows", "data", "idf")):
            return False
    return True


def test_second_load_comes_from_the_cache_with_identical_results(corpus, tmp_path, builds):
    data = tmp_path / "data"
    first = cache.load_or_build(corpus, data)
    assert builds == [len(first)] and cache.cache_path(data, corpus).is_file()
    second = cache.load_or_build(corpus, data)
    assert builds == [len(first)]  # loaded, not rebuilt
    assert second.passages == first.passages
    assert [p.context for p in second.passages] == [p.context for p in first.passages]
    assert second.user_terms == first.user_terms
    assert same_models(first, second)
    assert results(second) == results(first)
    assert any(results(first))  # the questions do find passages


def test_a_changed_corpus_file_is_rebuilt(corpus, tmp_path, builds):
    data = tmp_path / "data"
    before = cache.load_or_build(corpus, data)
    with open(corpus / "notes.txt", "a", encoding="utf-8") as f:
        f.write("\n灯塔岛新建了一座海水淡化站，每天供应淡水三百吨。\n")
    after = cache.load_or_build(corpus, data)
    assert len(builds) == 2 and len(after) == len(before) + 1
    assert "海水淡化站" in after.search("海水淡化站每天供应多少淡水", k=1)[0].passage.text
    cache.load_or_build(corpus, data)
    assert len(builds) == 2  # and the new cache is used


def _random_bytes(path: Path) -> None:
    path.write_bytes(np.random.default_rng(5).bytes(4096))


def _truncated(path: Path) -> None:
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _flipped(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    for i in range(len(raw) // 3, len(raw) // 3 + 64):
        raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))


def _foreign_npz(path: Path) -> None:
    with open(path, "wb") as f:
        np.savez(f, weights=np.arange(10.0), labels=np.array([1, 2, 3]))


def _other_format(path: Path) -> None:
    meta = b'{"format": "someone-else/3", "key": "x"}'
    with open(path, "wb") as f:
        np.savez(f, meta=np.frombuffer(meta, dtype=np.uint8))


def _inconsistent_arrays(path: Path) -> None:
    """Our format and key, but a matrix whose rows point past the last passage."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {name: z[name] for name in z.files}
    arrays["grams_rows"] = arrays["grams_rows"] + 10_000
    with open(path, "wb") as f:
        np.savez(f, **arrays)


@pytest.mark.parametrize(
    "damage", [_random_bytes, _truncated, _empty, _flipped, _foreign_npz, _other_format, _inconsistent_arrays]
)
def test_a_damaged_or_foreign_cache_file_is_rebuilt(corpus, tmp_path, builds, damage):
    data = tmp_path / "data"
    good = cache.load_or_build(corpus, data)
    damage(cache.cache_path(data, corpus))
    rebuilt = cache.load_or_build(corpus, data)  # no exception
    assert len(builds) == 2
    assert results(rebuilt) == results(good)
    cache.load_or_build(corpus, data)
    assert len(builds) == 2  # the rebuilt cache was written back and is used


def test_a_data_dir_that_cannot_be_created_still_works(corpus, tmp_path, builds):
    data = tmp_path / "not-a-dir"
    data.write_text("a file where DATA_DIR should be")
    index = cache.load_or_build(corpus, data)
    assert results(index) == results(cache.load_or_build(corpus, None))
    assert data.read_text() == "a file where DATA_DIR should be"


def test_a_cache_that_cannot_be_written_still_works(corpus, tmp_path, builds, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cache.tempfile, "mkstemp", refuse)
    data = tmp_path / "data"
    index = cache.load_or_build(corpus, data)
    assert any(results(index))
    assert not cache.cache_path(data, corpus).exists()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_data_dir_still_works(corpus, tmp_path, builds):
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o500)
    try:
        index = cache.load_or_build(corpus, data)
        assert any(results(index))
    finally:
        data.chmod(0o700)


def test_no_data_dir_means_no_cache(corpus, builds):
    cache.load_or_build(corpus, None)
    cache.load_or_build(corpus, None)
    assert len(builds) == 2


def test_progress_and_rebuild(corpus, tmp_path, builds):
    data = tmp_path / "data"
    seen: list[tuple[int, int]] = []
    index = cache.load_or_build(corpus, data, lambda done, total: seen.append((done, total)))
    assert seen and seen[-1] == (len(index), len(index))
    cache.load_or_build(corpus, data, rebuild=True)
    assert len(builds) == 2


def test_a_build_on_two_workers_equals_the_in_process_build(corpus, tmp_path):
    one = cache.load_or_build(corpus, tmp_path / "a", workers=1)
    two = cache.load_or_build(corpus, tmp_path / "b", workers=2)
    assert same_models(one, two)
    assert results(one) == results(two)


def test_writing_an_index_cache_removes_the_ones_unused_for_a_month(corpus, tmp_path):
    data = tmp_path / "data"
    other = write_files(tmp_path / "other", {"island.md": LIGHTHOUSE_MD, "notes.txt": LIGHTHOUSE_NOTES_TXT})
    cache.load_or_build(other, data)
    old = cache.cache_path(data, other)
    month_ago = os.stat(old).st_mtime - 31 * 86400
    os.utime(old, (month_ago, month_ago))
    leftover = data / "index-0123456789ab.npz.x.tmp"  # a crash's half-written file
    leftover.write_bytes(b"half")
    os.utime(leftover, (month_ago, month_ago))
    cache.load_or_build(corpus, data)  # a new cache written: the old ones go
    assert cache.cache_path(data, corpus).is_file() and not old.exists() and not leftover.exists()


def test_an_index_cache_in_use_is_kept(corpus, tmp_path):
    data = tmp_path / "data"
    other = write_files(tmp_path / "other", {"island.md": LIGHTHOUSE_MD, "notes.txt": LIGHTHOUSE_NOTES_TXT})
    cache.load_or_build(other, data)
    used = cache.cache_path(data, other)
    month_ago = os.stat(used).st_mtime - 31 * 86400
    os.utime(used, (month_ago, month_ago))
    cache.load_or_build(other, data)  # loaded (by another bot, say): used now
    cache.load_or_build(corpus, data)
    assert used.exists()
