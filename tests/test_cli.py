"""The command line (`python -m bot`) as a user runs it, and the settings in bot/config.py.

Every subprocess costs a few seconds (imports, jieba, the index), so they are all started at once
by one module fixture and the tests read their results.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

try:  # before bot: puts the project root on sys.path
    from corpus_samples import LIGHTHOUSE_MD, LIGHTHOUSE_NOTES_TXT, subprocess_env, write_files
except ImportError:  # tests/ imported as a package
    from tests.corpus_samples import LIGHTHOUSE_MD, LIGHTHOUSE_NOTES_TXT, subprocess_env, write_files
from bot.config import DEFAULT_BASE_URL, DEFAULT_CORPUS, DEFAULT_DATA_DIR, ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent
GDP_QUESTION = "2023年崂山区生产总值是多少？"
BATCH = [GDP_QUESTION, "怎么做红烧肉？", "崂山区人才总量突破了多少万人？"]
TIMEOUT = 120


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """name -> CompletedProcess for every command below.

    The first run builds the index cache in a fresh DATA_DIR; the others then start together and
    load it (each ~1 s instead of ~2.5 s).
    """
    base = tmp_path_factory.mktemp("cli")
    data_dir = str(base / "data")
    small = write_files(base / "small-corpus", {"lighthouse.md": LIGHTHOUSE_MD, "notes.txt": LIGHTHOUSE_NOTES_TXT})
    bad = write_files(base / "bad-corpus", {  # nothing in it can be read
        "broken.pdf": b"%PDF-1.4 not really a PDF",
        "notes.txt": b"\x00\x01 binary",
    })
    corpus = str(ROOT / "corpus")
    commands = {
        "json": (["ask", "--json", GDP_QUESTION], {}, None),
        "plain": (["ask", GDP_QUESTION], {}, None),
        "batch": (["ask", "-k", "1"], {}, "\n".join(BATCH) + "\n\n"),
        "small": (["ask", "--json", "--corpus", str(small), "灯塔岛志愿服务队有多少名队员？"], {}, None),
        "bad": (["ask", "--corpus", str(bad), "灯塔岛有什么？"], {}, None),
        "top_k": (["ask", "问题"], {"TOP_K": "abc"}, None),
    }

    def start(name):
        args, env, stdin = commands[name]
        env = subprocess_env(**{"CORPUS_PATH": corpus, "TOP_K": "3", "DATA_DIR": data_dir, **env})
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            cwd=ROOT, env=env, text=True, encoding="utf-8",
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        return proc, stdin

    def finish(proc, stdin):
        out, err = proc.communicate(stdin, timeout=TIMEOUT)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    results = {"json": finish(*start("json"))}
    started = {name: start(name) for name in commands if name != "json"}
    results.update({name: finish(*p) for name, p in started.items()})
    return results


def json_lines(run) -> list[dict]:
    assert run.returncode == 0, run.stderr
    return [json.loads(line) for line in run.stdout.splitlines() if line.strip()]


def test_ask_json(runs):
    (record,) = json_lines(runs["json"])
    assert record["question"] == GDP_QUESTION
    assert record["answered"] is True
    assert "1150.89亿元" in record["passages"][0]["text"]
    assert "1150.89亿元" in record["passages"][0]["quote"]
    assert 2 <= len(record["passages"]) <= 3  # TOP_K=3 (the runner-ups also hold the words)
    for p in record["passages"]:
        assert p["quote"] in p["text"]


def test_ask_plain_prints_quote_and_source(runs):
    run = runs["plain"]
    assert run.returncode == 0, run.stderr
    blocks = run.stdout.strip().split("\n\n")
    if blocks[0].startswith("答："):  # the short answer comes first when the reader is sure of it
        assert "\n" not in blocks[0] and blocks[0][3:] in blocks[1]
        blocks = blocks[1:]
    first = blocks[0]
    assert "1150.89亿元" in first
    source = "《崂山区：党建引领风帆劲 初心如磐奋楫行（崂山区建区30周年·党建篇）》第"
    if len(blocks) == 1:  # one quote: the quote, then its source
        assert first.startswith("「") and f"\n   — {source}" in first and first.endswith("段")
    else:  # several: each numbered where it begins, with its source, then the quote
        assert first.startswith(f"1. {source}") and "段\n「" in first and first.endswith("」")
    assert not run.stdout.lstrip().startswith("{")


def test_batch_mode_answers_line_by_line_with_k(runs):
    records = json_lines(runs["batch"])
    assert [r["question"] for r in records] == BATCH  # in order; the blank line is skipped
    gdp, off_topic, talent = records
    assert off_topic["answered"] is False and off_topic["passages"] == []
    assert gdp["answered"] and talent["answered"]
    assert len(gdp["passages"]) == 1 and len(talent["passages"]) == 1  # -k 1
    assert "1150.89亿元" in gdp["passages"][0]["text"]
    assert "23万人" in talent["passages"][0]["text"]


def test_ask_from_another_corpus(runs):
    (record,) = json_lines(runs["small"])
    assert record["answered"] is True
    best = record["passages"][0]
    assert best["doc"] == "lighthouse" and best["title"] == "灯塔岛志愿服务纪实"
    assert "八十六名" in best["quote"]
    assert all(p["doc"] in {"lighthouse", "notes"} for p in record["passages"])


def test_bad_corpus_is_one_line_naming_the_file(runs):
    run = runs["bad"]
    assert run.returncode != 0
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, run.stderr
    assert "broken.pdf" in lines[0] and "notes.txt" in lines[0] and "no document could be read" in lines[0]
    assert "Traceback" not in run.stderr
    assert run.stdout == ""


def test_malformed_top_k_is_named(runs):
    run = runs["top_k"]
    assert run.returncode != 0
    assert "TOP_K" in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_top_level_help(capsys):
    from bot.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("run", "ask", "eval", "index"):
        assert command in out


@pytest.mark.parametrize(
    "command, options",
    [
        ("run", []),
        ("ask", ["--json", "-k", "--corpus"]),
        ("eval", ["--qa", "--bench", "--no-bench", "--corpus"]),
        ("index", ["--corpus"]),
    ],
)
def test_subcommand_help(capsys, command, options):
    from bot.__main__ import _parser, main

    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: python -m bot {command}")
    for option in options:
        assert option in out
    # the top-level help describes the subcommand in words
    top = _parser().format_help()
    line = next(ln for ln in top.splitlines() if ln.strip().startswith(command + " "))
    assert len(line.split(None, 1)[1]) > 15


# --------------------------------------------------------------------------- settings (bot/config.py)

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw_x"


def test_defaults():
    s = load_settings(env={}, dotenv=None)
    assert s.bot_token is None
    assert s.api_base_url == DEFAULT_BASE_URL
    assert s.corpus_path == DEFAULT_CORPUS and s.data_dir == DEFAULT_DATA_DIR
    assert (s.top_k, s.admin_ids, s.webhook_url, s.webhook_port, s.log_level) == (3, frozenset(), None, 8443, "INFO")


def test_values_are_parsed():
    s = load_settings(env={
        "BOT_TOKEN": TOKEN,
        "BOT_API_BASE_URL": "http://127.0.0.1:8081/bot",
        "CORPUS_PATH": "/srv/docs",
        "TOP_K": " 5 ",
        "ADMIN_IDS": "12, 34 56,",
        "WEBHOOK_URL": "https://bot.example.org/hook",
        "WEBHOOK_PORT": "8080",
        "LOG_LEVEL": "debug",
        "DATA_DIR": "/var/lib/bot",
    }, dotenv=None)
    assert s.bot_token == TOKEN
    assert s.api_base_url == "http://127.0.0.1:8081/bot"
    assert s.corpus_path == Path("/srv/docs") and s.data_dir == Path("/var/lib/bot")
    assert (s.top_k, s.admin_ids, s.webhook_port, s.log_level) == (5, frozenset({12, 34, 56}), 8080, "DEBUG")
    assert s.webhook_url == "https://bot.example.org/hook"


def test_empty_values_mean_default():
    s = load_settings(env={"TOP_K": "", "BOT_TOKEN": "  ", "LOG_LEVEL": ""}, dotenv=None)
    assert (s.top_k, s.bot_token, s.log_level) == (3, None, "INFO")


@pytest.mark.parametrize(
    "name, value",
    [
        ("BOT_TOKEN", "not-a-token"),
        ("BOT_TOKEN", "123456789:short"),
        ("BOT_TOKEN", TOKEN + " extra"),
        ("ADMIN_IDS", "12,abc"),
        ("ADMIN_IDS", "1.5"),
        ("BOT_API_BASE_URL", "ftp://api.example.org/bot"),
        ("BOT_API_BASE_URL", "api.telegram.org/bot"),
        ("WEBHOOK_URL", "http://bot.example.org/hook"),
        ("WEBHOOK_URL", "bot.example.org/hook"),
        ("LOG_LEVEL", "LOUD"),
        ("TOP_K", "0"),
        ("TOP_K", "11"),
        ("TOP_K", "abc"),
        ("TOP_K", "2.5"),
        ("WEBHOOK_PORT", "70000"),
        ("WEBHOOK_PORT", "http"),
    ],
)
def test_malformed_setting_is_named(name, value):
    with pytest.raises(ConfigError) as info:
        load_settings(env={name: value}, dotenv=None)
    message = str(info.value)
    assert message.startswith(name) and "\n" not in message


@pytest.mark.parametrize("value", ["https://", "https:///hook", "https:// bot example org/hook"])
def test_webhook_url_without_a_host_is_named(value):
    with pytest.raises(ConfigError) as info:
        load_settings(env={"WEBHOOK_URL": value}, dotenv=None)
    assert str(info.value).startswith("WEBHOOK_URL")


def test_token_is_never_shown():
    s = load_settings(env={"BOT_TOKEN": TOKEN}, dotenv=None)
    assert TOKEN not in repr(s) and TOKEN not in str(s)
    assert TOKEN.split(":")[1] not in repr(s)
    bad = TOKEN[:-8] + "!!!!!!!!"  # malformed: the error names the variable, not the value
    with pytest.raises(ConfigError) as info:
        load_settings(env={"BOT_TOKEN": bad}, dotenv=None)
    assert bad not in str(info.value) and "BOT_TOKEN" in str(info.value)


def test_dotenv_file(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# a comment line\n"
        "\n"
        f"export BOT_TOKEN={TOKEN}\n"
        "TOP_K = '7'\n"
        'ADMIN_IDS="1,2"\n'
        "   # an indented comment\n"
        "LOG_LEVEL=warning\n"
        "WEBHOOK_PORT=9000\n",
        encoding="utf-8",
    )
    s = load_settings(env={"WEBHOOK_PORT": "9001"}, dotenv=dotenv)
    assert s.bot_token == TOKEN
    assert (s.top_k, s.admin_ids, s.log_level) == (7, frozenset({1, 2}), "WARNING")
    assert s.webhook_port == 9001  # the environment wins over .env


def test_dotenv_malformed_line_is_named(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("TOP_K=3\nJUST_A_WORD\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(env={}, dotenv=dotenv)
    assert ".env:2" in str(info.value)


def test_missing_dotenv_is_ignored(tmp_path):
    assert load_settings(env={}, dotenv=tmp_path / "nothing-here") == load_settings(env={}, dotenv=None)


def test_env_example_gives_the_defaults():
    s = load_settings(env={}, dotenv=ROOT / ".env.example")
    assert (s.bot_token, s.api_base_url, s.top_k, s.admin_ids, s.webhook_url, s.webhook_port, s.log_level) == (
        None, DEFAULT_BASE_URL, 3, frozenset(), None, 8443, "INFO"
    )


def test_the_token_never_reaches_the_log():
    import logging

    from bot.__main__ import RedactToken

    token = "123456789:" + "A" * 35
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, "POST https://x/bot%s/getMe", (token,), None)
    assert RedactToken(token).filter(record)
    assert token not in record.getMessage() and "<BOT_TOKEN>" in record.getMessage()


def test_every_bad_setting_is_named_at_once():
    with pytest.raises(ConfigError) as info:
        load_settings(env={"TOP_K": "0", "LOG_LEVEL": "LOUD", "TZ": "Mars/Olympus"}, dotenv=None)
    lines = str(info.value).splitlines()
    assert [line.split()[0] for line in lines] == ["LOG_LEVEL", "TOP_K", "TZ"]


def test_unknown_keys_are_named_with_the_closest_setting(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("TOPK=2\nLOG_LEVL=DEBUG\nTOP_K=4\n", encoding="utf-8")
    s = load_settings(env={"BOT_TOKN": "x", "HOME": "/root", "ADMIN_ID": "1"}, dotenv=dotenv)
    assert s.top_k == 4
    assert [line.split(": ", 1)[1] for line in s.unknown] == [
        "TOPK is not a setting and is ignored (did you mean TOP_K?)",
        "LOG_LEVL is not a setting and is ignored (did you mean LOG_LEVEL?)",
        "ADMIN_ID is not a setting and is ignored (did you mean ADMIN_IDS?)",
        "BOT_TOKN is not a setting and is ignored (did you mean BOT_TOKEN?)",
    ]


def test_time_zone_setting():
    assert load_settings(env={"TZ": "Asia/Shanghai"}, dotenv=None).time_zone == "Asia/Shanghai"
    assert load_settings(env={}, dotenv=None).time_zone is None
    assert load_settings(env={"TZ": "CST-8"}, dotenv=None).time_zone is None  # a POSIX rule: the C library's


def test_the_console_knows_the_chat_commands_and_logs_its_questions(tmp_path):
    data_dir = tmp_path / "data"
    env = subprocess_env(CORPUS_PATH=str(ROOT / "corpus"), DATA_DIR=str(data_dir), BOT_TOKEN="", TZ="Asia/Shanghai")
    session = ("/help\n/about\n/start\n/nosuch\nHow do I install Python?\n2023年崂山区生产总值是多少？\n那2021年呢？\n"
               "谢谢！\n")
    run = subprocess.run([sys.executable, "-m", "bot"], cwd=ROOT, env=env, input=session, text=True,
                         encoding="utf-8", capture_output=True, timeout=TIMEOUT)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "怎么用" in out and "<b>" not in out  # /help, as plain text
    assert "资料库：5 篇文档" in out and "我知道的资料" in out  # /about, /start
    assert "没有这个命令" in out
    assert "我只回答关于资料内容的中文问题" in out  # the English question
    assert "按「2021年崂山区生产总值是多少」理解" in out and "突破1000亿元" in out  # a follow-up
    assert "不客气" in out  # thanks, answered in kind and not logged (3 questions below)
    stats = subprocess.run([sys.executable, "-m", "bot", "stats"], cwd=ROOT, env=env, text=True, encoding="utf-8",
                           capture_output=True, timeout=TIMEOUT)
    assert stats.stdout.startswith("最近 7 天（Asia/Shanghai）：3 个问题"), stats.stdout
    assert "1× How do I install Python?" in stats.stdout
    csv_run = subprocess.run([sys.executable, "-m", "bot", "stats", "--csv", "-"], cwd=ROOT, env=env, text=True,
                             encoding="utf-8", capture_output=True, timeout=TIMEOUT)
    rows = csv_run.stdout.splitlines()
    assert rows[0].startswith("id,time,place,chat,user,question") and len(rows) == 4
    assert all(",console," in r and "+08:00" in r for r in rows[1:])
