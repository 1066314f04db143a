"""Build the engine's index (bot/search/sphinxql.py): passages -> segmented runs -> one TSV per shard,
the searchd configs (shards, their mirrors, the head's distributed index), indexer, the global idf.

Segmentation is the costly step (a thousand passages a second a core): it runs on every core
(``bot.search.parallel``), or on any executor with a ``map`` (a Dask cluster: ``segment_on``),
chunk by chunk; the rest streams the chunks into the shards' TSV files in passage order.

``Layout`` says where each searchd listens: the head (SphinxQL, for the bot) and, per shard, its
replicas (the first is the shard, the others its mirrors). ``start_searchd`` runs one of the
configs on this machine (tests, benchmarks, a single-machine install).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.search import parallel, text
from bot.search.bm25 import count_terms, idf_floor, unfloored_idf
from bot.search.corpus import Passage
from bot.search.index import corpus_terms
from bot.search.sphinxql import (
    CHARSET_TABLE,
    INDEX,
    META_INDEX,
    SHARD_MARK,
    Meta,
    keyword,
    passage_json,
    views,
)

log = logging.getLogger(__name__)

Runs = list[str | None]  # Segmenter.content_runs of one passage
Address = tuple[str, int]


@dataclass(frozen=True)
class Layout:
    """Where each searchd listens: ``head`` serves SphinxQL; ``shards[i]`` lists shard i's
    replicas (binary protocol, for the head's agents), the first being the shard itself."""

    head: Address
    shards: tuple[tuple[Address, ...], ...]

    @classmethod
    def local(cls, shards: int, port: int = 9306, mirrors: int = 0, host: str = "127.0.0.1") -> Layout:
        """Every searchd on one host: the head on ``port``, then the shards, then their mirrors."""
        return cls((host, port), tuple(
            tuple((host, port + 1 + i + r * shards) for r in range(1 + mirrors)) for i in range(shards)
        ))


@dataclass
class Built:
    """What ``build`` wrote: the configs to run, and the counts."""

    out: Path
    meta: Meta
    head_conf: Path
    shard_confs: list[list[Path]]  # [shard][replica]
    per_shard: list[int] = field(default_factory=list)
    indexed: bool = False  # indexer and indextool ran

    def commands(self) -> list[str]:
        confs = [c for replicas in self.shard_confs for c in replicas] + [self.head_conf]
        return [f"searchd --config {c}" for c in confs]


# --------------------------------------------------------------------------- segmenting


def _runs_chunk(texts: list[str]) -> list[Runs]:
    """A chunk function for ``parallel.map_chunks``: each text's content runs."""
    return [parallel.segmenter().content_runs(t) for t in texts]


_remote_segmenters: dict[tuple[str, ...], text.Segmenter] = {}


def runs_of(texts: list[str], user_terms: tuple[str, ...]) -> list[Runs]:
    """Each text's content runs with a segmenter of these terms (made once per process): what a
    worker of another executor (Dask, Spark) runs."""
    seg = _remote_segmenters.get(user_terms)
    if seg is None:
        seg = _remote_segmenters[user_terms] = text.Segmenter(user_terms, lazy=False)
    return [seg.content_runs(t) for t in texts]


def segment(texts: Sequence[str], user_terms: Iterable[str], *, workers: int | None = None,
            progress: parallel.Progress | None = None) -> Iterator[list[Runs]]:
    """The texts' content runs, chunk by chunk in order, on every core (``bot.search.parallel``)."""
    return parallel.map_chunks(_runs_chunk, texts, user_terms=user_terms, workers=workers, progress=progress)


def segment_on(
    executor: Any, texts: Sequence[str], user_terms: Iterable[str], chunk: int = 1000
) -> Iterator[list[Runs]]:
    """The same on an executor with ``map(fn, *iterables)`` returning futures or results (a Dask
    ``Client``, a ``concurrent.futures`` pool), in order."""
    terms = tuple(sorted(user_terms))
    chunks = [list(texts[i : i + chunk]) for i in range(0, len(texts), chunk)]
    results = executor.map(runs_of, chunks, [terms] * len(chunks))
    for r in results:
        yield r.result() if hasattr(r, "result") else r


# --------------------------------------------------------------------------- writing


class _Stats:
    """Corpus-wide counts for ``Meta``: every term's document frequency per view, in the order the
    embedded index numbers its vocabulary (first seen first), and the views' total lengths."""

    def __init__(self) -> None:
        self.df: tuple[dict[str, int], dict[str, int]] = ({}, {})
        self.lengths = [0, 0]
        self.n_docs = 0

    def add(self, analysed: list[tuple[list[str], list[str]]]) -> None:
        for view in (0, 1):
            counts = count_terms([a[view] for a in analysed])
            df = self.df[view]
            for term, n in zip(counts.terms, np.bincount(counts.term, minlength=len(counts.terms)).tolist()):
                df[term] = df.get(term, 0) + n
            self.lengths[view] += int(counts.lengths.sum())
        self.n_docs += len(analysed)

    def meta(self, user_terms: Sequence[str], shards: int) -> Meta:
        # the vocabulary in the order the embedded index numbers it (first seen first): the same sum
        dfs = [np.fromiter(d.values(), np.float64, len(d)) for d in self.df]
        floors = tuple(idf_floor(unfloored_idf(df, self.n_docs)) for df in dfs)
        return Meta(self.n_docs, (self.lengths[0], self.lengths[1]), (floors[0], floors[1]), tuple(user_terms),
                    shards)


def tsv_line(row: int, runs: Runs, passage: Passage, first: bool = False) -> str:
    """A passage as a line of a shard's tsvpipe, its columns as ``SHARD_COLUMNS`` (``first``: the
    shard's first passage, which also holds ``SHARD_MARK``)."""
    w, g = views(runs)
    words = " ".join([*(keyword(t) for t in w), *([SHARD_MARK] if first else [])])
    return "\t".join((
        str(row + 1), words, " ".join(keyword(t, True) for t in g),
        json.dumps(runs, ensure_ascii=False), passage_json(passage),
    )) + "\n"


def shard_of(row: int, n_docs: int, shards: int) -> int:
    """Shards hold runs of consecutive passages, equal to one passage."""
    return row * shards // max(n_docs, 1)


def build(
    passages: Sequence[Passage], out: Path, layout: Layout, *, user_terms: Iterable[str] | None = None,
    runs: Iterable[list[Runs]] | None = None, workers: int | None = None,
    progress: parallel.Progress | None = None, run_indexer: bool | None = None,
) -> Built:
    """Write the engine's input and configs for the passages under ``out``; with ``run_indexer``
    (default: when ``indexer`` is installed) also index every replica and build the global idf.

    ``runs``: the passages' content runs chunk by chunk in order (default: segmented here on every
    core; ``segment_on`` a cluster).
    """
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    terms = sorted(corpus_terms(passages) if user_terms is None else user_terms)  # as Index keeps them
    texts = [p.text for p in passages]
    chunks = runs if runs is not None else segment(texts, terms, workers=workers, progress=progress)
    shards = len(layout.shards)
    per_shard = [0] * shards
    stats = _Stats()
    row = 0
    with contextlib.ExitStack() as stack:
        files = [stack.enter_context(open(out / f"shard{i}.tsv", "w", encoding="utf-8")) for i in range(shards)]
        for chunk in chunks:
            stats.add([views(r) for r in chunk])
            for r in chunk:
                s = shard_of(row, len(passages), shards)
                files[s].write(tsv_line(row, r, passages[row], first=not per_shard[s]))
                per_shard[s] += 1
                row += 1
    if row != len(passages):
        raise ValueError(f"segmented {row} passages of {len(passages)}")
    meta = stats.meta(terms, shards)
    (out / "meta.tsv").write_text(f"1\t\t{meta.to_json()}\n", encoding="utf-8")
    (out / "meta.json").write_text(json.dumps(json.loads(meta.to_json()), ensure_ascii=False, indent=1),
                                   encoding="utf-8")
    built = write_configs(out, layout)
    built.meta, built.per_shard = meta, per_shard
    if run_indexer is None:
        run_indexer = shutil.which("indexer") is not None
    if run_indexer:
        index_all(built)
    return built


def _searchd_section(out: Path, name: str, listen: str, extra: str = "") -> str:
    return f"""searchd
{{
    listen = {listen}
    log = {out}/log/{name}.log
    query_log = {out}/log/{name}.query.log
    pid_file = {out}/run/{name}.pid
    workers = threads
    binlog_path =
    agent_retry_count = 2
    agent_retry_delay = 50
{extra}}}
"""


# After the document id (row + 1): the views as full-text fields (keywords), the content runs (the
# bot counts a candidate's terms from them) and the passage.
SHARD_COLUMNS = (("field", "words"), ("field", "grams"), ("attr_string", "runs"), ("attr_string", "passage"))
META_COLUMNS = (("field", "nothing"), ("attr_string", "meta"))


def _index_section(out: Path, index: str, source: str, path: Path, tsv: Path, columns: Sequence[tuple[str, str]],
                   global_idf: bool) -> str:
    declared = "".join(f"    tsvpipe_{kind} = {name}\n" for kind, name in columns)
    idf = f"    global_idf = {out}/global.idf\n" if global_idf else ""
    return f"""source {source}
{{
    type = tsvpipe
    tsvpipe_command = cat {tsv}
{declared}}}

index {index}
{{
    source = {source}
    path = {path}
    docinfo = extern
    dict = keywords
    min_word_len = 1
    charset_table = {CHARSET_TABLE}
{idf}}}
"""


def write_configs(out: Path, layout: Layout) -> Built:
    """One config per shard replica and one for the head (its distributed index over the shards,
    mirrors as ``agent = a|b:index``, and the meta index)."""
    for d in ("log", "run", "data"):
        (out / d).mkdir(exist_ok=True)
    indexer = "indexer\n{\n    mem_limit = 256M\n}\n"
    confs: list[list[Path]] = []
    agents = []
    for i, replicas in enumerate(layout.shards):
        index = f"{INDEX}_{i}"
        confs.append([])
        for r, (host, port) in enumerate(replicas):
            name = f"shard{i}" if r == 0 else f"shard{i}-mirror{r}"
            conf = out / f"{name}.conf"
            conf.write_text(
                _index_section(out, index, f"src_{index}", out / "data" / name / index, out / f"shard{i}.tsv",
                               SHARD_COLUMNS, True)
                + indexer + _searchd_section(out, name, f"{host}:{port}"), encoding="utf-8")
            confs[-1].append(conf)
        agents.append("    agent_persistent = " + "|".join(f"{h}:{p}" for h, p in replicas) + f":{index}\n")
    host, port = layout.head
    head = out / "head.conf"
    head.write_text(
        _index_section(out, META_INDEX, "src_meta", out / "data" / "head" / META_INDEX, out / "meta.tsv",
                       META_COLUMNS, False)
        + f"""
index {INDEX}
{{
    type = distributed
{''.join(agents)}    agent_connect_timeout = 500
    agent_query_timeout = 10000
    ha_strategy = nodeads
}}
""" + indexer + _searchd_section(
        out, "head", f"{host}:{port}:mysql41", "    persistent_connections_limit = 16\n"), encoding="utf-8")
    return Built(out, Meta(0, (0, 0), (0.0, 0.0), ()), head, confs)


def _run(args: list[str]) -> str:
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {(done.stdout + done.stderr)[-800:]}")
    return done.stdout


def index_all(built: Built) -> None:
    """indexer for every replica and the head's meta index, then the global idf from the shards'
    dictionaries (indextool --dumpdict --stats, then --buildidf)."""
    dicts = []
    for i, replicas in enumerate(built.shard_confs):
        for r, conf in enumerate(replicas):
            (built.out / "data" / conf.stem).mkdir(parents=True, exist_ok=True)
            _run(["indexer", "--config", str(conf), "--all", "--quiet"])
            if r == 0:
                dump = built.out / f"shard{i}.dict"
                dump.write_text(_run(["indextool", "--config", str(conf), "--dumpdict", f"{INDEX}_{i}", "--stats",
                                      "--quiet"]))
                dicts.append(str(dump))
    (built.out / "data" / "head").mkdir(parents=True, exist_ok=True)
    _run(["indexer", "--config", str(built.head_conf), META_INDEX, "--quiet"])
    _run(["indextool", "--buildidf", *dicts, "--out", str(built.out / "global.idf")])
    built.indexed = True


# --------------------------------------------------------------------------- running searchd here


@dataclass
class Searchd:
    """A searchd started from a config on this machine."""

    conf: Path
    pid_file: Path
    address: Address

    def pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self, wait: float = 10.0) -> None:
        """Stop it (SIGTERM, then SIGKILL after ``wait`` seconds); nothing if it is not running."""
        pid = self.pid()
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)

    def kill(self) -> None:
        """Kill it at once, as a machine dies."""
        pid = self.pid()
        if pid is not None and _alive(pid):
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (its parent has not reaped it) counts as dead
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1] != "Z"
    except OSError:
        return True


def start_searchd(conf: Path, timeout: float = 15.0) -> Searchd:
    """Start searchd on a config written by ``build`` and wait until it accepts connections."""
    listen = next(line.split("=", 1)[1].strip() for line in conf.read_text().splitlines()
                  if line.strip().startswith("listen"))
    host, port = listen.split(":")[:2]
    pid_file = next(Path(line.split("=", 1)[1].strip()) for line in conf.read_text().splitlines()
                    if line.strip().startswith("pid_file"))
    _run(["searchd", "--config", str(conf)])
    daemon = Searchd(conf, pid_file, (host, int(port)))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, int(port)), timeout=0.5).close()
            return daemon
        except OSError:
            time.sleep(0.05)
    daemon.stop()
    raise RuntimeError(f"searchd --config {conf} did not listen on {listen} within {timeout:.0f} s")


def start_all(built: Built, skip: Callable[[Path], bool] = lambda conf: False) -> list[Searchd]:
    """Every searchd of a build on this machine, the shards first; stops them all on a failure."""
    started: list[Searchd] = []
    try:
        for conf in [c for replicas in built.shard_confs for c in replicas] + [built.head_conf]:
            if not skip(conf):
                started.append(start_searchd(conf))
    except BaseException:
        for d in started:
            d.stop()
        raise
    return started


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """n ports free on this host now (bound and released: another process may take one meanwhile)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()
