"""bot/answering/answer.py: the decline rule, the quote, highlighting and the three renderings."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

try:  # before bot: puts the project root on sys.path
    from corpus_samples import CHERRY, DISTRICT, DOCTOR, FISHING, WASTE, passages
except ImportError:  # tests/ imported as a package
    from tests.corpus_samples import CHERRY, DISTRICT, DOCTOR, FISHING, WASTE, passages
from bot.answering import answer as A
from bot.answering import reader
from bot.search.corpus import Passage
from bot.search.index import Hit, Index

OUR_TAGS = re.compile(r"</?(?:b|blockquote)>")


@pytest.fixture(scope="module")
def index() -> Index:
    texts = list(DISTRICT) + ["活动现场展示了<b>&</b>标志，冰雕节吸引游客观赏，也有 a<b 与 c>d 的字样。"]
    return Index(passages(texts))


def make_hit(text: str = "樱桃节吸引游客。", coverage: float = 1.0, matched=("樱桃",), title="样例文档",
             paragraph: int = 3) -> Hit:
    return Hit(Passage("doc", title, paragraph, text, 0, text), 0.5, coverage, tuple(matched))


def answer_of(*hits: Hit, question: str = "问题") -> A.Answer:
    return A.Answer(question, tuple(A.make_quote(h) for h in hits), tuple(hits))


def assert_balanced(out: str) -> None:
    if out.startswith("答：<b>"):  # the short answer's line: bold, outside the quotes
        line, _, out = out.partition("\n\n")
        assert re.fullmatch(r"答：<b>[^<>]+</b>", line), line
    assert out.count("<b>") == out.count("</b>")
    assert out.count("<blockquote>") == out.count("</blockquote>")
    # no tag is opened inside another of its kind, and bold only inside quotes
    depth_b = depth_q = 0
    for tag in OUR_TAGS.findall(out):
        if tag == "<blockquote>":
            depth_q += 1
        elif tag == "</blockquote>":
            depth_q -= 1
        elif tag == "<b>":
            depth_b += 1
            assert depth_q == 1
        else:
            depth_b -= 1
        assert depth_b in (0, 1) and depth_q in (0, 1)
    assert depth_b == depth_q == 0


def assert_escaped(out: str) -> None:
    """Outside our own tags there is no markup: no < or >, and every & starts an entity."""
    rest = OUR_TAGS.sub("", out)
    assert "<" not in rest and ">" not in rest
    assert not re.search(r"&(?!(?:lt|gt|amp);)", rest)


# --------------------------------------------------------------------------- the decline rule


def test_should_answer_at_the_operating_point():
    from bot.answering import decision

    threshold = decision.load_model().threshold
    assert A.should_answer(threshold) and A.should_answer(1.0)
    assert not A.should_answer(threshold - 1e-9) and not A.should_answer(0.0)


@pytest.mark.parametrize(
    "question",
    ["怎么做红烧肉？", "How do I install Python?", "什么？", "", "火箭发射时间"],
)
def test_off_topic_question_is_declined(index, question):
    ans = A.answer(index, question)
    assert not ans.answered
    assert ans.quotes == ()
    assert A.answer_text(ans) == A.NOT_FOUND
    assert A.answer_html(ans) == html.escape(A.NOT_FOUND, quote=False)
    assert A.answer_json(ans) == {
        "question": question, "answered": False, "answer": None, "answer_confidence": None, "passages": [],
        "related": [],
    }


@pytest.fixture(scope="module")
def seed(tmp_path_factory) -> Index:
    """The shipped corpus (the decision is fitted on corpora of its size, not on eight passages)."""
    from bot.answering.service import Service

    return Service.from_corpus(Path(__file__).resolve().parent.parent / "corpus", 3,
                               tmp_path_factory.mktemp("cache")).index


def test_a_question_half_on_topic_is_declined_with_at_most_the_nearest_passage(seed):
    ans = A.answer(seed, "红烧肉和樱桃怎么做好吃")  # 樱桃 is in the corpus, cooking is not
    assert not ans.answered and ans.quotes == ()
    assert all("樱桃" in q.passage.text for q in ans.related)


@pytest.mark.parametrize("probability, related", [(0.05, True), (0.01, False)])
def test_a_close_decline_shows_the_nearest_passage_as_related_not_as_an_answer(
    index, monkeypatch, probability, related
):
    from bot.answering import decision

    assert A.RELATED_FLOOR <= 0.05 < decision.load_model().threshold and A.RELATED_FLOOR > 0.01
    monkeypatch.setattr(decision, "confidence", lambda *args, **kwargs: probability)
    ans = A.answer(index, "樱桃节吸引游客采摘")
    assert not ans.answered and ans.quotes == () and ans.short is None
    record = A.answer_json(ans)
    assert record["answered"] is False and record["passages"] == [] and record["answer"] is None
    if not related:
        assert ans.related == () and record["related"] == []
        assert A.answer_text(ans) == A.NOT_FOUND
        return
    [quote] = ans.related
    assert quote.passage == ans.candidates[0].passage and quote.passage.text == DISTRICT[CHERRY]
    assert [r["text"] for r in record["related"]] == [DISTRICT[CHERRY]]
    assert record["related"][0]["quote"] == quote.text
    out = A.answer_html(ans)
    assert out.startswith(html.escape(A.NOT_DIRECT, quote=False) + "\n\n<blockquote>")
    assert_balanced(out.partition("\n\n")[2])
    assert_escaped(out)
    assert quote.source in A.answer_text(ans) and A.answer_text(ans).startswith(A.NOT_DIRECT)
    # within any limit the caller sets
    assert len(A.answer_html(ans, limit=120)) <= 120
    assert A.answer(index, "樱桃节吸引游客采摘", offset=3).related == ()  # a further page: none


@pytest.mark.parametrize(
    "question, best",
    [("樱桃节吸引游客采摘", CHERRY), ("渔港", FISHING), ("垃圾分类怎么做？", WASTE), ("家庭醫生簽約", DOCTOR)],
)
def test_on_topic_question_is_answered(index, question, best):
    ans = A.answer(index, question)
    assert ans.answered
    assert ans.quotes[0].passage.text == DISTRICT[best]


def test_no_filler_quotes(index):
    ans = A.answer(index, "樱桃节吸引游客采摘", k=3)
    assert len(ans.quotes) == 1  # the other passages share no word with the question
    assert len(ans.candidates) >= 1


# A page spliced into another (as in the seed corpus): the second passage repeats the first's
# sentence about cherries after a cut-off sentence of its own; a third says it in other words.
SPLICED = [
    "北宅街道樱桃节今年吸引游客十二万人次，采摘收入突破三千万元。",
    "王哥庄街道的茶农介绍，今年春茶产量北宅街道樱桃节今年吸引游客十二万人次，采摘收入突破三千万元。",
    "北宅街道樱桃节期间，游客采摘樱桃的收入让村民增收。",
]


@pytest.fixture(scope="module")
def spliced_index() -> Index:
    return Index(passages(list(DISTRICT) + SPLICED))


def test_an_answer_never_quotes_the_same_words_twice(spliced_index):
    question = "北宅街道樱桃节吸引了多少游客，采摘收入多少？"
    ranked = [h.passage.text for h in spliced_index.search(question, k=5)]
    assert SPLICED[0] in ranked and SPLICED[1] in ranked  # both rank: the repeat is the answer's to drop
    ans = A.answer(spliced_index, question, k=3)
    texts = ["".join(q.text.split()) for q in ans.quotes]
    assert all(a not in b for i, a in enumerate(texts) for j, b in enumerate(texts) if i != j)
    assert sum(SPLICED[0] in t or t in SPLICED[0] for t in texts) == 1
    assert any(q.passage.text == SPLICED[2] for q in ans.quotes)  # the stand-in from further down


def test_pages_follow_on_without_repeats(spliced_index):
    question = "北宅街道樱桃节吸引了多少游客，采摘收入多少？"
    whole = A.answer(spliced_index, question, k=10)
    pages = [A.answer(spliced_index, question, k=1, offset=n) for n in range(len(whole.quotes) + 1)]
    assert [p.quotes[0].text for p in pages[:-1]] == [q.text for q in whole.quotes]
    assert [p.more for p in pages] == [True] * (len(whole.quotes) - 1) + [False, False]
    assert pages[-1].quotes == ()


def test_answer_k_and_long_question(index):
    ans = A.answer(index, "街道", k=2)
    assert 1 <= len(ans.quotes) <= 2
    long = A.answer(index, "樱桃" * 1000)
    assert len(long.question) == A.MAX_QUESTION_CHARS


# --------------------------------------------------------------------------- the quote

SENTENCES = [
    "崂山区地处青岛东部，山海资源丰富，历史文化底蕴深厚。",
    "北宅街道依托樱桃节发展乡村旅游。",
    "每年五月，大量游客前来采摘，带动村民增收致富。",
    "沙子口街道则建设渔港码头，完善冷链物流设施。",
    "王哥庄街道加强垃圾分类管理，居民参与率明显提高。",
    "金家岭街道打造金融聚集区，引进银行证券保险机构四十余家。",
    "中韩街道推进老旧小区改造，加装电梯一百余部，方便老人上下楼。",
    "沙子口街道还开通了社区食堂，为独居老人提供午餐和送餐服务。",
    "王哥庄街道建设茶园观光步道，春茶季节接待游客数万人次。",
]
LONG_PASSAGE = "".join(SENTENCES)  # longer than QUOTE_MAX_CHARS, so a quote is a part of it


@pytest.mark.parametrize("matched, sentence", [(("樱桃节",), 1), (("渔港", "冷链"), 3), (("金融",), 5)])
def test_choose_quote_holds_the_sentence_with_the_words(matched, sentence):
    assert len(LONG_PASSAGE) > A.QUOTE_MAX_CHARS
    quote = A.choose_quote(LONG_PASSAGE, matched)
    assert quote in LONG_PASSAGE
    assert SENTENCES[sentence] in quote
    assert A.QUOTE_MIN_CHARS <= len(quote) <= A.QUOTE_MAX_CHARS


def test_choose_quote_prefers_the_sentence_with_more_words():
    quote = A.choose_quote(LONG_PASSAGE, ("游客", "采摘", "渔港"))
    assert SENTENCES[2] in quote


def test_choose_quote_keeps_a_short_passage_whole():
    short = "北宅街道依托樱桃节发展乡村旅游。每年五月，大量游客前来采摘。"
    assert A.choose_quote(short, ("樱桃节",)) == short


def test_choose_quote_without_matched_words_is_the_passage():
    assert A.choose_quote(LONG_PASSAGE, ("火箭",)) == LONG_PASSAGE
    assert A.choose_quote(LONG_PASSAGE, ()) == LONG_PASSAGE


sentence_st = st.text(alphabet="樱桃节游客渔港冷链崂山区街道居民，、", min_size=1, max_size=40).map(
    lambda s: s + "。"
)


@settings(max_examples=150, deadline=None)
@given(st.lists(sentence_st, min_size=1, max_size=12), st.lists(st.sampled_from(["樱桃", "渔港", "街道", "冷链崂"]), max_size=3))
def test_choose_quote_is_a_substring_long_enough_with_a_word(sentences, matched):
    passage = "".join(sentences)
    quote = A.choose_quote(passage, tuple(matched))
    assert quote and quote in passage
    assert len(quote) >= min(A.QUOTE_MIN_CHARS, len(passage))
    if any(m in passage for m in matched):
        assert any(m in quote for m in matched)


# --------------------------------------------------------------------------- highlighting


@pytest.mark.parametrize(
    "text, terms, marked",
    [
        ("崂山区党员干部", ("党员",), ["党员"]),
        ("嶗山區黨員幹部", ("党员",), ["黨員"]),  # traditional text, simplified term
        ("ＧＤＰ增长７％", ("gdp", "7%"), ["ＧＤＰ", "７％"]),  # full-width text
        ("海产品销往全国", ("海产品", "销往"), ["海产品销往"]),  # adjacent marks merge
        ("樱桃节和樱桃", ("樱桃节", "樱桃"), ["樱桃节", "樱桃"]),  # overlapping terms
        ("面积１２０㎡以上", ("120m2",), ["１２０㎡"]),  # one char normalises to two
        ("没有要找的词", ("党员",), []),
    ],
)
def test_find_marks(text, terms, marked):
    spans = A.find_marks(text, terms)
    assert [text[a:b] for a, b in spans] == marked
    assert spans == sorted(spans)


def test_traditional_question_is_highlighted_in_simplified_text(index):
    ans = A.answer(index, "家庭醫生簽約服務")
    q = ans.quotes[0]
    (term,) = A.key_terms(q.hit)  # one word is marked: the most telling, in the passage's script
    assert term in "家庭医生签约服务" and len(term) >= 2
    assert [q.text[a:b] for a, b in q.marks] == [term]
    assert f"<b>{term}</b>" in A.answer_html(ans)


# --------------------------------------------------------------------------- rendering


def test_html_escapes_the_corpus(index):
    ans = A.answer(index, "冰雕节游客观赏")
    out = A.answer_html(ans)
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in out
    assert "a&lt;b 与 c&gt;d" in out
    assert "<b>冰雕" in out  # the question words are marked next to the escaped markup
    assert_escaped(out)
    assert_balanced(out)


def test_html_escapes_markup_in_the_question(index):
    ans = A.answer(index, "<script>冰雕节</script>游客观赏 <b>&")
    assert ans.answered
    out = A.answer_html(ans)
    assert "<script>" not in out and "script" not in OUR_TAGS.sub("", out).replace("&lt;", "")
    assert_escaped(out)
    assert_balanced(out)


def test_html_escapes_the_title_and_names_the_paragraph():
    out = A.answer_html(answer_of(make_hit(title="标<题>&", paragraph=7)))
    assert "— 《标&lt;题&gt;&amp;》第7段" in out
    assert_escaped(out)


def test_html_layout(index):
    ans = A.answer(index, "街道", k=3)  # several passages score alike: three numbered quotes
    assert len(ans.quotes) == 3 and ans.short is None
    out = A.answer_html(ans)
    blocks = out.split("\n\n")
    assert len(blocks) == len(ans.quotes)
    for n, (block, quote) in enumerate(zip(blocks, ans.quotes), start=1):
        source, body = block.split("\n")
        assert source == f"{n}. 《{quote.passage.title}》第{quote.passage.paragraph}段"  # numbered where it begins
        assert body.startswith("<blockquote>") and body.endswith("</blockquote>")
        assert "<b>街道</b>" in body
    assert_balanced(out)


def test_html_numbers_from_first_number(index):
    ans = A.answer(index, "街道", k=2)
    out = A.answer_html(ans, first_number=4)
    assert out.startswith("4. 《") and "\n\n5. 《" in out


def test_text_rendering(index):
    one = answer_of(make_hit(DISTRICT[CHERRY], paragraph=CHERRY + 1))
    assert A.answer_text(one) == f"「{DISTRICT[CHERRY]}」\n   — 《样例文档》第{CHERRY + 1}段"
    two = answer_of(make_hit(DISTRICT[CHERRY], paragraph=1), make_hit(DISTRICT[FISHING], paragraph=2))
    assert A.answer_text(two) == (
        f"1. 《样例文档》第1段\n「{DISTRICT[CHERRY]}」\n\n2. 《样例文档》第2段\n「{DISTRICT[FISHING]}」"
    )


HUGE = {
    "many-sentences": "北宅街道依托樱桃节发展乡村旅游，吸引大量游客前来采摘。" * 400,
    "one-endless-sentence": "樱桃节吸引游客采摘，" * 1000,
    "endless-without-marks": "北宅街道依托乡村旅游，吸引大量游人前来，" * 400,
    "long-sentences-with-markup": ("樱桃节<游客>&采摘，" * 60 + "。") * 10,
}


@pytest.mark.parametrize(
    "name",
    [
        "many-sentences",
        "endless-without-marks",
        "long-sentences-with-markup",
        "one-endless-sentence",
    ],
)
def test_html_of_a_huge_passage_fits_a_message(name):
    hit = make_hit(HUGE[name], matched=("樱桃节", "游客", "采摘"))
    out = A.answer_html(answer_of(hit, hit, hit))
    assert 0 < len(out) <= A.MAX_MESSAGE_CHARS
    assert_balanced(out)
    assert_escaped(out)
    assert out.count("<blockquote>") >= 1


def test_html_of_a_huge_passage_of_markup_characters_fits_a_message():
    hit = make_hit("&<>" * 5000, matched=("樱桃",))
    out = A.answer_html(answer_of(hit))
    assert len(out) <= A.MAX_MESSAGE_CHARS
    assert_balanced(out)


def test_html_drops_quotes_that_do_not_fit():
    text = "北宅街道依托樱桃节发展乡村旅游。" * 100  # 1,600 chars, quoted whole (no matched word)
    hits = [make_hit(text, matched=(), paragraph=n) for n in (1, 2, 3)]
    out = A.answer_html(answer_of(*hits))
    assert len(out) <= A.MAX_MESSAGE_CHARS
    assert out.count("<blockquote>") == 2  # the third would not fit
    assert out.startswith(f"1. 《样例文档》第1段\n<blockquote>{text}</blockquote>")
    assert f"\n\n2. 《样例文档》第2段\n<blockquote>{text}</blockquote>" in out


def test_json_record(index):
    ans = A.answer(index, "街道有哪些？", k=3)
    record = A.answer_json(ans)
    assert set(record) == {"question", "answered", "answer", "answer_confidence", "passages", "related"}
    assert record["related"] == []  # an answer has no "related" passage: its quotes are the answer
    assert record["question"] == "街道有哪些？" and record["answered"] is True
    assert 1 <= len(record["passages"]) <= 3
    for p, q in zip(record["passages"], ans.quotes):
        assert set(p) == {"doc", "title", "paragraph", "text", "quote", "score"}
        assert p["quote"] in p["text"]
        assert p["text"] == q.passage.text and p["doc"] == "sample" and p["title"] == "样例文档"
        assert isinstance(p["paragraph"], int) and isinstance(p["score"], float)
    scores = [p["score"] for p in record["passages"]]
    assert scores == sorted(scores, reverse=True)
    assert json.loads(json.dumps(record, ensure_ascii=False)) == record


def test_the_quote_is_the_sentence_with_the_kind_of_answer_asked_for():
    from bot.search.index import ANSWER_TYPES

    passage = (
        "张家湾片区的拆迁工作是近年来最艰巨的任务之一，涉及12个社区和大量流动人口。"
        "街道组建专门突击队，一对一上门讲解政策，做通群众工作，涌现出一批先进集体和先进个人，事迹被编成情景剧。"
        "干部们把现场当考场，把工地当阵地，把党支部建在一线、指挥部驻在一线、攻坚队压在一线，激励广大干部迎难而上。"
        "与此同时，街道还统筹推进回迁安置房建设、道路管网配套和公共服务设施规划，让居民早日住上新房、过上好日子。"
        "最终，张家湾的拆迁历时十四个月完成，居民签约率、房屋拆除率均为全市第一。"
    )
    weights = {"张家湾": 3.0, "片区": 2.0, "拆迁": 2.0, "工作": 0.5}
    without = A.choose_quote(passage, tuple(weights), weights)
    with_type = A.choose_quote(passage, tuple(weights), weights, (ANSWER_TYPES[0][1],))
    assert "十四个月" in with_type and with_type in passage
    assert len(with_type) <= A.QUOTE_MAX_CHARS and len(passage) > A.QUOTE_MAX_CHARS
    assert "十四个月" not in without  # without the answer type, the sentence with most words wins


# --------------------------------------------------------------------------- the short answer first


def _with_short(hit: Hit, span_text: str) -> A.Answer:
    start = hit.passage.text.index(span_text)
    span = reader.Span(span_text, start, start + len(span_text), 0.9, "quantity")
    return A.Answer("问题", (A.make_quote(hit, span),), (hit,), short=span)


def test_a_short_answer_is_the_first_line_and_the_only_mark_in_its_quote():
    hit = make_hit("区教育和体育局新建改扩建中小学幼儿园十二所，新增学位一万个。", matched=("学位", "新增"))
    ans = _with_short(hit, "一万个")
    quote = ans.quotes[0]
    assert [quote.text[a:b] for a, b in quote.marks] == ["一万个"]
    out = A.answer_html(ans)
    first, rest = out.split("\n\n", 1)
    assert first == "答：<b>一万个</b>"
    assert rest == f"<blockquote>{quote.text[: quote.marks[0][0]]}<b>一万个</b>。</blockquote>\n— 《样例文档》第3段"
    assert_balanced(out)
    assert A.answer_text(ans).startswith("答：一万个\n\n「")
    record = A.answer_json(ans)
    assert record["answer"] == "一万个" and record["answer_confidence"] == 0.9
    assert "一万个" in record["passages"][0]["quote"]


def test_a_short_answer_with_markup_is_escaped():
    hit = make_hit("项目代号为<A&B>，总投资3亿元。", matched=("项目",))
    out = A.answer_html(_with_short(hit, "<A&B>"))
    assert out.startswith("答：<b>&lt;A&amp;B&gt;</b>\n")
    assert_escaped(out)


def test_the_first_passage_alone_when_the_ranking_is_sure(index):
    ans = A.answer(index, "垃圾分类智能回收箱", k=3)
    assert A.ranking_is_sure(ans.candidates)
    assert len(ans.quotes) == 1
    out = A.answer_html(ans)
    assert out.count("<blockquote>") == 1 and not out.startswith("1.")  # no number on a lone quote
    assert len(out) <= A.MAX_MESSAGE_CHARS


def test_three_quotes_when_the_ranking_is_unsure(index):
    ans = A.answer(index, "街道", k=3)
    assert not A.ranking_is_sure(ans.candidates) and len(ans.quotes) == 3


def test_without_a_short_answer_one_key_word_is_marked(index):
    ans = A.answer(index, "渔港码头冷链物流", k=3)
    quote = ans.quotes[0]
    marked = {quote.text[a:b] for a, b in quote.marks}
    assert len(marked) == 1 and marked <= set(quote.hit.matched)
