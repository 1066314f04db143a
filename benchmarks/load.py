"""Load: the real Application against the fake Bot API server, both in this process.

2,000 questions from 200 chats (10 per chat: half private chats, half groups with /ask) are
queued on the fake server as fast as it takes them; the bot pulls them with getUpdates (100 at a
time) and answers. Printed: throughput (answers/s), p50/p99 time from "update enqueued on the
server" to "reply received by the server", whether every chat's answers came in the order asked,
and whether the fake server rejected any call (it validates each one against the Bot API spec).

    uv run python benchmarks/load.py                     # as deployed: Telegram's 30 msg/s cap
    uv run python benchmarks/load.py --rate-limit off    # the cap lifted: the bot's own capacity
    uv run python benchmarks/load.py --rate 20           # 20 questions/s instead of all at once

Not a test: nothing is asserted, the numbers depend on the machine. The fake server runs in this
process, so its JSON parsing and validation share the CPU (and the GIL) with the bot.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import telegram  # noqa: E402
from fake_bot_api import FakeBotAPI  # noqa: E402
from telegram.ext import AIORateLimiter  # noqa: E402

import bot.telegram.app  # noqa: E402
from bot.answering import answer as answering  # noqa: E402
from bot.answering.service import Service  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.ops.store import Store  # noqa: E402
from bot.telegram.app import build_application  # noqa: E402


def distinct_questions(service: Service, n: int) -> list[str]:
    """``n`` answerable questions whose answers differ, so a private answer tells its question."""
    out, seen = [], set()
    for line in (ROOT / "eval" / "seed-qa-dev.jsonl").open(encoding="utf-8"):
        q = json.loads(line)["question"]
        html = answering.answer_html(service.ask(q))
        if service.ask(q).answered and html not in seen:
            out.append(q)
            seen.add(html)
        if len(out) == n:
            return out
    raise SystemExit(f"only {len(out)} distinct answerable questions in eval/seed-qa-dev.jsonl")


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(p / 100 * len(values)) - 1))]


async def run(args: argparse.Namespace) -> None:
    from bot.telegram.serving import online

    data_dir = Path(tempfile.mkdtemp(prefix="load-"))
    service = Service.from_corpus(ROOT / "corpus", 3, data_dir)
    questions = distinct_questions(service, args.per_chat)
    expected = {answering.answer_html(service.ask(q)): i for i, q in enumerate(questions)}
    if args.rate_limit == "off":  # build_application as it is, its limiter's caps lifted
        bot.telegram.app.AIORateLimiter = lambda max_retries: AIORateLimiter(
            overall_max_rate=0, group_max_rate=0, max_retries=max_retries)

    private = [1_000_000 + i for i in range(args.chats // 2)]
    groups = [-1_003_000_000_000 - i for i in range(args.chats - len(private))]
    chats = [c for pair in zip(private, groups) for c in pair] + private[len(groups):] + groups[len(private):]
    enqueued: dict[tuple[int, int], float] = {}  # (chat, question number) -> when queued
    by_message: dict[tuple[int, int], int] = {}  # (group, message id) -> question number
    total = len(chats) * args.per_chat

    with FakeBotAPI() as api:
        settings = Settings(bot_token=api.token, api_base_url=api.base_url, data_dir=data_dir)
        app = build_application(settings, service, Store(data_dir / "questions.sqlite3"))
        bot_online = contextlib.AsyncExitStack()  # as `python -m bot` runs: getMe, menus, polling
        await bot_online.enter_async_context(online(app, settings, poll_timeout=10))

        def push() -> None:  # round robin: question i of every chat, then question i + 1
            gap = 1 / args.rate if args.rate else 0
            start = time.monotonic()
            for i in range(args.per_chat):
                for chat in chats:
                    if gap:
                        time.sleep(max(0.0, start + len(enqueued) * gap - time.monotonic()))
                    enqueued[chat, i] = time.monotonic()
                    if chat > 0:
                        api.private_message(questions[i], user_id=chat)
                    else:
                        api.group_message(f"/ask {questions[i]}", chat_id=chat)
                        by_message[chat, api.pushed_updates[-1]["message"]["message_id"]] = i

        cpu0, t0 = time.process_time(), time.monotonic()
        pusher = threading.Thread(target=push, name="push")
        pusher.start()
        seen = 0
        deadline = t0 + args.timeout
        while time.monotonic() < deadline:
            await asyncio.sleep(0.25)
            with api._lock:
                seen = sum(1 for c in api.calls if c.method == "sendMessage")
            if seen >= total:
                break
        pusher.join()
        await asyncio.sleep(0.5)  # late duplicates would show up now
        await bot_online.aclose()  # stop fetching, answer what was fetched, shut down
        cpu = time.process_time() - cpu0
        sends = api.calls_to("sendMessage")
        errors = list(api.errors)

    ok = [c for c in sends if c.ok]
    answered: dict[tuple[int, int | None], list] = {}  # (chat, question number) -> its answers
    per_chat: dict[int, list[tuple[int, int | None]]] = {}  # chat -> (server message id, question number)
    for c in ok:
        chat = c.result["chat"]["id"]
        if chat > 0:
            i = expected.get(c.params["text"])
        else:
            i = by_message.get((chat, c.params.get("reply_parameters", {}).get("message_id")))
        answered.setdefault((chat, i), []).append(c)
        per_chat.setdefault(chat, []).append((c.result["message_id"], i))
    duplicates = sum(len(v) - 1 for k, v in answered.items() if k[1] is not None)
    missing = [k for k in enqueued if k not in answered]
    unknown = sum(len(v) for k, v in answered.items() if k[1] is None)
    latencies = [answered[k][0].at - t for k, t in enqueued.items() if k in answered]
    last = max(c.at for c in ok) if ok else t0
    in_order = sum(1 for chat in chats
                   if [i for _, i in sorted(per_chat.get(chat, []))] == list(range(args.per_chat)))

    push_span = max(enqueued.values()) - min(enqueued.values())
    print(f"machine: {os.cpu_count()} CPUs, {platform.machine()}, {platform.system()} {platform.release()}, "
          f"Python {platform.python_version()}, python-telegram-bot {telegram.__version__}")
    limiter = ("AIORateLimiter as deployed (30 msg/s overall, 20/min per group)" if args.rate_limit == "telegram"
               else "AIORateLimiter with its caps lifted")
    processor = app.update_processor
    print(f"rate limiter: {limiter}; update processor: {type(processor).__name__}({processor.max_concurrent_updates})")
    print(f"questions: {total} from {len(chats)} chats ({len(private)} private, {len(groups)} groups, "
          f"{args.per_chat} each), queued in {push_span:.2f} s"
          + (f" (paced at {args.rate}/s)" if args.rate else " (all at once)"))
    print(f"answered: {total - len(missing)}/{total}, missing {len(missing)}, duplicates {duplicates}, "
          f"unmatched {unknown}")
    print(f"throughput: {len(ok) / (last - t0):.1f} answers/s ({len(ok)} answers in {last - t0:.1f} s)")
    if latencies:
        print(f"latency, update enqueued -> reply at the server: p50 {statistics.median(latencies) * 1000:.0f} ms, "
              f"p99 {percentile(latencies, 99) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")
    print(f"per-chat order held: {'yes' if in_order == len(chats) else 'NO'} ({in_order}/{len(chats)} chats)")
    print(f"calls rejected by the fake server: {len(errors)}"
          + (f" (first: {errors[0].method} {errors[0].error})" if errors else "")
          + f"; sendMessage calls not accepted: {len(sends) - len(ok)}")
    print(f"CPU (bot + fake server, this process): {cpu:.1f} s, {cpu / max(1, len(ok)) * 1000:.1f} ms per answer")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--chats", type=int, default=200)
    p.add_argument("--per-chat", type=int, default=10)
    p.add_argument("--rate", type=float, default=0, help="questions per second (0: all at once)")
    p.add_argument("--rate-limit", choices=("telegram", "off"), default="telegram")
    p.add_argument("--timeout", type=float, default=300, help="give up waiting after this many seconds")
    args = p.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
