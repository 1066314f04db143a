"""Segment many passages on every core: texts -> tokens, or texts -> term counts -> BM25 models.

jieba segments about a thousand passages a second on one core, so a corpus of a million passages
is most of an hour in one process. Here the texts are cut into chunks and a pool of worker
processes (one per core) analyses them; each worker first makes a ``text.Segmenter`` with
jieba's dictionary and the corpus' own terms, so its cuts are the ones the index would make.
For building an index the workers send back term counts (``bm25.count_terms``: a few numpy
arrays and each chunk's distinct terms) instead of every token, which keeps both the pickling
and the main process' share of the work small.

Small corpora (fewer than ``MIN_PARALLEL`` passages) are analysed in-process: starting workers
costs more than it saves.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

from bot.search import text
from bot.search.bm25 import Builder, SparseBM25, TermCounts, count_terms

MIN_PARALLEL = 5_000  # passages: below this, one process
MAX_CHUNK = 1_000  # passages sent to a worker at a time

Progress = Callable[[int, int], None]  # (passages done, passages in all)
T = TypeVar("T")


def cpu_count() -> int:
    """Cores this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):
        return max(os.cpu_count() or 1, 1)


def worker_count(n_texts: int, workers: int | None = None) -> int:
    """Processes to use: ``workers`` when given, else every core for a large corpus, else one."""
    if workers is not None:
        return max(1, min(workers, max(n_texts, 1)))
    return cpu_count() if n_texts >= MIN_PARALLEL else 1


def map_chunks(
    fn: Callable[[list[str]], T],
    texts: Sequence[str],
    *,
    user_terms: Iterable[str] = (),
    workers: int | None = None,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    chunk_size: int | None = None,
) -> Iterator[T]:
    """``fn`` of successive chunks of ``texts``, in order, computed on ``workers`` processes.

    ``fn`` must be a module-level function (it is pickled to the workers). Each worker loads
    jieba's dictionary (from ``cache_dir`` if it is there) and adds ``user_terms`` before its first
    chunk; in-process, the terms are added here. ``progress(done, total)`` is called with 0
    first, then after every chunk.
    """
    terms = sorted(user_terms)
    n = worker_count(len(texts), workers)
    size = chunk_size or max(50, min(MAX_CHUNK, len(texts) // (8 * n) or 1))
    chunks = (list(texts[i : i + size]) for i in range(0, len(texts), size))
    done = 0
    if progress:
        progress(0, len(texts))
    if n <= 1:
        global _segmenter
        outer, _segmenter = _segmenter, text.Segmenter(terms, cache_dir=cache_dir, lazy=False)
        try:
            for chunk_result in map(fn, chunks):
                done = min(done + size, len(texts))
                if progress:
                    progress(done, len(texts))
                yield chunk_result
        finally:
            _segmenter = outer
        return
    with _context().Pool(n, initializer=_init_worker, initargs=(terms, cache_dir)) as pool:
        for chunk_result in pool.imap(fn, chunks):
            done = min(done + size, len(texts))
            if progress:
                progress(done, len(texts))
            yield chunk_result


def _context() -> Any:
    """fork where it is safe (a single thread: the workers inherit the loaded dictionary), else
    forkserver/spawn (each worker loads the dictionary itself)."""
    methods = mp.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return mp.get_context("fork")
    return mp.get_context("forkserver" if "forkserver" in methods else "spawn")


# This worker's segmenter (the one map_chunks' chunk functions use): made by ``_init_worker``
# in a pool process, or for the duration of an in-process run.
_segmenter: text.Segmenter | None = None


def _init_worker(user_terms: list[str], cache_dir: Path | None) -> None:
    global _segmenter
    _segmenter = text.Segmenter(user_terms, cache_dir=cache_dir, lazy=False)  # it will cut thousands


def segmenter() -> text.Segmenter:
    """The segmenter of the map_chunks run this chunk function is part of."""
    if _segmenter is None:
        raise RuntimeError("parallel.segmenter() is for chunk functions run by map_chunks")
    return _segmenter


# --------------------------------------------------------------------------- chunk functions


@dataclass
class Counted:
    """One chunk of passages, counted for both models."""

    words: TermCounts
    grams: TermCounts


def _count_chunk(texts: list[str]) -> Counted:
    analysed = [segmenter().analyse(t) for t in texts]
    return Counted(count_terms([w for w, _ in analysed]), count_terms([g for _, g in analysed]))


# --------------------------------------------------------------------------- entry points


def count_many(
    texts: Sequence[str],
    user_terms: Iterable[str] = (),
    *,
    workers: int | None = None,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> Iterator[Counted]:
    """Term counts of successive chunks of the texts, in order."""
    return map_chunks(
        _count_chunk, texts, user_terms=user_terms, workers=workers, cache_dir=cache_dir, progress=progress
    )


def build_models(
    texts: Sequence[str],
    user_terms: Iterable[str] = (),
    *,
    workers: int | None = None,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> tuple[SparseBM25, SparseBM25]:
    """The (words, character n-grams) BM25 models of the texts: what ``Index`` builds, in parallel."""
    words, grams = Builder(), Builder()
    for counted in count_many(
        texts, user_terms, workers=workers, cache_dir=cache_dir, progress=progress
    ):
        words.add_counts(counted.words)
        grams.add_counts(counted.grams)
    return words.finish(), grams.finish()


# --------------------------------------------------------------------------- by document


@dataclass
class CountedGroup:
    """A group of passages (one document's): their normalised texts, and their counts for both models."""

    normalised: list[str]
    counted: Counted


def _count_groups(groups: list[list[str]]) -> list[CountedGroup]:
    out = []
    for texts in groups:
        normalised = [text.normalise(t) for t in texts]
        analysed = [segmenter().analyse(t, normalised=True) for t in normalised]
        counted = Counted(count_terms([w for w, _ in analysed]), count_terms([g for _, g in analysed]))
        out.append(CountedGroup(normalised, counted))
    return out


def count_groups(
    groups: Sequence[Sequence[str]],
    user_terms: Iterable[str] = (),
    *,
    workers: int | None = None,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> Iterator[CountedGroup]:
    """Each group's normalised texts and term counts, in order; groups are never split, so each
    comes back counted on its own (what a per-document cache keeps). On ``workers`` processes
    (by default every core from ``MIN_PARALLEL`` passages on), ``progress`` as ``map_chunks``."""
    total = sum(len(g) for g in groups)
    n = worker_count(total, workers)
    size = max(50, min(MAX_CHUNK, total // (8 * n) or 1))
    batches: list[list[list[str]]] = [[]]
    filled = 0
    for g in groups:
        if batches[-1] and filled + len(g) > size:
            batches.append([])
            filled = 0
        batches[-1].append(list(g))
        filled += len(g)
    done = 0
    terms = sorted(user_terms)
    if n <= 1:
        global _segmenter
        outer, _segmenter = _segmenter, text.Segmenter(terms, cache_dir=cache_dir, lazy=total < MAX_CHUNK)
        if progress:  # (after loading the dictionary: the rate is the segmenting's)
            progress(0, total)
        try:
            results: Iterator[list[CountedGroup]] = map(_count_groups, batches)
            for batch in results:
                done += sum(len(r.normalised) for r in batch)
                if progress:
                    progress(done, total)
                yield from batch
        finally:
            _segmenter = outer
        return
    if progress:
        progress(0, total)
    with _context().Pool(n, initializer=_init_worker, initargs=(terms, cache_dir)) as pool:
        for batch in pool.imap(_count_groups, batches):
            done += sum(len(r.normalised) for r in batch)
            if progress:
                progress(done, total)
            yield from batch


# --------------------------------------------------------------------------- progress line


class ProgressLine:
    """A ``progress`` callback that shows passages done and passages a second on a stream.

    The clock starts at the call with 0 passages done (the work before, such as reading the
    corpus, is not counted in the rate). On a terminal the line is redrawn in place (at most every
    ``interval`` seconds); elsewhere (a log file) a line is written every ``log_interval`` seconds.
    ``close()`` ends the line.
    """

    def __init__(
        self, label: str = "segmenting", stream: IO[str] | None = None, interval: float = 0.2,
        log_interval: float = 10.0,
    ):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval if self.tty else log_interval
        self.start = time.perf_counter()
        self.last = float("-inf")
        self.shown = False
        self.done = 0
        self.elapsed = 0.0  # seconds from the call with 0 done to the latest call

    @property
    def rate(self) -> float:
        """Passages a second so far."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    def line(self, done: int, total: int) -> str:
        if done == 0:
            return f"{self.label} 0/{total:,} passages"
        took = time.perf_counter() - self.start
        rate = done / took if took > 0 else 0.0
        pct = 100.0 * done / total if total else 100.0
        left = (total - done) / rate if rate > 0 else 0.0
        eta = f", {left:,.0f} s left" if done < total else f" in {took:,.1f} s"
        return f"{self.label} {done:,}/{total:,} passages ({pct:.0f}%), {rate:,.0f} passages/s{eta}"

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if done == 0:
            self.start = now
        self.done, self.elapsed = done, now - self.start
        if done < total and now - self.last < self.interval:
            return
        self.last = now
        if self.tty:
            self.stream.write("\r\x1b[K" + self.line(done, total))
        else:
            self.stream.write(self.line(done, total) + "\n")
        self.shown = True
        self.stream.flush()

    def close(self) -> None:
        if self.shown and self.tty:
            self.stream.write("\n")
            self.stream.flush()
