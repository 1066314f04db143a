"""bot/answering/reader.py: the short answer read out of a passage, on small made-up passages."""

from __future__ import annotations

import numpy as np
import pytest

from bot.answering import reader

DISTRICT = (
    "康城社区位于中韩街道东部，建成于2009年。社区共有居民6558户，常住人口约两万人，"
    "社区党委书记由王秀兰担任。社区每月组织读书会和义诊活动。"
)
VILLAGE = "大河东村位于沙子口街道，村里的茶园面积达到1200亩。村党支部书记刘建国带领村民发展民宿。"
BREWERY = "青岛啤酒厂始建于1903年，由英德商人在青岛创办，厂址位于登州路56号。"


@pytest.fixture(scope="module")
def model() -> reader.Model:
    return reader.load_model()


@pytest.mark.parametrize(
    ("question", "passage", "answer", "kind"),
    [
        ("康城社区一共住了多少户人家？", DISTRICT, "6558户", "quantity"),
        ("大河东村的茶园有多少亩？", VILLAGE, "1200亩", "quantity"),
        ("青岛啤酒厂是哪一年建的？", BREWERY, "1903年", "time"),
        ("康城社区是哪一年建成的？", DISTRICT, "2009年", "time"),
        ("谁担任康城社区的党委书记？", DISTRICT, "王秀兰", "person"),
        ("大河东村在哪个街道？", VILLAGE, "沙子口街道", "place"),
    ],
)
def test_reads_the_answer_and_shows_it(question, passage, answer, kind, model) -> None:
    span = reader.short_answer(question, [passage], model=model)
    assert span is not None, reader.best_span(question, [passage], model=model)
    assert (span.text, span.kind) == (answer, kind)
    assert span.confidence >= model.threshold


def test_the_span_is_the_passage_word_for_word(model) -> None:
    # Full-width digits and traditional script: the reader normalises to read, and answers with
    # the passage's own characters.
    passage = "康城社區共有居民６５５８戶，常住人口約兩萬人。"
    span = reader.short_answer("康城社区一共住了多少户人家？", ["无关的段落。", passage], model=model, k=2)
    assert span is not None
    assert span.passage == 1
    assert passage[span.start : span.end] == span.text == "６５５８戶"


def test_spans_always_stand_in_the_passage(model) -> None:
    for question in ("社区每月组织什么活动？", "常住人口有多少？", "康城社区在哪里？", "为什么要组织读书会？"):
        span = reader.best_span(question, [DISTRICT], model=model)
        assert span is not None
        assert DISTRICT[span.start : span.end] == span.text
        assert span.kind in reader.KINDS
        assert 0.0 <= span.confidence <= 1.0


def test_no_short_answer_when_nothing_of_the_asked_kind_is_there(model) -> None:
    passage = "社区每月组织读书会和义诊活动，居民踊跃参加，志愿者也来帮忙。"
    question = "社区的读书会一共办了多少场？"
    assert reader.short_answer(question, [passage], model=model) is None
    assert reader.slot_verdict(question, [passage], model=model) == 0.0
    # ... while a passage that gives the count stands behind its answer.
    given = "社区每月组织读书会，今年已经办了24场，居民踊跃参加。"
    assert reader.slot_verdict(question, [given], model=model) > 0.5


def test_no_short_answer_to_a_keyword_or_a_why_question(model) -> None:
    assert reader.best_span("康城社区 党委", [DISTRICT], model=model) is not None  # read, but not shown
    assert reader.short_answer("康城社区 党委", [DISTRICT], model=model) is None
    assert reader.short_answer("为什么要组织读书会？", [DISTRICT], model=model) is None


def test_a_number_or_a_time_is_answered_by_a_numeral_or_a_word_of_time() -> None:
    assert reader.showable("崂山区有多少名党员？", "3.4万名")
    assert reader.showable("崂山区有多少名党员？", "三万四千名")
    assert not reader.showable("崂山区有多少名党员？", "基层党组织")
    assert reader.showable("太清宫是哪一年建的？", "公元前140年")
    assert reader.showable("什么时候开始施工？", "去年春天")
    assert not reader.showable("什么时候开始施工？", "太清宫")
    assert reader.showable("谁担任党委书记？", "王秀兰")  # other kinds: the model's confidence decides


def test_a_rate_is_answered_by_a_share_and_a_count_in_its_measure_word() -> None:
    assert not reader.showable("2023年生产总值的增幅是多少？", "1150.89亿元")
    assert reader.showable("2023年生产总值的增幅是多少？", "7%")
    assert reader.showable("律师覆盖率是多少？", "百分之百")
    assert not reader.showable("多少家单位认领了微心愿？", "128个")
    assert reader.showable("多少家单位认领了微心愿？", "30余家")
    assert not reader.showable("嶗山區一共有幾個街道？", "0.3亩")  # traditional script too
    assert reader.showable("崂山区有多少名党员？", "3.4万名")
    assert reader.showable("社区有多少人？", "1.7万")  # no measure word given: the model decides


def test_a_sum_of_money_is_answered_by_a_sum() -> None:
    assert not reader.showable("崂山的分娩补助能领多少钱？", "一份")
    assert reader.showable("村子和企业结对子搞的那些项目一共投了多少钱？", "1.4亿元")
    assert reader.showable("張村河片區改造總投資是多少？", "186億元")  # traditional script too
    assert not reader.showable("张村河片区改造总投资是多少？", "70天")
    assert reader.showable("汇丰花了多少越南盾？", "41,210亿")  # the currency is in the question
    assert reader.showable("门票价格是多少美元？", "25")
    assert reader.showable("门票多少钱？", "60块")


def test_slot_verdict_only_for_typed_questions(model) -> None:
    assert reader.slot_verdict("社区每月组织什么活动？", [DISTRICT], model=model) is None
    assert reader.slot_verdict("康城社区是哪一年建成的？", [DISTRICT], model=model) > 0.5


def test_nothing_to_read() -> None:
    assert reader.best_span("康城社区有多少户？", []) is None
    assert reader.best_span("康城社区有多少户？", ["。。。"]) is None


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        ("党员有多少名？", "quantity"),
        ("康城社区一共住了多少户人家？", "quantity"),
        ("太清宫是哪一年建的？", "time"),
        ("什么时候开始施工？", "time"),
        ("这个项目持续了多久？", "duration"),
        ("谁是第一任网格员？", "person"),
        ("大河东村在哪个街道？", "place"),
        ("崂山矿泉水是哪家公司生产的？", "org"),
        ("这个党建品牌叫什么？", "name"),
        ("六基工程包括哪些内容？", "phrase"),
        ("为什么要建设智慧社区", None),
        ("幾點開門？", "time"),  # traditional script
    ],
)
def test_asked_type(question, asked) -> None:
    assert reader.asked_type(question) == asked


def test_cmrc_scores() -> None:
    # characters for Chinese, ASCII runs whole, punctuation dropped; F1 on the longest common run
    assert reader.cmrc_tokens("《崂山》GDP 1150.89亿元") == ["崂", "山", "gdp", "1150.89", "亿", "元"]
    assert reader.cmrc_em("“6558户”", ["6558户"])
    assert not reader.cmrc_em("6558", ["6558户"])
    assert reader.cmrc_f1("6558户", ["共6558户"]) == pytest.approx(2 * 2 / (2 + 3))
    assert reader.cmrc_f1("沙子口", ["无关", "沙子口街道"]) == pytest.approx(2 * 3 / (3 + 5))
    assert reader.cmrc_f1("别处", ["沙子口街道"]) == 0.0


def test_the_shortlist_reads_as_every_candidate_does() -> None:
    # The bot's first model scores every candidate from its description's parts, and detail
    # reads all features of its shortlist alone: as the fit reads them for every candidate.
    for question, passage in (("康城社区一共住了多少户人家？", DISTRICT), ("谁担任康城社区的党委书记？", DISTRICT),
                              ("青岛啤酒厂是哪一年建的？", BREWERY), ("社区每月组织什么活动？", DISTRICT)):
        d = reader.describe(question, passage)
        every = reader.candidates(question, passage)
        assert d is not None and every is not None
        assert every.base.shape == (len(d), len(reader.BASE))
        np.testing.assert_allclose(d.cheap(), every.base[:, : len(reader.CHEAP)], rtol=0, atol=1e-12)
        rng = np.random.default_rng(0)
        first = reader.Ranker(rng.random(len(reader.CHEAP)), rng.random(len(reader.CHEAP)) + 0.5,
                              rng.normal(size=len(reader.CHEAP)))
        np.testing.assert_allclose(d.scores(first), first.scores(d.cheap()), rtol=0, atol=1e-9)
        rows = np.arange(0, len(d), 7)
        some = reader.detail(d, rows)
        np.testing.assert_allclose(some.base, every.base[rows], rtol=0, atol=1e-12)
        np.testing.assert_array_equal(some.starts, every.starts[rows])
        np.testing.assert_array_equal(some.cats, every.cats[rows])
        second = reader.Ranker(rng.random(len(reader.FEATURES)), rng.random(len(reader.FEATURES)) + 0.5,
                               rng.normal(size=len(reader.FEATURES)))
        np.testing.assert_allclose(d.shortlist_scores(second, rows, some.base[:, len(reader.CHEAP) :]),
                                   second.candidate_scores(some), rtol=0, atol=1e-9)
    assert reader.BASE == reader.CHEAP + reader.DETAIL
    assert reader.FEATURES[: len(reader.BASE)] == reader.BASE
