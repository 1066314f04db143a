"""Settings: the one place that reads the environment and ``.env``."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT / "corpus"
DEFAULT_DATA_DIR = ROOT / "data"
DEFAULT_BASE_URL = "https://api.telegram.org/bot"
_TOKEN = re.compile(r"^\d{3,12}:[A-Za-z0-9_-]{30,}$")
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(Exception):
    """A missing or malformed setting; the message is one line naming it."""


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


def load_settings(env: dict[str, str] | None = None, dotenv: Path | None = ROOT / ".env") -> Settings:
    """Settings from ``env`` (default: the process environment) over ``.env``."""
    merged = read_dotenv(dotenv) if dotenv else {}
    merged.update(os.environ if env is None else env)

    def get(name: str) -> str | None:
        value = merged.get(name, "").strip()
        return value or None

    token = get("BOT_TOKEN")
    if token is not None and not _TOKEN.match(token):
        raise ConfigError("BOT_TOKEN is malformed: expected the 123456789:ABC... token from @BotFather")

    base_url = get("BOT_API_BASE_URL") or DEFAULT_BASE_URL
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

    webhook_url = get("WEBHOOK_URL")
    if webhook_url is not None:
        hook = urlparse(webhook_url)
        if hook.scheme != "https" or not hook.hostname or re.search(r"\s", webhook_url):
            raise ConfigError("WEBHOOK_URL is malformed: expected https://host/path (Telegram only calls HTTPS)")

    listen = get("WEBHOOK_LISTEN") or "0.0.0.0"
    if not _is_host(listen):
        raise ConfigError(f"WEBHOOK_LISTEN is malformed: {listen!r} is not an IP address or host name")

    level = (get("LOG_LEVEL") or "INFO").upper()
    if level not in _LEVELS:
        raise ConfigError(f"LOG_LEVEL is malformed: use one of {', '.join(_LEVELS)}")

    return Settings(
        bot_token=token,
        api_base_url=base_url,
        corpus_path=Path(get("CORPUS_PATH") or DEFAULT_CORPUS),
        top_k=_int("TOP_K", get("TOP_K"), 3, 1, 10),
        admin_ids=_ids(get("ADMIN_IDS")),
        webhook_url=webhook_url,
        webhook_port=_int("WEBHOOK_PORT", get("WEBHOOK_PORT"), 8443, 1, 65535),
        webhook_listen=listen,
        log_level=level,
        data_dir=Path(get("DATA_DIR") or DEFAULT_DATA_DIR),
        log_retention_days=(
            _int("LOG_RETENTION_DAYS", get("LOG_RETENTION_DAYS"), 0, 1, 36500)
            if get("LOG_RETENTION_DAYS") else None
        ),
    )


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
