"""Every event the bot sends goes through one queue, at a steady pace, most urgent first.

A homeserver limits how fast one account may send (Synapse's default is a
burst of 10, then one message every 5 s, unless the operator exempts the
bot); nio waits out each 429 for exactly its `retry_after_ms`. The queue
keeps that wait from reordering things: answers to a person go before
notices, notices before announcements, and a burst of announcements never
holds up a reply.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Mapping
from typing import Any

import attrs
import structlog

from huarong_core.notices import Priority
from huarong_matrix.client import MatrixClient

log = structlog.get_logger(__name__)

_RANK = {Priority.URGENT: 0, Priority.NORMAL: 1, Priority.BULK: 2}


class OutboundStopped(Exception):
    """The queue stopped before this event was sent (it was not sent)."""


@attrs.define
class _Job:
    room_id: str
    content: Mapping[str, Any]
    txn_id: str
    event_type: str
    done: asyncio.Future[str]


class Outbound:
    """A priority queue in front of `MatrixClient.send`, with a token bucket."""

    def __init__(self, client: MatrixClient, *, per_second: float = 10.0, burst: int = 20):
        if per_second <= 0 or burst < 1:
            raise ValueError("per_second must be positive and burst at least 1")
        self.client = client
        self.per_second = per_second
        self.burst = burst
        self._tokens = float(burst)
        self._refilled = time.monotonic()
        self._queue: asyncio.PriorityQueue[tuple[int, int, _Job]] = asyncio.PriorityQueue()
        self._order = itertools.count()
        self._task: asyncio.Task[None] | None = None
        self.sent = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="huarong-matrix.outbound")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        while not self._queue.empty():
            _, _, job = self._queue.get_nowait()
            if not job.done.done():
                job.done.set_exception(OutboundStopped(job.txn_id))

    async def send(
        self,
        room_id: str,
        content: Mapping[str, Any],
        txn_id: str,
        priority: Priority = Priority.URGENT,
        event_type: str = "m.room.message",
    ) -> str:
        """Queue one event and wait until it is sent; its event id."""
        if self._task is None:
            raise OutboundStopped(txn_id)
        job = _Job(room_id, content, txn_id, event_type, asyncio.get_running_loop().create_future())
        self._queue.put_nowait((_RANK[priority], next(self._order), job))
        return await job.done

    async def _take_token(self) -> None:
        while True:
            now = time.monotonic()
            self._tokens = min(
                float(self.burst), self._tokens + (now - self._refilled) * self.per_second
            )
            self._refilled = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            await asyncio.sleep((1 - self._tokens) / self.per_second)

    async def _run(self) -> None:
        while True:
            _, _, job = await self._queue.get()
            if job.done.cancelled():
                continue
            await self._take_token()
            try:
                event_id = await self.client.send(
                    job.room_id, job.content, job.txn_id, job.event_type
                )
            except Exception as exc:  # handed to the caller, who decides what it means
                if not job.done.done():
                    job.done.set_exception(exc)
                continue
            self.sent += 1
            if not job.done.done():
                job.done.set_result(event_id)
