"""Decision ablation: each of the decision's mechanisms left out in turn, refitted on the same
training material, on every question set at once.

    uv run python benchmarks/decision_ablation.py        (about two minutes)

The signals of every training question (``training/fit_decision.py``'s material) and of every
question ``eval`` asks are computed once, as the bot computes them; then the logistic regression
is refitted without each mechanism's signals (or without some of the training material) and its
declines are counted at the shipped operating point and at half of it. The first row refits
with everything, as ``fit_decision.py`` does: it must equal the shipped model (``eval``'s
numbers). Columns, as in eval's trade-off table: answerable seed questions declined (all; those
whose first passage is right), seed hit@1 (first ranked passage right and not declined),
near-domain and off-domain (with ``unanswerable``) seed questions declined, CMRC 2018 dev
questions declined, CMRC questions asked of the seed corpus and seed questions asked of the CMRC
corpus declined. A signal stays when leaving it out costs on the sets together.

A candidate signal is tried with ``--extra FILE``: a Python file that defines ``NAMES`` (the new
signals' names) and ``extras(index, query, hits, verdict)`` returning their values for one
result, as ``decision.signals`` is called (``hits`` may be empty). The candidates are computed
beside the 24 for every question, and a last row refits with them added.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.answering import decision  # noqa: E402
from bot.ops import evaluate  # noqa: E402
from bot.search.cache import load_or_build  # noqa: E402
from bot.search.index import Hit, Index, Query  # noqa: E402
from training import fit_decision  # noqa: E402
from training.newton import fit_logistic  # noqa: E402

# The decision's signals by the mechanism that makes them (every FEATURE in exactly one).
MECHANISMS = {
    "coverage (best, runner-up)": ("coverage", "coverage_2"),
    "BM25 scores against the most": ("word_bm25", "gram_bm25"),
    "characters and bigrams held": ("chars_held", "bigrams_held"),
    "words and bigrams the corpus lacks": ("words_unknown", "bigrams_unknown"),
    "idf of the rarest word missed": ("missing_idf",),
    "question length, words matched": ("log_words", "log_matched"),
    "score gaps to the runner-up": ("score_gap", "gram_gap"),
    "rarity in Chinese at large": ("unknown_general", "unknown_rarest", "rarest_unknown"),
    "topicality": ("topical_max", "topical_sum"),
    "reader's slot verdict": ("asks_slot", "slot_found"),
    "names the corpus lacks": ("names_unknown", "names_unknown_any"),
    "numbers the passage lacks": ("numbers_missing", "numbers_asked"),
}
ALL_GROUPS = tuple(fit_decision.GROUPS)
MATERIAL = {
    "no near misses (groups 7, 8)": tuple(g for g in ALL_GROUPS if g not in (7, 8)),
    "no made-up seed questions (3-6, 8)": (0, 2, 7),
    "no cross-corpus questions (2, 4, 6)": tuple(g for g in ALL_GROUPS if g not in (2, 4, 6)),
}
COLUMNS = ("seed ans", "right@1", "hit@1", "near", "off", "CMRC", "CMRC>seed", "seed>CMRC")

Rows = tuple[np.ndarray, np.ndarray]  # signals, first passage right


def eval_rows() -> dict[str, Rows]:
    """Signals and "first passage right" of every question eval asks, by column."""
    seed = load_or_build(ROOT / "corpus", None)
    passages, queries, qrels = evaluate.load_benchmark(evaluate.CMRC)
    cmrc = Index(passages, user_terms=set())
    cols: dict[str, list[tuple[np.ndarray, bool]]] = {k: [] for k in ("seed ans", "near", "off", "CMRC",
                                                                   "CMRC>seed", "seed>CMRC")}
    for path in evaluate.seed_question_sets():
        for q in evaluate.load_questions(path):
            x, hits = fit_decision.signals(seed, q.question)
            if q.answerable:
                cols["seed ans"].append((x, bool(hits) and evaluate.answers_it(hits[0].passage.text, q.answers)))
                cols["seed>CMRC"].append((fit_decision.signals(cmrc, q.question)[0], False))
            else:
                cols["near" if q.kind == "near_unanswerable" else "off"].append((x, False))
    for qid, text in queries:
        x, hits = fit_decision.signals(cmrc, text)
        cols["CMRC"].append((x, bool(hits) and hits[0].passage.doc in qrels.get(qid, ())))
        cols["CMRC>seed"].append((fit_decision.signals(seed, text)[0], False))
    return {k: (np.array([x for x, _ in v]), np.array([r for _, r in v])) for k, v in cols.items()}


def measure(model: decision.Model, keep: np.ndarray, cols: dict[str, Rows], threshold: float) -> list[str]:
    p = {k: model.probability(x[:, keep]) for k, (x, _) in cols.items()}
    right = cols["seed ans"][1]
    declined = {k: v < threshold for k, v in p.items()}
    n = {
        "seed ans": declined["seed ans"].sum(),
        "right@1": (declined["seed ans"] & right).sum(),
        "hit@1": f"{(~declined['seed ans'] & right).mean():.3f}",
    }
    n.update({k: declined[k].sum() for k in ("near", "off", "CMRC", "CMRC>seed", "seed>CMRC")})
    return [str(n[c]) for c in COLUMNS]


def with_extra(path: Path) -> tuple[str, ...]:
    """Make decision.signals also return the candidate signals of ``path`` (see the module's
    docstring), for this process; their names."""
    spec = importlib.util.spec_from_file_location("extra_signals", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"{path}: not a Python file")
    extra = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extra)
    shipped = decision.signals

    def signals(index: Index, q: Query, hits: Sequence[Hit], verdict: float | None = None) -> np.ndarray:
        more = np.asarray(extra.extras(index, q, hits, verdict), float)
        return np.concatenate([shipped(index, q, hits, verdict), more])

    decision.signals = signals
    return tuple(extra.NAMES)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=13, help="random seed of the made-up training questions")
    ap.add_argument("--thresholds", default="",
                    help="comma-separated operating points to measure at (default: the shipped one and half of it)")
    ap.add_argument("--label-top", type=int, default=1, help="as fit_decision.py's (default 1)")
    ap.add_argument("--extra", type=Path, help="a file of candidate signals (see above)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    added = with_extra(args.extra) if args.extra else ()
    features = decision.FEATURES + added
    x, y, g = fit_decision.examples(0.6, args.seed, args.label_top)
    cols = eval_rows()
    shipped = decision.load_model()
    sizes = {k: len(v[0]) for k, v in cols.items()}
    print(f"{len(x)} training questions, {sum(sizes.values())} eval questions in {time.perf_counter() - t0:.0f} s: "
          + ", ".join(f"{k} {v}" for k, v in sizes.items()))
    variants: list[tuple[str, tuple[str, ...], tuple[int, ...]]] = [("all signals, all material", added, ALL_GROUPS)]
    variants += [(f"without {name}", gone + added, ALL_GROUPS) for name, gone in MECHANISMS.items()]
    variants += [(name, added, groups) for name, groups in MATERIAL.items()]
    if added:
        variants.append((f"with {', '.join(added)}"[:43], (), ALL_GROUPS))
    thresholds = [float(t) for t in args.thresholds.split(",") if t] or [shipped.threshold, shipped.threshold / 2]
    for threshold in thresholds:
        print(f"\ndeclined at {threshold:g} (hit@1: share of the answerable seed questions)")
        print(f"{'variant':<44}" + "".join(f"{c:>10}" for c in COLUMNS))
        of = dict(sizes, **{"right@1": int(cols["seed ans"][1].sum()), "hit@1": sizes["seed ans"]})
        print(f"{'(of)':<44}" + "".join(f"{of[c]:>10}" for c in COLUMNS))
        for name, gone, groups in variants:
            keep = np.array([f not in gone for f in features])
            use = np.isin(g, groups)
            mean, scale, coef, intercept = fit_logistic(x[use][:, keep], y[use], 1.0, balanced=True)
            model = decision.Model(mean, scale, coef, intercept, threshold)
            print(f"{name:<44}" + "".join(f"{v:>10}" for v in measure(model, keep, cols, threshold)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
