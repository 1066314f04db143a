"""The question log (what people ask, what was answered, feedback) and the update journal
(which updates were fetched and which handled) — SQLite (WAL) under DATA_DIR.

In the question log users are stored only as a salted hash of their id; group chatter that is not
addressed to the bot never reaches this module. The journal keeps an update's payload (with the
sender's id) only until the update is handled; after that only its id, for two days.
"""

from __future__ import annotations

import asyncio
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
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,            -- unix time
    place TEXT NOT NULL,         -- private | group | inline
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
PLACES = ("private", "group", "inline")
DAY = 86400.0
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
    per_day: tuple[tuple[str, int, int], ...]  # (YYYY-MM-DD, answered, declined)

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
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # a commit is on the disk when it returns
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key='salt'").fetchone()
            if row is None:
                self._salt = secrets.token_hex(16)
                self._db.execute("INSERT INTO meta VALUES ('salt', ?)", (self._salt,))
            else:
                self._salt = row[0]
        self.retention_days = retention_days
        # One thread: the handlers' writes queue up in order instead of taking the loop's
        # default executor (which /reload needs) and then waiting for the lock there.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self.purge()

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
    ) -> int:
        if place not in PLACES:
            raise ValueError(f"unknown place {place!r}")
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO questions (at, place, user_hash, question, answered, docs, passages, latency_ms)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    time.time() if at is None else at, place, self.user_hash(user_id), question,
                    int(answered), json.dumps(list(dict.fromkeys(docs)), ensure_ascii=False),
                    json.dumps(list(passages), ensure_ascii=False), float(latency_ms),
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
        """Delete rows older than the retention period; returns how many questions went."""
        if not self.retention_days:
            return 0
        cutoff = (time.time() if now is None else now) - self.retention_days * DAY
        with self._lock:
            cur = self._db.execute("DELETE FROM questions WHERE at < ?", (cutoff,))
            return cur.rowcount

    def report(self, days: int = 7, now: float | None = None, top: int = 5) -> Report:
        now = time.time() if now is None else now
        since = now - days * DAY
        with self._lock:
            rows = self._db.execute(
                "SELECT answered, latency_ms, date(at, 'unixepoch') FROM questions WHERE at >= ?", (since,)
            ).fetchall()
            votes = dict(self._db.execute(
                "SELECT f.vote, count(*) FROM feedback f JOIN questions q ON q.id=f.question_id"
                " WHERE q.at >= ? GROUP BY f.vote", (since,)
            ).fetchall())
            unanswered = self._db.execute(
                "SELECT question, count(*) AS n FROM questions WHERE at >= ? AND answered=0"
                " GROUP BY trim(lower(question)) ORDER BY n DESC, max(at) DESC LIMIT ?", (since, top)
            ).fetchall()
        per_day: dict[str, list[int]] = {}
        for answered, _, day in rows:
            per_day.setdefault(day, [0, 0])[0 if answered else 1] += 1
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
            per_day=tuple((d, a, x) for d, (a, x) in sorted(per_day.items())),
        )

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
