"""The search index over passages: passages -> tokens -> two BM25 models -> ranked hits.

Two views of every passage are ranked with BM25: jieba words, and character unigrams + bigrams
(which need no dictionary, so they catch what segmentation splits differently). The two rankings
are fused by a weighted sum of their max-normalised scores.
"""

from __future__ import annotations

import functools
import operator
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.search import text
from bot.search.bm25 import SparseBM25, log_idf_max, top_k
from bot.search.corpus import Passage, split_sentences

WORD_WEIGHT = 0.3  # share of the fused score from the word ranking (benchmarks/ablation.py)
CANDIDATES = 20  # passages reranked by coverage after fusing
COVERAGE_WEIGHT = 0.5  # the rerank: fused score x (1 - w + w * coverage)
NEARNESS_WEIGHT = 0.3  # ... x (1 - w + w * nearness): the question's words standing together
NEAR_SENTENCES = 2  # nearness: the idf-weighted share of the question's words that the passage's
# best run of this many sentences holds

# What kind of answer a question asks for, and how such an answer reads in a passage.
ANSWER_TYPES = (
    (re.compile(r"多长时间|多久|几天|几个月|几年|几周|几小时"),
     re.compile(r"(?:(?<![0-9])[0-9]{1,3}|[一二两三四五六七八九十百]+)个?多?(?:天|日|月|年|小时|周(?!年)|星期)")),
    (re.compile(r"哪一?年|什么时候|何时|几月"), re.compile(r"\d{4}年|[0-9一二三四五六七八九十]+月")),
    (re.compile(r"是什么|指什么|什么是|内容是|包括哪些|有哪些"), re.compile(r"指的是|是指|包括|主要有|分别是")),
)
TYPE_BONUS = 0.4  # score x 1.4 for a passage holding the kind of answer asked for
# (Numbers are left out: nearly every passage holds one, so "多少" singles nothing out. A count of
# the very thing asked about is not: 多少家企业 -> "300余家企业", 几个街道 -> "5个街道".)
COUNT_BONUS = True

_QUOTED = re.compile(r"[“\"「『《]([^“”\"「」『』《》，。、；：！？,.;:!?\s]{2,12})[”\"」』》]")


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float  # fused BM25 score (0..1) weighted by coverage and nearness
    coverage: float  # idf-weighted share of the question's words found in the passage
    matched: tuple[str, ...]  # the question's words (normalised) that the passage holds
    weights: tuple[float, ...] = ()  # idf of each matched word (how telling it is)
    wanted: tuple[re.Pattern, ...] = ()  # how the kind of answer asked for reads (a duration, ...)
    word_score: float = 0.0  # raw BM25 score of the word model
    gram_score: float = 0.0  # raw BM25 score of the character n-gram model
    row: int = -1  # the passage's number in the index


@dataclass(frozen=True)
class Query:
    """A question as the index sees it."""

    text: str  # normalised (text.normalise)
    words: tuple[str, ...]
    grams: tuple[str, ...]


def corpus_terms(passages: Sequence[Passage]) -> set[str]:
    """Terms the corpus marks itself (in quotes or title marks): names jieba must keep whole."""
    terms: set[str] = set()
    for p in passages:
        terms.update(m.group(1) for m in _QUOTED.finditer(p.context or p.text))
    return terms


class Index:
    """BM25 over words and character n-grams of the passages, fused."""

    def __init__(
        self,
        passages: Sequence[Passage],
        user_terms: set[str] | None = None,
        models: tuple[SparseBM25, SparseBM25] | None = None,
        *,
        cache_dir: Path | None = None,
    ):
        """Index the passages (or adopt ``models`` already built from them, e.g. from a cache).

        The index segments with a jieba of its own that knows the corpus' terms (``user_terms``,
        by default those the corpus marks); ``cache_dir`` holds jieba's dictionary in fast form.
        """
        self.passages = list(passages)
        self.user_terms = sorted(user_terms if user_terms is not None else corpus_terms(passages))
        self.segmenter = text.Segmenter(self.user_terms, cache_dir=cache_dir)
        if models is None:
            analysed = [self.segmenter.analyse(p.text) for p in self.passages]
            models = (
                SparseBM25.build([w for w, _ in analysed]),
                SparseBM25.build([g for _, g in analysed]),
            )
        self.words, self.grams = models
        self._local = threading.local()  # per-thread score arrays (see _scratch)
        # A word the corpus never uses weighs as much as the rarest word it does use.
        self.unknown_idf = log_idf_max(len(self.passages))

    def __len__(self) -> int:
        return len(self.passages)

    def query(self, question: str) -> Query:
        normalised = text.normalise(question)
        w, g = self.segmenter.analyse(normalised, normalised=True)
        return Query(normalised, tuple(w), tuple(g))

    def search(self, question: str | Query, k: int = 3) -> list[Hit]:
        """The k best passages for the question, best first; empty when nothing matches."""
        q = question if isinstance(question, Query) else self.query(question)
        fused, scale, raw_words, word_share = self._fused_scores(q)
        return self._reranked(q, k, fused, scale, raw_words, word_share, None)

    def _reranked(
        self, q: Query, k: int, fused: np.ndarray, scale: float, raw_words: np.ndarray, word_share: float,
        rows: Sequence[int] | np.ndarray | None,
    ) -> list[Hit]:
        """The k best hits from fused scores (``fuse``): the pool of the best is reranked by coverage
        and answer type. ``rows``: the passage each score is for (None: score i is passage i's)."""
        pool = [int(i) for i in top_k(fused, max(k, CANDIDATES)) if fused[i] > 0]
        pool_rows = pool if rows is None else [int(rows[i]) for i in pool]
        # Rerank the pool: a passage that holds more of the question's words comes first.
        wanted = answer_patterns(q)
        covered = self.coverages(q, pool_rows)
        near = self.nearness(q, pool_rows)
        # (min: float32 sums may pass 1.0 by ~1e-7)
        fused_pool = [
            min(float(fused[i]) * scale, 1.0) * self._type_bonus(wanted, row) for i, row in zip(pool, pool_rows)
        ]
        scores = [_reranked_score(f, cov, n) for f, (_, cov), n in zip(fused_pool, covered, near)]
        best = sorted(range(len(pool)), key=lambda j: (-scores[j], self.passages[pool_rows[j]].key))[:k]
        hits = []
        for j in best:
            w = float(raw_words[pool[j]])
            raw = (w, float(fused[pool[j]]) - word_share * w)  # (the fused sum is grams + share * words)
            hits.append(self._hit(pool_rows[j], scores[j], wanted, covered[j], raw))
        return hits

    def _fused_scores(self, q: Query) -> tuple[np.ndarray, float, np.ndarray, float]:
        """Every passage's fused score (``fuse``), in this thread's scratch arrays: the next search
        overwrites them."""
        sw, sg, fused = self._scratch()
        self.words.scores(q.words, out=sw)
        self.grams.scores(q.grams, out=sg)
        return fuse(sw, sg, fused)

    def _scratch(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """This thread's three float32 score arrays, allocated once and overwritten by each search."""
        arrays = getattr(self._local, "scores", None)
        if arrays is None:
            arrays = self._local.scores = tuple(np.zeros(len(self.passages), np.float32) for _ in range(3))
        return arrays

    def _type_bonus(self, wanted: tuple[re.Pattern, ...], i: int) -> float:
        """A passage holding the kind of answer the question asks for (a duration, a number)."""
        if not wanted:
            return 1.0
        return 1.0 + TYPE_BONUS if any(p.search(self.passages[i].text) for p in wanted) else 1.0

    def _hit(
        self, i: int, score: float, wanted: tuple[re.Pattern, ...], covered: tuple[tuple[str, ...], float],
        raw: tuple[float, float],
    ) -> Hit:
        matched, coverage = covered
        weights = tuple(max(self.words.term_idf(w) or self.unknown_idf, 0.0) for w in matched)
        return Hit(self.passages[i], score, coverage, matched, weights, wanted, raw[0], raw[1], i)

    def nearness(self, q: Query, rows: Sequence[int]) -> list[float]:
        """Per passage, the idf-weighted share of the question's words (as ``coverages`` weighs
        them) that its best run of NEAR_SENTENCES sentences holds: where the question's words
        stand together, the answer usually stands with them; a long paragraph that holds them
        apart, one in each of its sentences, is less likely to answer."""
        words = list(dict.fromkeys(q.words))
        weights = self._word_weights(words)
        total = float(weights.sum())
        if total <= 0:
            return [0.0] * len(rows)
        # Which words a sentence holds, as bits; a run of sentences holds their union. (Plain
        # integers: arrays of a few sentences and words cost more to make than to add up.)
        held_weight: dict[int, float] = {}

        def weight(bits: int) -> float:
            if bits not in held_weight:
                held_weight[bits] = float(weights[[k for k in range(len(words)) if bits >> k & 1]].sum())
            return held_weight[bits]

        out = []
        for row in rows:
            held = [sum(1 << k for k, w in enumerate(words) if w in s) for s in _sentences(self.passages[row].text)]
            runs = {functools.reduce(operator.or_, held[a : a + NEAR_SENTENCES]) for a in range(len(held))}
            out.append(max(map(weight, runs), default=0.0) / total)
        return out

    def _word_weights(self, words: Sequence[str]) -> np.ndarray:
        """Each word's idf; a word the corpus never uses weighs as much as the rarest."""
        idf = [self.words.term_idf(w) for w in words]
        return np.array([self.unknown_idf if v is None else max(v, 0.0) for v in idf], float)

    def coverages(self, q: Query, rows: Sequence[int]) -> list[tuple[tuple[str, ...], float]]:
        """Which question words each passage holds, and their idf-weighted share.

        A word the corpus never uses weighs as much as the rarest word: a question about
        something the corpus does not know is mostly unmatched. Each word's postings are
        searched once for all the rows.
        """
        words = list(dict.fromkeys(q.words))
        if not words or not len(rows):
            return [((), 0.0)] * len(rows)
        rows = list(rows)
        weights = self._word_weights(words)
        held = np.array([self.words.holds_rows(w, rows) for w in words])  # (words x rows)
        # jieba may split a word differently in the question and the passage: the share of its
        # character bigrams the passage holds counts instead (all of them: the word is matched).
        share = np.zeros(held.shape)
        for n, w in enumerate(words):
            if len(w) >= 2:
                bigrams = [w[j : j + 2] for j in range(len(w) - 1)]
                share[n] = np.sum([self.grams.holds_rows(b, rows) for b in bigrams], axis=0) / len(bigrams)
        got = weights[:, None] * np.where(held, 1.0, share)
        # Summed word by word, in the question's order (cumsum adds in order, as a loop would).
        total = float(np.cumsum(weights)[-1])
        gots = np.cumsum(got, axis=0)[-1]
        matched = held | (share == 1.0)
        return [
            (tuple(w for w, m in zip(words, matched[:, c]) if m), float(gots[c]) / total if total else 0.0)
            for c in range(len(rows))
        ]


def answer_patterns(q: Query) -> tuple[re.Pattern, ...]:
    """How the kind of answer the question asks for reads in a passage (ANSWER_TYPES), and for a
    count in a measure word with the thing counted after it (多少家企业), that count."""
    wanted = tuple(answer for asks, answer in ANSWER_TYPES if asks.search(q.text))
    m = text.COUNT_ASKED.search(q.text) if COUNT_BONUS else None
    if m is not None:
        after = q.text[m.end() :]
        counted = next((w for w in q.words if after.startswith(w)), None)
        if counted is not None:
            wanted += (re.compile(text.COUNT + re.escape(m.group(1) + counted)),)
    return wanted


def _reranked_score(fused: float, coverage: float, nearness: float) -> float:
    return (fused * (1 - COVERAGE_WEIGHT + COVERAGE_WEIGHT * coverage)
            * (1 - NEARNESS_WEIGHT + NEARNESS_WEIGHT * nearness))


@functools.lru_cache(maxsize=1 << 14)
def _sentences(passage: str) -> tuple[str, ...]:
    """The passage's sentences, normalised as questions are (``text.normalise``)."""
    return tuple(text.normalise(s) for s in split_sentences(passage))


def fuse(sw: np.ndarray, sg: np.ndarray, out: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, float]:
    """The fused scores of passages given their word scores ``sw`` and gram scores ``sg``, as an
    array and the factor that scales it to 0..1, with the raw word scores and their share in the
    fused sum (the gram scores are the rest); ``out`` (as long as ``sw``) may be overwritten.

    fused = WORD_WEIGHT * words / max(words) + (1 - WORD_WEIGHT) * grams / max(grams), which
    ranks as grams + words * r; only the pool's scores are scaled. Summed in float32: at a
    million passages every pass over an array of scores is most of a millisecond, and float32
    halves it (the scores move by ~1e-7 of themselves, far below what tells passages apart).
    """
    top_w = float(sw.max()) if len(sw) else 0.0
    top_g = float(sg.max()) if len(sg) else 0.0
    if top_g <= 0:  # only words matched (or nothing)
        return sw, (WORD_WEIGHT / top_w if top_w > 0 else 0.0), sw, 1.0
    share = WORD_WEIGHT * top_g / ((1 - WORD_WEIGHT) * top_w) if top_w > 0 else 0.0
    np.multiply(sw, share, out=out)
    np.add(sg, out, out=out)
    return out, (1 - WORD_WEIGHT) / top_g, sw, share
