"""Measure answer quality: the dev questions (hit@k, declines) and a retrieval benchmark."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.answering import answer as answering
from bot.answering.answer import Answer
from bot.search.corpus import CorpusError, Passage, load_jsonl
from bot.search.index import Index

ROOT = Path(__file__).resolve().parents[2]
DEV_QA = ROOT / "eval" / "seed-qa-dev.jsonl"
CMRC = ROOT / "eval" / "cmrc2018-dev"


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...]
    kind: str

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def load_questions(path: Path) -> list[Question]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            out.append(Question(str(r["id"]), r["question"], tuple(r.get("answers") or ()), r.get("kind", "fact")))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise CorpusError(f"{path}:{n}: malformed question record ({exc})") from exc
    return out


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def answers_it(passage_text: str, answers: tuple[str, ...]) -> bool:
    """The scoring rule of eval/seed-qa-README.md: whitespace removed, contains an answer."""
    p = _squash(passage_text)
    return any(_squash(a) in p for a in answers)


@dataclass
class Tally:
    n: int = 0
    hit1: int = 0
    hit3: int = 0
    quote_hit1: int = 0
    declined: int = 0

    def row(self, name: str) -> str:
        if not self.n:
            return f"{name:<14} {0:>4}"
        return (
            f"{name:<14} {self.n:>4}  {self.hit1 / self.n:>6.3f} {self.hit3 / self.n:>6.3f}"
            f" {self.quote_hit1 / self.n:>8.3f}  {self.declined:>3}/{self.n:<3}"
        )


def evaluate_dev(index: Index, questions: list[Question], out: Callable[[str], None] = print,
                 verbose: bool = False) -> dict[str, Tally]:
    """hit@1 / hit@3 on answerable questions (counted as a miss when wrongly declined)."""
    kinds: dict[str, Tally] = defaultdict(Tally)
    answerable, unanswerable = Tally(), Tally()
    rows: list[tuple[Question, Answer]] = []
    for q in questions:
        ans = answering.answer(index, q.question, k=3)
        rows.append((q, ans))
        texts = [quote.passage.text for quote in ans.quotes]
        for t in (kinds[q.kind], answerable if q.answerable else unanswerable):
            t.n += 1
            t.declined += not ans.answered
            if q.answerable:
                t.hit1 += bool(texts) and answers_it(texts[0], q.answers)
                t.hit3 += any(answers_it(x, q.answers) for x in texts)
                t.quote_hit1 += bool(ans.quotes) and answers_it(ans.quotes[0].text, q.answers)
        if verbose:
            mark = "declined" if not ans.answered else ("hit@1" if texts and q.answerable and answers_it(texts[0], q.answers) else "")
            top = ans.candidates[0] if ans.candidates else None
            cov = f"coverage {top.coverage:.2f}, {len(top.matched)} words" if top else "no candidates"
            out(f"  {q.id} {q.kind:<13} {mark:<9} {cov:<28} {q.question.strip()}")

    out("dev questions          hit@1  hit@3  quote@1  declined   (answerable: hit@k counts a decline as a miss)")
    for kind in sorted(kinds):
        out("  " + kinds[kind].row(kind))
    for name, tally in (("answerable", answerable), ("unanswerable", unanswerable)):
        if name not in kinds:  # (the dev set's kinds include "unanswerable": no second row)
            out("  " + tally.row(name))
    out(f"  unanswerable declined: {unanswerable.declined} of {unanswerable.n}")
    out(f"  answerable wrongly declined: {answerable.declined} of {answerable.n}")
    _tradeoff(rows, out)
    kinds["answerable"] = answerable
    kinds["unanswerable"] = unanswerable
    return kinds


def _tradeoff(rows: list[tuple[Question, Answer]], out: Callable[[str], None]) -> None:
    """How the decline rule's coverage threshold trades answered against declined."""
    out("decline trade-off (rule: coverage >= t with 2+ words matched, or coverage >= "
        f"{answering.SURE_COVERAGE}; in use t = {answering.MIN_COVERAGE})")
    out("     t   unanswerable declined   answerable wrongly declined")
    for t in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6):
        dec = wrong = 0
        for q, ans in rows:
            top = ans.candidates[0] if ans.candidates else None
            ok = top is not None and (
                top.coverage >= answering.SURE_COVERAGE
                or (len(top.matched) >= answering.MIN_MATCHED and top.coverage >= t)
            )
            if not q.answerable:
                dec += not ok
            else:
                wrong += not ok
        n_un = sum(not q.answerable for q, _ in rows)
        n_an = len(rows) - n_un
        out(f"  {t:4.1f}   {dec:>3} of {n_un:<16} {wrong:>3} of {n_an}")


# --------------------------------------------------------------------------- benchmark


def load_benchmark(directory: Path) -> tuple[list[Passage], list[tuple[str, str]], dict[str, set[str]]]:
    docs = load_jsonl(directory / "corpus.jsonl")
    passages = [Passage(d.id, d.title, 1, "\n".join(d.paragraphs), 0, "\n".join(d.paragraphs)) for d in docs]
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


def evaluate_benchmark(directory: Path, out: Callable[[str], None] = print) -> dict[str, float]:
    passages, queries, qrels = load_benchmark(directory)
    index = Index(passages, user_terms=set())
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
    result = {"Recall@1": r1 / judged, "Recall@5": r5 / judged, "MRR@10": mrr / judged}
    out(f"benchmark {directory.name}: {len(passages)} passages, {judged} questions")
    out("  " + "  ".join(f"{k} {v:.3f}" for k, v in result.items()))
    return result
