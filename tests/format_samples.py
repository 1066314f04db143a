"""One made-up document in every format the bot reads, made here at test time: the same facts as
Markdown, GBK and Big5 text, a PDF (reportlab: a CJK font, page headers, page numbers and a
paragraph cut by a page break), a Word file (python-docx) and a web page with menus around it.

``PARAGRAPHS`` is the text each format must yield, word for word.
"""

from __future__ import annotations

import io

import corpus_samples  # noqa: F401  (puts the project root on sys.path)

TITLE = "青山湾海洋牧场建设纪实"
SECTION = "基本情况"
PARAGRAPHS = (
    "青山湾海洋牧场位于崂山区王哥庄街道东侧海域，规划面积一万二千亩，是全区第一个国家级海洋牧场示范区。",
    "牧场共投放人工鱼礁三千六百个，礁体之间种植海带和裙带菜，为鱼类提供产卵和栖息场所。",
    "2023年，牧场放流许氏平鲉、褐牙鲆等苗种八百万尾，带动周边渔民人均增收两万四千元，"
    "全年接待研学团队一百二十批次，成为远近闻名的“海上粮仓”。",
    "牧场建有海上观测平台一座，可实时监测水温、盐度和溶解氧，数据每十分钟上传一次。",
    "牧场管理中心与中国海洋大学合作设立科研工作站，每年开展增殖放流效果评估。",
    "游客可在每年五月至十月乘船参观牧场，体验海钓和渔家生活，参观需提前三天预约。",
)
# question -> the paragraph that answers it
QUESTIONS = {
    "青山湾海洋牧场投放了多少个人工鱼礁？": 1,
    "牧场放流了多少苗种？": 2,
    "观测平台多久上传一次数据？": 3,
    "牧场和哪所大学合作？": 4,
    "游客什么时候可以参观牧场？": 5,
}
HEADER = "青山湾海洋牧场（内部资料）"


def markdown() -> str:
    body = "\n\n".join(PARAGRAPHS[:2]) + f"\n\n## {SECTION}\n\n" + "\n\n".join(PARAGRAPHS[2:])
    return f"# {TITLE}\n\n{body}\n"


def gbk_text() -> bytes:
    return markdown().encode("gbk")


def traditional_markdown() -> str:
    """The document in traditional script, less the paragraph naming a fish Big5 has no character for (鲉)."""
    import opencc

    text = f"# {TITLE}\n\n" + "\n\n".join(p for i, p in enumerate(PARAGRAPHS) if i != 2) + "\n"
    return opencc.OpenCC("s2tw").convert(text)


def big5_text() -> bytes:
    return traditional_markdown().encode("big5")


def html_page() -> bytes:
    paragraphs = "\n".join(f"<p>{p}</p>" for p in PARAGRAPHS[:2])
    rest = "\n".join(f"<p>{p}</p>" for p in PARAGRAPHS[2:])
    page = f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="gbk"><title>{TITLE}_崂山新闻网</title>
<script>var tracker = "统计代码，不是正文";</script><style>body {{ color: #333 }}</style></head>
<body>
<nav><ul><li><a href="/">首页</a></li><li><a href="/news">要闻</a></li><li><a href="/gov">政务公开</a></li>
<li><a href="/service">便民服务</a></li></ul></nav>
<div class="sidebar"><h3>热点推荐</h3><ul><li><a href="/a">崂山茶文化节开幕</a></li>
<li><a href="/b">北宅樱桃节游客突破十万</a></li></ul></div>
<article>
<h1>{TITLE}</h1>
{paragraphs}
<h2>{SECTION}</h2>
{rest}
</article>
<footer><p>版权所有：崂山区融媒体中心 备案号：鲁ICP备00000000号 联系电话：0532-88888888</p></footer>
</body></html>
"""
    return page.encode("gbk")


def _wrap(text: str, width: float, first_indent: float, font: str, size: float) -> list[tuple[float, str]]:
    """Lines of at most ``width`` points (the first indented), as (indent, text)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines: list[tuple[float, str]] = []
    cur, indent = "", first_indent
    for ch in text:
        if cur and stringWidth(cur + ch, font, size) > width - indent:
            lines.append((indent, cur))
            cur, indent = "", 0.0
        cur += ch
    if cur:
        lines.append((indent, cur))
    return lines


def pdf(*, lines_per_page: int = 6, encrypt: str | None = None) -> bytes:
    """The document as a PDF: title, then paragraphs with a first-line indent, a running header
    and "第 n 页" on every page; a paragraph runs over each page break."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    font, size, leading = "STSong-Light", 12, 20
    pdfmetrics.registerFont(UnicodeCIDFont(font))
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4, encrypt=encrypt, invariant=1)
    c.setTitle(TITLE)
    page_w, page_h = A4
    left, right = 72, page_w - 72
    blocks: list[tuple[str, str]] = [("p", p) for p in PARAGRAPHS[:2]] + [("h", SECTION)]
    blocks += [("p", p) for p in PARAGRAPHS[2:]]
    lines: list[tuple[float, str, int]] = []  # (indent, text, font size)
    for kind, text in blocks:
        if kind == "h":
            lines.append((0.0, text, 14))
        else:
            lines += [(i, t, size) for i, t in _wrap(text, right - left, 2 * size, font, size)]
    page = 0

    def new_page() -> float:
        nonlocal page
        page += 1
        c.setFont(font, 9)
        c.drawString(left, page_h - 40, HEADER)
        c.drawCentredString(page_w / 2, 36, f"第 {page} 页")
        if page == 1:
            c.setFont(font, 18)
            c.drawCentredString(page_w / 2, page_h - 90, TITLE)
            return page_h - 140
        return page_h - 90

    y = new_page()
    on_page = 0
    for indent, text, fsize in lines:
        if on_page == lines_per_page:
            c.showPage()
            y, on_page = new_page(), 0
        c.setFont(font, fsize)
        c.drawString(left + indent, y, text)
        y -= leading
        on_page += 1
    c.showPage()
    c.save()
    return out.getvalue()


def encrypted_pdf() -> bytes:
    from reportlab.lib.pdfencrypt import StandardEncryption

    return pdf(encrypt=StandardEncryption("secret", canPrint=0))


def scanned_pdf() -> bytes:
    """A PDF of two pages of pictures only (what a scanner makes): no text layer."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4, invariant=1)
    for _ in range(2):
        for row in range(30):
            c.rect(72, 760 - row * 22, 450 - (row % 4) * 40, 10, fill=1)
        c.showPage()
    c.save()
    return out.getvalue()


def docx(*, table: bool = False) -> bytes:
    """The document as Word: the title in the Title style, a Heading 2, body paragraphs, and
    (``table``) a table after them."""
    import docx as python_docx

    d = python_docx.Document()
    d.core_properties.title = TITLE
    d.add_heading(TITLE, 0)
    for p in PARAGRAPHS[:2]:
        d.add_paragraph(p)
    d.add_heading(SECTION, 2)
    for p in PARAGRAPHS[2:]:
        d.add_paragraph(p)
    if table:
        t = d.add_table(rows=3, cols=3)
        for r, row in enumerate([("设施", "数量", "建成年份"), ("人工鱼礁", "3600个", "2021年"),
                                 ("观测平台", "1座", "2022年")]):
            for col, value in enumerate(row):
                t.cell(r, col).text = value
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()
