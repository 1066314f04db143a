"""From hits to an answer: choose the quote, highlight it, decide "nothing found", render it.

Everything here is pure: it needs an ``Index`` (or its hits) and returns values and strings.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.answering import decision, reader
from bot.search import text
from bot.search.corpus import Passage, split_clauses, split_sentences, squash
from bot.search.index import Hit, Index, Query

RELATIVE_COVERAGE = 0.6  # a further quote holds at least this share of the best one's coverage
DUPLICATE_SPARE = 3  # passages ranked beyond a page, to stand in for quotes that repeat earlier ones
QUOTE_MIN_CHARS = 60  # a quote narrower than this is widened with the next sentence
QUOTE_MAX_CHARS = 200  # ... and one is widened up to this while whole sentences fit
MAX_MESSAGE_CHARS = 4096
MAX_QUESTION_CHARS = 500  # longer questions are cut before segmenting: no real question is longer
# The first passage is shown alone (with "more results") when the second scores at most this
# share of it: on the seed and CMRC questions the first passage was then right every time
# (55 % and 78 % of questions; at 0.5, 60 % and 82 %, one seed question wrong; README "Answer quality").
SURE_RATIO = 0.45
# The reader (bot/answering/reader.py) reads the first passage: the short answer shown above
# the quotes, and its slot verdict, one of the decision's signals. Off only for
# benchmarks/ablation.py (the decision then sees no verdict, as if no slot were asked).
USE_READER = True
# A declined question whose decision probability is at least this gets the closest passage as
# related content, said plainly not to be an answer (``answered`` stays false). Between it and
# the operating point (0.1) on eval's sets: 4 of the 5 answerable seed questions declined with a
# right first passage, all 4 such CMRC questions, 3 of 5 near-domain questions declined, none of
# the 14 off-topic ones, 4.8 % of CMRC questions asked of the seed corpus (README "Answer quality").
RELATED_FLOOR = 0.02


@dataclass(frozen=True)
class Quote:
    hit: Hit
    text: str  # word for word from the passage
    marks: tuple[tuple[int, int], ...]  # spans of ``text`` to highlight (start, end)

    @property
    def passage(self) -> Passage:
        return self.hit.passage

    @property
    def source(self) -> str:
        return f"《{self.passage.title}》第{self.passage.paragraph}段"


@dataclass(frozen=True)
class Answer:
    question: str
    quotes: tuple[Quote, ...]  # best first; empty when nothing was found
    candidates: tuple[Hit, ...] = ()  # what was ranked, also when declined (for logs and eval)
    more: bool = False  # a further page would hold a quote (for the "more results" button)
    confidence: float = 0.0  # the decision's probability that the best passage answers
    short: reader.Span | None = None  # the answer itself, in quotes[0]'s passage (shown first)
    related: tuple[Quote, ...] = ()  # declined, but close: the nearest passage, not as an answer

    @property
    def answered(self) -> bool:
        return bool(self.quotes)


def should_answer(confidence: float, threshold: float | None = None) -> bool:
    """The decision's verdict at its operating point (``threshold``: another point, for eval)."""
    return confidence >= (decision.load_model().threshold if threshold is None else threshold)


def answer(index: Index, question: str, k: int = 3, offset: int = 0) -> Answer:
    """Answer a question with up to ``k`` quotes, starting at quote ``offset``.

    Quotes are counted after two filters, so pages follow on from each other: a further quote
    must hold a fair share of what the best one matched (no filler), and must not repeat words
    already quoted above it (news corpora repeat paragraphs: a syndicated text, a page spliced
    into another). The first page holds one quote only when the ranking is sure of it.
    """
    question = question[:MAX_QUESTION_CHARS]
    found = find(index, question, offset + k + 1 + DUPLICATE_SPARE)
    hits, reading = found.hits, found.reading
    sure = decision.confidence(index, found.query, hits, reading.verdict)
    if not should_answer(sure):
        related = (make_quote(hits[0]),) if offset == 0 and hits and sure >= RELATED_FLOOR else ()
        return Answer(question, (), tuple(hits[: k + offset]), confidence=sure, related=related)
    short = reading.short if reading.short is not None and reading.short.passage == 0 else None
    floor = RELATIVE_COVERAGE * hits[0].coverage
    shown: list[Quote] = []  # this page's quotes and every earlier page's, best first
    squashed: list[str] = []  # their words, spaces aside
    for hit in hits:
        if hit.coverage < floor or hit.coverage <= 0:
            continue
        quote = make_quote(hit, short if not shown else None)
        words = squash(quote.text)
        if any(words in earlier or earlier in words for earlier in squashed):
            continue  # it says what a quote above says, or that quote says all of it
        shown.append(quote)
        squashed.append(words)
        if len(shown) > offset + k:  # one more than this page: is there a further page?
            break
    if offset == 0 and ranking_is_sure(hits):
        k = 1
    return Answer(
        question, tuple(shown[offset : offset + k]), tuple(hits[: k + offset]), len(shown) > offset + k, sure,
        short if offset == 0 else None,
    )


@dataclass(frozen=True)
class ReaderSays:
    """What the reader made of the first passages (not reader.Reading, its models' output over one passage)."""

    short: reader.Span | None  # the most confident span, when sure enough to show
    verdict: float | None  # reader.slot_verdict: is a candidate of the asked type there?


@dataclass(frozen=True)
class Found:
    query: Query
    hits: list[Hit]  # ranked
    reading: ReaderSays


def find(index: Index, question: str, n: int) -> Found:
    """The question's n best passages and the reader's reading of the first of them."""
    q = index.query(question)
    hits = index.search(q, n)
    if not USE_READER or not hits or reader.asked_type(question) is None:
        return Found(q, hits, ReaderSays(None, None))  # (a question that asks nothing has no span to show)
    texts = [h.passage.text for h in hits[: reader.PASSAGES]]
    short = reader.short_answer(question, texts, segmenter=index.segmenter)
    # (slot_verdict reads the same passages again from the reader's cache: one reading each.)
    return Found(q, hits, ReaderSays(short, reader.slot_verdict(question, texts, segmenter=index.segmenter)))


def ranking_is_sure(hits: Sequence[Hit]) -> bool:
    """The first passage is far enough ahead to be shown alone."""
    return len(hits) == 1 or (len(hits) > 1 and hits[1].score <= SURE_RATIO * hits[0].score)


def make_quote(hit: Hit, short: reader.Span | None = None) -> Quote:
    """The quote of a hit: around the short answer when there is one (which alone is marked),
    else around the most telling question words (the most telling one marked)."""
    weights = dict(zip(hit.matched, hit.weights)) if hit.weights else None
    passage = hit.passage.text
    if short is not None:
        quote = choose_quote(passage, (short.text,), {short.text: 1.0})
        at = quote.find(short.text)
        if at >= 0:
            return Quote(hit, quote, ((at, at + len(short.text)),))
    quote = choose_quote(passage, hit.matched, weights, hit.wanted)
    return Quote(hit, quote, tuple(find_marks(quote, key_terms(hit))))


def key_terms(hit: Hit) -> tuple[str, ...]:
    """The one question word worth marking: the most telling (highest idf) of two characters or
    more that the passage holds; none when there is no such word."""
    weights = dict(zip(hit.matched, hit.weights)) if hit.weights else {}
    words = [w for w in hit.matched if len(w) > 1 or (w.isascii() and w.isalnum())]
    if not words:
        return ()
    return (max(words, key=lambda w: (weights.get(w, 0.0), len(w))),)


def choose_quote(
    passage: str,
    matched: tuple[str, ...],
    weights: dict[str, float] | None = None,
    wanted: tuple[re.Pattern, ...] = (),
) -> str:
    """The sentences of the passage that carry the matched words (at least QUOTE_MIN_CHARS).

    A sentence weighs the idf of the question words it holds (``weights``; else their length),
    doubled when it reads like the kind of answer asked for (``wanted``: a duration, a definition).
    """
    sentences = [c for s in split_sentences(passage) for c in split_clauses(s, 2 * QUOTE_MIN_CHARS)]
    if len(sentences) <= 1 or len(passage) <= QUOTE_MAX_CHARS:
        return passage.strip()
    found = [
        _weight(s, matched, weights) * (2 if any(p.search(s) for p in wanted) else 1)
        for s in sentences
    ]
    best = max(range(len(sentences)), key=lambda i: (found[i], -i))
    if found[best] == 0:
        return passage.strip()
    lo = hi = best
    # Widen with neighbouring sentences while the quote still reads well on a phone: the more
    # telling neighbour first, the following one on a tie; always at least QUOTE_MIN_CHARS.
    while lo > 0 or hi + 1 < len(sentences):
        nxt = found[hi + 1] if hi + 1 < len(sentences) else -1
        prv = found[lo - 1] if lo > 0 else -1
        grow_lo, grow_hi = (lo, hi + 1) if nxt >= prv else (lo - 1, hi)
        size = len("".join(sentences[grow_lo : grow_hi + 1]))
        if size > QUOTE_MAX_CHARS and len("".join(sentences[lo : hi + 1])) >= QUOTE_MIN_CHARS:
            break
        lo, hi = grow_lo, grow_hi
    return "".join(sentences[lo : hi + 1]).strip()


def _weight(sentence: str, terms: tuple[str, ...], weights: dict[str, float] | None = None) -> float:
    """How much of the question a sentence holds: its distinct matched words (not single
    Chinese characters), each by its idf when known, else by its length."""
    norm, _ = _normalised_chars(sentence)
    return sum(
        (weights or {}).get(t, len(t)) for t in set(terms)
        if t and t in norm and (len(t) > 1 or t.isascii())
    )


@lru_cache(maxsize=1 << 16)
def _normalised_char(ch: str) -> str:
    return text.to_simplified(unicodedata.normalize("NFKC", ch).lower())


@lru_cache(maxsize=1 << 12)
def _normalised_chars(s: str) -> tuple[str, Sequence[int]]:
    """The text normalised char by char, with the index of each normalised char in ``s``.

    (Per character, memoised: a passage's few hundred characters are mostly ones seen before,
    and calling OpenCC once per character was most of the time of an answer. And per text: the
    same passages' sentences are weighed again for every question that finds them.)
    """
    parts = list(map(_normalised_char, s))
    norm = "".join(parts)
    if len(norm) == len(s) and max(map(len, parts), default=1) == 1:  # one for one (nearly always)
        return norm, range(len(s))
    where: list[int] = []
    for i, n in enumerate(parts):
        where.extend([i] * len(n))
    return norm, tuple(where)


def find_marks(s: str, terms: tuple[str, ...]) -> list[tuple[int, int]]:
    """Spans of ``s`` where any of the (normalised) terms occur, merged, in order.

    A single Chinese character (家, 名, 年) is not marked on its own: bold on every 家 in 国家
    would hide the words that matter.
    """
    norm, where = _normalised_chars(s)
    spans = []
    for term in sorted(set(terms), key=len, reverse=True):
        if not term or (len(term) == 1 and not term.isascii()) or (not term.isalnum() and len(term) == 1):
            continue
        start = norm.find(term)
        while start >= 0:
            spans.append((where[start], where[start + len(term) - 1] + 1))
            start = norm.find(term, start + len(term))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


# --------------------------------------------------------------------------- rendering

NOT_FOUND = "抱歉，资料里没有找到与这个问题相关的内容。可以换个说法、用更具体的关键词再问，或发送 /help 查看用法。"
NOT_DIRECT = "资料里没有找到直接回答这个问题的内容。最接近的一段如下，仅供参考，不一定回答了你的问题："


def highlighted_html(quote: Quote) -> str:
    """The quote with the question's words in bold; everything escaped."""
    out, pos = [], 0
    for a, b in quote.marks:
        out.append(html.escape(quote.text[pos:a], quote=False))
        out.append("<b>" + html.escape(quote.text[a:b], quote=False) + "</b>")
        pos = b
    out.append(html.escape(quote.text[pos:], quote=False))
    return "".join(out)


def quote_html(quote: Quote, number: int | None = None) -> str:
    """A quote and its source; numbered quotes put the number and the source first."""
    source = html.escape(quote.source, quote=False)
    if number is None:
        return f"<blockquote>{highlighted_html(quote)}</blockquote>\n— {source}"
    return f"{number}. {source}\n<blockquote>{highlighted_html(quote)}</blockquote>"


def short_html(ans: Answer) -> str:
    return f"答：<b>{html.escape(ans.short.text, quote=False)}</b>" if ans.short else ""


def _numbered(ans: Answer, first_number: int) -> bool:
    """Quotes carry numbers when there are several, or on a further page."""
    return len(ans.quotes) > 1 or first_number > 1


def answer_html(ans: Answer, first_number: int = 1, limit: int = MAX_MESSAGE_CHARS) -> str:
    """The whole reply in Telegram HTML, within ``limit`` characters of visible text and markup:
    the short answer first when there is one, then the quotes."""
    if not ans.answered:
        if ans.related:
            head, block = html.escape(NOT_DIRECT, quote=False), quote_html(ans.related[0])
            if len(head) + 2 + len(block) > limit:
                block = _trimmed_quote_html(ans.related[0], None, limit - len(head) - 2)
            return head + "\n\n" + block
        return html.escape(NOT_FOUND, quote=False)
    parts: list[str] = [short_html(ans)] if ans.short else []
    numbered = _numbered(ans, first_number)
    for n, q in enumerate(ans.quotes, start=first_number):
        block = quote_html(q, n if numbered else None)
        if len("\n\n".join(parts + [block])) > limit:
            if n == first_number:  # one quote alone is too long: trim it at a sentence end
                room = limit - len("\n\n".join(parts)) - 2
                parts.append(_trimmed_quote_html(q, n if numbered else None, room))
            break
        parts.append(block)
    return "\n\n".join(parts)


def _trimmed_quote_html(quote: Quote, number: int | None, limit: int) -> str:
    """One quote cut down to fit: whole sentences while they fit, else characters."""
    def render(text: str) -> str:
        marks = [(a, b) for a, b in quote.marks if b <= len(text)]
        return quote_html(Quote(quote.hit, text, tuple(marks)), number)

    sentences = split_sentences(quote.text)
    while len(sentences) > 1:
        sentences.pop()
        block = render("".join(sentences))
        if len(block) <= limit:
            return block
    # One endless sentence: halve the characters until the rendered markup fits.
    cut = len(quote.text)
    block = render(quote.text)
    while len(block) > limit and cut > 1:
        cut //= 2
        block = render(quote.text[:cut] + "…")
    return block


def quote_text(quote: Quote, number: int | None = None) -> str:
    """``quote_html`` as plain text: numbered quotes put the number and the source first."""
    if number is None:
        return f"「{quote.text}」\n   — {quote.source}"
    return f"{number}. {quote.source}\n「{quote.text}」"


def answer_text(ans: Answer, first_number: int = 1) -> str:
    """The same reply as plain text, for the console and the command line."""
    if not ans.answered:
        return f"{NOT_DIRECT}\n\n{quote_text(ans.related[0])}" if ans.related else NOT_FOUND
    blocks = [f"答：{ans.short.text}"] if ans.short else []
    numbered = _numbered(ans, first_number)
    blocks += [quote_text(q, n if numbered else None) for n, q in enumerate(ans.quotes, start=first_number)]
    return "\n\n".join(blocks)


def answer_json(ans: Answer) -> dict:
    """The ``ask --json`` record: the short answer (``null`` when none is sure), the quotes, and
    for a declined question that came close, the nearest passage as ``related`` (not an answer)."""
    return {
        "question": ans.question,
        "answered": ans.answered,
        "answer": ans.short.text if ans.short else None,
        "answer_confidence": round(ans.short.confidence, 3) if ans.short else None,
        "passages": [_quote_json(q) for q in ans.quotes],
        "related": [_quote_json(q) for q in ans.related],
    }


def _quote_json(q: Quote) -> dict:
    return {
        "doc": q.passage.doc,
        "title": q.passage.title,
        "paragraph": q.passage.paragraph,
        "text": q.passage.text,
        "quote": q.text,
        "score": round(q.hit.score, 6),
    }
