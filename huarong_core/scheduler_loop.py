"""Fire due timers periodically, for every community of one `Huarong`.

    async with Huarong(url) as huarong, SchedulerLoop(huarong):
        ...  # serve chats, the web, a console: reminders go out meanwhile

Each pass runs `FireDueTimers` for each community as `system:scheduler`,
again at once while a batch comes back full, then sleeps `interval`
seconds. Several processes may run a loop on one PostgreSQL database: each
timer still fires once. An error is logged and the loop carries on; it
stops between batches, so a stop never cuts a batch in half.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection
from types import TracebackType
from typing import Self

import structlog

from huarong_core.app import CommunityHandle, Huarong
from huarong_core.commands import FireDueTimers
from huarong_core.domain.audit import Actor

log = structlog.get_logger(__name__)

DEFAULT_INTERVAL = 30.0
DEFAULT_BATCH = 50
MAX_BATCHES = 100
"""Batches per community in one pass: a handler rescheduling itself for "now" cannot spin."""


class SchedulerLoop:
    """A background task firing due timers; `async with` or `start()` / `stop()`."""

    def __init__(
        self,
        huarong: Huarong,
        *,
        interval: float = DEFAULT_INTERVAL,
        batch: int = DEFAULT_BATCH,
        communities: Collection[str] | None = None,
        actor: Actor | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self.huarong = huarong
        self.interval = interval
        self.batch = batch
        self.communities = None if communities is None else frozenset(communities)
        self.actor = actor or Actor.system("scheduler")
        self.passes = 0
        self.fired = 0
        """Timers fired since the loop was made (for diagnostics and tests)."""
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()

    async def run_once(self, *, raise_errors: bool = False) -> int:
        """Fire everything due now in every community; how many fired.

        A community whose pass fails is logged and skipped, unless
        `raise_errors` (a one-off run that should report it, such as the CLI's).
        """
        total = 0
        for community in await self.huarong.communities():
            if self._stopping.is_set():
                break
            if self.communities is not None and community.key not in self.communities:
                continue
            handle = CommunityHandle(self.huarong, community)
            try:
                total += await self._drain(handle)
            except Exception:  # one community's trouble must not stop the others
                if raise_errors:
                    raise
                log.exception("scheduler.pass_failed", community=community.key)
        self.passes += 1
        self.fired += total
        return total

    async def _drain(self, handle: CommunityHandle) -> int:
        fired = 0
        for _ in range(MAX_BATCHES):
            count = await handle.execute(FireDueTimers(limit=self.batch), actor=self.actor)
            fired += count
            if count < self.batch or self._stopping.is_set():
                break
        else:
            log.warning("scheduler.batches_exhausted", community=handle.community.key)
        return fired

    def wake(self) -> None:
        """Run a pass now instead of at the end of the interval."""
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _main(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except Exception:  # e.g. the database went away for a moment: try next time
                log.exception("scheduler.pass_failed")
            self._wake.clear()
            if self._stopping.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)

    async def start(self) -> None:
        """Start the background task; its first pass runs at once."""
        if self.running:
            return
        self._stopping.clear()
        self._task = asyncio.create_task(self._main(), name="huarong-scheduler")
        log.info("scheduler.started", interval=self.interval, batch=self.batch)

    async def stop(self) -> None:
        """Let the batch in progress finish, then end the task; idempotent."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        self._wake.set()
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:  # whoever stops us gave up waiting: end it now
            task.cancel()
            raise
        finally:
            self._stopping.clear()
        if not task.cancelled() and task.exception() is not None:
            log.error("scheduler.crashed", error=repr(task.exception()))
        log.info("scheduler.stopped", passes=self.passes, fired=self.fired)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
