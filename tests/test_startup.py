"""Start-up, cut-off and hard kill: `python -m bot` against a fake Bot API that misbehaves.

Each test starts the real command (``python -m bot``, the run path) in a process of its own, with
a DATA_DIR of its own (the index cached; no question log, no update journal from another test),
injects a fault, and checks the outcome the README promises: the bot serves, or it exits with one
line and the documented exit code — in bounded time, with no traceback on stderr.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from bot_harness import BOT_COMMAND, ROOT, bot_env, fresh_data_dir, running
from fake_bot_api import DEFAULT_GROUP_ID, DEFAULT_TOKEN, FakeBotAPI

from bot.answering.service import Service
from bot.ops.store import Store
from bot.telegram import serving
from bot.telegram.serving import ExitCode, webhook_secret

QUESTIONS = [json.loads(line)["question"] for line in (ROOT / "eval" / "seed-qa-dev.jsonl").open(encoding="utf-8")]
NOISE = ("Traceback", "Event loop is closed", "Task was destroyed", "never awaited", "Exception ignored")
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")
START_BUDGET = 20.0  # seconds: a start that must end in an exit ends within this (index load included)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    """The index, built once and cached for every bot process of the module."""
    cache = tmp_path_factory.mktemp("cache")
    Service.from_corpus(ROOT / "corpus", 3, cache)
    return cache


@pytest.fixture
def data_dir(cache_dir, tmp_path) -> Path:
    return fresh_data_dir(cache_dir, tmp_path)


class BotProcess:
    """`python -m bot` in a process of its own; ``err`` is its stderr so far."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(BOT_COMMAND, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self._err: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._err.append(line)

    @property
    def err(self) -> str:
        return "".join(self._err)

    def wait_exit(self, timeout: float) -> int:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self._reader.join(5)
            raise AssertionError(f"still running after {timeout} s; stderr:\n{self.err[-2000:]}") from None
        self._reader.join(5)
        return self.proc.returncode

    def stop(self) -> int:
        """SIGTERM, as a supervisor stops it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait_exit(20)

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL: no clean-up of any kind
        self.wait_exit(10)

    def running(self) -> bool:
        return self.proc.poll() is None

    def __enter__(self) -> BotProcess:
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def lines(self, level: str | None = None) -> list[str]:
        lines = [line for line in self.err.splitlines() if line.strip()]
        return [line for line in lines if level is None or f" {level} " in line]

    def assert_quiet(self) -> None:
        """No traceback, no asyncio complaint, no token; every line a log line or the one error line."""
        for word in NOISE:
            assert word not in self.err, self.err[-3000:]
        assert DEFAULT_TOKEN not in self.err
        for line in self.lines():
            assert LOG_LINE.match(line) or line.startswith("error: "), line


def ok_sends(api: FakeBotAPI) -> list:
    return [c for c in api.calls_to("sendMessage") if c.ok]


def wait_until(condition, timeout: float, what: str, bot: BotProcess | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if bot is not None and not bot.running():
            bot.wait_exit(5)
            raise AssertionError(f"the bot exited ({bot.proc.returncode}) while waiting for {what}:\n{bot.err[-2000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout} s")
        time.sleep(0.05)


def serves(api: FakeBotAPI, bot: BotProcess, timeout: float = 20.0) -> None:
    """The question asked before the start is answered, then a new one too."""
    wait_until(lambda: len(ok_sends(api)) >= 1, timeout, "answer to the question asked before the start", bot)
    api.group_message(f"/ask {QUESTIONS[2]}")
    wait_until(lambda: len(ok_sends(api)) >= 2, 10, "answer to a question asked after the start", bot)


# =========================================================================== transient faults at start

TRANSIENT = {
    # name: (how to break the fake, settings, the WARNING the fault must leave)
    "getMe 500 x4": (lambda api: api.fail_next("getMe", 500, times=4), {}, "getMe failed"),
    "getMe 502 HTML x4": (lambda api: api.fail_next("getMe", 502, times=4), {}, "getMe failed"),
    "getMe dropped x4": (lambda api: api.drop_next("getMe", times=4), {}, "getMe failed"),
    "deleteWebhook 503 x4": (lambda api: api.fail_next("deleteWebhook", 503, times=4, description="Service Unavailable"),
                             {}, "deleteWebhook failed"),
    "setMyCommands 500 x3": (lambda api: api.fail_next("setMyCommands", 500, times=3), {},
                             "could not set the command menu"),
    "setMyCommands 404": (lambda api: api.fail_next("setMyCommands", 404), {}, "could not set the command menu"),
    "admin setMyCommands 500 x3": (lambda api: api.fail_next("setMyCommands", 500, times=3, after=1),
                                   {"ADMIN_IDS": "4242"}, "admin 4242: could not list the admin commands"),
    "getUpdates 500 x4": (lambda api: api.fail_next("getUpdates", 500, times=4), {}, "getUpdates failed"),
    "getUpdates 502 HTML x4": (lambda api: api.fail_next("getUpdates", 502, times=4), {}, "getUpdates failed"),
}


@pytest.mark.parametrize("name", TRANSIENT)
def test_a_transient_fault_at_start_is_waited_out_and_the_bot_serves(data_dir, name):
    inject, settings, warning = TRANSIENT[name]
    with FakeBotAPI() as api:
        inject(api)
        api.group_message(f"/ask {QUESTIONS[1]}")
        with BotProcess(bot_env(api, data_dir, **settings)) as bot:
            serves(api, bot)
            assert bot.stop() == ExitCode.OK
        bot.assert_quiet()
        warnings = bot.lines("WARNING")
        assert any(warning in line for line in warnings), bot.err[-2000:]
        assert not bot.lines("ERROR"), bot.err[-2000:]
        if name.startswith(("setMyCommands", "admin")):  # the menu is cosmetic: one line, then serve
            assert len([line for line in warnings if "bot.telegram.serving" in line]) == 1, warnings
        assert not api.errors


def test_a_bot_api_that_refuses_connections_at_start_is_waited_for(data_dir):
    with socket.socket() as s:  # a port nothing listens on (yet)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    api = FakeBotAPI(port=port)
    with BotProcess(bot_env(api, data_dir, BOT_API_BASE_URL=f"http://127.0.0.1:{port}/bot")) as bot:
        wait_until(lambda: "serving: getMe failed" in bot.err, 30, "a refused getMe", bot)  # nobody there yet
        with api:
            api.group_message(f"/ask {QUESTIONS[1]}")
            serves(api, bot, timeout=20)
            assert bot.stop() == ExitCode.OK
            assert not api.errors
    bot.assert_quiet()
    assert any("getMe failed" in line and "ConnectError" in line for line in bot.lines("WARNING")), bot.err[-2000:]


def test_a_misspelled_env_key_is_one_warning_naming_the_setting_meant(data_dir, tmp_path):
    env_file = tmp_path / "bot.env"
    env_file.write_text("TOPK=2\nLOG_LEVL=DEBUG\n", encoding="utf-8")
    with FakeBotAPI() as api:
        api.group_message(f"/ask {QUESTIONS[1]}")
        with BotProcess(bot_env(api, data_dir, ENV_FILE=str(env_file))) as bot:
            serves(api, bot)
            assert bot.stop() == ExitCode.OK
        bot.assert_quiet()
        warned = [line.split(" bot.config: ", 1)[1] for line in bot.lines("WARNING") if " bot.config: " in line]
        assert warned == [
            f"{env_file}: TOPK is not a setting and is ignored (did you mean TOP_K?)",
            f"{env_file}: LOG_LEVL is not a setting and is ignored (did you mean LOG_LEVEL?)",
        ]
        assert not api.errors


def test_a_stop_signal_while_waiting_at_start_ends_the_wait_at_once(data_dir):
    with FakeBotAPI() as api:
        api.fail_next("getMe", 500, times=999)
        with BotProcess(bot_env(api, data_dir)) as bot:
            wait_until(lambda: "serving: getMe failed" in bot.err, 30, "a failed getMe", bot)
            stopped = time.monotonic()
            assert bot.stop() == ExitCode.OK
            assert time.monotonic() - stopped < 3
        bot.assert_quiet()


async def test_a_start_up_call_that_times_out_is_tried_again(monkeypatch):
    """Timeouts at start are waited out like 5xx (in-process: a real timeout takes PTB's 5 s)."""
    from telegram.error import TimedOut

    monkeypatch.setattr(serving, "FIRST_PAUSE", 0.01)
    tries = []

    async def get_me() -> str:
        tries.append(time.monotonic())
        if len(tries) < 3:
            raise TimedOut("Timed out")
        return "me"

    assert await serving._until_answered("getMe", get_me, None) == "me"
    assert len(tries) == 3 and tries[2] - tries[1] >= tries[1] - tries[0]  # the pause grows


def test_a_webhook_start_with_setwebhook_failing_is_waited_out_and_listens_on_webhook_listen(data_dir):
    with FakeBotAPI() as api:
        api.fail_next("setWebhook", 502, times=4)
        with webhook_bot(api, data_dir, "127.0.0.2") as (bot, port):
            update = _webhook_update(api, f"/ask {QUESTIONS[1]}")
            _post_update(f"http://127.0.0.2:{port}/hook", update, api.token, bot)
            wait_until(lambda: len(ok_sends(api)) == 1, 10, "answer to the webhook update", bot)
            with pytest.raises(OSError):  # only the address asked for
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
            assert bot.stop() == ExitCode.OK
        bot.assert_quiet()
        assert any("setWebhook failed" in line for line in bot.lines("WARNING")), bot.err[-2000:]
        assert api.webhook["url"] == "https://bot.example.com/hook"
        assert not api.errors


# =========================================================================== what will not fix itself


def _not_a_bot(api: FakeBotAPI) -> None:
    api.on("getMe", lambda params, api: {"id": 42, "first_name": "某人", "is_bot": False})


REFUSED = {
    # name: (how to break the fake, settings or a base-URL suffix, exit code, what the line names)
    "getMe 401": (lambda api: api.fail_next("getMe", 401, times=99), {}, ExitCode.TOKEN_REJECTED, "BOT_TOKEN"),
    "getMe 404": (lambda api: api.fail_next("getMe", 404, times=99), {}, ExitCode.NOT_A_BOT_API, "BOT_API_BASE_URL"),
    "URL of no Bot API (404)": (None, {"path": "/telegram/bot"}, ExitCode.NOT_A_BOT_API, "BOT_API_BASE_URL"),
    "getMe 415 HTML": (lambda api: api.fail_next("getMe", 415, html=True, times=99), {}, ExitCode.NOT_A_BOT_API,
                       "an HTML page"),
    "getMe 200 HTML": (lambda api: api.fail_next("getMe", 200, html=True, times=99), {}, ExitCode.NOT_A_BOT_API,
                       "an HTML page"),
    "getMe without is_bot": (lambda api: api.on("getMe", lambda params, api: {"id": 42, "first_name": "x"}), {},
                             ExitCode.NOT_A_BOT_API, "not a bot user"),
    "getMe of a user": (_not_a_bot, {}, ExitCode.NOT_A_BOT_API, "not a bot"),
    "WEBHOOK_LISTEN not local": (None, {"WEBHOOK_URL": "https://bot.example.com/hook", "WEBHOOK_PORT": "8443",
                                        "WEBHOOK_LISTEN": "192.0.2.1"}, ExitCode.BAD_SETTING, "WEBHOOK_LISTEN"),
    "WEBHOOK_URL refused": (lambda api: api.fail_next("setWebhook", 400, description="Bad Request: bad webhook: "
                                                      "Failed to resolve host: Name or service not known", times=99),
                            {"WEBHOOK_URL": "https://bot.example.com/hook", "WEBHOOK_PORT": "8443"},
                            ExitCode.BAD_SETTING, "WEBHOOK_URL"),
}


@pytest.mark.parametrize("name", REFUSED)
def test_what_will_not_fix_itself_stops_the_start_with_one_line_and_its_exit_code(data_dir, name):
    inject, settings, code, named = REFUSED[name]
    settings = dict(settings)
    with FakeBotAPI() as api:
        if inject is not None:
            inject(api)
        if "path" in settings:
            settings["BOT_API_BASE_URL"] = api.url + settings.pop("path")
        with BotProcess(bot_env(api, data_dir, LOG_LEVEL="INFO", **settings)) as bot:
            assert bot.wait_exit(START_BUDGET) == code, bot.err[-2000:]
        bot.assert_quiet()
        lines = bot.lines()
        assert lines[-1].startswith("error: ") and named in lines[-1], lines[-1]
        assert [line for line in lines if not LOG_LINE.match(line)] == lines[-1:]  # the one line
        assert not bot.lines("ERROR") and not bot.lines("CRITICAL"), bot.err[-2000:]
        assert not ok_sends(api)


def test_a_webhook_port_another_process_holds_stops_the_start_with_one_line(data_dir):
    """What ``webhook_bot`` counts on to pick another port: "cannot listen", exit code 2."""
    with FakeBotAPI() as api, socket.create_server(("127.0.0.1", 0)) as taken:
        env = bot_env(api, data_dir, WEBHOOK_URL="https://bot.example.com/hook", LOG_LEVEL="INFO",
                      WEBHOOK_PORT=str(taken.getsockname()[1]), WEBHOOK_LISTEN="127.0.0.1")
        with BotProcess(env) as bot:
            assert bot.wait_exit(START_BUDGET) == ExitCode.BAD_SETTING, bot.err[-2000:]
        bot.assert_quiet()
        last = bot.lines()[-1]
        assert last.startswith("error: WEBHOOK_LISTEN / WEBHOOK_PORT: cannot listen on 127.0.0.1:"), last


def test_the_help_lists_every_exit_code():
    from bot.__main__ import EXIT_CODES

    listed = {int(n) for n in re.findall(r"^\s+(\d)\s", EXIT_CODES, flags=re.M)}
    assert {int(c) for c in ExitCode} <= listed
    for code in ExitCode:
        assert re.search(rf"^\s+{int(code)}\s", EXIT_CODES, flags=re.M)


# =========================================================================== cut off while serving


@pytest.mark.parametrize("status", [401, 404])
def test_get_updates_refused_while_serving_exits_5_with_one_error_line(data_dir, status):
    """The token revoked (401) or the bot deleted (404) after ten answers: not deaf — it exits."""
    with FakeBotAPI() as api:
        with BotProcess(bot_env(api, data_dir)) as bot:
            for i in range(10):
                api.group_message(f"/ask {QUESTIONS[i]}")
            wait_until(lambda: len(ok_sends(api)) == 10, 20, "ten answers", bot)
            api.fail_next("getUpdates", status, times=999)
            cut = time.monotonic()
            assert bot.wait_exit(10) == ExitCode.CUT_OFF
            took = time.monotonic() - cut
        bot.assert_quiet()
        errors = bot.lines("ERROR")
        assert len(errors) == 1 and "Telegram no longer accepts the bot" in errors[0], bot.err[-2000:]
        assert took < 5, took  # the long poll in progress (1 s at the fake) ends, the next is refused
        assert len(ok_sends(api)) == 10 and not api.errors


def test_a_revoked_token_while_answering_by_webhook_exits_5_with_one_error_line(data_dir):
    with FakeBotAPI() as api:
        with webhook_bot(api, data_dir, "127.0.0.1") as (bot, port):
            _post_update(f"http://127.0.0.1:{port}/hook", _webhook_update(api, f"/ask {QUESTIONS[1]}"), api.token, bot)
            wait_until(lambda: len(ok_sends(api)) == 1, 10, "first answer", bot)
            api.fail_next("*", 401, times=999)  # the token is revoked: every call is refused
            _post_update(f"http://127.0.0.1:{port}/hook", _webhook_update(api, f"/ask {QUESTIONS[2]}"), api.token, bot)
            assert bot.wait_exit(10) == ExitCode.CUT_OFF
        bot.assert_quiet()
        errors = bot.lines("ERROR")
        assert len(errors) == 1 and "while answering an update" in errors[0], bot.err[-2000:]


# =========================================================================== a hard kill


def test_sigkill_after_30_fetched_and_10_answered_the_restart_answers_the_other_20_once_in_order(data_dir):
    chats = [DEFAULT_GROUP_ID - i for i in range(3)]
    with FakeBotAPI() as api:
        asked: dict[tuple[int, int], int] = {}  # (chat, message id) -> update id

        def ask(chat: int, text: str) -> None:
            update_id = api.group_message(f"/ask {text}", chat_id=chat)
            asked[chat, api.pushed_updates[-1]["message"]["message_id"]] = update_id

        for i in range(10):
            for chat in chats:
                ask(chat, QUESTIONS[i])
        last_fetched = max(asked.values())
        # Ten answers get through; each chat's next answer then hangs (it never reaches Telegram).
        api.hang_next("sendMessage", times=len(chats), after=10)
        with BotProcess(bot_env(api, data_dir)) as bot:
            wait_until(lambda: len(ok_sends(api)) == 10, 20, "ten answers", bot)
            waiting = {chat for chat in chats if sum(c.result["chat"]["id"] == chat for c in ok_sends(api)) < 10}
            # every chat with questions left is stuck in its next answer: the ten answered are on record
            wait_until(lambda: api.held_calls("sendMessage") == len(waiting), 10, "the answers in flight", bot)
            assert api.acknowledged_offset == last_fetched + 1  # Telegram was told: all 30 fetched
            bot.kill()
        first_run = collections.Counter(_answered(api, asked))
        assert sum(first_run.values()) == 10 and set(first_run.values()) == {1}

        for i in range(10, 15):  # asked while the bot is down
            ask(chats[0], QUESTIONS[i])
        with BotProcess(bot_env(api, data_dir, LOG_LEVEL="INFO")) as bot:
            wait_until(lambda: len(ok_sends(api)) == 35, 30, "the other 20 and the 5 new answers", bot)
            time.sleep(0.5)  # a second answer to anything would show up now
            assert bot.stop() == ExitCode.OK
        bot.assert_quiet()
        assert "answering first the 20 updates fetched and not answered before the last stop" in bot.err

    answered = collections.Counter(_answered(api, asked))
    assert sorted(answered) == sorted(asked.values()) and set(answered.values()) == {1}  # each exactly once
    for chat in chats:  # in the order asked, in every chat
        replies = sorted((c for c in ok_sends(api) if c.result["chat"]["id"] == chat),
                         key=lambda c: c.result["message_id"])
        asked_order = [c.params["reply_parameters"]["message_id"] for c in replies]
        assert asked_order == sorted(asked_order), (chat, asked_order)
    assert not api.errors


async def test_a_batch_the_journal_cannot_record_is_not_confirmed_and_comes_again(monkeypatch, cache_dir, caplog):
    """The disk full for a moment: the batch is not confirmed, so nothing is lost; it is fetched again."""

    class FlakyDisk(Store):
        failures = 1

        def record_updates(self, *args, **kwargs):
            if self.failures:
                self.failures -= 1
                raise sqlite3.OperationalError("database or disk is full")
            return super().record_updates(*args, **kwargs)

    monkeypatch.setattr(serving, "MAX_PAUSE", 0.2)
    service = Service.from_corpus(ROOT / "corpus", 3, cache_dir)
    with FakeBotAPI() as api:
        update_id = api.group_message(f"/ask {QUESTIONS[1]}")
        async with running(api, service, FlakyDisk(":memory:")):
            await api.await_calls("sendMessage", where=lambda c: c.ok, timeout=10)
            await asyncio.sleep(0.3)
        assert len(ok_sends(api)) == 1 and not api.errors
        fetched = [c for c in api.calls_to("getUpdates") if c.ok and c.result]
        assert [u["update_id"] for c in fetched for u in c.result] == [update_id, update_id]  # again, once answered
    assert any("could not record 1 updates" in r.getMessage() for r in caplog.records)


def test_a_webhook_update_acknowledged_before_a_sigkill_is_answered_once_after_the_restart(data_dir):
    with FakeBotAPI() as api:
        api.hang_next("sendMessage")  # the answer never gets out
        with webhook_bot(api, data_dir, "127.0.0.1") as (bot, port):
            update = _webhook_update(api, f"/ask {QUESTIONS[1]}")
            _post_update(f"http://127.0.0.1:{port}/hook", update, api.token, bot)  # 200: Telegram is done
            wait_until(lambda: api.held_calls("sendMessage") == 1, 10, "the answer in flight", bot)
            bot.kill()
        assert not ok_sends(api)
        # Back by polling: the journal answers it first; Telegram's copy of it is known and dropped.
        with BotProcess(bot_env(api, data_dir, LOG_LEVEL="INFO")) as bot:
            wait_until(lambda: len(ok_sends(api)) == 1, 20, "the answer after the restart", bot)
            wait_until(lambda: api.acknowledged_offset > update["update_id"], 10, "Telegram's copy fetched", bot)
            time.sleep(0.5)
            assert bot.stop() == ExitCode.OK
        bot.assert_quiet()
        [answer] = ok_sends(api)
        assert answer.params["reply_parameters"]["message_id"] == update["message"]["message_id"]
        assert f"update {update['update_id']} was fetched before: not handled again" in bot.err
        assert not api.errors


# =========================================================================== helpers


def _answered(api: FakeBotAPI, asked: dict[tuple[int, int], int]) -> list[int]:
    """The update id each accepted answer answers."""
    return [asked[c.result["chat"]["id"], c.params["reply_parameters"]["message_id"]] for c in ok_sends(api)]


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _webhook_update(api: FakeBotAPI, text: str) -> dict:
    """A group message as Telegram would POST it to the webhook (the fake keeps it for getUpdates)."""
    api.group_message(text)
    return api.pushed_updates[-1]


def _post_update(url: str, update: dict, token: str, bot: BotProcess) -> None:
    """POST an update as Telegram does (with the secret header) to the bot's webhook server."""
    request = urllib.request.Request(url, data=json.dumps(update).encode(), method="POST", headers={
        "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": webhook_secret(token)})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
    except OSError as exc:
        raise AssertionError(f"POST {url}: {exc}; the bot's stderr:\n{bot.err[-2000:]}") from None


@contextlib.contextmanager
def webhook_bot(api: FakeBotAPI, data_dir: Path, host: str, tries: int = 5):
    """The bot serving by webhook on a free port of ``host``, yielded with the port once it listens.

    The port is picked while the fake holds its own (so the two cannot meet), and a port that some
    other process takes between the pick and the bot's bind (the bot exits: "cannot listen") is
    given up for another: the POSTs then reach this bot's server and nobody else's.
    """
    for _ in range(tries):
        port = _free_port(host)
        env = bot_env(api, data_dir, WEBHOOK_URL="https://bot.example.com/hook", WEBHOOK_PORT=str(port),
                      WEBHOOK_LISTEN=host, LOG_LEVEL="INFO")
        with BotProcess(env) as bot:
            wait_until(lambda: "serving @" in bot.err or not bot.running(), START_BUDGET, "the webhook server")
            if bot.running():
                yield bot, port
                return
            if "cannot listen" not in bot.err:
                raise AssertionError(f"the bot exited ({bot.wait_exit(5)}) before listening:\n{bot.err[-2000:]}")
    raise AssertionError(f"no port of {host} stayed free for the bot in {tries} tries")
