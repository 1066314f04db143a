"""Settings: the one place that reads the environment and ``.env``."""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT / "corpus"
DEFAULT_DATA_DIR = ROOT / "data"
DEFAULT_BASE_URL = "https://api.telegram.org/bot"
_TOKEN = re.compile(r"^\d{3,12}:[A-Za-z0-9_-]{30,}$")
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Every setting the bot reads (ENV_FILE only from the environment: it names the .env file).
KNOWN = (
    "BOT_TOKEN", "BOT_API_BASE_URL", "CORPUS_PATH", "TOP_K", "ADMIN_IDS", "WEBHOOK_URL", "WEBHOOK_PORT",
    "WEBHOOK_LISTEN", "LOG_LEVEL", "DATA_DIR", "LOG_RETENTION_DAYS", "TZ", "ENV_FILE", "SEARCH_BACKEND",
    "SPHINXQL_URL",
)
BACKENDS = ("embedded", "sphinxql")  # SEARCH_BACKEND: the index in this process, or a search engine
# An environment variable with one of these prefixes is meant for this bot; others belong to the
# shell, the system or other programs and are none of its business (unless a near miss of a name).
_OURS = ("BOT_", "WEBHOOK_")


class ConfigError(Exception):
    """Missing or malformed settings: one line each, naming the setting."""

    def __init__(self, *problems: str):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    bot_token: str | None = field(default=None, repr=False)  # never printed
    api_base_url: str = DEFAULT_BASE_URL
    corpus_path: Path = DEFAULT_CORPUS
    top_k: int = 3
    admin_ids: frozenset[int] = frozenset()
    webhook_url: str | None = None
    webhook_port: int = 8443
    webhook_listen: str = "0.0.0.0"  # the address the webhook server binds to
    log_level: str = "INFO"
    data_dir: Path = DEFAULT_DATA_DIR
    log_retention_days: int | None = None  # None: keep the question log for ever
    time_zone: str | None = None  # an IANA name (TZ); None: the machine's own
    search_backend: str = "embedded"  # or "sphinxql": Sphinx / Manticore at sphinxql_url
    sphinxql_url: str | None = None  # host:port of the head searchd (SphinxQL)
    # One line per key that is not a setting (a misspelling, most likely): logged at start.
    unknown: tuple[str, ...] = field(default=(), compare=False)

    def zone(self) -> ZoneInfo | None:
        """The operator's time zone (None: the machine's)."""
        return ZoneInfo(self.time_zone) if self.time_zone else None


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and # comments skipped; surrounding quotes removed."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:]
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{path}:{n}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = re.sub(r"\s+#.*$", "", value)  # KEY=value  # a trailing comment
        values[key.strip()] = value
    return values


def default_dotenv(env: dict[str, str] | os._Environ[str] | None = None) -> Path:
    """The .env file to read: ``ENV_FILE`` when the environment names one, else the project's."""
    name = (os.environ if env is None else env).get("ENV_FILE", "").strip()
    return Path(name) if name else ROOT / ".env"


def load_settings(env: dict[str, str] | None = None, dotenv: Path | None = ROOT / ".env") -> Settings:
    """Settings from ``env`` (default: the process environment) over ``.env``.

    Every malformed setting is named at once (one ConfigError, a line each); a key in ``.env``
    that is no setting, or a ``BOT_``-looking environment variable that is none, is kept in
    ``Settings.unknown`` with the closest known name, for the caller to log once logging is set up.
    """
    from_file = read_dotenv(dotenv) if dotenv else {}
    environ = dict(os.environ if env is None else env)
    merged = {**from_file, **environ}
    problems: list[str] = []

    def get(name: str) -> str | None:
        value = merged.get(name, "").strip()
        return value or None

    def check(name: str, parse, default):
        """``parse(value)`` of a setting, or its default after noting what is wrong with it."""
        try:
            return parse(get(name))
        except ConfigError as exc:
            problems.extend(exc.problems)
            return default

    token = check("BOT_TOKEN", _token, None)
    base_url = check("BOT_API_BASE_URL", _base_url, DEFAULT_BASE_URL)
    webhook_url = check("WEBHOOK_URL", _webhook_url, None)
    listen = check("WEBHOOK_LISTEN", _listen, "0.0.0.0")
    level = check("LOG_LEVEL", _level, "INFO")
    top_k = check("TOP_K", lambda v: _int("TOP_K", v, 3, 1, 10), 3)
    admin_ids = check("ADMIN_IDS", _ids, frozenset())
    webhook_port = check("WEBHOOK_PORT", lambda v: _int("WEBHOOK_PORT", v, 8443, 1, 65535), 8443)
    retention = check(
        "LOG_RETENTION_DAYS", lambda v: _int("LOG_RETENTION_DAYS", v, 0, 1, 36500) if v else None, None
    )
    time_zone = check("TZ", lambda v: _time_zone(v, from_environment="TZ" in environ), None)
    backend = check("SEARCH_BACKEND", _backend, "embedded")
    sphinxql_url = check("SPHINXQL_URL", lambda v: _sphinxql_url(v, backend), None)
    if problems:
        raise ConfigError(*problems)
    return Settings(
        bot_token=token,
        api_base_url=base_url,
        corpus_path=Path(get("CORPUS_PATH") or DEFAULT_CORPUS),
        top_k=top_k,
        admin_ids=admin_ids,
        webhook_url=webhook_url,
        webhook_port=webhook_port,
        webhook_listen=listen,
        log_level=level,
        data_dir=Path(get("DATA_DIR") or DEFAULT_DATA_DIR),
        log_retention_days=retention,
        time_zone=time_zone,
        search_backend=backend,
        sphinxql_url=sphinxql_url,
        unknown=unknown_keys(from_file, environ, dotenv),
    )


def unknown_keys(from_file: dict[str, str], environ: dict[str, str], dotenv: Path | None) -> tuple[str, ...]:
    """A line for each .env key that is no setting, and each environment variable that looks meant
    for the bot (a ``BOT_``/``WEBHOOK_`` name, or a near miss of a setting's name) but is none."""
    lines = []
    for key in from_file:
        if key not in KNOWN:
            lines.append(f"{dotenv}: {key} is not a setting and is ignored{_did_you_mean(key)}")
    for key in sorted(environ):
        if key in KNOWN or key in from_file:
            continue
        if key.upper().startswith(_OURS) or _closest(key, cutoff=0.85):
            lines.append(f"environment: {key} is not a setting and is ignored{_did_you_mean(key)}")
    return tuple(lines)


def _closest(key: str, cutoff: float = 0.6) -> str | None:
    found = difflib.get_close_matches(key.upper(), KNOWN, n=1, cutoff=cutoff)
    return found[0] if found else None


def _did_you_mean(key: str) -> str:
    close = _closest(key)
    return f" (did you mean {close}?)" if close else f" (the settings: {', '.join(KNOWN)})"


def _token(token: str | None) -> str | None:
    if token is not None and not _TOKEN.match(token):
        raise ConfigError("BOT_TOKEN is malformed: expected the 123456789:ABC... token from @BotFather")
    return token


def _base_url(value: str | None) -> str:
    base_url = value or DEFAULT_BASE_URL
    parsed = urlparse(base_url)
    try:
        port_ok = parsed.port is None or parsed.port > 0
    except ValueError:
        port_ok = False
    if parsed.scheme not in ("http", "https") or not parsed.hostname or not port_ok:
        raise ConfigError(f"BOT_API_BASE_URL is malformed: {base_url!r} is not an http(s) URL")
    if not parsed.path.endswith("/bot"):
        # python-telegram-bot appends the token straight to it: https://api.telegram.org/bot<token>
        raise ConfigError(f"BOT_API_BASE_URL is malformed: {base_url!r} must end in /bot")
    return base_url


def _webhook_url(webhook_url: str | None) -> str | None:
    if webhook_url is not None:
        hook = urlparse(webhook_url)
        if hook.scheme != "https" or not hook.hostname or re.search(r"\s", webhook_url):
            raise ConfigError("WEBHOOK_URL is malformed: expected https://host/path (Telegram only calls HTTPS)")
    return webhook_url


def _listen(value: str | None) -> str:
    listen = value or "0.0.0.0"
    if not _is_host(listen):
        raise ConfigError(f"WEBHOOK_LISTEN is malformed: {listen!r} is not an IP address or host name")
    return listen


def _one_of(name: str, value: str, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ConfigError(f"{name} is malformed: use one of {', '.join(choices)}")
    return value


def _level(value: str | None) -> str:
    return _one_of("LOG_LEVEL", (value or "INFO").upper(), _LEVELS)


def _time_zone(value: str | None, from_environment: bool) -> str | None:
    """An IANA zone name (Asia/Shanghai, UTC). A POSIX rule such as CST-8 in the environment is
    left to the C library, which the machine's local time follows (None); in .env it is an error."""
    if value is None:
        return None
    name = value.lstrip(":")  # TZ=:Asia/Shanghai is the C library's spelling of the same
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if from_environment and "/" not in name:
            return None
        raise ConfigError(f"TZ is malformed: {value!r} is not a time zone name such as Asia/Shanghai or UTC") from None
    return name


def _backend(value: str | None) -> str:
    return _one_of("SEARCH_BACKEND", (value or "embedded").lower(), BACKENDS)


def _sphinxql_url(value: str | None, backend: str) -> str | None:
    if value is None:
        if backend == "sphinxql":
            raise ConfigError("SPHINXQL_URL is missing: SEARCH_BACKEND=sphinxql needs the head searchd's host:port")
        return None
    host, _, port = value.rpartition(":")
    if not _is_host(host) or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"SPHINXQL_URL is malformed: {value!r} is not host:port")
    return value


def _int(name: str, value: str | None, default: int, lo: int, hi: int) -> int:
    if value is None:
        return default
    try:
        n = int(value)
    except ValueError:
        raise ConfigError(f"{name} is malformed: {value!r} is not a whole number") from None
    if not lo <= n <= hi:
        raise ConfigError(f"{name} is malformed: {n} is outside {lo}..{hi}")
    return n


def _is_host(value: str) -> bool:
    """An IPv4 or IPv6 address (0.0.0.0 and :: mean every interface), or a host name."""
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return len(value) <= 253 and _HOST.fullmatch(value) is not None


def _ids(value: str | None) -> frozenset[int]:
    if value is None:
        return frozenset()
    ids = set()
    for part in re.split(r"[,\s]+", value):
        if not part:
            continue
        if not re.fullmatch(r"-?\d{1,20}", part):
            raise ConfigError(f"ADMIN_IDS is malformed: {part!r} is not a numeric Telegram user id")
        ids.add(int(part))
    return frozenset(ids)
