"""Persist the built index under DATA_DIR, so a restart loads instead of re-segmenting.

The cache file is keyed by the corpus content and everything that shapes the index (the code of
the pipeline, the stopwords, the jieba version). It holds only numpy arrays and JSON (loaded with
``allow_pickle=False``): a corrupt, stale or foreign file is rebuilt, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from pathlib import Path

import jieba
import numpy as np

from bot.search import parallel
from bot.search.bm25 import SparseBM25
from bot.search.corpus import (
    MIN_PASSAGES,
    Corpus,
    CorpusError,
    Passage,
    Skipped,
    corpus_files,
    read_corpus,
    skipped_note,
)
from bot.search.doccache import MAX_AGE_DAYS, FileCache, TokenCache, prune
from bot.search.index import Index, corpus_terms

log = logging.getLogger(__name__)

FORMAT = "laoshan-qa-index/2"
_PIPELINE = (
    "corpus.py", "formats.py", "text.py", "bm25.py", "parallel.py", "index.py", "cache.py", "doccache.py",
    "data/stopwords.txt",
)


def corpus_key(corpus_path: Path) -> str:
    """Hash of the corpus files (names and bytes) and of the code and data that shape the index."""
    h = hashlib.sha256(FORMAT.encode())
    h.update(jieba.__version__.encode())
    here = Path(__file__).parent
    for name in _PIPELINE:
        h.update((here / name).read_bytes())
    root = Path(corpus_path)
    for f in corpus_files(root):
        h.update(str(f.relative_to(root) if root.is_dir() else f.name).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def cache_path(data_dir: Path, corpus_path: Path) -> Path:
    name = hashlib.sha256(str(Path(corpus_path).resolve()).encode()).hexdigest()[:12]
    return Path(data_dir) / f"index-{name}.npz"


def save(index: Index, path: Path, key: str, report: dict | None = None) -> None:
    """Write the index (and ``report``, what its corpus' loading said: ``corpus_report``)."""
    meta: dict[str, object] = {
        "format": FORMAT,
        "key": key,
        "report": report,
        "user_terms": index.user_terms,
        "passages": [
            [p.doc, p.title, p.paragraph, p.text, p.part, p.context if p.context != p.text else None]
            for p in index.passages
        ],
    }
    arrays: dict[str, np.ndarray] = {}
    for name, model in (("words", index.words), ("grams", index.grams)):
        meta[f"{name}_vocab"] = sorted(model.vocab, key=model.vocab.__getitem__)
        meta[f"{name}_n_docs"] = model.n_docs
        arrays[f"{name}_indptr"] = model.indptr
        arrays[f"{name}_rows"] = model.rows
        arrays[f"{name}_data"] = model.data
        arrays[f"{name}_idf"] = model.idf
    arrays["meta"] = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), dtype=np.uint8)
    arrays["key"] = np.frombuffer(f"{FORMAT}\n{key}".encode(), dtype=np.uint8)  # read alone to tell a stale file
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write beside, then rename: a crash never leaves half a cache file under the real name.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]  # (numpy's stub: the first ** key as allow_pickle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: Path, key: str, cache_dir: Path | None = None) -> Index | None:
    """The cached index, or None when the file is missing, corrupt, stale or not ours.

    ``cache_dir`` holds jieba's dictionary in fast form (see ``text.Segmenter``). What the
    corpus' loading said when the index was built (files skipped, the summary) is said again.
    """
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            # The key first: the meta holds every passage, seconds of JSON at 10^5 passages.
            if "key" in z.files and z["key"].tobytes().decode() != f"{FORMAT}\n{key}":
                log.info("index cache %s is stale, rebuilding", path)
                return None
            meta = json.loads(z["meta"].tobytes().decode())
            if meta.get("format") != FORMAT or meta.get("key") != key:
                log.info("index cache %s is stale, rebuilding", path)
                return None
            models = tuple(_model(z, meta, name) for name in ("words", "grams"))
        passages = [
            Passage(doc, title, int(par), text, int(part), context if context is not None else text)
            for doc, title, par, text, part, context in meta["passages"]
        ]
        if any(m.n_docs != len(passages) for m in models):
            raise ValueError("passage count does not match the matrices")
        index = Index(passages, set(meta["user_terms"]), models, cache_dir=cache_dir)  # type: ignore[arg-type]
        report = meta.get("report") or {}
        skipped = [Skipped(str(p), str(r)) for p, r in report.get("skipped", [])]
        summary = str(report.get("summary", ""))
    except Exception as exc:  # any damage at all means: rebuild
        log.warning("index cache %s is unreadable (%s), rebuilding", path, exc)
        return None
    _log_report(summary, skipped)
    try:
        os.utime(path)  # used now: kept by prune_indexes
    except OSError:
        pass
    return index


def prune_indexes(data_dir: Path, keep: Path, max_age_days: float = MAX_AGE_DAYS) -> list[Path]:
    """Remove the other corpora's index caches not loaded or written for ``max_age_days`` (a
    corpus path used once, a test's corpus), and write leftovers of a crash; returns what went.
    A cache in use elsewhere (a second bot, ``eval --corpus``) is loaded, so it stays."""
    cutoff = time.time() - max_age_days * 86400
    removed = []
    for old in [*Path(data_dir).glob("index-*.npz"), *Path(data_dir).glob("index-*.npz*.tmp")]:
        try:
            if old != keep and old.stat().st_mtime < cutoff:
                old.unlink()
                removed.append(old)
        except OSError:  # gone already, or not ours to remove
            pass
    if removed:
        log.info("removed %d index cache(s) unused for %d days: %s", len(removed), max_age_days,
                 ", ".join(p.name for p in removed))
    return removed


def corpus_report(corpus: Corpus) -> dict:
    """What loading the corpus said, to be said again when its index comes from the cache."""
    return {"summary": corpus.summary(), "skipped": [[s.path, s.reason] for s in corpus.skipped]}


def _log_report(summary: str, skipped: list[Skipped]) -> None:
    for s in skipped:
        log.warning("%s: skipped: %s", s.path, s.reason)
    if summary:
        log.info("corpus: %s", summary)


def _model(z, meta: dict, name: str) -> SparseBM25:
    vocab_list = meta[f"{name}_vocab"]
    indptr = z[f"{name}_indptr"]
    rows = z[f"{name}_rows"]
    data = z[f"{name}_data"]
    idf = z[f"{name}_idf"]
    n_docs = int(meta[f"{name}_n_docs"])
    if (
        len(indptr) != len(vocab_list) + 1 or len(idf) != len(vocab_list) or indptr[0] != 0
        or indptr[-1] != len(rows) or len(rows) != len(data) or np.any(np.diff(indptr) < 0)
        or (len(rows) and (rows.min() < 0 or rows.max() >= n_docs))
    ):
        raise ValueError(f"{name} matrix is inconsistent")
    vocab = {t: i for i, t in enumerate(vocab_list)}
    return SparseBM25(vocab, indptr, rows, data, idf, n_docs)


def checked_corpus(corpus_path: Path, data_dir: Path | None = None) -> Corpus:
    """The corpus read (each file from DATA_DIR/docs when it is there), its report logged."""
    corpus = read_corpus(corpus_path, FileCache(data_dir / "docs")) if data_dir else read_corpus(corpus_path)
    passages = corpus.passages
    if len(passages) < MIN_PASSAGES:
        # BM25's idf is zero or negative for every word when there are fewer than three passages.
        raise CorpusError(
            f"{corpus_path}: only {len(passages)} passage(s); BM25 needs at least {MIN_PASSAGES} to rank anything"
            + skipped_note(corpus.skipped)
        )
    _log_report(corpus.summary(), corpus.skipped)
    return corpus


def load_or_build(
    corpus_path: Path,
    data_dir: Path | None,
    progress: parallel.Progress | None = None,
    *,
    workers: int | None = None,
    rebuild: bool = False,
) -> Index:
    """The index for the corpus: from the cache when it is current, else built (and cached).

    Raises CorpusError with one line when the corpus is bad. ``data_dir`` None: no caching.
    A build segments on every core when the corpus is large (``workers``: how many processes),
    calling ``progress(passages done, passages in all)`` as it goes; ``rebuild`` ignores the cache.
    """
    if data_dir is None:
        return build_index(checked_corpus(corpus_path).passages, progress, workers=workers)
    key = corpus_key(corpus_path)
    path = cache_path(data_dir, corpus_path)
    index = None if rebuild else load(path, key, data_dir)
    if index is not None:
        return index
    corpus = checked_corpus(corpus_path, data_dir)
    # Each document's counts are reused from DATA_DIR/tokens while its text is the same: adding a
    # document to a large corpus segments that document only (rebuild: every one again).
    tokens = TokenCache(data_dir / "tokens", path.stem, reuse=not rebuild)
    index = build_index(corpus.passages, progress, workers=workers, cache_dir=data_dir, tokens=tokens)
    try:
        save(index, path, key, corpus_report(corpus))
    except OSError as exc:
        log.warning("could not write the index cache %s: %s", path, exc)
    prune_indexes(data_dir, path)
    for sub in ("docs", "tokens"):
        prune(data_dir / sub)
    return index


def build_index(
    passages: list[Passage],
    progress: parallel.Progress | None = None,
    *,
    workers: int | None = None,
    cache_dir: Path | None = None,
    tokens: TokenCache | None = None,
) -> Index:
    """Index the passages; a large corpus is segmented on every core (``bot/search/parallel.py``),
    and with ``tokens`` only the documents it has no current counts for are."""
    terms = corpus_terms(passages)
    if tokens is not None:
        models = tokens.build_models(passages, terms, workers=workers, cache_dir=cache_dir, progress=progress)
        return Index(passages, terms, models, cache_dir=cache_dir)
    if parallel.worker_count(len(passages), workers) <= 1:
        if progress:
            progress(0, len(passages))
        index = Index(passages, terms, cache_dir=cache_dir)  # in-process
        if progress:
            progress(len(passages), len(passages))
        return index
    models = parallel.build_models(
        [p.text for p in passages], terms, workers=workers, cache_dir=cache_dir, progress=progress
    )
    return Index(passages, terms, models, cache_dir=cache_dir)
