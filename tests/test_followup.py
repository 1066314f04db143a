"""Follow-up questions read in the context of the question before (bot/answering/followup.py), without Telegram."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.answering import answer as answering
from bot.answering import followup
from bot.answering.followup import Previous
from bot.ops.followup_eval import FOLLOWUPS, load_pairs, score_followups
from bot.search.cache import load_or_build

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    return load_or_build(ROOT / "corpus", tmp_path_factory.mktemp("cache"))


def _read(index, question: str, previous: str | None, replied: bool = True) -> followup.FollowUp:
    def ask(q: str, offset: int) -> answering.Answer:
        return answering.answer(index, q, k=3, offset=offset)

    before = Previous(previous, len(ask(previous, 0).quotes)) if previous else None
    return followup.read(index, question, before, ask, replied=replied)


@pytest.mark.parametrize("previous, question, read_as, holds", [
    ("2023年崂山区生产总值是多少？", "那2021年呢？", "2021年崂山区生产总值是多少?", "突破1000亿元"),  # a year for a year
    ("康城社区的党委书记是谁？", "青高科公司呢？", "青高科公司的党委书记是谁?", "刘赞科"),  # a name for a name
    ("康城社区的党委书记是谁？", "她是哪年当选的？", "康城社区党委书记是哪年当选的?", "第四届党委书记"),  # 她
])
def test_a_follow_up_takes_the_words_it_lacks_from_the_question_before(index, previous, question, read_as, holds):
    follow = _read(index, question, previous)
    assert follow.reading == followup.Reading(read_as, merged=True)
    assert follow.reading.note() == f"按「{read_as.rstrip('?')}」理解："
    assert holds in follow.answer.quotes[0].passage.text


@pytest.mark.parametrize("previous, question", [
    ("崂山区有多少家高新技术企业？", "崂先办平台收集了多少群众诉求？"),  # a question of its own
    ("崂先办平台收集了多少群众诉求？", "千山峰会"),  # keywords the corpus answers alone
    ("康城社区的党委书记是谁？", "比特币今天的价格是多少？"),  # about what the corpus does not know
    (None, "那2021年呢？"),  # nothing before it
])
def test_a_self_contained_question_is_never_merged(index, previous, question):
    follow = _read(index, question, previous)
    assert follow.reading == followup.Reading(question) and follow.reading.note() is None


def test_only_a_short_question_follows_without_being_a_reply(index):
    long = "那么2021年的时候，这个数字又是多少呢，麻烦告诉我一下？"
    assert not followup.is_short(long)
    assert not _read(index, long, "2023年崂山区生产总值是多少？", replied=False).reading.merged
    assert _read(index, "那2021年呢？", "2023年崂山区生产总值是多少？", replied=False).reading.merged


def test_more_of_the_same_goes_on_from_what_was_shown(index):
    follow = _read(index, "还有呢？", "崂山区人才服务")
    assert follow.reading.merged and follow.reading.offset >= 1
    assert follow.reading.note().endswith("接着上面的结果：")


def test_the_follow_up_set_is_answered_and_no_self_contained_question_merged(index):
    pairs = load_pairs(FOLLOWUPS)
    assert len(pairs) >= 40 and sum(p.new for p in pairs) >= 10
    score = score_followups(index)
    assert score.merged_new == 0
    assert score.hit_at_1 >= 0.85, score.line()
