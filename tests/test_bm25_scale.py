"""The vectorised build of bot/search/bm25.py against rank_bm25, top_k against a full sort at sizes where
its block search runs, and bot/search/parallel.py against in-process analysis."""

from __future__ import annotations

import corpus_samples
import numpy as np
import pytest
from corpus_samples import DISTRICT
from rank_bm25 import BM25Okapi

from bot.search import parallel
from bot.search.bm25 import DENSE_MIN_DOCS, WEIGHT_DTYPE, Builder, SparseBM25, count_terms, top_k
from bot.search.index import Index

N_DOCS = 4000


@pytest.fixture(scope="module")
def zipf_corpus():
    """4,000 passages of 5-120 tokens from a Zipf(1.1) vocabulary of 20,000, a few empty ones."""
    rng = np.random.default_rng(1_000_003)
    vocab = [f"词{r}" for r in range(20_000)]
    p = 1.0 / np.arange(1, len(vocab) + 1) ** 1.1
    p /= p.sum()
    corpus = [
        [vocab[i] for i in rng.choice(len(vocab), size=int(rng.integers(5, 121)), p=p)]
        for _ in range(N_DOCS)
    ]
    for i in (7, 1234, N_DOCS - 1):
        corpus[i] = []
    df: dict[str, int] = {}
    for doc in corpus:
        for t in set(doc):
            df[t] = df.get(t, 0) + 1
    by_df = sorted(df, key=df.__getitem__)
    queries = [
        [by_df[-1]],  # in most passages: negative idf, floored
        [by_df[0], by_df[0]],  # a rare word, repeated
        [by_df[-1], by_df[-2], by_df[-3], by_df[len(by_df) // 2], "不存在"],
        [],
        ["不存在"],
    ]
    for _ in range(60):
        q = [vocab[i] for i in rng.choice(len(vocab), size=int(rng.integers(1, 9)), p=p)]
        q += [by_df[int(rng.integers(len(by_df)))] for _ in range(int(rng.integers(0, 3)))]
        queries.append(q)
    return corpus, queries


def test_scores_equal_rank_bm25_on_thousands_of_passages(zipf_corpus):
    corpus, queries = zipf_corpus
    reference = BM25Okapi(corpus)
    model = SparseBM25.build(corpus)
    assert model.n_docs == N_DOCS
    assert any(reference.idf[t] == reference.epsilon * reference.average_idf for t in reference.idf)
    for q in queries:
        expected = reference.get_scores(q)
        got = model.scores(q)
        assert got.dtype == np.float64 and got.shape == (N_DOCS,)
        # float32 weights: each is within 6e-8 of its value, so a sum of them too
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6, err_msg=f"query {q}")
        want = [int(i) for i in np.lexsort((np.arange(N_DOCS), -expected))[:10] if expected[i] > 0]
        have = [int(i) for i in top_k(got, 10) if got[i] > 0]
        assert have == want or np.allclose(expected[have], expected[want], atol=1e-9), q


def test_the_matrix_is_compact(zipf_corpus):
    corpus, _ = zipf_corpus
    model = SparseBM25.build(corpus)
    assert model.rows.dtype == np.int32 and model.data.dtype == WEIGHT_DTYPE == np.float32
    assert model.indptr[0] == 0 and model.indptr[-1] == len(model.rows) == len(model.data)
    assert len(model.rows) == sum(len(set(d)) for d in corpus)  # one entry per (passage, term)
    for t in np.flatnonzero(np.diff(model.indptr) > 1)[:500]:
        column = model.rows[model.indptr[t] : model.indptr[t + 1]]
        assert np.all(np.diff(column) > 0)  # ascending rows: holds() bisects them


def test_building_in_runs_gives_the_same_arrays(zipf_corpus):
    """Workers count chunks of passages; the Builder must file them as one build would."""
    corpus, _ = zipf_corpus
    whole = SparseBM25.build(corpus)
    builder = Builder()
    cuts = [0, 1, 2, 500, 501, 2000, 3999, N_DOCS]
    for lo, hi in zip(cuts, cuts[1:]):
        builder.add_counts(count_terms(corpus[lo:hi]))
    runs = builder.finish()
    assert list(runs.vocab.items()) == list(whole.vocab.items())
    for name in ("indptr", "rows", "data", "idf"):
        assert np.array_equal(getattr(runs, name), getattr(whole, name)), name
    assert runs.n_docs == whole.n_docs


def test_common_terms_kept_dense_give_the_same_scores():
    """Above DENSE_MIN_DOCS passages the commonest terms are added as dense columns."""
    rng = np.random.default_rng(11)
    n = DENSE_MIN_DOCS + 1000
    common = ["常见", "普通", "一般"]  # in about 60%, 40%, 30% of the passages
    corpus = []
    for i in range(n):
        doc = [f"r{int(x)}" for x in rng.integers(0, 5000, size=int(rng.integers(1, 6)))]
        doc += [w for w, p in zip(common, (0.6, 0.4, 0.3)) if rng.random() < p]
        if i % 7 == 0:
            doc.append(common[0])  # tf 2
        corpus.append(doc)
    model = SparseBM25.build(corpus)
    assert {model.vocab[w] for w in common} <= set(model._dense)
    sparse = SparseBM25(model.vocab, model.indptr, model.rows, model.data, model.idf, model.n_docs)
    sparse._dense = {}
    reference = BM25Okapi(corpus)
    for q in (common, [common[0], common[0], "r17"], ["r1", "r2", common[2]], ["无此词"]):
        got = model.scores(q)
        assert np.array_equal(got, sparse.scores(q)), q  # bit for bit
        np.testing.assert_allclose(got, reference.get_scores(q), rtol=1e-6, atol=1e-6)


def test_count_terms_counts_each_passage():
    counts = count_terms([["a", "b", "a"], [], ["b", "c", "c", "c"]])
    assert counts.terms == ["a", "b", "c"]
    got = {(int(d), counts.terms[int(t)]): int(f) for d, t, f in zip(counts.doc, counts.term, counts.tf)}
    assert got == {(0, "a"): 2, (0, "b"): 1, (2, "b"): 1, (2, "c"): 3}
    assert counts.lengths.tolist() == [3, 0, 4]


def test_an_empty_corpus_builds():
    model = SparseBM25.build([])
    assert model.n_docs == 0 and len(model.vocab) == 0
    assert model.scores(["a"]).shape == (0,)


# --------------------------------------------------------------------------- top_k


def full_sort(scores: np.ndarray, k: int) -> list[int]:
    return np.lexsort((np.arange(len(scores)), -scores))[: max(k, 0)].tolist()


@pytest.mark.parametrize("n", [5_000, 65_537, 300_000])
def test_top_k_equals_a_full_sort_on_large_arrays(n):
    rng = np.random.default_rng(n)
    cases = {
        "distinct": rng.permutation(n) * 0.5 - 7.0,
        "few values": rng.integers(0, 4, n).astype(np.float64),
        "mostly zero": np.where(rng.random(n) < 0.001, rng.random(n), 0.0),
        "all zero": np.zeros(n),
        "best bunched in one block": np.r_[rng.random(300) + 5, rng.integers(0, 3, n - 300)].astype(float),
        "ties late": np.r_[np.zeros(n - 40), np.full(40, 2.0)],
        "ties spread": np.where(rng.random(n) < 0.0005, 1.5, rng.random(n)),
    }
    for name, scores in cases.items():
        for k in (1, 3, 10, 20, 100):
            assert top_k(scores, k).tolist() == full_sort(scores, k), (name, k)


def test_top_k_small_and_edge_cases():
    rng = np.random.default_rng(3)
    for _ in range(300):
        n = int(rng.integers(1, 3000))
        scores = rng.integers(0, 5, n).astype(np.float64)
        for k in (1, int(rng.integers(1, n + 1)), n, n + 5):
            assert top_k(scores, k).tolist() == full_sort(scores, k)
    assert top_k(np.zeros(0), 3).tolist() == []
    assert top_k(np.ones(10), 0).tolist() == []


# --------------------------------------------------------------------------- bot/search/parallel.py


def test_parallel_workers_segment_with_the_corpus_terms():
    texts = (list(DISTRICT) * 3)[:18] + ["“崂先办”平台上线", "ＡＢＣ樱桃節遊客 2023年"]
    assert len(texts) == 20
    terms = {"崂先办"}
    words, grams = parallel.build_models(texts, terms, workers=2)
    index = Index(corpus_samples.passages(texts), terms)
    assert "崂先办" in words.vocab and words.vocab == index.words.vocab
    assert grams.vocab == index.grams.vocab


def test_parallel_models_equal_the_index_models():
    texts = list(DISTRICT) * 4
    passages = corpus_samples.passages(texts)
    index = Index(passages)
    seen = []
    words, grams = parallel.build_models(
        texts, set(index.user_terms), workers=2, progress=lambda done, total: seen.append((done, total))
    )
    for mine, theirs in ((words, index.words), (grams, index.grams)):
        assert mine.vocab == theirs.vocab
        for name in ("indptr", "rows", "data", "idf"):
            assert np.array_equal(getattr(mine, name), getattr(theirs, name)), name
    assert seen and seen[-1] == (len(texts), len(texts))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_worker_count():
    assert parallel.worker_count(100) == 1  # small corpus: in-process
    assert parallel.worker_count(10**6) == parallel.cpu_count()
    assert parallel.worker_count(3, workers=8) == 3
    assert parallel.worker_count(10**6, workers=0) == 1


def test_progress_line_reports_the_rate():
    import io

    out = io.StringIO()
    line = parallel.ProgressLine("indexing", out)
    line(0, 1000)  # the clock starts here
    line(500, 1000)
    line(1000, 1000)
    line.close()
    lines = out.getvalue().strip().splitlines()
    assert lines[0] == "indexing 0/1,000 passages"
    assert "1,000/1,000 passages (100%)" in lines[-1] and "passages/s" in lines[-1]
    assert line.done == 1000 and line.rate > 0


def test_progress_starts_at_zero_and_ends_at_the_total():
    seen: list[tuple[int, int]] = []
    list(parallel.count_many(list(DISTRICT), workers=1, progress=lambda d, t: seen.append((d, t))))
    assert seen[0] == (0, len(DISTRICT)) and seen[-1] == (len(DISTRICT), len(DISTRICT))
