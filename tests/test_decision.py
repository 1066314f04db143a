"""The "does the corpus answer this?" decision (bot/answering/decision.py) on small made-up corpora."""

from __future__ import annotations

import numpy as np
import pytest

try:  # before bot: puts the project root on sys.path
    from corpus_samples import DISTRICT, passages
except ImportError:  # tests/ imported as a package
    from tests.corpus_samples import DISTRICT, passages
from bot.answering import answer as A
from bot.answering import decision
from bot.search.index import Index

TEMPLE = (
    "太清宫始建于西汉建元元年，即公元前140年，是崂山历史最悠久、规模最大的道教宫观。",
    "宫内现存古树名木二十余株，其中汉柏相传为张廉夫所植，距今两千一百多年。",
    "太清宫占地三十亩，分三官殿、三清殿、三皇殿三个独立院落。",
    "每年农历正月初九，附近村民到宫内参加庙会，祈求一年平安。",
    "崂山茶园多分布在王哥庄街道的山坡上，春茶每年四月中旬开采。",
    "仰口景区以海上日出闻名，游客可乘索道登上山顶观景台。",
    "北九水景区有十八处潭瀑，夏季水量充沛，是避暑的好去处。",
)


@pytest.fixture(scope="module")
def district() -> Index:
    return Index(passages())


@pytest.fixture(scope="module")
def temple() -> Index:
    return Index(passages(TEMPLE, doc="temple", title="崂山名胜"))


def confidence(index: Index, question: str) -> float:
    return A.answer(index, question).confidence


def test_the_shipped_model_fits_the_signals():
    model = decision.load_model()
    assert len(model.coef) == len(decision.FEATURES) == len(model.mean) == len(model.scale)
    assert 0.0 < model.threshold < 1.0


@pytest.mark.parametrize("question", ["渔港", "垃圾分类", "樱桃节", "楼宇党建"])
def test_a_one_word_question_whose_term_the_corpus_holds_is_answered(district, question):
    assert A.answer(district, question).answered


@pytest.mark.parametrize(
    "question",
    ["量子计算机的研发进展如何？", "火箭发射时间", "特斯拉股价是多少", "How do I install Python?", "什么？"],
)
def test_a_question_whose_rare_terms_the_corpus_lacks_is_declined(district, question):
    ans = A.answer(district, question)
    assert not ans.answered and ans.quotes == ()


def test_a_known_word_with_a_rare_unknown_name_is_less_sure_than_the_known_word_alone(district):
    assert confidence(district, "渔港码头") > confidence(district, "渔港码头的蛟龙号潜水器")


def test_single_character_words_count(temple):
    # 建 and 亩 are words of one character: the character model matches them
    assert A.answer(temple, "太清宫是哪一年建的？").answered
    assert confidence(temple, "太清宫占地多少亩？") > confidence(temple, "太清宫占地多少吨？")


@pytest.mark.parametrize(
    "traditional, simplified",
    [("家庭醫生簽約", "家庭医生签约"), ("太清宮是哪一年建的？", "太清宫是哪一年建的？"), ("火箭發射時間", "火箭发射时间")],
)
def test_the_decision_is_the_same_in_traditional_script(district, temple, traditional, simplified):
    for index in (district, temple):
        assert confidence(index, traditional) == pytest.approx(confidence(index, simplified))
        assert A.answer(index, traditional).answered == A.answer(index, simplified).answered


def test_signals_of_nothing_found_are_zero(district):
    q = district.query("火箭")
    assert not np.any(decision.signals(district, q, []))
    assert decision.confidence(district, q, []) == 0.0


def test_another_operating_point(district):
    sure = confidence(district, "渔港码头")
    assert A.should_answer(sure, threshold=sure) and not A.should_answer(sure, threshold=min(sure + 0.01, 1.0))
    assert len(DISTRICT) >= 5  # (BM25's idf needs 5+ passages)


def test_the_readers_verdict_weighs_in(temple):
    # A count asked of a passage with none of the asked kind near the question's words is less
    # likely answered than the same result with a confident candidate there.
    found = A.find(temple, "太清宫有多少座殿？", 8)
    assert found.reading.verdict is not None  # a typed slot is asked, so the reader gave a verdict
    hits = found.hits
    none_there = decision.confidence(temple, found.query, hits, verdict=0.0)
    one_there = decision.confidence(temple, found.query, hits, verdict=0.9)
    assert none_there < one_there
    untyped = decision.signals(temple, found.query, hits, verdict=None)
    assert untyped[decision.FEATURES.index("asks_slot")] == 0 and untyped[decision.FEATURES.index("slot_found")] == 0


def test_a_number_the_best_passage_does_not_hold_lowers_the_confidence(temple):
    def numbers_missing(index: Index, question: str) -> float:
        found = A.find(index, question, 8)
        return decision.signals(index, found.query, found.hits)[decision.FEATURES.index("numbers_missing")]

    assert numbers_missing(temple, "北九水景区有几处潭瀑？") == 0  # no number asked
    assert numbers_missing(temple, "太清宫公元前140年建成时叫什么？") == 0  # the passage holds 140
    assert numbers_missing(temple, "2023年北九水景区有几处潭瀑？") == 1
    assert confidence(temple, "2023年北九水景区有几处潭瀑？") < confidence(temple, "北九水景区有几处潭瀑？")
    # a document's name may date its paragraphs (今年, 上半年): the year is held there
    dated = Index(passages(TEMPLE, doc="2023-temple", title="崂山名胜"))
    assert numbers_missing(dated, "2023年北九水景区有几处潭瀑？") == 0


def test_a_name_the_corpus_never_uses_lowers_the_confidence(district):
    found = A.find(district, "深圳的渔港码头", 8)
    x = decision.signals(district, found.query, found.hits)
    assert x[decision.FEATURES.index("names_unknown_any")] == 1  # 深圳: a place, by jieba's tags
    assert x[decision.FEATURES.index("names_unknown")] > 0
    found = A.find(district, "渔港码头", 8)
    assert decision.signals(district, found.query, found.hits)[decision.FEATURES.index("names_unknown_any")] == 0
    assert confidence(district, "深圳的渔港码头") < confidence(district, "渔港码头")


def test_a_name_the_corpus_holds_inside_a_longer_word_is_not_unknown():
    # The corpus says 深圳市 (one word to jieba), the question 深圳: the same place, cut another way.
    idx = Index(passages((*DISTRICT[:6], "深圳市渔港码头企业来崂山考察，双方签订合作协议。")))
    found = A.find(idx, "深圳的渔港码头", 8)
    assert "深圳" in found.query.words and idx.words.term_idf("深圳") is None
    assert decision.signals(idx, found.query, found.hits)[decision.FEATURES.index("names_unknown_any")] == 0


def test_a_word_jieba_glued_to_a_particle_is_as_rare_as_its_parts_and_a_name_it_never_saw_is_rarest(district):
    tokenizer = district.segmenter.tokenizer
    assert "投了" not in tokenizer.FREQ and "康城" not in tokenizer.FREQ  # both unknown to jieba
    glued = decision.general_rarity(district, "投了")
    assert glued == pytest.approx(max(decision.general_rarity(district, c) for c in "投了")) and glued < 0.9
    assert decision.general_rarity(district, "康城") == 1.0
    assert decision.general_rarity(district, "的") < decision.general_rarity(district, "社区") < 1.0
