"""Ranking ablation: each ranking mechanism on and off, on every question set at once.

    uv run python benchmarks/ablation.py

Ranking only (the decision to decline is left out), as ``Index.search`` ranks (BM25 fusion,
then the coverage and nearness rerank): hit@1 / hit@3 of the ranked passages on the
answerable seed questions (all sets in eval/), on their paraphrases, and Recall@1 / Recall@5 on
CMRC 2018 dev. A mechanism stays when it helps on all sets together.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.ops import evaluate  # noqa: E402
from bot.search import index as index_module  # noqa: E402
from bot.search.cache import load_or_build  # noqa: E402
from bot.search.index import Index  # noqa: E402


@contextmanager
def setting(**values: float) -> Iterator[None]:
    """Module constants of bot.search.index set for the duration."""
    old = {name: getattr(index_module, name) for name in values}
    for name, value in values.items():
        setattr(index_module, name, value)
    try:
        yield
    finally:
        for name, value in old.items():
            setattr(index_module, name, value)


def measure(seed: Index, cmrc: Index, questions: list[evaluate.Question],
            queries: list[tuple[str, str]], qrels: dict[str, set[str]]) -> dict[str, float]:
    def hits(q: evaluate.Question) -> tuple[bool, bool]:
        ranked = [h.passage.text for h in seed.search(q.question, 3)]
        return (bool(ranked) and evaluate.answers_it(ranked[0], q.answers),
                any(evaluate.answers_it(t, q.answers) for t in ranked))

    seed_rows = [hits(q) for q in questions]
    para = [r for q, r in zip(questions, seed_rows) if q.kind == "paraphrase"]
    r1 = r5 = 0
    for qid, text in queries:
        ranked = [h.passage.doc for h in cmrc.search(text, 5)]
        r1 += bool(ranked) and ranked[0] in qrels[qid]
        r5 += bool(set(ranked) & qrels[qid])
    return {
        "seed hit@1": sum(a for a, _ in seed_rows) / len(seed_rows),
        "seed hit@3": sum(b for _, b in seed_rows) / len(seed_rows),
        "para hit@1": sum(a for a, _ in para) / max(len(para), 1),
        "para hit@3": sum(b for _, b in para) / max(len(para), 1),
        "CMRC R@1": r1 / len(queries),
        "CMRC R@5": r5 / len(queries),
    }


VARIANTS: list[tuple[str, dict[str, float]]] = [
    ("as shipped", {}),
    ("words (almost) only, WORD_WEIGHT 0.99", {"WORD_WEIGHT": 0.99}),
    ("characters only, WORD_WEIGHT 0", {"WORD_WEIGHT": 0.0}),
    ("WORD_WEIGHT 0.5 (the last round's)", {"WORD_WEIGHT": 0.5}),
    ("WORD_WEIGHT 0.7", {"WORD_WEIGHT": 0.7}),
    ("no answer-type bonus", {"TYPE_BONUS": 0.0}),
    ("answer-type bonus 0.2", {"TYPE_BONUS": 0.2}),
    ("no coverage rerank", {"COVERAGE_WEIGHT": 0.0}),
    ("coverage rerank 0.25", {"COVERAGE_WEIGHT": 0.25}),
    ("coverage rerank 0.75", {"COVERAGE_WEIGHT": 0.75}),
    ("no count bonus", {"COUNT_BONUS": False}),
    ("no nearness rerank", {"NEARNESS_WEIGHT": 0.0}),
    ("nearness rerank 0.15", {"NEARNESS_WEIGHT": 0.15}),
    ("nearness rerank 0.5", {"NEARNESS_WEIGHT": 0.5}),
    ("nearness over 1 sentence", {"NEAR_SENTENCES": 1}),
    ("nearness over 3 sentences", {"NEAR_SENTENCES": 3}),
]


def main(variants: list[tuple[str, dict[str, float]]] = VARIANTS, out: Callable[[str], None] = print) -> int:
    t0 = time.perf_counter()
    seed = load_or_build(ROOT / "corpus", None)
    passages, queries, qrels = evaluate.load_benchmark(evaluate.CMRC)
    cmrc = Index(passages, user_terms=set())
    questions = [
        q for path in evaluate.seed_question_sets() for q in evaluate.load_questions(path) if q.answerable
    ]
    queries = [(qid, text) for qid, text in queries if qrels.get(qid)]
    out(f"seed: {len(questions)} answerable questions ({sum(q.kind == 'paraphrase' for q in questions)} "
        f"paraphrases) over {len(seed)} passages; CMRC 2018 dev: {len(queries)} over {len(cmrc)}")
    header = None
    for name, values in variants:
        with setting(**values):
            row = measure(seed, cmrc, questions, queries, qrels)
        if header is None:
            header = f"{'variant':<34}" + "".join(f"{k:>12}" for k in row)
            out(header)
        out(f"{name:<34}" + "".join(f"{v:>12.3f}" for v in row.values()))
    out(f"({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
