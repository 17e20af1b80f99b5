"""A task that repeats a pass in the background until stopped.

The scheduler loop and the delivery worker both run a pass, sleep for an
interval (or until woken), and stop gracefully: the pass in progress ends
at its next safe point and its work is recorded before the task finishes.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
from collections.abc import Awaitable
from types import TracebackType
from typing import Any, ClassVar, Self, TypeVar

import structlog

log = structlog.get_logger(__name__)

T = TypeVar("T")


class BackgroundLoop(abc.ABC):
    """Subclasses implement `_background_pass`; `name` prefixes their log events."""

    name: ClassVar[str] = "background"

    def __init__(self, interval: float) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()

    @abc.abstractmethod
    async def _background_pass(self) -> None:
        """One pass of the work; errors are logged by the loop and the next pass runs."""

    def _log_details(self) -> dict[str, Any]:
        """What the started/stopped log lines report."""
        return {}

    def wake(self) -> None:
        """Run a pass now instead of at the end of the interval."""
        self._wake.set()

    def request_stop(self) -> None:
        """Start nothing new; the work in progress finishes (returns at once)."""
        self._stopping.set()
        self._wake.set()

    async def _pause(self, seconds: float) -> None:
        """Wait `seconds` (a retry's back-off), or less if a stop is asked."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _unless_stopped(self, call: Awaitable[T]) -> T | None:
        """`call`'s answer, or `None` when a stop is asked first: then `call` is
        cancelled. For a long poll, which may wait half a minute for nothing:
        stopping should not wait with it. Only for calls that are safe to give
        up, whose answer moves nothing until the pass acts on it."""
        waiting = asyncio.ensure_future(call)
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not waiting.done():
                waiting.cancel()
                await asyncio.wait({waiting})  # its connection closed before we go on
        if waiting.cancelled():
            return None
        return waiting.result()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _main(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._background_pass()
            except Exception:  # e.g. the database went away for a moment: try next time
                log.exception(f"{self.name}.pass_failed")
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
        self._task = asyncio.create_task(self._main(), name=f"huarong-{self.name}")
        log.info(f"{self.name}.started", **self._log_details())

    async def stop(self) -> None:
        """Let the work in progress finish, then end the task; idempotent.

        Cancelling `stop()` itself cancels the task (a hard stop).
        """
        task, self._task = self._task, None
        if task is None:
            return
        self.request_stop()
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:  # whoever stops us gave up waiting: end it now
            task.cancel()
            raise
        finally:
            self._stopping.clear()
        if not task.cancelled() and task.exception() is not None:
            log.error(f"{self.name}.crashed", error=repr(task.exception()))
        log.info(f"{self.name}.stopped", **self._log_details())

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
