"""No update lost to a hard kill: each update is written down before Telegram hears it arrived.

Telegram forgets an update once the bot confirms it (polling: the next ``getUpdates`` asks from
a later offset; webhook: the POST is answered 200). python-telegram-bot confirms a batch when it
asks for the next one, long before the batch is answered, so a SIGKILL or a power cut used to
lose every update in hand. Here every update goes through ``JournaledQueue.put`` — the poller's
batches and the webhook's POSTs alike — which records it (id and payload) in the store before the
update is queued, so before it can be confirmed; the update processor calls ``handled`` when its
handler has finished. At the next start ``replay`` queues what was recorded and never handled,
oldest first, before anything new is fetched.

The id is the key: an update fetched again (Telegram was not told before the kill) is dropped,
so none is handled twice from the journal. What stays open is the moment between an answer
reaching Telegram and the record that it was handled (a few milliseconds): a kill exactly then
answers that update again at the next start.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence

from telegram import Bot, Update

from bot.ops.store import Store

log = logging.getLogger(__name__)

# An update queued at this many starts without being handled is given up: it may be what
# kills the bot (a hard crash in its handler), and replaying it for ever would crash every start.
MAX_REPLAYS = 3


class JournaledQueue(asyncio.Queue):
    """The Application's update queue: an update is recorded in the store before it is queued,
    and one recorded before is not queued again."""

    def __init__(self, store: Store, bot_id: int) -> None:
        super().__init__()
        self.store = store
        self.bot_id = bot_id
        self._marking = True

    async def put(self, item: object) -> None:
        if isinstance(item, Update):
            await self.put_batch([item])
        else:  # PTB's own stop signal
            await super().put(item)

    async def put_batch(self, updates: Sequence[Update]) -> None:
        """Record a batch in one transaction, then queue the updates never seen before."""
        rows = [(u.update_id, json.dumps(u.to_dict(), ensure_ascii=False)) for u in updates]
        new = set(await self.store.run(self.store.record_updates, self.bot_id, rows))
        for update in updates:
            if update.update_id in new:
                await super().put(update)
            else:
                log.info("update %d was fetched before: not handled again", update.update_id)

    async def handled(self, update: object) -> None:
        """Called by the update processor when the update's handlers are done."""
        if isinstance(update, Update) and self._marking:
            await self.store.run(self.store.mark_handled, self.bot_id, update.update_id)

    def keep_pending(self) -> None:
        """Mark nothing handled from now on: the bot was cut off, and what it had in hand could
        not be answered (a revoked token fails every send) — the next start answers it."""
        self._marking = False

    async def replay(self, bot: Bot) -> int:
        """Queue the updates an earlier run fetched and did not handle, oldest first; how many."""
        pending, given_up = await self.store.run(self.store.take_unhandled, self.bot_id, MAX_REPLAYS)
        for update_id in given_up:
            log.warning("update %d was queued at %d starts and never handled: given up", update_id, MAX_REPLAYS)
        queued = 0
        for update_id, payload in pending:
            try:
                update = Update.de_json(json.loads(payload), bot)
            except (ValueError, TypeError, KeyError) as exc:  # written by another version, say
                log.warning("update %d could not be read back (%s): skipped", update_id, exc)
                continue
            await super().put(update)
            queued += 1
        if queued:
            log.info("answering first the %d updates fetched and not answered before the last stop", queued)
        return queued
