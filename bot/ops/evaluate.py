"""Measure answer quality on every question set at once: the seed questions (hit@k, declines per
kind), CMRC 2018 dev (ranking, and declines of answerable questions), and cross-corpus questions
(every one should be declined), with the decision's trade-off table."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.answering import answer as answering
from bot.answering import decision, reader
from bot.ops import followup_eval
from bot.search.corpus import CorpusError, Passage, squash
from bot.search.index import Index

ROOT = Path(__file__).resolve().parents[2]
EVAL_DIR = ROOT / "eval"
DEV_QA = EVAL_DIR / "seed-qa-dev.jsonl"
CMRC = EVAL_DIR / "cmrc2018-dev"
UNANSWERABLE_KINDS = ("near_unanswerable", "off_unanswerable", "unanswerable")
TRADEOFF_POINTS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)

Out = Callable[[str], None]


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...]
    kind: str
    short: str = ""

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def seed_question_sets(directory: Path = EVAL_DIR) -> list[Path]:
    """Every seed question set in ``eval/`` (seed-qa-*.jsonl), in name order."""
    return sorted(directory.glob("seed-qa-*.jsonl"))


def load_questions(path: Path) -> list[Question]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            out.append(Question(
                str(r["id"]), r["question"], tuple(r.get("answers") or ()), r.get("kind", "fact"),
                r.get("short") or "",
            ))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise CorpusError(f"{path}:{n}: malformed question record ({exc})") from exc
    return out


def answers_it(passage_text: str, answers: tuple[str, ...]) -> bool:
    """The scoring rule of eval/seed-qa-README.md: whitespace removed, contains an answer."""
    p = squash(passage_text)
    return any(squash(a) in p for a in answers)


# --------------------------------------------------------------------------- one question


@dataclass(frozen=True)
class Outcome:
    """What the bot did with one question, and what it would do at another operating point."""

    answerable: bool
    confidence: float  # the decision's probability (declined below the threshold)
    first_right: bool  # the first ranked passage answers it (whatever the decision)
    hit1: bool  # the first quoted passage answers it (False when declined)
    hit3: bool  # one of the first three quoted passages does
    span_confidence: float = 0.0  # the reader's best span in the passage quoted first (0: none, declined)
    span_right: bool = False  # ... matches a gold short answer (CMRC 2018's F1 >= 0.5)
    has_short: bool = False  # the question has gold short answers

    @property
    def declined(self) -> bool:
        return not answering.should_answer(self.confidence)


def outcome(
    index: Index, question: str, answers: tuple[str, ...] = (), relevant: str | None = None,
    shorts: tuple[str, ...] = (),
) -> Outcome:
    """Ask; score by ``answers`` (strings a right passage holds) or ``relevant`` (its doc id),
    and the reader's span by ``shorts`` (gold short answers)."""
    ans = answering.answer(index, question, k=3)
    span = None
    if shorts and ans.quotes and answering.USE_READER:  # (read already: from the reader's cache)
        span = reader.best_span(ans.question, [ans.quotes[0].passage.text], segmenter=index.segmenter)
        span = span if span is not None and reader.showable(ans.question, span.text) else None

    def right(p: Passage) -> bool:
        return p.doc == relevant if relevant is not None else answers_it(p.text, answers)

    quoted = [quote.passage for quote in ans.quotes]
    return Outcome(
        bool(answers) or relevant is not None,
        ans.confidence,
        bool(ans.candidates) and right(ans.candidates[0].passage),
        bool(quoted) and right(quoted[0]),
        any(right(p) for p in quoted),
        span.confidence if span else 0.0,
        span is not None and reader.cmrc_f1(span.text, shorts) >= 0.5,
        bool(shorts),
    )


# --------------------------------------------------------------------------- tallies


@dataclass
class Tally:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.outcomes)

    def share(self, pred: Callable[[Outcome], bool]) -> float:
        return sum(map(pred, self.outcomes)) / self.n if self.n else 0.0

    def count(self, pred: Callable[[Outcome], bool]) -> int:
        return sum(map(pred, self.outcomes))

    def row(self, name: str) -> str:
        if not self.n:
            return f"  {name:<34} {0:>5}"
        declined = self.count(lambda o: o.declined)
        if self.outcomes[0].answerable:
            return (f"  {name:<34} {self.n:>5}  {self.share(lambda o: o.hit1):>6.3f} "
                    f"{self.share(lambda o: o.hit3):>6.3f}  {declined:>4} wrongly declined")
        return f"  {name:<34} {self.n:>5}  {'':>6} {'':>6}  {declined:>4} declined ({declined / self.n:.0%})"


def _declined_at(outcomes: Iterable[Outcome], t: float) -> int:
    return sum(o.confidence < t for o in outcomes)


# --------------------------------------------------------------------------- the whole run


@dataclass
class Results:
    seed_kinds: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    cmrc: Tally = field(default_factory=Tally)
    cmrc_ranking: dict[str, float] = field(default_factory=dict)
    cmrc_to_seed: Tally = field(default_factory=Tally)
    seed_to_cmrc: Tally = field(default_factory=Tally)

    def seed(self, pred: Callable[[str], bool]) -> list[Outcome]:
        return [o for kind, t in self.seed_kinds.items() if pred(kind) for o in t.outcomes]


def evaluate(
    index: Index,
    qa_paths: Sequence[Path],
    bench: Path | None = CMRC,
    out: Out = print,
    verbose: bool = False,
) -> Results:
    """Every measure of the answer-quality table; prints it, returns the outcomes."""
    res = Results()
    seed_questions: list[Question] = []
    for path in qa_paths:
        questions = load_questions(path)
        seed_questions += questions
        for q in questions:
            o = outcome(index, q.question, q.answers, shorts=(q.short,) if q.short else ())
            res.seed_kinds[q.kind].outcomes.append(o)
            if verbose:
                mark = "declined" if o.declined else ("hit@1" if o.hit1 else "")
                out(f"  {q.id} {q.kind:<17} {mark:<9} p={o.confidence:.3f}  {q.question.strip()}")
    cmrc_passages: list[Passage] = []
    if bench is not None and bench.is_dir():
        cmrc_passages, queries, qrels = load_benchmark(bench)
        shorts = benchmark_answers(bench)
        cmrc_index = Index(cmrc_passages, user_terms=set())
        res.cmrc_ranking = _ranking(cmrc_index, queries, qrels)
        for qid, qtext in queries:
            relevant = next(iter(qrels.get(qid, ())), None)
            if relevant is not None:
                res.cmrc.outcomes.append(outcome(cmrc_index, qtext, relevant=relevant, shorts=shorts.get(qid, ())))
            res.cmrc_to_seed.outcomes.append(outcome(index, qtext))
        for q in seed_questions:
            if q.answerable:
                res.seed_to_cmrc.outcomes.append(outcome(cmrc_index, q.question))
    report(res, len(index), len(cmrc_passages), out)
    if followup_eval.FOLLOWUPS.is_file() and qa_paths:
        out(followup_eval.score_followups(index).line())
    return res


def _ranking(index: Index, queries: list[tuple[str, str]], qrels: dict[str, set[str]]) -> dict[str, float]:
    r1 = r5 = mrr = 0.0
    judged = 0
    for qid, qtext in queries:
        relevant = qrels.get(qid)
        if not relevant:
            continue
        judged += 1
        ranked = [h.passage.doc for h in index.search(qtext, 10)]
        r1 += bool(set(ranked[:1]) & relevant)
        r5 += len(set(ranked[:5]) & relevant) / len(relevant)
        rank = next((i for i, d in enumerate(ranked, start=1) if d in relevant), None)
        mrr += 1 / rank if rank else 0.0
    return {"Recall@1": r1 / judged, "Recall@5": r5 / judged, "MRR@10": mrr / judged} if judged else {}


def report(res: Results, n_seed: int, n_cmrc: int, out: Out = print) -> None:
    threshold = decision.load_model().threshold
    out(f"{'question set':<36} {'n':>5}  {'hit@1':>6} {'hit@3':>6}  declines")
    out(f"seed corpus ({n_seed} passages), by kind")
    for kind in sorted(res.seed_kinds, key=lambda k: (k in UNANSWERABLE_KINDS, k)):
        out(res.seed_kinds[kind].row(kind))
    answerable = Tally(res.seed(lambda k: k not in UNANSWERABLE_KINDS))
    out(answerable.row("all answerable"))
    right_first = [o for o in answerable.outcomes if o.first_right]
    out(f"  {'  of them, first passage right':<34} {len(right_first):>5}  {'':>6} {'':>6}  "
        f"{_declined_at(right_first, threshold):>4} wrongly declined")
    if res.cmrc.n:
        out(f"CMRC 2018 dev ({n_cmrc} passages)")
        out(res.cmrc.row("answerable (hit@k: declines miss)"))
        out("  ranking alone: " + "  ".join(f"{k} {v:.3f}" for k, v in res.cmrc_ranking.items()))
        out("cross-corpus (every one should be declined)")
        out(res.cmrc_to_seed.row("CMRC dev questions -> seed corpus"))
        out(res.seed_to_cmrc.row("seed answerable -> CMRC corpus"))
    tradeoff(res, threshold, out)
    related(res, threshold, out)
    short_answers(res, out)


def short_answers(res: Results, out: Out = print) -> None:
    """Precision and coverage of the short answers shown (the reader's span in the first quote),
    at thresholds around the one in use: of the questions with a gold short answer."""
    if not answering.USE_READER:
        return
    sets = [("seed (with a short span)", res.seed(lambda k: True)), ("CMRC 2018 dev", res.cmrc.outcomes)]
    sets = [(name, [o for o in outcomes if o.has_short]) for name, outcomes in sets]
    sets = [(name, outcomes) for name, outcomes in sets if outcomes]
    if not sets:
        return
    in_use = reader.load_model().threshold
    out("short answers: precision of those shown (CMRC 2018's F1 >= 0.5 with a gold short answer) / share "
        "of the questions shown one")
    out("  threshold " + "".join(f"{f'{name} ({len(o)})':>34}" for name, o in sets))
    for t in sorted({0.5, 0.6, 0.7, 0.8, 0.9, in_use}):
        cells = []
        for _, outcomes in sets:
            shown = [o for o in outcomes if o.span_confidence >= t]
            precision = sum(o.span_right for o in shown) / len(shown) if shown else float("nan")
            cells.append(f"{precision:.3f} / {len(shown) / len(outcomes):.3f}")
        mark = " <- in use" if t == in_use else ""
        out(f"  {t:9.2f} " + "".join(f"{c:>34}" for c in cells) + mark)


def _columns(res: Results) -> list[tuple[str, list[Outcome]]]:
    """The sets the decision is weighed on, those with questions."""
    answerable = res.seed(lambda k: k not in UNANSWERABLE_KINDS)
    columns: list[tuple[str, list[Outcome]]] = [
        ("seed ans", answerable),
        ("right@1", [o for o in answerable if o.first_right]),
        ("near", res.seed(lambda k: k == "near_unanswerable")),
        ("off", res.seed(lambda k: k in ("off_unanswerable", "unanswerable"))),
        ("CMRC", res.cmrc.outcomes),
        ("CMRC>seed", res.cmrc_to_seed.outcomes),
        ("seed>CMRC", res.seed_to_cmrc.outcomes),
    ]
    return [(name, outcomes) for name, outcomes in columns if outcomes]


def related(res: Results, threshold: float, out: Out = print) -> None:
    """Of the declined questions, those shown the nearest passage as related content (decision
    probability >= answer.RELATED_FLOOR), and how many of those passages answer them."""
    cells = []
    for name, outcomes in _columns(res):
        declined = [o for o in outcomes if o.confidence < threshold]
        close = [o for o in declined if o.confidence >= answering.RELATED_FLOOR]
        right = f", {sum(o.first_right for o in close)} right" if outcomes[0].answerable else ""
        cells.append(f"{name} {len(close)} of {len(declined)}{right}")
    out(f"declined, shown the nearest passage as related (probability >= {answering.RELATED_FLOOR}): "
        + "; ".join(cells))


def tradeoff(res: Results, threshold: float, out: Out = print) -> None:
    """What each operating point of the decision declines, on every set (the one in use marked)."""
    columns = _columns(res)
    out("decision trade-off: share declined at each threshold on the probability "
        "(answerable sets: lower is better; the rest: higher)")
    out("  threshold " + "".join(f"{name:>11}" for name, _ in columns))
    for t in sorted({*TRADEOFF_POINTS, threshold}):
        mark = " <- in use" if t == threshold else ""
        cells = "".join(f"{_declined_at(o, t) / len(o):>11.3f}" for _, o in columns)
        out(f"  {t:9.4f} {cells}{mark}")


# --------------------------------------------------------------------------- benchmark


def benchmark_answers(directory: Path) -> dict[str, tuple[str, ...]]:
    """Query id -> its gold short answers (``answers`` in queries.jsonl, when given)."""
    out = {}
    for line in (directory / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            out[r["id"]] = tuple(a for a in r.get("answers") or () if a.strip())
    return out


def load_benchmark(directory: Path) -> tuple[list[Passage], list[tuple[str, str]], dict[str, set[str]]]:
    """CMRC 2018 dev as retrieval: (passages, [(query id, text)], query id -> relevant doc ids).

    Each paragraph is one passage, whole, as the benchmark defines it (not cut for a phone)."""
    passages = []
    for line in (directory / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            passages.append(Passage(r["id"], r.get("title", ""), 1, r["text"], 0, r["text"]))
    queries = []
    for line in (directory / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            queries.append((r["id"], r["text"]))
    qrels: dict[str, set[str]] = defaultdict(set)
    for n, line in enumerate((directory / "qrels.tsv").read_text(encoding="utf-8").splitlines()):
        parts = line.split("\t")
        if n == 0 or len(parts) < 2:
            continue
        if len(parts) < 3 or float(parts[2]) > 0:
            qrels[parts[0]].add(parts[1])
    return passages, queries, qrels
