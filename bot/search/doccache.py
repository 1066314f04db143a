"""Per-document caches under DATA_DIR: a rebuild reads and segments only what changed.

Adding one document to a corpus of 10^5 passages used to re-read, re-clean and re-segment them
all (two minutes); with these caches it redoes one document and reuses the rest.

- ``FileCache`` (DATA_DIR/docs): each file read and cleaned on its own (``corpus.read_file_docs``),
  keyed by its name and bytes and by the code and libraries that read it: a PDF is parsed once.
- ``TokenCache`` (DATA_DIR/tokens): each document's passages counted for both BM25 models,
  keyed by the passages' text and by the code that segments them. A document's cut also depends
  on the corpus' terms in jieba's dictionary, but only on those it contains
  (``text.Segmenter`` keeps jieba's total fixed): each entry keeps its normalised text and the
  terms found in it, and is reused only while the terms found in it stay the same.

Entries are JSON and numpy arrays (``allow_pickle=False``); one that is missing, damaged or
foreign is recomputed, never trusted. Entries not used for ``MAX_AGE_DAYS`` are deleted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import jieba
import numpy as np

from bot.search import corpus, parallel, text
from bot.search.bm25 import Builder, SparseBM25, TermCounts
from bot.search.corpus import Document, FileDocs, Passage, Skipped

log = logging.getLogger(__name__)

FORMAT = "laoshan-qa-doccache/1"
MAX_AGE_DAYS = 30
_HERE = Path(__file__).parent
_READERS = ("pdfminer.six", "python-docx", "trafilatura", "charset-normalizer")


def _code_key(files: Iterable[str], extra: Iterable[str] = ()) -> bytes:
    h = hashlib.sha256(FORMAT.encode())
    for name in files:
        h.update((_HERE / name).read_bytes())
    for item in extra:
        h.update(item.encode() + b"\0")
    return h.digest()


def _write_atomically(path: Path, write) -> None:
    """Write beside, then rename: a crash or a second process never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:
        pass


def prune(directory: Path, max_age_days: float = MAX_AGE_DAYS) -> int:
    """Delete the entries not used for ``max_age_days``; returns how many."""
    cutoff = time.time() - max_age_days * 86400
    removed = 0
    for path in directory.glob("*") if directory.is_dir() else ():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError:
            pass
    return removed


# --------------------------------------------------------------------------- files


def _versions() -> list[str]:
    out = []
    for name in _READERS:
        try:
            out.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name}=none")
    return out


class FileCache:
    """``corpus.read_file_docs`` kept by file content: pass it to ``corpus.read_corpus``."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._code = _code_key(("corpus.py", "formats.py"), _versions())
        self.hits = self.misses = 0

    def __call__(self, file: Path) -> FileDocs:
        try:
            data = file.read_bytes()
        except OSError:
            return corpus.read_file_docs(file)  # says why it cannot be read
        h = hashlib.sha256(self._code)
        h.update(str(file).encode() + b"\0")
        h.update(data)
        path = self.directory / f"{h.hexdigest()}.json"
        try:
            found = _file_docs(json.loads(path.read_bytes()))
            _touch(path)
            self.hits += 1
            return found
        except (OSError, ValueError, KeyError, TypeError):
            pass
        self.misses += 1
        result = corpus.read_file_docs(file, data)
        try:
            payload = json.dumps(_file_docs_json(result), ensure_ascii=False).encode()
            _write_atomically(path, lambda f: f.write(payload))
        except OSError as exc:
            log.warning("could not write the document cache %s: %s", path, exc)
        return result


def _file_docs_json(fd: FileDocs) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "documents": [[d.id, d.title, list(d.paragraphs), d.source, d.kind] for d in fd.documents],
        "compared": list(fd.compared),
        "kept": list(fd.kept),
        "skipped": [[s.path, s.reason] for s in fd.skipped],
    }


def _file_docs(raw: dict[str, Any]) -> FileDocs:
    if raw.get("format") != FORMAT:
        raise ValueError("not ours")
    docs = tuple(Document(str(i), str(t), tuple(map(str, ps)), str(s), str(k)) for i, t, ps, s, k in raw["documents"])
    compared = tuple(map(str, raw["compared"]))
    kept = tuple(int(i) for i in raw["kept"])
    if any(not 0 <= i < len(compared) for i in kept):
        raise ValueError("kept paragraph out of range")
    skipped = tuple(Skipped(str(p), str(r)) for p, r in raw["skipped"])
    return FileDocs(docs, compared, kept, skipped)


# --------------------------------------------------------------------------- tokens


def _runs(passages: Sequence[Passage]) -> list[tuple[int, int]]:
    """(start, end) of each document's passages (they come together, in corpus order)."""
    runs: list[tuple[int, int]] = []
    start = 0
    for i in range(1, len(passages) + 1):
        if i == len(passages) or passages[i].doc != passages[start].doc:
            runs.append((start, i))
            start = i
    return runs


class TokenCache:
    """Each document's term counts, reused while its text and the dictionary terms in it stay.

    One store per corpus (``<directory>/<name>.npz``), rewritten after each build: the counts of
    every document in corpus order, numbered in one vocabulary per model, with each document's
    key, normalised text and the dictionary terms found in it. Reading it is a few numpy arrays,
    not a file per document; the models are built from it in one pass.
    """

    def __init__(self, directory: Path, name: str = "tokens", *, reuse: bool = True):
        """``reuse`` False: count every document again (and keep the new counts)."""
        self.directory = Path(directory)
        self.path = self.directory / f"{name}.npz"
        self.reuse = reuse
        self._code = _code_key(("text.py", "bm25.py", "doccache.py", "data/stopwords.txt"), [jieba.__version__])
        self.reused = self.counted = 0  # passages, in the last build

    def build_models(
        self,
        passages: Sequence[Passage],
        user_terms: Iterable[str],
        *,
        workers: int | None = None,
        cache_dir: Path | None = None,
        progress: parallel.Progress | None = None,
    ) -> tuple[SparseBM25, SparseBM25]:
        """The (words, character n-grams) models of the passages, as ``parallel.build_models``
        makes them, segmenting only the documents the store has no current counts for
        (``progress`` counts those passages; it is not called when there are none)."""
        user_terms = list(user_terms)
        terms = text.dictionary_terms(user_terms)
        fingerprint = hashlib.sha256("\n".join(terms).encode()).hexdigest()[:16]
        runs = _runs(passages)
        keys = [self._key(passages[a:b]) for a, b in runs]
        store = _Store.read(self.path) if self.reuse else None
        found: list[int | _Counted | None] = [None] * len(runs)  # a document of the store, or new counts
        if store is not None:
            valid = store.validator(set(terms), fingerprint)
            for i, key in enumerate(keys):
                j = store.position.get(key)
                if j is not None and valid(j):
                    found[i] = j
        missing = [i for i, f in enumerate(found) if f is None]
        self.counted = sum(runs[i][1] - runs[i][0] for i in missing)
        self.reused = len(passages) - self.counted
        if missing:
            groups = [[p.text for p in passages[runs[i][0] : runs[i][1]]] for i in missing]
            # Only the terms a document holds change its cut: a segmenter with those alone is
            # quick to make, where one with every term of a large corpus takes seconds.
            wanted: Sequence[str] = user_terms
            if self.counted < parallel.MIN_PARALLEL:
                wanted = _terms_in(terms, "\n".join(text.normalise(t) for g in groups for t in g))
            for i, group in zip(missing, parallel.count_groups(
                groups, wanted, workers=workers, cache_dir=cache_dir, progress=progress,
            )):
                joined = "\n".join(group.normalised)  # (normalised text has no newlines)
                found[i] = _Counted(group.counted.words, group.counted.grams, joined, _terms_in(terms, joined))
        models, table = [], []
        for name in ("words", "grams"):
            counts = _assemble(name, found, store)
            table.append(counts)
            builder = Builder()
            builder.add_counts(counts)
            models.append(builder.finish())
        try:
            _Store.write(self.path, keys, runs, found, store, table, fingerprint, terms)
        except OSError as exc:
            log.warning("could not write the token cache %s: %s", self.path, exc)
        return models[0], models[1]

    def _key(self, passages: Sequence[Passage]) -> str:
        h = hashlib.sha256(self._code)
        for p in passages:
            h.update(p.text.encode())
            h.update(b"\0")
        return h.hexdigest()[:32]


def _terms_in(terms: Sequence[str], text_: str) -> list[str]:
    """The terms (two characters or more) that occur in the text, in order: a term whose first two
    characters are not a pair in the text is passed over without searching for it."""
    pairs = set(map("".join, zip(text_, text_[1:])))
    return [t for t in terms if t[:2] in pairs and t in text_]


class _Counted:
    """A document counted in this build."""

    __slots__ = ("grams", "normalised", "relevant", "words")

    def __init__(self, words: TermCounts, grams: TermCounts, normalised: str, relevant: list[str]):
        self.words, self.grams, self.normalised, self.relevant = words, grams, normalised, relevant


def _assemble(name: str, found: Sequence[int | _Counted | None], store: _Store | None) -> TermCounts:
    """One TermCounts of the whole corpus for a model, terms numbered in order of first sight
    (as counting the passages in one go numbers them, so the model is the same)."""
    vocab: list[str] = list(store.vocab[name]) if store is not None else []
    number = {t: i for i, t in enumerate(vocab)}
    docs, terms, tfs, lengths = [], [], [], []
    base = 0
    for f in found:
        if isinstance(f, int):
            assert store is not None
            lo, hi = store.entries[name][f : f + 2].tolist()
            plo, phi = store.passage_ptr[f : f + 2].tolist()
            docs.append(store.doc[name][lo:hi] + base)
            terms.append(store.term[name][lo:hi])
            tfs.append(store.tf[name][lo:hi])
            lengths.append(store.lengths[name][plo:phi])
        elif f is not None:
            counts: TermCounts = getattr(f, name)
            local = np.empty(len(counts.terms), dtype=np.int64)
            for k, t in enumerate(counts.terms):
                g = number.get(t)
                if g is None:
                    g = number[t] = len(vocab)
                    vocab.append(t)
                local[k] = g
            docs.append(counts.doc.astype(np.int64) + base)
            terms.append(local[counts.term])
            tfs.append(counts.tf)
            lengths.append(counts.lengths)
        base += len(lengths[-1]) if f is not None else 0
    doc = np.concatenate(docs).astype(np.int64) if docs else np.zeros(0, np.int64)
    term = np.concatenate(terms).astype(np.int64) if terms else np.zeros(0, np.int64)
    tf = np.concatenate(tfs).astype(np.int32) if tfs else np.zeros(0, np.int32)
    length = np.concatenate(lengths).astype(np.int64) if lengths else np.zeros(0, np.int64)
    # Renumber the terms in use by first sight: entries run passage by passage, and within a
    # passage in each document's own order of first sight.
    first = np.full(len(vocab), len(term), dtype=np.int64)
    np.minimum.at(first, term, np.arange(len(term), dtype=np.int64))  # each term's first entry
    used = np.flatnonzero(first < len(term))
    order = used[np.argsort(first[used])]
    renumber = np.zeros(len(vocab), dtype=np.int32)
    renumber[order] = np.arange(len(order), dtype=np.int32)
    return TermCounts(
        [vocab[g] for g in order.tolist()], doc.astype(np.int32), renumber[term], tf, length,
    )


class _Store:
    """The store as read: arrays per model, the documents' keys, terms and normalised text."""

    def __init__(self, z, meta: dict[str, Any]):
        self.keys: list[str] = meta["keys"]
        self.position = {k: i for i, k in enumerate(self.keys)}
        self.relevant: list[list[str]] = meta["relevant"]
        self.fingerprints: list[str] = meta["fingerprints"]
        self.terms_of: dict[str, list[str]] = meta["terms"]
        self.passage_ptr = z["passage_ptr"]
        self.vocab: dict[str, list[str]] = {}
        self.entries: dict[str, np.ndarray] = {}
        self.doc: dict[str, np.ndarray] = {}
        self.term: dict[str, np.ndarray] = {}
        self.tf: dict[str, np.ndarray] = {}
        self.lengths: dict[str, np.ndarray] = {}
        n_docs = len(self.keys)
        for name in ("words", "grams"):
            self.vocab[name] = z[f"{name}_vocab"].tobytes().decode().split("\n") if meta[f"{name}_size"] else []
            self.entries[name] = z[f"{name}_entries"]
            self.doc[name], self.term[name] = z[f"{name}_doc"], z[f"{name}_term"]
            self.tf[name], self.lengths[name] = z[f"{name}_tf"], z[f"{name}_lengths"]
            e, t = self.entries[name], self.term[name]
            if (
                len(self.vocab[name]) != meta[f"{name}_size"] or len(e) != n_docs + 1 or e[-1] != len(t)
                or len(self.doc[name]) != len(t) or len(self.tf[name]) != len(t)
                or len(self.lengths[name]) != self.passage_ptr[-1]
                or (len(t) and (t.min() < 0 or t.max() >= len(self.vocab[name])))
                or np.any(np.diff(e) < 0)
            ):
                raise ValueError(f"{name} arrays are inconsistent")
        self.normalised = z["normalised"].tobytes().decode().split("\x01") if n_docs else []
        if len(self.normalised) != n_docs or len(self.passage_ptr) != n_docs + 1:
            raise ValueError("document table is inconsistent")

    @classmethod
    def read(cls, path: Path) -> _Store | None:
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(z["meta"].tobytes().decode())
                if meta.get("format") != FORMAT:
                    return None
                return cls(z, meta)
        except Exception as exc:  # any damage at all: count again
            log.info("token cache %s is unreadable (%s), counting again", path, exc)
            return None

    def validator(self, terms: set[str], fingerprint: str):
        """Whether document j was cut with the dictionary terms ``terms`` would cut it with: every
        term it was cut with is still there, and no term added since occurs in it."""
        added: dict[str, set[str] | None] = {fingerprint: set()}  # None: that fingerprint's terms are lost

        def valid(j: int) -> bool:
            fp = self.fingerprints[j]
            if fp == fingerprint:
                return True
            if not set(self.relevant[j]) <= terms:
                return False
            if fp not in added:
                old = self.terms_of.get(fp)
                added[fp] = None if old is None else terms - set(old)
            new = added[fp]
            return new is not None and not any(t in self.normalised[j] for t in new)

        return valid

    @staticmethod
    def write(
        path: Path, keys: list[str], runs: list[tuple[int, int]], found: Sequence[int | _Counted | None],
        store: _Store | None, table: list[TermCounts], fingerprint: str, terms: Sequence[str],
    ) -> None:
        relevant, fingerprints, normalised = [], [], []
        for f in found:
            if isinstance(f, int):
                assert store is not None
                relevant.append(store.relevant[f])
                fingerprints.append(store.fingerprints[f])
                normalised.append(store.normalised[f])
            elif f is not None:
                relevant.append(f.relevant)
                fingerprints.append(fingerprint)
                normalised.append(f.normalised)
        old_terms = store.terms_of if store is not None else {}
        terms_of = {fp: (list(terms) if fp == fingerprint else old_terms[fp]) for fp in set(fingerprints)}
        meta: dict[str, Any] = {
            "format": FORMAT, "keys": keys, "relevant": relevant, "fingerprints": fingerprints, "terms": terms_of,
        }
        passage_ptr = np.zeros(len(runs) + 1, dtype=np.int64)
        passage_ptr[1:] = np.cumsum([b - a for a, b in runs])
        arrays: dict[str, np.ndarray] = {"passage_ptr": passage_ptr}
        for name, counts in zip(("words", "grams"), table):
            # entries of each document: the passages of a document are rows passage_ptr[j]..
            entries = np.searchsorted(counts.doc, passage_ptr, side="left").astype(np.int64)
            doc_start = np.repeat(passage_ptr[:-1], np.diff(entries))
            meta[f"{name}_size"] = len(counts.terms)
            arrays[f"{name}_vocab"] = np.frombuffer("\n".join(counts.terms).encode(), dtype=np.uint8)
            arrays[f"{name}_entries"] = entries
            arrays[f"{name}_doc"] = (counts.doc - doc_start).astype(np.int32)  # within the document
            arrays[f"{name}_term"] = counts.term.astype(np.int32)
            arrays[f"{name}_tf"] = counts.tf.astype(np.int32)
            arrays[f"{name}_lengths"] = counts.lengths
        arrays["normalised"] = np.frombuffer("\x01".join(normalised).encode(), dtype=np.uint8)
        arrays["meta"] = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), dtype=np.uint8)
        _write_atomically(path, lambda f: np.savez(f, **arrays))  # type: ignore[arg-type]
