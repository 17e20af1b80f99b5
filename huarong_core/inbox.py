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
from collections.abc import Awaitable, Callable, Mapping, Sequence
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

    def _repo(self, conn: Connection) -> InboxRepository:
        return InboxRepository(conn, self._handle.community.id)

    async def put(self, delivery_id: str, payload: Any) -> bool:
        """Record an input (JSON-able); False when it was recorded before."""
        now = self._handle.now()

        async def unit(conn: Connection) -> bool:
            return await self._repo(conn).put(self.source, delivery_id, payload, now)

        return await self._handle.database.run(unit)

    async def put_many(self, items: Sequence[tuple[str, Any]]) -> int:
        """Record several inputs in one transaction; how many were new."""
        now = self._handle.now()

        async def unit(conn: Connection) -> int:
            repo = self._repo(conn)
            return sum([await repo.put(self.source, d, p, now) for d, p in items])

        return await self._handle.database.run(unit)

    async def pending(self, limit: int = 100) -> list[InboxItem]:
        """Recorded, not yet handled, oldest first."""

        async def read(conn: Connection) -> list[InboxItem]:
            return await self._repo(conn).unhandled(self.source, limit)

        return await self._handle.database.run_read(read)

    async def get(self, delivery_id: str) -> InboxItem | None:
        async def read(conn: Connection) -> InboxItem | None:
            return await self._repo(conn).get(self.source, delivery_id)

        return await self._handle.database.run_read(read)

    async def done(self, item: InboxItem) -> None:
        now = self._handle.now()

        async def unit(conn: Connection) -> None:
            await self._repo(conn).handled(item.seq, now)

        await self._handle.database.run(unit)

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

        given_up = await self._handle.database.run(unit)
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

        return await self._handle.database.run_read(read)

    async def set(self, key: str, value: str) -> None:
        now = self._handle.now()

        async def unit(conn: Connection) -> None:
            await AdapterStateRepository(conn, self._handle.community.id).set(
                self.adapter, key, value, now
            )

        await self._handle.database.run(unit)

    async def add(self, key: str, value: str) -> str | None:
        """Set `key` unless it is set, atomically: `None` if this call set it, else
        the value that was there (a fingerprint first recorded by another request)."""
        now = self._handle.now()

        async def unit(conn: Connection) -> str | None:
            return await AdapterStateRepository(conn, self._handle.community.id).add(
                self.adapter, key, value, now
            )

        return await self._handle.database.run(unit)

    async def delete(self, key: str) -> None:
        async def unit(conn: Connection) -> None:
            await AdapterStateRepository(conn, self._handle.community.id).delete(self.adapter, key)

        await self._handle.database.run(unit)

    async def prune(self, prefix: str, before: datetime) -> int:
        """Forget values under `prefix` last set before `before` (old button choices)."""

        async def unit(conn: Connection) -> int:
            return await AdapterStateRepository(conn, self._handle.community.id).prune(
                self.adapter, prefix, before
            )

        return await self._handle.database.run(unit)


Handler = Callable[[Mapping[str, Any]], Awaitable[None]]


class InboxWorker(BackgroundLoop):
    """Handles recorded inputs in arrival order; woken by whatever records them.

    One drain at a time (a poller or sync loop and the background pass both
    call it), so an input is never handled by two tasks at once. A handler
    that raises is a bug, not a platform hiccup: the input is counted, retried
    on the next pass and set aside after `MAX_ATTEMPTS`, never silently lost.
    """

    name = "inbox"

    def __init__(self, inbox: Inbox, handle_input: Handler, *, interval: float = 5.0) -> None:
        super().__init__(interval)
        self.inbox = inbox
        self._handle_input = handle_input
        self._draining = asyncio.Lock()

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
            items = await self.inbox.pending(limit=50)
            if not items:
                return handled
            for item in items:
                try:
                    await self._handle_input(item.payload)
                except Exception as exc:  # counted, retried, then set aside
                    log.exception(
                        "inbox.handling_failed", source=self.inbox.source, delivery=item.delivery_id
                    )
                    await self.inbox.failed(item, type(exc).__name__)
                    return handled
                await self.inbox.done(item)
                handled += 1
