"""Load documents and clean them into passages: files -> documents -> paragraphs -> passages.

The cleaning rules are general layout repairs for text copied out of newspaper pages and PDFs;
each is a small function with its own test in ``tests/test_corpus.py``.
"""

from __future__ import annotations

import json
import logging
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.search import formats

log = logging.getLogger(__name__)

SUFFIXES = tuple(formats.KIND_BY_SUFFIX)  # the file types read (see bot/search/formats.py)

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
    kind: str = formats.TEXT  # PDF, Word, HTML, text, JSONL


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


@dataclass(frozen=True)
class Skipped:
    """A file (or a .jsonl record, ``path:line``) that was not loaded, and why."""

    path: str
    reason: str


def corpus_files(path: Path) -> list[Path]:
    """Every file of the corpus: all files under a directory (but hidden ones and README.md, the
    corpus' own notes), or the one file given. Whether each can be read is ``read_file``'s call."""
    if not path.exists():
        raise CorpusError(f"{path}: corpus path does not exist")
    if path.is_file():
        return [path]
    return sorted(
        p for p in path.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        and p.name.lower() != "readme.md"
    )


def read_file(file: Path, data: bytes | None = None) -> tuple[list[Document], list[Skipped]]:
    """The documents in one file (``data``: its bytes, when already read), and the records of a
    .jsonl file that were left out. Raises ``formats.Unreadable`` (the reason) when the file
    holds nothing to load.
    """
    kind = formats.KIND_BY_SUFFIX.get(file.suffix.lower())
    if kind is None:
        suffix = file.suffix.lower()
        raise formats.Unreadable(formats.NOT_READ.get(suffix, f"unsupported file type ({suffix or 'no extension'})"))
    if data is None:
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise formats.Unreadable(f"cannot read ({exc.strerror})") from exc
    return documents_from_bytes(file.stem, data, kind, str(file))


def documents_from_bytes(
    doc_id: str, data: bytes, kind: str, source: str
) -> tuple[list[Document], list[Skipped]]:
    """Documents from a file's bytes, read as ``kind`` (which the content must bear out)."""
    if not data.strip():
        raise formats.Unreadable("empty file")
    found = formats.sniff(data)
    # (Text that cannot be decoded is "binary" to sniff: decoding says why, below.)
    if (kind in (formats.PDF, formats.WORD) and found != kind) or (
        kind not in (formats.PDF, formats.WORD) and found not in (formats.TEXT, formats.HTML, "binary")
    ):
        raise formats.Unreadable(
            f"named as {formats.describe(kind)} but the content is {formats.describe(found)}"
        )
    if kind == formats.JSONL:
        text, encoding = formats.decode_text(data)
        _log_encoding(source, encoding)
        return parse_jsonl(text, source)
    extracted = formats.read(data, kind)
    _log_encoding(source, extracted.encoding)
    if kind == formats.TEXT:
        text = extracted.paragraphs[0].replace("\r\n", "\n").replace("\r", "\n")
        if not text.strip():
            raise formats.Unreadable("empty document")
        doc = parse_text_document(doc_id, text, source)
        if not doc.paragraphs:
            raise formats.Unreadable("empty document (a title and no text)")
        return [doc], []
    paragraphs = [join_lines(lines) for p in extracted.paragraphs if (lines := _lines(p))]
    title = extracted.title
    if title is None and paragraphs and len(paragraphs[0]) <= formats.TITLE_MAX_CHARS:
        title = paragraphs.pop(0)
    if not paragraphs:
        raise formats.Unreadable("empty document")
    return [Document(doc_id, title or doc_id, tuple(paragraphs), source, kind)], []


def _lines(paragraph: str) -> list[str]:
    return [ln.strip() for ln in paragraph.split("\n") if ln.strip()]


def _log_encoding(source: str, encoding: str | None) -> None:
    if encoding is not None and encoding != "UTF-8":
        log.info("%s: read as %s text", source, encoding)


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


def parse_jsonl(text: str, source: str) -> tuple[list[Document], list[Skipped]]:
    """One document per line: {"id", "title", "text"}; a bad record is left out and named."""
    docs: list[Document] = []
    bad: list[Skipped] = []
    for n, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            bad.append(Skipped(f"{source}:{n}", f"malformed JSON ({exc.msg})"))
            continue
        if not isinstance(rec, dict):
            bad.append(Skipped(f"{source}:{n}", "a record must be an object with id, title, text"))
            continue
        missing = [k for k in ("id", "title", "text") if not isinstance(rec.get(k), (str, int))]
        if missing:
            bad.append(Skipped(f"{source}:{n}", f"record lacks {', '.join(missing)}"))
        elif not str(rec["text"]).strip():
            bad.append(Skipped(f"{source}:{n}", "record has empty text"))
        else:
            paragraphs = tuple(split_blocks(str(rec["text"])))
            docs.append(Document(str(rec["id"]), str(rec["title"]).strip(), paragraphs, f"{source}:{n}", formats.JSONL))
    return docs, bad  # (no docs: the records named in ``bad`` are all the file holds)


def read_documents(path: str | Path) -> tuple[list[Document], list[Skipped]]:
    """Every document under ``path`` (a directory or one file), no cleaning yet, and what was
    skipped. Raises CorpusError (one line) only when the path is missing or nothing could be read."""
    root = Path(path)
    docs: list[Document] = []
    skipped: list[Skipped] = []
    ids: dict[str, str] = {}
    for file in corpus_files(root):
        try:
            found, bad = read_file(file)
        except formats.Unreadable as exc:
            skipped.append(Skipped(str(file), str(exc)))
            continue
        skipped.extend(bad)
        docs.extend(_unique_ids(found, ids, skipped))
    if not docs:
        raise CorpusError(_nothing_read(root, skipped))
    return docs, skipped


def _unique_ids(found: list[Document], ids: dict[str, str], skipped: list[Skipped]) -> list[Document]:
    """The documents whose id no earlier one has (``ids``: id -> source, updated); the others skipped."""
    out = []
    for d in found:
        if d.id in ids:
            skipped.append(Skipped(d.source, f"document id {d.id!r} already used by {ids[d.id]}"))
            continue
        ids[d.id] = d.source
        out.append(d)
    return out


def _nothing_read(root: Path, skipped: list[Skipped]) -> str:
    return f"{root}: no document could be read" + (skipped_note(skipped, "") or " (no files)")


def skipped_note(skipped: list[Skipped], label: str = "skipped: ") -> str:
    """' (skipped: a.pdf: encrypted PDF; b.txt: empty file; and 3 more)', or '' when none were."""
    if not skipped:
        return ""
    files = "; ".join(f"{Path(s.path).name}: {s.reason}" for s in skipped[:3])
    more = f"; and {len(skipped) - 3} more" if len(skipped) > 3 else ""
    return f" ({label}{files}{more})"


def load_documents(path: str | Path) -> list[Document]:
    """Read every document under ``path`` (a directory or one file); no cleaning yet."""
    return read_documents(path)[0]


# --------------------------------------------------------------------------- cleaning rules


def squash(text: str) -> str:
    """The text with all whitespace removed (to compare texts whatever their line breaks)."""
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
    s = squash(text)
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
    squashed_doc = [squash(p) for p in pars]
    # (Squashed paragraphs hold no whitespace: a match in the joined text never spans two.)
    joined = "\n".join(squashed_doc)
    copies = Counter(squashed_doc)
    kept = _NearRepeats()
    out = []
    for p, sq in zip(pars, squashed_doc):
        grams = _bigrams(sq)
        if sq in seen or (len(sq) >= 40 and kept.has_near_repeat(grams)):
            continue
        # A fragment printed out of place: wholly inside a longer paragraph of the same document
        # (found in the document more often than the paragraphs equal to it account for).
        if len(sq) >= 20 and joined.count(sq) > copies[sq]:
            continue
        seen.add(sq)
        kept.add(grams)
        out.append(p)
    return out


class _NearRepeats:
    """The bigram sets of the paragraphs kept so far, found again by prefix filtering.

    Two sets with a Jaccard similarity of at least t share their least element (in any fixed
    order) among the first |s| - floor(t * |s|) + 1 elements of each: only paragraphs sharing one
    of those are compared, instead of every pair.
    """

    def __init__(self) -> None:
        self.sets: list[set[str]] = []
        self.by_gram: dict[str, list[int]] = {}

    @staticmethod
    def _prefix(grams: set[str]) -> list[str]:
        return sorted(grams)[: len(grams) - math.floor(NEAR_REPEAT * len(grams)) + 1]

    def has_near_repeat(self, grams: set[str]) -> bool:
        candidates = {i for g in self._prefix(grams) for i in self.by_gram.get(g, ())}
        return any(_jaccard(grams, self.sets[i]) >= NEAR_REPEAT for i in sorted(candidates))

    def add(self, grams: set[str]) -> None:
        for g in self._prefix(grams):
            self.by_gram.setdefault(g, []).append(len(self.sets))
        self.sets.append(grams)


def _jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b or min(len(a), len(b)) < NEAR_REPEAT * max(len(a), len(b)):
        return 0.0
    return len(a & b) / len(a | b)


def _prepared(pars: list[str] | tuple[str, ...]) -> list[str]:
    """Paragraphs with their spaces collapsed, less empty ones and page furniture in Latin letters."""
    pars = [_SPACE.sub(" ", p).strip() for p in pars]
    return [p for p in pars if p and not is_latin_only(p)]


def clean_paragraphs(pars: list[str], seen: set[str] | None = None) -> list[str]:
    """Apply the layout rules in order; the result is the body text, paragraph by paragraph."""
    pars = drop_repeats(_prepared(pars), seen)
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


def split_clauses(sentence: str, limit: int) -> list[str]:
    """A sentence longer than ``limit`` is cut after its semicolons and dashes."""
    if len(sentence) <= limit:
        return [sentence]
    return [p for p in re.split(r"(?<=[；;])|(?<=——)", sentence) if p]


def chunk_sentences(sentences: list[str], limit: int = MAX_PASSAGE_CHARS) -> list[str]:
    """Greedy runs of whole sentences, each at most ``limit`` characters where possible."""
    chunks: list[str] = []
    cur = ""
    for s in (c for sentence in sentences for c in split_clauses(sentence, limit)):
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
        sq = squash(p.text)
        if sq in seen:
            continue
        seen.add(sq)
        kept.append(p)
    return kept


def clean_document(doc: Document, seen: set[str] | None = None) -> Document:
    pars = clean_paragraphs(list(doc.paragraphs), seen)
    return Document(doc.id, unicodedata.normalize("NFC", doc.title), tuple(pars), doc.source, doc.kind)


@dataclass(frozen=True)
class Corpus:
    """The corpus as loaded: cleaned documents, their passages, and the files left out (and why)."""

    documents: list[Document]
    passages: list[Passage]
    skipped: list[Skipped]

    def summary(self) -> str:
        """'5 documents (1 PDF, 1 Word, 3 text), 140 passages, 1 file skipped'."""
        return summary(Counter(d.kind for d in self.documents), len(self.passages), len(self.skipped))


def summary(kinds: Counter[str], passages: int, skipped: int) -> str:
    n = sum(kinds.values())
    order = list(formats.SUFFIX_BY_KIND)  # PDF, Word, HTML, text, JSONL
    by_kind = ", ".join(f"{kinds[k]} {k}" for k in sorted(kinds, key=lambda k: (order.index(k), k)))
    return (
        f"{n} document{'s' if n != 1 else ''} ({by_kind}), {passages} passage{'s' if passages != 1 else ''}, "
        f"{skipped} file{'s' if skipped != 1 else ''} skipped"
    )


def log_skipped(skipped: list[Skipped]) -> None:
    """One warning line per file left out, naming it and the reason."""
    for s in skipped:
        log.warning("%s: skipped: %s", s.path, s.reason)


@dataclass(frozen=True)
class FileDocs:
    """One file's documents cleaned as if the file came first in the corpus, so that the result
    can be kept by the file's content (``bot/search/doccache.py``), with what tells when that
    was not so: a paragraph an earlier file already has (``seen``) is dropped as a repeat."""

    documents: tuple[Document, ...]  # cleaned
    compared: tuple[str, ...]  # every paragraph drop_repeats looked at, squashed
    kept: tuple[int, ...]  # those it kept (positions in ``compared``): the files after see them
    skipped: tuple[Skipped, ...] = ()  # the file itself, or its .jsonl records left out


def read_file_docs(file: Path, data: bytes | None = None) -> FileDocs:
    """Read and clean one file on its own (a file that cannot be read comes back as skipped)."""
    try:
        found, bad = read_file(file, data)
    except formats.Unreadable as exc:
        return FileDocs((), (), (), (Skipped(str(file), str(exc)),))
    skipped = list(bad)
    found = _unique_ids(found, {}, skipped)
    return clean_file(found, set(), tuple(skipped))


def clean_file(docs: list[Document], seen: set[str], skipped: tuple[Skipped, ...] = ()) -> FileDocs:
    """Clean a file's documents in order; ``seen`` (the kept paragraphs before them) is updated."""
    compared: list[str] = []
    first: dict[str, int] = {}
    before = set(seen)
    cleaned = []
    for d in docs:
        for sq in map(squash, _prepared(d.paragraphs)):
            first.setdefault(sq, len(compared))
            compared.append(sq)
        cleaned.append(clean_document(d, seen))
    kept = sorted(first[sq] for sq in seen - before if sq in first)
    return FileDocs(tuple(cleaned), tuple(compared), tuple(kept), skipped)


FileReader = Callable[[Path], FileDocs]


def read_corpus(path: str | Path, read: FileReader = read_file_docs) -> Corpus:
    """Load, clean and cut the corpus; raises CorpusError with one line when nothing can be served.

    ``read`` reads and cleans one file on its own (``read_file_docs``, or a cache of it). The
    result is as if the corpus were cleaned in one pass: a file whose paragraphs an earlier file
    already has, or whose document ids an earlier file uses, is read and cleaned again in its place.
    """
    root = Path(path)
    seen: set[str] = set()
    ids: dict[str, str] = {}
    docs: list[Document] = []
    skipped: list[Skipped] = []
    for file in corpus_files(root):
        got = read(file)
        skipped.extend(got.skipped)
        if not got.documents:
            continue
        if any(d.id in ids for d in got.documents) or not seen.isdisjoint(got.compared):
            try:
                found, _ = read_file(file)
            except formats.Unreadable as exc:  # changed since: skip it after all
                skipped.append(Skipped(str(file), str(exc)))
                continue
            found = _unique_ids(_unique_ids(found, {}, []), dict(ids), skipped)
            got = clean_file(found, seen)
        else:
            seen.update(got.compared[i] for i in got.kept)
        for d in got.documents:
            ids[d.id] = d.source
            docs.append(d)
    if not docs:
        raise CorpusError(_nothing_read(root, skipped))
    passages: list[Passage] = []
    for d in docs:
        passages.extend(make_passages(d, body_paragraphs(list(d.paragraphs))))
    passages = drop_repeated_passages(passages)
    if not passages:
        raise CorpusError(f"{path}: the documents hold no paragraphs to answer from{skipped_note(skipped)}")
    return Corpus(docs, passages, skipped)


def load_passages(path: str | Path) -> tuple[list[Document], list[Passage]]:
    """Load, clean and cut the corpus; raises CorpusError with one line on a bad corpus."""
    corpus = read_corpus(path)
    return corpus.documents, corpus.passages
