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
    """Each document's term counts, reused while its text and the dictionary terms in it stay."""

    def __init__(self, directory: Path, *, reuse: bool = True):
        """``reuse`` False: count every document again (and keep the new counts)."""
        self.directory = Path(directory)
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
        makes them, segmenting only the documents without a current entry (``progress`` counts
        those passages; it is not called when there are none)."""
        user_terms = list(user_terms)
        terms = text.dictionary_terms(user_terms)
        terms_set = set(terms)
        fingerprint = hashlib.sha256("\n".join(terms).encode()).hexdigest()[:16]
        runs = _runs(passages)
        keys = [self._key(passages[a:b]) for a, b in runs]
        added: dict[str, set[str] | None] = {fingerprint: set()}  # terms new since a fingerprint's
        found: list[_Entry | None] = [
            self._load(k, terms_set, fingerprint, added) if self.reuse else None for k in keys
        ]
        missing = [i for i, e in enumerate(found) if e is None]
        self.reused = sum(b - a for (a, b), e in zip(runs, found) if e is not None)
        self.counted = len(passages) - self.reused
        if missing:
            self._save_terms(fingerprint, terms)
            groups = [[p.text for p in passages[runs[i][0] : runs[i][1]]] for i in missing]
            for i, group in zip(missing, parallel.count_groups(
                groups, user_terms, workers=workers, cache_dir=cache_dir, progress=progress,
            )):
                joined = "\n".join(group.normalised)  # (normalised text has no newlines)
                made = _Entry(group.counted.words, group.counted.grams, joined, [t for t in terms if t in joined])
                found[i] = made
                self._save(keys[i], made, fingerprint)
        words, grams = Builder(), Builder()
        for entry in found:
            if entry is None:
                raise RuntimeError("a document was not counted")  # count_groups yields one per group
            words.add_counts(entry.words)
            grams.add_counts(entry.grams)
        return words.finish(), grams.finish()

    def _key(self, passages: Sequence[Passage]) -> str:
        h = hashlib.sha256(self._code)
        for p in passages:
            h.update(p.text.encode())
            h.update(b"\0")
        return h.hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.npz"

    def _terms_path(self, fingerprint: str) -> Path:
        return self.directory / f"terms-{fingerprint}.json"

    def _save_terms(self, fingerprint: str, terms: Sequence[str]) -> None:
        path = self._terms_path(fingerprint)
        if path.is_file():
            _touch(path)
            return
        payload = json.dumps(list(terms), ensure_ascii=False).encode()
        try:
            _write_atomically(path, lambda f: f.write(payload))
        except OSError as exc:
            log.warning("could not write the token cache %s: %s", path, exc)

    def _terms(self, fingerprint: str) -> set[str] | None:
        path = self._terms_path(fingerprint)
        try:
            terms = set(json.loads(path.read_bytes()))
        except (OSError, ValueError, TypeError):
            return None
        _touch(path)
        return terms

    def _load(
        self, key: str, terms: set[str], fingerprint: str, added: dict[str, set[str] | None]
    ) -> _Entry | None:
        """The entry, if it is there, sound, and cut with the same dictionary terms as ``terms``
        would cut its text with. ``added``: the terms not in an earlier fingerprint's (filled as
        fingerprints come up; None when that fingerprint's terms are lost)."""
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(z["meta"].tobytes().decode())
                if meta.get("format") != FORMAT:
                    return None
                relevant = list(meta["relevant"])
                normalised = z["normalised"].tobytes().decode()
                if meta["fingerprint"] != fingerprint:
                    if not set(relevant) <= terms:
                        return None  # a term it was cut with is gone
                    if meta["fingerprint"] not in added:
                        old = self._terms(meta["fingerprint"])
                        added[meta["fingerprint"]] = None if old is None else terms - old
                    new = added[meta["fingerprint"]]
                    if new is None or any(t in normalised for t in new):
                        return None  # a new term occurs in it
                entry = _Entry(_counts(z, meta, "words"), _counts(z, meta, "grams"), normalised, relevant)
        except Exception as exc:  # any damage at all: count it again
            log.info("token cache %s is unreadable (%s), counting again", path, exc)
            return None
        _touch(path)
        return entry

    def _save(self, key: str, entry: _Entry, fingerprint: str) -> None:
        meta: dict[str, Any] = {"format": FORMAT, "fingerprint": fingerprint, "relevant": entry.relevant}
        arrays: dict[str, np.ndarray] = {}
        for name, counts in (("words", entry.words), ("grams", entry.grams)):
            meta[f"{name}_terms"] = counts.terms
            arrays[f"{name}_doc"] = counts.doc
            arrays[f"{name}_term"] = counts.term
            arrays[f"{name}_tf"] = counts.tf
            arrays[f"{name}_lengths"] = counts.lengths
        arrays["normalised"] = np.frombuffer(entry.normalised.encode(), dtype=np.uint8)
        arrays["meta"] = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), dtype=np.uint8)
        try:
            _write_atomically(self._path(key), lambda f: np.savez(f, **arrays))  # type: ignore[arg-type]
        except OSError as exc:
            log.warning("could not write the token cache %s: %s", self._path(key), exc)


class _Entry:
    __slots__ = ("grams", "normalised", "relevant", "words")

    def __init__(self, words: TermCounts, grams: TermCounts, normalised: str, relevant: list[str]):
        self.words, self.grams, self.normalised, self.relevant = words, grams, normalised, relevant


def _counts(z, meta: dict[str, Any], name: str) -> TermCounts:
    terms = [str(t) for t in meta[f"{name}_terms"]]
    doc, term, tf, lengths = (z[f"{name}_{part}"] for part in ("doc", "term", "tf", "lengths"))
    if not (len(doc) == len(term) == len(tf)) or (len(term) and (term.min() < 0 or term.max() >= len(terms))) or (
        len(doc) and (doc.min() < 0 or doc.max() >= len(lengths))
    ):
        raise ValueError(f"{name} counts are inconsistent")
    return TermCounts(terms, doc.astype(np.int32), term.astype(np.int32), tf.astype(np.int32), lengths.astype(np.int64))
