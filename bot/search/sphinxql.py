"""The index on a search engine: Sphinx Search 2.2 or Manticore, spoken to in SphinxQL.

The engine holds every passage's two views as full-text fields (the bot's own jieba words and
character n-grams, as keywords: ``keyword``) and, as string attributes, the passage and its
segmented words (``runs``). For a question the bot segments it itself and asks the engine, in one
round trip, for the ``FETCH`` best passages of each view (any of the question's keywords, the
engine's own BM25) with their runs, and for the keywords' document frequencies in the whole corpus
(``SHOW META`` of a distributed index sums its shards). It then scores the candidates with the
embedded index's Okapi BM25 on the corpus-wide statistics (passages, mean lengths, idf floor:
``Meta``, written at build time), and fuses and reranks them with ``Index``'s own code. The answers
are the embedded index's, except when a passage it would rank first (or the best of a view, which
sets the fusion's scale) is not among the engine's candidates (``disagreement``).

Only SphinxQL that Sphinx 2.2 and Manticore both accept is used: ``MATCH('@field (a|b)')``,
``OPTION ranker=bm25, global_idf=1, max_matches``, ``SHOW META``, ``WHERE id IN``, multi-statements.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np
import pymysql
from pymysql.constants import CLIENT

from bot.search import text
from bot.search.bm25 import EPSILON, K1, WEIGHT_DTYPE, B, log_idf_max, unfloored_idf
from bot.search.corpus import Passage
from bot.search.index import Hit, Index, Query, fuse

log = logging.getLogger(__name__)

INDEX = "passages"  # the distributed index on the head searchd (its shards: passages_0, ...)
META_INDEX = "passages_meta"  # one document: the corpus-wide statistics (Meta), on the head
FETCH = 100  # candidates asked of the engine for each view
MAX_KEYWORD = 40  # characters; Sphinx cuts a keyword at 42
# What the engine ranks candidates by: its own BM25 (the scores here are computed again).
RANKER = "bm25"
CACHED_ROWS = 20_000  # candidates' tokens kept (the decision reads the best one's after search)
CACHED_TERMS = 200_000  # document frequencies kept
# The first passage of every shard also holds this keyword (outside the views' keywords: nothing
# scores it): how many shards answered is how many such passages a search for it finds.
SHARD_MARK = "_shard"
_PURE = re.compile(f"[0-9a-z{text.HAN_CHARS}]+")
# What keywords are made of (the "_" of the view prefixes, and text.HAN_CHARS): anything else
# separates keywords.
CHARSET_TABLE = "0..9, a..z, U+5F, U+3400..U+4DBF, U+4E00..U+9FFF, U+F900..U+FAFF"


class EngineError(Exception):
    """The engine cannot be reached or answers nonsense: one line naming SPHINXQL_URL."""


def keyword(token: str, gram: bool = False) -> str:
    """The engine's keyword for a token of the word view (or of the gram view: ``gram``).

    A token of digits, a..z and Chinese characters is its own keyword (the engine's charset
    keeps it whole); any other (3.4, covid-19, a long one) is a hash. Gram keywords start with
    ``_g`` (or ``_x``, hashed), hashed words with ``_w``: the views never share a keyword, so the
    engine's document frequency of a keyword is that of one view.
    """
    if _PURE.fullmatch(token) and len(token) <= MAX_KEYWORD - 2:
        return "_g" + token if gram else token
    return ("_x" if gram else "_w") + hashlib.blake2b(token.encode(), digest_size=12).hexdigest()


def views(runs: Sequence[str | None]) -> tuple[list[str], list[str]]:
    """(words, character n-grams) of a text's ``Segmenter.content_runs``, as ``Segmenter.analyse``."""
    return [t for t in runs if t is not None], text.char_ngrams(runs)


@dataclass(frozen=True)
class Meta:
    """What the Okapi scores need beyond one passage: counted over the whole corpus at build time."""

    n_docs: int
    lengths: tuple[int, int]  # tokens in all passages, (words, grams): avgdl = lengths / n_docs
    idf_floor: tuple[float, float]  # EPSILON x the mean idf over each view's vocabulary
    user_terms: tuple[str, ...]  # the corpus' terms, in the segmenter's dictionary
    shards: int = 1
    k1: float = K1
    b: float = B
    epsilon: float = EPSILON

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, data: str) -> Meta:
        d = json.loads(data)
        return cls(int(d["n_docs"]), tuple(d["lengths"]), tuple(d["idf_floor"]), tuple(d["user_terms"]),
                   int(d["shards"]), float(d["k1"]), float(d["b"]), float(d["epsilon"]))


def passage_json(p: Passage) -> str:
    """A passage as the engine stores it (the paragraph only when it is more than the passage)."""
    context = None if p.context == p.text else p.context
    return json.dumps([p.doc, p.title, p.paragraph, p.part, p.text, context], ensure_ascii=False)


def passage_from_json(data: str) -> Passage:
    doc, title, paragraph, part, body, context = json.loads(data)
    return Passage(doc, title, paragraph, body, part, body if context is None else context)


# --------------------------------------------------------------------------- the engine's side


@dataclass
class Candidate:
    """A passage the engine returned: its views' lengths, how often it holds the terms it was asked
    about (``tf``, per view: those it holds; ``asked``: all of them) and the passage (parsed when
    read). ``asked`` None: ``tf`` counts every term of the passage (from its runs)."""

    lengths: tuple[int, int]
    tf: tuple[dict[str, int], dict[str, int]]
    asked: tuple[frozenset[str], frozenset[str]] | None
    data: str  # passage_json

    @property
    def passage(self) -> Passage:
        return passage_from_json(self.data)

    def knows(self, term: str, view: int) -> bool:
        return self.asked is None or term in self.tf[view] or term in self.asked[view]


def counted(runs: Sequence[str | None], data: str, asked: tuple[frozenset[str], frozenset[str]] | None) -> Candidate:
    """A candidate from its runs: counted for the ``asked`` terms (None: for every term)."""
    words = Counter(t for t in runs if t is not None)
    wlen = sum(words.values())
    if asked is None:
        grams = Counter(text.char_ngrams(runs))
        return Candidate((wlen, sum(grams.values())), (dict(words), dict(grams)), None, data)
    glen, grams_tf = text.char_ngram_counts(runs, asked[1])
    tf = ({w: words[w] for w in asked[0] if w in words}, {g: n for g, n in grams_tf.items() if n})
    return Candidate((wlen, glen), tf, asked, data)


class EngineTerms:
    """One view's global term statistics and its candidates' tokens: what the answer logic reads of
    a ``SparseBM25`` (``term_idf``, ``df``, ``holds_rows``)."""

    def __init__(self, engine: EngineIndex, gram: bool):
        self.engine, self.gram = engine, gram
        self.view = 1 if gram else 0

    def df(self, term: str) -> int:
        return self.engine.document_frequencies([term], self.gram)[term]

    def term_idf(self, term: str) -> float | None:
        return self.idf(term, self.df(term))

    def idf(self, term: str, df: int) -> float | None:
        """rank_bm25's Okapi idf on the corpus-wide counts (None: no passage holds the term)."""
        if df <= 0:
            return None
        idf = float(unfloored_idf(np.array([df], np.float64), self.engine.meta.n_docs)[0])
        return idf if idf >= 0 else self.engine.meta.idf_floor[self.view]

    def holds_rows(self, term: str, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        cands = self.engine.candidates([int(r) for r in rows], (term, self.view))
        return np.array([c.tf[self.view].get(term, 0) > 0 for c in cands], dtype=bool)


class EnginePassages(Sequence[Passage]):
    """The engine's passages by row (row r is document id r + 1), fetched as needed."""

    def __init__(self, engine: EngineIndex):
        self.engine = engine

    def __len__(self) -> int:
        return self.engine.meta.n_docs

    @overload
    def __getitem__(self, i: int) -> Passage: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[Passage]: ...

    def __getitem__(self, i: int | slice) -> Passage | Sequence[Passage]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        return self.engine.candidates([i % len(self)])[0].passage

    def __iter__(self) -> Iterator[Passage]:
        """Every passage in row order, a page at a time (a whole corpus: for small ones only)."""
        last, page = 0, 1000
        while True:
            rows = self.engine.sql(
                f"SELECT id, passage FROM {self.engine.name} WHERE id > {last} ORDER BY id ASC LIMIT {page} "
                f"OPTION max_matches={page}"
            )[0]
            for _, data in rows:
                yield passage_from_json(data)
            if len(rows) < page:
                return
            last = int(rows[-1][0])


class EngineIndex(Index):
    """An ``Index`` whose passages live in a search engine (``url``: host:port of the head searchd).

    Everything the answer logic calls is here: ``query``, ``search``, ``coverages``, ``words`` /
    ``grams`` (``EngineTerms``), ``passages`` (``EnginePassages``), ``unknown_idf``, ``segmenter``.
    Thread-safe: a connection per thread, the caches behind a lock.
    """

    # The answer logic is typed against Index; these read-only stand-ins give it what it reads.
    words: EngineTerms  # type: ignore[assignment]
    grams: EngineTerms  # type: ignore[assignment]
    passages: EnginePassages  # type: ignore[assignment]

    def __init__(self, url: str, *, name: str = INDEX, cache_dir: Path | None = None, fetch: int = FETCH,
                 timeout: float = 10.0, unigrams: bool = True):
        host, _, port = url.rpartition(":")
        if not host or not port.isdigit():
            raise EngineError(f"SPHINXQL_URL is malformed: {url!r} is not host:port")
        self.url, self.host, self.port = url, host, int(port)
        self.name, self.fetch, self.timeout = name, fetch, timeout
        # unigrams=False: the gram view's candidates are asked for by the question's bigrams only
        # (single characters match half the corpus: 6.5 ms of the engine's time at 10^5 passages
        # against 0.2 ms); they are still scored here.
        self.unigrams = unigrams
        self._local = threading.local()
        self._lock = threading.Lock()
        self._rows: OrderedDict[int, Candidate] = OrderedDict()
        self._df: tuple[dict[str, int], dict[str, int]] = ({}, {})
        rows = self.sql(f"SELECT meta FROM {META_INDEX} WHERE id = 1")[0]
        if not rows:
            raise EngineError(f"SPHINXQL_URL {url}: the engine has no {META_INDEX} (build it: python -m bot index "
                              "--backend sphinxql)")
        self.meta = Meta.from_json(rows[0][0])
        self.user_terms = list(self.meta.user_terms)
        self.segmenter = text.Segmenter(self.user_terms, cache_dir=cache_dir)
        self.words, self.grams = EngineTerms(self, False), EngineTerms(self, True)
        self.passages = EnginePassages(self)
        self.unknown_idf = log_idf_max(self.meta.n_docs)
        self.degraded = 0  # searches answered while a shard did not answer

    def __len__(self) -> int:
        return self.meta.n_docs

    # -- talking to the engine

    def _connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = pymysql.connect(host=self.host, port=self.port, charset="utf8", autocommit=True,
                                       client_flag=CLIENT.MULTI_STATEMENTS, connect_timeout=self.timeout,
                                       read_timeout=self.timeout, write_timeout=self.timeout)
            except pymysql.MySQLError as exc:
                raise EngineError(f"SPHINXQL_URL {self.url}: cannot reach searchd ({exc.args[-1]})") from None
            self._local.conn = conn
        return conn

    def sql(self, statements: str) -> list[tuple[tuple[Any, ...], ...]]:
        """The result sets of ``;``-separated statements, in one round trip (a dropped connection
        is opened again once)."""
        for attempt in (1, 2):
            conn = self._connection()
            try:
                with conn.cursor() as cur:
                    cur.execute(statements)
                    out = [cur.fetchall()]
                    while cur.nextset():
                        out.append(cur.fetchall())
                return out
            except pymysql.OperationalError as exc:
                self._local.conn = None
                conn.close()
                if attempt == 2:
                    raise EngineError(f"SPHINXQL_URL {self.url}: {exc.args[-1]}") from None
            except pymysql.MySQLError as exc:
                raise EngineError(f"SPHINXQL_URL {self.url}: {exc.args[-1]}") from None
        raise AssertionError("unreachable")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _note(self, meta: dict[str, str]) -> dict[str, int]:
        """The keywords' document frequencies from a SHOW META. When the engine warns that a searchd
        did not answer, count the shards that do: a mirror standing in loses nothing, a shard
        with none is a degraded answer (the other shards' passages only), logged."""
        warning = meta.get("warning")
        if warning:
            answering = self.shards_answering()
            if answering < self.meta.shards:
                self.degraded += 1
                log.warning("degraded answer: %d of %d shards of %s did not answer; ranking without their "
                            "passages (%s)", self.meta.shards - answering, self.meta.shards, self.url, warning)
            else:
                log.warning("a searchd of %s did not answer, a mirror did: no passage lost (%s)", self.url, warning)
        found = {}
        for key, value in meta.items():
            if key.startswith("keyword["):
                found[value] = int(meta["docs" + key[len("keyword"):]])
        return found

    def shards_answering(self) -> int:
        """How many of the engine's shards answer now."""
        rows = self.sql(f"SELECT id FROM {self.name} WHERE MATCH('@words {SHARD_MARK}') "
                        f"LIMIT {self.meta.shards} OPTION max_matches={max(self.meta.shards, 1)}")[0]
        return len(rows)

    # -- statistics and candidates, cached

    def document_frequencies(self, terms: Sequence[str], gram: bool) -> dict[str, int]:
        """How many passages of the whole corpus hold each term (0: none), asking the engine for
        those not cached (one query, none of its rows fetched)."""
        cache = self._df[int(gram)]
        with self._lock:
            out = {t: cache[t] for t in terms if t in cache}
        missing = [t for t in dict.fromkeys(terms) if t not in out]
        if missing:
            by_keyword = {keyword(t, gram): t for t in missing}
            field = "grams" if gram else "words"
            meta = dict(self.sql(
                f"SELECT id FROM {self.name} WHERE MATCH('@{field} ({'|'.join(by_keyword)})') LIMIT 1 "
                "OPTION ranker=none, max_matches=1; SHOW META"
            )[1])
            found = self._note(meta)
            fresh = {t: found.get(k, 0) for k, t in by_keyword.items()}
            self._remember_df(fresh, gram)
            out.update(fresh)
        return out

    def _remember_df(self, found: dict[str, int], gram: bool) -> None:
        cache = self._df[int(gram)]
        with self._lock:
            if len(cache) + len(found) > CACHED_TERMS:
                cache.clear()
            cache.update(found)

    def candidates(self, rows: Sequence[int], term: tuple[str, int] | None = None) -> list[Candidate]:
        """The candidates of these rows, from the cache or else fetched; ``term`` (term, view): each
        must know how often it holds that term (else its runs are fetched and counted)."""
        with self._lock:
            have = {r: self._rows[r] for r in rows if r in self._rows}
        missing = sorted(r for r in set(rows) if r not in have or (term is not None and not have[r].knows(*term)))
        if missing:
            ids = ",".join(str(r + 1) for r in missing)
            found = self.sql(f"SELECT id, runs, passage FROM {self.name} WHERE id IN ({ids}) "
                             f"LIMIT {len(missing)} OPTION max_matches={max(len(missing), 1)}")[0]
            complete = {int(doc_id) - 1: counted(json.loads(runs), data, None) for doc_id, runs, data in found}
            self._remember(complete)
            have.update(complete)
            if len(have) < len(set(rows)):
                raise EngineError(f"SPHINXQL_URL {self.url}: rows {sorted(set(rows) - set(have))[:5]} not found")
        return [have[r] for r in rows]

    def _remember(self, found: dict[int, Candidate]) -> None:
        with self._lock:
            for row, cand in found.items():
                old = self._rows.pop(row, None)
                self._rows[row] = old if old is not None and old.asked is None else cand
            while len(self._rows) > CACHED_ROWS:
                self._rows.popitem(last=False)

    # -- searching

    def search(self, question: str | Query, k: int = 3) -> list[Hit]:
        q = question if isinstance(question, Query) else self.query(question)
        rows, sw, sg = self.scored(q)
        if not len(rows):
            return []
        fused, scale, raw_words, word_share = fuse(sw, sg, np.empty_like(sw))
        return self._reranked(q, k, fused, scale, raw_words, word_share, rows)

    def scored(self, q: Query) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The engine's candidates for the question (rows, ascending) and their word and gram
        scores, as the embedded models would score them (float32 sums, term by term).

        One round trip asks, for each view, for the ``fetch`` passages the engine ranks best on any
        of the question's keywords in that view (its plain BM25: the cheapest ranker; an expression
        ranker costs five times as much at 10^5 passages), with their runs, counted here for the
        question's terms, and the keywords' document frequencies in the whole corpus (SHOW META).
        Each view's own best passages are there, so the fusion's normalisation (by each view's
        best score) is the embedded one's.
        """
        terms = [(t, 0) for t in dict.fromkeys(q.words)] + [(t, 1) for t in dict.fromkeys(q.grams)]
        statements = []
        asking = terms
        if not self.unigrams and any(len(t) > 1 and v == 1 for t, v in terms):
            asking = [(t, v) for t, v in terms if v == 0 or len(t) > 1 or not text.is_han(t)]
        for view, field in ((0, "words"), (1, "grams")):
            keywords = [keyword(t, bool(view)) for t, v in asking if v == view]
            if keywords:
                statements.append(
                    f"SELECT id, runs, passage FROM {self.name} WHERE MATCH('@{field} ({'|'.join(keywords)})') "
                    f"LIMIT {self.fetch} OPTION ranker={RANKER}, global_idf=1, max_matches={self.fetch}; SHOW META"
                )
        if not statements:
            return np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0, np.float32)
        results = self.sql("; ".join(statements))
        df: dict[str, int] = {}
        warned = False
        for meta_rows in results[1::2]:
            meta = dict(meta_rows)
            if warned:  # one look at the shards a search
                meta.pop("warning", None)
            warned = warned or "warning" in meta
            df.update(self._note(meta))
        for view in (0, 1):
            self._remember_df({t: df[keyword(t, bool(view))] for t, v in terms
                               if v == view and keyword(t, bool(view)) in df}, bool(view))
        asked = (frozenset(q.words), frozenset(q.grams))
        found = {}
        for result in results[0::2]:
            for doc_id, runs, data in result:
                if int(doc_id) - 1 not in found:
                    found[int(doc_id) - 1] = counted(json.loads(runs), data, asked)
        self._remember(found)
        rows = np.array(sorted(found), dtype=np.int64)
        cands = [found[int(r)] for r in rows]
        return rows, self._scores(q.words, cands, False), self._scores(q.grams, cands, True)

    def _scores(self, tokens: Sequence[str], cands: Sequence[Candidate], gram: bool) -> np.ndarray:
        """``SparseBM25.scores`` of the candidates: each term's weights computed in float64 and
        kept in float32, summed term by term in float32, a repeated query term counted again."""
        meta, view = self.meta, int(gram)
        terms = Counter(tokens)
        scores = np.zeros(len(cands), np.float32)
        if not terms or not cands:
            return scores
        df = self.document_frequencies(list(terms), gram)
        avgdl = meta.lengths[view] / meta.n_docs
        dl = np.array([c.lengths[view] for c in cands], dtype=np.float64)
        norm = meta.k1 * (1 - meta.b + meta.b * dl / avgdl)
        terms_view = self.grams if gram else self.words
        for t, rep in terms.items():
            idf = terms_view.idf(t, df[t])
            if idf is None:
                continue
            tf = np.array([c.tf[view].get(t, 0) for c in cands], dtype=np.float64)
            w = (tf * (meta.k1 + 1) / (tf + norm) * idf).astype(WEIGHT_DTYPE)
            if rep != 1:
                w *= rep
            np.add(scores, w, out=scores)
        return scores


def disagreement(embedded: Index, engine: EngineIndex, question: str) -> str | None:
    """Why the engine's first passage for the question is not the embedded index's: None (it
    is), "tie" (the two score the same in the embedded ranking), "cut" (the embedded first
    passage, or a view's best passage, which sets the fusion's scale, is not among the engine's
    candidates) or "other" (a bug)."""
    mine, theirs = embedded.search(question, 1), engine.search(question, 1)
    if [h.passage.key for h in mine] == [h.passage.key for h in theirs]:
        return None
    if mine and theirs:
        there = [h for h in embedded.search(question, len(embedded)) if h.passage.key == theirs[0].passage.key]
        if there and abs(there[0].score - mine[0].score) <= 1e-6 * max(mine[0].score, 1e-9):
            return "tie"
    q = embedded.query(question)
    rows, _, _ = engine.scored(q)
    needed = {mine[0].row} if mine else set()
    for model, tokens in ((embedded.words, q.words), (embedded.grams, q.grams)):
        scores = model.scores(tokens)
        if len(scores) and scores.max() > 0:
            needed.add(int(scores.argmax()))
    return "cut" if needed - set(rows.tolist()) else "other"
