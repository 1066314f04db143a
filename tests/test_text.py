"""Normalisation and segmentation of bot/search/text.py."""

from __future__ import annotations

from pathlib import Path

import jieba
import pytest

try:  # before bot: puts the project root on sys.path
    import corpus_samples
except ImportError:  # tests/ imported as a package
    from tests import corpus_samples
from bot.search import text

SEG = text.Segmenter()  # jieba's dictionary, no corpus terms


def words(t: str) -> list[str]:
    return SEG.analyse(t)[0]


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("ＧＤＰ１２３", "gdp123"),
        ("ＡＢＣ　ｄｅｆ", "abc def"),
        ("GDP Growth", "gdp growth"),
        ("嶗山區黨員", "崂山区党员"),
        ("崂山區黨員幹部", "崂山区党员干部"),
        ("  崂山\t\n  区  ", "崂山 区"),
        ("２０２３年崂山區生產總值", "2023年崂山区生产总值"),
        ("崂山区党员", "崂山区党员"),
    ],
)
def test_normalise(raw, expected):
    assert text.normalise(raw) == expected


def test_traditional_and_simplified_questions_meet_the_same_words():
    assert words("嶗山區的黨員幹部有多少？") == words("崂山区的党员干部有多少？")
    assert words("ＧＤＰ增長了多少") == words("gdp增长了多少")


def test_words_drop_punctuation_and_question_words_keep_content():
    ws = words("2023年崂山区生产总值是多少？")
    assert "崂山区" in ws and "生产总值" in ws and "2023" in ws
    assert not {"是", "多少", "？", "?"} & set(ws)


@pytest.mark.parametrize("dropped", ["什么", "多少", "吗", "的", "是"])
def test_function_words_are_not_content(dropped):
    question = {
        "什么": "什么是党建引领",
        "多少": "人才总量有多少",
        "吗": "崂山区有樱桃节吗",
        "的": "崂山区的人才总量",
        "是": "崂山区的面积是多少",
    }[dropped]
    assert dropped in SEG.segment(question)  # jieba does cut it out as a word ...
    assert dropped not in words(question)  # ... and it is not ranked on
    assert words(question)  # while the question keeps its content words


def test_a_question_word_jieba_keeps_with_its_measure_word_is_cut_from_it():
    # 几家 / 多少倍 / 哪部 are one word to jieba: the question word goes, the measure stays, as
    # when jieba cuts 多少 / 名 itself.
    assert "几家" in jieba.lcut("崂山区有几家上市企业") and "多少倍" in jieba.lcut("地球的多少倍")
    assert words("崂山区有几家上市企业") == ["崂山区", "家", "上市", "企业"]
    assert words("是地球的多少倍") == ["地球", "倍"]
    assert words("本文选自哪部著作")[-2:] == ["部", "著作"]
    assert words("有多少名党员") == ["名", "党员"]
    assert "几乎" in words("几乎所有村庄")  # not a question word and a measure


def test_words_of_punctuation_and_stopwords_only_is_empty():
    assert words("什么？是吗……的！！") == []
    assert words("   ，。、") == []


def test_char_ngrams_within_a_run():
    grams = text.char_ngrams(["人才", "总量"])
    assert grams[:4] == ["人", "才", "总", "量"]
    assert set(grams) == {"人", "才", "总", "量", "人才", "才总", "总量"}


def test_char_ngrams_do_not_bridge_a_dropped_word():
    grams = SEG.analyse("崂山区的人才总量")[1]
    assert {"崂山", "山区", "人才", "总量", "才总"} <= set(grams)
    assert "区人" not in grams  # across '的'
    assert "区的" not in grams and "的" not in grams
    # without the '的' the same characters do make the bigram
    assert "区人" in SEG.analyse("崂山区人才总量")[1]


def test_char_ngrams_do_not_bridge_punctuation():
    grams = SEG.analyse("樱桃，游客")[1]
    assert "桃游" not in grams and "樱桃" in grams and "游客" in grams


def test_char_ngrams_keep_latin_words_and_numbers_whole():
    grams = SEG.analyse("GDP增长7.5%，投资230亿元")[1]
    assert "gdp" in grams and "7.5%" in grams and "230" in grams
    assert "g" not in grams and "7" not in grams and "5" not in grams
    assert "增长" in grams and "亿元" in grams


def test_char_ngram_counts_are_those_of_char_ngrams():
    from collections import Counter

    for sample in ("崂山区的人才总量达到3.4万人，covid-19 期间啊啊啊不停", "哈哈哈哈 a股 股票 5g 网络", ""):
        runs = SEG.content_runs(sample)
        grams = Counter(text.char_ngrams(runs))
        total, counts = text.char_ngram_counts(runs, [*grams, "哈哈", "不在", "x"])
        assert total == sum(grams.values())
        assert counts == {g: grams.get(g, 0) for g in counts}


def test_analyse_returns_words_and_grams():
    ws, grams = SEG.analyse("崂山区人才总量突破23万人")
    assert ws == [t for t in SEG.content_runs("崂山区人才总量突破23万人") if t is not None]
    assert "人才" in ws and "人才" in grams and "才" in grams


def test_a_segmenter_keeps_its_terms_whole_and_to_itself():
    term = "崂岚谷办"  # a made-up name that jieba does not know
    assert term not in SEG.segment(f"{term}平台上线")
    seg = text.Segmenter([term, "x"])
    assert seg.terms == (term,)  # one-character terms are not added
    assert term in seg.segment(f"{term}平台上线")
    assert term in seg.analyse(f"请问{term}平台怎么用")[0]
    assert term not in SEG.segment(f"{term}平台上线")  # another segmenter never sees it ...
    assert term not in jieba.lcut(f"{term}平台上线")  # ... nor does jieba's own


def test_a_segmenter_normalises_its_terms():
    seg = text.Segmenter(["嶗韻閣"])  # traditional script, stored simplified
    assert "崂韵阁" in seg.analyse("崂韵阁开放时间")[0]
    assert "崂韵阁" in seg.analyse("嶗韻閣開放時間")[0]


# --------------------------------------------------------------------------- the dictionary cache

# Each way of loading the dictionary runs in a fresh process (the shipped table is read once per
# process) that cuts the same texts and prints the cuts as JSON: argv = cache dir ("-": jieba's
# own tokenizer, the reference), lazy or full, words to add first ("|"-separated), then the texts
# come on stdin.
CUT_SCRIPT = """
import json, sys, threading
from pathlib import Path
import jieba
from bot.search import text
cache, mode, added = sys.argv[1], sys.argv[2], [w for w in sys.argv[3].split("|") if w]
if cache == "-":
    jieba.initialize()
    total = jieba.dt.total
    for w in sorted(added):  # as text.Segmenter adds terms: sorted, jieba's total left as it was
        jieba.add_word(w)
        jieba.dt.total = total
    tok = jieba.dt
else:
    tok = text.Segmenter(added, cache_dir=Path(cache), lazy=(mode == "lazy")).tokenizer
texts = json.loads(sys.stdin.read())
cuts = [None] * len(texts)
def cut(i):
    cuts[i] = tok.lcut(texts[i])  # jieba's own cut, not only Segmenter.segment, sees the whole table
threads = [threading.Thread(target=cut, args=(i,)) for i in range(len(texts))]
for t in threads: t.start()
for t in threads: t.join()
table = type(tok.FREQ).__name__
print(json.dumps({"cuts": cuts, "total": tok.total, "table": table}, ensure_ascii=False))
"""


def _cuts(cache, mode: str, texts: list[str], added: tuple[str, ...] = ()) -> dict:
    import json
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-c", CUT_SCRIPT, str(cache), mode, "|".join(added)],
        input=json.dumps(texts, ensure_ascii=False), cwd=corpus_samples.ROOT,
        env=corpus_samples.subprocess_env(), capture_output=True, text=True, encoding="utf-8",
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-500:]
    return json.loads(run.stdout)


def _sample_texts() -> list[str]:
    import random

    lines = [
        line for f in sorted((corpus_samples.ROOT / "corpus").glob("*.md"))
        for line in f.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    rng = random.Random(7)
    chars = "".join(lines)
    # random strings reach first characters (and jieba's HMM on unknown runs) the articles do not
    return lines + ["".join(rng.choice(chars) for _ in range(24)) for _ in range(60)]


@pytest.fixture(scope="module")
def reference_cuts():
    """The cuts with jieba's own dictionary loading."""
    return _cuts("-", "full", _sample_texts(), ADDED)


ADDED = ("崂先办", "人才总量", "海洋牧场")  # new words (the first two in the corpus), one longer than 海洋


@pytest.fixture(scope="module")
def dictionary_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("jieba")
    _cuts(cache, "lazy", [])  # the first load writes the cache
    return cache


def test_the_cache_is_written_on_first_load(dictionary_cache):
    names = sorted(f.name for f in dictionary_cache.iterdir())
    stem = f"jieba-{jieba.__version__}-dict"
    assert names == [f"{stem}-freq.npy", f"{stem}-groups.npy", f"{stem}.txt"]


@pytest.mark.parametrize("mode", ["lazy", "full"])
def test_a_cached_dictionary_cuts_as_jiebas_own(dictionary_cache, reference_cuts, mode):
    got = _cuts(dictionary_cache, mode, _sample_texts(), ADDED)
    assert got["table"] == ("LazyFreq" if mode == "lazy" else "dict")
    assert got["total"] == reference_cuts["total"]  # jieba's total, not the sum of the counts
    assert got["cuts"] == reference_cuts["cuts"]
    assert any("崂先办" in cut for cut in got["cuts"])  # the added words are in play
    assert any("人才总量" in cut for cut in got["cuts"])


def test_the_whole_table_is_jiebas_table(dictionary_cache):
    import subprocess
    import sys

    script = (
        "import sys, jieba; from pathlib import Path; from bot.search import text; "
        "table = text._read_dictionary(Path(sys.argv[1])); jieba.initialize(); "
        "full = table.filled(); print(len(full), full == jieba.dt.FREQ, table.total == jieba.dt.total)"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(dictionary_cache)], cwd=corpus_samples.ROOT,
        env=corpus_samples.subprocess_env(), capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr[-500:]
    size, same, total = run.stdout.split()
    assert int(size) > 300_000 and same == "True" and total == "True"


def test_a_lazy_table_fills_a_group_on_first_lookup_and_keeps_added_counts(dictionary_cache):
    table = text._read_dictionary(dictionary_cache)
    assert dict.__len__(table) == 0
    assert "崂山" in table and table["崂山"] > 0 and table.get("崂山") == table["崂山"]
    filled = dict.__len__(table)
    assert 0 < filled < 5_000  # only the words that start with 崂
    table["海洋"] = 7  # as jieba.add_word does, before the 海 group is filled
    assert table.get("海上保险") == 3  # fills the 海 group ...
    assert table["海洋"] == 7  # ... without overwriting the added count
    assert "爨爨爨" not in table and table.get("爨爨爨", 0) == 0
    with pytest.raises(KeyError):
        table["爨爨爨"]


@pytest.mark.parametrize(
    "damage",
    ["empty counts", "truncated words", "groups out of order", "foreign file", "missing groups"],
)
def test_a_damaged_dictionary_cache_is_rebuilt(tmp_path, dictionary_cache, reference_cuts, damage):
    import shutil

    import numpy as np

    for f in dictionary_cache.iterdir():
        shutil.copy(f, tmp_path / f.name)
    stem = tmp_path / f"jieba-{jieba.__version__}-dict"
    words, counts, groups = Path(f"{stem}.txt"), Path(f"{stem}-freq.npy"), Path(f"{stem}-groups.npy")
    if damage == "empty counts":
        counts.write_bytes(b"")
    elif damage == "truncated words":
        words.write_bytes(words.read_bytes()[: 100_000])
    elif damage == "groups out of order":
        g = np.load(groups)
        g[[5, 6]] = g[[6, 5]]
        np.save(groups, g)
    elif damage == "foreign file":
        words.write_text("崂山\n区\n", encoding="utf-8")
    else:
        groups.unlink()
    got = _cuts(tmp_path, "lazy", _sample_texts(), ADDED)
    assert got["cuts"] == reference_cuts["cuts"]
    text._read_dictionary(tmp_path)  # and the cache was written again, whole
