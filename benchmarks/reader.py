"""The reader's time on the seed corpus: per passage read, and with the bot's whole answer.

    uv run python benchmarks/reader.py [--questions 1000] [--rounds 3]

Questions as ``bench`` asks them (benchmarks/bench.py ``ask_seed``): the dev questions, then
stretches of random passages. For each, the bot's whole ``answer`` (search, reader, decision,
quotes) with the reader and without it (``answer.USE_READER``), one after the other. The first
round starts with empty caches: every passage is cut by
jieba the first time it is read; later rounds find the seed corpus' 140 passages cut already,
as a running bot does. Also printed: what the first call costs once per process (the model and
the part-of-speech table).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.answering import answer as answering  # noqa: E402
from bot.answering import reader  # noqa: E402
from bot.config import DEFAULT_CORPUS, DEFAULT_DATA_DIR  # noqa: E402
from bot.ops.evaluate import DEV_QA, load_questions, seed_question_sets  # noqa: E402
from bot.search import cache  # noqa: E402


def questions_for(index, count: int, seed: int) -> list[str]:
    asked = [q.question for path in seed_question_sets() for q in load_questions(path)]
    asked = list(dict.fromkeys(asked or [q.question for q in load_questions(DEV_QA)]))
    rng = np.random.default_rng([seed, 7])
    while len(asked) < count:  # a stretch of a passage, as someone might ask it
        p = index.passages[int(rng.integers(len(index.passages)))].text
        width = int(rng.integers(6, 16))
        start = int(rng.integers(max(len(p) - width, 1)))
        asked.append(p[start : start + width] + "？")
    return asked[:count]


def clear_caches() -> None:
    for f in (reader._passage, reader._words, reader._sentence_words, reader._runs, reader._question,
              reader._reading, reader._numeric_kind, reader.asked_type):
        f.cache_clear()


def summary(times: list[float]) -> str:
    t = np.array(times) * 1e3
    return f"mean {t.mean():.2f} ms, p50 {np.median(t):.2f} ms, p99 {np.quantile(t, 0.99):.2f} ms"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--questions", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3, help="rounds over the questions (the first with empty caches)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    index = cache.load_or_build(DEFAULT_CORPUS, DEFAULT_DATA_DIR)
    asked = questions_for(index, args.questions, args.seed)
    seg = index.segmenter
    t0 = time.perf_counter()
    model = reader.load_model()
    t1 = time.perf_counter()
    reader.read("社区有多少户？", "社区共有居民6558户。", segmenter=seg, model=model)
    t2 = time.perf_counter()
    print(f"once per process: the model {1e3 * (t1 - t0):.0f} ms, the first reading (part-of-speech table, "
          f"jieba's dictionary) {1e3 * (t2 - t1):.0f} ms")
    clear_caches()
    for n in range(args.rounds):
        whole, bare, shown = [], [], 0
        for q in asked:
            answering.USE_READER = False
            t = time.perf_counter()
            answering.answer(index, q, k=3)
            bare.append(time.perf_counter() - t)
            answering.USE_READER = True
            # (they keep a question's reading and type: the rounds repeat questions)
            reader._reading.cache_clear()
            reader.asked_type.cache_clear()
            t = time.perf_counter()
            ans = answering.answer(index, q, k=3)
            whole.append(time.perf_counter() - t)
            shown += ans.short is not None
        label = "empty caches" if n == 0 else "warm"
        print(f"round {n + 1} ({label}), {len(asked)} questions, {shown} short answers shown:")
        print(f"  whole answer without the reader: {summary(bare)}")
        print(f"  whole answer with the reader: {summary(whole)}")
        asking = [i for i, q in enumerate(asked) if reader.asked_type(q) is not None]  # (the rest are not read)
        print(f"  of them the {len(asking)} that ask something (多少, 谁, 是什么, ...), read by the reader:")
        print(f"    without the reader: {summary([bare[i] for i in asking])}")
        print(f"    with the reader: {summary([whole[i] for i in asking])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
