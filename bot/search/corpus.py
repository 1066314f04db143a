"""Load documents and clean them into passages: files -> documents -> paragraphs -> passages.

The cleaning rules are general layout repairs for text copied out of newspaper pages and PDFs;
each is a small function with its own test in ``tests/test_corpus.py``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

SUFFIXES = (".txt", ".md", ".jsonl")

# Sentence-final marks (full- and half-width), optionally followed by closing quotes/brackets.
_TERMINAL = "。！？!?…"
_CLOSERS = "”’」』）)》】\"'"
_SOFT = "，、；：,;:—-（(“‘《「『【"  # a paragraph that ends in one of these was cut mid-sentence
_CLAUSE_BREAK = re.compile(r"[，、。；！？,;!?]")
_SENTENCE_END = re.compile(rf"[{_TERMINAL}]+[{_CLOSERS}]*")
_SPACE = re.compile(r"\s+")

# Lines a layout adds around an article: photo captions and credits.
_CAPTION_MARK = re.compile(r"^[■□▲△◆◇●▼]\s*")
_CREDIT = re.compile(
    r"(记者|通讯员|实习生|责编|责任编辑|美编|审读|审校|排版|编辑|校对|摄影?|文/图|图/文|供图)"
)

MAX_PASSAGE_CHARS = 320  # a quote that fits a phone screen
SPLIT_ABOVE_CHARS = 450  # paragraphs longer than this are split at sentence ends
CAPTION_MAX_CHARS = 50
FLOATING_MAX_CHARS = 30
NEAR_REPEAT = 0.9
MIN_PASSAGES = 3


class CorpusError(Exception):
    """A corpus that cannot be served; the message is one line naming the file (and line)."""


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    paragraphs: tuple[str, ...]
    source: str = ""  # file the document came from


@dataclass(frozen=True)
class Passage:
    """The unit the bot quotes: a paragraph, or a run of its sentences when it is long."""

    doc: str
    title: str
    paragraph: int  # 1-based number of the paragraph in the cleaned document
    text: str
    part: int = 0  # 0 when the passage is the whole paragraph, else 1, 2, ...
    context: str = field(default="", compare=False)  # the whole paragraph

    @property
    def key(self) -> str:
        return f"{self.doc}#{self.paragraph}.{self.part}"


# --------------------------------------------------------------------------- reading files


def corpus_files(path: Path) -> list[Path]:
    if not path.exists():
        raise CorpusError(f"{path}: corpus path does not exist")
    if path.is_file():
        if path.suffix.lower() not in SUFFIXES:
            raise CorpusError(f"{path}: not a .txt, .md or .jsonl file")
        return [path]
    files = sorted(
        p for p in path.rglob("*")
        if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith(".")
        and p.name.lower() != "readme.md"
    )
    if not files:
        raise CorpusError(f"{path}: no .txt, .md or .jsonl documents found")
    return files


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CorpusError(f"{path}:{line}: not UTF-8 text") from exc
    if not text.strip():
        raise CorpusError(f"{path}: empty document")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_blocks(text: str) -> list[str]:
    """Paragraphs are separated by blank lines; lines inside one are joined."""
    blocks = []
    for block in re.split(r"\n\s*\n", text):
        lines = [ln.strip() for ln in block.split("\n") if ln.strip()]
        if lines:
            blocks.append(join_lines(lines))
    return blocks


def join_lines(lines: list[str]) -> str:
    """Join wrapped lines: no space between CJK characters, one space between Latin words."""
    out = lines[0]
    for line in lines[1:]:
        if out[-1].isascii() and out[-1].isalnum() and line[0].isascii() and line[0].isalnum():
            out += " " + line
        else:
            out += line
    return out


def _heading_text(block: str) -> str | None:
    m = re.match(r"^#{1,6}\s+(.*)$", block)
    return m.group(1).strip() if m else None


def parse_text_document(doc_id: str, text: str, source: str = "") -> Document:
    """A .txt/.md document: the first heading (or first line) is the title."""
    blocks = split_blocks(text)
    title = next((h for b in blocks if (h := _heading_text(b))), None)
    if title is None:
        title = blocks[0]
        body = blocks[1:]
    else:
        body = [b for b in blocks if _heading_text(b) != title]
    body = [(_heading_text(b) or b) for b in body]
    return Document(id=doc_id, title=title, paragraphs=tuple(body), source=source)


def load_jsonl(path: Path) -> list[Document]:
    docs = []
    text = _read_text(path)
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(f"{path}:{n}: malformed JSON ({exc.msg})") from exc
        if not isinstance(rec, dict):
            raise CorpusError(f"{path}:{n}: a record must be an object with id, title, text")
        missing = [k for k in ("id", "title", "text") if not isinstance(rec.get(k), (str, int))]
        if missing:
            raise CorpusError(f"{path}:{n}: record lacks {', '.join(missing)}")
        if not str(rec["text"]).strip():
            raise CorpusError(f"{path}:{n}: record has empty text")
        paragraphs = tuple(split_blocks(str(rec["text"])))
        docs.append(Document(str(rec["id"]), str(rec["title"]).strip(), paragraphs, f"{path}:{n}"))
    if not docs:
        raise CorpusError(f"{path}: empty document")
    return docs


def load_documents(path: str | Path) -> list[Document]:
    """Read every document under ``path`` (a directory or one file); no cleaning yet."""
    docs: list[Document] = []
    for file in corpus_files(Path(path)):
        if file.suffix.lower() == ".jsonl":
            docs.extend(load_jsonl(file))
        else:
            docs.append(parse_text_document(file.stem, _read_text(file), str(file)))
    seen: dict[str, str] = {}
    for d in docs:
        if d.id in seen:
            raise CorpusError(f"{d.source}: document id {d.id!r} already used by {seen[d.id]}")
        seen[d.id] = d.source
    return docs


# --------------------------------------------------------------------------- cleaning rules


def _squash(text: str) -> str:
    return _SPACE.sub("", text)


def is_caption(par: str) -> bool:
    """A photo caption: a short line behind a bullet mark (■ ...)."""
    m = _CAPTION_MARK.match(par)
    return m is not None and len(par) - m.end() <= CAPTION_MAX_CHARS


def is_credit(par: str) -> bool:
    """An editorial credit: reporter, editor or photographer names, not a sentence."""
    body = _CAPTION_MARK.sub("", par)
    if len(body) > 40 or _SENTENCE_END.search(body) or "，" in body:
        return False
    if re.fullmatch(r"[（(][^）)]{2,20}[）)]", body):  # a closing byline such as (胡声锐 梁太宏)
        return True
    return bool(_CREDIT.search(body))


def is_heading(par: str) -> bool:
    """A headline or section title: short and not ending a sentence."""
    s = par.rstrip()
    if len(s) > FLOATING_MAX_CHARS + 10 or not s:
        return False
    if s[-1] in _TERMINAL or (s[-1] in _CLOSERS and len(s) > 1 and s[-2] in _TERMINAL):
        return False
    return s[-1] not in _SOFT


def is_latin_only(par: str) -> bool:
    """A page furniture line such as a pinyin header (PIN ZHI LAO SHAN) in a Chinese text."""
    return bool(re.fullmatch(r"[A-Za-z\s]+", par)) and par.isupper()


def is_floating(par: str) -> bool:
    """A short self-contained line (heading or caption) that a layout may drop inside a sentence."""
    return len(par) <= FLOATING_MAX_CHARS and (
        is_heading(par) or is_caption(par) or _ends_sentence(par)
    )


def _ends_sentence(par: str) -> bool:
    s = par.rstrip(_CLOSERS)
    return bool(s) and s[-1] in _TERMINAL


def is_cut(par: str, following: str) -> bool:
    """True when ``par`` stops mid-sentence and ``following`` carries on from it."""
    s = par.rstrip()
    if not s or _ends_sentence(s) or is_caption(s) or is_credit(s):
        return False
    if s[-1] in _SOFT and s[-1] not in "“‘《「『【（(":
        return True
    if s[-1] in _CLOSERS:  # a closing quote ends a headline such as 为群众幸福“加码”
        return False
    if is_prose(s):
        return True
    # A short line is a cut only if it reads as a clause list ("之基、社会和谐之") and the next
    # block opens with a stub that only makes sense glued to it ("本。", "家岭、").
    first_clause = _CLAUSE_BREAK.split(following, maxsplit=1)[0]
    return (
        bool(re.search(r"[，、；,;]", s))
        and len(first_clause) <= 3
        and len(following) > len(first_clause)
    )


def is_prose(par: str) -> bool:
    """Running text rather than a headline or deck: it holds a finished sentence."""
    return bool(_SENTENCE_END.search(par))


def rejoin_cut_paragraphs(pars: list[str]) -> list[str]:
    """Glue a paragraph that a page break cut back to its continuation.

    Up to two headings or captions that the layout put between the halves are skipped over and
    dropped: text that interrupts a sentence is page furniture.
    """
    out: list[str] = []
    i = 0
    while i < len(pars):
        cur = pars[i]
        j = i + 1
        while (k := _continuation(cur, pars, j)) is not None:
            cur += pars[k]
            j = k + 1
        out.append(cur)
        i = j
    return out


def _opens_with_stub(par: str) -> bool:
    first_clause = _CLAUSE_BREAK.split(par, maxsplit=1)[0]
    return len(first_clause) <= 3 and len(par) > len(first_clause)


def _continuation(cur: str, pars: list[str], j: int) -> int | None:
    """Index of the block that carries on ``cur`` (j, or j+1/j+2 past furniture), or None."""
    window = range(j, min(j + 3, len(pars)))
    evidently_cut = is_prose(cur) or (bool(cur) and cur[-1] in _SOFT)
    # A block opening with a stub ("童、孤儿", "本。") finishes a word cut in two.
    for k in window:
        if _opens_with_stub(pars[k]) and is_cut(cur, pars[k]) and (k == j or evidently_cut):
            return k
        if not is_floating(pars[k]):
            break
    # Otherwise the first block that is not a heading, caption or credit.
    for k in window:
        if k > j and not evidently_cut:
            return None
        if is_heading(pars[k]) or is_caption(pars[k]) or is_credit(pars[k]):
            if k + 1 < len(pars):
                continue
            return None
        return k if is_cut(cur, pars[k]) else None
    return None


def _bigrams(text: str) -> set[str]:
    s = _squash(text)
    return {s[i : i + 2] for i in range(len(s) - 1)} or {s}


def is_near_repeat(a: str, b: str) -> bool:
    """Two paragraphs that differ only by a few characters (a block printed twice)."""
    return _jaccard(_bigrams(a), _bigrams(b)) >= NEAR_REPEAT


def drop_repeats(pars: list[str], seen: set[str] | None = None) -> list[str]:
    """Drop exact and near repeats of an earlier paragraph, and fragments contained in another.

    ``seen`` carries the paragraphs of earlier documents, so a block repeated word for word across
    files is kept once. Near repeats are looked for within the document (where a layout prints a
    block twice): comparing every pair across the corpus would be quadratic in its size.
    """
    seen = seen if seen is not None else set()
    doc_grams: list[set[str]] = []
    squashed_doc = [_squash(p) for p in pars]
    out = []
    for i, p in enumerate(pars):
        sq = squashed_doc[i]
        grams = _bigrams(sq)
        if sq in seen or (len(sq) >= 40 and any(_jaccard(grams, g) >= NEAR_REPEAT for g in doc_grams)):
            continue
        # A fragment printed out of place: wholly inside a longer paragraph of the same document.
        if len(sq) >= 20 and any(
            j != i and len(o) > len(sq) and sq in o for j, o in enumerate(squashed_doc)
        ):
            continue
        seen.add(sq)
        doc_grams.append(grams)
        out.append(p)
    return out


def _jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b or min(len(a), len(b)) < NEAR_REPEAT * max(len(a), len(b)):
        return 0.0
    return len(a & b) / len(a | b)


def clean_paragraphs(pars: list[str], seen: set[str] | None = None) -> list[str]:
    """Apply the layout rules in order; the result is the body text, paragraph by paragraph."""
    pars = [_SPACE.sub(" ", p).strip() for p in pars]
    pars = [p for p in pars if p and not is_latin_only(p)]
    pars = drop_repeats(pars, seen)
    pars = rejoin_cut_paragraphs(pars)
    return [p for p in pars if not (is_caption(p) or is_credit(p))]


def body_paragraphs(pars: list[str]) -> list[str]:
    """The paragraphs worth quoting: headings stay in the document but are not passages."""
    return [p for p in pars if not is_heading(p)]


# --------------------------------------------------------------------------- passages


def split_sentences(text: str) -> list[str]:
    """Split after sentence-final marks (keeping closing quotes with their sentence)."""
    parts, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        parts.append(text[start : m.end()])
        start = m.end()
    if start < len(text):
        parts.append(text[start:])
    return [p for p in parts if p.strip()]


def _clauses(sentence: str, limit: int) -> list[str]:
    """A sentence too long for one quote is cut after its semicolons."""
    if len(sentence) <= limit:
        return [sentence]
    parts = re.split(r"(?<=[；;])", sentence)
    return [p for p in parts if p]


def chunk_sentences(sentences: list[str], limit: int = MAX_PASSAGE_CHARS) -> list[str]:
    """Greedy runs of whole sentences, each at most ``limit`` characters where possible."""
    chunks: list[str] = []
    cur = ""
    for s in (c for sentence in sentences for c in _clauses(sentence, limit)):
        if cur and len(cur) + len(s) > limit:
            chunks.append(cur)
            cur = s
        else:
            cur += s
    if cur:
        # A short tail reads better attached to the run before it.
        if chunks and len(cur) < limit // 4:
            chunks[-1] += cur
        else:
            chunks.append(cur)
    return chunks


def make_passages(doc: Document, body: list[str]) -> list[Passage]:
    passages = []
    number = 0
    for par in body:
        number += 1
        if len(par) <= SPLIT_ABOVE_CHARS:
            passages.append(Passage(doc.id, doc.title, number, par, 0, par))
            continue
        for part, chunk in enumerate(chunk_sentences(split_sentences(par)), start=1):
            passages.append(Passage(doc.id, doc.title, number, chunk.strip(), part, par))
    return passages


def drop_repeated_passages(passages: list[Passage]) -> list[Passage]:
    """A run of sentences already quoted from an earlier paragraph is not indexed twice."""
    kept: list[Passage] = []
    seen: set[str] = set()
    for p in passages:
        sq = _squash(p.text)
        if sq in seen:
            continue
        seen.add(sq)
        kept.append(p)
    return kept


def clean_document(doc: Document, seen: set[str] | None = None) -> Document:
    pars = clean_paragraphs(list(doc.paragraphs), seen)
    return Document(doc.id, unicodedata.normalize("NFC", doc.title), tuple(pars), doc.source)


def load_passages(path: str | Path) -> tuple[list[Document], list[Passage]]:
    """Load, clean and cut the corpus; raises CorpusError with one line on a bad corpus."""
    docs = load_documents(path)
    seen: set[str] = set()
    cleaned = [clean_document(d, seen) for d in docs]
    passages: list[Passage] = []
    for d in cleaned:
        passages.extend(make_passages(d, body_paragraphs(list(d.paragraphs))))
    passages = drop_repeated_passages(passages)
    if not passages:
        raise CorpusError(f"{path}: the documents hold no paragraphs to answer from")

    return cleaned, passages
