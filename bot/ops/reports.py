"""The operator's report: the question log summarised as text, HTML and a chart."""

from __future__ import annotations

import html
import io
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.ops.store import LoggedQuestion, Report

# The chart's Chinese is drawn with a subset of Noto Sans CJK SC (SIL OFL 1.1; see data/README.md)
# that holds printable ASCII and the characters below: every label the chart draws is made of them.
FONT = Path(__file__).with_name("data") / "chart-sans.otf"
FONT_FAMILY = "Laoshan Chart Sans"
CHART_CHARS = "本群每日问题数最近天已回答未找到（），周一二三四五六日"
WEEKDAYS = "一二三四五六日"


def report_lines(r: Report) -> list[str]:
    scope = f"{r.scope}，" if r.scope else ""
    lines = [f"{scope}最近 {r.days} 天（{r.zone}）：{r.questions} 个问题"]
    if r.questions:
        lines.append(f"已回答 {r.answered}（{r.answered_share:.0%}），未找到 {r.declined}（{r.declined_share:.0%}）")
        lines.append(f"反馈：👍 {r.thumbs_up}  👎 {r.thumbs_down}")
        lines.append(f"响应时间中位数：{r.median_latency_ms:.0f} ms")
    if r.top_unanswered:
        lines.append("最常见的未回答问题：")
        lines.extend(f"  {n}× {q}" for q, n in r.top_unanswered)
    return lines


def report_text(r: Report) -> str:
    return "\n".join(report_lines(r))


def report_html(r: Report) -> str:
    lines = [html.escape(line, quote=False) for line in report_lines(r)]
    lines[0] = f"<b>{lines[0]}</b>"
    return "\n".join(lines)


def unanswered_html(
    declined: list[LoggedQuestion], disliked: list[LoggedQuestion], limit: int = 4096, zone: ZoneInfo | None = None,
) -> str:
    """Recent declined and 👎 questions (times in ``zone``, None: the machine's); whole lines only,
    within ``limit`` characters."""
    def line(q: LoggedQuestion) -> str:
        when = datetime.fromtimestamp(q.at, tz=zone).strftime("%m-%d %H:%M")
        return f"{when} [{q.place}] {html.escape(q.question.strip()[:200], quote=False)}"

    sections = [("<b>最近未找到答案的问题</b>", declined), ("<b>收到 👎 的问题</b>", disliked)]
    room = limit - sum(len(h) + 8 for h, _ in sections)  # headings and their "（无）" always fit
    parts: list[str] = []
    for heading, rows in sections:
        parts += ["", heading] if parts else [heading]
        lines = []
        for q in rows:
            text = line(q)
            if len(text) + 1 > room:
                break
            room -= len(text) + 1
            lines.append(text)
        parts += lines or ["（无）"]
    return "\n".join(parts)


def chart_labels(r: Report) -> tuple[str, list[str], tuple[str, str], str]:
    """The chart's title, its day labels (5/4 and the weekday), legend and axis label."""
    scope = r.scope or ""
    title = f"{scope}每日问题数（最近 {r.days} 天，{r.zone}）"
    days = []
    for d, _, _ in r.per_day:
        day = date.fromisoformat(d)
        days.append(f"{day.month}/{day.day}\n周{WEEKDAYS[day.weekday()]}")
    return title, days, ("已回答", "未找到"), "问题数"


def chart_png(r: Report) -> bytes | None:
    """Questions per day, answered vs declined, every day of the period, as a PNG; None when the
    period has no question at all.

    Safe to call from a worker thread: a bare ``Figure`` (drawn by Agg) shares no state with
    other charts, unlike pyplot's global figure manager.
    """
    if not r.questions:
        return None
    from matplotlib import font_manager  # a second and more to import: only when charting
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    font_manager.fontManager.addfont(str(FONT))  # (once is enough; again is harmless)
    title, days, (answered_label, declined_label), ylabel = chart_labels(r)
    answered = [a for _, a, _ in r.per_day]
    declined = [x for _, _, x in r.per_day]
    font = {"family": FONT_FAMILY}
    fig = Figure(figsize=(min(10.0, max(6.0, 0.45 * len(days) + 2)), 3.8), dpi=110)
    ax = fig.subplots()
    x = range(len(days))
    ax.bar(x, answered, label=answered_label, color="#4a90d9")
    ax.bar(x, declined, bottom=answered, label=declined_label, color="#e8a33d")
    ax.set_title(title, fontdict=font)
    ax.set_ylabel(ylabel, fontdict=font)
    step = max(1, -(-len(days) // 12))  # at most 12 day labels, today's always: a month stays readable
    ticks = list(range(len(days) - 1, -1, -step))[::-1]
    ax.set_xticks(ticks, [days[i] for i in ticks], fontdict={**font, "size": 8})
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max(1, max(a + d for a, d in zip(answered, declined))) * 1.15)
    ax.legend(loc="upper left", prop={"family": FONT_FAMILY})
    for label in ax.get_yticklabels():
        label.set_fontfamily(FONT_FAMILY)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
