"""Read a file's bytes into a title and paragraphs: PDF, Word (.docx), web pages, text in any Chinese encoding.

Each format is read by a library made for it; what is done here is what a layout means:
- PDF (pdfminer.six): its layout analysis gives the text lines in reading order with their
  positions, from which page headers, footers and page numbers are dropped (lines near the page
  edge that are page numbers, or that repeat on most pages) and paragraphs are rebuilt (a Chinese
  paragraph starts on an indented line; a line that stops short of the margin ends one; one that
  runs to the foot of a page carries on at the top of the next).
- Word (python-docx): the body's paragraphs and tables in order; headings stay paragraphs of
  their own, a table row becomes one line of text.
- Web pages (trafilatura): the article's text only, without menus, footers and scripts.
- Text: UTF-8, else GB18030 (which covers GBK and GB2312) or Big5, as charset-normalizer judges.

A file that holds nothing to index raises ``Unreadable`` with the reason in a few words. The
corpus' own cleaning rules (``bot/search/corpus.py``) then apply to every format alike.
"""

from __future__ import annotations

import io
import logging
import re
import statistics
import zipfile
from collections import Counter
from dataclasses import dataclass

log = logging.getLogger(__name__)

# Kinds, as the start-up summary names them.
PDF, WORD, HTML, TEXT, JSONL = "PDF", "Word", "HTML", "text", "JSONL"
KIND_BY_SUFFIX = {
    ".pdf": PDF, ".docx": WORD, ".html": HTML, ".htm": HTML, ".txt": TEXT, ".md": TEXT, ".jsonl": JSONL,
}
SUFFIX_BY_KIND = {PDF: ".pdf", WORD: ".docx", HTML: ".html", TEXT: ".txt", JSONL: ".jsonl"}
# Formats people have that are not read: the reason says what to do instead.
NOT_READ = {
    ".doc": "old Word .doc format (save it as .docx)",
    ".wps": "WPS format (save it as .docx)",
    ".xls": "spreadsheet", ".xlsx": "spreadsheet", ".csv": "spreadsheet",
    ".ppt": "slides", ".pptx": "slides",
    ".jpg": "image", ".jpeg": "image", ".png": "image", ".gif": "image",
}

TITLE_MAX_CHARS = 60
_SENTENCE_END = re.compile(r"[。！？!?…]")


class Unreadable(Exception):
    """A file with nothing to index; the message is the reason, a few words long."""


@dataclass(frozen=True)
class Extracted:
    """What a file says: its title (when the format names one) and paragraphs, in order.

    A paragraph may hold several lines (``\\n``): the corpus joins them as it does wrapped text.
    """

    kind: str
    title: str | None
    paragraphs: tuple[str, ...]
    encoding: str | None = None  # text formats: the encoding the bytes were read in


# --------------------------------------------------------------------------- what a file is


def sniff(data: bytes) -> str:
    """The kind of content, from the bytes alone: PDF, Word, HTML, text, or "binary"."""
    head = data[:1024]
    if head.lstrip(b"\x00\t\n\r ").startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                return WORD if "word/document.xml" in z.namelist() else "zip"
        except zipfile.BadZipFile:
            return "binary"
    if data.startswith(b"\xd0\xcf\x11\xe0"):  # OLE: old .doc/.xls, or an encrypted .docx
        return "ole"
    try:
        text, _ = decode_text(data[:65536], partial=True)
    except Unreadable:
        return "binary"
    if re.search(r"<(!doctype\s+html|html|head|body|article|p|div)\b", text[:4096], re.IGNORECASE):
        return HTML
    return TEXT


def describe(kind: str) -> str:
    """A kind for a message: 'a PDF', 'a Word file', ..."""
    return {
        PDF: "a PDF", WORD: "a Word file", HTML: "a web page", TEXT: "text", "zip": "a ZIP archive",
        "ole": "an old-format or encrypted Office file", "binary": "binary data",
    }.get(kind, kind)


def read(data: bytes, kind: str) -> Extracted:
    """The title and paragraphs of a file of that kind (not JSONL: records are the corpus' business)."""
    if not data.strip():
        raise Unreadable("empty file")
    if kind == PDF:
        return read_pdf(data)
    if kind == WORD:
        return read_docx(data)
    if kind == HTML:
        return read_html(data)
    if kind == TEXT:
        text, encoding = decode_text(data)
        return Extracted(TEXT, None, (text,), encoding)
    raise ValueError(f"no reader for {kind}")


# --------------------------------------------------------------------------- text


def decode_text(data: bytes, *, partial: bool = False) -> tuple[str, str]:
    """(text, encoding): UTF-8 (with or without BOM), UTF-16 with a BOM, else GB18030 or Big5.

    ``partial``: the bytes may end inside a character (a sample of a longer file).
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            raise Unreadable("not valid UTF-16 text") from None
    if b"\x00" in data:
        raise Unreadable("binary data, not text")
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError as exc:
        if partial and exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            return data[: exc.start].decode("utf-8-sig"), "UTF-8"
    import charset_normalizer

    # Only the encodings Chinese text comes in: left to itself the detector may call short GBK
    # text UTF-16, and GB18030 decodes nearly any bytes, so it alone cannot tell.
    best = charset_normalizer.from_bytes(data, cp_isolation=["gb18030", "big5"]).best()
    if best is None:
        raise Unreadable("not text in UTF-8, GB18030/GBK or Big5")
    encoding = {"gb18030": "GB18030", "big5": "Big5"}.get(best.encoding, best.encoding)
    return str(best), encoding


# --------------------------------------------------------------------------- PDF


@dataclass
class _Line:
    page: int
    box: int  # pdfminer's text box (a block of lines it laid out together)
    x0: float
    x1: float
    y0: float  # heights as a share of the page's (0 at the foot, 1 at the top)
    y1: float
    text: str


EDGE_SHARE = 0.1  # the top and bottom tenth of a page: where headers, footers and page numbers sit
_PAGE_NUMBER = re.compile(
    r"^[-—–－\s]*(?:第\s*)?\d{1,4}\s*页?(?:\s*[/／]\s*\d{1,4}|\s*共\s*\d{1,4}\s*页)?[-—–－\s]*$"
    r"|^(?:page|p\.)\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$"
    r"|^[-—–－\s]*[ivxlc]{1,6}[-—–－\s]*$",
    re.IGNORECASE,
)


def read_pdf(data: bytes) -> Extracted:
    if sniff(data) != PDF:
        raise Unreadable("not a PDF")
    lines, n_pages, info_title = _pdf_lines(data)
    if not any(ln.text.strip() for ln in lines):
        raise Unreadable(f"no text layer ({n_pages} page(s) of images: a scan? OCR is not supported)")
    body = _drop_page_furniture(lines, n_pages)
    paragraphs = _pdf_paragraphs(body)
    title = None
    if paragraphs and _looks_like_title(paragraphs[0]):
        title, paragraphs = paragraphs[0].replace("\n", ""), paragraphs[1:]
    elif info_title:
        title = info_title
    return Extracted(PDF, title, tuple(paragraphs))


def _pdf_lines(data: bytes) -> tuple[list[_Line], int, str | None]:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTTextContainer, LTTextLine
    from pdfminer.pdfdocument import PDFDocument, PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFParser

    try:
        document = PDFDocument(PDFParser(io.BytesIO(data)), password="")
    except PDFPasswordIncorrect:
        raise Unreadable("encrypted PDF (it needs a password)") from None
    except PDFEncryptionError as exc:
        raise Unreadable(f"encrypted PDF ({exc})") from None
    except Exception as exc:  # pdfminer raises many kinds on a damaged file
        raise Unreadable(f"damaged PDF ({type(exc).__name__})") from None
    info_title = _pdf_info_title(document)
    lines: list[_Line] = []
    n_pages = 0
    box = 0
    try:
        for n_pages, page in enumerate(extract_pages(io.BytesIO(data), laparams=LAParams()), start=1):
            height = page.height or 1.0
            for element in page:
                if not isinstance(element, LTTextContainer):
                    continue
                box += 1
                for line in element:
                    if isinstance(line, LTTextLine) and line.get_text().strip():
                        lines.append(_Line(
                            n_pages, box, line.x0, line.x1, line.y0 / height, line.y1 / height,
                            line.get_text().rstrip("\n"),
                        ))
    except Exception as exc:
        raise Unreadable(f"damaged PDF ({type(exc).__name__})") from None
    return lines, n_pages, info_title


def _pdf_info_title(document) -> str | None:
    """The Title in the PDF's info, when it is a real title (not a file name a converter put there)."""
    try:
        raw = document.info[0].get("Title") if document.info else None
    except Exception:
        return None
    if isinstance(raw, bytes):
        if raw.startswith(b"\xfe\xff"):
            title = raw[2:].decode("utf-16-be", "ignore")
        else:
            title = raw.decode("latin-1", "ignore")
    elif isinstance(raw, str):
        title = raw
    else:
        return None
    title = title.strip()
    if not title or re.search(r"(?i)microsoft|\.docx?$|\.pdf$|untitled|^无标题", title):
        return None
    return title[:TITLE_MAX_CHARS]


def _furniture_key(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))


def _drop_page_furniture(lines: list[_Line], n_pages: int) -> list[_Line]:
    """Lines minus page numbers and the headers and footers repeated at the edge of the pages."""
    def at_edge(ln: _Line) -> bool:
        return ln.y0 >= 1 - EDGE_SHARE or ln.y1 <= EDGE_SHARE

    repeats: Counter[str] = Counter()
    for key in {(ln.page, _furniture_key(ln.text)) for ln in lines if at_edge(ln)}:
        repeats[key[1]] += 1
    needed = max(2, (n_pages + 1) // 2)  # on at least half the pages (and two)
    return [
        ln for ln in lines
        if not (at_edge(ln) and (_PAGE_NUMBER.match(ln.text.strip()) or repeats[_furniture_key(ln.text)] >= needed))
    ]


def _pdf_paragraphs(lines: list[_Line]) -> list[str]:
    """Rebuild paragraphs from lines: an indented line starts one, a short line ends one."""
    if not lines:
        return []
    # A character's width (in points, as x is) from the lines themselves: n characters span n widths.
    widths = [(ln.x1 - ln.x0) / max(len(ln.text.strip()), 1) for ln in lines if len(ln.text.strip()) >= 5]
    char = statistics.median(widths) if widths else 10.0
    left = Counter(round(ln.x0) for ln in lines if not ln.text[:1].isspace()).most_common(1)
    margin_left = left[0][0] if left else min(ln.x0 for ln in lines)
    margin_right = _right_margin(lines, char)
    paragraphs: list[list[str]] = []
    prev: _Line | None = None
    for ln in lines:
        text = ln.text
        indented = text[:1] in ("\u3000", " ", "\t") or ln.x0 - margin_left > 0.8 * char
        prev_short = prev is not None and margin_right - prev.x1 > 1.5 * char
        gap = (
            prev is not None and prev.page == ln.page and prev.box == ln.box
            and (prev.y0 - ln.y1) > 0.8 * (prev.y1 - prev.y0)
        )
        if prev is None or indented or prev_short or gap:
            paragraphs.append([])
        paragraphs[-1].append(text.strip())
        prev = ln
    return ["\n".join(p) for p in paragraphs if any(p)]


def _right_margin(lines: list[_Line], char: float) -> float:
    """Where full lines end: the right edge most long lines reach."""
    ends = sorted(ln.x1 for ln in lines)
    top = ends[int(0.9 * (len(ends) - 1))]
    full = [x for x in ends if top - x <= 2 * char]
    return statistics.median(full) if full else top


def _looks_like_title(paragraph: str) -> bool:
    flat = paragraph.replace("\n", "")
    return 0 < len(flat) <= TITLE_MAX_CHARS and not _SENTENCE_END.search(flat[-1:])


# --------------------------------------------------------------------------- Word


_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*\d|^(?:title|标题)$", re.IGNORECASE)


def read_docx(data: bytes) -> Extracted:
    kind = sniff(data)
    if kind == "ole":
        raise Unreadable("an encrypted or old-format (.doc) Word file: save it as an unprotected .docx")
    if kind != WORD:
        raise Unreadable("not a Word .docx file")
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(document.iter_inner_content())
    except Exception as exc:
        raise Unreadable(f"damaged Word file ({type(exc).__name__})") from None
    paragraphs: list[str] = []
    first_heading: str | None = None
    for block in blocks:
        if isinstance(block, Paragraph):
            text = block.text.strip()
            if not text:
                continue
            style = block.style.name if block.style is not None else ""
            if first_heading is None and _HEADING_STYLE.match(style or ""):
                first_heading = text
                continue  # the title
            paragraphs.append(text)
        elif isinstance(block, Table):
            paragraphs.extend(_table_rows(block))
    title = first_heading or (document.core_properties.title or "").strip() or None
    if not paragraphs and not title:
        raise Unreadable("empty document")
    return Extracted(WORD, title, tuple(paragraphs))


def _table_rows(table) -> list[str]:
    """Each row as one line: "header: cell, header: cell" when the first row names the columns."""
    rows: list[list[str]] = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if cells and text == cells[-1]:
                continue  # a merged cell is listed once per column it spans
            cells.append(text)
        if any(cells):
            rows.append(cells)
    if not rows:
        return []
    header = rows[0]
    if len(rows) > 1 and all(header) and all(len(r) == len(header) for r in rows):
        return ["，".join(header)] + [
            "，".join(f"{h}：{c}" for h, c in zip(header, r) if c) for r in rows[1:]
        ]
    return ["，".join(c for c in r if c) for r in rows]


# --------------------------------------------------------------------------- web pages


def read_html(data: bytes) -> Extracted:
    import trafilatura

    try:
        result = trafilatura.bare_extraction(
            data, include_comments=False, include_tables=True, with_metadata=True, favor_precision=True,
        )
    except Exception as exc:
        raise Unreadable(f"unreadable web page ({type(exc).__name__})") from None
    text = getattr(result, "text", None) or ""
    paragraphs = tuple(ln.strip() for ln in text.split("\n") if ln.strip())
    if not paragraphs:
        raise Unreadable("a web page without article text")
    title = (getattr(result, "title", None) or "").strip() or None
    if title and paragraphs[0] == title:
        paragraphs = paragraphs[1:]
    return Extracted(HTML, title, paragraphs)
