"""One transaction for one change: state, audit entries, outbox events, delivery id.

Nothing a handler writes is visible until its unit commits, and then all of
it is, together: the relay never sees an event whose change rolled back, and
a redelivered input finds the delivery row written by the same commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Generic, Self, TypeVar, overload

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

_R = TypeVar("_R")


class _made_on_first_use(Generic[_R]):
    """A repository made on first use and kept on the instance.

    `functools.cached_property` does the same but, before Python 3.12, takes a
    lock on every first use; a unit of work belongs to one task, and the lock
    cost more than the repository it guarded on a small command's path.
    """

    __slots__ = ("_make", "_name")

    def __init__(self, make: Callable[[Any], _R]) -> None:
        self._make = make
        self._name = make.__name__

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Self: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> _R: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> _R | Self:
        if instance is None:
            return self
        # No __set__: once kept in the instance's dict, lookups never reach here.
        made = instance.__dict__[self._name] = self._make(instance)
        return made


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

    @_made_on_first_use
    def communities(self) -> CommunityRepository:
        return CommunityRepository(self.conn)

    @_made_on_first_use
    def organizations(self) -> OrganizationRepository:
        return OrganizationRepository(self.conn, self.community_id)

    @_made_on_first_use
    def members(self) -> MemberRepository:
        return MemberRepository(self.conn, self.community_id)

    @_made_on_first_use
    def identities(self) -> IdentityRepository:
        return IdentityRepository(self.conn, self.community_id)

    @_made_on_first_use
    def roles(self) -> RoleRepository:
        return RoleRepository(self.conn, self.community_id)

    @_made_on_first_use
    def audit(self) -> AuditRepository:
        return AuditRepository(self.conn, self.community_id)

    @_made_on_first_use
    def outbox(self) -> OutboxRepository:
        return OutboxRepository(self.conn, self.community_id)

    @_made_on_first_use
    def deliveries(self) -> DeliveryRepository:
        return DeliveryRepository(self.conn, self.community_id)

    @_made_on_first_use
    def points(self) -> PointsRepository:
        return PointsRepository(self.conn, self.community_id)

    @_made_on_first_use
    def shop(self) -> ShopRepository:
        return ShopRepository(self.conn, self.community_id)

    @_made_on_first_use
    def clubs(self) -> ClubRepository:
        return ClubRepository(self.conn, self.community_id)

    @_made_on_first_use
    def venues(self) -> VenueRepository:
        return VenueRepository(self.conn, self.community_id)

    @_made_on_first_use
    def gatherings(self) -> GatheringRepository:
        return GatheringRepository(self.conn, self.community_id)

    @_made_on_first_use
    def contests(self) -> ContestRepository:
        return ContestRepository(self.conn, self.community_id)

    @_made_on_first_use
    def timers(self) -> TimerRepository:
        return TimerRepository(self.conn, self.community_id)

    @_made_on_first_use
    def requests(self) -> RequestRepository:
        return RequestRepository(self.conn, self.community_id)

    @_made_on_first_use
    def library(self) -> LibraryRepository:
        return LibraryRepository(self.conn, self.community_id)

    @_made_on_first_use
    def volunteering(self) -> VolunteeringRepository:
        return VolunteeringRepository(self.conn, self.community_id)

    @_made_on_first_use
    def aid(self) -> AidRepository:
        return AidRepository(self.conn, self.community_id)

    @_made_on_first_use
    def announcements(self) -> AnnouncementRepository:
        return AnnouncementRepository(self.conn, self.community_id)

    @_made_on_first_use
    def linking(self) -> LinkingRepository:
        return LinkingRepository(self.conn, self.community_id)

    @_made_on_first_use
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
