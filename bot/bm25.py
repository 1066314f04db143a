"""BM25Okapi scores from a precomputed sparse matrix: tokens -> index -> scores.

rank_bm25's ``BM25Okapi`` is the scoring model (its idf with the epsilon floor, k1, b), but its
``get_scores`` loops over every passage in Python for every query word. Here each (term, passage)
weight is computed once into a sparse matrix, and a query is scored by summing its terms' columns.
``tests/test_bm25.py`` checks the scores against ``BM25Okapi.get_scores``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

K1 = 1.5
B = 0.75
EPSILON = 0.25


@dataclass
class SparseBM25:
    """Column-compressed (CSC) passages x terms matrix of BM25 weights, in plain numpy arrays.

    Column ``t`` holds the passages containing term ``t``: ``rows[indptr[t]:indptr[t+1]]`` and
    their weights ``data[...]``. (scipy.sparse would do the same, but costs 0.6 s to import.)
    """

    vocab: dict[str, int]
    indptr: np.ndarray  # int64, len(vocab) + 1
    rows: np.ndarray  # int32 passage numbers
    data: np.ndarray  # float32 weights
    idf: np.ndarray
    n_docs: int

    @classmethod
    def build(
        cls, corpus: Sequence[Sequence[str]], k1: float = K1, b: float = B, epsilon: float = EPSILON
    ) -> SparseBM25:
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[int] = []
        for i, doc in enumerate(corpus):
            for term, tf in Counter(doc).items():
                rows.append(i)
                cols.append(vocab.setdefault(term, len(vocab)))
                vals.append(tf)
        n_docs = len(corpus)
        row = np.asarray(rows, dtype=np.int64)
        col = np.asarray(cols, dtype=np.int64)
        tf = np.asarray(vals, dtype=np.float64)
        doc_len = np.asarray([len(d) for d in corpus], dtype=np.float64)
        avgdl = doc_len.sum() / max(n_docs, 1)
        df = np.bincount(col, minlength=len(vocab)).astype(np.float64)
        idf = okapi_idf(df, n_docs, epsilon)
        norm = k1 * (1 - b + b * doc_len / avgdl) if avgdl else np.full(n_docs, k1)
        weight = tf * (k1 + 1) / (tf + norm[row]) * idf[col]
        order = np.argsort(col, kind="stable")
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(df.astype(np.int64), out=indptr[1:])
        return cls(vocab, indptr, row[order].astype(np.int32), weight[order], idf, n_docs)

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """Scores of every passage, as ``BM25Okapi.get_scores`` (a repeated word counts again)."""
        scores = np.zeros(self.n_docs)
        for t, rep in Counter(self.vocab[t] for t in query if t in self.vocab).items():
            lo, hi = self.indptr[t], self.indptr[t + 1]
            scores[self.rows[lo:hi]] += rep * self.data[lo:hi]
        return scores

    def holds(self, term: str, row: int) -> bool:
        """Does passage ``row`` contain the term? (rows are sorted within each column)"""
        t = self.vocab.get(term)
        if t is None:
            return False
        lo, hi = self.indptr[t], self.indptr[t + 1]
        j = lo + np.searchsorted(self.rows[lo:hi], row)
        return bool(j < hi and self.rows[j] == row)

    def df(self, term: str) -> int:
        """How many passages hold the term."""
        i = self.vocab.get(term)
        return 0 if i is None else int(self.indptr[i + 1] - self.indptr[i])

    def term_idf(self, term: str) -> float | None:
        i = self.vocab.get(term)
        return None if i is None else float(self.idf[i])


def okapi_idf(df: np.ndarray, n_docs: int, epsilon: float = EPSILON) -> np.ndarray:
    """rank_bm25's Okapi idf: log((N - n + 0.5) / (n + 0.5)), negatives floored to eps * mean."""
    idf = np.log(n_docs - df + 0.5) - np.log(df + 0.5)
    if len(idf) == 0:
        return idf
    floor = epsilon * (idf.sum() / len(idf))
    return np.where(idf < 0, floor, idf)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best scores, best first, without sorting everything (ties: lower index)."""
    n = len(scores)
    if k <= 0 or n == 0:
        return np.empty(0, dtype=np.int64)
    if k < n:
        part = np.argpartition(-scores, k - 1)[:k]
    else:
        part = np.arange(n)
    return part[np.lexsort((part, -scores[part]))]


def log_idf_max(n_docs: int) -> float:
    """The idf a term would have if it were in a single passage (an unseen word's weight)."""
    return math.log(n_docs - 1 + 0.5) - math.log(1.5) if n_docs > 1 else 1.0
