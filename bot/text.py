"""Normalise and segment Chinese text: text -> tokens.

Both the corpus and the questions go through the same functions, so a question typed in
traditional script, full-width digits or with stray spaces meets the same tokens as the corpus.
"""

from __future__ import annotations

import logging
import os
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import jieba
import numpy as np
import opencc

jieba.setLogLevel(logging.WARNING)

_T2S = opencc.OpenCC("t2s")
_SPACE = re.compile(r"\s+")
_WORDLIKE = re.compile(r"[0-9a-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _load_stopwords() -> frozenset[str]:
    path = Path(__file__).with_name("data") / "stopwords.txt"
    words = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            words.update(line.split())
    return frozenset(words)


STOPWORDS = _load_stopwords()


def to_simplified(text: str) -> str:
    return _T2S.convert(text)


def normalise(text: str) -> str:
    """Full-width to half-width, lower case, traditional to simplified, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = to_simplified(text)
    return _SPACE.sub(" ", text).strip()


def is_content(token: str) -> bool:
    """A token worth ranking on: not punctuation or spaces, not a function/question word."""
    return bool(_WORDLIKE.search(token)) and token not in STOPWORDS


def segment(text: str, *, normalised: bool = False) -> list[str]:
    """jieba words of the normalised text (``normalised``: it already is)."""
    return [t for t in jieba.lcut(text if normalised else normalise(text)) if t.strip()]


def words(text: str) -> list[str]:
    """The word tokens BM25 ranks on."""
    return [t for t in segment(text) if is_content(t)]


def char_ngrams(tokens: Iterable[str]) -> list[str]:
    """Character unigrams and bigrams of the content words, kept apart by dropped words.

    Latin words and numbers stay whole. Bigrams cross word boundaries inside a run of content
    words, so they catch terms that jieba split differently in the question and the corpus.
    """
    grams: list[str] = []
    run: list[str] = []
    for tok in tokens:
        if tok is None:
            grams.extend(_grams("".join(run)))
            run = []
        elif _HAN.search(tok):
            run.append(tok)
        else:
            grams.extend(_grams("".join(run)))
            run = []
            grams.append(tok)
    grams.extend(_grams("".join(run)))
    return grams


def _grams(run: str) -> list[str]:
    chars = [c for c in run if _HAN.match(c)]
    return chars + [a + b for a, b in zip(chars, chars[1:])]


def content_runs(text: str, *, normalised: bool = False) -> list[str | None]:
    """Segmented words with a ``None`` marker wherever a function word or punctuation was."""
    out: list[str | None] = []
    for t in segment(text, normalised=normalised):
        out.append(t if is_content(t) else None)
    return out


def analyse(text: str, *, normalised: bool = False) -> tuple[list[str], list[str]]:
    """Both token streams of one text: (words, character n-grams)."""
    runs = content_runs(text, normalised=normalised)
    return [t for t in runs if t is not None], char_ngrams(runs)


@lru_cache(maxsize=1)
def _dictionary_loaded() -> bool:
    jieba.initialize()
    return True


def load_dictionary(cache_dir: Path | None) -> None:
    """Load jieba's dictionary, from a fast cache in ``cache_dir`` when there is one.

    jieba's own cache is a marshal file that takes ~1 s to read; the same words and counts as
    one text blob and one numpy array load in a third of that. Same dictionary, same cuts.
    """
    if jieba.dt.initialized or cache_dir is None:
        _dictionary_loaded()
        return
    words_file = cache_dir / f"jieba-{jieba.__version__}-words.txt"
    freq_file = cache_dir / f"jieba-{jieba.__version__}-freq.npy"
    try:
        words = words_file.read_bytes().decode("utf-8").split("\n")
        freqs = np.load(freq_file, allow_pickle=False)
        if freqs.ndim != 1 or len(words) != len(freqs) or len(words) < 1000:
            raise ValueError("jieba dictionary cache is inconsistent")
        with jieba.dt.lock:
            jieba.dt.FREQ = dict(zip(words, freqs.tolist()))
            jieba.dt.total = int(freqs.sum())
            jieba.dt.initialized = True
        return
    except Exception:  # missing, empty, truncated, foreign: rebuild it from jieba's own
        pass
    _dictionary_loaded()
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        freq = jieba.dt.FREQ
        _write_atomically(freq_file, lambda f: np.save(f, np.fromiter(freq.values(), np.int64, len(freq))))
        _write_atomically(words_file, lambda f: f.write("\n".join(freq).encode("utf-8")))
    except OSError:
        pass


def _write_atomically(path: Path, write) -> None:
    """Write beside, then rename: a crash or a second process never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)

def add_words(terms: Iterable[str], freq: int | None = None) -> int:
    """Teach jieba terms it must keep whole; returns how many were added."""
    _dictionary_loaded()
    n = 0
    for term in terms:
        term = normalise(term)
        if len(term) >= 2:
            jieba.add_word(term, freq=freq)
            n += 1
    return n
