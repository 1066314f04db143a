"""Normalise and segment Chinese text: text -> tokens.

Both the corpus and the questions go through the same functions, so a question typed in
traditional script, full-width digits or with stray spaces meets the same tokens as the corpus.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jieba
import numpy as np
import opencc

jieba.setLogLevel(logging.WARNING)

_T2S = opencc.OpenCC("t2s")
_SPACE = re.compile(r"\s+")
HAN_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs: Ext. A, the main block, compatibility
HAN = re.compile(f"[{HAN_CHARS}]")  # the one definition of "a Chinese character" here
_NOT_HAN_OR_BAR = re.compile(f"[^{HAN_CHARS}|]")
_WORDLIKE = re.compile(f"[0-9a-z{HAN_CHARS}]")


def _load_stopwords() -> frozenset[str]:
    path = Path(__file__).with_name("data") / "stopwords.txt"
    words = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            words.update(line.split())
    return frozenset(words)


STOPWORDS = _load_stopwords()


def is_han(s: str) -> bool:
    """Every character of ``s`` is a Chinese character (and there is one)."""
    return bool(s) and all(HAN.match(c) for c in s)


def to_simplified(text: str) -> str:
    return _T2S.convert(text)


def normalise(text: str) -> str:
    """Full-width to half-width, lower case, traditional to simplified, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = to_simplified(text)
    return _SPACE.sub(" ", text).strip()


# Counts: the measure words a count is given in (6558户, 300余家), a count asked in one (多少家,
# 几个: the measure), and a count as a text gives it (300余, 1.1万, 五).
MEASURES = "个家名户座项件条所位次处栋辆台只张本篇部届批类种支人元亩米吨岁"
COUNT_ASKED = re.compile(f"(?:多少|几)([{MEASURES}])")
COUNT = r"(?:[0-9]+(?:[.,][0-9]+)*|[零〇一二两三四五六七八九十百千万亿]+)[万亿千百十]*[多余]?"
# A question word and its measure word, which jieba keeps together or not (几家 but 多少/名, 多少倍,
# 哪部): cut apart, the question word goes as a stopword and the measure stays (a passage with 倍
# answers 多少倍), whichever way jieba cut it.
_ASKING = re.compile(f"(?:哪一?|几|多少)[{MEASURES}倍样]")


def is_content(token: str) -> bool:
    """A token worth ranking on: not punctuation or spaces, not a function/question word."""
    return bool(_WORDLIKE.search(token)) and token not in STOPWORDS


def char_ngrams(tokens: Iterable[str | None]) -> list[str]:
    """Character unigrams and bigrams of the content words, kept apart by dropped words (None).

    Latin words and numbers stay whole. Bigrams cross word boundaries inside a run of content
    words, so they catch terms that jieba split differently in the question and the corpus.
    """
    grams: list[str] = []
    run: list[str] = []
    for tok in tokens:
        if tok is None:
            grams.extend(_grams("".join(run)))
            run = []
        elif HAN.search(tok):
            run.append(tok)
        else:
            grams.extend(_grams("".join(run)))
            run = []
            grams.append(tok)
    grams.extend(_grams("".join(run)))
    return grams


def char_ngram_counts(tokens: Iterable[str | None], wanted: Iterable[str]) -> tuple[int, dict[str, int]]:
    """How many ``char_ngrams(tokens)`` there are, and how often each ``wanted`` one is among
    them, without listing them (a search engine's candidates are counted for a question's terms)."""
    pieces: list[str] = []  # the Chinese tokens, "|" where a run ends
    latin: dict[str, int] = {}
    for tok in tokens:
        if tok is not None and HAN.search(tok):
            pieces.append(tok)
        else:
            pieces.append("|")
            if tok is not None:
                latin[tok] = latin.get(tok, 0) + 1
    runs = _NOT_HAN_OR_BAR.sub("", "".join(pieces))  # each run's characters as _grams sees them
    chars = len(runs) - runs.count("|")
    total = 2 * chars - sum(1 for run in runs.split("|") if run) + sum(latin.values())
    counts = {}
    for g in wanted:
        if not HAN.match(g[:1]):
            counts[g] = latin.get(g, 0)
        elif len(g) == 1 or g[0] != g[1]:  # a run's end is "|": no gram spans two runs
            counts[g] = runs.count(g)
        else:  # "aa" is in "aaa" twice
            counts[g] = len(re.findall(f"(?={g})", runs))
    return total, counts


def _grams(run: str) -> list[str]:
    chars = [c for c in run if HAN.match(c)]
    return chars + [a + b for a, b in zip(chars, chars[1:])]


class LazyFreq(dict):
    """jieba's word -> count table, filled one first character at a time as lookups reach it.

    Building the whole table (half a million entries) takes a quarter of a second; answering
    one question needs the entries of a few dozen first characters. jieba only ever looks up
    substrings of the text it cuts, and every lookup here (``in``, ``[]``, ``get``) first fills
    the group of the key's first character, so the cuts are those of the whole table.
    A word added meanwhile (``jieba.add_word``) keeps its own count.
    """

    def __init__(self, blob: str, freqs: np.ndarray, groups: np.ndarray, total: int):
        super().__init__()
        # groups[g] = (first word, first character in blob) of group g; one row past the end
        starts = groups.tolist()
        self._spans = {
            blob[c0]: (w0, w1, c0, c1) for (w0, c0), (w1, c1) in zip(starts, starts[1:])
        }
        if len(self._spans) != len(starts) - 1:
            raise ValueError("two groups share a first character")
        self._blob, self._freqs, self._groups = blob, freqs, groups
        self.total = total  # jieba's (its dict.txt repeats a few words: not sum(freqs))
        self._lock = threading.Lock()

    def _fill(self, head: str) -> None:
        with self._lock:  # another thread may be filling it: wait, then find it filled
            span = self._spans.get(head)
            if span is None:
                return
            w0, w1, c0, c1 = span
            words = self._blob[c0 : c1 - 1].split("\n")  # each word ends in "\n"
            setdefault = super().setdefault
            for word, freq in zip(words, self._freqs[w0:w1].tolist()):
                setdefault(word, freq)
            del self._spans[head]  # only now: a reader seeing no span must find the words

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str) and key[:1] in self._spans:
            self._fill(key[0])
        return super().__contains__(key)

    def __missing__(self, key: str) -> int:
        if isinstance(key, str) and key[:1] in self._spans:
            self._fill(key[0])
            return super().__getitem__(key)
        raise KeyError(key)

    def get(self, key: str, default: int | None = None) -> int | None:  # type: ignore[override]
        if isinstance(key, str) and key[:1] in self._spans:
            self._fill(key[0])
        return super().get(key, default)

    def fresh(self) -> LazyFreq:
        """A new, empty table over the same words (the blob and arrays are shared, read-only)."""
        return LazyFreq(self._blob, self._freqs, self._groups, self.total)

    def filled(self) -> dict[str, int]:
        """The whole table as a plain dict (no lookup overhead: for segmenting a large corpus)."""
        table = dict(zip(self._blob[:-1].split("\n"), self._freqs.tolist()))
        table.update(dict.items(self))  # what is here already: filled groups and added words
        return table


def _dictionary_files(cache_dir: Path) -> tuple[Path, Path, Path]:
    stem = f"jieba-{jieba.__version__}-dict"
    return cache_dir / f"{stem}.txt", cache_dir / f"{stem}-freq.npy", cache_dir / f"{stem}-groups.npy"


def _read_dictionary(cache_dir: Path) -> LazyFreq:
    """The cached table; raises if it is missing or inconsistent."""
    words_file, freq_file, groups_file = _dictionary_files(cache_dir)
    blob = words_file.read_bytes().decode("utf-8")
    freqs = np.load(freq_file, allow_pickle=False)
    groups = np.load(groups_file, allow_pickle=False)
    if (
        freqs.ndim != 1 or groups.ndim != 2 or groups.shape[1] != 2 or len(groups) < 1000
        or groups[0].tolist() != [0, 0] or groups[-1].tolist() != [len(freqs) - 1, len(blob)]
        or np.any(np.diff(groups, axis=0) <= 0) or blob.count("\n") != len(freqs) - 1
        or freqs.min() < 0
    ):
        raise ValueError("jieba dictionary cache is inconsistent")
    return LazyFreq(blob, freqs[:-1], groups, int(freqs[-1]))


def _write_dictionary(cache_dir: Path, freq: dict[str, int], total: int) -> None:
    """jieba's table grouped by first character: one text blob, the counts (then jieba's
    total), and where each group starts (word number, character in the blob)."""
    items = sorted((w, f) for w, f in freq.items() if w and "\n" not in w)
    items.sort(key=lambda wf: wf[0][0])  # stable: words stay sorted within a group
    blob = "".join(w + "\n" for w, _ in items)
    groups, chars, head = [], 0, None
    for i, (w, _) in enumerate(items):
        if w[0] != head:
            groups.append((i, chars))
            head = w[0]
        chars += len(w) + 1
    groups.append((len(items), chars))
    words_file, freq_file, groups_file = _dictionary_files(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    counts = np.array([*(count for _, count in items), total], dtype=np.int64)
    _write_atomically(freq_file, lambda out: np.save(out, counts))
    _write_atomically(groups_file, lambda out: np.save(out, np.array(groups, dtype=np.int64)))
    _write_atomically(words_file, lambda out: out.write(blob.encode("utf-8")))


def _write_atomically(path: Path, write) -> None:
    """Write beside, then rename: a crash or a second process never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class _Shipped:
    """jieba's shipped dictionary, read once per process: no corpus ever changes it."""

    template: LazyFreq | None  # from the fast cache: copied empty for each segmenter
    plain: dict[str, int] | None  # from jieba's own loading: copied whole
    total: int


_SHIPPED_LOCK = threading.Lock()
_shipped_by_dir: dict[Path | None, _Shipped] = {}


def _shipped(cache_dir: Path | None) -> _Shipped:
    """The shipped dictionary, from the fast cache in ``cache_dir`` when it is there (else from
    jieba's own loading, then written to ``cache_dir`` for the next start)."""
    with _SHIPPED_LOCK:
        found = _shipped_by_dir.get(cache_dir)
        if found is None:
            found = _shipped_by_dir[cache_dir] = _read_shipped(cache_dir)
        return found


def _read_shipped(cache_dir: Path | None) -> _Shipped:
    if cache_dir is not None:
        try:
            table = _read_dictionary(cache_dir)
            return _Shipped(table, None, table.total)
        except Exception:  # missing, empty, truncated, foreign: rebuild it from jieba's own
            pass
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    if cache_dir is not None:
        try:
            _write_dictionary(cache_dir, tokenizer.FREQ, tokenizer.total)
        except OSError:
            pass
    return _Shipped(None, tokenizer.FREQ, tokenizer.total)


def dictionary_terms(terms: Iterable[str]) -> tuple[str, ...]:
    """The terms as a segmenter adds them to its dictionary: normalised, two characters or more
    (a one-character "term" would only split words apart), each once, in sorted order."""
    return tuple(sorted({t for t in map(normalise, terms) if len(t) >= 2}))


class Segmenter:
    """jieba with a dictionary of its own: the shipped words plus one corpus' terms.

    Each index owns one, so two corpora in one process (``eval`` on two sets, a ``/reload``)
    never see each other's terms. ``cache_dir`` holds a fast copy of jieba's dictionary, read in
    ~20 ms and filled per first character as texts need it (``LazyFreq``); ``lazy=False`` fills
    it all at once (0.3 s), for segmenting a large corpus. Same dictionary, same cuts.
    """

    def __init__(self, terms: Iterable[str] = (), *, cache_dir: Path | None = None, lazy: bool = True):
        shipped = _shipped(cache_dir)
        tokenizer = jieba.Tokenizer()
        if shipped.template is not None:
            fresh = shipped.template.fresh()
            tokenizer.FREQ = fresh if lazy else fresh.filled()
        else:
            tokenizer.FREQ = dict(shipped.plain or {})
        tokenizer.total = shipped.total
        tokenizer.initialized = True
        self.tokenizer = tokenizer
        self.terms = dictionary_terms(terms)
        for term in self.terms:
            tokenizer.add_word(term)
            # jieba adds each new word's count to its total, and the total weighs every cut: left
            # so, a term would shift the cuts of texts that do not hold it. Kept fixed, a text is
            # cut the same by every segmenter whose terms found in it are the same, which is what
            # lets a document's tokens be reused when other documents come and go
            # (bot/search/doccache.py).
            tokenizer.total = shipped.total

    def segment(self, text: str, *, normalised: bool = False) -> list[str]:
        """jieba words of the normalised text (``normalised``: it already is)."""
        out: list[str] = []
        for t in self.tokenizer.lcut(text if normalised else normalise(text)):
            if _ASKING.fullmatch(t):
                out += (t[:-1], t[-1])  # 几家 -> 几, 家
            elif t.strip():
                out.append(t)
        return out

    def content_runs(self, text: str, *, normalised: bool = False) -> list[str | None]:
        """Segmented words with a ``None`` marker wherever a function word or punctuation was."""
        return [t if is_content(t) else None for t in self.segment(text, normalised=normalised)]

    def analyse(self, text: str, *, normalised: bool = False) -> tuple[list[str], list[str]]:
        """Both token streams of one text: (words, character n-grams)."""
        runs = self.content_runs(text, normalised=normalised)
        return [t for t in runs if t is not None], char_ngrams(runs)
