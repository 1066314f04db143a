"""The command line: run (Telegram or console chat), ask, eval, index."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Compiled bytecode is a cache like the index: without it every start compiles numpy and
# jieba's HMM tables from source (0.8 s of a 1.4 s `ask`). PYTHONDONTWRITEBYTECODE, set in many
# container images, forbids writing it, so the compiled modules would never be kept; this
# command keeps them (in the project's .venv and bot/__pycache__).
sys.dont_write_bytecode = False

# The imports below come after the line above on purpose (E402 is off for this file).
from bot.answering import answer as answering
from bot.config import BACKENDS, ConfigError, Settings, default_dotenv, load_settings
from bot.search.backend import load_index
from bot.search.cache import load_or_build
from bot.search.corpus import CorpusError
from bot.search.index import Index

log = logging.getLogger("bot")


# The same numbers as bot.telegram.serving.ExitCode (kept apart: importing it loads telegram).
EXIT_CODES = """exit status:
  0  done; the bot stopped on SIGTERM or Ctrl-C
  1  a bug (a traceback says where)
  2  a missing or malformed setting, an unreadable corpus, an unusable DATA_DIR
  3  the Bot API rejected BOT_TOKEN (401 on getMe)
  4  BOT_API_BASE_URL answers, but not as a Bot API (404, an HTML page, a malformed getMe)
  5  while serving, Telegram stopped accepting the bot (token revoked, bot deleted)
Network faults and 5xx answers at start are waited out, not exits."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bot",
        description="Chinese document question answering: quotes the passages that answer a question.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--corpus", type=Path, help="directory or file of documents (default: CORPUS_PATH or corpus/)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser("run", help="serve Telegram when BOT_TOKEN is set, else open a console chat (default)")

    ask = sub.add_parser("ask", help="answer questions; with none given, read one per line from stdin (JSON lines)")
    ask.add_argument("question", nargs="*", help="the question (words are joined with spaces)")
    ask.add_argument("-k", type=int, default=None, help="how many passages (default: TOP_K or 3)")
    ask.add_argument("--json", action="store_true", help="print one JSON object per question")
    ask.add_argument("--corpus", type=Path, default=argparse.SUPPRESS, help="answer from another corpus")

    ev = sub.add_parser("eval", help="measure hit@k, declines and the decision's trade-off on every question "
                        "set, CMRC 2018 dev and cross-corpus questions")
    ev.add_argument("--qa", type=Path, action="append",
                    help="a questions JSONL (repeatable; default: every eval/seed-qa-*.jsonl)")
    ev.add_argument("--bench", type=Path, help="benchmark dir with corpus.jsonl, queries.jsonl, qrels.tsv "
                    "(default: eval/cmrc2018-dev)")
    ev.add_argument("--no-bench", action="store_true", help="skip the benchmark")
    ev.add_argument("-v", "--verbose", action="store_true", help="one line per question")
    ev.add_argument("--corpus", type=Path, default=argparse.SUPPRESS, help="evaluate another corpus")

    st = sub.add_parser("stats", help="print the question-log report (as /stats in Telegram), days in TZ")
    st.add_argument("--days", type=int, default=7, help="how many days, today included (default 7)")
    st.add_argument("--chart", type=Path, help="also write the per-day chart to this PNG file")
    st.add_argument("--csv", type=Path, metavar="FILE",
                    help="export the whole log as CSV to FILE ('-': standard output); users and chats as "
                    "salted hashes, never ids")

    sub.add_parser("bench", help="speed benchmark on synthetic corpora (python -m bot bench --help)")

    ix = sub.add_parser("index", help="build the index (on every core for a large corpus) and report its "
                        "size, build time and throughput")
    ix.add_argument("--corpus", type=Path, default=argparse.SUPPRESS, help="index another corpus")
    ix.add_argument("--rebuild", action="store_true", help="rebuild even when the cached index is current")
    ix.add_argument("--workers", type=int, default=None,
                    help="segmenting processes (default: every core from 5,000 passages on, else 1)")
    ix.add_argument("--backend", choices=BACKENDS, default="embedded",
                    help="embedded: the bot's own index (default); sphinxql: write the search engine's shards, "
                    "configs and global idf, and index them when Sphinx's indexer is installed")
    ix.add_argument("--shards", type=int, default=2, help="sphinxql: how many shards (default 2)")
    ix.add_argument("--mirrors", type=int, default=0, help="sphinxql: mirrors of each shard (default 0)")
    ix.add_argument("--out", type=Path, help="sphinxql: where to write (default: DATA_DIR/sphinx)")
    ix.add_argument("--host", default="127.0.0.1", help="sphinxql: the host in the configs (default 127.0.0.1)")
    ix.add_argument("--port", type=int, default=9306,
                    help="sphinxql: the head's SphinxQL port; the shards and mirrors take the ports after it")
    ix.add_argument("--dask", metavar="SCHEDULER",
                    help="sphinxql: segment on this Dask cluster (tcp://host:8786) instead of this machine's cores")
    return p


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(dotenv=default_dotenv())
    if getattr(args, "corpus", None):
        settings = dataclasses.replace(settings, corpus_path=args.corpus)
    return settings


def _load(settings: Settings) -> Index:
    return load_index(settings)


def ask_command(args: argparse.Namespace, settings: Settings) -> int:
    k = args.k if args.k is not None else settings.top_k
    if k < 1:
        raise ConfigError("-k must be at least 1")
    index = _load(settings)
    if args.question:
        ans = answering.answer(index, " ".join(args.question), k=k)
        if args.json:
            print(json.dumps(answering.answer_json(ans), ensure_ascii=False))
        else:
            print(answering.answer_text(ans))
        return 0
    # Batch mode: one question per line in, one JSON object per line out.
    for line in sys.stdin:
        question = line.rstrip("\n")
        if not question.strip():
            continue
        ans = answering.answer(index, question, k=k)
        sys.stdout.write(json.dumps(answering.answer_json(ans), ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return 0


def eval_command(args: argparse.Namespace, settings: Settings) -> int:
    from bot.ops import evaluate

    index = _load(settings)
    bench = None if args.no_bench else (args.bench or evaluate.CMRC)
    if bench is not None and not bench.is_dir():
        print(f"benchmark {bench}: not found, skipped")
        bench = None
    print(f"corpus {settings.corpus_path}: {len(index)} passages")
    evaluate.evaluate(index, args.qa or evaluate.seed_question_sets(), bench, verbose=args.verbose)
    return 0


def index_command(args: argparse.Namespace, settings: Settings) -> int:
    from bot.search.parallel import ProgressLine

    if args.backend == "sphinxql":
        return engine_index_command(args, settings)
    progress = ProgressLine("indexing", sys.stderr)  # passages done and passages/s, on stderr
    start = time.perf_counter()
    index = load_or_build(
        settings.corpus_path, settings.data_dir, progress, workers=args.workers, rebuild=args.rebuild
    )
    progress.close()
    took = time.perf_counter() - start
    docs = len({p.doc for p in index.passages})
    how = f"built: {progress.rate:,.0f} passages/s segmented" if progress.shown else "loaded from the cache"
    print(f"indexed {len(index)} passages from {docs} documents in {took:.2f} s ({how}; "
          f"{len(index.words.vocab)} words, {len(index.grams.vocab)} character n-grams)")
    return 0


def engine_index_command(args: argparse.Namespace, settings: Settings) -> int:
    """index --backend sphinxql: the search engine's shards, configs and global idf."""
    from bot.search import sphinxbuild
    from bot.search.cache import checked_corpus
    from bot.search.index import corpus_terms
    from bot.search.parallel import ProgressLine

    if not 1 <= args.shards <= 256 or not 0 <= args.mirrors <= 8:
        raise ConfigError("--shards must be 1..256 and --mirrors 0..8")
    out = args.out or settings.data_dir / "sphinx"
    passages = checked_corpus(settings.corpus_path, settings.data_dir).passages
    layout = sphinxbuild.Layout.local(args.shards, args.port, args.mirrors, args.host)
    progress = ProgressLine("segmenting", sys.stderr)
    start = time.perf_counter()
    if args.dask:
        from dask.distributed import Client  # a dev dependency: the build machine's, not the bot's

        with Client(args.dask) as client:
            terms = sorted(corpus_terms(passages))
            runs = sphinxbuild.segment_on(client, [p.text for p in passages], terms)
            built = sphinxbuild.build(passages, out, layout, user_terms=terms, runs=runs)
    else:
        built = sphinxbuild.build(passages, out, layout, workers=args.workers, progress=progress)
    progress.close()
    print(f"wrote {len(passages):,} passages into {args.shards} shard(s) "
          f"({', '.join(f'{n:,}' for n in built.per_shard)}) under {built.out} in {time.perf_counter() - start:.1f} s")
    if built.indexed:
        print(f"indexed every shard and mirror (indexer), global idf in {built.out / 'global.idf'} (indextool)")
    else:
        print("indexer is not installed here: on each searchd's host run `indexer --config CONF --all`, then "
              "`indextool --dumpdict` each shard and `indextool --buildidf` (see docs/scale-out.md)")
    print("start the engine, the shards first:")
    for command in built.commands():
        print(f"  {command}")
    host, port = layout.head
    print(f"then answer from it: SEARCH_BACKEND=sphinxql SPHINXQL_URL={host}:{port} uv run python -m bot")
    return 0


def stats_command(args: argparse.Namespace, settings: Settings) -> int:
    from bot.ops import reports
    from bot.ops.store import Store

    path = settings.data_dir / "questions.sqlite3"
    if not path.is_file():
        print(f"no question log yet at {path}")
        return 0
    store = Store(path, settings.log_retention_days)
    if args.csv is not None:
        if str(args.csv) == "-":
            store.export_csv(sys.stdout, settings.zone())
        else:
            with args.csv.open("w", encoding="utf-8", newline="") as out:
                n = store.export_csv(out, settings.zone())
            print(f"{n} logged questions written to {args.csv}")
        return 0
    report = store.report(days=max(1, args.days), zone=settings.zone())
    print(reports.report_text(report))
    if args.chart:
        png = reports.chart_png(report)
        if png is None:
            print("chart: no question in the period, none drawn")
        else:
            args.chart.write_bytes(png)
            print(f"chart written to {args.chart}")
    return 0


def run_command(args: argparse.Namespace, settings: Settings) -> int:
    if settings.bot_token:
        from bot.telegram.app import run_telegram
        from bot.telegram.serving import StartRefused

        try:
            return run_telegram(settings)
        except StartRefused as exc:
            print(f"error: {exc}", file=sys.stderr)
            return exc.exit_code
    print("BOT_TOKEN is not set: opening a console chat with the same answers (Ctrl-D to quit).")
    return console(settings)


def console(settings: Settings, read: Callable[[str], str] = input) -> int:
    """The console chat: the chat's commands and answers as plain text, its questions logged to the
    same store as the bot's (place "console"), a short question soon after another read as its
    follow-up."""
    from bot.answering import followup, smalltalk
    from bot.ops.store import Store
    from bot.telegram import messages
    from bot.telegram.app import open_service

    service = open_service(settings)
    try:
        store: Store | None = Store(settings.data_dir / "questions.sqlite3", settings.log_retention_days)
    except (OSError, sqlite3.Error) as exc:
        print(f"(the question log is off: {exc})")
        store = None
    print(f"资料：{len(service.documents())} 篇文档，{len(service.index)} 个段落。请输入问题（/help 查看用法）：")
    commands = {
        "/start": lambda: messages.plain_reply(*messages.small_talk("hello", service, None)),
        "/help": lambda: messages.plain(messages.help_html(None)),
        "/about": lambda: messages.plain(messages.about_html(service)),
    }
    try:
        while True:
            try:
                line = read("> ").strip()
            except (EOFError, KeyboardInterrupt):
                print()
                return 0
            if not line:
                continue
            if line.startswith("/"):
                command = line.split()[0].split("@")[0].lower()
                print(commands.get(command, lambda: messages.UNKNOWN_COMMAND)())
                print()
                continue
            if (said := smalltalk.kind(line)) is not None:  # 你好, 谢谢: not a question, not logged as one
                print(messages.plain_reply(*messages.small_talk(said, service, None)))
                print()
                continue
            previous = store.previous("console", since=time.time() - followup.FOLLOWUP_SECONDS) if store else None
            start = time.perf_counter()
            follow = service.read(line, previous)
            latency_ms = (time.perf_counter() - start) * 1000
            print(messages.reply_text(follow, line))
            print()
            if store is not None:
                ans = follow.answer
                shown = ans.quotes[: service.top_k]
                store.log_question("console", None, line, ans.answered, [q.passage.doc for q in shown],
                                   [q.passage.key for q in shown], latency_ms, chat_id="console")
                store.remember("console", follow.reading.question, follow.reading.offset + len(ans.quotes))
    finally:
        if store is not None:
            store.close()


class RedactToken(logging.Filter):
    """Belt and braces: whatever a library logs, the bot token never reaches the log."""

    def __init__(self, token: str):
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "<BOT_TOKEN>"), None
        if record.exc_info:  # a traceback can quote the token too (InvalidToken does)
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text, record.exc_info = text.replace(self.token, "<BOT_TOKEN>"), None
        return True


COMMANDS = {
    "run": run_command, "ask": ask_command, "eval": eval_command, "index": index_command,
    "stats": stats_command,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:  # the benchmark has its own options
        import runpy

        bench = runpy.run_path(str(Path(__file__).resolve().parent.parent / "benchmarks" / "bench.py"))
        return int(bench["main"](argv[1:]))
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
        logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs every URL, token included
        logging.getLogger("matplotlib").setLevel(logging.WARNING)  # its font cache and backend choice
        for line in settings.unknown:
            logging.getLogger("bot.config").warning(line)
        if settings.bot_token:
            for handler in logging.getLogger().handlers:
                handler.addFilter(RedactToken(settings.bot_token))
        return COMMANDS[args.command or "run"](args, settings)
    except (ConfigError, CorpusError) as exc:
        for line in str(exc).splitlines():  # every bad setting, a line each
            print(f"error: {line}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
