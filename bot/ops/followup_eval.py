"""Follow-up questions measured: hit@1 of a follow-up read in the context of the question before it
(``eval/followups.jsonl``), and how many self-contained second questions were merged (none should be).

Each record: ``previous`` (the question before), ``question`` (the follow-up, as a reply to the
answer to ``previous``), ``answers`` (strings a right passage holds; empty: the corpus cannot
answer it), ``kind`` (``new`` for a self-contained second question; else the kind of follow-up).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.answering import answer as answering
from bot.answering import followup
from bot.answering.answer import Answer
from bot.config import ROOT
from bot.search.corpus import squash
from bot.search.index import Index

FOLLOWUPS = ROOT / "eval" / "followups.jsonl"


@dataclass(frozen=True)
class Pair:
    id: str
    previous: str
    question: str
    answers: tuple[str, ...]
    kind: str

    @property
    def new(self) -> bool:
        """A self-contained second question: it must be read as typed."""
        return self.kind == "new"


@dataclass(frozen=True)
class PairOutcome:
    pair: Pair
    reading: followup.Reading
    hit1: bool  # the first quoted passage holds an answer (an unanswerable question: it was declined)


@dataclass(frozen=True)
class FollowupScore:
    outcomes: tuple[PairOutcome, ...]

    def _of(self, new: bool) -> list[PairOutcome]:
        return [o for o in self.outcomes if o.pair.new == new]

    @property
    def hit_at_1(self) -> float:
        follow = self._of(False)
        return sum(o.hit1 for o in follow) / len(follow) if follow else 0.0

    @property
    def merged_new(self) -> int:
        return sum(o.reading.merged for o in self._of(True))

    def line(self) -> str:
        """One line for ``eval``."""
        follow, new = self._of(False), self._of(True)
        return (
            f"follow-ups ({len(follow)} pairs): hit@1 {self.hit_at_1:.3f} ({sum(o.hit1 for o in follow)} of "
            f"{len(follow)}, {sum(o.reading.merged for o in follow)} read with the question before); "
            f"self-contained second questions merged: {self.merged_new} of {len(new)} "
            f"(hit@1 or declined as they should be: {sum(o.hit1 for o in new)} of {len(new)})"
        )


def load_pairs(path: Path = FOLLOWUPS) -> list[Pair]:
    pairs = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                pairs.append(Pair(str(r["id"]), r["previous"], r["question"], tuple(r.get("answers") or ()),
                                  r.get("kind", "")))
    return pairs


def score_followups(index: Index, path: Path = FOLLOWUPS, k: int = 3) -> FollowupScore:
    """Ask each previous question, then its follow-up as a reply to that answer; score the follow-up."""
    def ask(question: str, offset: int) -> Answer:
        return answering.answer(index, question, k=k, offset=offset)

    outcomes = []
    for pair in load_pairs(path):
        before = ask(pair.previous, 0)
        previous = followup.Previous(pair.previous, len(before.quotes))
        read = followup.read(index, pair.question, previous, ask, replied=True)
        outcomes.append(PairOutcome(pair, read.reading, _right(read.answer, pair.answers)))
    return FollowupScore(tuple(outcomes))


def _right(ans: Answer, answers: tuple[str, ...]) -> bool:
    if not answers:
        return not ans.answered
    return bool(ans.quotes) and any(squash(a) in squash(ans.quotes[0].passage.text) for a in answers)


def print_followups(index: Index, path: Path = FOLLOWUPS, verbose: bool = False,
                    out: Callable[[str], None] = print) -> FollowupScore:
    """Score and print the line (with ``verbose``, one line per pair)."""
    score = score_followups(index, path)
    if verbose:
        for o in score.outcomes:
            mark = "ok  " if o.hit1 else "MISS"
            out(f"  {mark} {o.pair.id} {o.pair.kind:5} {o.pair.previous} -> {o.pair.question} "
                f"=> {o.reading.question if o.reading.merged else '(as typed)'}")
    out(score.line())
    return score


def main(argv: list[str] | None = None) -> int:
    """``python -m bot.ops.followup_eval [-v] [FILE]``: the line ``eval`` prints, on its own."""
    import argparse

    from bot.config import default_dotenv, load_settings
    from bot.search.cache import load_or_build

    p = argparse.ArgumentParser(prog="python -m bot.ops.followup_eval", description=main.__doc__)
    p.add_argument("path", nargs="?", type=Path, default=FOLLOWUPS, help="follow-up pairs (JSONL)")
    p.add_argument("-v", "--verbose", action="store_true", help="one line per pair")
    args = p.parse_args(argv)
    settings = load_settings(dotenv=default_dotenv())
    print_followups(load_or_build(settings.corpus_path, settings.data_dir), args.path, args.verbose)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
