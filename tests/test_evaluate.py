"""bot/ops/evaluate.py: the report lines computed from outcomes (no index needed)."""

from __future__ import annotations

from bot.answering import answer as answering
from bot.ops import evaluate
from bot.ops.evaluate import Outcome, Results, Tally


def outcome(answerable: bool, confidence: float, first_right: bool = False) -> Outcome:
    return Outcome(answerable, confidence, first_right, False, False)


def test_the_related_line_counts_the_close_declines_and_their_right_passages():
    floor, threshold = answering.RELATED_FLOOR, 0.1
    between, below = (floor + threshold) / 2, floor / 2
    res = Results()
    res.seed_kinds["fact"] = Tally([
        outcome(True, between, first_right=True), outcome(True, between), outcome(True, below, first_right=True),
        outcome(True, 0.9, first_right=True),
    ])
    res.seed_kinds["near_unanswerable"] = Tally([outcome(False, between), outcome(False, below)])
    lines: list[str] = []
    evaluate.related(res, threshold, lines.append)
    [line] = lines
    # seed answerable: 3 declined, 2 of them close, 1 of those with the right passage first
    assert "seed ans 2 of 3, 1 right" in line
    assert "right@1 1 of 2, 1 right" in line
    assert "near 1 of 2" in line and "near 1 of 2," not in line  # no "right" for unanswerable sets
    assert "CMRC" not in line  # sets without questions are left out
