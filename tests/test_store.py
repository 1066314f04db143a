"""The question log (its writes leave the event loop) and the update journal."""

from __future__ import annotations

import asyncio
import threading
import time

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


def test_the_update_journal_records_once_keeps_payloads_until_handled_and_gives_up_after_three_starts():
    store = Store(":memory:")
    bot, other_bot = 111, 222
    assert store.record_updates(bot, [(1, '{"update_id": 1}'), (2, '{"update_id": 2}')], at=100.0) == [1, 2]
    assert store.record_updates(bot, [(2, "again"), (3, '{"update_id": 3}')], at=101.0) == [3]  # 2 is a repeat
    assert store.record_updates(other_bot, [(1, '{"update_id": 1}')]) == [1]  # ids are per bot
    store.mark_handled(bot, 1)
    pending, given_up = store.take_unhandled(bot, max_replays=3)
    assert pending == [(2, '{"update_id": 2}'), (3, '{"update_id": 3}')] and given_up == []
    assert store._db.execute("SELECT payload FROM updates WHERE bot_id=? AND update_id=1", (bot,)).fetchone() == (None,)
    store.mark_handled(bot, 3)
    for _ in range(2):  # update 2 is queued at two more starts and never handled ...
        assert [u for u, _ in store.take_unhandled(bot, max_replays=3)[0]] == [2]
    assert store.take_unhandled(bot, max_replays=3) == ([], [2])  # ... then given up
    assert store.take_unhandled(bot, max_replays=3) == ([], [])
    assert store.record_updates(bot, [(2, "again")]) == []  # and still never handled twice
    store.close()


def test_handled_update_ids_are_forgotten_after_two_days():
    store = Store(":memory:")
    store.record_updates(1, [(10, "{}"), (11, "{}")])
    store.mark_handled(1, 10, at=time.time() - 3 * 86400)
    store.mark_handled(1, 11)
    store.take_unhandled(1, max_replays=3)  # the clean-up runs at start
    assert [r[0] for r in store._db.execute("SELECT update_id FROM updates")] == [11]
    store.close()


def test_the_report_counts_calendar_days_in_the_time_zone_and_lists_empty_days():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    shanghai = ZoneInfo("Asia/Shanghai")
    store = Store(":memory:")
    now = datetime(2024, 5, 10, 9, 0, tzinfo=shanghai).timestamp()  # 01:00 UTC
    # 07:30 on 10 May in Shanghai is still 9 May in UTC; 23:30 on 6 May is 15:30 UTC the same day.
    for when, ok in [((2024, 5, 10, 7, 30), True), ((2024, 5, 6, 23, 30), False), ((2024, 5, 3, 12, 0), True)]:
        store.log_question("private", 1, "问题", ok, [], [], 5.0, at=datetime(*when, tzinfo=shanghai).timestamp())
    r = store.report(days=7, now=now, zone=shanghai)
    assert r.zone == "Asia/Shanghai" and r.questions == 2  # 3 May is outside 4..10 May
    assert [d for d, _, _ in r.per_day] == [f"2024-05-{d:02d}" for d in range(4, 11)]
    assert {d: (a, x) for d, a, x in r.per_day if a or x} == {"2024-05-06": (0, 1), "2024-05-10": (1, 0)}
    utc = store.report(days=7, now=now, zone=ZoneInfo("UTC"))
    assert {d for d, a, x in utc.per_day if a or x} == {"2024-05-06", "2024-05-09"}


def test_a_report_for_one_chat_and_the_csv_export_keep_ids_out():
    import io

    store = Store(":memory:")
    store.log_question("group", 7, "群里的问题", True, ["doc"], ["doc#1"], 5.0, chat_id=-100123)
    store.log_question("group", 8, "别的群", False, [], [], 5.0, chat_id=-100999)
    store.log_question("private", 7, "私聊", True, [], [], 5.0, chat_id=7)
    assert store.report(days=1, chat_id=-100123).questions == 1
    assert store.report(days=1).questions == 3
    out = io.StringIO()
    assert store.export_csv(out) == 3
    text = out.getvalue()
    assert text.splitlines()[0].startswith("id,time,place,chat,user,question")
    assert "群里的问题" in text and "-100123" not in text and ",7," not in text


def test_what_an_answer_was_asked_for_outlives_the_store_and_finds_the_question_a_reply_follows(tmp_path):
    t = time.time() - 100
    store = Store(tmp_path / "q.sqlite3")
    first = store.remember(42, "崂山区有多少名党员？", 1, at=t)
    store.sent(first, 17)
    second = store.remember(42, "2023年崂山区生产总值是多少？", 3, at=t + 50)
    store.close()
    store = Store(tmp_path / "q.sqlite3")  # a restart
    assert store.recall(first) == "崂山区有多少名党员？" and store.recall(99) is None
    assert store.previous(42, reply_to=17).question == "崂山区有多少名党员？"
    assert store.previous(42, since=t + 10).question == "2023年崂山区生产总值是多少？"
    assert store.previous(42, since=t + 60) is None and store.previous(43, since=0.0) is None
    assert store.recall(second) is not None
    store.purge(now=t + 31 * 86400)
    assert store.recall(second) is None
    store.close()


def test_processes_opening_a_new_log_at_once_agree_on_its_salt(tmp_path):
    """Two bots started together on one DATA_DIR (a supervisor's restart overlapping the old
    process): each opens the log; neither may fail on the salt the other just wrote."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    for n in range(5):
        path = str(tmp_path / f"q{n}.sqlite3")
        start, salts = ctx.Barrier(6), ctx.Queue()
        procs = [ctx.Process(target=_open_and_salt, args=(path, start, salts)) for _ in range(6)]
        for p in procs:
            p.start()
        got = [salts.get(timeout=30) for _ in procs]
        for p in procs:
            p.join(30)
        assert len(set(got)) == 1 and not got[0].startswith("error"), got


def _open_and_salt(path: str, start, salts) -> None:
    start.wait()
    try:
        store = Store(path)
    except Exception as exc:  # (reported, not raised: the test reads the queue)
        salts.put(f"error: {exc}")
        return
    salts.put(store._salt)
    store.close()
