"""One transaction for one change: state, audit entries, outbox events, delivery id.

Nothing a handler writes is visible until its unit commits, and then all of
it is, together: the relay never sees an event whose change rolled back, and
a redelivered input finds the delivery row written by the same commit.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import cattrs

from huarong_core.events import Event
from huarong_core.storage.base import Connection
from huarong_core.storage.repositories import (
    AuditRepository,
    DeliveryRepository,
    IdentityRepository,
    MemberRepository,
    OrganizationRepository,
    OutboxRepository,
    RoleRepository,
)
from huarong_core.storage.repositories.access import AccessRepository
from huarong_core.storage.repositories.aid import AidRepository
from huarong_core.storage.repositories.announcements import AnnouncementRepository
from huarong_core.storage.repositories.clubs import ClubRepository
from huarong_core.storage.repositories.communities import CommunityRepository
from huarong_core.storage.repositories.contests import ContestRepository
from huarong_core.storage.repositories.gatherings import GatheringRepository
from huarong_core.storage.repositories.library import LibraryRepository
from huarong_core.storage.repositories.linking import LinkingRepository
from huarong_core.storage.repositories.points import PointsRepository
from huarong_core.storage.repositories.requests import RequestRepository
from huarong_core.storage.repositories.shop import ShopRepository
from huarong_core.storage.repositories.timers import TimerRepository
from huarong_core.storage.repositories.venues import VenueRepository
from huarong_core.storage.repositories.volunteering import VolunteeringRepository


class Repositories:
    """Every repository of one community, bound to one connection.

    Each is made on first use: a unit of work touches a few of them, and it
    runs on the hot path of every command.
    """

    def __init__(self, conn: Connection, community_id: int) -> None:
        self.conn = conn
        self.community_id = community_id

    def bind(self, community_id: int) -> None:
        """Point every repository at `community_id` (after creating that community)."""
        self.community_id = community_id
        for name in _BOUND:
            self.__dict__.pop(name, None)

    @functools.cached_property
    def communities(self) -> CommunityRepository:
        return CommunityRepository(self.conn)

    @functools.cached_property
    def organizations(self) -> OrganizationRepository:
        return OrganizationRepository(self.conn, self.community_id)

    @functools.cached_property
    def members(self) -> MemberRepository:
        return MemberRepository(self.conn, self.community_id)

    @functools.cached_property
    def identities(self) -> IdentityRepository:
        return IdentityRepository(self.conn, self.community_id)

    @functools.cached_property
    def roles(self) -> RoleRepository:
        return RoleRepository(self.conn, self.community_id)

    @functools.cached_property
    def audit(self) -> AuditRepository:
        return AuditRepository(self.conn, self.community_id)

    @functools.cached_property
    def outbox(self) -> OutboxRepository:
        return OutboxRepository(self.conn, self.community_id)

    @functools.cached_property
    def deliveries(self) -> DeliveryRepository:
        return DeliveryRepository(self.conn, self.community_id)

    @functools.cached_property
    def points(self) -> PointsRepository:
        return PointsRepository(self.conn, self.community_id)

    @functools.cached_property
    def shop(self) -> ShopRepository:
        return ShopRepository(self.conn, self.community_id)

    @functools.cached_property
    def clubs(self) -> ClubRepository:
        return ClubRepository(self.conn, self.community_id)

    @functools.cached_property
    def venues(self) -> VenueRepository:
        return VenueRepository(self.conn, self.community_id)

    @functools.cached_property
    def gatherings(self) -> GatheringRepository:
        return GatheringRepository(self.conn, self.community_id)

    @functools.cached_property
    def contests(self) -> ContestRepository:
        return ContestRepository(self.conn, self.community_id)

    @functools.cached_property
    def timers(self) -> TimerRepository:
        return TimerRepository(self.conn, self.community_id)

    @functools.cached_property
    def requests(self) -> RequestRepository:
        return RequestRepository(self.conn, self.community_id)

    @functools.cached_property
    def library(self) -> LibraryRepository:
        return LibraryRepository(self.conn, self.community_id)

    @functools.cached_property
    def volunteering(self) -> VolunteeringRepository:
        return VolunteeringRepository(self.conn, self.community_id)

    @functools.cached_property
    def aid(self) -> AidRepository:
        return AidRepository(self.conn, self.community_id)

    @functools.cached_property
    def announcements(self) -> AnnouncementRepository:
        return AnnouncementRepository(self.conn, self.community_id)

    @functools.cached_property
    def linking(self) -> LinkingRepository:
        return LinkingRepository(self.conn, self.community_id)

    @functools.cached_property
    def access(self) -> AccessRepository:
        return AccessRepository(self.conn, self.community_id)


_BOUND = (
    "organizations",
    "members",
    "identities",
    "roles",
    "audit",
    "outbox",
    "deliveries",
    "points",
    "shop",
    "clubs",
    "venues",
    "gatherings",
    "contests",
    "timers",
    "requests",
    "library",
    "volunteering",
    "aid",
    "announcements",
    "linking",
    "access",
)


class UnitOfWork(Repositories):
    """The repositories of one unit of work, and the events it records.

    Built inside `Database.run`, which commits when the unit returns and
    undoes everything when it raises; `flush()` writes the recorded events
    to the outbox as the unit's last step, so they commit with the change.
    """

    def __init__(
        self,
        conn: Connection,
        community_id: int,
        now: datetime,
        converter: cattrs.Converter,
    ) -> None:
        super().__init__(conn, community_id)
        self.now = now
        self._events: list[Event] = []
        self._converter = converter
        self._savepoints = 0

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

    async def flush(self) -> None:
        """Write the recorded events to the outbox (the unit's last step)."""
        if self._events:
            unstructure = self._converter.unstructure
            messages: list[tuple[str, dict[str, Any]]] = [
                (event.kind, unstructure(event)) for event in self._events
            ]
            await self.outbox.append_many(messages, self.now)
