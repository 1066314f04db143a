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
other (softmax): a cheap one over all of them, then a richer one over the best ``SHORTLIST``.
A third turns the winner's probability and margin into a confidence: the probability that the
span is right (F1 >= 0.5 with a gold answer, as CMRC 2018 scores it). All three are fitted
offline by ``training/fit_reader.py`` on CMRC 2018 dev; their coefficients ship in
``bot/answering/data/reader.json``.

Everything here is pure: strings in, a ``Span`` (or None) out.
"""

from __future__ import annotations

import bisect
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
SHORTLIST = 48  # candidates the first model passes to the second
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
    clause: np.ndarray  # clause number (clauses end at _STOPS and at sentence ends)
    stop: np.ndarray  # the word ends a clause (punctuation)
    ok_start: np.ndarray  # a candidate may start here
    ok_end: np.ndarray  # ... and end here
    before: np.ndarray  # which of _BEFORE the word is (0: none)
    marks: np.ndarray  # 1 的/之, 2 等, 3 a unit of time
    entity: np.ndarray  # the KINDS id the word would have on its own
    numeric: np.ndarray  # a number, or a word of time
    surname: np.ndarray  # a name, or an unknown word, that starts with a common surname
    lexical: np.ndarray  # its LEXICON id (0: none)
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
    return _Words(
        tuple(words), starts_a, ends_a, pos, sentence_a, clause, stop, ok_start, ok_end, before, marks, entity,
        numeric, surname, lexical, first, last,
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
    char_codes: np.ndarray  # ... their code points, in order
    content: tuple[bool, ...]  # which of ``words`` are content words (not 的, 是, 有, ...)
    left_text: str  # the question's characters before the question word
    right_text: str  # ... and after it
    bigrams: tuple[str, ...]  # its Han character bigrams, the question word's aside


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
        frozenset(_HAN.findall(q)), _code_points("".join(sorted(set(_HAN.findall(q))))),
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

BASE = (
    # the question's words around the candidate, in its sentence (before: those before the
    # question word, standing before the candidate; after: likewise)
    "left_near", "left_far", "right_near", "right_far", "crossed", "near_4", "near_16", "near_48",
    "rarest_near", "near_any_16", "local_near_8", "local_near_24",
    "order_kept", "order_broken",
    # the question's wording copied around the candidate, character by character
    "suffix_match", "suffix_2", "prefix_match", "prefix_2",
    "adjacent_before", "adjacent_after", "unit_after", "head_after", "before_gap", "left_anchor", "right_anchor",
    "in_question", "holds_question_word",
    "first_in_question", "last_in_question",
    # its sentence and clause
    "sentence_share", "sentence_content", "sentence_bigrams", "sentence_local", "sentence_best", "sentence_rank",
    "clause_share", "first_sentence",
    # its shape
    "log_chars", "log_words", "clause_start", "clause_end", "whole_clause", "de_after", "deng_after",
    "has_comma", "has_de", "unbalanced", "quoted", "time_unit", "slot_match", "slot_other",
    # against the passage's other candidates
    "suffix_best", "prefix_best", "nearest_of_kind", "slot_nearest",
    *(f"before_{name}" for name, _ in _BEFORE),
)
_B = {name: i for i, name in enumerate(BASE)}
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
    """Every candidate span of one passage for one question: where, what kind, its features."""

    starts: np.ndarray  # character offsets in the passage
    ends: np.ndarray
    base: np.ndarray  # len(starts) x len(BASE)
    cats: np.ndarray  # len(starts) x 10: CATEGORIES, the coarse length, the word before, LEXICAL
    words: np.ndarray  # len(starts) x 2: the first word, one past the last (in the passage's words)
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


def candidates(
    question: str, passage: str, segmenter: text.Segmenter | None = None, *, sentences: int = SENTENCES
) -> Candidates | None:
    """The candidate spans of the passage's best ``sentences`` sentences for the question, and
    their features (None: nothing to read).

    What does not depend on the question (the candidates, their kinds and shapes) is read once
    per passage (``_runs``); here, only how they stand to the question's words."""
    seg = segmenter or default_segmenter()
    q = _question(question, seg)
    p = _passage(passage)
    if not p.sentences:
        return None
    nq, n_sent = len(q.words), len(p.sentences)
    w = np.array(q.weight)
    side = np.array(q.side, np.int64)
    content = np.array(q.content, bool)
    found = [_occurrences(p.norm, word) for word in q.words]

    # The sentences that hold most of the question (by the words' rarity, in Chinese at large
    # and in this passage: its name, in every sentence, says little about which one answers).
    which = np.array([k for k, o in enumerate(found) for _ in o], np.int64)  # the word of each occurrence
    occ_start = np.array([i for o in found for i in o], np.int64)
    word_len = np.array([len(word) for word in q.words], np.int64)
    occ_end = occ_start + word_len[which]
    held = np.zeros((nq, n_sent))
    held[which, p.char_sentence[occ_start]] = 1.0
    held_in = held.sum(axis=1)
    local_w = np.where(held_in > 0, w * np.log1p(n_sent / np.maximum(held_in, 1)), 0.0)
    content_w = np.where(content, w, 0.0)
    wsum, csum, lsum = w.sum() or 1.0, content_w.sum() or 1.0, local_w.sum() or 1.0
    share, content_share, local_share = w @ held / wsum, content_w @ held / csum, local_w @ held / lsum
    bigrams = _bigram_share(p, q.bigrams)
    order = np.argsort(-(content_share + local_share + bigrams), kind="stable")
    rank = np.empty(n_sent, np.int64)
    rank[order] = np.arange(n_sent)
    chosen = tuple(sorted(order[:sentences].tolist()))
    t = _words(passage, chosen, seg)
    if not len(t.first):
        return None
    r = _runs(passage, chosen, seg)
    wi, wj, s, e = r.first, r.last, r.starts, r.ends
    m = len(r)
    x = np.zeros((m, len(BASE)), order="F")  # filled a column at a time
    x[:, _SHAPE_COLUMNS] = r.shape
    x[:, _LENGTH_COLUMNS] = r.lengths

    # Where the question's words stand around each word, in characters: the nearest before a
    # word's start and after its end, in its sentence (``far`` when none; ``_any``: anywhere).
    far = _FAR
    size = len(p.norm) + 1
    reach = max(far, size)  # the longest distance: the decays' tables reach it
    last_end = np.full((nq, size), -1, np.int64)  # the last occurrence's end at or before each position
    last_end[which, occ_end] = occ_end
    last_end = np.maximum.accumulate(last_end, axis=1)[:, t.starts]
    next_start = np.full((nq, size), size, np.int64)  # the first occurrence's start at or after it
    next_start[which, occ_start] = occ_start
    next_start = np.minimum.accumulate(next_start[:, ::-1], axis=1)[:, ::-1]
    after_end, after_start = next_start[:, t.ends], next_start[:, t.starts]
    bounds = np.array(p.sentences, np.int64)[t.sentence]  # each word's sentence: (start, end)
    left_any = np.where(last_end >= 0, t.starts - last_end, far)
    left = np.where(last_end - word_len[:, None] >= bounds[:, 0], left_any, far)
    right_any = np.where(after_end < size, after_end - t.ends, far)
    right = np.where(after_end < bounds[:, 1], right_any, far)
    inside_end = np.where(after_start < size, after_start + word_len[:, None], far)  # first one from a word on
    fading = 0.7 ** (np.abs(side) - 1)
    before_w = np.where(side < 0, w * fading, 0.0)
    after_w = np.where(side > 0, w * fading, 0.0)
    bsum, asum = before_w.sum() or 1.0, after_w.sum() or 1.0
    decay = {tau: _decay(tau, reach) for tau in (2, 3, 4, 10, 16, 48)}  # decay[tau][d] = exp(-d / tau)
    x[:, _B["left_near"]] = (before_w @ decay[2][left] / bsum)[wi]
    x[:, _B["left_far"]] = (before_w @ decay[10][left] / bsum)[wi]
    x[:, _B["right_near"]] = (after_w @ decay[2][right] / asum)[wj]
    x[:, _B["right_far"]] = (after_w @ decay[10][right] / asum)[wj]
    x[:, _B["crossed"]] = (before_w @ decay[4][right] / bsum)[wj] + (after_w @ decay[4][left] / asum)[wi]
    # Nearness on either side: over the words, the nearer side's closeness.
    left_c, right_c = left[:, wi], right[:, wj]  # each question word's distance from each candidate
    e48 = decay[48][np.minimum(left_c, right_c)]  # and the rest by powers of it: exp(-d / 24) = e48 ** 2, ...
    e24 = e48 * e48
    e16 = e24 * e48
    e8 = e16 * e16
    closeness = {48: e48, 24: e24, 16: e16, 8: e8, 4: e8 * e8}
    for name, weights, total, tau in (
        ("near_4", w, wsum, 4), ("near_16", w, wsum, 16), ("near_48", w, wsum, 48),
        ("local_near_8", local_w, lsum, 8), ("local_near_24", local_w, lsum, 24),
    ):
        x[:, _B[name]] = weights @ closeness[tau] / total
    x[:, _B["near_any_16"]] = w @ decay[16][np.minimum(left_any[:, wi], right_any[:, wj])] / wsum
    if nq:
        x[:, _B["rarest_near"]] = closeness[8][int(np.argmax(w))]
    x[:, _B["holds_question_word"]] = w @ (inside_end[:, wi] <= e) / wsum
    # In the question's order: its words before the question word before the candidate, those
    # after it after.
    before_side = (side < 0)[:, None]  # (the rest stand after it)
    is_left, is_right = left_c < far, right_c < far
    kept = np.where(before_side, is_left, is_right)
    x[:, _B["order_kept"]] = local_w @ kept / lsum
    x[:, _B["order_broken"]] = local_w @ (np.where(before_side, is_right, is_left) & ~kept) / lsum
    # The content words nearest the question word (the 职业 of 的职业是什么), nearest the candidate.
    anchors = [k for k in range(nq) if q.content[k]]
    if before_content := [k for k in anchors if q.side[k] < 0]:
        x[:, _B["left_anchor"]] = decay[3][left_c[max(before_content, key=q.side.__getitem__)]]
    if after_content := [k for k in anchors if q.side[k] > 0]:
        x[:, _B["right_anchor"]] = decay[3][right_c[min(after_content, key=q.side.__getitem__)]]
    # The question's own wording just before the question word, just before the candidate
    # (党员有 of 党员有多少名 before 6558名), a gap of a character or two allowed; and after.
    for copied, columns in (
        (_copied(p.norm, q.left_text, s, backwards=True), ("suffix_match", "suffix_2", "suffix_best")),
        (_copied(p.norm, q.right_text, e, backwards=False), ("prefix_match", "prefix_2", "prefix_best")),
    ):
        if copied.any():  # (else its three columns are 0)
            match = np.log1p(copied)
            x[:, _B[columns[0]]] = match
            x[:, _B[columns[1]]] = copied >= 2
            x[:, _B[columns[2]]] = (match > 0) & (match >= match.max() - 1e-9)  # the passage's longest copy
    # The words right next to the question word, right next to the candidate.
    if q.before_wh:
        x[:, _B["adjacent_before"]] = r.word_ids[:, 2] == r.vocab.get(q.before_wh, _NO_WORD)
        x[:, _B["before_gap"]] = decay[3][left_c[q.words.index(q.before_wh)]]
    if q.after_wh:
        x[:, _B["adjacent_after"]] = r.word_ids[:, 3] == r.vocab.get(q.after_wh, _NO_WORD)
        ends_with = np.zeros(len(p.norm) + 1, bool)
        ends_with[[i + len(q.after_wh) for i in _occurrences(p.norm, q.after_wh)]] = True
        x[:, _B["unit_after"]] = ends_with[e]
        # ... or just its last character: 什么颜色 -> 亮灰色, 哪支球队 -> 天津泰达队
        head = q.after_wh[-1]
        x[:, _B["head_after"]] = (p.chars[np.maximum(e - 1, 0)] == ord(head)) & bool(_HAN.match(head))
    # Does the candidate repeat the question?
    in_question = np.zeros(len(r.vocab), bool)  # of the passage's words
    in_question[[r.vocab[word] for word in set(q.words) if len(word) > 1 and word in r.vocab]] = True
    x[:, _B["first_in_question"]] = in_question[r.word_ids[:, 0]]
    x[:, _B["last_in_question"]] = in_question[r.word_ids[:, 1]]
    in_q = _prefix_counts(_among(p.chars, q.char_codes))  # the question's characters up to each position
    han = p.han[e] - p.han[s]
    x[:, _B["in_question"]] = np.where(han > 0, (in_q[e] - in_q[s]) / np.maximum(han, 1), 0.0)
    # Its sentence and clause.
    sentence = r.sentence
    x[:, _B["sentence_share"]] = share[sentence]
    x[:, _B["sentence_content"]] = content_share[sentence]
    x[:, _B["sentence_bigrams"]] = bigrams[sentence]
    x[:, _B["sentence_local"]] = local_share[sentence]
    x[:, _B["sentence_best"]] = rank[sentence] == 0
    x[:, _B["sentence_rank"]] = np.log1p(rank[sentence])
    clause_held = np.zeros((nq, int(t.clause[-1]) + 1))
    at = np.searchsorted(t.starts, occ_start, side="right") - 1  # the word of each occurrence's start
    ok = (at >= 0) & (occ_start < t.ends[np.maximum(at, 0)])
    clause_held[which[ok], t.clause[at[ok]]] = 1.0
    x[:, _B["clause_share"]] = (w @ clause_held / wsum)[r.clause]
    # Its kind, against what is asked; against the others of its kind.
    kinds = r.kinds
    wanted = SLOT_KINDS.get(q.asked or "")
    if wanted is not None:
        x[:, _B["slot_match"]] = kinds == _KIND_ID[wanted]
        x[:, _B["slot_other"]] = (kinds != _KIND_ID[wanted]) & (kinds != _KIND_ID["phrase"])
    near = x[:, _B["local_near_24"]]
    nearest = np.full(len(KINDS), np.inf)  # per kind, the nearness of its nearest ("phrase", or none there: inf)
    if len(r.by_kind):
        nearest[r.kinds_there] = np.maximum.reduceat(near[r.by_kind], r.kind_starts) - 1e-9
    nearest_of_kind = (near >= nearest[kinds]) & (near > 0)
    x[:, _B["nearest_of_kind"]] = nearest_of_kind
    if wanted is not None:
        x[:, _B["slot_nearest"]] = nearest_of_kind & (kinds == _KIND_ID[wanted])
    asked = _ASKED_ID[q.asked] if q.asked is not None else _NONE_ID
    return Candidates(s, e, x, r.cats.astype(np.int64), r.words, asked)


def _bigram_share(p: _Passage, bigrams: tuple[str, ...]) -> np.ndarray:
    """Per sentence of the passage, the share of the (two-character) ``bigrams`` it holds."""
    held = [0] * len(p.sentences)
    starts = [a for a, _ in p.sentences]
    for g in bigrams:
        sentences = set()
        i = p.norm.find(g)
        while i >= 0:
            k = bisect.bisect_right(starts, i) - 1  # the sentence it starts in, if any
            if k >= 0 and i + len(g) <= p.sentences[k][1]:
                sentences.add(k)
            i = p.norm.find(g, i + 1)
        for k in sentences:
            held[k] += 1
    return np.array(held) / max(len(bigrams), 1)


def _copied(norm: str, wording: str, at: np.ndarray, *, backwards: bool, gaps: int = 2,
            longest: int = 12) -> np.ndarray:
    """How many characters of ``wording`` stand right before (``backwards``: its last ones) or
    right after (its first ones) each position in ``at``, a gap of up to ``gaps`` characters
    allowed (at half a character each)."""
    n, k_max = len(norm), min(len(wording), longest)
    if k_max == 0 or n == 0:
        return np.zeros(len(at))
    # Only where the nearest character of the wording stands can a copy end (or start).
    edge = wording[-1] if backwards else wording[0]
    best = np.zeros(n + 1 + gaps)  # per position: the longest copy there, less half a character a gap
    i = norm.find(edge)
    while i >= 0:
        k = 1
        if backwards:  # a copy that ends just before i + 1: before i + 1 + g, a gap of g
            while k < k_max and i - k >= 0 and norm[i - k] == wording[-k - 1]:
                k += 1
            positions = range(i + 1, i + 2 + gaps)
        else:  # a copy that starts at i: after i - g
            while k < k_max and i + k < n and norm[i + k] == wording[k]:
                k += 1
            positions = range(i, max(i - gaps, 0) - 1, -1)
        for g, pos in enumerate(positions):
            best[pos] = max(best[pos], k - 0.5 * g)
        i = norm.find(edge, i + 1)
    return best[at]


def _among(chars: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Which of the code points ``chars`` are among ``codes`` (in order): np.isin, quicker for a few."""
    if not len(codes):
        return np.zeros(len(chars), bool)
    return codes[np.minimum(np.searchsorted(codes, chars), len(codes) - 1)] == chars


def _prefix_counts(counts: np.ndarray) -> np.ndarray:
    """The sums of the first i counts, for i = 0 .. len(counts) (np.r_[0, np.cumsum(counts)])."""
    sums = np.zeros(len(counts) + 1, np.int64)
    sums[1:] = counts
    return sums.cumsum(out=sums)


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


# The columns of BASE that the question leaves alone: the candidate's shape and its context.
_SHAPE = (
    "first_sentence", "clause_start", "clause_end", "whole_clause", "de_after", "deng_after", "has_comma",
    "has_de", "unbalanced", "quoted", "time_unit", *(f"before_{name}" for name, _ in _BEFORE),
)
_SHAPE_COLUMNS = np.array([_B[name] for name in _SHAPE])
_LENGTH_COLUMNS = np.array([_B["log_chars"], _B["log_words"]])
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
    sentence: np.ndarray  # sentence number
    clause: np.ndarray  # clause number (of the first word)
    shape: np.ndarray  # len x len(_SHAPE), 0 or 1: those columns of BASE
    lengths: np.ndarray  # len x 2: log_chars, log_words
    cats: np.ndarray  # Candidates.cats (int8)
    by_kind: np.ndarray  # the rows of a kind but "phrase", by kind ...
    kind_starts: np.ndarray  # ... where each kind starts in them ...
    kinds_there: np.ndarray  # ... and which kind it is
    vocab: dict[str, int]  # the words, numbered
    word_ids: np.ndarray  # len x 4: ids of the first word, the last, the one before, after (-1: none in the sentence)

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
    sentence = t.sentence[wi]
    shape = np.column_stack([
        sentence == 0, starts_clause, ends_clause, starts_clause & ends_clause, next_mark == 1, next_mark == 2,
        p.commas[e] > p.commas[s], p.des[e] > p.des[s], np.any(p.balance[:, e] != p.balance[:, s], axis=0),
        quoted, t.marks[wj] == 3, *(before == k + 1 for k in range(len(_BEFORE))),
    ])
    lengths = np.column_stack([np.log1p(e - s), np.log1p(n_words)])
    kinds = _kinds(p, t, wi, wj, s, e, quoted)
    cats = np.column_stack([
        t.pos[wi], t.pos[wj], np.where(has_prev, t.pos[prev_i], _POS_ID["punct"]),
        np.where(has_next, t.pos[next_i], _POS_ID["punct"]), kinds, np.searchsorted(_LENGTHS, n_words),
        np.searchsorted(_COARSE, n_words), before, t.lexical[wi], t.lexical[wj],
    ]).astype(np.int8)
    by_kind = np.flatnonzero(kinds != _KIND_ID["phrase"])
    by_kind = by_kind[np.argsort(kinds[by_kind], kind="stable")]
    kinds_there, kind_starts = np.unique(kinds[by_kind], return_index=True)
    vocab: dict[str, int] = {}
    ids = np.array([vocab.setdefault(word, len(vocab)) for word in t.words], np.int64)
    word_ids = np.column_stack([ids[wi], ids[wj], np.where(has_prev, ids[prev_i], -1),
                                np.where(has_next, ids[next_i], -1)])
    runs = _Runs(wi, wj, s, e, np.column_stack([wi, wj]), sentence, t.clause[wi], shape, lengths, cats, by_kind,
                 kind_starts, kinds_there, vocab, word_ids)
    for a in (s, e, runs.words, shape, lengths, cats, word_ids):
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
SHIFT = 2  # neighbours: the same run with up to this many words more or less at either end
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


@dataclass(frozen=True)
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

    def probability(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(((x - self.mean) / self.scale) @ self.coef + self.intercept)))


@dataclass(frozen=True, eq=False)  # hashed by identity: readings are cached per model
class Model:
    first: Ranker  # over BASE, every candidate
    second: Ranker  # over FEATURES, the first's SHORTLIST
    confidence: Logistic  # over CONFIDENCE: the probability that the span is right
    threshold: float  # the confidence from which a short answer is shown


def _ranker(data: dict) -> Ranker:
    return Ranker(np.asarray(data["mean"], float), np.asarray(data["scale"], float), np.asarray(data["coef"], float))


@cache
def load_model(path: Path = MODEL_PATH) -> Model:
    data = json.loads(path.read_text(encoding="utf-8"))
    fitted = (tuple(data["base"]), tuple(data["features"]), tuple(data["confidence"]["features"]))
    if fitted != (BASE, FEATURES, CONFIDENCE):
        raise ValueError(f"{path}: fitted on other features; run training/fit_reader.py")
    conf = data["confidence"]
    confidence = Logistic(
        np.asarray(conf["mean"], float), np.asarray(conf["scale"], float), np.asarray(conf["coef"], float),
        float(conf["intercept"]),
    )
    return Model(_ranker(data["first"]), _ranker(data["second"]), confidence, float(data["threshold"]))


@dataclass(frozen=True)
class Reading:
    """What the models make of one passage: the shortlist, best first, and its probabilities."""

    shortlist: Candidates  # the first model's best (and their neighbours), ordered by the second
    probability: np.ndarray  # the second model's softmax over the shortlist
    confidences: dict[tuple[Model, int], float] = field(default_factory=dict, repr=False, compare=False)

    def confidence(self, model: Model, row: int = 0) -> float:
        """The confidence model's probability that the shortlist's ``row`` (the winner by
        default) is right; kept in ``confidences`` (best_span and slot_verdict ask it of the
        same reading, often of the same row)."""
        key = (model, row)
        if key not in self.confidences:
            self.confidences[key] = float(model.confidence.probability(self.confidence_features(row)[None, :])[0])
        return self.confidences[key]

    @property
    def span(self) -> tuple[int, int, int]:
        """(start, end, KINDS id) of the winner."""
        c = self.shortlist
        return int(c.starts[0]), int(c.ends[0]), int(c.kinds[0])

    def confidence_features(self, row: int = 0) -> np.ndarray:
        """CONFIDENCE of the shortlist's ``row`` (the winner by default), against the best other."""
        p = self.probability
        c = self.shortlist
        top, others = float(p[row]), np.concatenate((p[:row], p[row + 1 :]))
        kind = int(c.kinds[row])
        asked = ASKED[c.asked] if c.asked < len(ASKED) else None
        wanted = SLOT_KINDS.get(asked or "")
        base = c.base[row]
        x = np.zeros(len(CONFIDENCE))
        x[:9] = (
            top, math.log(max(top, 1e-9)), top - (float(others.max()) if len(others) else 0.0),
            float(wanted is not None and kind == _KIND_ID[wanted]),
            float(wanted is not None and kind != _KIND_ID[wanted]),
            float(wanted is None),
            base[_B["sentence_local"]], base[_B["local_near_8"]], base[_B["log_words"]],
        )
        f1 = _overlap_f1(c.starts, c.ends, row)
        x[9:11] = float(p[f1 > 0].sum()), float(p @ f1)
        x[11 + c.asked] = 1.0
        x[11 + len(ASKED) + 1 + kind] = 1.0
        return x


def _overlap_f1(starts: np.ndarray, ends: np.ndarray, row: int) -> np.ndarray:
    """F1 in characters of each span with span ``row``."""
    common = np.maximum(0, np.minimum(ends, ends[row]) - np.maximum(starts, starts[row]))
    return 2 * common / ((ends - starts) + (ends[row] - starts[row]))


def neighbours(c: Candidates, winner_words: np.ndarray) -> np.ndarray:
    """Rows of the candidates whose ends lie within SHIFT words of the winner's (it among them);
    with several winners (``winner_words``: a row each), of any of them."""
    first, last = c.words[:, 0], c.words[:, 1]
    near = np.zeros(len(c), bool)
    for a, b in np.reshape(winner_words, (-1, 2)).tolist():
        near |= (np.abs(first - a) <= SHIFT) & (np.abs(last - b) <= SHIFT)
    return np.flatnonzero(near)


AROUND = 3  # the shortlist holds the neighbours of the first model's best few


def shortlist_rows(c: Candidates, first_scores: np.ndarray, size: int = SHORTLIST, around: int = AROUND) -> np.ndarray:
    """The first model's ``size`` best candidates, and the neighbours of its ``around`` best
    (the same run with a word more or less at either end: the second model settles the ends)."""
    if len(c) <= size:
        return np.arange(len(c))
    top = np.argpartition(-first_scores, size - 1)[:size]
    best = top[np.argsort(-first_scores[top])[:around]]
    keep = np.zeros(len(c), bool)
    keep[top] = True
    keep[neighbours(c, c.words[best])] = True
    return np.flatnonzero(keep)


def rank(c: Candidates, model: Model, shortlist: int = SHORTLIST) -> Reading:
    """Both models over the candidates: the first's shortlist, ordered by the second."""
    c = c.take(shortlist_rows(c, model.first.scores(c.base), shortlist))
    z = model.second.candidate_scores(c)
    order = np.argsort(-z, kind="stable")
    z, starts, ends = z[order], c.starts[order], c.ends[order]
    p = np.exp(z - z[0])
    p /= p.sum()
    # The winner: the span of most expected overlap with the others, weighed by their sharpened
    # probability (MBR). When the probability is split between ends a word apart, it picks the
    # span they share. (CMRC 2018 dev, held-out folds: EM +0.01, F1 +0.016 over the argmax.)
    sharp = p**MBR_POWER
    sharp /= sharp.sum()
    ov = np.maximum(0, np.minimum(ends[:, None], ends[None, :]) - np.maximum(starts[:, None], starts[None, :]))
    length = ends - starts
    best = int(np.argmax((2 * ov / (length[:, None] + length[None, :])) @ sharp))
    if best:
        order, p = _to_front(order, best), _to_front(p, best)
    return Reading(c.take(order), p)


def _to_front(a: np.ndarray, k: int) -> np.ndarray:
    """``a`` with its element ``k`` first, the others in their order."""
    return np.concatenate((a[k : k + 1], a[:k], a[k + 1 :]))


@lru_cache(maxsize=256)
def _reading(question: str, passage: str, segmenter: text.Segmenter | None, model: Model) -> Reading | None:
    """Both models over one passage (kept a while: best_span and slot_verdict read the same)."""
    c = candidates(question, passage, segmenter)
    return None if c is None else rank(c, model)


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
_MEASURES = frozenset("个家名户座项件条所位次处栋辆台只张本篇部届批类种支人元亩米吨岁")
_MEASURE_ASKED = re.compile(r"(?:多少|几)([个家名户座项件条所位次处栋辆台只张本篇部届批类种支人元亩米吨岁])")
_MEASURE_GIVEN = re.compile(r"(?:[0-9]+(?:[.,][0-9]+)*|[零〇一二两三四五六七八九十百千万亿]+)[万亿千百十]*[多余]?(.)")


def showable(question: str, span: str) -> bool:
    """Whether a span can be shown as the answer, at any confidence: the question asks for
    something (not why or how, nor a bare keyword); a number (多少, 几) or a time (哪一年, 何时)
    is answered by a span holding a numeral or, for a time, a word of time; a rate by a share
    (%, 百分, 成, 倍); a count in a measure word (多少家) not by a count in another (128个).
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
        wanted, given = _MEASURE_ASKED.search(q), _MEASURE_GIVEN.search(norm)
        if wanted and given and given.group(1) in _MEASURES and given.group(1) != wanted.group(1):
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
        rows = np.flatnonzero(r.shortlist.kinds == _KIND_ID[wanted])
        if len(rows):
            best = max(best, r.confidence(model, int(rows[0])))
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
