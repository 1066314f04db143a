"""The operator's report: text, and a chart whose Chinese the shipped font can draw."""

from __future__ import annotations

import warnings
from datetime import datetime
from zoneinfo import ZoneInfo

from fontTools.ttLib import TTFont

from bot.ops import reports
from bot.ops.store import Store

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _report(days: int = 7, chat_id: int | None = None):
    store = Store(":memory:")
    now = datetime(2024, 5, 10, 12, 0, tzinfo=SHANGHAI).timestamp()
    for day, n, ok in [(10, 3, True), (10, 1, False), (7, 2, True), (5, 1, False)]:
        for _ in range(n):
            at = datetime(2024, 5, day, 9, 0, tzinfo=SHANGHAI).timestamp()
            store.log_question("group", 1, "问题", ok, [], [], 5.0, at=at, chat_id=-100)
    return store.report(days=days, now=now, zone=SHANGHAI, chat_id=chat_id)


def test_the_shipped_font_holds_every_character_a_label_can_have():
    cmap = TTFont(reports.FONT).getBestCmap()
    labels = [reports.chart_labels(_report(days, chat)) for days in (7, 30) for chat in (None, -100)]
    chars = {c for title, days, legend, axis in labels for c in title + "".join(days) + "".join(legend) + axis}
    missing = {c for c in chars | set(reports.CHART_CHARS) if c != "\n" and ord(c) not in cmap}
    assert not missing


def test_the_chart_shows_every_day_and_draws_no_missing_glyph():
    r = _report()
    assert r.per_day[0][0] == "2024-05-04" and len(r.per_day) == 7
    title, days, legend, _ = reports.chart_labels(r)
    assert title == "每日问题数（最近 7 天，Asia/Shanghai）" and days[0] == "5/4\n周六" and legend == ("已回答", "未找到")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)"
        png = reports.chart_png(r)
    assert png is not None and png.startswith(b"\x89PNG")


def test_the_text_report_names_the_zone_and_the_scope():
    assert reports.report_text(_report(chat_id=-100)).startswith("本群，最近 7 天（Asia/Shanghai）：7 个问题")
