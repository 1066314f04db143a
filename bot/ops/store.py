"""The question log (what people ask, what was answered, feedback) and the update journal
(which updates were fetched and which handled) — SQLite (WAL) under DATA_DIR.

In the question log users are stored only as a salted hash of their id; group chatter that is not
addressed to the bot never reaches this module. The journal keeps an update's payload (with the
sender's id) only until the update is handled; after that only its id, for two days.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import functools
import hashlib
import json
import secrets
import sqlite3
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, TextIO, TypeVar
from zoneinfo import ZoneInfo

from bot.answering.followup import Previous

P = ParamSpec("P")
T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,            -- unix time
    place TEXT NOT NULL,         -- private | group | inline | console
    user_hash TEXT NOT NULL,
    question TEXT NOT NULL,
    answered INTEGER NOT NULL,
    docs TEXT NOT NULL,          -- JSON list of document ids quoted
    passages TEXT NOT NULL,      -- JSON list of passage keys quoted
    latency_ms REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS questions_at ON questions(at);
CREATE TABLE IF NOT EXISTS feedback (
    question_id INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
    user_hash TEXT NOT NULL,
    vote INTEGER NOT NULL,       -- +1 or -1
    at REAL NOT NULL,
    PRIMARY KEY (question_id, user_hash)
);
CREATE TABLE IF NOT EXISTS asked (
    id INTEGER PRIMARY KEY,      -- what a "more results" button carries (in base 36)
    chat TEXT,                   -- salted hash of the chat the answer went to (NULL: none)
    message_id INTEGER,          -- the answer's message in that chat, once sent
    question TEXT NOT NULL,      -- as the bot read it (a follow-up with the words it took from before)
    shown INTEGER NOT NULL,      -- quotes shown (a "还有呢？" goes on from there)
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS asked_chat ON asked(chat, at);
CREATE INDEX IF NOT EXISTS asked_message ON asked(chat, message_id);
CREATE TABLE IF NOT EXISTS updates (
    bot_id INTEGER NOT NULL,
    update_id INTEGER NOT NULL,  -- Telegram's id: an update is recorded, and handled, once
    payload TEXT,                -- the update as JSON while it waits to be handled, then NULL
    fetched_at REAL NOT NULL,
    handled_at REAL,             -- NULL: fetched, not handled yet
    replays INTEGER NOT NULL DEFAULT 0,  -- starts that queued it again
    PRIMARY KEY (bot_id, update_id)
);
"""
PLACES = ("private", "group", "inline", "console")
DAY = 86400.0
# What an answer was asked for is kept this long (at most: the log's retention if shorter), so its
# buttons and replies to it work across restarts; an older button says "这个按钮已过期".
KEEP_ASKED = 30 * DAY
# Telegram keeps an update it was not told about for 24 hours: after two days a handled id can
# no longer come back, and its row goes.
KEEP_HANDLED_UPDATES = 2 * DAY


@dataclass(frozen=True)
class Report:
    days: int
    questions: int
    answered: int
    declined: int
    thumbs_up: int
    thumbs_down: int
    median_latency_ms: float | None
    top_unanswered: tuple[tuple[str, int], ...]
    per_day: tuple[tuple[str, int, int], ...]  # (YYYY-MM-DD, answered, declined), every day of the period
    zone: str = "UTC"  # the time zone the days are counted in
    scope: str | None = None  # None: every chat; else what the report covers ("本群")

    @property
    def answered_share(self) -> float:
        return self.answered / self.questions if self.questions else 0.0

    @property
    def declined_share(self) -> float:
        return self.declined / self.questions if self.questions else 0.0


@dataclass(frozen=True)
class LoggedQuestion:
    id: int
    at: float
    place: str
    question: str
    vote: int | None = None


class Store:
    """One SQLite file; its methods are safe to call from any thread (one lock, short writes).

    They block while SQLite works (a write waits for the disk): the command line calls them
    directly, while the bot's handlers ``await store.run(store.method, ...)``, which runs them on
    the store's own worker thread so the event loop keeps serving meanwhile.
    """

    def __init__(self, path: Path | str, retention_days: int | None = None):
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._salt = _while_locked(self._set_up)
        self.retention_days = retention_days
        # One thread: the handlers' writes queue up in order instead of taking the loop's
        # default executor (which /reload needs) and then waiting for the lock there.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self.purge()

    def _set_up(self) -> str:
        """The schema (made or brought up to date) and the salt: made by whichever process opens
        a new log first, read by any other opening it at the same moment."""
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a commit is on the disk when it returns
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(questions)")}
        if "chat" not in columns:  # a log from before questions were kept per chat
            self._db.execute("ALTER TABLE questions ADD COLUMN chat TEXT")
        self._db.execute("CREATE INDEX IF NOT EXISTS questions_chat ON questions(chat, at)")
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('salt', ?)", (secrets.token_hex(16),))
        return str(self._db.execute("SELECT value FROM meta WHERE key='salt'").fetchone()[0])

    async def run(self, method: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``method(*args, **kwargs)`` — one of this store's methods — off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, functools.partial(method, *args, **kwargs))

    def close(self) -> None:
        self._worker.shutdown(wait=True)  # the writes already queued finish first
        with self._lock:
            self._db.close()

    def user_hash(self, user_id: int | None) -> str:
        """A salted hash: the same user maps to the same value here, and to nothing elsewhere."""
        return hashlib.sha256(f"{self._salt}:{user_id}".encode()).hexdigest()[:16]

    def chat_hash(self, chat_id: int | str | None) -> str | None:
        """A chat as the log keeps it (salted like users; None for no chat)."""
        if chat_id is None:
            return None
        return hashlib.sha256(f"{self._salt}:chat:{chat_id}".encode()).hexdigest()[:16]

    def log_question(
        self,
        place: str,
        user_id: int | None,
        question: str,
        answered: bool,
        docs: Sequence[str],
        passages: Sequence[str],
        latency_ms: float,
        at: float | None = None,
        chat_id: int | str | None = None,
    ) -> int:
        if place not in PLACES:
            raise ValueError(f"unknown place {place!r}")
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO questions (at, place, user_hash, question, answered, docs, passages, latency_ms, chat)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    time.time() if at is None else at, place, self.user_hash(user_id), question,
                    int(answered), json.dumps(list(dict.fromkeys(docs)), ensure_ascii=False),
                    json.dumps(list(passages), ensure_ascii=False), float(latency_ms), self.chat_hash(chat_id),
                ),
            )
            row_id = cur.lastrowid
            assert row_id is not None  # set by every successful INSERT
            return row_id

    def record_feedback(self, question_id: int, user_id: int | None, vote: int) -> bool:
        """Record 👍 (+1) or 👎 (-1) once per user and answer; a second press replaces the first.

        Returns False when the question is not in the log (purged, or a forged button).
        """
        if vote not in (1, -1):
            raise ValueError("vote must be +1 or -1")
        with self._lock:
            if self._db.execute("SELECT 1 FROM questions WHERE id=?", (question_id,)).fetchone() is None:
                return False
            self._db.execute(
                "INSERT INTO feedback (question_id, user_hash, vote, at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (question_id, user_hash) DO UPDATE SET vote=excluded.vote, at=excluded.at",
                (question_id, self.user_hash(user_id), vote, time.time()),
            )
            return True

    def purge(self, now: float | None = None) -> int:
        """Delete rows older than the retention period (and what answers were asked for, after
        KEEP_ASKED at most); returns how many questions went."""
        now = time.time() if now is None else now
        keep = min(KEEP_ASKED, self.retention_days * DAY) if self.retention_days else KEEP_ASKED
        with self._lock:
            self._db.execute("DELETE FROM asked WHERE at < ?", (now - keep,))
            if not self.retention_days:
                return 0
            cur = self._db.execute("DELETE FROM questions WHERE at < ?", (now - self.retention_days * DAY,))
            return cur.rowcount

    def report(
        self, days: int = 7, now: float | None = None, top: int = 5, zone: ZoneInfo | None = None,
        chat_id: int | str | None = None,
    ) -> Report:
        """The last ``days`` calendar days (today included) in ``zone`` (None: the machine's),
        every day listed; of one chat only when ``chat_id`` is given."""
        now = time.time() if now is None else now
        today = dt.datetime.fromtimestamp(now, zone).date()
        first = today - dt.timedelta(days=days - 1)
        since = dt.datetime.combine(first, dt.time(), tzinfo=zone).timestamp()
        args: list[object]
        where, args = "at >= ?", [since]
        if chat_id is not None:
            where += " AND chat = ?"
            args.append(self.chat_hash(chat_id))
        with self._lock:
            rows = self._db.execute(f"SELECT answered, latency_ms, at FROM questions WHERE {where}", args).fetchall()
            votes = dict(self._db.execute(
                "SELECT f.vote, count(*) FROM feedback f JOIN questions q ON q.id=f.question_id"
                f" WHERE q.{where.replace(' AND chat', ' AND q.chat')} GROUP BY f.vote", args,
            ).fetchall())
            unanswered = self._db.execute(
                f"SELECT question, count(*) AS n FROM questions WHERE {where} AND answered=0"
                " GROUP BY trim(lower(question)) ORDER BY n DESC, max(at) DESC LIMIT ?", [*args, top]
            ).fetchall()
        per_day = {(first + dt.timedelta(days=i)).isoformat(): [0, 0] for i in range(days)}
        for answered, _, at in rows:
            day = dt.datetime.fromtimestamp(at, zone).date().isoformat()
            if day in per_day:  # (a clock set back could log a question "tomorrow")
                per_day[day][0 if answered else 1] += 1
        latencies = [r[1] for r in rows]
        return Report(
            days=days,
            questions=len(rows),
            answered=sum(r[0] for r in rows),
            declined=sum(1 - r[0] for r in rows),
            thumbs_up=votes.get(1, 0),
            thumbs_down=votes.get(-1, 0),
            median_latency_ms=statistics.median(latencies) if latencies else None,
            top_unanswered=tuple((q.strip(), n) for q, n in unanswered),
            per_day=tuple((d, a, x) for d, (a, x) in per_day.items()),
            zone=zone_name(zone),
            scope=None if chat_id is None else "本群",
        )

    def export_csv(self, out: TextIO, zone: ZoneInfo | None = None) -> int:
        """The whole question log as CSV (users and chats as salted hashes, never ids); returns rows."""
        writer = csv.writer(out)
        writer.writerow(["id", "time", "place", "chat", "user", "question", "answered", "docs", "passages",
                         "latency_ms", "thumbs_up", "thumbs_down"])
        with self._lock:
            rows = self._db.execute(
                "SELECT q.id, q.at, q.place, q.chat, q.user_hash, q.question, q.answered, q.docs, q.passages,"
                " q.latency_ms, sum(f.vote > 0), sum(f.vote < 0)"
                " FROM questions q LEFT JOIN feedback f ON f.question_id = q.id GROUP BY q.id ORDER BY q.id"
            ).fetchall()
        for r in rows:
            when = dt.datetime.fromtimestamp(r[1], zone).astimezone(zone).isoformat(timespec="seconds")
            docs, passages = json.loads(r[7]), json.loads(r[8])
            writer.writerow([r[0], when, r[2], r[3] or "", r[4], r[5], r[6], " ".join(docs), " ".join(passages),
                             f"{r[9]:.1f}", r[10] or 0, r[11] or 0])
        return len(rows)

    # ------------------------------------------------------------------ what answers were asked for

    def remember(self, chat_id: int | str | None, question: str, shown: int, at: float | None = None) -> int:
        """Keep what an answer was asked for (as read) before it is sent; returns its id, which its
        "more results" button carries. Written without waiting for the disk: a power cut may
        forget the newest, whose buttons then say they expired."""
        with self._lock:
            self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                cur = self._db.execute(
                    "INSERT INTO asked (chat, question, shown, at) VALUES (?, ?, ?, ?)",
                    (self.chat_hash(chat_id), question, shown, time.time() if at is None else at),
                )
            finally:
                self._db.execute("PRAGMA synchronous=FULL")
            row_id = cur.lastrowid
            assert row_id is not None
            return row_id

    def sent(self, asked_id: int, message_id: int) -> None:
        """The answer went out as ``message_id``: a reply to it follows its question."""
        with self._lock:
            self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                self._db.execute("UPDATE asked SET message_id=? WHERE id=?", (message_id, asked_id))
            finally:
                self._db.execute("PRAGMA synchronous=FULL")

    def recall(self, asked_id: int) -> str | None:
        """The question behind a "more results" button (None: forgotten, or a forged button)."""
        with self._lock:
            row = self._db.execute("SELECT question FROM asked WHERE id=?", (asked_id,)).fetchone()
        return row[0] if row else None

    def previous(
        self, chat_id: int | str, reply_to: int | None = None, since: float | None = None
    ) -> Previous | None:
        """The question a new one in this chat may follow: the one the replied-to answer answered,
        else (with ``since``) the chat's last question asked since then."""
        chat = self.chat_hash(chat_id)
        with self._lock:
            if reply_to is not None:
                row = self._db.execute(
                    "SELECT question, shown, at FROM asked WHERE chat=? AND message_id=? ORDER BY id DESC LIMIT 1",
                    (chat, reply_to),
                ).fetchone()
            elif since is not None:
                row = self._db.execute(
                    "SELECT question, shown, at FROM asked WHERE chat=? AND at >= ? ORDER BY at DESC, id DESC LIMIT 1",
                    (chat, since),
                ).fetchone()
            else:
                row = None
        return Previous(row[0], row[1], row[2]) if row else None

    def recent_declined(self, n: int = 10) -> list[LoggedQuestion]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, at, place, question FROM questions WHERE answered=0 ORDER BY at DESC, id DESC LIMIT ?",
                (n,),
            ).fetchall()
        return [LoggedQuestion(*r) for r in rows]

    def thumbs_down(self, n: int = 10) -> list[LoggedQuestion]:
        with self._lock:
            rows = self._db.execute(
                "SELECT q.id, f.at, q.place, q.question, f.vote FROM feedback f JOIN questions q ON q.id=f.question_id"
                " WHERE f.vote < 0 ORDER BY f.at DESC LIMIT ?",
                (n,),
            ).fetchall()
        return [LoggedQuestion(*r) for r in rows]

    # ------------------------------------------------------------------ the update journal

    def record_updates(self, bot_id: int, updates: Sequence[tuple[int, str]], at: float | None = None) -> list[int]:
        """Record fetched updates ``(update_id, JSON)`` in one transaction; returns the ids that
        were not recorded before (the others are repeats: fetched already, by this run or an
        earlier one)."""
        at = time.time() if at is None else at
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                new = [
                    update_id for update_id, payload in updates
                    if self._db.execute(
                        "INSERT OR IGNORE INTO updates (bot_id, update_id, payload, fetched_at) VALUES (?, ?, ?, ?)",
                        (bot_id, update_id, payload, at),
                    ).rowcount
                ]
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return new

    def mark_handled(self, bot_id: int, update_id: int, at: float | None = None) -> None:
        """The update was handled: keep its id (against repeats), drop its payload.

        Written without waiting for the disk (a sync costs ~4 ms here): a killed process loses
        nothing the OS has been handed, while a power cut may forget the newest marks — and their
        updates are answered again, never lost. The next synced commit takes them to the disk.
        """
        with self._lock:
            self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                self._db.execute(
                    "UPDATE updates SET handled_at=?, payload=NULL"
                    " WHERE bot_id=? AND update_id=? AND handled_at IS NULL",
                    (time.time() if at is None else at, bot_id, update_id),
                )
            finally:
                self._db.execute("PRAGMA synchronous=FULL")

    def take_unhandled(self, bot_id: int, max_replays: int) -> tuple[list[tuple[int, str]], list[int]]:
        """The updates fetched and not handled, oldest first, each counted as queued once more —
        except those queued ``max_replays`` times already: they are marked handled (given up) and
        their ids returned apart. Also forgets handled ids old enough never to come back."""
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM updates WHERE handled_at < ?", (now - KEEP_HANDLED_UPDATES,))
                rows = self._db.execute(
                    "SELECT update_id, payload, replays FROM updates WHERE bot_id=? AND handled_at IS NULL"
                    " ORDER BY fetched_at, update_id", (bot_id,),
                ).fetchall()
                given_up = [u for u, _, replays in rows if replays >= max_replays]
                self._db.executemany(
                    "UPDATE updates SET handled_at=?, payload=NULL WHERE bot_id=? AND update_id=?",
                    [(now, bot_id, u) for u in given_up],
                )
                self._db.execute(
                    "UPDATE updates SET replays=replays+1 WHERE bot_id=? AND handled_at IS NULL", (bot_id,)
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return [(u, payload) for u, payload, replays in rows if replays < max_replays], given_up

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM questions").fetchone()[0])


def _while_locked(set_up: Callable[[], T], seconds: float = 10.0) -> T:
    """``set_up()``, again while another process holds the database (SQLite does not wait for it
    when switching to WAL) or has just brought the schema up to date itself."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return set_up()
        except sqlite3.OperationalError as exc:
            if not ("locked" in str(exc) or "duplicate column" in str(exc)) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def zone_name(zone: ZoneInfo | None) -> str:
    """The zone's name (Asia/Shanghai), or the machine's zone as its abbreviation (CST, UTC)."""
    return zone.key if zone is not None else (time.strftime("%Z") or "local")
