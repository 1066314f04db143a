"""Conversation and the operator's day, end to end against the fake Bot API: follow-up questions,
buttons that outlive a restart, /stats in the operator's time zone and per group.

(``bot/answering/followup.py`` itself is tested without Telegram in ``test_followup.py``.)
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from bot_harness import ADMIN, running
from fake_bot_api import DEFAULT_GROUP_ID, FakeBotAPI

from bot.answering.service import Service
from bot.ops.store import Store
from bot.telegram import messages

ROOT = Path(__file__).resolve().parent.parent
BOT = "LaoshanQABot"
SOURCE = re.compile(r"《[^》]+》第\d+段")  # the source line of a quote


def _sources(text: str) -> list[str]:
    return [line for line in text.splitlines() if SOURCE.search(line) and not line.startswith("「")]


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Service:
    return Service.from_corpus(ROOT / "corpus", 3, tmp_path_factory.mktemp("cache"))


def _buttons(call) -> list[dict]:
    markup = call.params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


async def _answers(api: FakeBotAPI, count: int, timeout: float = 15.0):
    return await api.await_calls("sendMessage", count=count, timeout=timeout, where=lambda c: c.ok)


# --------------------------------------------------------------------------- follow-up questions


async def test_a_reply_to_an_answer_is_read_with_the_question_it_answered(fake_api, service, tmp_path):
    store = Store(tmp_path / "q.sqlite3")
    async with running(fake_api, service, store):
        fake_api.group_message("/ask 2023年崂山区生产总值是多少？")
        first = (await _answers(fake_api, 1))[0]
        fake_api.group_message("那2021年呢？", reply_to_bot=True)
        second = (await _answers(fake_api, 2))[1]
    assert "1150.89亿元" in first.result["text"]
    text = second.params["text"]
    assert text.startswith("<i>按「2021年崂山区生产总值是多少」理解：</i>\n")  # how it was read, first
    assert "突破1000亿元" in second.result["text"]
    assert second.params["reply_parameters"]["message_id"]  # in a group it quotes the follow-up
    rows = store._db.execute("SELECT question, chat FROM questions ORDER BY id").fetchall()
    assert [r[0] for r in rows] == ["2023年崂山区生产总值是多少？", "那2021年呢？"]  # logged as typed
    assert not fake_api.errors


async def test_a_short_question_soon_after_another_in_private_follows_it_a_new_one_does_not(
    fake_api, service, tmp_path
):
    store = Store(tmp_path / "q.sqlite3")
    async with running(fake_api, service, store):
        fake_api.private_message("康城社区的党委书记是谁？")
        await _answers(fake_api, 1)
        fake_api.private_message("青高科公司呢？")
        follow = (await _answers(fake_api, 2))[1]
        fake_api.private_message("崂先办平台收集了多少群众诉求？")  # self-contained: read as typed
        new = (await _answers(fake_api, 3))[2]
        # Minutes later, a short question stands alone: it does not follow what was asked before.
        store._db.execute("UPDATE asked SET at = at - 600")
        fake_api.private_message("那2021年呢？")
        late = (await _answers(fake_api, 4))[3]
    assert follow.params["text"].startswith("<i>按「青高科公司的党委书记是谁」理解：</i>")
    assert "刘赞科" in follow.result["text"]
    assert "按「" not in new.params["text"] and "9万余件" in new.result["text"]
    assert "按「" not in late.params["text"]
    assert not fake_api.errors


async def test_more_of_the_same_goes_on_where_the_answer_stopped(fake_api, service, tmp_path):
    store = Store(tmp_path / "q.sqlite3")
    async with running(fake_api, service, store):
        fake_api.private_message("崂山区人才服务")
        first = (await _answers(fake_api, 1))[0]
        fake_api.private_message("还有呢？", reply_to_message_id=first.result["message_id"])
        more = (await _answers(fake_api, 2))[1]
    assert more.params["text"].startswith("<i>按「崂山区人才服务」理解，接着上面的结果：</i>")
    before = {SOURCE.search(line).group() for line in _sources(first.result["text"])}
    after = {SOURCE.search(line).group() for line in _sources(more.result["text"])}
    assert before and after and not before & after  # the next passages, none shown again
    assert not fake_api.errors


# --------------------------------------------------------------------------- buttons after a restart


async def test_a_more_results_button_from_before_a_restart_still_works(tmp_path):
    path = tmp_path / "q.sqlite3"
    with FakeBotAPI() as api:
        store = Store(path)
        async with running(api, Service.from_corpus(ROOT / "corpus", 3, tmp_path / "cache"), store):
            api.private_message("崂山区人才服务")
            answer = (await _answers(api, 1))[0]
        store.close()
        more = next(b for b in _buttons(answer) if b["callback_data"].startswith("m:"))
        # A new process: a new service over the same corpus, the store reopened from its file.
        store = Store(path)
        async with running(api, Service.from_corpus(ROOT / "corpus", 3, tmp_path / "cache"), store):
            api.callback_query(more["callback_data"], message_id=answer.result["message_id"],
                               chat_id=answer.result["chat"]["id"])
            ack = (await api.await_calls("answerCallbackQuery"))[0]
            page = (await _answers(api, 2))[1]
        store.close()
        assert ack.params.get("text") != messages.STALE
        first_shown = len(_sources(answer.result["text"]))
        assert f"{first_shown + 1}. " in page.result["text"]  # numbered on from the first page
        assert not api.errors


# --------------------------------------------------------------------------- /stats


def _log(store: Store, when: datetime, ok: bool, chat_id: int, question: str = "崂山区有多少名党员？") -> None:
    store.log_question("group" if chat_id < 0 else "private", 1, question, ok, [], [], 9.0,
                       at=when.timestamp(), chat_id=chat_id)


async def test_stats_count_days_in_the_operators_time_zone_and_show_the_empty_ones(fake_api, service, tmp_path):
    shanghai = ZoneInfo("Asia/Shanghai")
    store = Store(tmp_path / "q.sqlite3")
    today = datetime.now(shanghai).replace(hour=0, minute=30, second=0, microsecond=0)  # 00:30 today
    _log(store, today, True, 7)  # in UTC this is still yesterday (16:30)
    _log(store, today - timedelta(days=3), False, 7)
    async with running(fake_api, service, store, time_zone="Asia/Shanghai"):
        fake_api.private_message("/stats 7", user_id=ADMIN)
        photo = (await fake_api.await_calls("sendPhoto", timeout=30))[0]
        text = (await _answers(fake_api, 1))[0].params["text"]
    assert text.startswith("<b>最近 7 天（Asia/Shanghai）：2 个问题</b>")
    assert photo.params["caption"] == "每日问题数（最近 7 天，Asia/Shanghai）" and photo.files
    report = store.report(days=7, zone=shanghai)
    assert len(report.per_day) == 7 and [(a, x) for _, a, x in report.per_day].count((0, 0)) == 5
    assert report.per_day[-1] == (today.date().isoformat(), 1, 0)
    assert not fake_api.errors


async def test_stats_in_a_group_cover_that_group_only(fake_api, service, tmp_path):
    store = Store(tmp_path / "q.sqlite3")
    now = datetime.now()
    _log(store, now, True, DEFAULT_GROUP_ID, "本群的问题")
    _log(store, now, False, DEFAULT_GROUP_ID, "本群没答上的问题")
    _log(store, now, False, -100777, "别的群没答上的问题")
    _log(store, now, True, 7)
    group_admin = 5151

    def member(params, api):
        status = "administrator" if params["user_id"] == group_admin else "member"
        return {"status": status, "user": api._user(params["user_id"], "User", language_code=None),
                **({"can_be_edited": False, "is_anonymous": False, "can_manage_chat": True,
                    "can_delete_messages": True, "can_manage_video_chats": True, "can_restrict_members": True,
                    "can_promote_members": False, "can_change_info": True, "can_invite_users": True,
                    "can_post_stories": False, "can_edit_stories": False, "can_delete_stories": False}
                   if status == "administrator" else {})}

    fake_api.on("getChatMember", member)
    async with running(fake_api, service, store):
        fake_api.group_message("/stats", user_id=4343)  # a member: refused
        refused = (await _answers(fake_api, 1))[0]
        fake_api.group_message("/stats", user_id=group_admin)
        scoped = (await _answers(fake_api, 2))[1]
        await fake_api.await_calls("sendPhoto", timeout=30)
        fake_api.private_message("/stats", user_id=ADMIN)
        everything = (await _answers(fake_api, 3))[2]
    assert refused.params["text"] == messages.NOT_ADMIN
    assert scoped.params["text"].startswith("<b>本群，最近 7 天")
    assert "：2 个问题" in scoped.params["text"] and "本群没答上的问题" in scoped.params["text"]
    assert "别的群" not in scoped.params["text"]
    assert "：4 个问题" in everything.params["text"]
    assert not fake_api.errors


async def test_retention_runs_daily_on_the_job_queue(fake_api, service, tmp_path):
    store = Store(tmp_path / "q.sqlite3", retention_days=1)
    async with running(fake_api, service, store) as app:
        [job] = app.job_queue.get_jobs_by_name("retention")
        _log(store, datetime.now() - timedelta(days=2), True, 7)
        assert store.count() == 1
        await job.run(app)
        assert store.count() == 0
    assert not fake_api.errors
    await asyncio.sleep(0)
