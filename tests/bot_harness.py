"""Run the real Application against the fake Bot API server, as `run_polling` would."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from bot.telegram.app import build_application
from bot.config import Settings
from bot.answering.service import Service
from bot.ops.store import Store

ADMIN = 4242  # the admin user id the harness configures


@asynccontextmanager
async def running(api, service: Service, store: Store | None = None, errors: list | None = None):
    """Initialize, post_init, poll and start the bot; stop it after as on SIGTERM (updater first,
    then the application). ``errors`` collects every exception that reached the error handlers."""
    settings = Settings(bot_token=api.token, api_base_url=api.base_url, admin_ids=frozenset({ADMIN}),
                        data_dir=Path("/nonexistent"))
    app = build_application(settings, service, store if store is not None else Store(":memory:"))
    if errors is not None:
        async def record(update: object, context) -> None:
            errors.append((update, context.error))
        app.add_error_handler(record)
    await app.initialize()
    await app.post_init(app)
    await app.updater.start_polling(poll_interval=0, timeout=1)
    await app.start()
    try:
        yield app
    finally:
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
