"""The outbox relay: committed events become notification rows, once.

    async with Huarong(url) as huarong, NotificationRelay(huarong), \
            DeliveryWorker(huarong, senders):
        ...  # a waitlist promotion reaches the member, in their language

Each pass reads every community's undispatched outbox messages in order and,
per batch, in one unit of work: renders each event (`notices.render_event`),
writes one `notifications` row per recipient and marks the messages
dispatched. A crash before the commit leaves the batch for the next pass;
a relay that wrote rows and died before marking (or two relays that read
the same batch) writes nothing twice, because a row is unique per event and
recipient. Sending is the `DeliveryWorker`'s job, with its guarantees.

An event whose rendering fails is skipped in that batch (its savepoint
rolled back, the rest go on) and tried again next pass; after
`MAX_RENDER_ATTEMPTS` it is marked dispatched without notices and logged,
so one bad event cannot hold up everyone's. Events older than `stale_after`
when first relayed (a database that ran without a relay, or a long outage)
are dispatched without notices: a reminder for last month's salon helps
nobody.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from typing import Any

import attrs
import structlog

from huarong_core.app import Huarong
from huarong_core.background import BackgroundLoop
from huarong_core.domain.communities import Community
from huarong_core.notices.renderers import NoticeContext, render_event
from huarong_core.storage.base import Connection
from huarong_core.storage.repositories.notifications import NoticeLookups, NotificationRepository
from huarong_core.storage.repositories.outbox import OutboxRepository
from huarong_core.storage.unit_of_work import Repositories

log = structlog.get_logger(__name__)

DEFAULT_INTERVAL = 2.0
DEFAULT_BATCH = 100
DEFAULT_STALE_AFTER = timedelta(days=2)
MAX_RENDER_ATTEMPTS = 5
MAX_BATCHES = 100
"""Batches per community in one pass, so a pass ends even while events keep coming."""


@attrs.frozen
class RelayedBatch:
    """What one batch did: messages dispatched, notification rows written, renderings failed."""

    dispatched: int
    notifications: int
    failed_ids: tuple[int, ...]
    read: int


class NotificationRelay(BackgroundLoop):
    """A background task relaying the outbox to notification rows; `async with` or
    `start()` / `stop()`, and `run_once()` for one pass (tests, the CLI)."""

    name = "notifications"

    def __init__(
        self,
        huarong: Huarong,
        *,
        interval: float = DEFAULT_INTERVAL,
        batch: int = DEFAULT_BATCH,
        stale_after: timedelta = DEFAULT_STALE_AFTER,
        communities: Collection[str] | None = None,
    ) -> None:
        super().__init__(interval)
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self.huarong = huarong
        self.batch = batch
        self.stale_after = stale_after
        self.communities = None if communities is None else frozenset(communities)
        self.relayed = 0
        """Outbox messages dispatched since the relay was made."""
        self.written = 0
        """Notification rows written since the relay was made."""

    async def run_once(self, *, raise_errors: bool = True) -> int:
        """Relay everything committed so far, in every community; how many outbox
        messages were dispatched."""
        self._stopping.clear()
        return await self._relay_all(raise_errors=raise_errors)

    async def _relay_all(self, *, raise_errors: bool) -> int:
        total = 0
        for community in await self.huarong.communities():
            if self._stopping.is_set():
                break
            if self.communities is not None and community.key not in self.communities:
                continue
            try:
                total += await self._drain(community)
            except Exception:  # one community's trouble must not stop the others
                if raise_errors:
                    raise
                log.exception("notifications.pass_failed", community=community.key)
        return total

    async def _drain(self, community: Community) -> int:
        dispatched = 0
        failed: set[int] = set()  # tried once per pass: the next pass tries them again
        for _ in range(MAX_BATCHES):
            done = await self.relay_batch(community, exclude=failed)
            dispatched += done.dispatched
            failed.update(done.failed_ids)
            if done.read < self.batch or self._stopping.is_set():
                break
        return dispatched

    async def relay_batch(
        self, community: Community, *, exclude: Collection[int] = ()
    ) -> RelayedBatch:
        """One unit of work: up to `batch` outbox messages rendered, stored, dispatched."""
        now = self.huarong.clock.now()

        async def unit(conn: Connection) -> RelayedBatch:
            outbox = OutboxRepository(conn, community.id)
            messages = await outbox.pending(self.batch, skip_locked=True, exclude=tuple(exclude))
            store = NotificationRepository(conn, community.id)
            repos = Repositories(conn, community.id)
            lookups = NoticeLookups(conn, community.id)
            done: list[int] = []
            failed: list[int] = []
            written = 0
            for number, message in enumerate(messages):
                if now - message.created_at > self.stale_after:
                    done.append(message.id)
                    continue
                ctx = NoticeContext(repos, community, lookups, message.id, message.created_at)
                try:
                    async with conn.savepoint(f"huarong_notice_{number}"):
                        notices = await render_event(ctx, message.kind, message.payload)
                        written += await store.add(message.id, message.kind, notices, now)
                except Exception as exc:  # a bad event must not hold up the others
                    log.error(
                        "notifications.render_failed",
                        community=community.key,
                        outbox_id=message.id,
                        kind=message.kind,
                        attempts=message.attempts + 1,
                        error=type(exc).__name__,
                    )
                    if message.attempts + 1 >= MAX_RENDER_ATTEMPTS:
                        done.append(message.id)
                    else:
                        failed.append(message.id)
                    continue
                done.append(message.id)
            await outbox.mark_dispatched(done, now)
            await outbox.record_attempt(failed)
            return RelayedBatch(len(done), written, tuple(failed), len(messages))

        result = await self.huarong.db.run(unit)
        self.relayed += result.dispatched
        self.written += result.notifications
        if result.notifications:
            log.info(
                "notifications.relayed",
                community=community.key,
                events=result.dispatched,
                notifications=result.notifications,
            )
        return result

    async def _background_pass(self) -> None:
        await self._relay_all(raise_errors=False)

    def _log_details(self) -> dict[str, Any]:
        return {"interval": self.interval, "relayed": self.relayed, "written": self.written}
