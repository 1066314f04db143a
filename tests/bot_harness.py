"""Run the real Application against the fake Bot API server, as `python -m bot` does, and
helpers for the tests that start `python -m bot` itself."""

from __future__ import annotations

import os
import shutil
import sys
from contextlib import asynccontextmanager
from pathlib import Path

from bot.answering.service import Service
from bot.config import Settings
from bot.ops.store import Store
from bot.telegram.app import build_application
from bot.telegram.serving import online

ADMIN = 4242  # the admin user id the harness configures
ROOT = Path(__file__).resolve().parent.parent


@asynccontextmanager
async def running(api, service: Service, store: Store | None = None, errors: list | None = None, **more):
    """Bring the bot online (``bot.telegram.serving.online``: getMe, menus, polling) and take it down
    after as on SIGTERM (stop fetching, answer what was fetched). ``errors`` collects every
    exception that reached the error handlers. ``app.bot_data["session"]`` is the session.
    ``more``: other settings (``time_zone="Asia/Shanghai"``)."""
    settings = Settings(bot_token=api.token, api_base_url=api.base_url, admin_ids=frozenset({ADMIN}),
                        data_dir=Path("/nonexistent"), **more)
    app = build_application(settings, service, store if store is not None else Store(":memory:"))
    if errors is not None:
        async def record(update: object, context) -> None:
            errors.append((update, context.error))
        app.add_error_handler(record)
    async with online(app, settings, poll_timeout=1):
        yield app


def fresh_data_dir(cache: Path, tmp: Path) -> Path:
    """A DATA_DIR of its own (no question log, no update journal) with the index already cached:
    the fake server numbers updates from the same id every time, so two bots sharing a journal
    would take each other's updates for repeats."""
    data = tmp / "data"
    shutil.copytree(cache, data, ignore=shutil.ignore_patterns("questions.sqlite3*"), copy_function=os.link,
                    dirs_exist_ok=True)
    return data


def bot_env(api, data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment for `python -m bot` against ``api``: only the settings given, nothing from .env."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT", "TMPDIR")}
    base_url = settings.pop("BOT_API_BASE_URL", None) or api.base_url  # (api need not be started)
    env.update({"ENV_FILE": "/dev/null", "BOT_TOKEN": api.token, "BOT_API_BASE_URL": base_url,
                "CORPUS_PATH": str(ROOT / "corpus"),
                "DATA_DIR": str(data_dir), "ADMIN_IDS": "", "WEBHOOK_URL": "", "WEBHOOK_PORT": "",
                "WEBHOOK_LISTEN": "", "TOP_K": "", "LOG_RETENTION_DAYS": "", "LOG_LEVEL": "WARNING",
                "PYTHONPATH": str(ROOT)})
    env.update(settings)
    return env


BOT_COMMAND = [sys.executable, "-m", "bot"]
