"""What the update journal costs: the store writes added to every update (bot/telegram/journal.py).

    uv run python benchmarks/journal.py [--updates 2000] [--dir DATA_DIR]

Each update is written when it arrives (one transaction per getUpdates batch; one per update
by webhook) and marked handled when its handlers are done (one transaction each), both on the
store's own thread. This times both against a plain asyncio.Queue, on an SQLite file in a
temporary directory under --dir (default: data/), with the store's settings (WAL, SQLite's
default synchronous=FULL: a commit reaches the disk before it returns).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fake_bot_api import FakeBotAPI  # noqa: E402
from telegram import Update  # noqa: E402

from bot.ops.store import Store  # noqa: E402
from bot.telegram.journal import JournaledQueue  # noqa: E402

BOT_ID = 123456789


def updates(n: int) -> list[Update]:
    """Group questions as Telegram sends them (the fake server builds them)."""
    api = FakeBotAPI()
    for i in range(n):
        api.group_message(f"/ask 崂山区有多少家高新技术企业？第{i}问", chat_id=-1_001_000_000_000 - i % 50)
    return [Update.de_json(u, None) for u in api.pushed_updates]


async def per_update_ms(batches: list[list[Update]], queue: asyncio.Queue, mark: bool) -> tuple[float, float]:
    """Milliseconds per update to queue (recording) them and, if ``mark``, to mark them handled."""
    n = sum(len(b) for b in batches)
    start = time.perf_counter()
    for batch in batches:
        if isinstance(queue, JournaledQueue):
            await queue.put_batch(batch)
        else:
            for u in batch:
                await queue.put(u)
    put = (time.perf_counter() - start) * 1000 / n
    start = time.perf_counter()
    if mark and isinstance(queue, JournaledQueue):
        for batch in batches:
            for u in batch:
                await queue.handled(u)
    done = (time.perf_counter() - start) * 1000 / n
    return put, done


async def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--updates", type=int, default=2000)
    p.add_argument("--dir", type=Path, default=None, help="where the SQLite file goes (default: data/)")
    args = p.parse_args(argv)
    print(f"machine: {platform.machine()}, {platform.system()} {platform.release()}, "
          f"Python {platform.python_version()}")
    where = args.dir or ROOT / "data"  # git-ignored, on the disk DATA_DIR is on by default
    where.mkdir(parents=True, exist_ok=True)
    every = updates(args.updates)
    rounds = 3
    for size in (1, 10, 100):
        batches = [every[i:i + size] for i in range(0, len(every), size)]
        puts, marks, plain = [], [], []
        for _ in range(rounds):
            with tempfile.TemporaryDirectory(dir=where) as tmp:
                store = Store(Path(tmp) / "questions.sqlite3")
                put, mark = await per_update_ms(batches, JournaledQueue(store, BOT_ID), mark=True)
                store.close()
            puts.append(put)
            marks.append(mark)
            plain.append((await per_update_ms(batches, asyncio.Queue(), mark=False))[0])
        how = "webhook: one update a POST" if size == 1 else f"polling: batches of {size}"
        print(f"{how:>28}: record {statistics.median(puts):.3f} ms/update, mark handled "
              f"{statistics.median(marks):.3f} ms/update, plain queue {statistics.median(plain):.4f} ms/update "
              f"(median of {rounds} x {len(every)} updates)")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
