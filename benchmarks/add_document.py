"""How long adding one document to a large corpus takes until it can be searched.

    uv run python benchmarks/add_document.py                 (10^5 passages; --passages 1e4 ...)

A synthetic corpus of ``--passages`` passages in documents of ``--per-doc`` passages each is
written as Markdown files under ``--dir`` (default DATA_DIR/bench-add): the Zipf-drawn Chinese
words of ``benchmarks/bench.py``, with a term in “quotes” every tenth passage (the terms the index
adds to jieba's dictionary). It is indexed once with the caches DATA_DIR would have
(``load_or_build``: the cold build, on every core). Then one new document of ``--per-doc``
passages is written into the corpus, with terms of its own in quotes, and the time is taken
from there until a question finds it: ``load_or_build`` (read and clean, reuse or count, build the
models, save the index cache) and the first search. Then the document is removed again, timed
the same way. Then the same with a document that also quotes a word some older documents hold
(which makes it a dictionary term: those documents are segmented again). As the bot does on an
upload or /remove.
"""

from __future__ import annotations

import argparse
import os
import resource
import runpy
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _data_dir() -> Path:
    from bot.config import DEFAULT_DATA_DIR, ConfigError, load_settings

    try:
        return load_settings().data_dir
    except ConfigError:
        return DEFAULT_DATA_DIR


def quoted_terms(vocab: list[str], n: int) -> list[str]:
    """The term in quotes of each tenth passage."""
    rare = [w for w in vocab[5000:] if len(w) >= 2]
    return [rare[i % len(rare)] for i in range((n + 9) // 10)]


def make_corpus(directory: Path, n: int, per_doc: int, seed: int) -> list[str]:
    """Write the corpus (unless it is there already); returns the vocabulary used."""
    bench = runpy.run_path(str(ROOT / "benchmarks" / "bench.py"))
    vocab = bench["vocabulary"](20_000)
    marker = directory / f".made-{n}-{per_doc}-{seed}"
    if marker.is_file():
        return vocab
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    texts = bench["make_texts"](n, seed, vocab, 1.1)
    quoted = quoted_terms(vocab, n)
    for d in range(0, n, per_doc):
        body = []
        for i, t in enumerate(texts[d : d + per_doc], start=d):
            if i % 10 == 0:  # a term in quotes, as news text has them
                t = f"“{quoted[i // 10]}”" + t
            body.append(t)
        (directory / f"doc{d // per_doc:05d}.md").write_text(
            f"# 合成文档{d // per_doc}\n\n" + "\n\n".join(body) + "\n", encoding="utf-8"
        )
    marker.write_text("")
    return vocab


def new_document(vocab: list[str], per_doc: int, seed: int, shared_term: str | None) -> str:
    bench = runpy.run_path(str(ROOT / "benchmarks" / "bench.py"))
    texts = bench["make_texts"](per_doc, seed + 1, vocab, 1.1)
    texts[0] = "“海洋牧场示范区”位于“青山湾”东侧，" + texts[0]  # terms no other document has
    if shared_term:  # and one that older documents hold (not in quotes): they are cut again
        texts[1] = f"“{shared_term}”" + texts[1]
    return "# 新上传的文档\n\n" + "\n\n".join(texts) + "\n"


PHASES: dict[str, float] = {}
TOTAL = [0.0]
CPU = [0.0]


def _timing(owner: object, name: str, label: str) -> None:
    """Add the time spent in ``owner.name`` to PHASES[label]."""
    real = getattr(owner, name)

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            PHASES[label] = PHASES.get(label, 0.0) + time.perf_counter() - start

    setattr(owner, name, timed)


def _time_phases() -> None:
    from bot.search import bm25, cache, doccache

    _timing(cache, "corpus_key", "hash the files")
    _timing(cache, "_corpus", "read and clean (document cache)")
    _timing(doccache._Store, "read", "read the token store")
    _timing(doccache, "_assemble", "assemble the counts")
    _timing(bm25.Builder, "finish", "BM25 weights")
    _timing(doccache._Store, "write", "write the token store")
    _timing(cache, "Index", "the index's segmenter")
    _timing(cache, "save", "write the index cache")


def timed_load(corpus: Path, data: Path, question: str, workers: int | None) -> tuple[float, int, int]:
    """Seconds from the corpus change to the first answer; passages in all; passages segmented
    (the build's progress counts only those)."""
    from bot.search.cache import load_or_build

    counted = [0]

    def progress(done: int, total: int) -> None:
        counted[0] = total

    PHASES.clear()
    cpu = _cpu()
    start = time.perf_counter()
    index = load_or_build(corpus, data, progress, workers=workers)
    index.search(question)
    TOTAL[0] = time.perf_counter() - start
    CPU[0] = _cpu() - cpu
    return TOTAL[0], len(index), counted[0]


def _cpu() -> float:
    """CPU seconds of this process and its finished workers: what the work costs when the cores
    are shared (wall time then grows with the machine's load, this does not)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def phases() -> str:
    shown = "; ".join(f"{label} {took:.1f} s" for label, took in PHASES.items() if took >= 0.05)
    return f"{shown}; the rest (segmenting, the first search) {max(TOTAL[0] - sum(PHASES.values()), 0):.1f} s"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--passages", type=float, default=1e5, help="corpus size (default 1e5)")
    p.add_argument("--per-doc", type=int, default=100, help="passages per document (default 100)")
    p.add_argument("--dir", type=Path, default=None, help="where the corpus and caches go")
    p.add_argument("--workers", type=int, default=None, help="segmenting processes (default: every core)")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args(argv)
    n = int(args.passages)
    base = args.dir or _data_dir() / "bench-add"
    corpus, data = base / "corpus", base / "data"
    from bot.search import parallel

    _time_phases()
    print(f"machine: {parallel.cpu_count()} CPUs, {os.uname().machine}, Python {sys.version.split()[0]}, "
          f"load average {os.getloadavg()[0]:.1f}")
    t = time.perf_counter()
    vocab = make_corpus(corpus, n, args.per_doc, args.seed)
    print(f"corpus: {n:,} passages in {n // args.per_doc:,} documents under {corpus} "
          f"({time.perf_counter() - t:.1f} s to make)")
    added = corpus / "zz-new-upload.md"
    added.unlink(missing_ok=True)
    took, size, counted = timed_load(corpus, data, "海洋牧场示范区", args.workers)
    print(f"index of {size:,} passages: {took:.1f} s ({counted:,} passages segmented; "
          f"fewer when the caches are there from an earlier run)")
    # A word no passage quotes but a few hold: the documents holding it must be segmented again.
    quoted = set(quoted_terms(vocab, n))
    shared = next(w for w in reversed(vocab) if len(w) >= 3 and w not in quoted)
    for label, term in (("terms of its own", None), (f"also “{shared}”, which older documents hold", shared)):
        added.write_text(new_document(vocab, args.per_doc, args.seed, term), encoding="utf-8")
        took, size, counted = timed_load(corpus, data, "海洋牧场示范区在哪里", args.workers)
        print(f"add one document ({args.per_doc} passages; {label}) to {n:,}: searchable in {took:.1f} s "
              f"({CPU[0]:.1f} s of CPU; {counted:,} passages segmented, {size:,} indexed)")
        print(f"  where the time went: {phases()}")
        added.unlink()
        took, size, counted = timed_load(corpus, data, "海洋牧场示范区", args.workers)
        print(f"remove it again: {took:.1f} s ({CPU[0]:.1f} s of CPU; {counted:,} passages segmented, "
              f"{size:,} indexed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
