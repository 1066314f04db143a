"""Follow-up questions: a question read in the context of the question it follows.

People leave out what they said a moment ago: "那2022年呢？" after "2023年崂山区生产总值是多少？",
"他是哪年当选的？" after "康城社区的党委书记是谁？". Such a question is rewritten with the words it
lacks, taken from the previous question, and the rewriting is shown ("按「…」理解") so that a wrong
reading is visible. The mechanism is general, not a list of phrasings:

- The words come from the segmenter: the previous question's content words (``text.is_content``)
  that the new one does not hold.
- A question that *asks* something of its own (it has a question word) keeps what it asks and takes
  the rest of the previous question as its context; one of the previous question's words may be
  left out (it was what the previous question asked about, now replaced).
- A fragment (no question word: "北宅街道呢？", "2022年？") stands in for one word or two adjacent
  words of the previous question, or is added to it.
- Among the readings so made, the index decides: the one whose answer the decision is most sure of.
- A new, self-contained question is never merged: one that does not point back (no "那…", "…呢",
  "他", "这") and that the corpus answers alone with confidence; nor is a question merged when the
  merged reading is not answered, or is no surer than the question alone.
- A fragment that adds nothing but "more" ("还有呢？") goes on where the previous answer stopped.

Pure: the caller passes ``ask`` (question -> Answer) and the previous question (from the store).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

from bot.answering import answer as answering
from bot.answering.answer import Answer
from bot.search import text
from bot.search.index import Index

FOLLOWUP_SECONDS = 300.0  # a private question this soon after the previous one may follow it ...
SHORT_CHARS = 16  # ... when it is at most this long (a reply to an answer may be of any length)
SURE = 0.9  # a question answered alone with this confidence stands on its own
MARGIN = 0.1  # a question that does not point back is merged only when this much surer

# Closed classes of Chinese grammar (not phrasings): words that ask, words that point back to what
# was said before, and words that ask for more of the same.
ASKING = frozenset({
    "什么", "什么样", "啥", "哪", "哪个", "哪些", "哪里", "哪儿", "哪一年", "哪年", "哪家", "哪位", "谁", "怎么",
    "怎么样", "怎样", "如何", "为何", "为什么", "干嘛", "多少", "几", "几个", "几年", "几天", "几次", "多久", "多长",
    "多长时间", "多大", "多高", "多远", "是否", "是不是", "有没有", "能否", "能不能", "吗", "何",
})
POINTING = frozenset({
    "他", "她", "它", "他们", "她们", "它们", "其", "该", "此", "这", "这个", "这些", "这里", "那个", "那些", "那里",
    "那么", "那", "呢", "这样", "那样",
})
NO_MORE = "资料里没有更多相关内容了。"
MORE = frozenset({"还有", "其他", "其它", "别的", "另外", "此外", "更多", "以外", "之外"})
_LEAD = ("那么", "那", "而", "可", "还有")  # connectives a follow-up may open with, dropped when merged


@dataclass(frozen=True)
class Previous:
    """The question a new one may follow: as the bot read it, and how far its answer went."""

    question: str
    shown: int = 0  # quotes shown so far
    at: float = 0.0  # unix time it was asked


@dataclass(frozen=True)
class Reading:
    """How the bot read a question: ``question`` is what it searched for."""

    question: str
    merged: bool = False  # words were taken from the previous question
    offset: int = 0  # quotes to skip ("还有呢？": the next ones)

    def note(self) -> str | None:
        """The line that says how a merged question was read; None when it was read as typed."""
        if not self.merged:
            return None
        shown = self.question.strip().rstrip("?？!！。.")
        return f"按「{shown}」理解" + ("，接着上面的结果：" if self.offset else "：")


@dataclass(frozen=True)
class FollowUp:
    reading: Reading
    answer: Answer


def is_short(question: str) -> bool:
    """Short enough to be an elliptical follow-up when it is not a reply."""
    return len("".join(question.split())) <= SHORT_CHARS


def read(
    index: Index, question: str, previous: Previous | None, ask: Callable[[str, int], Answer],
    *, replied: bool = False,
) -> FollowUp:
    """The question read in the context of ``previous`` (when it follows it), with its answer.

    ``ask(question, offset)`` answers a question; ``replied``: the question replies to the answer
    to ``previous`` (else it merely came soon after it, and must be short to be read with it).
    """
    alone = ask(question, 0)
    as_typed = FollowUp(Reading(question), alone)
    if previous is None or not previous.question.strip() or (not replied and not is_short(question)):
        return as_typed
    new = Question(_segment(index, question))
    old = Question(_segment(index, previous.question))
    if not new.asks and not new.own:  # "还有呢？": the rest of the previous answer (perhaps nothing)
        return FollowUp(Reading(previous.question, True, previous.shown), ask(previous.question, previous.shown))
    if not new.points_back:
        # It stands on its own when the corpus answers it alone with confidence, when it asks
        # about a topic of its own that the corpus knows, or about something the corpus does not
        # know (taking words from before would not change that).
        known = [index.words.term_idf(t) is not None for t in new.own if t not in old.tokens]
        if (alone.answered and alone.confidence >= SURE) or (new.asks and any(known)) or not all(known):
            return as_typed
    readings = _asking(new, old) if new.asks else _fragment(new, old)
    best: tuple[tuple[float, int, float], str, Answer] | None = None
    for candidate, preference in dict.fromkeys(readings):
        ans = ask(candidate, 0)
        if not ans.answered:
            continue
        # A reading whose words one passage holds all of; then the one that reads better as a
        # question (a fragment standing in for a phrase, over one put before it); then the surest.
        coverage = round(ans.candidates[0].coverage, 2) if ans.candidates else 0.0
        rank = (coverage, preference, ans.confidence)
        if best is None or rank > best[0]:
            best = rank, candidate, ans
    if best is None:
        return as_typed
    _, candidate, ans = best
    if not new.points_back and alone.answered and ans.confidence < alone.confidence + MARGIN:
        return as_typed
    return FollowUp(Reading(candidate, merged=True), ans)


def _asks(token: str) -> bool:
    """A question word, or a word that opens with one (几月份, 哪天, 多少钱)."""
    return token in ASKING or token.startswith(("几", "哪", "多少", "什么"))


def _segment(index: Index, question: str) -> list[str]:
    """The question's tokens, its opening connective kept apart (jieba may glue 那 to a name it
    does not know: 那蛤岭社区 -> 那蛤岭 社区)."""
    tokens = index.segmenter.segment(question)
    stripped = text.normalise(question)
    for lead in _LEAD:
        first = tokens[0] if tokens else ""
        if stripped.startswith(lead) and first not in POINTING and first.startswith(lead) and len(first) > len(lead):
            return [lead, *index.segmenter.segment(stripped[len(lead):])]
    return tokens


class Question:
    """A question's tokens and what they say about it as a follow-up."""

    def __init__(self, tokens: list[str]):
        self.tokens = tokens
        n = len(tokens)
        # A classifier after a number or 多少/几 (家, 名, 座) counts things; it names nothing.
        self.counting = {
            i for i in range(1, n)
            if len(tokens[i]) == 1 and (tokens[i - 1] in ("多少", "几") or tokens[i - 1].isdigit())
        }
        self.content = [
            i for i, t in enumerate(tokens)
            if text.is_content(t) and t not in MORE and t not in POINTING and i not in self.counting and not _asks(t)
        ]
        # A word followed by an aspect particle (收集了, 进行过) or by the question word itself
        # (占地多少) says what happened, not what about: it is not carried over as context.
        self.verbs = {
            i for i in self.content
            if i + 1 < n and (tokens[i + 1] in ("了", "过", "着") or tokens[i + 1] in ASKING)
        }
        self.own = [tokens[i] for i in self.content]
        # 几月份, 哪天, 多少钱: a word that opens with a question word asks too.
        self.asks = any(_asks(t) for t in tokens)
        lead = next((t for t in tokens if text.is_content(t) or t in POINTING or t in MORE), "")
        self.points_back = any(t in POINTING for t in tokens) or lead in _LEAD
        self.runs = _runs([i for i in self.content if i not in self.verbs])

    def focus(self) -> set[int]:
        """The run of content words next to the question word: what the question asks about
        (多少家[高新技术企业], [党委书记]是谁)."""
        asking = [i for i, t in enumerate(self.tokens) if _asks(t)]
        if not asking or not self.runs:
            return set()
        q = asking[0]
        after = [r for r in self.runs if r[0] > q]
        before = [r for r in self.runs if r[-1] < q]
        run = after[0] if after and (not before or after[0][0] - q <= q - before[-1][-1]) else before[-1]
        return set(run)

    def text(self, replace: dict[int, str] | None = None, drop: set[int] | None = None) -> str:
        replace, drop = replace or {}, drop or set()
        return "".join(replace.get(i, t) for i, t in enumerate(self.tokens) if i not in drop or i in replace)

    def words(self, positions: list[int]) -> str:
        """The words at ``positions``, each with the classifier that counts it (2023年, 3家)."""
        return "".join(
            self.tokens[i] + (self.tokens[i + 1] if i + 1 in self.counting else "") for i in positions
        )


def _runs(positions: list[int]) -> list[list[int]]:
    """Adjacent positions grouped: the content words that make one phrase (康城 社区)."""
    runs: list[list[int]] = []
    for i in positions:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def _asking(new: Question, old: Question) -> list[tuple[str, int]]:
    """A question that asks something of its own takes the previous question's words it lacks as
    its context: in place of the word that points back (他是… -> 康城社区党委书记是…), and then
    they include what the previous question asked about; else before it, less that."""
    held = set(new.tokens)
    pronoun = next((i for i, t in enumerate(new.tokens) if t in POINTING and t not in ("那", "那么", "呢")), None)
    skip = old.verbs | (set() if pronoun is not None else old.focus())
    context = old.words([i for i in old.content if i not in skip and old.tokens[i] not in held])
    if not context:
        return []
    if pronoun is not None:
        return [(new.text(replace={pronoun: context}, drop=_leads(new)), 1)]
    return [(context + new.text(drop=_leads(new)), 1)]


def _fragment(new: Question, old: Question) -> list[tuple[str, int]]:
    """Readings of a fragment ("北宅街道呢？", "2022年？"): a number stands in for the previous
    question's number (or is put before it); anything else for one of its phrases — what it asked
    about or what it was about — or is put before it. The index picks among them."""
    fragment = new.words(new.content)
    first = new.content[0]
    if new.tokens[first].isdigit():
        unit = new.tokens[first + 1] if first + 1 in new.counting else None
        numbers = [i for i in old.content if old.tokens[i].isdigit()]
        same = [i for i in numbers if unit is not None and i + 1 in old.counting and old.tokens[i + 1] == unit]
        if same or numbers:
            i = (same or numbers)[0]
            return [(old.text(replace={i: fragment}, drop={i + 1} if same else None), 1)]
        return [(fragment + old.text(), 1)]
    readings = [(old.text(replace={run[0]: fragment}, drop=set(run)), 1) for run in old.runs]
    readings.append((fragment + old.text(), 0))
    return [r for r in readings if r[0] != old.text()]


def _leads(q: Question) -> set[int]:
    """The connective a question opens with ("那党员有多少名" -> "党员有多少名")."""
    for i, t in enumerate(q.tokens):
        if t in _LEAD:
            return {i}
        if text.is_content(t) or _asks(t):
            break
    return set()


def note_html(reading: Reading) -> str | None:
    note = reading.note()
    return f"<i>{html.escape(note, quote=False)}</i>" if note else None


def reply_html(follow: FollowUp, limit: int = answering.MAX_MESSAGE_CHARS) -> str:
    """The answer in Telegram HTML, headed by how the question was read when it was merged."""
    first = follow.reading.offset + 1
    note = note_html(follow.reading)
    if note is None:
        return answering.answer_html(follow.answer, first, limit)
    if follow.reading.offset and not follow.answer.quotes:
        return note + "\n" + html.escape(NO_MORE, quote=False)
    return note + "\n" + answering.answer_html(follow.answer, first, limit - len(note) - 1)


def reply_text(follow: FollowUp) -> str:
    """The same as plain text, for the console."""
    note = follow.reading.note()
    if note is None:
        return answering.answer_text(follow.answer, follow.reading.offset + 1)
    if follow.reading.offset and not follow.answer.quotes:
        return f"{note}\n{NO_MORE}"
    return f"{note}\n{answering.answer_text(follow.answer, follow.reading.offset + 1)}"
