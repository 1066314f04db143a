"""BM25Okapi scores from a precomputed sparse matrix: tokens -> index -> scores.

rank_bm25's ``BM25Okapi`` is the scoring model (its idf with the epsilon floor, k1, b), but its
``get_scores`` loops over every passage in Python for every query word. Here each (term, passage)
weight is computed once into a sparse matrix, and a query is scored by summing its terms' columns.
``tests/test_bm25.py`` checks the scores against ``BM25Okapi.get_scores``.

Building is vectorised so that a million passages take a minute and a few GB on top of their
segmentation: the tokens of a run of passages are counted at once (``count_terms``: one
``np.unique`` over (passage, term) keys, no per-passage ``Counter``), in the corpus' worker
processes when there are several
(``bot/search/parallel.py``), and ``Builder`` files each run's counts straight into the final
column-compressed arrays.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

K1 = 1.5
B = 0.75
EPSILON = 0.25

# Weights are stored in float32 (4 bytes a (term, passage) pair instead of 8: at a million
# passages that is 0.6 GB) and summed in float64; a weight's rounding is at most 6e-8 of it.
WEIGHT_DTYPE = np.float32

# A term in more than DENSE_SHARE of the passages (a common character, in the n-gram model) is
# also kept as a dense column when there are many passages: adding a dense column is one streaming
# pass, cheaper than scattering a quarter of a million entries. At most DENSE_MAX_BYTES of them
# (at 10^6 passages: the 29 most common terms, 116 MB), the most common first.
DENSE_SHARE = 0.25
DENSE_MIN_DOCS = 65_536
DENSE_MAX_BYTES = 128 << 20


@dataclass
class SparseBM25:
    """Column-compressed (CSC) passages x terms matrix of BM25 weights, in plain numpy arrays.

    Column ``t`` holds the passages containing term ``t``: ``rows[indptr[t]:indptr[t+1]]``
    (ascending) and their weights ``data[...]``. (scipy.sparse would do the same, but costs 0.6 s
    to import.)
    """

    vocab: dict[str, int]
    indptr: np.ndarray  # int64, len(vocab) + 1
    rows: np.ndarray  # int32 passage numbers
    data: np.ndarray  # weights (WEIGHT_DTYPE)
    idf: np.ndarray  # float64, one per term
    n_docs: int

    def __post_init__(self) -> None:
        self._dense: dict[int, np.ndarray] = {}
        if self.n_docs < DENSE_MIN_DOCS:
            return
        df = np.diff(self.indptr)
        common = np.flatnonzero(df > self.n_docs * DENSE_SHARE)
        common = common[np.argsort(-df[common], kind="stable")]
        for t in common[: DENSE_MAX_BYTES // (self.data.itemsize * self.n_docs)].tolist():
            lo, hi = self.indptr[t : t + 2].tolist()
            column = np.zeros(self.n_docs, dtype=self.data.dtype)
            column[self.rows[lo:hi]] = self.data[lo:hi]
            self._dense[t] = column

    @classmethod
    def build(
        cls, corpus: Sequence[Sequence[str]], k1: float = K1, b: float = B, epsilon: float = EPSILON
    ) -> SparseBM25:
        """The model of a corpus given as token lists (one list per passage)."""
        builder = Builder()
        step = 20_000  # count in runs: the (passage, term) keys of a run stay small
        for lo in range(0, len(corpus), step):
            builder.add(corpus[lo : lo + step])
        return builder.finish(k1, b, epsilon)

    def scores(
        self, query: Sequence[str], dtype: np.dtype | type = np.float64, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Scores of every passage, as ``BM25Okapi.get_scores`` (a repeated word counts again).

        Summed in float64 by default. ``dtype=np.float32`` sums in the weights' own precision
        (a relative error of about 1e-7 a term): half the memory traffic, for ranking at scale.
        ``out``: an array of n_docs to overwrite and return (its dtype wins) instead of a new one.
        A fresh array of a million scores costs more to map in (a page fault every 4 KB) than
        to compute.
        """
        terms: dict[int, int] = {}  # column -> how often the query has its term
        for word in query:
            i = self.vocab.get(word)
            if i is not None:
                terms[i] = terms.get(i, 0) + 1
        if out is None:
            scores = np.zeros(self.n_docs, dtype=dtype)
        else:
            if out.shape != (self.n_docs,):
                raise ValueError(f"out has shape {out.shape}, not ({self.n_docs},)")
            scores, dtype = out, out.dtype
            scores.fill(0)
        for t, rep in terms.items():
            dense = self._dense.get(t)
            if dense is not None:  # the same sums: elsewhere it adds 0.0
                np.add(scores, dense if rep == 1 else np.multiply(dense, rep, dtype=dtype), out=scores)
                continue
            lo, hi = self.indptr[t : t + 2].tolist()
            w = self.data[lo:hi]
            if w.dtype != scores.dtype or rep != 1:  # add.at is fast only on matching dtypes
                w = w.astype(dtype)
                w *= rep
            # rows are distinct within a column: a scatter-add; ufunc.at beats scores[r] += w
            # (a gather then a scatter) by 2-3x on long columns
            np.add.at(scores, self.rows[lo:hi], w)
        return scores

    def holds_rows(self, term: str, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """Which of the passages ``rows`` contain the term (rows are sorted within each column,
        so one bisection call answers for all)."""
        rows = np.asarray(rows, dtype=np.int64)
        t = self.vocab.get(term)
        if t is None or len(rows) == 0:
            return np.zeros(len(rows), dtype=bool)
        lo, hi = self.indptr[t : t + 2].tolist()
        column = self.rows[lo:hi]
        j = column.searchsorted(rows)
        return column[np.minimum(j, hi - lo - 1)] == rows if hi > lo else np.zeros(len(rows), bool)

    def df(self, term: str) -> int:
        """How many passages hold the term."""
        i = self.vocab.get(term)
        return 0 if i is None else int(self.indptr[i + 1] - self.indptr[i])

    def term_idf(self, term: str) -> float | None:
        i = self.vocab.get(term)
        return None if i is None else float(self.idf[i])

    @property
    def nbytes(self) -> int:
        """Bytes held by the numpy arrays (the vocabulary dict not counted)."""
        dense = sum(column.nbytes for column in self._dense.values())
        return self.indptr.nbytes + self.rows.nbytes + self.data.nbytes + self.idf.nbytes + dense


# --------------------------------------------------------------------------- building


@dataclass
class TermCounts:
    """How often each term occurs in each passage of a run of passages, in the run's own numbering.

    One entry per distinct (passage, term) pair (``count_terms`` sorts them by passage, then
    term); ``terms`` maps the run's term numbers back to the terms. Small to send between
    processes: no per-token strings.
    """

    terms: list[str]
    doc: np.ndarray  # int32 passage number within the run
    term: np.ndarray  # int32 term number within the run
    tf: np.ndarray  # int32 occurrences
    lengths: np.ndarray  # int64 tokens per passage (repeats included), one per passage

    def __len__(self) -> int:
        return len(self.lengths)


class _Numbering(dict):
    """term -> number, numbering a new term on first sight (``map(d.__getitem__, ...)`` runs in C)."""

    def __missing__(self, term: str) -> int:
        n = self[term] = len(self)
        return n


def count_terms(docs: Sequence[Sequence[str]]) -> TermCounts:
    """Term counts of the passages, without a per-passage loop in Python."""
    numbering = _Numbering()
    lengths = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
    total = int(lengths.sum())
    ids = np.fromiter(map(numbering.__getitem__, chain.from_iterable(docs)), np.int64, count=total)
    doc = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
    width = max(len(numbering), 1)
    keys, tf = np.unique(doc * width + ids, return_counts=True)
    return TermCounts(
        list(numbering),
        (keys // width).astype(np.int32),
        (keys % width).astype(np.int32),
        tf.astype(np.int32),
        lengths,
    )


class Builder:
    """Builds a SparseBM25 from runs of passages added in order, keeping only compact arrays.

    ``add``/``add_counts`` renumber each run's terms into the shared vocabulary; ``finish`` needs
    every passage's length (for avgdl) and every term's df (for idf) before a weight can be
    computed, then files each run's entries into their column at once (a counting sort: no global
    argsort over hundreds of millions of entries).
    """

    def __init__(self) -> None:
        self._numbering = _Numbering()
        self._runs: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]] = []  # rows, cols, tf, row0
        self._df: list[tuple[np.ndarray, np.ndarray]] = []  # each run's terms and their df in it
        self._lengths: list[np.ndarray] = []
        self.n_docs = 0

    def add(self, docs: Sequence[Sequence[str]]) -> None:
        self.add_counts(count_terms(docs))

    def add_counts(self, counts: TermCounts) -> None:
        numbering = self._numbering
        glob = np.fromiter(map(numbering.__getitem__, counts.terms), np.int32, len(counts.terms))
        if self.n_docs + len(counts) > np.iinfo(np.int32).max:
            raise ValueError("too many passages for int32 row numbers")
        rows = (counts.doc.astype(np.int64) + self.n_docs).astype(np.int32)
        self._runs.append((rows, glob[counts.term], counts.tf, self.n_docs))
        # (passage, term) pairs are distinct within a run: a term's entries are its df there
        self._df.append((glob, np.bincount(counts.term, minlength=len(counts.terms))))
        self._lengths.append(np.asarray(counts.lengths, dtype=np.int64))
        self.n_docs += len(counts)

    def add_all(self, runs: Iterable[TermCounts]) -> Builder:
        for counts in runs:
            self.add_counts(counts)
        return self

    def finish(self, k1: float = K1, b: float = B, epsilon: float = EPSILON) -> SparseBM25:
        vocab = dict(self._numbering)  # a plain dict: a lookup must not add terms
        n_terms, n_docs = len(vocab), self.n_docs
        doc_len = np.concatenate(self._lengths) if self._lengths else np.zeros(0, np.int64)
        df = np.zeros(n_terms, dtype=np.int64)
        if self._df:
            terms = np.concatenate([t for t, _ in self._df])
            counts = np.concatenate([c for _, c in self._df]).astype(np.float64)  # exact below 2^53
            df = np.bincount(terms, weights=counts, minlength=n_terms).astype(np.int64)
        self._df = []
        idf = okapi_idf(df.astype(np.float64), n_docs, epsilon)
        avgdl = doc_len.sum() / n_docs if n_docs else 0.0
        norm = k1 * (1 - b + b * doc_len / avgdl) if avgdl else np.full(n_docs, k1)
        indptr = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        nnz = int(indptr[-1])
        out_rows = np.empty(nnz, dtype=np.int32)
        out_data = np.empty(nnz, dtype=WEIGHT_DTYPE)
        fill = indptr[:-1].copy()  # next free slot of each column
        runs, self._runs = self._runs, []
        for rows, cols, tf, _row0 in runs:
            # Sorted by (term, row) within the run, and the runs come in passage order: every
            # column ends up with ascending rows. A run's entries come passage by passage
            # (count_terms), so a stable sort by term alone gives (term, row) order.
            order = _stable_order(cols)
            rows, cols, tf = rows[order], cols[order], tf[order].astype(np.float64)
            first = np.flatnonzero(np.diff(cols, prepend=-1))
            size = np.diff(first, append=len(cols))
            dest = fill[cols] + (np.arange(len(cols)) - np.repeat(first, size))
            fill[cols[first]] += size
            out_rows[dest] = rows
            out_data[dest] = tf * (k1 + 1) / (tf + norm[rows]) * idf[cols]
        return SparseBM25(vocab, indptr, out_rows, out_data, idf, n_docs)


def _stable_order(keys: np.ndarray) -> np.ndarray:
    """The stable sorting order of non-negative integer keys below 2^32: two passes of numpy's
    radix sort on 16-bit halves (about twice as fast as a comparison sort on a million entries)."""
    k = keys.astype(np.uint32)
    low = np.argsort((k & 0xFFFF).astype(np.uint16), kind="stable")
    if not len(k) or int(k.max()) <= 0xFFFF:
        return low
    high = np.argsort((k[low] >> 16).astype(np.uint16), kind="stable")
    return low[high]


def okapi_idf(df: np.ndarray, n_docs: int, epsilon: float = EPSILON) -> np.ndarray:
    """rank_bm25's Okapi idf: log((N - n + 0.5) / (n + 0.5)), negatives floored to eps * mean."""
    idf = unfloored_idf(df, n_docs)
    if len(idf) == 0:
        return idf
    return np.where(idf < 0, idf_floor(idf, epsilon), idf)


def unfloored_idf(df: np.ndarray, n_docs: int) -> np.ndarray:
    """log((N - n + 0.5) / (n + 0.5)) of each document frequency n."""
    return np.log(n_docs - df + 0.5) - np.log(df + 0.5)


def idf_floor(idf: np.ndarray, epsilon: float = EPSILON) -> float:
    """What ``okapi_idf`` puts in place of a negative idf: epsilon x the mean idf of the vocabulary
    (``idf`` unfloored, in vocabulary order: the float sum depends on it)."""
    return float(epsilon * (idf.sum() / len(idf))) if len(idf) else 0.0


# --------------------------------------------------------------------------- ranking

_MAX_BLOCK = 1024  # top_k: the scores are cut into blocks of up to this many


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best scores, best first; ties go to the lower index (as a stable sort).

    Without sorting or partitioning everything: with the scores cut into blocks, the k-th largest
    block maximum is a score reached in k blocks and exceeded in fewer than k, so the k best scores
    all lie in those blocks or in the first k blocks whose maximum equals it. One pass over the
    scores (the block maxima), then a few thousand candidates.
    """
    n = len(scores)
    k = min(k, n)
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    block = min(_MAX_BLOCK, 1 << max(int(n // (8 * k)).bit_length() - 1, 0))
    if block < 16:
        pool = _best(np.arange(n), scores, k)
    else:
        cut = n - n % block
        maxima = scores[:cut].reshape(-1, block).max(axis=1)
        if cut < n:
            maxima = np.append(maxima, scores[cut:].max())
        kth = np.partition(maxima, len(maxima) - k)[len(maxima) - k]
        blocks = np.union1d(np.flatnonzero(maxima > kth), np.flatnonzero(maxima == kth)[:k])
        pool = (blocks[:, None] * block + np.arange(block)).ravel()
        pool = pool[pool < n]
        values = scores[pool]
        above = values > kth
        n_above = int(np.count_nonzero(above))
        if n_above >= k:  # the k best are all above kth (the blocks held several each)
            pool = _best(pool[above], values[above], k)
        else:  # kth is the k-th best score: all above it, then the first ties
            tied = pool[np.flatnonzero(values == kth)[: k - n_above]]
            pool = np.concatenate([pool[above], tied])
    return pool[np.lexsort((pool, -scores[pool]))]


def _best(pool: np.ndarray, values: np.ndarray, k: int) -> np.ndarray:
    """The k entries of ``pool`` (ascending) with the largest values, ties to the first, unordered."""
    if len(pool) <= k:
        return pool
    kth = np.partition(values, len(values) - k)[len(values) - k]
    keep = values > kth  # fewer than k
    keep[np.flatnonzero(values == kth)[: k - int(np.count_nonzero(keep))]] = True
    return pool[keep]


def log_idf_max(n_docs: int) -> float:
    """The idf a term would have if it were in a single passage (an unseen word's weight)."""
    return math.log(n_docs - 1 + 0.5) - math.log(1.5) if n_docs > 1 else 1.0
