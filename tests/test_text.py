"""Normalisation and segmentation of bot/text.py."""

from __future__ import annotations

import jieba
import pytest

try:  # before bot: puts the project root on sys.path
    import corpus_samples
except ImportError:  # tests/ imported as a package
    from tests import corpus_samples  # noqa: F401
from bot import text


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
    assert text.words("嶗山區的黨員幹部有多少？") == text.words("崂山区的党员干部有多少？")
    assert text.words("ＧＤＰ增長了多少") == text.words("gdp增长了多少")


def test_words_drop_punctuation_and_question_words_keep_content():
    ws = text.words("2023年崂山区生产总值是多少？")
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
    assert dropped in text.segment(question)  # jieba does cut it out as a word ...
    assert dropped not in text.words(question)  # ... and it is not ranked on
    assert text.words(question)  # while the question keeps its content words


def test_words_of_punctuation_and_stopwords_only_is_empty():
    assert text.words("什么？是吗……的！！") == []
    assert text.words("   ，。、") == []


def test_char_ngrams_within_a_run():
    grams = text.char_ngrams(["人才", "总量"])
    assert grams[:4] == ["人", "才", "总", "量"]
    assert set(grams) == {"人", "才", "总", "量", "人才", "才总", "总量"}


def test_char_ngrams_do_not_bridge_a_dropped_word():
    grams = text.analyse("崂山区的人才总量")[1]
    assert {"崂山", "山区", "人才", "总量", "才总"} <= set(grams)
    assert "区人" not in grams  # across '的'
    assert "区的" not in grams and "的" not in grams
    # without the '的' the same characters do make the bigram
    assert "区人" in text.analyse("崂山区人才总量")[1]


def test_char_ngrams_do_not_bridge_punctuation():
    grams = text.analyse("樱桃，游客")[1]
    assert "桃游" not in grams and "樱桃" in grams and "游客" in grams


def test_char_ngrams_keep_latin_words_and_numbers_whole():
    grams = text.analyse("GDP增长7.5%，投资230亿元")[1]
    assert "gdp" in grams and "7.5%" in grams and "230" in grams
    assert "g" not in grams and "7" not in grams and "5" not in grams
    assert "增长" in grams and "亿元" in grams


def test_analyse_returns_words_and_grams():
    words, grams = text.analyse("崂山区人才总量突破23万人")
    assert words == text.words("崂山区人才总量突破23万人")
    assert "人才" in words and "人才" in grams and "才" in grams


def test_add_words_keeps_a_new_term_whole():
    term = "崂岚谷办"  # a made-up name that jieba does not know
    assert term not in jieba.lcut(f"{term}平台上线")
    assert text.add_words([term, "x"]) == 1  # one-character terms are not added
    assert term in jieba.lcut(f"{term}平台上线")
    assert term in text.words(f"请问{term}平台怎么用")


def test_add_words_normalises_the_term():
    text.add_words(["嶗韻閣"])  # traditional script, stored simplified
    assert "崂韵阁" in text.words("崂韵阁开放时间")
    assert "崂韵阁" in text.words("嶗韻閣開放時間")


LOAD_DICTIONARY = (
    "import sys, jieba; from pathlib import Path; from bot import text; "
    "text.load_dictionary(Path(sys.argv[1])); print(' '.join(jieba.lcut('崂山区人才总量突破')))"
)


def _load_dictionary_in_a_fresh_process(cache_dir):
    """jieba's dictionary is process-wide: a cache is only read by a process that has none yet."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-c", LOAD_DICTIONARY, str(cache_dir)],
        cwd=corpus_samples.ROOT, env=corpus_samples.subprocess_env(), capture_output=True,
        text=True, encoding="utf-8", timeout=120,
    )


def test_an_empty_dictionary_cache_file_is_rebuilt(tmp_path):
    (tmp_path / f"jieba-{jieba.__version__}-freq.npy").write_bytes(b"")
    (tmp_path / f"jieba-{jieba.__version__}-words.txt").write_text("崂山\n区", encoding="utf-8")
    run = _load_dictionary_in_a_fresh_process(tmp_path)
    assert run.returncode == 0, run.stderr[-300:]
    assert run.stdout.split() == jieba.lcut("崂山区人才总量突破")
