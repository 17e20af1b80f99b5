"""The /sync loop: every new event recorded in the inbox before the token moves past it.

One pass: /sync from the stored `next_batch`; the rooms' new events go into
the core's durable inbox (the event id is the key, so an event seen twice
is recorded once); invites and departures are acted on; only then is the
new token stored, and the worker handles what was recorded. A process
killed anywhere in between syncs again from the old token and finds
nothing new to do twice.

A room whose timeline came back `limited` (more events than the sync
returns, after a long stop) is filled from /messages back to the old
token, so no command is skipped. The very first sync only takes the
token: history from before the bot was started is not a list of commands.

A homeserver that cannot be reached is tried again with a backoff that
doubles up to a minute; nothing is recorded or moved meanwhile.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog

from huarong_core.background import BackgroundLoop
from huarong_core.inbox import AdapterState, InboxWorker
from huarong_matrix.bot import MatrixBot
from huarong_matrix.client import MatrixClient, MatrixFailure
from huarong_matrix.events import stored_event

log = structlog.get_logger(__name__)

SINCE_KEY = "next_batch"
PRUNE_EVERY = timedelta(hours=1)


class SyncLoop(BackgroundLoop):
    name = "matrix.sync"

    def __init__(
        self,
        client: MatrixClient,
        bot: MatrixBot,
        worker: InboxWorker,
        state: AdapterState,
        *,
        timeout_ms: int = 30_000,
        retry_base: float = 1.0,
        retry_max: float = 60.0,
    ) -> None:
        super().__init__(interval=0.01)
        self.client = client
        self.bot = bot
        self.worker = worker
        self.state = state
        self.timeout_ms = timeout_ms
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.failures = 0
        self._pruned_at: datetime | None = None

    async def _background_pass(self) -> None:
        try:
            await self.sync_once()
        except MatrixFailure as exc:
            self.failures += 1
            delay = min(self.retry_max, self.retry_base * 2 ** (self.failures - 1))
            log.warning(
                "matrix.sync_failed", error=exc.errcode, failures=self.failures, retry_in=delay
            )
            await self._pause(delay)
        else:
            if self.failures:
                log.info("matrix.sync_recovered", after=self.failures)
            self.failures = 0

    async def sync_once(self) -> int:
        """One /sync: record, act on memberships, move the token, wake the worker."""
        since = await self.state.get(SINCE_KEY)
        result = await self._unless_stopped(
            self.client.sync(since, self.timeout_ms if since else 0)
        )
        if result is None:  # stopping: the token did not move, nothing is lost
            return 0
        if since is None:
            await self.state.set(SINCE_KEY, result.next_batch)
            log.info("matrix.sync_started")
            return 0
        records: list[tuple[str, dict[str, Any]]] = []
        for timeline in result.joined:
            events = list(timeline.events)
            if timeline.limited and timeline.prev_batch:
                gap = await self.client.messages_between(
                    timeline.room_id, timeline.prev_batch, since
                )
                log.info("matrix.gap_filled", room=timeline.room_id, events=len(gap))
                events = gap + events
            for event in events:
                record = stored_event(timeline.room_id, event)
                if record is not None:
                    records.append((record["event_id"], record))
        if records:
            await self.worker.inbox.put_many(records)
        for room_id, inviter, direct in result.invites:
            try:
                await self.bot.invited(room_id, inviter, direct)
            except MatrixFailure as exc:  # a room that vanished meanwhile must not stall the loop
                log.warning("matrix.invite_failed", room=room_id, error=exc.errcode)
        for room_id in result.left:
            await self.bot.left(room_id)
        await self.state.set(SINCE_KEY, result.next_batch)
        if records:
            # Handled by the worker's own task: an answer may wait for the next sync
            # (a room just created), so handling must not hold the sync loop.
            self.worker.wake()
        await self._prune()
        return len(records)

    async def _prune(self) -> None:
        now = self.bot.handle.now()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        forgotten = await self.bot.choices.prune(now)
        if forgotten:
            log.info("matrix.choices_pruned", count=forgotten)
