"""The question-answering service the chat layers share: one index, its generation, examples.

Handlers hold a ``Service`` (in ``bot_data``) and call it; it knows nothing about Telegram.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from bot.answering import answer as answering
from bot.answering import followup
from bot.answering.answer import Answer
from bot.search import text
from bot.search.cache import load_or_build
from bot.search.corpus import Passage
from bot.search.index import Index

MAX_RESULTS = 50  # Telegram's cap on inline results per answer; also the deepest "more" page


@dataclass
class Service:
    index: Index
    corpus_path: Path | None = None
    top_k: int = 3
    generation: str = ""

    def __post_init__(self) -> None:
        if not self.generation:
            self.generation = corpus_generation(self.index.passages)
        self._position = {p.key: i for i, p in enumerate(self.index.passages)}
        self._examples: dict[int, tuple[str, ...]] = {}  # example_questions, by n

    @classmethod
    def from_corpus(cls, corpus_path: Path, top_k: int = 3, data_dir: Path | None = None) -> Service:
        return cls(load_or_build(corpus_path, data_dir), corpus_path, top_k)

    def reloaded(self, data_dir: Path | None = None) -> Service:
        """A new service over the re-read corpus; raises CorpusError and leaves this one intact."""
        if self.corpus_path is None:
            raise ValueError("this service was not built from a corpus path")
        # Same text, same generation: the old buttons stay valid (what they point to is in the store).
        return Service(load_or_build(self.corpus_path, data_dir), self.corpus_path, self.top_k)

    # -- answering

    def ask(self, question: str, k: int | None = None, offset: int = 0) -> Answer:
        k = self.top_k if k is None else k
        k = max(0, min(k, MAX_RESULTS - offset))
        return answering.answer(self.index, question, k=k, offset=offset)

    def read(
        self, question: str, previous: followup.Previous | None = None, *, replied: bool = False
    ) -> followup.FollowUp:
        """Answer a question read in the context of the one it follows (``bot/answering/followup.py``)."""
        return followup.read(
            self.index, question, previous, lambda q, offset: self.ask(q, offset=offset), replied=replied
        )

    # -- passages by position (for "full paragraph" buttons)

    def position(self, passage: Passage) -> int:
        return self._position[passage.key]

    def passage_at(self, position: int) -> Passage | None:
        if 0 <= position < len(self.index.passages):
            return self.index.passages[position]
        return None

    # -- what the bot knows

    def documents(self) -> list[tuple[str, int]]:
        """(title, passages) per document, in corpus order."""
        counts: dict[str, int] = {}
        for p in self.index.passages:
            counts[p.title] = counts.get(p.title, 0) + 1
        return list(counts.items())

    def example_questions(self, n: int = 3) -> list[str]:
        """Questions built from terms the corpus itself marks in quotes, from different documents
        (worked out once per service: every greeting and /start shows them, and finding them
        reads every passage for every term)."""
        if n not in self._examples:
            self._examples[n] = tuple(self._find_examples(n))
        return list(self._examples[n])

    def _find_examples(self, n: int) -> list[str]:
        seen_docs: set[str] = set()
        out: list[str] = []
        by_spread = sorted(self.index.user_terms, key=lambda t: (-self._term_spread(t), t))
        for term in by_spread:
            doc = next((p.doc for p in self.index.passages if term in p.text), None)
            if doc is None or doc in seen_docs or not 3 <= len(term) <= 8 or not text.is_han(term):
                continue
            seen_docs.add(doc)
            out.append(f"“{term}”是什么？")
            if len(out) == n:
                break
        return out

    def _term_spread(self, term: str) -> int:
        return sum(term in p.text for p in self.index.passages)


def corpus_generation(passages: list[Passage]) -> str:
    """Six hex digits that change when the indexed text changes (stale-button detection)."""
    h = hashlib.blake2s(digest_size=3)
    for p in passages:
        h.update(p.key.encode())
        h.update(p.text.encode())
    return h.hexdigest()


def base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out
