"""The question log: its writes leave the event loop."""

from __future__ import annotations

import asyncio
import threading

from bot.ops.store import Store


async def test_run_does_the_work_off_the_event_loop_thread_in_order():
    store = Store(":memory:")
    loop_thread = threading.get_ident()
    threads: list[int] = []

    def log(question: str) -> int:
        threads.append(threading.get_ident())
        return store.log_question("private", 1, question, True, ["doc"], ["doc#1"], 5.0)

    ids = await asyncio.gather(*(store.run(log, f"问题{i}") for i in range(5)))
    assert loop_thread not in threads and len(set(threads)) == 1  # one worker, not the loop
    assert ids == sorted(ids) and store.count() == 5  # queued writes keep their order
    assert await store.run(store.record_feedback, ids[0], 1, -1)
    assert [q.question for q in await store.run(store.thumbs_down)] == ["问题0"]
    store.close()


async def test_the_loop_keeps_running_while_a_write_waits():
    store = Store(":memory:")
    release = threading.Event()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while not release.is_set():
            ticks += 1
            await asyncio.sleep(0.001)

    def slow_write() -> int:  # a write stuck on the disk, as SQLite's fsync can be
        release.wait(5)
        return store.log_question("group", None, "问题", False, [], [], 1.0)

    tick = asyncio.create_task(ticker())
    write = asyncio.create_task(store.run(slow_write))
    await asyncio.sleep(0.05)
    assert ticks > 5 and not write.done()
    release.set()
    assert await write == 1
    await tick
    store.close()
