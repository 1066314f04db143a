"""Does the corpus answer the question? A logistic regression over signals of the whole result.

The signals describe how well the best passage (and the runner-up) match the question, in both
BM25 views, and what of the question the corpus lacks altogether. The model is fitted offline by
``training/fit_decision.py`` (CMRC 2018 ``trial`` questions over their own corpus, over it
without their passage, and over the seed corpus) and its coefficients ship in
``bot/answering/data/decision.json``; nothing is fitted or fetched at run time.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from bot.answering import reader
from bot.search.bm25 import K1
from bot.search.index import Hit, Index, Query

MODEL_PATH = Path(__file__).with_name("data") / "decision.json"

FEATURES = (
    "coverage",  # idf-weighted share of the question's words the best passage holds
    "coverage_2",  # the same for the runner-up
    "word_bm25",  # the best passage's word score / the most the question's words could score
    "gram_bm25",  # the same for character unigrams + bigrams
    "chars_held",  # idf-weighted share of the question's characters the best passage holds
    "bigrams_held",  # idf-weighted share of the question's character bigrams it holds
    "words_unknown",  # idf-weighted share of the question's words the corpus never uses
    "bigrams_unknown",  # share of the question's character bigrams the corpus never uses
    "missing_idf",  # idf of the rarest question word the best passage lacks / the largest idf
    "log_words",  # log(1 + distinct question words)
    "log_matched",  # log(1 + question words the best passage holds)
    "score_gap",  # 1 - runner-up's score / best score (after reranking)
    "gram_gap",  # 1 - runner-up's raw gram score / best passage's
    "unknown_general",  # share of the question's words, weighed by their rarity in Chinese at
    # large (jieba's dictionary counts), that the corpus never uses: a rare name the corpus lacks
    # says more than an everyday word it happens not to use
    "unknown_rarest",  # rarity in Chinese at large of the rarest word the corpus never uses
    "topical_max",  # how much more often than in Chinese at large the corpus uses the question's
    # most corpus-specific word (log ratio, / 10): a question about the corpus' topics has one
    "topical_sum",  # the same summed over the question's words (positive parts only, / 10)
    "rarest_unknown",  # rarity of the rarest word the corpus lacks - of the rarest it has: the
    # question's most telling word is missing when this is positive
    "asks_slot",  # 1 when the question asks for a typed slot (a number, a time, a person, a place)
    "slot_found",  # the reader's confidence in the best candidate of that type in the first
    # passages (0 when none stands there; 0 when no slot is asked)
    "names_unknown",  # share of the question's words that are names (a place, a person, an
    # organisation, by jieba's dictionary tags) the corpus never uses, not even cut another way:
    # it asks about something else
    "names_unknown_any",  # 1 when there is one
    "numbers_missing",  # share of the question's numbers (2023, 11, ...) that the best passage,
    # its document's title and name lack: a figure for another year
    "numbers_asked",  # 1 when the question holds a number of two digits or more
)

_NUMBERS = re.compile(r"[0-9]{2,}(?:\.[0-9]+)?")


@dataclass(frozen=True)
class Model:
    """Standardise, then a logistic regression; ``threshold`` is the operating point."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float

    def probability(self, x: np.ndarray) -> np.ndarray:
        z = ((x - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))


@cache
def load_model(path: Path = MODEL_PATH) -> Model:
    data = json.loads(path.read_text(encoding="utf-8"))
    if tuple(data["features"]) != FEATURES:
        raise ValueError(f"{path}: fitted on other features; run training/fit_decision.py")
    return Model(
        np.asarray(data["mean"], float), np.asarray(data["scale"], float), np.asarray(data["coef"], float),
        float(data["intercept"]), float(data["threshold"]),
    )


def signals(index: Index, q: Query, hits: Sequence[Hit], verdict: float | None = None) -> np.ndarray:
    """The FEATURES of a result (all zeros when nothing matched); ``verdict`` is the reader's
    ``slot_verdict`` of the first passages (None: the question asks for no typed slot)."""
    x = np.zeros(len(FEATURES))
    if not hits:
        return x
    top = hits[0]
    second = hits[1] if len(hits) > 1 else None
    words = list(dict.fromkeys(q.words))
    grams = list(dict.fromkeys(q.grams))
    unigrams = [g for g in grams if len(g) == 1]
    bigrams = [g for g in grams if len(g) == 2]
    top_idf = index.unknown_idf

    word_idf = {w: index.words.term_idf(w) for w in words}
    known_w = sum(max(v, 0.0) for v in word_idf.values() if v is not None)
    unknown_w = sum(top_idf for v in word_idf.values() if v is None)
    gram_idf = {g: index.grams.term_idf(g) for g in grams}
    known_g = sum(max(v, 0.0) for v in gram_idf.values() if v is not None)

    x[0] = top.coverage
    x[1] = second.coverage if second else 0.0
    x[2] = top.word_score / ((K1 + 1) * (known_w + unknown_w)) if words else 0.0
    x[3] = top.gram_score / ((K1 + 1) * known_g) if known_g > 0 else 0.0
    x[4] = _held_share(index, unigrams, gram_idf, top.row, top_idf)
    x[5] = _held_share(index, bigrams, gram_idf, top.row, top_idf)
    x[6] = unknown_w / (known_w + unknown_w) if words and known_w + unknown_w > 0 else 0.0
    x[7] = sum(gram_idf[g] is None for g in bigrams) / len(bigrams) if bigrams else 0.0
    missing = [
        top_idf if word_idf[w] is None else max(word_idf[w] or 0.0, 0.0) for w in words if w not in top.matched
    ]
    x[8] = max(missing, default=0.0) / top_idf if top_idf > 0 else 0.0
    x[9] = math.log1p(len(words))
    x[10] = math.log1p(len(top.matched))
    x[11] = 1.0 - second.score / top.score if second and top.score > 0 else 1.0
    x[12] = 1.0 - second.gram_score / top.gram_score if second and top.gram_score > 0 else 1.0
    rarity = {w: general_rarity(index, w) for w in words}
    unknown = [w for w in words if word_idf[w] is None]
    total = sum(rarity.values())
    x[13] = sum(rarity[w] for w in unknown) / total if total > 0 else 0.0
    x[14] = max((rarity[w] for w in unknown), default=0.0)
    topical = [topicality(index, w) for w in words if word_idf[w] is not None]
    x[15] = max(topical, default=0.0) / 10
    x[16] = sum(max(t, 0.0) for t in topical) / 10
    known = [rarity[w] for w in words if word_idf[w] is not None]
    x[17] = x[14] - max(known, default=0.0) if unknown else -max(known, default=0.0)
    x[18] = verdict is not None
    x[19] = verdict or 0.0
    names = [w for w in unknown if reader.is_name(w) and not _spelled(index, w)]
    x[20] = len(names) / len(words) if words else 0.0
    x[21] = bool(names)
    numbers = set(_NUMBERS.findall(q.text))
    if numbers:
        # (a document's name or title may date it where its paragraphs say 今年 or 上半年)
        p = top.passage
        held = set(_NUMBERS.findall(unicodedata.normalize("NFKC", f"{p.text} {p.title} {p.doc}")))
        x[22] = len(numbers - held) / len(numbers)
        x[23] = 1.0
    return x


def _spelled(index: Index, word: str) -> bool:
    """Every two characters of the word stand in the corpus: it is there, cut another way by
    jieba (the 刘节 of 刘节为什么受人敬仰, a word of the question but not of the passage)."""
    return len(word) >= 2 and all(index.grams.term_idf(word[i : i + 2]) is not None for i in range(len(word) - 1))


def topicality(index: Index, word: str) -> float:
    """log(share of passages holding the word / its share of Chinese text at large): how much
    more the corpus talks about it than Chinese text does."""
    tokenizer = index.segmenter.tokenizer
    freq = tokenizer.FREQ.get(word) or 1
    return math.log((index.words.df(word) + 0.5) / len(index)) - math.log(freq / tokenizer.total)


# Particles, auxiliaries and complements: a word jieba has never seen that holds one is two
# everyday words its guesser glued together (投了, 没来, 能领, 完泳), not a rare name.
_GLUE = frozenset("了着过的地得吗呢吧啊么没不能会要就都也还把被给让完掉")


def general_rarity(index: Index, word: str) -> float:
    """How rare the word is in Chinese at large, 0 (everyday) .. 1 (not in jieba's dictionary):
    its self-information by jieba's counts, over that of a word jieba has never seen. A word
    jieba never saw that holds a particle (``_GLUE``) is as rare as its rarest character."""
    tokenizer = index.segmenter.tokenizer
    most = math.log(tokenizer.total)
    freq = tokenizer.FREQ.get(word) or 0
    if freq > 0:
        return math.log(tokenizer.total / freq) / most
    if len(word) > 1 and any(c in _GLUE for c in word):
        return max(general_rarity(index, c) for c in word)
    return 1.0


def _held_share(index: Index, terms: list[str], idf: dict[str, float | None], row: int, unknown: float) -> float:
    """idf-weighted share of ``terms`` (character n-grams) that passage ``row`` holds."""
    total = held = 0.0
    for t in terms:
        weight = unknown if idf[t] is None else max(idf[t] or 0.0, 0.0)
        total += weight
        if idf[t] is not None and index.grams.holds_rows(t, [row])[0]:
            held += weight
    return held / total if total > 0 else 0.0


def confidence(
    index: Index, q: Query, hits: Sequence[Hit], verdict: float | None = None, model: Model | None = None
) -> float:
    """The probability that the best passage answers the question (0 when nothing matched)."""
    if not hits:
        return 0.0
    model = model or load_model()
    return float(model.probability(signals(index, q, hits, verdict)[None, :])[0])
