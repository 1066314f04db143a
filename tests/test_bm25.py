"""bot/search/bm25.py against rank_bm25's BM25Okapi, and top_k against a full sort."""

from __future__ import annotations

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

try:  # before bot: puts the project root on sys.path
    import corpus_samples
except ImportError:  # tests/ imported as a package
    from tests import corpus_samples  # noqa: F401
from bot.search.bm25 import SparseBM25, log_idf_max, top_k

N_DOCS = 3000
VOCAB = [f"w{r:04d}" for r in range(2000)]
HALF = "half"  # put in exactly N_DOCS / 2 passages: idf log(1500.5/1500.5) = 0, not floored
UNKNOWN = ["nowhere", "未知词"]


@pytest.fixture(scope="module")
def random_corpus():
    rng = np.random.default_rng(20240611)
    p = 1.0 / np.arange(1, len(VOCAB) + 1) ** 1.07  # Zipf-like: a few words in most passages
    p /= p.sum()
    corpus = []
    for _ in range(N_DOCS):
        n = int(rng.integers(20, 81))
        corpus.append([VOCAB[i] for i in rng.choice(len(VOCAB), size=n, p=p)])
    for i in rng.choice(N_DOCS, size=N_DOCS // 2, replace=False):
        doc = corpus[i]
        doc[int(rng.integers(len(doc)))] = HALF
    df = {}
    for doc in corpus:
        for t in set(doc):
            df[t] = df.get(t, 0) + 1

    common = [t for t, n in df.items() if n > N_DOCS / 2]
    middle = [t for t, n in df.items() if 30 <= n <= 300]
    rare = [t for t, n in df.items() if n <= 3]
    queries = [[common[0]], [HALF], [UNKNOWN[0]], [rare[0], rare[0]], [], [HALF, common[1], rare[1]]]
    pools = [common, middle, middle, rare, [HALF], UNKNOWN]
    while len(queries) < 50:
        n = int(rng.integers(1, 9))
        q = []
        for _ in range(n):
            pool = pools[int(rng.integers(len(pools)))]
            q.append(pool[int(rng.integers(len(pool)))])
        if rng.random() < 0.3:
            q.append(q[0])  # a repeated word counts again
        queries.append(q)
    return corpus, df, queries


def test_random_corpus_covers_the_edge_cases(random_corpus):
    corpus, df, queries = random_corpus
    assert df[HALF] == N_DOCS // 2
    assert all(20 <= len(d) <= 80 for d in corpus) and len(corpus) == N_DOCS
    words = [t for q in queries for t in q]
    assert any(df.get(t, 0) > N_DOCS / 2 for t in words)  # negative idf, floored to epsilon
    assert any(t not in df for t in words)  # unknown words
    assert any(len(q) != len(set(q)) for q in queries)  # repeated words
    assert any(len(q) >= 6 for q in queries)


def test_scores_equal_rank_bm25_on_a_random_corpus(random_corpus):
    corpus, df, queries = random_corpus
    reference = BM25Okapi(corpus)
    model = SparseBM25.build(corpus)
    floored = [t for t in df if reference.idf[t] == reference.epsilon * reference.average_idf]
    assert floored, "the corpus must have words whose idf is floored"
    for q in queries:
        expected = reference.get_scores(q)
        got = model.scores(q)
        assert got.shape == (N_DOCS,)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6, err_msg=f"query {q}")


def test_idf_equals_rank_bm25(random_corpus):
    corpus, df, _ = random_corpus
    reference = BM25Okapi(corpus)
    model = SparseBM25.build(corpus)
    for t in df:
        assert model.term_idf(t) == pytest.approx(reference.idf[t], abs=1e-9), t
    assert model.term_idf(HALF) == pytest.approx(0.0, abs=1e-12)
    assert model.term_idf(UNKNOWN[0]) is None


TINY = [
    ["崂山区", "生产总值", "亿元", "增长"],
    ["樱桃", "采摘", "游客", "游客", "乡村", "旅游"],
    ["渔港", "码头", "冷链", "物流"],
    [],  # a passage of stopwords only has no words
    ["崂山区", "人才", "总量", "突破", "崂山区"],
    ["垃圾", "分类", "回收", "崂山区", "居民"],
]


@pytest.mark.parametrize(
    "query",
    [
        ["崂山区"],  # in 3 of 6: idf 0
        ["游客"],
        ["游客", "游客"],
        ["崂山区", "人才", "总量"],
        ["不存在"],
        [],
        ["樱桃", "渔港", "垃圾", "不存在", "崂山区"],
    ],
)
def test_scores_equal_rank_bm25_on_a_tiny_corpus(query):
    np.testing.assert_allclose(
        SparseBM25.build(TINY).scores(query), BM25Okapi(TINY).get_scores(query), rtol=0, atol=1e-6
    )


def test_tiny_corpus_ranks_the_passage_with_the_word_first():
    scores = SparseBM25.build(TINY).scores(["人才", "总量"])
    assert int(np.argmax(scores)) == 4
    assert scores[4] > 0 and np.count_nonzero(scores) == 1


def test_holds_and_df():
    model = SparseBM25.build(TINY)
    assert model.holds_rows("崂山区", range(6)).tolist() == [True, False, False, False, True, True]
    assert model.holds_rows("崂山区", [5, 0, 1]).tolist() == [True, True, False]
    assert not model.holds_rows("不存在", [0]).any()
    assert model.df("崂山区") == 3 and model.df("游客") == 1 and model.df("不存在") == 0


def test_log_idf_max_is_the_idf_of_a_word_in_one_passage():
    model = SparseBM25.build(TINY)
    assert log_idf_max(len(TINY)) == pytest.approx(model.term_idf("樱桃"))


# --------------------------------------------------------------------------- top_k


def full_sort(scores: np.ndarray, k: int) -> list[int]:
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))[: max(k, 0)]


def _ks(n: int) -> list[int]:
    return sorted({0, 1, 2, n // 2, n - 1, n, n + 1, n + 10} - {-1})


@pytest.mark.parametrize("n", [1, 2, 7, 50, 500])
def test_top_k_without_ties_equals_a_full_sort(n):
    rng = np.random.default_rng(n)
    scores = rng.permutation(n).astype(np.float64) * 0.37 - 3.0  # distinct, some negative
    for k in _ks(n):
        assert list(top_k(scores, k)) == full_sort(scores, k), k


def test_top_k_with_ties_when_k_covers_everything():
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(1, 40))
        scores = rng.integers(0, 3, n).astype(np.float64)
        for k in (n, n + 1, n + 25):
            assert list(top_k(scores, k)) == full_sort(scores, k)


def test_top_k_zero_and_empty():
    assert list(top_k(np.array([3.0, 1.0, 2.0]), 0)) == []
    assert list(top_k(np.array([3.0, 1.0, 2.0]), -1)) == []
    assert list(top_k(np.array([]), 5)) == []


def test_top_k_all_equal_scores_keep_index_order():
    scores = np.zeros(30)
    for k in (1, 5, 29, 30, 31):
        assert list(top_k(scores, k)) == list(range(min(k, 30)))


def test_top_k_with_ties_at_the_cut_equals_a_full_sort():
    """Scores tied at the k-th place: the lower indices win, as in a stable sort."""
    rng = np.random.default_rng(11)
    for _ in range(300):
        n = int(rng.integers(2, 60))
        scores = rng.integers(0, 4, n).astype(np.float64)
        for k in range(1, n):
            assert list(top_k(scores, k)) == full_sort(scores, k), (scores.tolist(), k)


@pytest.mark.parametrize("n", [1_000, 5_000, 40_000])
@pytest.mark.parametrize("kind", ["few-levels", "mostly-zero", "distinct", "negative"])
def test_top_k_on_long_score_vectors_equals_a_full_sort(n, kind):
    """Long vectors with a small k (the search case: a few hits among thousands of passages)."""
    rng = np.random.default_rng(n)
    if kind == "few-levels":
        scores = rng.integers(0, 4, n).astype(np.float64)
    elif kind == "mostly-zero":
        scores = np.zeros(n)
        hot = rng.choice(n, size=40, replace=False)
        scores[hot] = rng.integers(1, 4, 40)
    elif kind == "distinct":
        scores = rng.random(n)
    else:
        scores = -rng.integers(0, 3, n).astype(np.float64)
    expected = np.lexsort((np.arange(n), -scores))
    for k in (1, 3, 20, 57, n // 3, n - 1, n):
        assert list(top_k(scores, k)) == list(expected[:k]), k
