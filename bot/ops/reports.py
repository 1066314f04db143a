"""The operator's report: the question log summarised as text, HTML and a chart."""

from __future__ import annotations

import html
import io
from datetime import UTC, datetime

from bot.ops.store import LoggedQuestion, Report


def report_lines(r: Report) -> list[str]:
    lines = [f"最近 {r.days} 天：{r.questions} 个问题"]
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


def unanswered_html(declined: list[LoggedQuestion], disliked: list[LoggedQuestion], limit: int = 4096) -> str:
    """Recent declined and 👎 questions; whole lines only, within ``limit`` characters."""
    def line(q: LoggedQuestion) -> str:
        when = datetime.fromtimestamp(q.at, tz=UTC).strftime("%m-%d %H:%M")
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


def chart_png(r: Report) -> bytes | None:
    """Questions per day, answered vs declined, as a PNG; None with a day of data or less.

    Safe to call from a worker thread: a bare ``Figure`` (drawn by Agg) shares no state with
    other charts, unlike pyplot's global figure manager.
    """
    if len(r.per_day) < 2:
        return None
    from matplotlib.figure import Figure  # a second and more to import: only when charting

    days = [d[5:] for d, _, _ in r.per_day]
    answered = [a for _, a, _ in r.per_day]
    declined = [x for _, _, x in r.per_day]
    fig = Figure(figsize=(8, 3.6), dpi=110)
    ax = fig.subplots()
    ax.bar(days, answered, label="answered", color="#4a90d9")
    ax.bar(days, declined, bottom=answered, label="declined", color="#e8a33d")
    ax.set_title(f"Questions per day, last {r.days} days")
    ax.set_ylabel("questions")
    ax.legend(loc="upper left")
    ax.tick_params(axis="x", labelrotation=45)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
