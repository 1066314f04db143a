"""Speed at scale: build, load, memory and search latency on synthetic corpora of 10^3..10^6 passages.

    uv run python benchmarks/bench.py --sizes 1e3,1e4,1e5,1e6      (or: uv run python -m bot bench ...)

A synthetic corpus is made of real Chinese words: the ``--vocab`` most frequent words (1-4 CJK
characters) of jieba's dictionary, drawn with Zipf(``--zipf``) frequencies by rank, 40-120 words a
passage, joined WITHOUT spaces (a comma now and then, a full stop at the end) so the bot's own
pipeline (normalise, jieba, stopwords, character n-grams) runs on it. jieba may cut the text
differently from how it was made; every comparison uses the tokens the index got.

Each size runs in fresh subprocesses, so memory is per size. ``segment`` generates the corpus and
segments it with ``bot.search.parallel`` on every core (timed), storing the passages and their tokens
under ``--dir`` (default DATA_DIR/bench): segmenting 10^6 passages takes about a quarter of an hour
on two cores, so later runs reuse it (``--rebuild`` redoes it). ``build`` counts the stored tokens
into the two ``SparseBM25`` matrices as ``Builder`` does for the workers' counts (timed) and stores
the index with ``bot.search.cache.save``; it is redone whenever the counting code changes. ``measure``
loads the index with ``bot.search.cache.load`` (timed), reads the resident memory, times
``Index.search`` (the whole search: the question's normalisation and segmentation included) on
the same ``--queries`` questions at every size, then builds rank_bm25's ``BM25Okapi`` over the
same word tokens and compares its ``get_scores`` (latency, and top-10 lists) with the word
model's ``SparseBM25``. rank_bm25 needs seconds per question at 10^6 passages: above 10^5
passages it gets only ``--rank-bm25-max`` of the questions (the output says so).

Finally the seed corpus: ``answer`` + JSON for 1,000 questions, as ``python -m bot ask`` does in
batch mode, and the wall time of ten whole ``ask`` processes with the index cache warm.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import inspect
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

BENCH_VERSION = 1
DEFAULT_SIZES = "1e3,1e4,1e5,1e6"
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: the bot package sits one level up
    sys.path.insert(0, str(ROOT))
BIG = 100_000  # above this many passages rank_bm25 gets only --rank-bm25-max questions
_HAN_WORD = re.compile(r"^[\u4e00-\u9fff]{1,4}$")


# --------------------------------------------------------------------------- memory


def memory() -> dict[str, int]:
    """Resident memory now and at its peak (VmRSS, VmHWM from /proc/self/status), in bytes."""
    out: dict[str, int] = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) * 1024
    except OSError:
        pass
    if "VmHWM" not in out:  # not Linux: only the peak is known (kB on Linux, bytes on macOS)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out["VmHWM"] = peak if sys.platform == "darwin" else peak * 1024
        out.setdefault("VmRSS", out["VmHWM"])
    return out


# --------------------------------------------------------------------------- synthetic corpus


def vocabulary(size: int) -> list[str]:
    """jieba's most frequent words of 1-4 CJK characters, most frequent first."""

    from bot.search import text

    table = text.Segmenter(cache_dir=_data_dir(), lazy=False).tokenizer.FREQ  # the whole table
    words = [(w, f) for w, f in table.items() if f > 0 and _HAN_WORD.match(w)]
    words.sort(key=lambda wf: (-wf[1], wf[0]))
    return [w for w, _ in words[:size]]


def zipf_cdf(n: int, s: float) -> np.ndarray:
    p = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** s
    cdf = np.cumsum(p)
    return cdf / cdf[-1]


def make_texts(n: int, seed: int, vocab: list[str], s: float) -> list[str]:
    """``n`` passages of 40-120 Zipf-drawn words, no spaces, a comma about every 12 words."""
    rng = np.random.default_rng([seed, n])
    lengths = rng.integers(40, 121, size=n)
    total = int(lengths.sum())
    ids = np.searchsorted(zipf_cdf(len(vocab), s), rng.random(total), side="right")
    ids = np.minimum(ids, len(vocab) - 1)
    ids += len(vocab) * (rng.random(total) < 1 / 12)  # the word followed by a comma
    pieces = vocab + [w + "，" for w in vocab]
    ends = np.cumsum(lengths).tolist()
    flat = ids.tolist()
    out, start = [], 0
    for end in ends:
        out.append("".join(map(pieces.__getitem__, flat[start:end])).rstrip("，") + "。")
        start = end
    return out


def make_questions(count: int, seed: int, vocab: list[str], s: float) -> list[str]:
    """Questions of 2-6 words: half drawn by frequency (common words), half uniformly (rare)."""
    from bot.search import text

    content = [i for i, w in enumerate(vocab) if w not in text.STOPWORDS]
    cdf = zipf_cdf(len(vocab), s)
    rng = np.random.default_rng([seed, 1_000_003])
    questions = []
    for _ in range(count):
        words = []
        for _ in range(int(rng.integers(2, 7))):
            if rng.random() < 0.5:
                i = min(int(np.searchsorted(cdf, rng.random(), side="right")), len(vocab) - 1)
                while vocab[i] in text.STOPWORDS:
                    i = min(int(np.searchsorted(cdf, rng.random(), side="right")), len(vocab) - 1)
            else:
                i = content[int(rng.integers(len(content)))]
            words.append(vocab[i])
        questions.append("".join(words) + "？")
    return questions


def passages_of(texts: list[str], n: int):
    from bot.search.corpus import Passage

    return [
        Passage(f"syn{n}-{i // 20:06d}", f"合成文档{i // 20}", i % 20 + 1, t, 0, t)
        for i, t in enumerate(texts)
    ]


# --------------------------------------------------------------------------- the cached corpora


def _data_dir() -> Path:
    from bot.config import DEFAULT_DATA_DIR, ConfigError, load_settings

    try:
        return load_settings().data_dir
    except ConfigError:
        return DEFAULT_DATA_DIR


def _sources(*objects) -> str:
    h = hashlib.sha256()
    for obj in objects:
        h.update(inspect.getsource(obj).encode())
    return h.hexdigest()


def tokens_key(args: argparse.Namespace, n: int) -> str:
    """What shapes a stored segmented corpus: the generator, its settings, jieba.

    Not text.py: a stored corpus stays usable when text.py changes (its questions are cut by the
    current text.py; rank_bm25 gets the stored tokens); ``--rebuild`` re-segments it."""
    import jieba

    h = hashlib.sha256(f"{BENCH_VERSION}|{n}|{args.seed}|{args.vocab}|{args.zipf}".encode())
    h.update(f"{jieba.__version__}|{_sources(make_texts, passages_of, _encode_chunk)}".encode())
    return h.hexdigest()


def index_key(args: argparse.Namespace, n: int) -> str:
    """What shapes a stored index: the tokens, the cache format, the code that counts and weighs.

    Not the scoring code: tuning it keeps the stored indexes."""
    from bot.search import bm25, cache

    h = hashlib.sha256(f"{tokens_key(args, n)}|{cache.FORMAT}|{np.dtype(bm25.WEIGHT_DTYPE).str}".encode())
    h.update(_sources(bm25.TermCounts, bm25.Builder, bm25.okapi_idf, counts_of, build).encode())
    return h.hexdigest()


def corpus_dir(args: argparse.Namespace, n: int) -> Path:
    return Path(args.dir) / f"n{n}-seed{args.seed}-v{args.vocab}-z{args.zipf:g}"


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def stored(args: argparse.Namespace, n: int, what: str) -> dict | None:
    """The stored segmented corpus ("tokens") or index ("index") of size n, if current."""
    out = corpus_dir(args, n)
    meta = _read_json(out / f"{what}.json")
    key = tokens_key(args, n) if what == "tokens" else index_key(args, n)
    if meta is None or meta.get("key") != key or not (out / f"{what}.npz").is_file():
        return None
    return meta


def _encode_chunk(texts: list[str]) -> tuple:
    """A worker's share: the analysis of each text, as (terms, numbers, lengths) per stream."""
    from bot.search import parallel

    analysed = [parallel.segmenter().analyse(t) for t in texts]
    out = []
    for stream in (0, 1):
        docs = [a[stream] for a in analysed]
        numbering: dict[str, int] = {}
        ids = [numbering.setdefault(t, len(numbering)) for d in docs for t in d]
        out += [list(numbering), np.asarray(ids, np.int32), np.fromiter(map(len, docs), np.int32, len(docs))]
    return tuple(out)


def segment(args: argparse.Namespace, n: int) -> dict:
    """Generate the corpus and segment it on every core (timed); store texts and tokens."""
    from bot.search import parallel

    out = corpus_dir(args, n)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    texts = make_texts(n, args.seed, vocabulary(args.vocab), args.zipf)
    gen_s = time.perf_counter() - t0
    (out / "passages.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")

    workers = parallel.worker_count(n, args.workers)
    progress = parallel.ProgressLine(f"  {n:,}: segmenting", sys.stderr)
    vocab: tuple[dict[str, int], dict[str, int]] = ({}, {})
    ids: tuple[list, list] = ([], [])
    lengths: tuple[list, list] = ([], [])
    t0 = time.perf_counter()
    for chunk in parallel.map_chunks(
        _encode_chunk, texts, workers=workers, cache_dir=_data_dir(), progress=progress
    ):
        for stream in (0, 1):
            terms, local, lens = chunk[3 * stream : 3 * stream + 3]
            numbering = vocab[stream]
            glob = np.fromiter((numbering.setdefault(t, len(numbering)) for t in terms), np.int32, len(terms))
            ids[stream].append(glob[local])
            lengths[stream].append(lens)
    progress.close()
    segment_s = time.perf_counter() - t0
    arrays = {}
    for stream, name in enumerate(("words", "grams")):
        arrays[f"{name}_vocab"] = np.frombuffer("\n".join(vocab[stream]).encode(), np.uint8)
        arrays[f"{name}_ids"] = np.concatenate(ids[stream]) if ids[stream] else np.zeros(0, np.int32)
        arrays[f"{name}_lengths"] = np.concatenate(lengths[stream]) if lengths[stream] else np.zeros(0, np.int32)
    np.savez(out / "tokens.npz", **arrays)
    meta = {
        "key": tokens_key(args, n),
        "size": n,
        "generate_s": gen_s,
        "segment_s": segment_s,
        "segment_workers": workers,
        "segment_peak_rss": memory()["VmHWM"],
        "text_py": hashlib.sha256((ROOT / "bot" / "search" / "text.py").read_bytes()).hexdigest(),
        "made": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    (out / "tokens.json").write_text(json.dumps(meta, indent=1))
    return meta


def load_tokens(out: Path, name: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """A stored stream: its vocabulary, every token's number, and tokens per passage."""
    with np.load(out / "tokens.npz") as z:
        vocab = z[f"{name}_vocab"].tobytes().decode().split("\n")
        return vocab, z[f"{name}_ids"], z[f"{name}_lengths"]


def counts_of(vocab: list[str], ids: np.ndarray, lengths: np.ndarray, run: int = 1000):
    """``TermCounts`` of successive runs of stored passages, as the workers would send them."""
    from bot.search.bm25 import TermCounts

    ends = np.cumsum(lengths, dtype=np.int64)
    for lo in range(0, len(lengths), run):
        hi = min(lo + run, len(lengths))
        first = int(ends[lo - 1]) if lo else 0
        chunk_ids = ids[first : int(ends[hi - 1])].astype(np.int64)
        chunk_len = lengths[lo:hi].astype(np.int64)
        doc = np.repeat(np.arange(hi - lo, dtype=np.int64), chunk_len)
        keys, tf = np.unique(doc * len(vocab) + chunk_ids, return_counts=True)
        terms, local = np.unique(keys % len(vocab), return_inverse=True)
        yield TermCounts(
            [vocab[i] for i in terms.tolist()], (keys // len(vocab)).astype(np.int32),
            local.astype(np.int32), tf.astype(np.int32), chunk_len,
        )


def build(args: argparse.Namespace, n: int) -> dict:
    """Build the index from the stored tokens (timed: counting + matrices), store it."""
    from bot.search import cache, text
    from bot.search.bm25 import Builder
    from bot.search.index import Index

    out = corpus_dir(args, n)
    texts = (out / "passages.txt").read_text(encoding="utf-8").split("\n")[:n]
    passages = passages_of(texts, n)
    del texts
    streams = [load_tokens(out, name) for name in ("words", "grams")]
    text.Segmenter(cache_dir=_data_dir())  # reads jieba's dictionary once: not timed here
    gc.collect()
    t0 = time.perf_counter()
    models = tuple(Builder().add_all(counts_of(*stream)).finish() for stream in streams)
    index = Index(passages, set(), models, cache_dir=_data_dir())  # type: ignore[arg-type]
    build_s = time.perf_counter() - t0
    peak = memory()["VmHWM"]
    key = index_key(args, n)
    cache.save(index, out / "index.npz", key)
    meta = {
        "key": key,
        "size": n,
        "matrices_s": build_s,
        "build_peak_rss": peak,
        "words_vocab": len(index.words.vocab),
        "grams_vocab": len(index.grams.vocab),
        "words_nnz": len(index.words.rows),
        "grams_nnz": len(index.grams.rows),
        "matrix_bytes": index.words.nbytes + index.grams.nbytes,
        "index_file_bytes": (out / "index.npz").stat().st_size,
    }
    (out / "index.json").write_text(json.dumps(meta, indent=1))
    return meta


def _percentiles(times: list[float]) -> tuple[float, float]:
    a = np.asarray(times) * 1e3
    return float(np.percentile(a, 50)), float(np.percentile(a, 99))


def measure(args: argparse.Namespace, n: int) -> dict:
    """Load the stored index, then time searches and compare with rank_bm25 (see module doc)."""
    from bot.search import cache, text
    from bot.search.bm25 import top_k

    out = corpus_dir(args, n)
    text.Segmenter(cache_dir=_data_dir())  # reads jieba's dictionary once: not timed here
    vocab = vocabulary(args.vocab)
    questions = make_questions(args.queries, args.seed, vocab, args.zipf)
    del vocab
    gc.collect()
    before = memory()["VmRSS"]

    t0 = time.perf_counter()
    index = cache.load(out / "index.npz", index_key(args, n), _data_dir())
    load_s = time.perf_counter() - t0
    if index is None:
        raise SystemExit(f"{out / 'index.npz'}: stale or unreadable, run with --rebuild")
    loaded = memory()

    for q in questions[:5]:  # warm up (first jieba cuts, numpy paths)
        index.search(q)
    times: list[float] = []
    for _ in range(args.repeat):
        for q in questions:
            t = time.perf_counter()
            index.search(q)
            times.append(time.perf_counter() - t)
    search_p50, search_p99 = _percentiles(times)
    served = memory()

    result: dict = {
        "size": n,
        "loadavg": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "load_s": load_s,
        "rss_before_load": before,
        "rss_loaded": loaded["VmRSS"],
        "rss_served": served["VmRSS"],
        "matrix_bytes": index.words.nbytes + index.grams.nbytes,
        "hwm_served": served["VmHWM"],
        "search_p50_ms": search_p50,
        "search_p99_ms": search_p99,
        "search_samples": len(times),
    }

    # The word model alone against rank_bm25, on the tokens the index got.
    limit = args.rank_bm25_max if n > BIG else len(questions)
    asked = questions[: max(0, min(limit, len(questions)))]
    result["rank_bm25_queries"] = len(asked)
    tokenised = [list(index.query(q).words) for q in asked]
    ours_t: list[float] = []
    ours_top = []
    for words in tokenised:
        t = time.perf_counter()
        s = index.words.scores(words)
        top = top_k(s, 10)
        ours_t.append(time.perf_counter() - t)
        ours_top.append([int(i) for i in top if s[i] > 0])
        del s  # (keeping 200 score arrays would make every new one page-fault: slower)
    if ours_t:
        result["words_p50_ms"], result["words_p99_ms"] = _percentiles(ours_t)
    if not asked:
        return result

    from rank_bm25 import BM25Okapi

    model = index.words
    del index
    gc.collect()
    vocab_list, ids, lengths = load_tokens(out, "words")
    flat = [vocab_list[i] for i in ids.tolist()]
    bounds = [0, *np.cumsum(lengths, dtype=np.int64).tolist()]
    docs = [flat[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]
    del flat, ids, lengths
    gc.collect()
    t0 = time.perf_counter()
    reference = BM25Okapi(docs)
    result["rank_bm25_build_s"] = time.perf_counter() - t0
    del docs
    theirs_t: list[float] = []
    same = tied = 0
    max_diff = 0.0
    for words, mine in zip(tokenised, ours_top):
        t = time.perf_counter()
        ref = reference.get_scores(words)
        theirs_t.append(time.perf_counter() - t)
        s = model.scores(words)
        order = np.lexsort((np.arange(len(ref)), -ref))[:10]
        theirs = [int(i) for i in order if ref[i] > 0]
        max_diff = max(max_diff, float(np.max(np.abs(ref - s))) if len(ref) else 0.0)
        if mine == theirs:
            same += 1
        elif len(mine) == len(theirs) and np.allclose(ref[mine], ref[theirs], rtol=0, atol=1e-9):
            tied += 1  # the same scores in the same order: only exactly tied passages swapped
    result["rank_bm25_p50_ms"], result["rank_bm25_p99_ms"] = _percentiles(theirs_t)
    result["top10_identical"] = same
    result["top10_tied_only"] = tied
    result["max_score_diff"] = max_diff
    return result


def ask_seed(args: argparse.Namespace) -> dict:
    """``answer`` + JSON for 1,000 questions on the seed corpus, as ``ask`` in batch mode."""
    from bot.answering import answer as answering
    from bot.config import DEFAULT_CORPUS
    from bot.ops.evaluate import DEV_QA, load_questions
    from bot.search import cache

    t0 = time.perf_counter()
    index = cache.load_or_build(DEFAULT_CORPUS, _data_dir())
    load_s = time.perf_counter() - t0
    questions = [q.question for q in load_questions(DEV_QA)]
    rng = np.random.default_rng([args.seed, 7])
    while len(questions) < args.ask_questions:  # a stretch of a passage, as someone might ask it
        p = index.passages[int(rng.integers(len(index.passages)))].text
        width = int(rng.integers(6, 16))
        start = int(rng.integers(max(len(p) - width, 1)))
        questions.append(p[start : start + width] + "？")
    questions = questions[: args.ask_questions]
    (Path(args.dir) / "ask-questions.txt").write_text("\n".join(questions) + "\n", encoding="utf-8")
    times = []
    for q in questions:
        t = time.perf_counter()
        json.dumps(answering.answer_json(answering.answer(index, q, k=3)), ensure_ascii=False)
        times.append(time.perf_counter() - t)
    p50, p99 = _percentiles(times)
    return {
        "passages": len(index),
        "questions": len(questions),
        "load_s": load_s,
        "mean_ms": 1e3 * sum(times) / len(times),
        "p50_ms": p50,
        "p99_ms": p99,
    }


def ask_process(args: argparse.Namespace, runs: int = 10) -> dict:
    """Wall time of whole ``ask`` processes on the seed corpus, its index cache warm.

    As a user types it (``uv run python -m bot ask "..."``, when uv is on the PATH) and the bare
    interpreter (``python -m bot ask``); one untimed run first warms the caches.
    """
    import shutil

    from bot.ops.evaluate import DEV_QA, load_questions

    questions = [q.question for q in load_questions(DEV_QA)][:runs]
    commands = {"python -m bot ask": [sys.executable, "-m", "bot", "ask"]}
    uv = shutil.which("uv")
    if uv:
        commands = {"uv run python -m bot ask": [uv, "run", "python", "-m", "bot", "ask"], **commands}
    out: dict[str, dict] = {}
    for name, cmd in commands.items():
        subprocess.run([*cmd, questions[0]], cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
        times = []
        for q in questions:
            t = time.perf_counter()
            subprocess.run([*cmd, q], cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
            times.append(time.perf_counter() - t)
        out[name] = {"runs": len(times), "median_s": float(np.median(times)), "max_s": max(times)}
    return out


# --------------------------------------------------------------------------- the driver


def _sizes(value: str) -> list[int]:
    try:
        sizes = [int(float(v)) for v in value.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: expected sizes like 1e3,1e4") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("sizes must be positive")
    return sizes


def parser(prog: str = "python -m bot bench") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sizes", type=_sizes, default=_sizes(DEFAULT_SIZES),
                   help=f"corpus sizes in passages (default {DEFAULT_SIZES})")
    p.add_argument("--queries", type=int, default=200, help="questions per size (default 200)")
    p.add_argument("--repeat", type=int, default=3, help="timed rounds over the questions (default 3)")
    p.add_argument("--rank-bm25-max", type=int, default=20,
                   help=f"questions given to rank_bm25 above {BIG:,} passages (default 20; 0: skip)")
    p.add_argument("--workers", type=int, default=None, help="segmenting processes (default: every core)")
    p.add_argument("--vocab", type=int, default=100_000, help="vocabulary size (default 100000)")
    p.add_argument("--zipf", type=float, default=1.1, help="Zipf exponent of word frequencies (default 1.1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ask-questions", type=int, default=1000,
                   help="questions for the seed-corpus ask benchmark (default 1000; 0: skip)")
    p.add_argument("--dir", type=Path, default=None, help="where corpora are kept (default DATA_DIR/bench)")
    p.add_argument("--rebuild", action="store_true", help="regenerate, re-segment and rebuild every corpus")
    p.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    p.add_argument("--step", choices=("segment", "build", "measure", "ask"), help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, help=argparse.SUPPRESS)


def _child(args: argparse.Namespace, step: str, n: int | None = None) -> dict:
    """Run one step in a fresh interpreter; its last stdout line is the result as JSON."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--step", step, "--dir", str(args.dir),
           "--queries", str(args.queries), "--repeat", str(args.repeat),
           "--rank-bm25-max", str(args.rank_bm25_max), "--vocab", str(args.vocab),
           "--zipf", repr(args.zipf), "--seed", str(args.seed),
           "--ask-questions", str(args.ask_questions)]
    if n is not None:
        cmd += ["--size", str(n)]
    if args.workers is not None:
        cmd += ["--workers", str(args.workers)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"bench step {step} {n or ''} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _gb(b: float) -> str:
    return f"{b / 2**30:.2f} GB" if b >= 2**30 / 10 else f"{b / 2**20:.0f} MB"


def _size_name(n: int) -> str:
    e = len(str(n)) - 1
    return f"10^{e}" if n == 10**e else f"{n:,}"


def report(
    rows: list[tuple[dict, dict]], ask: dict | None, args: argparse.Namespace,
    processes: dict[str, dict] | None = None,
) -> str:
    lines = [
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, numpy {np.__version__}; "
        f"vocabulary {args.vocab:,} jieba words, Zipf {args.zipf:g}, 40-120 words a passage; "
        f"{args.queries} questions x {args.repeat} rounds",
        "",
        "| passages | build: segment (workers) + matrices | peak RSS segment / build | load "
        "| RSS served | search p50 / p99 | rank_bm25 get_scores p50 / p99 | p50 ratio "
        "| top-10 agree (same + ties only) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for meta, m in rows:
        rq = m.get("rank_bm25_queries", 0)
        if "rank_bm25_p50_ms" in m:
            ref = f"{m['rank_bm25_p50_ms']:,.1f} / {m['rank_bm25_p99_ms']:,.1f} ms"
            ratio = f"{m['rank_bm25_p50_ms'] / m['search_p50_ms']:,.0f}x"
            same, tied = m["top10_identical"], m["top10_tied_only"]
            agree = f"{same + tied}/{rq} ({same} + {tied})"
            if rq < args.queries:
                agree += f", on {rq} of the {args.queries} questions"
        else:
            ref, ratio, agree = "skipped", "-", "-"
        build = meta["segment_s"] + meta["matrices_s"]
        lines.append(
            f"| {_size_name(m['size'])} | {build:,.1f} s = {meta['segment_s']:,.1f} ({meta['segment_workers']}) "
            f"+ {meta['matrices_s']:,.1f} | {_gb(meta['segment_peak_rss'])} / {_gb(meta['build_peak_rss'])} "
            f"| {m['load_s']:.2f} s | {_gb(m['rss_served'])} "
            f"| {m['search_p50_ms']:.2f} / {m['search_p99_ms']:.2f} ms | {ref} | {ratio} | {agree} |"
        )
    lines.append("")
    for meta, m in rows:
        words = f"{m['words_p50_ms']:.2f} / {m['words_p99_ms']:.2f} ms" if "words_p50_ms" in m else "-"
        extra = (f", rank_bm25 build {m['rank_bm25_build_s']:.1f} s, max |score diff| {m['max_score_diff']:.1e}"
                 if "rank_bm25_build_s" in m else "")
        lines.append(
            f"{_size_name(m['size'])}: words {meta['words_vocab']:,} terms / {meta['words_nnz']:,} entries, "
            f"n-grams {meta['grams_vocab']:,} / {meta['grams_nnz']:,}; matrices {_gb(m['matrix_bytes'])}, "
            f"cache file {_gb(meta['index_file_bytes'])}; RSS before load {_gb(m['rss_before_load'])}, "
            f"after load {_gb(m['rss_loaded'])}, peak while loading {_gb(m['hwm_served'])}; "
            f"word-model scores+top_k p50 / p99 {words}{extra}"
            + (f"; machine load average {m['loadavg']:.1f}" if m.get("loadavg") is not None else "")
        )
    if ask:
        lines += ["", f"seed corpus ({ask['passages']} passages): answer + JSON for {ask['questions']:,} "
                  f"questions: mean {ask['mean_ms']:.2f} ms, p50 {ask['p50_ms']:.2f} ms, "
                  f"p99 {ask['p99_ms']:.2f} ms a question (index load {ask['load_s']:.2f} s)"]
    lines += ["", "targets:"]
    for _, m in rows:
        if m["size"] == 10**5:
            lines.append(_target("search p99 at 10^5", m["search_p99_ms"], 3.0, "ms"))
        if m["size"] == 10**6:
            lines.append(_target("search p99 at 10^6", m["search_p99_ms"], 25.0, "ms"))
            lines.append(_target("resident memory at 10^6", m["rss_served"] / 2**30, 3.0, "GB"))
    if ask:
        lines.append(_target("ask, seed corpus, a question", ask["mean_ms"], 2.0, "ms"))
    for name, t in (processes or {}).items():
        lines.append(_target(f"{name}, whole process (slowest of {t['runs']}; median "
                             f"{t['median_s']:.2f} s)", t["max_s"], 1.0, "s"))
    lines += ["", "build: segmentation (on every core, timed when the corpus was segmented; --rebuild "
              "redoes it) + counting and matrices (timed when the index was built from the stored "
              "tokens); RSS served: resident memory after loading the index and "
              f"{args.repeat} rounds of searches, in a fresh process per size"]
    return "\n".join(lines)


def _target(what: str, value: float, limit: float, unit: str) -> str:
    return f"  {what}: {value:.2f} {unit} (target <= {limit:g} {unit}): {'met' if value <= limit else 'NOT met'}"


def main(argv: list[str] | None = None) -> int:
    """``python -m bot.bench [options]``; ``python -m bot bench`` parses the same options."""
    return run(parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Run the benchmark with parsed options (``add_arguments``); prints the table."""
    if args.dir is None:
        args.dir = _data_dir() / "bench"
    if args.step:
        if args.step == "segment":
            result = segment(args, args.size)
        elif args.step == "build":
            result = build(args, args.size)
        elif args.step == "measure":
            result = measure(args, args.size)
        else:
            result = ask_seed(args)
        print(json.dumps(result))
        return 0

    Path(args.dir).mkdir(parents=True, exist_ok=True)
    rows = []
    for n in args.sizes:
        tokens = None if args.rebuild else stored(args, n, "tokens")
        if tokens is None:
            print(f"{n:,} passages: generating and segmenting ...", file=sys.stderr)
            tokens = _child(args, "segment", n)
        index = None if args.rebuild else stored(args, n, "index")
        if index is None:
            print(f"{n:,} passages: building the index ...", file=sys.stderr)
            index = _child(args, "build", n)
        print(f"{n:,} passages: measuring ...", file=sys.stderr)
        rows.append(({**tokens, **index}, _child(args, "measure", n)))
    ask = _child(args, "ask") if args.ask_questions > 0 else None
    processes = ask_process(args) if args.ask_questions > 0 else None
    table = report(rows, ask, args, processes)
    print(table)
    if args.json:
        args.json.write_text(json.dumps(
            {"sizes": [{**m, **r} for m, r in rows], "ask": ask, "ask_process": processes}, indent=1
        ))
    return 0


if __name__ == "__main__":
    sys.exit(main())
