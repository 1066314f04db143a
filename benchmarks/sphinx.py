"""The engine backend (Sphinx Search over SphinxQL) against the embedded index: same answers? how fast?
how big?

    uv run python benchmarks/sphinx.py                      (seed dev, CMRC dev, 10^5 synthetic)
    uv run python benchmarks/sphinx.py --size 2e4 --no-cmrc (a quicker look)

Every part starts its own searchd processes (shards and a head on free loopback ports, under
``--dir``) and stops them at the end:

- seed dev questions (eval/seed-qa-dev*.jsonl) and CMRC 2018 dev (3,219 questions over its 848
  paragraphs, as ``bot/ops/evaluate.py`` loads it), each corpus in two shards: how often the
  engine-backed answer (``answer.answer``) has the embedded one's first passage, and why not
  when not (a tie in the embedded ranking, or the passage outside the engine's candidates);
- a synthetic corpus of ``--size`` passages (benchmarks/bench.py's generator) in two shards,
  segmented once (the runs kept under ``--dir``) for both indexes: the same agreement, the
  latency of the whole answer on both, question by question in the same run (p50/p99), and
  what the engine holds per passage (its index files; the shards' searchd resident memory).
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: the bot package sits one level up
    sys.path.insert(0, str(ROOT))

from bench import make_questions, make_texts, memory, passages_of, vocabulary  # noqa: E402

from bot.answering import answer as answering  # noqa: E402
from bot.search.bm25 import SparseBM25  # noqa: E402
from bot.search.index import Index, corpus_terms  # noqa: E402
from bot.search.sphinxbuild import Built, Layout, build, free_ports, segment, start_all  # noqa: E402
from bot.search.sphinxql import EngineIndex, disagreement, views  # noqa: E402


def _layout(shards: int) -> Layout:
    head, *ports = free_ports(1 + shards)
    return Layout(("127.0.0.1", head), tuple((("127.0.0.1", p),) for p in ports))


class Engine:
    """A build's searchd processes running, and the bot's index on them."""

    def __init__(self, built: Built, cache_dir: Path | None, fetch: int, unigrams: bool = True):
        self.built = built
        self.daemons = start_all(built)
        host, port = _head(built)
        self.index = EngineIndex(f"{host}:{port}", cache_dir=cache_dir, fetch=fetch, unigrams=unigrams)

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.index.close()
        for d in self.daemons:
            d.stop()

    def shard_rss(self) -> int:
        """Resident bytes of the shards' searchd processes (the head holds no passages)."""
        total = 0
        for d in self.daemons:
            if d.conf != self.built.head_conf and d.pid() is not None:
                for line in Path(f"/proc/{d.pid()}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        return total

    def index_bytes(self) -> int:
        """Bytes of the shards' index files on disk (replica 0 of each)."""
        return sum(f.stat().st_size for replicas in self.built.shard_confs
                   for f in (self.built.out / "data" / replicas[0].stem).iterdir())


def _head(built: Built) -> tuple[str, int]:
    listen = next(line for line in built.head_conf.read_text().splitlines() if line.strip().startswith("listen"))
    host, port = listen.split("=", 1)[1].strip().split(":")[:2]
    return host, int(port)


def _first(ans: answering.Answer) -> str | None:
    return ans.candidates[0].passage.key if ans.candidates else None


def agreement(name: str, embedded: Index, engine: EngineIndex, questions: list[str],
              timed: bool = False) -> dict:
    """First-passage agreement of the two answers (and their latencies, interleaved)."""
    same, why = 0, Counter[str]()
    t_emb, t_eng = [], []
    for q in questions:
        t0 = time.perf_counter()
        mine = answering.answer(embedded, q)
        t1 = time.perf_counter()
        theirs = answering.answer(engine, q)
        t2 = time.perf_counter()
        t_emb.append(t1 - t0)
        t_eng.append(t2 - t1)
        if _first(mine) == _first(theirs):
            same += 1
        else:
            why[disagreement(embedded, engine, q) or "none"] += 1
    print(f"{name}: first passage agrees on {same:,} of {len(questions):,} questions ({same / len(questions):.4f}); "
          f"the others: {dict(why) or 'none'}")
    out = {"same": same, "questions": len(questions), "why": dict(why)}
    if timed:
        for label, times in (("embedded", t_emb), ("engine", t_eng)):
            ms = np.asarray(times) * 1e3
            p50, p99 = np.percentile(ms, 50), np.percentile(ms, 99)
            print(f"  answer latency, {label}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, mean {ms.mean():.1f} ms")
            out[label] = (float(p50), float(p99))
    return out


def seed_dev(args: argparse.Namespace) -> None:
    from bot.ops.evaluate import load_questions, seed_question_sets
    from bot.search.cache import load_or_build

    cache = args.dir / "cache"
    embedded = load_or_build(ROOT / "corpus", cache)
    questions = [q.question for p in seed_question_sets() for q in load_questions(p)]
    built = build(embedded.passages, args.dir / "seed", _layout(2), user_terms=embedded.user_terms)
    with Engine(built, cache, args.fetch, not args.bigrams_only) as engine:
        agreement(f"seed dev questions ({len(embedded)} passages, 2 shards)", embedded, engine.index, questions)


def cmrc_dev(args: argparse.Namespace) -> None:
    from bot.ops.evaluate import CMRC, load_benchmark

    cache = args.dir / "cache"
    passages, queries, _ = load_benchmark(CMRC)
    embedded = Index(passages, cache_dir=cache)
    built = build(passages, args.dir / "cmrc", _layout(2), user_terms=embedded.user_terms)
    with Engine(built, cache, args.fetch, not args.bigrams_only) as engine:
        agreement(f"CMRC 2018 dev ({len(passages)} passages, 2 shards)", embedded, engine.index,
                  [text for _, text in queries])


def synthetic(args: argparse.Namespace) -> None:
    n = int(args.size)
    vocab = vocabulary(args.vocab)
    t = time.perf_counter()
    passages = passages_of(make_texts(n, args.seed, vocab, args.zipf), n)
    terms = sorted(corpus_terms(passages))
    stored = args.dir / f"runs-{n}-{args.seed}-{args.vocab}.pickle"
    if stored.is_file():
        chunks = pickle.loads(stored.read_bytes())
        how = f"read from {stored}"
    else:
        chunks = list(segment([p.text for p in passages], terms, workers=args.workers))
        stored.write_bytes(pickle.dumps(chunks, protocol=pickle.HIGHEST_PROTOCOL))
        how = "segmented on every core"
    print(f"synthetic corpus: {n:,} passages ({how}) in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    analysed = [views(r) for chunk in chunks for r in chunk]
    models = (SparseBM25.build([w for w, _ in analysed]), SparseBM25.build([g for _, g in analysed]))
    del analysed
    embedded = Index(passages, terms, models, cache_dir=args.dir / "cache")
    print(f"  embedded index: {time.perf_counter() - t:.1f} s to build; process RSS {memory()['VmRSS'] / 1e9:.2f} GB")
    t = time.perf_counter()
    built = build(passages, args.dir / f"syn{n}", _layout(args.shards), user_terms=terms, runs=chunks)
    tsv = sum((built.out / f"shard{i}.tsv").stat().st_size for i in range(args.shards))
    print(f"  engine: {args.shards} shards {built.per_shard} written and indexed in {time.perf_counter() - t:.1f} s "
          f"(tsvpipe input {tsv / n:,.0f} bytes a passage)")
    questions = make_questions(args.queries, args.seed, vocab, args.zipf)
    with Engine(built, args.dir / "cache", args.fetch, not args.bigrams_only) as engine:
        for q in questions[:20]:  # warm both: the engine's page cache, jieba's dictionary
            answering.answer(engine.index, q)
            answering.answer(embedded, q)
        agreement(f"  {n:,} synthetic passages, {args.shards} shards, {len(questions)} questions", embedded,
                  engine.index, questions, timed=True)
        disk, rss = engine.index_bytes(), engine.shard_rss()
        print(f"  engine bytes a passage: index files {disk / n:,.0f} (all shards {disk / 1e6:,.1f} MB); "
              f"shard searchd RSS {rss / n:,.0f} (all shards {rss / 1e6:,.1f} MB)")
        emb = models[0].nbytes + models[1].nbytes
        print(f"  embedded bytes a passage: BM25 matrices {emb / n:,.0f} (the passages' text not counted)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="benchmarks/sphinx.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", type=Path, default=Path("/tmp/bot-sphinx-bench"), help="work directory")
    p.add_argument("--size", type=float, default=1e5, help="synthetic passages (default 1e5; 0: skip)")
    p.add_argument("--shards", type=int, default=2, help="shards of the synthetic corpus (default 2)")
    p.add_argument("--queries", type=int, default=200, help="synthetic questions (default 200)")
    p.add_argument("--fetch", type=int, default=100, help="candidates asked of the engine (default 100)")
    p.add_argument("--bigrams-only", action="store_true",
                   help="ask the engine for the gram view's candidates by the question's bigrams only")
    p.add_argument("--no-seed", action="store_true", help="skip the seed dev questions")
    p.add_argument("--no-cmrc", action="store_true", help="skip CMRC 2018 dev")
    p.add_argument("--workers", type=int, default=None, help="segmenting processes (default: every core)")
    p.add_argument("--vocab", type=int, default=100_000)
    p.add_argument("--zipf", type=float, default=1.1)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    args.dir = args.dir.resolve()
    if not args.no_seed:
        seed_dev(args)
    if not args.no_cmrc:
        cmrc_dev(args)
    if args.size:
        synthetic(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
