"""Fit the reader (bot/answering/reader.py) and write its coefficients to bot/answering/data/reader.json:

    uv run python training/fit_reader.py

Training material: CMRC 2018 ``dev`` (eval/cmrc2018-squad/cmrc2018_dev.json, 3,219 questions with
up to three gold spans each). Its answers are short, like the bot's (median 6 characters);
``trial``'s are three times longer, and a model fitted on them learns long spans.

1. Every question is read against its own paragraph: every candidate span with all of its
   features (reader.candidates: the bot reads DETAIL for the first model's shortlist alone,
   the same numbers) and its F1 with the nearest gold answer (characters, punctuation dropped,
   as CMRC scores).
2. ``--folds`` cross-validation, split by article: in each fold, on the other folds, the first
   model (a softmax over every candidate of a question, CHEAP features) is fitted, then the
   second (a softmax over the first's SHORTLIST, FEATURES) on their shortlists; the target is
   the candidates of best F1 (questions whose best candidate scores below 0.5 are left out).
   The held-out fold is read with them as the bot reads (reader.rank): EM and F1 by CMRC 2018's
   official definitions, and how often the first model's shortlist holds a candidate of best
   F1, per fold.
3. Confidence: a logistic regression over CONFIDENCE, fitted on the held-out readings (whose
   models never saw their questions) to predict F1 >= 0.5; the precision / coverage table is
   of held-out confidences (each fold's from a logistic fitted on the other folds' readings).
4. End to end: each question asked of the bot's own index over the CMRC dev paragraphs, read in
   the passage the bot puts first (with the fold's models): precision of the shown answers
   and the share of questions that get one, per threshold. The operating point is the lowest
   threshold whose end-to-end precision reaches ``--precision``.
5. The final models are fitted on all of dev, the threshold and the table saved beside them.

Also printed, never fitted on: the seed questions with a ``short`` span (eval/seed-qa-dev2.jsonl),
read in the passage holding their answer, and the reader's time per call.

Logistic regressions and softmaxes with an L2 penalty, fitted by Newton's method on standardised
features, numpy only; nothing is fetched from the network.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.answering import reader  # noqa: E402
from bot.search import text  # noqa: E402
from training.newton import fit_logistic, standardise  # noqa: E402

SQUAD = ROOT / "eval" / "cmrc2018-squad"
SEED_QA = ROOT / "eval" / "seed-qa-dev2.jsonl"
THRESHOLDS = (0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)


@dataclass(frozen=True)
class Item:
    article: str
    context: str
    question: str
    answers: tuple[str, ...]  # distinct gold texts
    spans: tuple[tuple[int, int], ...]  # where they stand in the context


@dataclass
class Example:
    item: Item
    cands: reader.Candidates
    f1: np.ndarray  # each candidate's F1 with its nearest gold answer


# The part-of-speech table (reader.POS_PATH): jieba's tags of the words counted at least
# MIN_COUNT times, but those of common nouns and idioms (a word jieba knows and the table lacks
# reads as a noun), and the tags of every person, place and organisation name whatever its count:
# names are rare words (王秀兰 is counted 6 times), and without its tag a name jieba knows is
# neither a person nor a place to the reader. Leaving out verbs, adjectives and idioms cost 0.016 EM.
DROPPED_TAGS = frozenset({"n", "ng", "nz", "i", "l", "j", "zg", "g"})
NAME_TAGS = frozenset({"nr", "nrt", "nrfg", "ns", "nt"})
MIN_COUNT = 10


def write_pos_table(path: Path = reader.POS_PATH) -> int:
    """Write the reader's part-of-speech table from jieba's dictionary; the number of words."""
    import jieba

    with jieba.Tokenizer().get_dict_file() as f:
        parts = f.read().decode("utf-8").split()
    groups: dict[str, list[str]] = {}
    for word, count, tag in zip(parts[0::3], parts[1::3], parts[2::3]):
        if tag in NAME_TAGS or (tag not in DROPPED_TAGS and int(count) >= MIN_COUNT):
            groups.setdefault(reader._TAG_GROUP.get(tag, "x"), []).append(word)
    lines = [
        f"# Coarse parts of speech for bot/answering/reader.py, from jieba {jieba.__version__}'s dict.txt "
        "(MIT licence):",
        f"# every word counted at least {MIN_COUNT} times whose tag is not {', '.join(sorted(DROPPED_TAGS))},",
        f"# and every word tagged {', '.join(sorted(NAME_TAGS))}.",
        "# Written by training/fit_reader.py; one '@tag' line, then its words, one a line.",
    ]
    for tag in reader.POS:
        if groups.get(tag):
            lines.append(f"@{tag}")
            lines.extend(sorted(set(groups[tag])))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sum(len(set(v)) for v in groups.values())


def load_items(path: Path) -> list[Item]:
    items = []
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        for para in article["paragraphs"]:
            ctx = para["context"]
            for qa in para["qas"]:
                spans, texts = [], []
                for a in qa["answers"]:
                    t, s = a["text"], a["answer_start"]
                    if not t.strip():
                        continue
                    if ctx[s : s + len(t)] != t:
                        s = ctx.find(t)
                    if s >= 0:
                        spans.append((s, s + len(t)))
                    texts.append(t)
                if texts:
                    items.append(Item(article["id"], ctx, qa["question"].strip(), tuple(dict.fromkeys(texts)),
                                      tuple(dict.fromkeys(spans))))
    return items


def token_starts(context: str) -> np.ndarray:
    """Prefix counts of CMRC tokens starting at each character (punctuation counts none)."""
    marks = np.zeros(len(context) + 1, np.int64)
    latin = False
    for i, ch in enumerate(context.lower()):
        if ch in reader._CMRC_PUNCT or ch.isspace():
            latin = False
        elif ch.isascii() and ch.isalnum():
            marks[i + 1] = not latin
            latin = True
        else:
            marks[i + 1] = 1
            latin = False
    return np.cumsum(marks)


def span_f1(prefix: np.ndarray, starts: np.ndarray, ends: np.ndarray, spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """F1 of each candidate with the nearest gold span, counted in CMRC tokens (their overlap)."""
    best = np.zeros(len(starts))
    n_cand = prefix[ends] - prefix[starts]
    for gs, ge in spans:
        lo, hi = np.maximum(starts, gs), np.minimum(ends, ge)
        common = np.where(hi > lo, prefix[np.maximum(hi, lo)] - prefix[lo], 0)
        total = n_cand + (prefix[ge] - prefix[gs])
        best = np.maximum(best, np.where(common > 0, 2 * common / np.maximum(total, 1), 0.0))
    return best


def featurise(items: Sequence[Item], seg: text.Segmenter) -> list[Example]:
    examples = []
    for item in items:
        c = reader.candidates(item.question, item.context, seg)
        if c is None:
            c = reader.Candidates(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, len(reader.BASE))),
                                  np.zeros((0, 10), np.int64), np.zeros((0, 2), np.int64), reader._NONE_ID)
        c = reader.Candidates(c.starts, c.ends, c.base.astype(np.float32), c.cats.astype(np.int8),
                              c.words.astype(np.int32), c.asked)
        examples.append(Example(item, c, span_f1(token_starts(item.context), c.starts, c.ends, item.spans)))
    return examples


# --------------------------------------------------------------------------- fitting


def _softmax(z: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    sizes = np.diff(offsets)
    top = np.repeat(np.maximum.reduceat(z, offsets[:-1]), sizes)
    ez = np.exp(z - top)
    return ez / np.repeat(np.add.reduceat(ez, offsets[:-1]), sizes)


def fit_softmax(x: np.ndarray, offsets: np.ndarray, y: np.ndarray, l2: float, iterations: int = 30) -> np.ndarray:
    """Coefficients of a softmax over each group's rows (``offsets``: where groups start, then
    the end), fitted to the target distribution ``y`` (sums to 1 per group) by Newton's method
    with a halving line search. ``x`` is standardised already."""
    n_feat = x.shape[1]
    w = np.zeros(n_feat)
    chunks = [(offsets[i], offsets[min(i + 256, len(offsets) - 1)], i) for i in range(0, len(offsets) - 1, 256)]

    def loss(w: np.ndarray) -> float:
        p = _softmax(x @ w, offsets)
        return float(-(y * np.log(np.maximum(p, 1e-300))).sum() + 0.5 * l2 * w @ w)

    current = loss(w)
    for _ in range(iterations):
        p = _softmax(x @ w, offsets)
        grad = x.T @ (p - y) + l2 * w
        hess = np.eye(n_feat) * l2
        for a, b, g0 in chunks:
            xp = x[a:b] * p[a:b, None]
            hess += xp.T @ x[a:b]
            g1 = min(g0 + 256, len(offsets) - 1)
            per_group = np.add.reduceat(xp, offsets[g0:g1] - a, axis=0)
            hess -= per_group.T @ per_group
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while True:
            trial = w - t * step
            new = loss(trial)
            if new <= current - 1e-4 * t * (grad @ step) or t < 1e-4:
                break
            t /= 2
        w, done = trial, current - new < 1e-6 * max(1.0, abs(current))
        current = new
        if done:
            break
    return w


def targets(f1: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Uniform over each group's candidates of best F1; and which groups to fit on (best >= 0.5)."""
    sizes = np.diff(offsets)
    best = np.maximum.reduceat(f1, offsets[:-1]) if len(f1) else np.zeros(0)
    weight = (f1 >= np.repeat(best, sizes) - 1e-9).astype(float)
    y = weight / np.maximum(np.repeat(np.add.reduceat(weight, offsets[:-1]), sizes), 1e-12)
    return y, best >= 0.5


def stack(examples: Sequence[Example], matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows of all groups, offsets, F1) of the examples that have candidates."""
    xs = [matrix(e) for e in examples]
    sizes = np.array([len(x) for x in xs])
    offsets = np.r_[0, np.cumsum(sizes)]
    return np.vstack(xs), offsets, np.concatenate([e.f1 for e in examples])


def fit_ranker(examples: Sequence[Example], matrix, l2: float) -> reader.Ranker:
    examples = [e for e in examples if len(e.f1) and e.f1.max() >= 0.5]
    x, offsets, f1 = stack(examples, matrix)
    mean, scale = standardise(x)
    z = ((x - mean) / scale).astype(np.float64)
    del x
    y, _ = targets(f1, offsets)
    return reader.Ranker(mean, scale, fit_softmax(z, offsets, y, l2))


def subsample(examples: Sequence[Example], negatives: int, seed: int) -> list[Example]:
    """Each question's candidates that overlap a gold answer, and ``negatives`` of the others
    (for the first model: a few hundred thousand rows instead of millions)."""
    rng = np.random.default_rng(seed)
    out = []
    for e in examples:
        if len(e.f1) <= negatives:
            out.append(e)
            continue
        keep = np.flatnonzero(e.f1 > 0)
        others = np.flatnonzero(e.f1 <= 0)
        keep = np.sort(np.r_[keep, rng.choice(others, min(negatives, len(others)), replace=False)])
        out.append(Example(e.item, e.cands.take(keep), e.f1[keep]))
    return out


def first_matrix(e: Example) -> np.ndarray:
    return e.cands.base[:, : len(reader.CHEAP)]


def second_matrix(e: Example) -> np.ndarray:
    return reader.expand(e.cands).astype(np.float32)


def fit_models(examples: Sequence[Example], l2: Sequence[float], size: int, negatives: int,
               seed: int) -> tuple[reader.Ranker, reader.Ranker]:
    """The first model on (a sample of) every candidate, the second on the first's shortlists."""
    first = fit_ranker(subsample(examples, negatives, seed), first_matrix, l2[0])
    shortlisted = []
    for e in examples:
        if len(e.f1):
            rows = reader.shortlist_rows(first.scores(first_matrix(e)), size)
            shortlisted.append(Example(e.item, e.cands.take(rows), e.f1[rows]))
    return first, fit_ranker(shortlisted, second_matrix, l2[1])


@dataclass(frozen=True)
class Reading:
    """One question read in one passage by a fold's models: the prediction and its CONFIDENCE."""

    prediction: str
    em: bool
    f1: float
    conf: np.ndarray
    showable: bool  # reader.showable: the bot would show it at a confidence high enough


def read_with(model: reader.Model, question: str, passage: str, answers: Sequence[str],
              seg: text.Segmenter) -> Reading | None:
    d = reader.describe(question, passage, seg)
    if d is None:
        return None
    r = reader.rank(d, model)
    s, e, _ = r.span
    pred = passage[s:e]
    return Reading(pred, reader.cmrc_em(pred, answers), reader.cmrc_f1(pred, answers), r.confidence_features(),
                   reader.showable(question, pred))


def folds_of(items: Sequence[Item], k: int, seed: int) -> np.ndarray:
    """A fold number for each question; an article's questions share one."""
    articles = sorted({i.article for i in items})
    random.Random(seed).shuffle(articles)
    fold = {a: n % k for n, a in enumerate(articles)}
    return np.array([fold[i.article] for i in items])


def bot_passages(items: Sequence[Item], k: int) -> list[list[str]]:
    """The first ``k`` passages the bot quotes for each question over the CMRC dev paragraphs
    ([] when it declines), without the reader (whose verdict is one of the decision's signals:
    the reader being fitted cannot be asked)."""
    from bot.answering import answer as answering
    from bot.ops.evaluate import CMRC, load_benchmark
    from bot.search.index import Index

    passages, _, _ = load_benchmark(CMRC)
    index = Index(passages, user_terms=set())
    answering.USE_READER = False
    try:
        return [[q.passage.text for q in answering.answer(index, item.question, k=k).quotes] for item in items]
    finally:
        answering.USE_READER = True


@dataclass
class HeldOut:
    """Every question read by the models of the fold it was held out of."""

    gold: list[Reading | None]  # in its own paragraph
    bot: list[list[Reading | None]]  # in each passage the bot quotes, best first
    lines: list[str]  # EM and F1 per fold


def cross_validate(items: Sequence[Item], examples: Sequence[Example], fold: np.ndarray, passages: list[list[str]],
                   args: argparse.Namespace, seg: text.Segmenter, t0: float) -> HeldOut:
    held = HeldOut([None] * len(items), [[] for _ in items], [])
    for k in range(int(fold.max()) + 1):
        train = [e for e, f in zip(examples, fold) if f != k]
        first, second = fit_models(train, args.l2, args.shortlist, args.negatives, args.seed)
        model = reader.Model(first, second, unfitted_confidence(), 0.5)
        rows = np.flatnonzero(fold == k)
        for n in rows:
            item = items[n]
            held.gold[n] = read_with(model, item.question, item.context, item.answers, seg)
            held.bot[n] = [read_with(model, item.question, p, item.answers, seg) for p in passages[n]]
        em, f1 = (np.mean([getattr(held.gold[n], m, 0) for n in rows]) for m in ("em", "f1"))
        recall = np.mean([shortlisted_best(examples[n], first, args.shortlist) for n in rows])
        held.lines.append(f"  fold {k}: {len(rows)} questions, EM {em:.3f}, F1 {f1:.3f}; the first model's shortlist "
                          f"holds a candidate of best F1: {recall:.3f}")
        print(held.lines[-1], f"({time.perf_counter() - t0:.0f} s)", flush=True)
    em, f1 = (np.mean([getattr(r, m, 0) for r in held.gold]) for m in ("em", "f1"))
    held.lines.append(f"  mean: EM {em:.3f}, F1 {f1:.3f}")
    print(held.lines[-1])
    return held


def shortlisted_best(e: Example, first: reader.Ranker, size: int) -> bool:
    """Whether the first model's shortlist holds one of the question's candidates of best F1."""
    if not len(e.f1):
        return False
    rows = reader.shortlist_rows(first.scores(first_matrix(e)), size)
    return bool(e.f1[rows].max() >= e.f1.max() - 1e-9)


def unfitted_confidence() -> reader.Logistic:
    n = len(reader.CONFIDENCE)
    return reader.Logistic(np.zeros(n), np.ones(n), np.zeros(n), 0.0)


def confidence_rows(readings: Sequence[Reading | None]) -> tuple[np.ndarray, np.ndarray]:
    """CONFIDENCE and the label (F1 >= 0.5) of each reading (zeros and False for none)."""
    x = np.array([r.conf if r else np.zeros(len(reader.CONFIDENCE)) for r in readings])
    return x, np.array([r is not None and r.f1 >= 0.5 for r in readings])


# --------------------------------------------------------------------------- reports


def table(conf: np.ndarray, right: np.ndarray, total: int, thresholds: Sequence[float] = THRESHOLDS) -> list[str]:
    """Precision of the shown answers and the share of all ``total`` questions shown one."""
    lines = [f"  {'threshold':>9}  {'precision':>9}  {'coverage':>8}  {'shown':>6}"]
    for t in thresholds:
        shown = conf >= t
        n = int(shown.sum())
        precision = float(right[shown].mean()) if n else float("nan")
        lines.append(f"  {t:>9.2f}  {precision:>9.3f}  {n / total:>8.3f}  {n:>6}")
    return lines


def operating_point(conf: np.ndarray, right: np.ndarray, precision: float) -> float:
    """The lowest threshold (in steps of 0.01) whose precision reaches ``precision``."""
    for t in np.arange(0.05, 1.0, 0.01):
        shown = conf >= t
        if shown.sum() >= 20 and right[shown].mean() >= precision:
            return round(float(t), 2)
    return 0.99


def seed_rows() -> list[dict]:
    return [json.loads(line) for line in SEED_QA.read_text(encoding="utf-8").splitlines() if line.strip()]


def seed_short(model: reader.Model) -> list[str]:
    """Seed questions with a ``short`` span (never fitted on): read in the passage that holds
    their answer, and in the passage the bot ranks first."""
    from bot.search.cache import load_or_build

    index = load_or_build(ROOT / "corpus", None)
    rows = [r for r in seed_rows() if r.get("short")]
    squashed = [("".join(p.text.split()), p.text) for p in index.passages]
    lines = []
    for where in ("the passage holding the answer", "the bot's first passage"):
        conf, right = [], []
        for r in rows:
            if where.startswith("the passage"):
                passages = [t for s, t in squashed if any("".join(a.split()) in s for a in r["answers"])][:1]
            else:
                passages = [h.passage.text for h in index.search(r["question"], 1)]
            span = reader.best_span(r["question"], passages, segmenter=index.segmenter, model=model)
            conf.append(span.confidence if span and reader.showable(r["question"], span.text) else 0.0)
            right.append(span is not None and reader.cmrc_f1(span.text, [r["short"]]) >= 0.5)
        c, ok = np.array(conf), np.array(right)
        lines.append(f"seed questions with a short span ({len(rows)}), read in {where}: right at any confidence "
                     f"{ok.mean():.3f}")
        lines += table(c, ok, len(rows), sorted({0.3, 0.5, model.threshold, 0.7}))
    return lines


def seed_verdicts(model: reader.Model) -> list[str]:
    """reader.slot_verdict over the bot's first passage, for the seed questions that ask for a
    typed slot: answerable ones against near-domain unanswerable ones (never fitted on)."""
    from bot.search.cache import load_or_build

    index = load_or_build(ROOT / "corpus", None)
    groups: dict[str, list[float]] = {"answerable": [], "near_unanswerable": []}
    for r in seed_rows():
        group = "near_unanswerable" if r["kind"] == "near_unanswerable" else "answerable" if r["answers"] else None
        hits = index.search(r["question"], 1)
        if group is None or not hits:
            continue
        verdict = reader.slot_verdict(r["question"], [hits[0].passage.text], segmenter=index.segmenter, model=model)
        if verdict is not None:
            groups[group].append(verdict)
    lines = ["slot verdict on the seed questions that ask for a typed slot (the bot's first passage):"]
    for name, v in groups.items():
        a = np.array(v)
        lines.append(f"  {name:<18} {len(a):>3} questions: mean {a.mean():.2f}; below 0.1: {np.mean(a < 0.1):.2f}, "
                     f"below 0.3: {np.mean(a < 0.3):.2f}")
    return lines


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    ap.add_argument("--l2", type=float, nargs=2, default=(1.0, 10.0), metavar=("FIRST", "SECOND"),
                    help="L2 penalties of the first model and the second (default 1 10)")
    ap.add_argument("--l2-confidence", type=float, default=1.0)
    ap.add_argument("--negatives", type=int, default=150,
                    help="candidates of each question, besides those overlapping a gold answer, the first model "
                         "is fitted on (default 150)")
    ap.add_argument("--shortlist", type=int, default=reader.SHORTLIST)
    ap.add_argument("--precision", type=float, default=0.85,
                    help="end-to-end precision of shown answers the operating point must reach (default 0.85)")
    ap.add_argument("--passages", type=int, default=reader.PASSAGES,
                    help="passages of the bot's the reader reads, end to end (default reader.PASSAGES)")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--out", type=Path, default=reader.MODEL_PATH)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    print(f"part-of-speech table: {write_pos_table()} words -> {reader.POS_PATH.relative_to(ROOT)}")
    reader._pos_table.cache_clear()
    seg = text.Segmenter()
    items = load_items(SQUAD / "cmrc2018_dev.json")
    examples = featurise(items, seg)
    n_cand = np.array([len(e.f1) for e in examples])
    reach = np.array([e.f1.max() if len(e.f1) else 0.0 for e in examples])
    print(f"CMRC 2018 dev: {len(items)} questions, {n_cand.mean():.0f} candidates each (median "
          f"{np.median(n_cand):.0f}); best candidate F1 {reach.mean():.3f}, exact {np.mean(reach > 0.999):.3f} "
          f"({time.perf_counter() - t0:.0f} s)")
    passages = bot_passages(items, max(args.passages, 3))
    print(f"the bot's own passages: {sum(1 for p in passages if not p)} questions declined "
          f"({time.perf_counter() - t0:.0f} s)")
    fold = folds_of(items, args.folds, args.seed)
    print(f"{args.folds}-fold cross-validation by article, held-out folds (reader alone, gold passage):")
    held = cross_validate(items, examples, fold, passages, args, seg, t0)

    # Confidence: a logistic over the held-out readings. For the tables each fold's is fitted
    # on the other folds' readings, so no confidence below was fitted on its own question.
    x, y = confidence_rows(held.gold)
    gold_conf = np.zeros(len(items))
    bot_conf = [np.zeros(0)] * len(items)
    for k in range(args.folds):
        logistic = reader.Logistic(*fit_logistic(x[fold != k], y[fold != k], args.l2_confidence))
        for n in np.flatnonzero(fold == k):  # (0 for a span the bot would not show at any confidence)
            gold = held.gold[n]
            gold_conf[n] = logistic.probability(x[n][None, :])[0] * (gold is not None and gold.showable)
            bot_conf[n] = (logistic.probability(confidence_rows(held.bot[n])[0])
                           * np.array([r is not None and r.showable for r in held.bot[n]])
                           if held.bot[n] else np.zeros(0))
    report: dict[str, list[str]] = {"cross_validation": held.lines}
    report["gold_passage"] = [
        "reader alone, gold passage: precision of shown answers (F1 >= 0.5 with a gold answer), coverage:",
        *table(gold_conf, y, len(items)),
    ]
    print(*report["gold_passage"], sep="\n")
    chosen = {}
    for k in sorted({1, 3, args.passages}):
        conf, right = np.zeros(len(items)), np.zeros(len(items), bool)
        for n in range(len(items)):
            c = bot_conf[n][:k]
            if len(c):
                best = int(np.argmax(c))
                conf[n], right[n] = c[best], held.bot[n][best] is not None and held.bot[n][best].f1 >= 0.5
        chosen[k] = (conf, right)
        report[f"end_to_end_{k}"] = [
            f"end to end: the most confident span of the bot's first {k} passage(s):", *table(conf, right, len(items))
        ]
        print(*report[f"end_to_end_{k}"], sep="\n")
    conf, right = chosen[args.passages]
    threshold = operating_point(conf, right, args.precision)
    shown, gold_shown = conf >= threshold, gold_conf >= threshold
    report["operating_point"] = [
        f"operating point {threshold:.2f} (the lowest whose end-to-end precision reaches {args.precision}): "
        f"end to end precision {right[shown].mean():.3f}, coverage {shown.mean():.3f}; gold passage precision "
        f"{y[gold_shown].mean():.3f}, coverage {gold_shown.mean():.3f}"
    ]
    print(*report["operating_point"])

    first, second = fit_models(examples, args.l2, args.shortlist, args.negatives, args.seed)
    final = reader.Logistic(*fit_logistic(x, y, args.l2_confidence))
    model = reader.Model(first, second, final, threshold)
    report["seed"] = seed_short(model) + seed_verdicts(model)
    print(*report["seed"], sep="\n")

    def ranker(r: reader.Ranker | reader.Logistic) -> dict:
        return {"mean": np.round(r.mean, 6).tolist(), "scale": np.round(r.scale, 6).tolist(),
                "coef": np.round(r.coef, 6).tolist()}

    args.out.write_text(json.dumps({
        "cheap": list(reader.CHEAP), "features": list(reader.FEATURES),
        "first": ranker(first), "second": ranker(second),
        "confidence": {"features": list(reader.CONFIDENCE), **ranker(final), "intercept": round(final.intercept, 6)},
        "threshold": threshold,
        "fitted_on": "CMRC 2018 dev (eval/cmrc2018-squad/cmrc2018_dev.json)",
        "l2": [*args.l2, args.l2_confidence], "shortlist": args.shortlist, "negatives": args.negatives,
        "precision": args.precision, "passages": args.passages, "report": report,
    }, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
