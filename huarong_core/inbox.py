"""Durable input for adapters: record first, answer from the record, never twice.

A webhook answers its platform only after `Inbox.put` has committed the
input; a poller puts what it fetched before it moves its offset. Either
way a worker then takes `pending()` items in arrival order and marks each
`done`. A crash anywhere leaves the input either unrecorded (the platform
sends it again) or recorded and unhandled (the worker takes it again);
a redelivered input finds its row and is dropped. The conversation layer's
delivery ids make a second run of one input change nothing, so the rare
"handled but not yet marked done" case is harmless too.

    inbox = Inbox(handle, "telegram")
    if await inbox.put(str(update_id), update):   # False: seen before
        ...
    for item in await inbox.pending():
        ...; await inbox.done(item)
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import structlog

from huarong_core.app import CommunityHandle
from huarong_core.background import BackgroundLoop
from huarong_core.storage.base import Connection
from huarong_core.storage.repositories.inbox import (
    AdapterStateRepository,
    InboxItem,
    InboxRepository,
)

__all__ = ["MAX_ATTEMPTS", "AdapterState", "Inbox", "InboxItem", "InboxWorker"]

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 5
"""Failed handlings of one input before it is set aside (kept, with its error)."""


class Inbox:
    """One community's inputs from one source (`telegram`, `matrix`)."""

    def __init__(self, handle: CommunityHandle, source: str) -> None:
        self._handle = handle
        self.source = source
        self.last_put = -math.inf
        """When an input last arrived (`time.monotonic`): `InboxWorker` lets a burst of
        arrivals be recorded first."""

    def _repo(self, conn: Connection) -> InboxRepository:
        return InboxRepository(conn, self._handle.community.id)

    async def put(self, delivery_id: str, payload: Any, *, encoded: str | None = None) -> bool:
        """Record an input (JSON-able); False when it was recorded before. `encoded`:
        the payload's JSON as it arrived (a webhook's body), stored as it is rather
        than encoded again."""
        self.last_put = time.monotonic()
        now = self._handle.now()

        async def unit(conn: Connection) -> bool:
            return await self._repo(conn).put(self.source, delivery_id, payload, now, encoded)

        return await self._handle.database.run(unit, quick=True)

    async def put_many(self, items: Sequence[tuple[str, Any]]) -> int:
        """Record several inputs in one transaction; how many were new."""
        self.last_put = time.monotonic()
        now = self._handle.now()

        async def unit(conn: Connection) -> int:
            repo = self._repo(conn)
            return sum([await repo.put(self.source, d, p, now) for d, p in items])

        return await self._handle.database.run(unit, quick=True)

    async def pending(self, limit: int = 100) -> list[InboxItem]:
        """Recorded, not yet handled, oldest first."""

        async def read(conn: Connection) -> list[InboxItem]:
            return await self._repo(conn).unhandled(self.source, limit)

        return await self._handle.database.run_read(read, quick=True)

    async def get(self, delivery_id: str) -> InboxItem | None:
        async def read(conn: Connection) -> InboxItem | None:
            return await self._repo(conn).get(self.source, delivery_id)

        return await self._handle.database.run_read(read, quick=True)

    async def done(self, item: InboxItem) -> None:
        now = self._handle.now()

        async def unit(conn: Connection) -> None:
            await self._repo(conn).handled(item.seq, now)

        await self._handle.database.run(unit, quick=True)

    async def done_many(self, items: Sequence[InboxItem]) -> None:
        """Mark a drained batch handled in one transaction."""
        if not items:
            return
        now = self._handle.now()
        seqs = [item.seq for item in items]

        async def unit(conn: Connection) -> None:
            await self._repo(conn).handled_many(seqs, now)

        await self._handle.database.run(unit, quick=True)

    async def failed(self, item: InboxItem, error: str) -> bool:
        """Count a failed handling; True when the input is set aside for good.

        An input that keeps failing (a bug, not a platform hiccup) must not
        block the ones behind it: after `MAX_ATTEMPTS` it is marked handled
        with its error, kept for an operator, and logged.
        """
        now = self._handle.now()

        async def unit(conn: Connection) -> bool:
            repo = self._repo(conn)
            attempts = await repo.failed(item.seq, error)
            if attempts >= MAX_ATTEMPTS:
                await repo.handled(item.seq, now, error)
                return True
            return False

        given_up = await self._handle.database.run(unit, quick=True)
        if given_up:
            log.error("inbox.set_aside", source=self.source, delivery=item.delivery_id, error=error)
        return given_up


class AdapterState:
    """Small named values an adapter must keep across restarts (an offset, a token)."""

    def __init__(self, handle: CommunityHandle, adapter: str) -> None:
        self._handle = handle
        self.adapter = adapter

    async def get(self, key: str) -> str | None:
        async def read(conn: Connection) -> str | None:
            return await AdapterStateRepository(conn, self._handle.community.id).get(
                self.adapter, key
            )

        return await self._handle.database.run_read(read, quick=True)

    async def set(self, key: str, value: str) -> None:
        now = self._handle.now()

        async def unit(conn: Connection) -> None:
            await AdapterStateRepository(conn, self._handle.community.id).set(
                self.adapter, key, value, now
            )

        await self._handle.database.run(unit, quick=True)

    async def add(self, key: str, value: str) -> str | None:
        """Set `key` unless it is set, atomically: `None` if this call set it, else
        the value that was there (a fingerprint first recorded by another request)."""
        now = self._handle.now()

        async def unit(conn: Connection) -> str | None:
            return await AdapterStateRepository(conn, self._handle.community.id).add(
                self.adapter, key, value, now
            )

        return await self._handle.database.run(unit, quick=True)

    async def delete(self, key: str) -> None:
        async def unit(conn: Connection) -> None:
            await AdapterStateRepository(conn, self._handle.community.id).delete(self.adapter, key)

        await self._handle.database.run(unit, quick=True)

    async def prune(self, prefix: str, before: datetime) -> int:
        """Forget values under `prefix` last set before `before` (old button choices)."""

        async def unit(conn: Connection) -> int:
            return await AdapterStateRepository(conn, self._handle.community.id).prune(
                self.adapter, prefix, before
            )

        return await self._handle.database.run(unit)


Handler = Callable[[Mapping[str, Any]], Awaitable[None]]
Lanes = Callable[[Mapping[str, Any]], Iterable[Hashable]]
"""What an input must stay in order with: its chat, its sender. Inputs that share
any of these keys are handled in arrival order; the others may run side by side."""

BATCH = 100
"""Inputs taken per drain step."""
BURST_GAP = 0.002
"""Inputs arriving closer together than this (seconds) are a burst."""
BURST_TURN = 0.01
"""During a burst, one input (of any lane) is still handled per this many seconds."""
BURST_PRIORITY = 1.0
"""How long (seconds) one burst's recording goes first; a flood that lasts longer
shares the loop with the handling, which must not fall further behind."""


class InboxWorker(BackgroundLoop):
    """Handles recorded inputs in arrival order; woken by whatever records them.

    One drain at a time (a poller or sync loop and the background pass both
    call it), so an input is never handled by two tasks at once. A handler
    that raises is a bug, not a platform hiccup: the input is counted, retried
    on the next pass and set aside after `MAX_ATTEMPTS`, never silently lost.

    With `lanes` and `concurrency` above 1, a drained batch is split into
    lanes (inputs linked by a shared chat or sender, in arrival order) that
    run side by side, up to `concurrency` at once. Why: a chat's answer waits
    on the platform's round trip and pacing, and separate people's commands
    then commit together (the database's group commit) instead of one after
    another. Handled inputs are marked as they finish, several per statement
    (`_DoneMarker`); an input handled but not yet marked is handled again
    after a crash, which its delivery id makes harmless. A failing input stops
    only its own lane: what follows it in that lane waits for the next pass,
    in order. While inputs arrive in a burst, handling yields to recording
    (`_after_burst`).
    """

    name = "inbox"

    def __init__(
        self,
        inbox: Inbox,
        handle_input: Handler,
        *,
        interval: float = 5.0,
        lanes: Lanes | None = None,
        concurrency: int = 1,
    ) -> None:
        super().__init__(interval)
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        self.inbox = inbox
        self._handle_input = handle_input
        self._lanes = lanes
        self._concurrency = concurrency if lanes is not None else 1
        self._draining = asyncio.Lock()
        self._burst_turn = -math.inf
        self._burst_since: float | None = None

    def _log_details(self) -> dict[str, Any]:
        return {"source": self.inbox.source}

    async def _background_pass(self) -> None:
        await self.drain()

    async def drain(self) -> int:
        """Handle everything recorded and not yet handled; how many were handled."""
        async with self._draining:
            return await self._drain()

    async def _drain(self) -> int:
        handled = 0
        while True:
            items = await self.inbox.pending(limit=BATCH)
            if not items:
                return handled
            marker = _DoneMarker(self.inbox)
            try:
                failed = await self._handle_batch(items, marker)
            finally:
                await marker.close()
            handled += marker.count
            if failed:
                return handled  # the failed input is retried on the next pass, not in a loop

    async def _handle_batch(self, items: list[InboxItem], marker: _DoneMarker) -> bool:
        """Handle one batch, lane by lane; True when an input failed."""
        lanes = self._split(items)
        failures: list[InboxItem] = []
        if len(lanes) == 1:
            await self._run_lane(lanes[0], marker, failures)
            return bool(failures)
        limit = asyncio.Semaphore(self._concurrency)

        async def run(lane: list[InboxItem]) -> None:
            async with limit:
                await self._run_lane(lane, marker, failures)

        async with asyncio.TaskGroup() as group:
            for lane in lanes:
                group.create_task(run(lane))
        return bool(failures)

    async def _run_lane(
        self, lane: list[InboxItem], marker: _DoneMarker, failures: list[InboxItem]
    ) -> None:
        for item in lane:
            await self._after_burst()
            try:
                await self._handle_input(item.payload)
            except Exception as exc:  # counted, retried, then set aside
                log.exception(
                    "inbox.handling_failed", source=self.inbox.source, delivery=item.delivery_id
                )
                await self.inbox.failed(item, type(exc).__name__)
                failures.append(item)
                return
            marker.add(item)

    async def _after_burst(self) -> None:
        """While inputs arrive in a burst, let them be recorded before handling more.

        Recording is what the platform waits for (a webhook's 200, a poll's next
        offset), and it is short; handling is long and nobody is blocked on it.
        All run on one event loop, so without this a rush of arrivals queues
        behind the handling of earlier ones and the platform's answers slow down
        (Telegram then redelivers and narrows its flow). Meanwhile one input is
        still handled per `BURST_TURN`, one lane at a time, so no answer waits
        behind more than one input's handling; after `BURST_PRIORITY` of one
        burst, handling runs at full speed again.
        """
        while True:
            now = time.monotonic()
            gap = now - self.inbox.last_put
            if gap >= BURST_GAP:
                self._burst_since = None
                return
            if self._burst_since is None:
                self._burst_since = now
            if now - self._burst_since >= BURST_PRIORITY or now >= self._burst_turn:
                self._burst_turn = now + BURST_TURN
                return
            priority_ends = self._burst_since + BURST_PRIORITY
            await asyncio.sleep(min(BURST_GAP - gap, self._burst_turn - now, priority_ends - now))

    def _split(self, items: list[InboxItem]) -> list[list[InboxItem]]:
        """The batch as lanes: inputs sharing a key (directly or through others) in
        one lane, in arrival order."""
        if self._lanes is None or self._concurrency == 1 or len(items) == 1:
            return [items]
        parent: dict[Hashable, Hashable] = {}

        def root(key: Hashable) -> Hashable:
            while parent[key] != key:
                parent[key] = parent[parent[key]]
                key = parent[key]
            return key

        firsts: list[Hashable] = []
        for item in items:
            keys = list(self._lanes(item.payload)) or [("input", item.seq)]
            for key in keys:
                parent.setdefault(key, key)
            first = root(keys[0])
            for key in keys[1:]:
                other = root(key)
                if other != first:
                    parent[other] = first
            firsts.append(keys[0])
        lanes: dict[Hashable, list[InboxItem]] = {}
        for item, key in zip(items, firsts, strict=True):
            lanes.setdefault(root(key), []).append(item)
        return list(lanes.values())


class _DoneMarker:
    """Marks inputs handled as they finish: what finished while one mark was being
    written goes in the next, together. The window in which a crash would have an
    input handled again stays one write long, without a transaction per input."""

    def __init__(self, inbox: Inbox) -> None:
        self._inbox = inbox
        self._waiting: list[InboxItem] = []
        self._writing: asyncio.Task[None] | None = None
        self.count = 0

    def add(self, item: InboxItem) -> None:
        self._waiting.append(item)
        self.count += 1
        writing = self._writing
        if writing is None or (writing.done() and writing.exception() is None):
            self._writing = asyncio.create_task(self._write())
        # A failed write is left for `close` to raise; what waits is handled again later.

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            await self._inbox.done_many(batch)

    async def close(self) -> None:
        """Wait for the marks under way and write the rest; raises a failed write."""
        if self._writing is not None:
            await self._writing
        if self._waiting:
            await self._write()
