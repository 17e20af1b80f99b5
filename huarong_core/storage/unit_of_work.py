"""One transaction for one change: state, audit entries, outbox events, delivery id.

Nothing a handler writes is visible until `commit()`, and then all of it
is, together: the relay never sees an event whose change rolled back, and
a redelivered input finds the delivery row written by the same commit.
Leaving the block without `commit()` rolls everything back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import cattrs

from huarong_core.events import Event
from huarong_core.storage.base import Connection, Database
from huarong_core.storage.repositories import (
    AuditRepository,
    DeliveryRepository,
    IdentityRepository,
    MemberRepository,
    OrganizationRepository,
    OutboxRepository,
    RoleRepository,
)
from huarong_core.storage.repositories.communities import CommunityRepository


class _Rollback(Exception):
    """Thrown into the transaction to end it without committing."""


class Repositories:
    """Every repository of one community, bound to one connection."""

    def __init__(self, conn: Connection, community_id: int) -> None:
        self.conn = conn
        self.communities = CommunityRepository(conn)
        self.bind(community_id)

    def bind(self, community_id: int) -> None:
        """Point every repository at `community_id` (after creating that community)."""
        conn = self.conn
        self.community_id = community_id
        self.organizations = OrganizationRepository(conn, community_id)
        self.members = MemberRepository(conn, community_id)
        self.identities = IdentityRepository(conn, community_id)
        self.roles = RoleRepository(conn, community_id)
        self.audit = AuditRepository(conn, community_id)
        self.outbox = OutboxRepository(conn, community_id)
        self.deliveries = DeliveryRepository(conn, community_id)


class UnitOfWork(Repositories):
    """`async with UnitOfWork.begin(db, community_id, now) as uow: ...; await uow.commit()`."""

    def __init__(
        self,
        tx: AbstractAsyncContextManager[Connection],
        conn: Connection,
        community_id: int,
        now: datetime,
        converter: cattrs.Converter,
    ) -> None:
        super().__init__(conn, community_id)
        self.now = now
        self._tx = tx
        self._events: list[Event] = []
        self._converter = converter
        self._committed = False
        self._savepoints = 0

    @classmethod
    async def begin(
        cls, db: Database, community_id: int, now: datetime, converter: cattrs.Converter
    ) -> UnitOfWork:
        tx = db.transaction()
        conn = await tx.__aenter__()
        return cls(tx, conn, community_id, now, converter)

    def record(self, event: Event) -> None:
        """Queue a domain event; it reaches the outbox only if the change commits."""
        self._events.append(event)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Undo, on error, only what happens inside: rows, audit entries and events."""
        self._savepoints += 1
        recorded = len(self._events)
        try:
            async with self.conn.savepoint(f"huarong_sp_{self._savepoints}"):
                yield
        except BaseException:
            del self._events[recorded:]
            raise

    @property
    def events(self) -> tuple[Event, ...]:
        return tuple(self._events)

    async def commit(self) -> None:
        for event in self._events:
            payload: dict[str, Any] = self._converter.unstructure(event)
            await self.outbox.append(event.kind, payload, self.now)
        self._committed = True

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None and self._committed:
            await self._tx.__aexit__(None, None, None)
            return
        reason = exc if exc is not None else _Rollback()
        with suppress(_Rollback):
            await self._tx.__aexit__(type(reason), reason, tb)
