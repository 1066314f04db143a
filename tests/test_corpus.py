"""Cleaning rules and the loader of bot/search/corpus.py, each on small made-up text.

The last group reads the real corpus in corpus/ to check what the rules promise about it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

try:  # before bot: puts the project root on sys.path
    from corpus_samples import ROOT, write_files
except ImportError:  # tests/ imported as a package
    from tests.corpus_samples import ROOT, write_files
from bot.search.corpus import (
    MAX_PASSAGE_CHARS,
    SPLIT_ABOVE_CHARS,
    CorpusError,
    Document,
    body_paragraphs,
    clean_document,
    clean_paragraphs,
    is_caption,
    is_floating,
    is_heading,
    load_documents,
    load_passages,
    make_passages,
    read_corpus,
    read_documents,
    split_blocks,
)

CORPUS = ROOT / "corpus"

# A paragraph whose first half holds a finished sentence and stops after a comma ...
CUT_HALF = "崂山区持续推进社区建设。近年来，不断完善服务设施，"
# ... and its continuation on the next page (longer than a floating line).
CONTINUATION = "让居民在家门口就能办成事，社区服务中心的工作人员每天为居民提供热情周到的服务。"

# Two ordinary paragraphs used as neighbours.
P_SERVICE = "近年来，崂山区持续推进社区建设，不断完善服务设施，让居民在家门口就能办成事，社区服务中心的工作人员每天为居民提供热情周到的服务。"
P_CHERRY = "北宅街道依托樱桃节发展乡村旅游，吸引大量游客前来采摘，带动村民增收致富，村集体经济收入逐年增长。"

# A paragraph of over 100 characters for the near-repeat rule.
P_LONG = (
    "沙子口街道围绕渔港码头建设，完善冷链物流设施，引导渔民成立合作社，统一收购、统一加工、统一销售，"
    "海产品通过电商平台销往全国各地，去年全街道渔业产值突破十亿元，渔民人均收入增长百分之十二，合作社成员年底还能拿到分红。"
)


def squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


# --------------------------------------------------------------------------- rejoining cut paragraphs


@pytest.mark.parametrize(
    "first, second",
    [
        ("近年来，崂山区持续推进社区建设，不断完善服务设施，", "让居民在家门口就能办成事。"),
        ("近年来，崂山区持续推进社区建设，不断完善服务设施、", "文化设施和体育设施。"),
        ("街道召开动员会；", "各社区随即行动起来，逐户走访摸排情况。"),
    ],
    ids=["comma", "enumeration-comma", "semicolon"],
)
def test_paragraph_cut_after_soft_punctuation_is_rejoined(first, second):
    assert clean_paragraphs([first, second, P_CHERRY]) == [first + second, P_CHERRY]


@pytest.mark.parametrize(
    "first, second",
    [
        ("民生是人民幸福之基、社会和谐之", "本。保障和改善民生，是做好一切工作的出发点。"),
        ("沿线经过中韩、金", "家岭、沙子口等街道，串起多个社区和商圈，方便居民出行。"),
    ],
    ids=["one-char-stub", "two-char-stub"],
)
def test_paragraph_cut_mid_word_is_rejoined_with_its_stub(first, second):
    assert clean_paragraphs([first, second]) == [first + second]


def test_prose_cut_mid_word_is_rejoined():
    first = "党建引领先从搭建组织架构入手。青"
    second = "岛国际创新园成立了园区综合党委，党委之下在每个楼宇建立党总支。"
    assert clean_paragraphs([first, second]) == [first + second]


def test_short_clause_list_is_not_glued_to_a_long_opening():
    heading = "党建引领、共建共享"
    paragraph = "崂山区持续推进社区建设，不断完善服务设施。"
    assert clean_paragraphs([heading, paragraph]) == [heading, paragraph]


@pytest.mark.parametrize(
    "between",
    [
        ["党建引领基层治理"],
        ["■ 社区服务中心一角"],
        ["党建引领基层治理", "■ 社区服务中心一角"],
        ["■ 社区服务中心一角", "□文/图 记者 王明"],
    ],
    ids=["heading", "caption", "heading+caption", "caption+credit"],
)
def test_floating_lines_between_the_halves_are_dropped(between):
    pars = [CUT_HALF, *between, CONTINUATION, P_CHERRY]
    out = clean_paragraphs(pars)
    assert out == [CUT_HALF + CONTINUATION, P_CHERRY]


def test_heading_between_halves_of_a_single_unfinished_sentence_is_dropped():
    first = "近年来，崂山区持续推进社区建设，不断完善服务设施，"
    out = clean_paragraphs([first, "党建引领基层治理", CONTINUATION])
    assert out == [first + CONTINUATION]


def test_heading_between_halves_is_dropped_when_the_continuation_is_short():
    short = "让居民在家门口就能办成事。"
    assert clean_paragraphs([CUT_HALF, "党建引领基层治理", short]) == [CUT_HALF + short]


def test_long_caption_between_halves_is_dropped():
    caption = "■“崂山区聚力山海年轻干部应急突击营”营员化身志愿者，为市民游客疏导交通。"
    assert 30 < len(caption) - 1 <= 50
    out = clean_paragraphs([CUT_HALF, caption, CONTINUATION])
    assert out == [CUT_HALF + CONTINUATION]


@pytest.mark.parametrize(
    "pars",
    [
        ["崂山区民政局： 创“党建+”示范点为民办实事", "在崂山，民政工作关系千家万户。民政局把党建示范点建在一线。"],
        [
            "坚持以高质量党建引领高质量发展，一以贯之抓基层打基础、转作风强能力",
            "崂山区：党建引领风帆劲 初心如磐奋楫行",
            "从昔日的小渔村成长为现代化新城，崂山区的发展指标领跑全市。",
        ],
        ["为群众幸福“加码”", "崂山区持续推进社区建设，不断完善服务设施。"],
        ["第一段写完了。", "第二段另起一行。"],
    ],
    ids=["headline", "deck-then-title", "headline-closing-quote", "finished-sentence"],
)
def test_headlines_decks_and_finished_paragraphs_are_not_joined(pars):
    assert clean_paragraphs(list(pars)) == pars


# --------------------------------------------------------------------------- repeats


def test_exact_repeat_is_dropped():
    assert clean_paragraphs([P_SERVICE, P_CHERRY, P_SERVICE]) == [P_SERVICE, P_CHERRY]


def test_repeat_with_different_spacing_is_dropped():
    spaced = P_SERVICE[:20] + "  " + P_SERVICE[20:]
    assert clean_paragraphs([P_SERVICE, P_CHERRY, spaced]) == [P_SERVICE, P_CHERRY]


@pytest.mark.parametrize(
    "variant",
    [
        P_LONG.replace("十亿元", "十一亿元"),  # one character more
        P_LONG.replace("合作社", "合作组"),  # one character changed
        P_LONG.replace("渔民成立", "渔户成立").replace("全国各地", "全国各省"),  # two changed
    ],
    ids=["one-inserted", "one-changed", "two-changed"],
)
def test_near_repeat_of_a_long_paragraph_is_dropped(variant):
    assert variant != P_LONG and len(P_LONG) >= 100
    assert clean_paragraphs([P_LONG, P_CHERRY, variant]) == [P_LONG, P_CHERRY]


def test_paragraphs_sharing_a_phrase_are_both_kept():
    a = "北宅街道依托樱桃节发展乡村旅游，吸引大量游客前来采摘，今年接待游客三十万人次。"
    b = "王哥庄街道依托茶叶节发展乡村旅游，吸引大量游客前来品茶，带动茶农户均增收两万元。"
    assert clean_paragraphs([a, b]) == [a, b]


@pytest.mark.parametrize("where", ["after", "before"])
def test_fragment_contained_in_a_longer_paragraph_is_dropped(where):
    fragment = "不断完善服务设施，让居民在家门口就能办成事"
    assert len(fragment) >= 20 and fragment in P_SERVICE
    pars = [P_SERVICE, fragment, P_CHERRY] if where == "after" else [fragment, P_SERVICE, P_CHERRY]
    assert clean_paragraphs(pars) == [P_SERVICE, P_CHERRY]


def test_short_heading_whose_words_recur_in_a_paragraph_is_kept():
    heading = "党建引领基层治理"
    paragraph = "崂山区坚持党建引领基层治理，不断完善服务设施，让居民在家门口就能办成事。"
    assert clean_paragraphs([heading, paragraph]) == [heading, paragraph]


def test_repeat_across_documents_is_dropped_with_shared_seen():
    seen: set[str] = set()
    first = clean_paragraphs([P_SERVICE, P_CHERRY], seen)
    other = "王哥庄街道加强垃圾分类管理，设置智能回收箱，居民参与率明显提高。"
    second = clean_paragraphs([other, P_SERVICE], seen)
    assert first == [P_SERVICE, P_CHERRY]
    assert second == [other]


def test_repeat_across_files_is_indexed_once(tmp_path):
    other = "王哥庄街道加强垃圾分类管理，设置智能回收箱，居民参与率明显提高。"
    write_files(tmp_path, {
        "a.md": f"# 甲文\n\n{P_SERVICE}\n\n{P_CHERRY}\n",
        "b.md": f"# 乙文\n\n{other}\n\n{P_SERVICE}\n",
    })
    _, passages = load_passages(tmp_path)
    holders = [p.doc for p in passages if p.text == P_SERVICE]
    assert holders == ["a"]
    assert [p.text for p in passages if p.doc == "b"] == [other]


# --------------------------------------------------------------------------- captions, credits, page furniture


@pytest.mark.parametrize(
    "line",
    [
        "■ 社区服务中心一角",
        "■俯瞰青岛国际创新园。",
        "□文/图 记者 王明",
        "□文/图 半岛全媒体首席记者 王明",
        "□青岛日报/观海新闻记者 王明",
        "责编 李华 刘东 美编 张三 审读 王五 排版 赵六",
        "责任编辑：李华",
        "王明 摄",
        "(胡声锐 梁太宏)",
        "（张三 李四）",
        "本报记者 王明 通讯员 李华",
        "PIN ZHI LAO SHAN",
    ],
)
def test_caption_credit_and_page_header_lines_are_dropped(line):
    assert clean_paragraphs([P_SERVICE, line, P_CHERRY]) == [P_SERVICE, P_CHERRY]
    assert clean_paragraphs([line, P_CHERRY]) == [P_CHERRY]
    assert clean_paragraphs([P_CHERRY, line]) == [P_CHERRY]


@pytest.mark.parametrize(
    "line",
    [
        "■市民王先生反映:家门口的道路年久失修,坑洼不平,雨天积水严重,出行很不方便,希望有关部门尽快维修,方便群众出行。",
        "记者从区民政局获悉，今年已发放救助金三百万元，惠及困难群众两千余人。",
        "崂山区 GDP 增长7%，增速居全市前列。",
    ],
    ids=["long-bullet-content", "sentence-mentioning-reporter", "latin-inside-chinese"],
)
def test_content_lines_that_look_like_furniture_are_kept(line):
    assert len(line) > 20
    assert clean_paragraphs([P_CHERRY, line]) == [P_CHERRY, line]


# --------------------------------------------------------------------------- headings and passages


def test_headings_stay_in_the_document_but_are_not_passages(tmp_path):
    write_files(tmp_path, {"doc.md": (
        "# 文章标题\n\n"
        "## 乡村振兴\n\n"
        f"{P_CHERRY}\n\n"
        "党建引领基层治理\n\n"
        f"{P_SERVICE}\n"
    )})
    docs, passages = load_passages(tmp_path)
    assert [p.text for p in passages] == [P_CHERRY, P_SERVICE]
    assert "乡村振兴" in docs[0].paragraphs and "党建引领基层治理" in docs[0].paragraphs
    # paragraphs are numbered among the quotable (body) paragraphs
    assert [p.paragraph for p in passages] == [1, 2]
    assert all(p.title == "文章标题" and p.part == 0 and p.context == p.text for p in passages)


SENTENCES = [f"崂山区第{n}项重点工作稳步推进，各街道按照部署扎实开展，群众满意度持续提升。" for n in range(1, 16)]
_FITS_ONE = MAX_PASSAGE_CHARS // len(SENTENCES[0]) + 1  # sentences just over one passage


def test_long_paragraph_is_split_at_sentence_ends():
    paragraph = "".join(SENTENCES)
    assert len(paragraph) > SPLIT_ABOVE_CHARS
    doc = Document("d1", "测试文档", ("一段短话，说明来意。", paragraph), "x.md")
    passages = make_passages(doc, body_paragraphs(clean_paragraphs(list(doc.paragraphs))))
    head, parts = passages[0], passages[1:]
    assert (head.paragraph, head.part, head.text) == (1, 0, "一段短话，说明来意。")
    assert len(parts) >= 2
    assert [p.part for p in parts] == list(range(1, len(parts) + 1))
    assert "".join(p.text for p in parts) == paragraph
    for p in parts:
        assert (p.doc, p.title, p.paragraph, p.context) == ("d1", "测试文档", 2, paragraph)
        assert len(p.text) <= MAX_PASSAGE_CHARS
        assert p.text.endswith("。") and p.text in paragraph
        assert p.text.startswith("崂山区第")  # starts at a sentence start


def test_paragraph_up_to_the_split_length_stays_whole():
    paragraph = "".join(SENTENCES[:_FITS_ONE])
    assert MAX_PASSAGE_CHARS < len(paragraph) <= SPLIT_ABOVE_CHARS
    doc = Document("d1", "测试文档", (paragraph,), "x.md")
    (p,) = make_passages(doc, [paragraph])
    assert (p.text, p.part, p.paragraph, p.context) == (paragraph, 0, 1, paragraph)


def test_split_blocks_joins_wrapped_lines():
    text = "第一行中文\n接着写完。\n\nLaoshan\ndistrict news\n\n\n\n第三段。"
    assert split_blocks(text) == ["第一行中文接着写完。", "Laoshan district news", "第三段。"]


# --------------------------------------------------------------------------- loader


def test_txt_first_line_is_the_title(tmp_path):
    write_files(tmp_path, {"notes.txt": f"灯塔岛纪事\n\n{P_CHERRY}\n\n{P_SERVICE}\n"})
    (doc,) = load_documents(tmp_path / "notes.txt")
    assert (doc.id, doc.title, doc.paragraphs) == ("notes", "灯塔岛纪事", (P_CHERRY, P_SERVICE))


def test_md_first_heading_is_the_title(tmp_path):
    write_files(tmp_path, {"story.md": f"# 灯塔岛纪事\n\n{P_CHERRY}\n\n## 第二部分\n\n{P_SERVICE}\n"})
    (doc,) = load_documents(tmp_path / "story.md")
    assert doc.title == "灯塔岛纪事"
    assert doc.paragraphs == (P_CHERRY, "第二部分", P_SERVICE)


def test_jsonl_records_are_documents(tmp_path):
    lines = [
        {"id": "r1", "title": "第一篇", "text": f"{P_CHERRY}\n\n{P_SERVICE}"},
        {"id": 2, "title": "第二篇", "text": P_LONG},
    ]
    write_files(tmp_path, {"docs.jsonl": "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\n"})
    docs = load_documents(tmp_path / "docs.jsonl")
    assert [(d.id, d.title, d.paragraphs) for d in docs] == [
        ("r1", "第一篇", (P_CHERRY, P_SERVICE)),
        ("2", "第二篇", (P_LONG,)),
    ]


def test_directory_mixing_formats(tmp_path):
    write_files(tmp_path, {
        "a.txt": f"甲文\n\n{P_CHERRY}\n",
        "b.md": f"# 乙文\n\n{P_SERVICE}\n",
        "sub/c.jsonl": json.dumps({"id": "c1", "title": "丙文", "text": P_LONG}, ensure_ascii=False) + "\n",
        "README.md": "# Corpus\n\nnot a document\n",
        "notes.csv": "a,b\n",
        ".hidden.md": "# 隐藏\n\n不该读到。\n",
    })
    docs, passages = load_passages(tmp_path)
    assert sorted((d.id, d.title) for d in docs) == [("a", "甲文"), ("b", "乙文"), ("c1", "丙文")]
    assert sorted(p.text for p in passages) == sorted([P_CHERRY, P_SERVICE, P_LONG])


def test_single_file_path(tmp_path):
    write_files(tmp_path, {"a.txt": f"甲文\n\n{P_CHERRY}\n", "b.txt": f"乙文\n\n{P_SERVICE}\n"})
    docs, passages = load_passages(tmp_path / "b.txt")
    assert [d.id for d in docs] == ["b"]
    assert [p.text for p in passages] == [P_SERVICE]


def _corpus_error(path) -> str:
    with pytest.raises(CorpusError) as info:
        load_passages(path)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("bad.md", b"# \xe5\xb4\x82\n\n\xff\xfe broken", "not text in UTF-8, GB18030/GBK or Big5"),
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"\n   \n\n", "empty file"),
        ("empty.jsonl", b"\n\n", "empty file"),
        ("binary.txt", b"\x00\x01\x02 not text", "binary data, not text"),
        ("fake.pdf", "这不是 PDF。".encode(), "named as a PDF but the content is text"),
        ("zip.docx", b"PK\x03\x04 broken zip", "named as a Word file but the content is binary data"),
        ("old.doc", b"\xd0\xcf\x11\xe0 old word", "old Word .doc format (save it as .docx)"),
        ("notes.csv", b"a,b\n", "spreadsheet"),
        ("photo.jpg", b"\xff\xd8\xff", "image"),
        ("data.bin", b"\x00", "unsupported file type (.bin)"),
        ("Makefile", b"all:\n", "unsupported file type (no extension)"),
    ],
    ids=lambda v: v if (isinstance(v, str) and "." in v) or v == "Makefile" else "",
)
def test_a_file_that_cannot_be_read_is_skipped_with_its_reason(tmp_path, name, content, reason, caplog):
    write_files(tmp_path, {"good.txt": f"好文\n\n{P_CHERRY}\n", name: content})
    corpus = read_corpus(tmp_path)
    assert [d.id for d in corpus.documents] == ["good"]
    assert [(Path(s.path).name, s.reason) for s in corpus.skipped] == [(name, reason)]
    assert corpus.summary() == "1 document (1 text), 1 passage, 1 file skipped"


def test_gbk_and_big5_text_are_read_and_the_encoding_is_logged(tmp_path, caplog):
    gbk = f"好文\n\n{P_CHERRY}\n"
    big5 = "臺灣文件\n\n這是一段繁體中文的正文，講述嶗山的茶園與漁村。\n"
    write_files(tmp_path, {"gbk.txt": gbk.encode("gbk"), "big5.txt": big5.encode("big5")})
    with caplog.at_level("INFO", logger="bot.search.corpus"):
        docs, skipped = read_documents(tmp_path)
    assert not skipped
    assert [(d.title, d.paragraphs) for d in docs] == [
        ("臺灣文件", ("這是一段繁體中文的正文，講述嶗山的茶園與漁村。",)), ("好文", (P_CHERRY,)),
    ]
    logged = [r.getMessage() for r in caplog.records]
    assert any("big5.txt" in m and "Big5" in m for m in logged)
    assert any("gbk.txt" in m and "GB18030" in m for m in logged)


def test_a_bad_jsonl_record_is_left_out_and_named_with_its_line(tmp_path):
    records = [
        json.dumps({"id": "a", "title": "甲", "text": P_CHERRY}, ensure_ascii=False), "{not json",
        json.dumps({"id": "b", "title": "乙"}, ensure_ascii=False),
        json.dumps({"id": "c", "title": "丙", "text": "   "}, ensure_ascii=False),
        json.dumps(["d", "丁", P_SERVICE], ensure_ascii=False),
        json.dumps({"id": "a", "title": "重复", "text": P_LONG}, ensure_ascii=False),
        json.dumps({"id": "e", "title": "戊", "text": P_SERVICE}, ensure_ascii=False),
    ]
    write_files(tmp_path, {"docs.jsonl": "\n".join(records) + "\n"})
    docs, skipped = read_documents(tmp_path / "docs.jsonl")
    assert [d.id for d in docs] == ["a", "e"]
    assert [(s.path.rsplit(":", 1)[1], s.reason) for s in skipped] == [
        ("2", "malformed JSON (Expecting property name enclosed in double quotes)"),
        ("3", "record lacks text"),
        ("4", "record has empty text"),
        ("5", "a record must be an object with id, title, text"),
        ("6", f"document id 'a' already used by {tmp_path / 'docs.jsonl'}:1"),
    ]


def test_a_duplicate_id_across_files_skips_the_later_file(tmp_path):
    write_files(tmp_path, {
        "a.md": f"# 甲文\n\n{P_CHERRY}\n",
        "z.jsonl": json.dumps({"id": "a", "title": "重名", "text": P_SERVICE}, ensure_ascii=False) + "\n",
    })
    corpus = read_corpus(tmp_path)
    assert [d.title for d in corpus.documents] == ["甲文"]
    assert [(s.path, s.reason) for s in corpus.skipped] == [
        (f"{tmp_path / 'z.jsonl'}:1", f"document id 'a' already used by {tmp_path / 'a.md'}")
    ]


@pytest.mark.parametrize(
    "files",
    [{}, {"README.md": "# 说明\n\n不是文档。\n", "data.csv": "a,b\n"}, {"a.pdf": b"%PDF-1.4 broken", "b.txt": b""}],
    ids=["empty-dir", "only-non-documents", "only-unreadable"],
)
def test_a_corpus_where_nothing_can_be_read_stops_with_one_line(tmp_path, files):
    corpus = write_files(tmp_path / "mycorpus", files)
    message = _corpus_error(corpus)
    assert "mycorpus" in message and "no document could be read" in message
    for name in files:
        if name != "README.md":
            assert name in message


def test_missing_path_is_named(tmp_path):
    assert "no-such-corpus" in _corpus_error(tmp_path / "no-such-corpus")


def test_unsupported_single_file_is_named(tmp_path):
    write_files(tmp_path, {"table.csv": "a,b\n"})
    assert "table.csv" in _corpus_error(tmp_path / "table.csv")


def test_read_corpus_with_files_read_apart_equals_one_pass(tmp_path):
    """Files cleaned on their own (as the cache keeps them) give the one-pass result, repeats
    across files and a clashing id included."""
    shared = "崂山区举办第十届茶文化节，来自全国各地的茶商和游客齐聚一堂，品茶论道。"
    write_files(tmp_path, {
        "a.md": f"# 甲文\n\n{P_CHERRY}\n\n{shared}\n",
        "b.md": f"# 乙文\n\n{shared}\n\n{P_SERVICE}\n",  # the shared paragraph again: dropped here
        "c.jsonl": json.dumps({"id": "a", "title": "重名", "text": P_LONG}, ensure_ascii=False) + "\n"
        + json.dumps({"id": "c", "title": "丙文", "text": f"{P_LONG}\n\n{shared}"}, ensure_ascii=False) + "\n",
    })
    docs, _ = read_documents(tmp_path)
    seen: set[str] = set()
    one_pass = [clean_document(d, seen) for d in docs]
    corpus = read_corpus(tmp_path)
    assert corpus.documents == one_pass
    assert [d.paragraphs for d in corpus.documents] == [(P_CHERRY, shared), (P_SERVICE,), (P_LONG,)]


def test_document_of_headings_only_has_no_passages(tmp_path):
    write_files(tmp_path, {"only-heads.md": "# 标题\n\n## 小标题\n\n另一个小标题\n"})
    assert tmp_path.name in _corpus_error(tmp_path)


# --------------------------------------------------------------------------- the real corpus


@pytest.fixture(scope="module")
def real_corpus():
    return load_passages(CORPUS)


def _stitch(context: str, blocks: list[str]) -> list[str] | None:
    """The source blocks a cleaned paragraph was made of, if it is a run of consecutive blocks
    with only floating lines (headings, captions) left out between them; None otherwise."""
    target = squash(context)
    squashed = [squash(b) for b in blocks]
    for i, first in enumerate(squashed):
        if not first or not target.startswith(first):
            continue
        pos, k, skipped, run = len(first), i + 1, [], 0
        while pos < len(target) and k < len(blocks):
            if squashed[k] and target.startswith(squashed[k], pos):
                pos, run = pos + len(squashed[k]), 0
            elif (is_floating(blocks[k]) or is_caption(blocks[k]) or is_heading(blocks[k])) and run < 2:
                skipped.append(blocks[k])
                run += 1
            else:
                break
            k += 1
        if pos == len(target):
            return skipped
    return None


def test_every_passage_is_quoted_word_for_word_from_its_file(real_corpus):
    """The quote invariant: a passage is a run of its file's text (whitespace aside). The one
    exception is the rejoin rule: a short heading or caption that interrupted a cut paragraph
    is left out, so the paragraph may skip such floating lines, and nothing else."""
    docs, passages = real_corpus
    assert len(passages) > 100
    sources, blocks = {}, {}
    for d in docs:
        text = Path(d.source).read_text(encoding="utf-8-sig")
        sources[d.id] = squash(text)
        blocks[d.id] = split_blocks(text)
    stitched = []
    for p in passages:
        text = squash(p.text)
        assert text and text in squash(p.context), p.key
        if text in sources[p.doc]:
            continue
        skipped = _stitch(p.context, blocks[p.doc])
        assert skipped, f"{p.key} is not word for word from {p.doc}: {p.text[:60]}"
        stitched.append((p.key, skipped))
    # only a handful of paragraphs in the seed files were cut around a heading or caption
    assert len(stitched) <= 5, stitched


def test_passage_context_holds_the_passage(real_corpus):
    _, passages = real_corpus
    for p in passages:
        assert p.text in p.context, p.key
        if p.part == 0:
            assert p.text == p.context


REAL_CREDITS = [
    "(胡声锐 梁太宏)",
    "□文/图 半岛全媒体首席记者 崔璇",
    "□文/图 半岛全媒体首席记者 李晓哲",
    "责编 王杰 刘宗伟 美编 李晓萌 审读 王忠良 排版 吕雪",
    "邢志峰 摄",
    "□青岛日报/观海新闻记者 衣涛",
    "PIN ZHI LAO SHAN",
]


def test_real_corpus_credit_lines_are_gone(real_corpus):
    raw = "".join(squash(p.read_text(encoding="utf-8")) for p in CORPUS.glob("*.md"))
    passages = [squash(p.text) for p in real_corpus[1]]
    for credit in REAL_CREDITS:
        assert squash(credit) in raw, credit  # the line is in the files ...
        assert not any(squash(credit) in p for p in passages), credit  # ... and in no passage


def test_real_corpus_has_no_short_caption_passages(real_corpus):
    _, passages = real_corpus
    assert not [p.key for p in passages if p.text.startswith("■") and len(p.text) < 50]
    # the long ■ lines that are readers' letters are kept
    assert any(p.text.startswith("■市民王先生反映") for p in passages)


def test_real_corpus_has_no_caption_inside_a_passage(real_corpus):
    _, passages = real_corpus
    inside = [p.key for p in passages if re.search(r".[■□]", p.text)]
    assert inside == []
