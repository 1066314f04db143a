"""Reading PDF, Word, web pages and GBK/Big5 text (bot/search/formats.py): one document made in
every format (tests/format_samples.py) yields the same paragraphs and answers the same questions
with the same quotes, word for word."""

from __future__ import annotations

import io

import format_samples as fs
import pytest
from corpus_samples import write_files

from bot.answering import answer as answering
from bot.search import formats
from bot.search.cache import load_or_build
from bot.search.corpus import documents_from_bytes, read_corpus

MAKERS = {
    "pdf": (fs.pdf, "sample.pdf"),
    "docx": (fs.docx, "sample.docx"),
    "html": (fs.html_page, "sample.html"),
    "gbk": (fs.gbk_text, "sample.md"),
    "utf8": (lambda: fs.markdown().encode(), "sample.md"),
}


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return {name: make() for name, (make, _) in MAKERS.items()}


def _document(name: str, data: bytes):
    kind = formats.KIND_BY_SUFFIX["." + MAKERS[name][1].rsplit(".", 1)[1]]
    (doc,), _ = documents_from_bytes("sample", data, kind, MAKERS[name][1])
    return doc


@pytest.mark.parametrize("name", list(MAKERS))
def test_every_format_yields_the_same_title_and_paragraphs(files, name):
    doc = _document(name, files[name])
    assert doc.title == fs.TITLE
    assert doc.paragraphs == fs.PARAGRAPHS[:2] + (fs.SECTION,) + fs.PARAGRAPHS[2:]


def test_the_pdf_has_what_a_layout_adds_and_none_of_it_is_read(files):
    """Running headers, page numbers and a paragraph across a page break are in the PDF..."""
    from pdfminer.high_level import extract_text

    pages = extract_text(io.BytesIO(files["pdf"])).split("\f")
    pages = [p for p in pages if p.strip()]
    assert len(pages) >= 2
    assert all(fs.HEADER in p and f"第 {n} 页" in p for n, p in enumerate(pages, start=1))
    cut = next(p for p in fs.PARAGRAPHS if p[:12] in pages[0] and p[-12:] in pages[1])
    # ... and the reader drops the furniture and rejoins the cut paragraph.
    doc = _document("pdf", files["pdf"])
    assert cut in doc.paragraphs
    assert not any(fs.HEADER in p or "页" in p for p in doc.paragraphs)


def test_gbk_and_big5_are_decoded_and_named():
    text, encoding = formats.decode_text(fs.gbk_text())
    assert (text, encoding) == (fs.markdown(), "GB18030")
    text, encoding = formats.decode_text(fs.big5_text())
    assert (text, encoding) == (fs.traditional_markdown(), "Big5")
    assert formats.decode_text("崂山".encode()) == ("崂山", "UTF-8")
    assert formats.decode_text("\ufeff崂山".encode()) == ("崂山", "UTF-8")
    assert formats.decode_text("崂山".encode("utf-16")) == ("崂山", "UTF-16")


def test_the_web_page_loses_its_menus_scripts_and_footer(files):
    doc = _document("html", files["html"])
    text = "".join(doc.paragraphs)
    for furniture in ("首页", "政务公开", "统计代码", "热点推荐", "版权所有", "color"):
        assert furniture not in text


def test_word_tables_become_rows_of_text():
    doc = _document("docx", fs.docx(table=True))
    assert doc.paragraphs[-3:] == (
        "设施，数量，建成年份",
        "设施：人工鱼礁，数量：3600个，建成年份：2021年",
        "设施：观测平台，数量：1座，建成年份：2022年",
    )


@pytest.mark.parametrize(
    "make, reason",
    [
        (fs.encrypted_pdf, "encrypted PDF (it needs a password)"),
        (fs.scanned_pdf, "no text layer (2 page(s) of images: a scan? OCR is not supported)"),
        (lambda: fs.pdf()[:300], "damaged PDF"),
    ],
    ids=["encrypted", "scan", "truncated"],
)
def test_a_pdf_without_text_to_read_says_why(make, reason):
    with pytest.raises(formats.Unreadable) as info:
        formats.read(make(), formats.PDF)
    assert str(info.value).startswith(reason)


def test_sniff_tells_the_kind_from_the_bytes(files):
    assert formats.sniff(files["pdf"]) == formats.PDF
    assert formats.sniff(files["docx"]) == formats.WORD
    assert formats.sniff(files["html"]) == formats.HTML
    assert formats.sniff(files["gbk"]) == formats.TEXT
    assert formats.sniff(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") == "ole"
    assert formats.sniff(b"\x89PNG\r\n\x1a\n\x00\x00") == "binary"


def test_a_corpus_of_every_format_answers_the_same_questions_with_the_same_quotes(tmp_path, files):
    """One corpus per format; each answers every question from the same paragraph, quoting it
    word for word. A mixed corpus reports each kind in its summary."""
    answers = {}
    for name, data in files.items():
        corpus = write_files(tmp_path / name, {MAKERS[name][1]: data})
        index = load_or_build(corpus, None)
        for question, n in fs.QUESTIONS.items():
            ans = answering.answer(index, question, k=1)
            assert ans.answered, (name, question)
            (quote,) = ans.quotes
            assert quote.passage.text == fs.PARAGRAPHS[n], (name, question)
            assert quote.text in fs.PARAGRAPHS[n]
            answers[name, question] = quote.text
    for question in fs.QUESTIONS:
        assert len({answers[name, question] for name in files}) == 1, question


def test_the_summary_counts_each_kind_and_the_files_skipped(tmp_path, files):
    write_files(tmp_path, {
        "a.pdf": files["pdf"], "b.docx": fs.docx(table=True), "c.html": files["html"],
        "d.md": "# 灯塔岛\n\n灯塔岛志愿服务队成立于2019年，现有队员八十六名。\n",
        "e.pdf": fs.scanned_pdf(), "f.xlsx": b"PK\x03\x04",
    })
    corpus = read_corpus(tmp_path)
    assert corpus.summary() == f"4 documents (1 PDF, 1 Word, 1 HTML, 1 text), {len(corpus.passages)} passages, 2 files skipped"
    assert sorted(s.path.rsplit("/", 1)[1] for s in corpus.skipped) == ["e.pdf", "f.xlsx"]
