"""Retrieval of bot/search/index.py on small made-up corpora: rankings and coverage, not raw scores."""

from __future__ import annotations

import jieba
import numpy as np
import pytest

try:  # before bot: puts the project root on sys.path
    import corpus_samples as samples
except ImportError:  # tests/ imported as a package
    from tests import corpus_samples as samples
from bot.search import index as index_module
from bot.search.index import Index, corpus_terms

CHERRY, DISTRICT, DOCTOR, FINANCE, FISHING, OFFICE, PLATFORM, SCHOOL, WASTE, passages = (
    samples.CHERRY, samples.DISTRICT, samples.DOCTOR, samples.FINANCE, samples.FISHING, samples.OFFICE,
    samples.PLATFORM, samples.SCHOOL, samples.WASTE, samples.passages,
)


@pytest.fixture(scope="module")
def index() -> Index:
    return Index(passages())


def ranking(idx: Index, question: str, k: int = 3) -> list[int]:
    """0-based positions in DISTRICT of the hits, best first."""
    return [h.passage.paragraph - 1 for h in idx.search(question, k)]


def test_question_words_are_rare_in_the_sample():
    """The sample is built so that no question word below is in half the passages or more."""
    idx = Index(passages())
    for q in ["樱桃节吸引游客采摘", "渔港冷链物流", "垃圾分类智能回收箱", "金融聚集区银行", "家庭医生签约"]:
        for w in idx.query(q).words:
            assert sum(w in idx.segmenter.analyse(t)[0] for t in DISTRICT) < len(DISTRICT) / 2, w


@pytest.mark.parametrize(
    "question, best",
    [
        ("樱桃节吸引游客采摘", CHERRY),
        ("沙子口的渔港和冷链物流", FISHING),
        ("楼宇党建联合党委服务企业员工", OFFICE),
        ("垃圾分类设置了智能回收箱吗？", WASTE),
        ("金融聚集区引进了多少家银行？", FINANCE),
        ("家庭医生签约服务", DOCTOR),
        ("中小学幼儿园新增学位", SCHOOL),
        ("企业开办一次办好的平台", PLATFORM),
    ],
)
def test_passage_with_the_question_words_ranks_first(index, question, best):
    hits = index.search(question, k=3)
    assert hits and hits[0].passage.paragraph - 1 == best
    assert hits[0].coverage == pytest.approx(1.0)
    # best first, and the runner-up (if any) holds fewer of the question's words
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(h.coverage < 1.0 for h in hits[1:])


def test_search_returns_at_most_k_hits(index):
    assert len(index.search("街道", k=2)) == 2
    assert len(index.search("街道", k=5)) == 5
    assert len(index.search("樱桃", k=1)) == 1


@pytest.mark.parametrize(
    "question, best, part",
    [
        ("医生", DOCTOR, "家庭医生"),  # jieba keeps 家庭医生 whole in the passage
        ("产品", FISHING, "海产品"),  # and 海产品
    ],
)
def test_character_ngrams_find_a_word_that_jieba_split_differently(index, question, best, part):
    q = index.query(question)
    assert part in index.segmenter.analyse(DISTRICT[best])[0]  # the passage has the longer word ...
    assert part not in q.words  # ... the question only a part of it
    word_only = index.words.scores(q.words)
    assert word_only[best] == 0  # the word view alone cannot find the passage
    assert ranking(index, question)[0] == best  # the fused ranking does


def test_character_ngrams_find_an_unknown_word():
    texts = list(DISTRICT) + ["崂岭苑社区新建老年食堂，每天为八十多位老人提供午餐。"]
    idx = Index(passages(texts), user_terms=set())
    question = "岭苑在哪里"  # a made-up place name; the passage segments it as 崂岭苑
    q = idx.query(question)
    assert q.words == ("岭苑",)
    assert not any("岭苑" in idx.segmenter.analyse(t)[0] for t in texts)
    assert not idx.words.scores(q.words).any()  # no passage by words
    assert ranking(idx, question)[0] == 8  # found through 岭 苑 岭苑
    assert idx.search(question)[0].matched == ("岭苑",)


@pytest.mark.parametrize(
    "question, best",
    [
        ("家庭醫生簽約服務", DOCTOR),
        ("垃圾分類智能回收箱", WASTE),
        ("金融聚集區引進銀行", FINANCE),
        ("ＡＢＣ樱桃節遊客", CHERRY),
    ],
)
def test_traditional_script_question_finds_the_simplified_passage(index, question, best):
    assert ranking(index, question)[0] == best


def test_corpus_terms_picks_quoted_and_titled_terms():
    texts = [
        "区行政审批服务局推出“崂先办”平台。",
        "《崂山区志愿服务条例》明确了志愿者的权利。",
        "他说“好”，然后走了。",  # one character: not a term
        "“这是一句超过十二个字的引语内容”不是名字。",  # too long
        "所谓“三三三”指的是三项引领。",
        "“来了，就办”写在墙上。",  # punctuation inside: a sentence, not a name
        "「樱你而益」项目和\"微心愿\"项目。",
        "“一二三四五六七八九十甲乙”有十二个字，“一二三四五六七八九十甲乙丙”有十三个。",
    ]
    assert corpus_terms(passages(texts)) == {
        "崂先办", "崂山区志愿服务条例", "三三三", "樱你而益", "微心愿", "一二三四五六七八九十甲乙",
    }


def test_corpus_terms_read_the_whole_paragraph_of_a_part():
    from bot.search.corpus import Passage

    p = Passage("d", "t", 1, "该平台已贯通全区5个街道。", 2, "区里推出“崂岫通”平台。该平台已贯通全区5个街道。")
    assert corpus_terms([p]) == {"崂岫通"}


def test_index_segments_with_the_corpus_terms():
    term = "崂屿办"  # made up for this test only
    texts = list(DISTRICT) + [f"区大数据局上线“{term}”平台，市民可以在线反映诉求。"]
    idx = Index(passages(texts))
    assert term in idx.user_terms
    assert term in idx.segmenter.segment(f"{term}平台贯通街道")
    assert term in idx.query(f"{term}平台怎么用？").words
    assert ranking(idx, f"{term}是什么？")[0] == 8
    assert term not in jieba.lcut(f"{term}平台贯通街道")  # jieba's own dictionary is untouched


def test_two_corpora_in_one_process_keep_their_terms_apart():
    term = "崂屿通"  # made up: corpus A marks it as a name, corpus B uses it unmarked
    a_texts = list(DISTRICT) + [f"区里推出“{term}”平台，市民可以在线办事。"]
    b_texts = list(DISTRICT) + [f"市民在{term}平台上反映诉求，街道当天答复。"]
    question = f"{term}平台能反映诉求吗？"
    b_alone = Index(passages(b_texts))
    b_words, b_vocab = b_alone.query(question).words, dict(b_alone.words.vocab)
    a = Index(passages(a_texts))
    a_words = a.query(question).words
    assert term in a_words and term not in b_words  # A knows the name, B does not
    b_after = Index(passages(b_texts))
    assert b_after.query(question).words == b_alone.query(question).words == b_words
    assert b_after.words.vocab == b_vocab  # B's index is the same with A loaded
    assert Index(passages(a_texts)).query(question).words == a_words


def test_coverage_all_none_and_unknown(index):
    q = index.query("樱桃节吸引游客采摘")
    matched, coverage = index.coverages(q, [CHERRY])[0]
    assert coverage == pytest.approx(1.0)
    assert set(matched) == set(q.words)
    assert index.coverages(q, [FINANCE])[0] == ((), 0.0)

    with_unknown = index.query("樱桃节吸引游客采摘火箭发射")
    matched, coverage = index.coverages(with_unknown, [CHERRY])[0]
    assert 0.0 < coverage < 1.0
    assert "火箭" not in matched and "发射" not in matched and "樱桃" in matched


def test_coverage_weighs_an_unknown_word_like_the_rarest_word(index):
    one_known = index.coverages(index.query("樱桃火箭"), [CHERRY])[0][1]
    assert one_known == pytest.approx(0.5)


def test_coverage_of_a_split_compound_counts_as_matched(index):
    q = index.query("医生")
    assert index.coverages(q, [DOCTOR])[0] == (("医生",), 1.0)


def test_hits_carry_coverage_and_matched_words(index):
    hit = index.search("垃圾分类回收", k=1)[0]
    assert hit.passage.text == DISTRICT[WASTE]
    assert hit.coverage == pytest.approx(1.0)
    assert set(hit.matched) == {"垃圾", "分类", "回收"}
    assert 0 < hit.score <= 1.0


@pytest.mark.parametrize("question", ["", "   ", "什么？", "是吗……的！！", "？？？", "请问一下有没有"])
def test_question_without_content_words_finds_nothing(index, question):
    assert index.search(question) == []


def test_off_topic_question_is_not_covered(index):
    hits = index.search("怎么做红烧肉？")
    assert all(h.coverage < 0.5 for h in hits)


def test_index_of_no_passage_is_empty():
    idx = Index([])
    assert len(idx) == 0
    assert idx.search("樱桃") == []


def test_fused_scores_are_between_zero_and_one(index):
    fused, scale, _, _ = index._fused_scores(index.query("樱桃节游客渔港"))
    fused = fused * scale
    assert fused.shape == (len(DISTRICT),)
    assert np.all(fused >= 0) and np.all(fused <= 1.0 + 1e-6)


def test_hits_carry_both_models_raw_scores(index):
    q = index.query("樱桃节游客渔港")
    hits = index.search(q, 8)
    words, grams = index.words.scores(q.words), index.grams.scores(q.grams)
    for h in hits:
        assert h.passage is index.passages[h.row]
        assert h.word_score == pytest.approx(words[h.row], rel=1e-5, abs=1e-5)
        assert h.gram_score == pytest.approx(grams[h.row], rel=1e-5, abs=1e-5)


@pytest.mark.parametrize("n", [1, 2])
def test_a_corpus_too_small_for_bm25_fails_at_load_with_one_line(n, tmp_path):
    # rank_bm25's Okapi idf is <= 0 for every word with fewer than 3 passages: nothing could rank,
    # so the loader refuses such a corpus up front instead of declining every question.
    from bot.search.cache import load_or_build
    from bot.search.corpus import CorpusError

    (tmp_path / "tiny.md").write_text("# 小\n\n" + "\n\n".join(p.text for p in passages(DISTRICT[:n])), encoding="utf-8")
    with pytest.raises(CorpusError, match="at least 3"):
        load_or_build(tmp_path, None)


def test_three_passages_are_enough_to_find_one():
    idx = Index(passages(DISTRICT[:3]))
    assert ranking(idx, "樱桃节吸引游客采摘")[:1] == [CHERRY]


# --- answer types: a question asking for a duration or a definition prefers passages that hold one

TIMELINE = (
    "张家湾片区改造项目启动以来，拆迁工作稳步推进，群众积极配合。",
    "张家湾片区拆迁工作历时十四个月完成，比计划提前半年。",
    "沙子口街道建设渔港码头，完善冷链物流设施，海产品销往全国各地。",
    "王哥庄街道加强垃圾分类管理，设置智能回收箱，居民参与率明显提高。",
    "金家岭街道打造金融聚集区，引进银行证券保险机构四十余家。",
    "所谓“三联机制”指的是联系群众、联络企业、联动部门的工作方法。",
    "三联机制在各街道推广，社区治理水平不断提高，三联机制受到好评。",
)


def test_a_duration_question_prefers_the_passage_holding_a_duration():
    idx = Index(passages(TIMELINE))
    plain = idx.search("张家湾片区的拆迁工作进展", 2)
    asked = idx.search("张家湾片区的拆迁工作用了多长时间？", 2)
    assert {h.passage.paragraph for h in plain} == {1, 2}
    assert asked[0].passage.paragraph == 2  # 历时十四个月
    assert asked[0].wanted and not plain[0].wanted


def test_a_definition_question_prefers_the_defining_passage():
    idx = Index(passages(TIMELINE))
    assert idx.search("三联机制是什么？", 1)[0].passage.paragraph == 6  # 指的是


def test_an_anniversary_or_a_year_is_not_a_duration():
    from bot.search.index import ANSWER_TYPES

    duration = ANSWER_TYPES[0][1]
    assert duration.search("十四个月") and duration.search("70天") and duration.search("5个多月")
    assert not duration.search("成立102周年") and not duration.search("2022年以来")


# --- nearness: the question's words standing together, in a sentence or two, not across a paragraph

APART = (
    "沙子口街道建设渔港码头，完善冷链物流设施。周边道路拓宽改造。居民出行更加便利。沿街商铺陆续开业。",
    "沙子口街道建设渔港码头。周边道路拓宽改造。居民出行更加便利，周边商铺陆续开业。完善冷链物流设施，冷链仓储投入使用。",
    "王哥庄街道加强垃圾分类管理，设置智能回收箱，居民参与率明显提高。",
    "金家岭街道打造金融聚集区，引进银行证券保险机构四十余家。",
    "北宅街道举办樱桃节，吸引游客采摘，带动农民增收。",
    "中韩街道推进老旧小区改造，加装电梯，改善居住条件。",
)


def test_a_passage_holding_the_question_words_together_ranks_above_one_holding_them_apart():
    idx = Index(passages(APART))
    q = idx.query("渔港码头的冷链设施建设")
    together, apart = idx.nearness(q, [0, 1])
    assert together == pytest.approx(1.0) and apart < 0.8
    assert idx.coverages(q, [0])[0][1] == pytest.approx(idx.coverages(q, [1])[0][1]) == pytest.approx(1.0)
    assert [h.passage.paragraph for h in idx.search(q, 2)] == [1, 2]
    with pytest.MonkeyPatch.context() as mp:  # (by BM25 and coverage alone, the other comes first)
        mp.setattr(index_module, "NEARNESS_WEIGHT", 0.0)
        assert [h.passage.paragraph for h in idx.search(q, 2)] == [2, 1]


def test_nearness_is_zero_when_the_passage_holds_no_question_word_or_the_question_has_none():
    idx = Index(passages(APART))
    assert idx.nearness(idx.query("火箭发射"), [0, 2]) == [0.0, 0.0]
    assert idx.nearness(idx.query("什么？"), [0]) == [0.0]


def test_a_count_question_prefers_the_passage_that_counts_the_thing_asked_about():
    idx = Index(passages((
        "青岛国际创新园吸引多家企业入驻，企业职工就近参加活动，园区企业家交流频繁。",
        "青岛国际创新园共有15座产业楼宇，300余家企业，1.1万名职工。园区绿化面积不断扩大，周边道路拓宽改造，"
        "公交线路加密，居民出行更加便利，沿街商铺陆续开业。",
        *DISTRICT[:5],
    )))
    asked = idx.search("青岛国际创新园有多少家企业？", 2)
    assert asked[0].passage.paragraph == 2  # 300余家企业
    with pytest.MonkeyPatch.context() as mp:  # (without the count, the other comes first)
        mp.setattr(index_module, "COUNT_BONUS", False)
        assert idx.search("青岛国际创新园有多少家企业？", 1)[0].passage.paragraph == 1
    assert [p.pattern for p in index_module.answer_patterns(idx.query("党员有多少名？"))] == []  # nothing counted
