"""The reader: the shortest span of a passage that answers the question, with a confidence.

Asked ``康城社区一共住了多少户人家？`` of a passage that says ``…康城社区共有居民6558户…``, it returns
``Span("6558户", …)``: a number with its unit, a date or year, a person, a place, an organisation,
a name in quotes, or a short phrase for 是什么/有哪些.

How: the passage is cut into words (jieba, with the caller's dictionary); each word gets a coarse
part of speech (jieba's dictionary tags; digits, Latin, punctuation and unknown words by their
shape). Every run of up to ``MAX_WORDS`` words inside a sentence is a candidate, as are longer
runs that start or end a clause (the long answers of 是什么) and names in quotes. Each candidate
is described by features: does its kind (quantity, time, person, place, organisation, quoted
name) fit what the question asks (``asked_type``); do the question's words that stand before the
question word (the 党员有 of 党员有多少名) stand just before the candidate, and those after (名)
just after; how near it is to the question's words; does it repeat them; its length, its ends and
their parts of speech. Two log-linear models rank the candidates of one question against each
other (softmax): a cheap one over all of them, by what their first and last words, their
sentence and their shape tell (CHEAP: worked out once per word of the passage, then looked up),
then a richer one over the best ``SHORTLIST``, by all of that and by how near each of the
question's words stands to each candidate (DETAIL: a number per word and candidate, read for
the shortlist alone).
A third turns the winner's probability and margin into a confidence: the probability that the
span is right (F1 >= 0.5 with a gold answer, as CMRC 2018 scores it). All three are fitted
offline by ``training/fit_reader.py`` on CMRC 2018 dev; their coefficients ship in
``bot/answering/data/reader.json``.

Everything here is pure: strings in, a ``Span`` (or None) out.
"""

from __future__ import annotations

import json
import math
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from pathlib import Path

import numpy as np

from bot.search import text

MODEL_PATH = Path(__file__).with_name("data") / "reader.json"

MAX_WORDS = 8  # longest candidate, in words, that need not end a clause
MAX_CLAUSE_WORDS = 30  # ... and one that does
SENTENCES = 99  # sentences read per passage, those that hold most of the question's words (all, nearly always)
SHORTLIST = 32  # candidates the first model passes to the second
PASSAGES = 1  # passages best_span reads, best first (the time of an answer is in each one read)


@dataclass(frozen=True)
class Span:
    """An answer as it stands in a passage: ``passages[passage][start:end] == text``."""

    text: str
    start: int
    end: int
    confidence: float  # probability that it is right (F1 >= 0.5 with a gold answer)
    kind: str  # one of KINDS
    passage: int = 0  # which of the passages read


# --------------------------------------------------------------------------- what is asked

# What a question asks for; the first that matches wins (哪一年 is a time before 哪 is anything).
_ASKS = (
    ("duration", r"多久|多长时间|多少(?:年|天|个月|周|小时|分钟|秒)(?![前后以])"
                 r"|几(?:年|天|个月|周|个?小时|分钟|秒)(?![前后级])"),
    ("time", r"哪一?年|哪一?天|何年|何时|什么时[候间期]|哪个?时[候间期]|几月|几号|哪个?月|几点|哪个?朝代|什么朝代|"
             r"哪个?年代|什么年代|哪一?世纪|年份|日期|几几年"),
    ("person", r"谁|哪一?位|哪个人|哪些人|什么人|何人|哪名"),
    ("place", r"哪里|哪儿|何地|何处|什么地方|哪个?地方|在哪|去哪|"
              r"(?:哪|什么)[一个座所条片]?(?:国家?|城市?|省份?|市|县|区|街道|社区|镇|乡|村|地区|州|洲|大洲|岛|山|河|湖|海|大陆)"),
    ("org", r"(?:哪|什么)[一个家所支]?(?:公司|企业|机构|组织|单位|部门|大学|学校|学院|银行|球队|俱乐部|团体|政党|党派|"
            r"出版社|电视台|医院|集团|队|厂商|媒体|报纸|杂志|网站|乐队|组合)"),
    ("quantity", r"多少|几|多[大高长远重深宽厚快老]|百分之几|第几|几成"),
    ("name", r"叫什么|叫做什么|名字|名称|称为什么|称作什么|什么名|简称|别称|别名|又称|原名|全称|"
             r"代号|外号|称号|绰号|昵称|"
             r"哪[部本首篇]|什么(?:书|作品|歌|电影|电视剧|游戏|专辑|小说)"),
    ("phrase", r"是什么|什么是|有哪些|哪些|什么样|(?<!为)什么|哪[个种类样一]|何种|啥"),
)
ASKED = tuple(name for name, _ in _ASKS)  # asked_type's answers; None: why, how, yes or no
_ASKS_RE = tuple((name, re.compile(pattern)) for name, pattern in _ASKS)
_ASKED_ID = {name: i for i, name in enumerate(ASKED)}
_NONE_ID = len(ASKED)  # the row of questions that ask for none of ASKED

# The question word itself: where the answer stands in the question's own wording.
_WH = re.compile(
    r"多少|几|哪[一个些种位里儿家所座条部本首篇类样年天名]?|什么|谁|何[时地处人种年]?|啥|怎么|怎样|如何|为什么|为何|"
    r"多[大高长远重深宽厚久快老]"
)

KINDS = ("quantity", "time", "person", "place", "org", "name", "phrase")  # "phrase": anything else
_KIND_ID = {k: i for i, k in enumerate(KINDS)}
# The kind of candidate that fills each typed slot (a duration is a quantity with a unit of time).
SLOT_KINDS = {
    "duration": "quantity", "time": "time", "person": "person", "place": "place", "org": "org",
    "quantity": "quantity",
}


@lru_cache(maxsize=1 << 12)
def asked_type(question: str) -> str | None:
    """What the question asks for: one of ASKED, or None (why, how, yes or no). (Cached: an
    answer asks it of its question three times.)"""
    q = _norm(question)
    for name, pattern in _ASKS_RE:
        if pattern.search(q):
            return name
    return None


# --------------------------------------------------------------------------- characters


@lru_cache(maxsize=1 << 16)
def _norm_char(ch: str) -> str:
    n = text.to_simplified(unicodedata.normalize("NFKC", ch).lower())
    return n if len(n) == 1 else ch


def _norm(s: str) -> str:
    """Full width to half width, lower case, traditional to simplified: one character for one,
    so offsets in the normalised text are offsets in the original."""
    return "".join(map(_norm_char, s))


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_NUMBER = re.compile(r"[0-9]+(?:[.,][0-9]+)*%?|[零〇一二两三四五六七八九十百千万亿]+")
_LATIN = re.compile(r"[a-z][a-z0-9\-.&']*")
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;\n]*[”’」』\"']?")
_STOPS = frozenset("，,：:。！？!?；;、\n")  # punctuation that ends a clause
_HARD_STOPS = frozenset("。！？!?；;\n")
_PUNCT = frozenset("，,。.：:？?！!；;、“”\"‘’'《》「」『』（）()[]【】—-…·~～/\\ \t\n")
_PAIRS = (("《", "》"), ("“", "”"), ("「", "」"), ("『", "』"), ("（", "）"), ("(", ")"))
_OPEN_ID = {a: k + 1 for k, (a, _) in enumerate(_PAIRS)}
_CLOSE_ID = {b: k + 1 for k, (_, b) in enumerate(_PAIRS)}
_QUOTE_KINDS = 4  # the first four pairs quote a name; brackets do not

_TIME = re.compile(
    r"(?:公元前?|前)?[0-9]{1,4}年(?:代|初|末|底)?(?:[0-9]{1,2}月(?:[0-9]{1,2}[日号])?)?(?:[上中下]旬)?|"
    r"[0-9]{1,2}月(?:[0-9]{1,2}[日号])?(?:[上中下]旬)?|[0-9]{1,2}[日号]|"
    r"(?:公元前?|前)?[一二三四五六七八九十〇零]{1,4}年代?(?:[一二三四五六七八九十]{1,3}月)?(?:[一二三四五六七八九十]{1,3}[日号])?|"
    r"[一二三四五六七八九十]{1,3}月(?:[一二三四五六七八九十]{1,3}[日号])?|"
    r"(?:公元前?)?[0-9一二三四五六七八九十]{1,3}世纪(?:[0-9一二三四五六七八九十]{1,3}年代)?(?:初|末|中叶|初期|中期|末期)?|"
    r"[\u4e00-\u9fff]{1,3}(?:朝|时期|年间)"
)
_QUANTITY = re.compile(
    r"(?:约|近|超过|逾|达|共|仅|多达|将近|大约)?第?"
    r"(?:[0-9]+(?:[.,][0-9]+)*|[零〇一二两三四五六七八九十百千万亿几]+)(?:多|余)?[百千万亿]*(?:多|余)?%?"
    r"[^\s，。、；：0-9]{0,4}?(?:以上|以下|左右|之多|多)?"
)
_NUMERALS = frozenset("零〇一二两三四五六七八九十百千万亿")
_TIME_UNITS = frozenset(("年", "月", "天", "日", "小时", "周", "星期", "分钟", "秒", "世纪", "个月", "年代", "号"))
_TIME_CHARS = frozenset("年月日号世纪朝代期间旬")
_PLACE_END = re.compile(
    r"(?:省|市|县|区|镇|乡|村|街道|社区|州|国|山|河|湖|岛|路|街|港|湾|江|海|洋|洲|峰|城|郡|府|寺|宫|站|桥)$"
)
_ORG_END = re.compile(
    r"(?:公司|集团|大学|学院|学校|中学|小学|医院|银行|委员会|协会|学会|研究所|研究院|中心|局|厅|署|组织|联盟|"
    r"俱乐部|队|党|会|社|厂|台|报|馆|部|办|委|院|所)$"
)
_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范"
    "金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄"
    "聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈"
    "饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫"
    "寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
# Words that introduce a definition, a name, a place, an agent or an amount just before an answer.
_BEFORE = (
    ("copula", frozenset({"是", "为", "乃", "系", "即", "就是", "便是", "则是", "都是", "也是", "即是", "均为",
                          "皆为"})),
    ("called", frozenset({"叫", "叫做", "称", "称为", "称作", "名为", "名叫", "简称", "又称", "别称", "原名",
                          "全称", "号", "代号", "俗称", "统称"})),
    ("located", frozenset({"在", "于", "位于", "地处", "坐落", "坐落于", "来自", "出生于", "生于", "到", "至", "从"})),
    ("agent", frozenset({"由", "被", "经", "据"})),
    ("count", frozenset({"有", "达", "约", "共", "共有", "达到", "超过", "约有", "总计", "合计", "累计", "仅",
                         "占", "近"})),
)
# Words whose place at a candidate's first or last word tells the most (one-hot in the second
# model): prepositions, copulas, conjunctions, adverbs, particles, units.
LEXICON = (
    "于", "为", "以", "在", "由", "被", "将", "把", "从", "向", "对", "是", "有", "曾", "已", "还", "即", "则", "而",
    "因", "因为", "由于", "通过", "作为", "成为", "称为", "位于", "包括", "以及", "共", "约", "近", "达", "该", "此",
    "这", "其", "一", "第", "等", "的", "了", "中", "上", "后", "时", "人", "年", "个", "名", "之一", "地区", "公司",
    "创作", "所", "主要", "分别", "先后", "并", "其中", "及",
)
_LEXICON_ID = {w: k + 1 for k, w in enumerate(LEXICON)}  # 0: any other word
_BAD_START = frozenset("的了着过地得之和与及或而并也又都就所")
_BAD_END = frozenset("和与及或而并在于把被对从向以为是将但")

# Coarse parts of speech: jieba's dictionary tags, grouped, and the shapes of the words it lacks.
POS = ("n", "nr", "ns", "nt", "nz", "v", "vn", "a", "d", "m", "q", "t", "f", "p", "c", "u", "r", "i", "x",
       "num", "eng", "punct", "oov")
_POS_ID = {p: i for i, p in enumerate(POS)}
_TAG_GROUP = {
    "n": "n", "ng": "n", "nrfg": "nr", "nr": "nr", "nrt": "nr", "ns": "ns", "nt": "nt", "nz": "nz",
    "v": "v", "vg": "v", "vd": "v", "vi": "v", "vq": "v", "vn": "vn", "a": "a", "ag": "a", "ad": "a", "an": "a",
    "b": "a", "z": "a", "d": "d", "dg": "d", "m": "m", "mq": "m", "q": "q", "t": "t", "tg": "t", "f": "f",
    "s": "f", "p": "p", "c": "c", "u": "u", "uj": "u", "ul": "u", "uv": "u", "uz": "u", "ud": "u", "ug": "u",
    "r": "r", "rr": "r", "rz": "r", "rg": "r", "i": "i", "l": "i", "j": "i",
}


POS_PATH = Path(__file__).with_name("data") / "pos.txt"


@cache
def _pos_table() -> dict[str, int]:
    """jieba's dictionary tags of the words whose tag tells (verbs, adjectives, adverbs, numerals,
    measure words, time words, prepositions, ...), by coarse POS id; read once, in milliseconds.

    The file (written by training/fit_reader.py from jieba's dict.txt) leaves out common nouns and
    idioms, and rare words but names: a word jieba knows and the table lacks is a noun
    (``_pos_of``). Reading jieba's whole dictionary instead takes a third of a second.
    """
    table: dict[str, int] = {}
    for block in POS_PATH.read_text(encoding="utf-8").split("\n@")[1:]:
        tag, _, words = block.partition("\n")
        table.update(dict.fromkeys(words.split(), _POS_ID[tag]))
    return table


def _pos_of(word: str, table: dict[str, int], freq) -> int:
    found = table.get(word)
    if found is not None:
        return found
    if any(c in _DOTS for c in word) and len(word) > 2:
        return _POS_ID["nr"]
    if all(c in _PUNCT or c.isspace() or not c.isalnum() for c in word):
        return _POS_ID["punct"]
    if _NUMBER.fullmatch(word):
        return _POS_ID["num"]
    if _LATIN.fullmatch(word):
        return _POS_ID["eng"]
    return _POS_ID["n"] if freq.get(word) else _POS_ID["oov"]


_default_lock = threading.Lock()


@cache
def default_segmenter() -> text.Segmenter:
    """jieba with its shipped dictionary alone (callers with an index pass its segmenter)."""
    with _default_lock:
        return text.Segmenter()


# --------------------------------------------------------------------------- a passage, cut


@dataclass(frozen=True)
class _Passage:
    """A passage's characters and sentences: what every question asks of them."""

    norm: str
    sentences: tuple[tuple[int, int], ...]  # character spans
    chars: np.ndarray  # code points
    char_sentence: np.ndarray  # sentence number of each character
    han: np.ndarray  # prefix counts of Han characters
    commas: np.ndarray  # prefix counts of commas
    des: np.ndarray  # prefix counts of 的
    balance: np.ndarray  # prefix counts of opening minus closing marks, one row per pair
    opener: np.ndarray  # per character: which pair it opens (0: none)
    closer: np.ndarray  # per character: which pair it closes

    @cached_property
    def sentence_of(self) -> list[int]:
        """char_sentence, as a list (looked up an item at a time)."""
        return self.char_sentence.tolist()

    @cached_property
    def bigram_sentences(self) -> dict[str, tuple[int, ...]]:
        """Each two characters that stand in a sentence: the sentences they stand in."""
        index: dict[str, set[int]] = {}
        for k, (a, b) in enumerate(self.sentences):
            for i in range(a, b - 1):
                index.setdefault(self.norm[i : i + 2], set()).add(k)
        return {g: tuple(ks) for g, ks in index.items()}


@lru_cache(maxsize=1 << 10)
def _passage(passage: str) -> _Passage:
    norm = _norm(passage)
    sentences = tuple((m.start(), m.end()) for m in _SENTENCE.finditer(norm))
    chars = _code_points(norm)
    char_sentence = np.zeros(len(norm), np.int64)
    for k, (a, b) in enumerate(sentences):
        char_sentence[a:b] = k
    opener = np.array([_OPEN_ID.get(c, 0) for c in norm], np.int64)
    closer = np.array([_CLOSE_ID.get(c, 0) for c in norm], np.int64)
    balance = np.zeros((len(_PAIRS), len(norm) + 1), np.int64)
    for k in range(len(_PAIRS)):
        balance[k, 1:] = np.cumsum((opener == k + 1).astype(np.int64) - (closer == k + 1))
    is_han = np.array([bool(_HAN.match(c)) for c in norm], bool)
    return _Passage(
        norm, sentences, chars, char_sentence, np.r_[0, np.cumsum(is_han)],
        np.r_[0, np.cumsum((chars == ord("，")) | (chars == ord(",")))], np.r_[0, np.cumsum(chars == ord("的"))],
        balance, opener, closer,
    )


@dataclass(frozen=True)
class _Words:
    """Sentences cut into words: per word, where it stands and what it is."""

    words: tuple[str, ...]
    starts: np.ndarray  # character offsets (in the passage)
    ends: np.ndarray
    pos: np.ndarray  # coarse POS id
    sentence: np.ndarray  # sentence number (in the passage)
    sentence_starts: np.ndarray  # its sentence's first character
    sentence_ends: np.ndarray  # ... and one past its last
    clause: np.ndarray  # clause number (clauses end at _STOPS and at sentence ends)
    clauses: int  # how many
    char_clause: np.ndarray  # per character of the passage: the clause number of its word (-1: none)
    stop: np.ndarray  # the word ends a clause (punctuation)
    ok_start: np.ndarray  # a candidate may start here
    ok_end: np.ndarray  # ... and end here
    before: np.ndarray  # which of _BEFORE the word is (0: none)
    marks: np.ndarray  # 1 的/之, 2 等, 3 a unit of time
    entity: np.ndarray  # the KINDS id the word would have on its own
    numeric: np.ndarray  # a number, or a word of time
    surname: np.ndarray  # a name, or an unknown word, that starts with a common surname
    lexical: np.ndarray  # its LEXICON id (0: none)
    last_chars: np.ndarray  # the code point of its last character
    first: np.ndarray  # every candidate: its first word ...
    last: np.ndarray  # ... and its last

    def __len__(self) -> int:
        return len(self.words)


@lru_cache(maxsize=1 << 12)
def _sentence_words(sentence: str, segmenter: text.Segmenter) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The words of one sentence and their offsets in it (cached: questions share sentences)."""
    cut = _cut(sentence, segmenter)
    return tuple(w for w, _, _ in cut), tuple(a for _, a, _ in cut)


@lru_cache(maxsize=1 << 10)
def _words(passage: str, chosen: tuple[int, ...], segmenter: text.Segmenter) -> _Words:
    """The ``chosen`` sentences of a passage, cut into words."""
    p = _passage(passage)
    table, freq = _pos_table(), segmenter.tokenizer.FREQ
    words: list[str] = []
    starts: list[int] = []
    sentence: list[int] = []
    for k in chosen:
        a, b = p.sentences[k]
        ws, offsets = _sentence_words(p.norm[a:b], segmenter)
        words.extend(ws)
        starts.extend(a + o for o in offsets)
        sentence.extend([k] * len(ws))
    n = len(words)
    starts_a = np.array(starts, np.int64)
    ends_a = starts_a + np.array([len(w) for w in words], np.int64)
    sentence_a = np.array(sentence, np.int64)
    pos = np.array([_pos_of(w, table, freq) for w in words], np.int64)
    stop = np.array([w.strip() in _STOPS or w.isspace() for w in words], bool)
    new_sentence = np.r_[True, sentence_a[1:] != sentence_a[:-1]] if n else np.zeros(0, bool)
    clause = np.cumsum(new_sentence | np.r_[False, stop[:-1]]) - 1 if n else np.zeros(0, np.int64)
    punct = pos == _POS_ID["punct"]
    ok_start = ~punct & np.array([w not in _BAD_START for w in words], bool)
    ok_end = ~punct & np.array([w not in _BAD_END for w in words], bool)
    before = np.array([next((k + 1 for k, (_, ws) in enumerate(_BEFORE) if w in ws), 0) for w in words], np.int64)
    marks = np.array([1 if w in ("的", "之") else 2 if w in ("等", "等等") else 3 if w in _TIME_UNITS else 0
                      for w in words], np.int64)
    entity = np.array([_word_kind(w, k) for w, k in zip(words, pos)], np.int64)
    numeric = np.array([k in (_POS_ID["num"], _POS_ID["m"], _POS_ID["t"]) or any(c in _TIME_CHARS for c in w)
                        for w, k in zip(words, pos)], bool)
    surname = np.array([w[0] in _SURNAMES and POS[k] in ("nr", "oov") for w, k in zip(words, pos)], bool)
    lexical = np.array([_LEXICON_ID.get(w, 0) for w in words], np.int64)
    first, last = _spans(words, pos, sentence_a, stop, ok_start, ok_end)
    bounds = np.array(p.sentences, np.int64).reshape(-1, 2)[sentence_a].T.copy()
    char_clause = np.full(len(p.norm), -1, np.int64)
    for a, b, k in zip(starts, ends_a.tolist(), clause.tolist()):
        char_clause[a:b] = k
    return _Words(
        tuple(words), starts_a, ends_a, pos, sentence_a, bounds[0], bounds[1], clause, int(clause[-1]) + 1 if n else 0,
        char_clause, stop, ok_start, ok_end, before, marks, entity, numeric, surname, lexical, p.chars[ends_a - 1],
        first, last,
    )


def _spans(
    words: Sequence[str], pos: np.ndarray, sentence: np.ndarray, stop: np.ndarray, ok_start: np.ndarray,
    ok_end: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(first word, last word) of every candidate: runs of up to MAX_WORDS words in a sentence;
    longer ones (to MAX_CLAUSE_WORDS) that end a clause; whatever stands in quotes."""
    n = len(words)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    firsts, lasts = [], []
    for length in range(1, MAX_WORDS + 1):
        i = np.arange(n - length + 1)
        j = i + length - 1
        keep = ok_start[i] & ok_end[j] & (sentence[i] == sentence[j])
        firsts.append(i[keep])
        lasts.append(j[keep])
    boundary = stop | np.r_[sentence[1:] != sentence[:-1], True]  # the last word of a clause
    span = np.arange(MAX_WORDS, MAX_CLAUSE_WORDS)
    for end in np.flatnonzero(np.r_[boundary[1:], True] & ok_end).tolist():
        i = end - span
        i = i[i >= 0]
        i = i[ok_start[i] & (sentence[i] == sentence[end])]
        firsts.append(i)
        lasts.append(np.full(len(i), end))
    for k in np.flatnonzero(pos == _POS_ID["punct"]).tolist():
        w = words[k]
        if w in _OPEN_ID and _OPEN_ID[w] <= _QUOTE_KINDS:
            close = _PAIRS[_OPEN_ID[w] - 1][1]
            for after in range(k + 2, min(n, k + 2 + MAX_CLAUSE_WORDS)):
                if words[after] == close:
                    firsts.append(np.array([k + 1]))
                    lasts.append(np.array([after - 1]))
                    break
    key = np.unique(np.concatenate(firsts) * n + np.concatenate(lasts))
    return key // n, key % n


_DOTS = frozenset("·•‧・")


def _latin_end(word: str) -> bool:
    return word.isascii() and word[-1:].isalnum()


def _cut(sentence: str, segmenter: text.Segmenter) -> list[tuple[str, int, int]]:
    """jieba's words, with what it cuts apart put back together: names joined by a middle dot
    (唐·李维), digits grouped by commas (1,000), Latin words with a space between (Jam Cast)."""
    words: list[tuple[str, int, int]] = []
    for w, a, b in segmenter.tokenizer.tokenize(sentence):
        if len(words) >= 2 and words[-1][0] in _DOTS and w[0].isalnum() and words[-2][0][-1].isalnum():
            dot, first = words.pop(), words.pop()
            words.append((first[0] + dot[0] + w, first[1], b))
        elif (len(words) >= 2 and words[-1][0] == "," and len(w) == 3 and w.isdigit()
              and words[-2][0][-1:].isdigit()):
            comma, first = words.pop(), words.pop()
            words.append((first[0] + comma[0] + w, first[1], b))
        elif len(words) >= 2 and words[-1][0] == " " and w.isascii() and w[0].isalnum() and _latin_end(words[-2][0]):
            space, first = words.pop(), words.pop()
            words.append((first[0] + space[0] + w, first[1], b))
        else:
            words.append((w, a, b))
    return words


def _word_kind(word: str, pos: int) -> int:
    """The kind of a one-word candidate, from its POS and shape."""
    p = POS[pos]
    if p == "t":
        return _KIND_ID["time"]
    if p == "nr" or (p == "oov" and 2 <= len(word) <= 4 and word[0] in _SURNAMES) or ("·" in word and len(word) > 2):
        return _KIND_ID["person"]
    if p == "ns" or (p in ("n", "oov", "nz") and len(word) >= 2 and _PLACE_END.search(word)):
        return _KIND_ID["place"]
    if p == "nt" or (p in ("n", "oov", "nz") and len(word) >= 3 and _ORG_END.search(word)):
        return _KIND_ID["org"]
    return _KIND_ID["phrase"]


# --------------------------------------------------------------------------- the question


@dataclass(frozen=True)
class _Question:
    text: str  # normalised
    asked: str | None
    words: tuple[str, ...]  # the question's words but the question word and punctuation
    side: tuple[int, ...]  # -k: the k-th word before the question word, +k: after
    weight: tuple[float, ...]  # how telling each word is: its idf in Chinese at large, 0..1
    after_wh: str  # the word just after the question word (the unit of 多少名, the 街道 of 哪个街道)
    before_wh: str  # the word just before it (the 有 of 有多少)
    chars: frozenset[str]  # the question's Han characters
    content: tuple[bool, ...]  # which of ``words`` are content words (not 的, 是, 有, ...)
    left_text: str  # the question's characters before the question word
    right_text: str  # ... and after it
    bigrams: tuple[str, ...]  # its Han character bigrams, the question word's aside

    # What every passage asks of the words, as arrays (computed once: _question is cached).

    @cached_property
    def weights(self) -> np.ndarray:
        return np.array(self.weight, float)

    @cached_property
    def lengths(self) -> np.ndarray:
        return np.array([len(w) for w in self.words], np.int64)

    @cached_property
    def shares(self) -> tuple[float, ...]:
        """The weights, summing to 1."""
        return tuple(w / (sum(self.weight) or 1.0) for w in self.weight)

    @cached_property
    def content_shares(self) -> tuple[float, ...]:
        """The weights of the content words (the rest 0), summing to 1."""
        weights = [w if content else 0.0 for w, content in zip(self.weight, self.content)]
        return tuple(w / (sum(weights) or 1.0) for w in weights)

    @cached_property
    def before_side(self) -> np.ndarray:
        """Which words stand before the question word (the rest stand after it)."""
        return np.array([k < 0 for k in self.side], bool)

    @cached_property
    def sided_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """The weights of the words before the question word, and after it, fading with the
        distance from it (0.7 a word), each summing to 1."""
        fading = self.weights * 0.7 ** (np.abs(np.array(self.side, np.int64)) - 1)
        before = np.where(self.before_side, fading, 0.0)
        after = np.where(self.before_side, 0.0, fading)
        return before / (before.sum() or 1.0), after / (after.sum() or 1.0)

    @cached_property
    def rarest(self) -> int:
        """The rarest word (-1: none)."""
        return int(np.argmax(self.weights)) if self.words else -1

    @cached_property
    def anchors(self) -> tuple[int, int]:
        """The content words nearest the question word, before it and after it (-1: none): the
        职业 of 的职业是什么."""
        before = [k for k, s in enumerate(self.side) if self.content[k] and s < 0]
        after = [k for k, s in enumerate(self.side) if self.content[k] and s > 0]
        return (max(before, key=self.side.__getitem__) if before else -1,
                min(after, key=self.side.__getitem__) if after else -1)


@lru_cache(maxsize=1 << 10)
def _question(question: str, segmenter: text.Segmenter) -> _Question:
    q = _norm(question).strip()
    asked = asked_type(q)
    m = _WH.search(q)
    wh = (m.start(), m.end()) if m else (len(q), len(q))
    tokenizer = segmenter.tokenizer
    freq, log_total = tokenizer.FREQ, math.log(tokenizer.total)
    before: list[tuple[str, float]] = []
    after: list[tuple[str, float]] = []
    for w, a, b in tokenizer.tokenize(q):
        if all(c in _PUNCT or c.isspace() or not c.isalnum() for c in w):
            continue
        if a < wh[1] and b > wh[0]:  # the question word, or a word that holds it: keep the rest
            if a < wh[0]:
                before.append((w[: wh[0] - a], 0.0))
            if b > wh[1]:
                after.append((w[wh[1] - a :], 0.0))
            continue
        (before if b <= wh[0] else after).append((w, 0.0))
    ordered = list(reversed(before)) + after
    words = tuple(w for w, _ in ordered)
    side = tuple([-(k + 1) for k in range(len(before))] + [k + 1 for k in range(len(after))])
    weight = tuple(_idf(w, freq, log_total) for w in words)
    left_text = q[: wh[0]].rstrip(" ?？!！。，,")
    right_text = q[wh[1] :].rstrip(" ?？!！。，,")
    bigrams = {
        part[i : i + 2] for part in (left_text, right_text) for i in range(len(part) - 1)
        if _HAN.match(part[i]) and _HAN.match(part[i + 1])
    }
    return _Question(
        q, asked, words, side, weight, after[0][0] if after else "", before[-1][0] if before else "",
        frozenset(_HAN.findall(q)),
        tuple(text.is_content(w) for w in words),
        left_text, right_text, tuple(sorted(bigrams)),
    )


def _code_points(s: str) -> np.ndarray:
    return np.frombuffer(s.encode("utf-32-le"), dtype=np.uint32) if s else np.zeros(0, np.uint32)


def _idf(word: str, freq, log_total: float) -> float:
    """How rare the word is in Chinese at large (jieba's counts), 0..1; unknown words 1."""
    f = freq.get(word) or 0
    return (log_total - math.log(f)) / log_total if f > 0 else 1.0


# --------------------------------------------------------------------------- candidates and features

# A candidate's features come in two parts. CHEAP ones are read off its first word, its last
# word and its sentence (what the question's words do around each word is worked out once per
# word, then looked up), and off its shape: they are computed for every candidate, and the
# first model ranks them all by them. DETAIL ones weigh each question word's distance from the
# candidate as a whole (the nearer of its two sides, ...), a number per question word and
# candidate: they are computed for the first model's shortlist alone, which the second model
# ranks by all of them (BASE).
_STATIC = (  # its shape and context, whatever the question (read once per passage: _runs)
    "first_sentence", "clause_start", "clause_end", "whole_clause", "de_after", "deng_after", "has_comma",
    "has_de", "unbalanced", "quoted", "time_unit", *(f"before_{name}" for name, _ in _BEFORE),
    "log_chars", "log_words",
)
_BY_FIRST = (  # by its first word: the question's words before it, in its sentence (by distance in
    # characters: _near exp(-d / 2), _far exp(-d / 10), crossed exp(-d / 4) of the words that stand
    # after the question word; left_16: any word, local_: weighed by rarity in the passage too),
    # its sentence and clause
    "left_near", "left_far", "crossed_left", "left_16", "local_left_24", "adjacent_before", "first_in_question",
    "sentence_share", "sentence_content", "sentence_bigrams", "sentence_local", "sentence_best", "sentence_rank",
    "clause_share",
)
_BY_LAST = (  # by its last word: likewise, after it
    "right_near", "right_far", "crossed_right", "right_16", "local_right_24",
    "adjacent_after", "unit_after", "head_after", "last_in_question",
)
_WHOLE = ("slot_match", "slot_other")  # its kind, against what is asked
CHEAP = _STATIC + _BY_FIRST + _BY_LAST + _WHOLE
DETAIL = (  # each of the question's words, by the nearer of the candidate's sides (near_4: exp(-d / 4));
    # holds_: in the candidate; order_: on the side it stands in the question
    "near_4", "near_16", "near_48", "local_near_8", "local_near_24", "rarest_near",
    "holds_question_word", "order_kept", "order_broken",
    # the content words nearest the question word, and the word just before it, just before or after it
    "left_anchor", "right_anchor", "before_gap",
)
BASE = CHEAP + DETAIL
# Categorical descriptions, one-hot in the second model: POS of the first, last, previous and
# next word, the kind, the length in words (bucketed); and what is asked, crossed with the kind
# and the length.
_LENGTHS = np.array([1, 2, 3, 4, 5, 7, 10, 14])  # upper bounds of the length buckets (then 15+)
_COARSE = np.array([1, 3, 8])  # 1, 2-3, 4-8, 9+
CATEGORIES = (  # (name, values): columns 0-5 of ``cats``, then columns 8 and 9
    ("first", POS), ("last", POS), ("prev", POS), ("next", POS), ("kind", KINDS),
    ("words", ("1", "2", "3", "4", "5", "6-7", "8-10", "11-14", "15+")),
)
LEXICAL = (("first_word", ("other", *LEXICON)), ("last_word", ("other", *LEXICON)))
_BEFORE_NAMES = ("none", *(name for name, _ in _BEFORE))
_CROSSED = (  # (name, column of ``cats``, values), each crossed with what is asked
    ("kind", 4, KINDS), ("coarse", 6, ("1", "2-3", "4-8", "9+")), ("before", 7, _BEFORE_NAMES), ("last", 1, POS),
)


def feature_names() -> tuple[str, ...]:
    """The second model's features: BASE, then the one-hot categories, then the crossings."""
    names = list(BASE)
    categories: tuple[tuple[str, tuple[str, ...]], ...] = CATEGORIES + LEXICAL
    for cat, values in categories:
        names += [f"{cat}={v}" for v in values]
    for cat, _, values in _CROSSED:
        names += [f"asked={a}&{cat}={v}" for a in (*ASKED, "none") for v in values]
    return tuple(names)


FEATURES = feature_names()


@dataclass(frozen=True)
class Candidates:
    """Candidate spans of one passage for one question: where, what kind, their features (BASE)."""

    starts: np.ndarray  # character offsets in the passage
    ends: np.ndarray
    base: np.ndarray  # len(starts) x len(BASE)
    cats: np.ndarray  # len(starts) x 10: CATEGORIES, the coarse length, the word before, LEXICAL
    words: np.ndarray  # len(starts) x 2: the first word, the last (in the passage's words)
    asked: int  # ASKED id, or _NONE_ID

    def __len__(self) -> int:
        return len(self.starts)

    def take(self, rows: np.ndarray) -> Candidates:
        return Candidates(
            self.starts[rows], self.ends[rows], self.base[rows], self.cats[rows], self.words[rows], self.asked
        )

    @property
    def kinds(self) -> np.ndarray:
        return self.cats[:, 4]


def _block_sizes() -> tuple[int, ...]:
    n_asked = len(ASKED) + 1
    return tuple(len(v) for _, v in CATEGORIES + LEXICAL) + tuple(n_asked * len(v) for _, _, v in _CROSSED)


_BLOCK_STARTS = len(BASE) + np.r_[0, np.cumsum(_block_sizes())[:-1]]


_BLOCK_CATS = np.array([0, 1, 2, 3, 4, 5, 8, 9, *(col for _, col, _ in _CROSSED)])  # each block's column of ``cats``
_BLOCK_ASKED = np.array([0] * 8 + [len(v) for _, _, v in _CROSSED])  # a crossed block: its columns per asked


def one_hot_columns(c: Candidates) -> np.ndarray:
    """For each candidate, the columns of FEATURES past BASE that are 1 (one per block; a row
    each, in memory too: Ranker.candidate_scores sums them row by row)."""
    return np.take(c.cats, _BLOCK_CATS, axis=1).astype(np.int64) + (c.asked * _BLOCK_ASKED + _BLOCK_STARTS)


def expand(c: Candidates) -> np.ndarray:
    """The second model's feature matrix (FEATURES) of the candidates."""
    x = np.zeros((len(c), len(FEATURES)))
    x[:, : len(BASE)] = c.base
    np.put_along_axis(x, one_hot_columns(c), 1.0, axis=1)
    return x


@dataclass(frozen=True, eq=False)
class Description:
    """Every candidate span of one passage, described for one question in parts: CHEAP, as it
    is made (per candidate, what the question leaves alone: ``runs``; per word of the passage,
    what the question's words do before it, ``by_first``, and after it, ``by_last``), and where
    the question's words stand (``sight``), from which ``detail`` reads DETAIL for some of them.
    The bot never builds CHEAP a row per candidate: the models' scores are sums of the parts'."""

    runs: _Runs
    by_first: np.ndarray  # per word, _BY_FIRST: of the candidates it starts
    by_last: np.ndarray  # per word, _BY_LAST: of those it ends
    slot: int  # the KINDS id asked for (len(KINDS): none), which slot_match and slot_other compare with
    asked: int  # ASKED id, or _NONE_ID
    sight: _Sight

    def __len__(self) -> int:
        return len(self.runs)

    def cheap(self) -> np.ndarray:
        """CHEAP, a row per candidate (what the first model is fitted on)."""
        r = self.runs
        return np.concatenate((r.static, self.by_first[r.first], self.by_last[r.last], _slots(r.kinds, self.slot)),
                              axis=1)

    def scores(self, ranker: Ranker) -> np.ndarray:
        """``ranker.scores(self.cheap())``: the first model's score of every candidate, a sum of
        its parts' (those of each word are worked out once, then looked up; those the passage
        settles, once per passage: ``_settled``)."""
        weights = ranker._weights[0]
        return (_settled(self.runs, ranker, self.asked, self.slot) + (self.by_first @ weights[_FIRST])[self.runs.first]
                + (self.by_last @ weights[_LAST])[self.runs.last])

    def shortlist_scores(self, ranker: Ranker, rows: np.ndarray, detail: np.ndarray) -> np.ndarray:
        """``ranker.candidate_scores(detail(self, rows))``: the second model's scores of the
        candidates ``rows``, whose DETAIL is ``detail``, from the parts."""
        r, weights = self.runs, ranker._weights[0]
        return (_settled(r, ranker, self.asked, self.slot)[rows] + (self.by_first @ weights[_FIRST])[r.first[rows]]
                + (self.by_last @ weights[_LAST])[r.last[rows]] + detail @ weights[len(CHEAP) : len(BASE)])


_FIRST = slice(len(_STATIC), len(_STATIC) + len(_BY_FIRST))  # the columns of _BY_FIRST in CHEAP (and BASE)
_LAST = slice(_FIRST.stop, _FIRST.stop + len(_BY_LAST))
_LOG_WORDS = _STATIC.index("log_words")
_WHOLE_COLUMNS = slice(len(CHEAP) - len(_WHOLE), len(CHEAP))


def _slots(kinds: np.ndarray, slot: int) -> np.ndarray:
    """_WHOLE of candidates of those ``kinds`` when the question asks for the KINDS id ``slot``
    (len(KINDS): none): slot_match, slot_other."""
    if slot == len(KINDS):
        return np.zeros((len(kinds), 2))
    match = kinds == slot
    return np.column_stack((match, ~match & (kinds != _KIND_ID["phrase"]))).astype(float)


def _settled(runs: _Runs, ranker: Ranker, asked: int, slot: int) -> np.ndarray:
    """Each candidate's score by the features its passage settles, whatever the question but
    for what it asks: its shape (_STATIC), its kind against the kind asked (_WHOLE) and, for
    the second model, its one-hot categories; less the ranker's offset. (Kept with the
    passage's runs: a running bot reads the same passages again and again.)"""
    key = (ranker, asked, slot)
    score = runs.settled.get(key)
    if score is None:
        weights, offset = ranker._weights
        score = runs.static @ weights[: len(_STATIC)] + _slots(runs.kinds, slot) @ weights[_WHOLE_COLUMNS] - offset
        if len(weights) > len(CHEAP):  # the second model: and the one-hot categories
            hot = np.take(runs.cats, _BLOCK_CATS, axis=1) + (asked * _BLOCK_ASKED + _BLOCK_STARTS)
            score += weights[hot].sum(axis=1)
        runs.settled[key] = score
    return score


@dataclass(frozen=True)
class _Sight:
    """Where the question's words stand around each word of the passage, in characters: a row
    per question word that stands in the passage (``present``; the others stand nowhere near
    any candidate: every feature of theirs is 0), a column per passage word. What ``_detail``
    reads."""

    present: tuple[int, ...]  # the question's words in the passage (their numbers in _Question.words)
    left: np.ndarray  # the nearest before the word's start, in its sentence (_FAR: none)
    right: np.ndarray  # ... after its end
    after_start: np.ndarray  # the first one's start from the word's start on (len(passage) + 1: none)
    reach: int  # the longest of those distances (the decays' tables reach it)
    weights: np.ndarray  # the question words' weights (all of the words' summing to 1)
    local: np.ndarray  # ... weighed by their rarity in the passage too
    lengths: np.ndarray  # in characters
    before_side: np.ndarray  # which stand before the question word
    question: _Question

    def row(self, word: int) -> int:
        """The row of the question's ``word`` (its number in _Question.words; -1: not there)."""
        return self.present.index(word) if word in self.present else -1


_F = {name: i for i, name in enumerate(_BY_FIRST)}
_L = {name: i for i, name in enumerate(_BY_LAST)}
_TAUS = (2, 10, 4, 16, 24)  # the first five of _BY_FIRST and _BY_LAST: exp(-d / tau)
_D = {name: i for i, name in enumerate(DETAIL)}
_BY_WEIGHT = [_D[name] for name in ("near_4", "near_16", "near_48", "holds_question_word")]  # sums by weight
_BY_LOCAL_WEIGHT = [_D[name] for name in ("local_near_8", "local_near_24", "order_kept", "order_broken")]


def candidates(
    question: str, passage: str, segmenter: text.Segmenter | None = None, *, sentences: int = SENTENCES
) -> Candidates | None:
    """The candidate spans of the passage's best ``sentences`` sentences for the question, and
    all of their features (None: nothing to read). (The bot ranks them from their
    ``describe``, which the first model ranks all by, and ``detail``s its shortlist alone.)"""
    d = describe(question, passage, segmenter, sentences=sentences)
    return None if d is None else detail(d, np.arange(len(d)))


def describe(
    question: str, passage: str, segmenter: text.Segmenter | None = None, *, sentences: int = SENTENCES
) -> Description | None:
    """The candidate spans of the passage's best ``sentences`` sentences for the question,
    described (None: nothing to read).

    What does not depend on the question (the candidates, their kinds and shapes) is read once
    per passage (``_runs``); what does, once per word of the passage: each candidate looks its
    features up by its first word and its last."""
    seg = segmenter or default_segmenter()
    q = _question(question, seg)
    p = _passage(passage)
    if not p.sentences:
        return None
    found = [_occurrences(p.norm, word) for word in q.words]

    # The sentences that hold most of the question (by the words' rarity, in Chinese at large
    # and in this passage: its name, in every sentence, says little about which one answers).
    # (In lists: a question has a few words, a passage a few sentences.)
    n_sent = len(p.sentences)
    held = [{p.sentence_of[i] for i in o} for o in found]  # the sentences each word stands in
    local = [w * math.log1p(n_sent / len(h)) if h else 0.0 for w, h in zip(q.weight, held)]
    local = [w / (sum(local) or 1.0) for w in local]
    share, content_share, local_share = [0.0] * n_sent, [0.0] * n_sent, [0.0] * n_sent
    for k, h in enumerate(held):
        for j in h:
            share[j] += q.shares[k]
            content_share[j] += q.content_shares[k]
            local_share[j] += local[k]
    bigrams = _bigram_share(p, q.bigrams)
    order = sorted(range(n_sent), key=lambda j: -(content_share[j] + local_share[j] + bigrams[j]))
    rank = [0] * n_sent
    for k, j in enumerate(order):
        rank[j] = k
    chosen = tuple(sorted(order[:sentences]))
    t = _words(passage, chosen, seg)
    if not len(t.first):
        return None
    r = _runs(passage, chosen, seg)
    present = tuple(k for k, o in enumerate(found) if o)  # the question's words in the passage: rows from here on
    w, local_w = np.array([q.shares[k] for k in present]), np.array([local[k] for k in present])
    before_w, after_w = (v[list(present)] for v in q.sided_weights)
    which = np.array([k for k, o in enumerate(o for o in found if o) for _ in o], np.int64)  # each occurrence's row
    occ_start = np.array([i for o in found for i in o], np.int64)
    occ_end = np.array([i + len(word) for word, o in zip(q.words, found) for i in o], np.int64)
    sight = _sight(q, p, t, present, which, occ_start, occ_end, w, local_w)

    # By its first word: the question's words before it, and by its last word, those after it:
    # per tau of _TAUS, the first side's weights (a row) and the last side's (another) times
    # exp(-d / tau) of the distances before each word (the first len(t) columns) and after it.
    n = len(t)
    by_first = np.empty((n, len(_BY_FIRST)))
    by_last = np.empty((n, len(_BY_LAST)))
    distances = np.concatenate((sight.left, sight.right), axis=1)
    sides = np.array(((before_w, after_w), (before_w, after_w), (after_w, before_w), (w, w), (local_w, local_w)))
    near = np.array([v @ _decay(tau, sight.reach)[distances] for v, tau in zip(sides, _TAUS)])
    by_first[:, : len(_TAUS)] = near[:, 0, :n].T  # left_near, left_far, crossed_left, left_16, local_left_24
    by_last[:, : len(_TAUS)] = near[:, 1, n:].T  # right_near, ...
    # ... the words right next to the question word, right next to it; does it repeat the question?
    word_id = r.vocab.get
    by_first[:, _F["adjacent_before"]] = r.prev_ids == word_id(q.before_wh, _NO_WORD) if q.before_wh else 0.0
    by_last[:, _L["adjacent_after"]] = r.next_ids == word_id(q.after_wh, _NO_WORD) if q.after_wh else 0.0
    if q.after_wh:
        ends_with = np.zeros(len(p.norm) + 1, bool)
        ends_with[[i + len(q.after_wh) for i in _occurrences(p.norm, q.after_wh)]] = True
        by_last[:, _L["unit_after"]] = ends_with[t.ends]
        # ... or just its last character: 什么颜色 -> 亮灰色, 哪支球队 -> 天津泰达队
        head = q.after_wh[-1]
        by_last[:, _L["head_after"]] = (t.last_chars == ord(head)) & bool(_HAN.match(head))
    else:
        by_last[:, [_L["unit_after"], _L["head_after"]]] = 0.0
    in_question = np.zeros(len(r.vocab), bool)  # of the passage's words
    in_question[[r.vocab[word] for word in set(q.words) if len(word) > 1 and word in r.vocab]] = True
    by_first[:, _F["first_in_question"]] = by_last[:, _L["last_in_question"]] = in_question[r.ids]
    # ... its sentence and clause.
    by_first[:, _F["sentence_share"] : _F["clause_share"]] = np.array(
        (share, content_share, bigrams, local_share, [k == 0 for k in rank], [math.log1p(k) for k in rank])
    ).T[t.sentence]
    clause_held = np.zeros((len(present), t.clauses + 1))  # (the last column: outside the chosen sentences)
    clause_held[which, t.char_clause[occ_start]] = 1.0
    by_first[:, _F["clause_share"]] = (w @ clause_held)[t.clause]

    wanted = SLOT_KINDS.get(q.asked or "")
    asked = _ASKED_ID[q.asked] if q.asked is not None else _NONE_ID
    return Description(r, by_first, by_last, _KIND_ID[wanted] if wanted is not None else len(KINDS), asked, sight)


def _sight(q: _Question, p: _Passage, t: _Words, present: tuple[int, ...], which: np.ndarray, occ_start: np.ndarray,
           occ_end: np.ndarray, weights: np.ndarray, local: np.ndarray) -> _Sight:
    """Where the ``present`` question's words (their occurrences: ``which`` row, from
    ``occ_start`` to ``occ_end``) stand around each word of the passage."""
    nq, size = len(present), len(p.norm) + 1
    lengths = q.lengths[list(present)]
    last_end = np.full((nq, size), -size, np.int64)  # the last occurrence's end at or before each position
    last_end[which, occ_end] = occ_end
    last_end = np.maximum.accumulate(last_end, axis=1)[:, t.starts]
    next_start = np.full((nq, size), size, np.int64)  # the first occurrence's start at or after it
    next_start[which, occ_start] = occ_start
    next_start = np.minimum.accumulate(next_start[:, ::-1], axis=1)[:, ::-1]
    after_end = next_start[:, t.ends]
    # (none there: its start stands before the sentence's, its end after the sentence's)
    left = np.where(last_end - lengths[:, None] >= t.sentence_starts, t.starts - last_end, _FAR)
    right = np.where(after_end < t.sentence_ends, after_end - t.ends, _FAR)
    return _Sight(present, left, right, next_start[:, t.starts], max(_FAR, size), weights, local, lengths,
                  q.before_side[list(present)], q)


def detail(d: Description, rows: np.ndarray) -> Candidates:
    """The candidates ``rows``, with all of their features: CHEAP and DETAIL."""
    r = d.runs
    words, ends = r.words[rows], r.ends[rows]
    cheap = (r.static[rows], d.by_first[words[:, 0]], d.by_last[words[:, 1]], _slots(r.kinds[rows], d.slot))
    base = np.concatenate((*cheap, _detail(d, words, ends)), axis=1)
    return Candidates(r.starts[rows], ends, base, r.cats[rows], words, d.asked)


def _detail(d: Description, words: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """DETAIL of the candidates of those (first, last) ``words`` and ``ends``: each of the
    question's words by its distance from the candidate (the nearer of its sides), a number per
    word and candidate."""
    g, q = d.sight, d.sight.question
    w, local_w = g.weights, g.local
    wi, wj = words[:, 0], words[:, 1]
    x = np.empty((len(words), len(DETAIL)))
    left, right = g.left[:, wi], g.right[:, wj]  # each question word's distance from each candidate
    e48 = _decay(48, g.reach)[np.minimum(left, right)]  # and the rest by powers of it: exp(-d / 24) = e48 ** 2, ...
    e24 = e48 * e48
    e16 = e24 * e48
    e8 = e16 * e16
    holds = g.after_start[:, wi] + g.lengths[:, None] <= ends
    # In the question's order: its words before the question word before the candidate, those
    # after it after.
    is_left, is_right = left < _FAR, right < _FAR
    kept = np.where(g.before_side[:, None], is_left, is_right)
    x[:, _BY_WEIGHT] = (w @ np.array((e8 * e8, e16, e48, holds))).T
    x[:, _BY_LOCAL_WEIGHT] = (local_w @ np.array((e8, e24, kept, (is_left | is_right) & ~kept))).T
    # One word's: the rarest; the content words nearest the question word (the 职业 of
    # 的职业是什么); the word just before it.
    rarest, left_anchor, right_anchor = g.row(q.rarest), g.row(q.anchors[0]), g.row(q.anchors[1])
    before = g.row(q.words.index(q.before_wh)) if q.before_wh else -1
    d3 = _decay(3, g.reach)
    x[:, _D["rarest_near"]] = e8[rarest] if rarest >= 0 else 0.0
    x[:, _D["left_anchor"]] = d3[left[left_anchor]] if left_anchor >= 0 else 0.0
    x[:, _D["right_anchor"]] = d3[right[right_anchor]] if right_anchor >= 0 else 0.0
    x[:, _D["before_gap"]] = d3[left[before]] if before >= 0 else 0.0
    return x


def _bigram_share(p: _Passage, bigrams: tuple[str, ...]) -> list[float]:
    """Per sentence of the passage, the share of the (two-character) ``bigrams`` it holds."""
    held = [0] * len(p.sentences)
    index = p.bigram_sentences
    for g in bigrams:
        for k in index.get(g, ()):
            held[k] += 1
    return [h / max(len(bigrams), 1) for h in held]


_FAR = 10_000  # the distance, in characters, of a word that is not there


@lru_cache(maxsize=64)
def _decay(tau: float, reach: int = _FAR) -> np.ndarray:
    """exp(-d / tau) for the distances d = 0 .. reach: distances in characters are whole
    numbers, so ``_decay(tau, reach)[d]`` looks up what np.exp(-d / tau) computes, bit for bit,
    in a fraction of the time."""
    return np.exp(-np.arange(reach + 1) / tau)


def _occurrences(norm: str, word: str, limit: int = 64) -> list[int]:
    found: list[int] = []
    i = norm.find(word) if word else -1
    while i >= 0 and len(found) < limit:
        found.append(i)
        i = norm.find(word, i + len(word))
    return found


_NO_WORD = -2  # the id of a word the passage lacks (-1: no word there)


@dataclass(frozen=True)
class _Runs:
    """The candidates of a passage's chosen sentences, and what of them the question leaves
    alone: where they stand, their words, kind and shape (read once per passage: ``_runs``)."""

    first: np.ndarray  # first word (of the chosen sentences' words)
    last: np.ndarray  # last word
    starts: np.ndarray  # character offsets in the passage
    ends: np.ndarray
    words: np.ndarray  # Candidates.words: first word, last word
    static: np.ndarray  # len x len(_STATIC): those columns of CHEAP (float32)
    cats: np.ndarray  # Candidates.cats (int8)
    # Per word of the chosen sentences:
    vocab: dict[str, int]  # the words, numbered
    ids: np.ndarray  # its id
    prev_ids: np.ndarray  # the id of the word before it in its sentence (-1: none)
    next_ids: np.ndarray  # ... after it
    settled: dict[tuple[Ranker, int, int], np.ndarray] = field(default_factory=dict, repr=False)  # _settled's

    def __len__(self) -> int:
        return len(self.first)

    @property
    def kinds(self) -> np.ndarray:
        return self.cats[:, 4]


@lru_cache(maxsize=1 << 8)
def _runs(passage: str, chosen: tuple[int, ...], segmenter: text.Segmenter) -> _Runs:
    """The candidates of the ``chosen`` sentences of a passage, with all of their description
    that does not depend on the question (cached: a running bot reads the same passages again
    and again; some 60 kB a passage of the seed corpus)."""
    p, t = _passage(passage), _words(passage, chosen, segmenter)
    wi, wj = t.first, t.last
    s, e = t.starts[wi], t.ends[wj]
    n = len(t)
    # The words just before and after it, in its sentence.
    prev_i, next_i = np.maximum(wi - 1, 0), np.minimum(wj + 1, n - 1)
    has_prev = (wi > 0) & (t.sentence[prev_i] == t.sentence[wi])
    has_next = (wj < n - 1) & (t.sentence[next_i] == t.sentence[wj])
    n_words = wj - wi + 1
    starts_clause = ~has_prev | t.stop[prev_i]
    ends_clause = ~has_next | t.stop[next_i]
    next_mark = np.where(has_next, t.marks[next_i], 0)
    opened = np.where(s > 0, p.opener[np.maximum(s - 1, 0)], 0)
    closes = np.where(e < len(p.norm), p.closer[np.minimum(e, len(p.norm) - 1)], 0)
    quoted = (opened > 0) & (opened == closes) & (opened <= _QUOTE_KINDS)
    before = np.where(has_prev, t.before[prev_i], 0)
    static = np.column_stack([
        t.sentence[wi] == 0, starts_clause, ends_clause, starts_clause & ends_clause, next_mark == 1,
        next_mark == 2, p.commas[e] > p.commas[s], p.des[e] > p.des[s],
        np.any(p.balance[:, e] != p.balance[:, s], axis=0), quoted, t.marks[wj] == 3,
        *(before == k + 1 for k in range(len(_BEFORE))), np.log1p(e - s), np.log1p(n_words),
    ]).astype(np.float32)
    kinds = _kinds(p, t, wi, wj, s, e, quoted)
    cats = np.column_stack([
        t.pos[wi], t.pos[wj], np.where(has_prev, t.pos[prev_i], _POS_ID["punct"]),
        np.where(has_next, t.pos[next_i], _POS_ID["punct"]), kinds, np.searchsorted(_LENGTHS, n_words),
        np.searchsorted(_COARSE, n_words), before, t.lexical[wi], t.lexical[wj],
    ]).astype(np.int8)
    vocab: dict[str, int] = {}
    ids = np.array([vocab.setdefault(word, len(vocab)) for word in t.words], np.int64)
    same_as_next = t.sentence[1:] == t.sentence[:-1]
    prev_ids = np.r_[-1, np.where(same_as_next, ids[:-1], -1)]
    next_ids = np.r_[np.where(same_as_next, ids[1:], -1), -1]
    runs = _Runs(wi, wj, s, e, np.column_stack([wi, wj]), static, cats, vocab, ids, prev_ids, next_ids)
    for a in (s, e, runs.words, static, cats):
        a.flags.writeable = False  # (shared by every question read in the passage)
    return runs


def _kinds(p: _Passage, t: _Words, wi: np.ndarray, wj: np.ndarray, s: np.ndarray, e: np.ndarray,
           quoted: np.ndarray) -> np.ndarray:
    """The KINDS id of each candidate."""
    n_words = wj - wi + 1
    kinds = np.full(len(wi), _KIND_ID["phrase"])
    # One word: its own kind; up to four ending in a place or an organisation: that.
    single = n_words == 1
    kinds[single] = t.entity[wi[single]]
    last_kind = t.entity[wj]
    few = (n_words > 1) & (n_words <= 4) & np.isin(last_kind, (_KIND_ID["place"], _KIND_ID["org"]))
    kinds[few] = last_kind[few]
    # A name jieba cut in two (陈方|安生): a surname first, three or four characters in all.
    pair = (n_words == 2) & t.surname[wi] & (e - s >= 3) & (e - s <= 4) & (p.han[e] - p.han[s] == e - s)
    kinds[pair] = _KIND_ID["person"]
    # Numbers and times: read the text (few candidates start with one).
    for k in np.flatnonzero(t.numeric[wi] & (n_words <= 6)).tolist():
        found = _numeric_kind(p.norm[s[k] : e[k]])
        if found is not None:
            kinds[k] = found
    kinds[quoted] = _KIND_ID["name"]
    return kinds


@lru_cache(maxsize=1 << 14)
def _numeric_kind(span: str) -> int | None:
    """time or quantity, when the text reads as one."""
    if _TIME.fullmatch(span):
        return _KIND_ID["time"]
    if _QUANTITY.fullmatch(span) and any(ch.isdigit() or ch in _NUMERALS for ch in span):
        return _KIND_ID["quantity"]
    return None


# --------------------------------------------------------------------------- the models

MBR_POWER = 2.0  # rank: the probabilities are squared before the expected overlap is taken
CONFIDENCE = (
    "top",  # the winner's probability under the second model
    "log_top",
    "margin",  # ... minus the runner-up's
    "slot_match",  # a typed question (多少, 谁, 哪里, ...) and a span of that kind
    "slot_missing",  # a typed question and a span of another kind
    "untyped",  # the question asks for no typed slot
    "sentence_local",  # the question's words in the span's sentence
    "local_near_8",  # ... and around the span
    "log_words",  # the span's length
    "overlap_mass",  # the probability of every candidate that overlaps it: sure of where, if not the ends
    "expected_f1",  # its overlap (F1 in characters) with the candidates, weighed by their probability
    *(f"asked={a}" for a in (*ASKED, "none")),  # what is asked
    *(f"kind={k}" for k in KINDS),  # what the span is
)


@dataclass(frozen=True, eq=False)  # hashed by identity: _settled keeps its scores per ranker
class Ranker:
    """A log-linear ranking of candidates: standardise, dot with ``coef``, softmax per question."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray

    @cached_property
    def _weights(self) -> tuple[np.ndarray, float]:
        """The standardisation folded into the coefficients: x @ weights - offset."""
        weights = self.coef / self.scale
        return weights, float(self.mean @ weights)

    def scores(self, x: np.ndarray) -> np.ndarray:
        weights, offset = self._weights
        return x @ weights - offset

    def candidate_scores(self, c: Candidates) -> np.ndarray:
        """``scores(expand(c))``, without building the one-hot blocks."""
        weights, offset = self._weights
        return c.base @ weights[: len(BASE)] + weights[one_hot_columns(c)].sum(axis=1) - offset


@dataclass(frozen=True)
class Logistic:
    """Standardise, then a logistic regression."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    @cached_property
    def _weights(self) -> tuple[np.ndarray, float]:
        """The standardisation folded into the coefficients: x @ weights + intercept."""
        weights = self.coef / self.scale
        return weights, self.intercept - float(self.mean @ weights)

    def probability(self, x: np.ndarray) -> np.ndarray:
        weights, intercept = self._weights
        return 1.0 / (1.0 + np.exp(-(x @ weights + intercept)))


@dataclass(frozen=True, eq=False)  # hashed by identity: readings are cached per model
class Model:
    first: Ranker  # over CHEAP, every candidate
    second: Ranker  # over FEATURES, the first's SHORTLIST
    confidence: Logistic  # over CONFIDENCE: the probability that the span is right
    threshold: float  # the confidence from which a short answer is shown


def _ranker(data: dict) -> Ranker:
    return Ranker(np.asarray(data["mean"], float), np.asarray(data["scale"], float), np.asarray(data["coef"], float))


@cache
def load_model(path: Path = MODEL_PATH) -> Model:
    data = json.loads(path.read_text(encoding="utf-8"))
    fitted = (tuple(data["cheap"]), tuple(data["features"]), tuple(data["confidence"]["features"]))
    if fitted != (CHEAP, FEATURES, CONFIDENCE):
        raise ValueError(f"{path}: fitted on other features; run training/fit_reader.py")
    conf = data["confidence"]
    confidence = Logistic(
        np.asarray(conf["mean"], float), np.asarray(conf["scale"], float), np.asarray(conf["coef"], float),
        float(conf["intercept"]),
    )
    return Model(_ranker(data["first"]), _ranker(data["second"]), confidence, float(data["threshold"]))


@dataclass(frozen=True)
class Reading:
    """What the models make of one passage: the first model's shortlist, the second's
    probabilities over it, and the winner."""

    described: Description
    rows: np.ndarray  # the shortlist: rows of the described candidates
    detail: np.ndarray  # their DETAIL
    starts: np.ndarray  # where they stand in the passage
    ends: np.ndarray
    kinds: np.ndarray  # their KINDS ids
    probability: np.ndarray  # the second model's softmax over them
    overlap: np.ndarray  # the F1 in characters of each of their spans with each
    winner: int  # the shortlist's row of the answer (MBR: rank)
    confidences: dict[tuple[Model, int], float] = field(default_factory=dict, repr=False, compare=False)

    def confidence(self, model: Model, row: int | None = None) -> float:
        """The confidence model's probability that the shortlist's ``row`` (the winner by
        default) is right; kept in ``confidences`` (best_span and slot_verdict ask it of the
        same reading, often of the same row)."""
        key = (model, self.winner if row is None else row)
        if key not in self.confidences:
            self.confidences[key] = float(model.confidence.probability(self.confidence_features(key[1])))
        return self.confidences[key]

    @property
    def span(self) -> tuple[int, int, int]:
        """(start, end, KINDS id) of the winner."""
        k = self.winner
        return int(self.starts[k]), int(self.ends[k]), int(self.kinds[k])

    def best_of_kind(self, kind: int) -> int | None:
        """The shortlist's row of that KINDS id the models like best: the winner, or the most
        probable (None: none of that kind)."""
        if self.kinds[self.winner] == kind:
            return self.winner
        rows = np.flatnonzero(self.kinds == kind)
        return int(rows[np.argmax(self.probability[rows])]) if len(rows) else None

    def confidence_features(self, row: int | None = None) -> np.ndarray:
        """CONFIDENCE of the shortlist's ``row`` (the winner by default), against the best other."""
        row = self.winner if row is None else row
        p, d, k = self.probability, self.described, int(self.rows[row])
        top = float(p[row])
        first, second = self._two_best
        others = float(p[first if first != row else second]) if len(p) > 1 else 0.0
        kind = int(self.kinds[row])
        wanted = d.slot if d.slot < len(KINDS) else None
        f1 = self.overlap[row]
        x = np.zeros(len(CONFIDENCE))
        x[:11] = (
            top, math.log(max(top, 1e-9)), top - others,
            float(wanted is not None and kind == wanted), float(wanted is not None and kind != wanted),
            float(wanted is None), d.by_first[d.runs.first[k], _F["sentence_local"]],
            self.detail[row, _D["local_near_8"]], d.runs.static[k, _LOG_WORDS], float(p @ (f1 > 0)), float(p @ f1),
        )
        x[11 + d.asked] = 1.0
        x[11 + len(ASKED) + 1 + kind] = 1.0
        return x

    @cached_property
    def _two_best(self) -> tuple[int, int]:
        """The rows of the two most probable spans (one row: it twice)."""
        p = self.probability
        if len(p) == 1:
            return 0, 0
        first, second = np.argpartition(-p, 1)[:2].tolist()
        return (first, second) if p[first] >= p[second] else (second, first)


def shortlist_rows(first_scores: np.ndarray, size: int = SHORTLIST) -> np.ndarray:
    """The rows of the first model's ``size`` best candidates, in order. (It places the answer's
    ends within a word or two; the second model settles them.)"""
    if len(first_scores) <= size:
        return np.arange(len(first_scores))
    return np.sort(np.argpartition(-first_scores, size - 1)[:size])


def rank(d: Description, model: Model, shortlist: int = SHORTLIST) -> Reading:
    """Both models over the candidates: the first's shortlist (by CHEAP), its DETAIL, and the
    second's probabilities over it."""
    r = d.runs
    rows = shortlist_rows(d.scores(model.first), shortlist)
    words, starts, ends = r.words[rows], r.starts[rows], r.ends[rows]
    near = _detail(d, words, ends)
    z = d.shortlist_scores(model.second, rows, near)
    p = np.exp(z - z.max())
    p /= p.sum()
    # The winner: the span of most expected overlap with the others, weighed by their sharpened
    # probability (MBR). When the probability is split between ends a word apart, it picks the
    # span they share. (CMRC 2018 dev, held-out folds: EM +0.01, F1 +0.016 over the argmax.)
    sharp = p**MBR_POWER  # (unnormalised: the argmax is the same)
    common = np.maximum(0, np.minimum(ends[:, None], ends) - np.maximum(starts[:, None], starts))
    length = ends - starts
    overlap = 2 * common / (length[:, None] + length)  # F1 in characters, of each span with each
    return Reading(d, rows, near, starts, ends, r.kinds[rows], p, overlap, int(np.argmax(overlap @ sharp)))


@lru_cache(maxsize=256)
def _reading(question: str, passage: str, segmenter: text.Segmenter | None, model: Model) -> Reading | None:
    """Both models over one passage (kept a while: best_span and slot_verdict read the same)."""
    d = describe(question, passage, segmenter)
    return None if d is None else rank(d, model)


def read(
    question: str, passage: str, *, segmenter: text.Segmenter | None = None, model: Model | None = None
) -> Span | None:
    """The best span of one passage, with its confidence (None: the passage offers no candidate)."""
    model = model or load_model()
    r = _reading(question, passage, segmenter, model)
    if r is None:
        return None
    s, e, kind = r.span
    return Span(passage[s:e], s, e, r.confidence(model), KINDS[kind])


def best_span(
    question: str, passages: Sequence[str], *, segmenter: text.Segmenter | None = None,
    model: Model | None = None, k: int = PASSAGES, showable_only: bool = False,
) -> Span | None:
    """The most confident span of the first ``k`` passages (best first), or None; with
    ``showable_only``, of the spans ``showable`` as the question's answer."""
    best: Span | None = None
    for n, passage in enumerate(passages[:k]):
        span = read(question, passage, segmenter=segmenter, model=model)
        if span is None or (showable_only and not showable(question, span.text)):
            continue
        if best is None or span.confidence > best.confidence:
            best = Span(span.text, span.start, span.end, span.confidence, span.kind, n)
    return best


def short_answer(
    question: str, passages: Sequence[str], *, segmenter: text.Segmenter | None = None,
    model: Model | None = None, k: int = PASSAGES,
) -> Span | None:
    """The span to show: best_span when it is at least as confident as the operating point and
    ``showable``."""
    model = model or load_model()
    span = best_span(question, passages, segmenter=segmenter, model=model, k=k, showable_only=True)
    return span if span is not None and span.confidence >= model.threshold else None


# A rate asked (增幅, 覆盖率, 百分之几, ...) is answered by a share; a count asked with a measure
# word (多少家, 几个) by a count in that measure word, when the span names one.
_RATE_ASKED = re.compile(r"(?:增幅|增速|涨幅|降幅|率|比重|占比|比例|百分之几|百分比|几成)")
_RATE = re.compile(r"[%％‰]|百分|成|倍")
_MEASURE_GIVEN = re.compile(f"{text.COUNT}(.)")
# A sum of money asked (多少钱, 投资多少, 票价是多少) is answered by a sum: a span that names a
# currency (1.4亿元, 200英镑), not a count (一份) or a figure of something else.
_MONEY_ASKED = re.compile(
    r"多少(?:钱|元|块|资金|经费)|(?:价格|价钱|票价|房价|费用|金额|资金|经费|投资|造价|售价|工资|薪水|奖金|补贴|补助)"
    r"(?:是|有|为|达|要|能领|共)?多少(?![^，。？?！!]{0,2}(?:美元|英镑|欧元|日元|港元|卢布|盾|镑|法郎|比索|卢比))"
)
_CURRENCY = re.compile(r"元|圆|镑|法郎|马克|卢布|比索|里拉|卢比|盾|美金|块|[$€£¥￥]")


def showable(question: str, span: str) -> bool:
    """Whether a span can be shown as the answer, at any confidence: the question asks for
    something (not why or how, nor a bare keyword); a number (多少, 几) or a time (哪一年, 何时)
    is answered by a span holding a numeral or, for a time, a word of time; a rate by a share
    (%, 百分, 成, 倍); a sum of money (多少钱) by one naming a currency (元); a count in a measure
    word (多少家) not by a count in another (128个).
    (The confidence is fitted on CMRC's questions over whole paragraphs; a keyword query or a
    passage of a few words is none of that.)"""
    asked = asked_type(question)
    if asked is None:
        return False
    if asked in ("quantity", "time", "duration"):
        norm, q = _norm(span), _norm(question)
        if asked == "time":
            return bool(_NUMBER.search(norm)) or any(c in _TIME_CHARS for c in norm)
        if not _NUMBER.search(norm):
            return False
        if asked == "quantity" and _RATE_ASKED.search(q) and not _RATE.search(norm):
            return False
        if asked == "quantity" and _MONEY_ASKED.search(q) and not _CURRENCY.search(norm):
            return False
        wanted, given = text.COUNT_ASKED.search(q), _MEASURE_GIVEN.search(norm)
        if wanted and given and given.group(1) in text.MEASURES and given.group(1) != wanted.group(1):
            return False
    return True


def slot_verdict(
    question: str, passages: Sequence[str], *, segmenter: text.Segmenter | None = None,
    model: Model | None = None, k: int = PASSAGES,
) -> float | None:
    """For a question that asks for a typed slot (a number, a time, a person, a place, an
    organisation): the confidence of the best candidate of that kind in the first ``k``
    passages, as if it had won; 0.0 when they hold none. None when the question asks for no
    typed slot.

    A low verdict is evidence for "not found": every word of the question can stand in the
    passage while nothing of the asked kind stands near them.
    """
    wanted = SLOT_KINDS.get(asked_type(question) or "")
    if wanted is None:
        return None
    model = model or load_model()
    best = 0.0
    for passage in passages[:k]:
        r = _reading(question, passage, segmenter, model)
        if r is None:
            continue
        row = r.best_of_kind(_KIND_ID[wanted])
        if row is not None:
            best = max(best, r.confidence(model, row))
    return best


# --------------------------------------------------------------------------- scoring (CMRC 2018)

# The official script's punctuation, dropped before comparing.
_CMRC_PUNCT = frozenset("-:_*^/\\~`+=，。：？！“”；’《》……·、「」（）－～『』")
_CMRC_HAN = re.compile(r"[\u4e00-\u9fa5]")
_CMRC_OTHER = re.compile(r"[A-Za-z0-9]+(?:[.,][0-9]+)*|[^\sA-Za-z0-9]")  # as nltk's word_tokenize, near enough


def cmrc_tokens(s: str) -> list[str]:
    """Characters for Chinese, runs of ASCII letters and digits whole, punctuation dropped."""
    out: list[str] = []
    run: list[str] = []
    for ch in s.lower().strip():
        if ch in _CMRC_PUNCT:
            continue
        if _CMRC_HAN.match(ch):
            if run:
                out.extend(_CMRC_OTHER.findall("".join(run)))
                run = []
            out.append(ch)
        else:
            run.append(ch)
    if run:
        out.extend(_CMRC_OTHER.findall("".join(run)))
    return out


def cmrc_f1(prediction: str, answers: Sequence[str]) -> float:
    """F1 of the longest common substring, best over the answers (CMRC 2018's official F1)."""
    pred = cmrc_tokens(prediction)
    best = 0.0
    for answer in answers:
        gold = cmrc_tokens(answer)
        common = _longest_common(gold, pred)
        if common:
            p, r = common / len(pred), common / len(gold)
            best = max(best, 2 * p * r / (p + r))
    return best


def cmrc_em(prediction: str, answers: Sequence[str]) -> bool:
    """The prediction equals an answer, punctuation aside (CMRC 2018's official EM)."""
    pred = "".join(ch for ch in prediction.lower().strip() if ch not in _CMRC_PUNCT)
    return any(pred == "".join(ch for ch in a.lower().strip() if ch not in _CMRC_PUNCT) for a in answers)


def _longest_common(a: list[str], b: list[str]) -> int:
    best = 0
    row = [0] * (len(b) + 1)
    for x in a:
        prev = 0
        for j, y in enumerate(b, 1):
            cur = row[j]
            row[j] = prev + 1 if x == y else 0
            best = max(best, row[j])
            prev = cur
    return best


# --------------------------------------------------------------------------- names

_NAME_TAGS = frozenset(_POS_ID[t] for t in ("nr", "ns", "nt"))


def is_name(word: str) -> bool:
    """A person, a place or an organisation by jieba's dictionary tags (崂山区, 深圳, 王秀兰)."""
    return _pos_table().get(word) in _NAME_TAGS
