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

from collections.abc import Collection
from typing import Any

import structlog

from huarong_core.app import CommunityHandle, Huarong
from huarong_core.background import BackgroundLoop
from huarong_core.commands import FireDueTimers
from huarong_core.domain.audit import Actor

log = structlog.get_logger(__name__)

DEFAULT_INTERVAL = 30.0
DEFAULT_BATCH = 50
MAX_BATCHES = 100
"""Batches per community in one pass: a handler rescheduling itself for "now" cannot spin."""


class SchedulerLoop(BackgroundLoop):
    """A background task firing due timers; `async with` or `start()` / `stop()`."""

    name = "scheduler"

    def __init__(
        self,
        huarong: Huarong,
        *,
        interval: float = DEFAULT_INTERVAL,
        batch: int = DEFAULT_BATCH,
        communities: Collection[str] | None = None,
        actor: Actor | None = None,
    ) -> None:
        super().__init__(interval)
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self.huarong = huarong
        self.batch = batch
        self.communities = None if communities is None else frozenset(communities)
        self.actor = actor or Actor.system("scheduler")
        self.passes = 0
        self.fired = 0
        """Timers fired since the loop was made (for diagnostics and tests)."""

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

    async def _background_pass(self) -> None:
        await self.run_once()

    def _log_details(self) -> dict[str, Any]:
        return {"interval": self.interval, "passes": self.passes, "fired": self.fired}
