"""The library's front door: open a database, pick a community, execute commands.

    async with Huarong("sqlite:///huarong.db") as huarong:
        building = await huarong.community("huarong")
        member = await building.execute(RegisterMember("王芳"), actor=Actor.system("setup"))

Every adapter goes through `CommunityHandle.execute`: it finds the handler,
resolves who acts and what they may do, runs the handler in one unit of
work, and makes a redelivered input (same `Delivery`) return the first
answer without changing anything.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Awaitable, Callable, Hashable
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import Any, Self, TypeVar, cast

import attrs
import structlog

from huarong_core.clock import Clock, SystemClock
from huarong_core.coalesce import ActivityBatcher, Answer
from huarong_core.commands import Command, RecordActivities, RecordActivity
from huarong_core.config import CommunityConfig
from huarong_core.domain.audit import Actor
from huarong_core.domain.communities import Community
from huarong_core.domain.roles import GrantSource, Role, RoleGrant, Scope
from huarong_core.errors import (
    AuditedRefusal,
    CommunityRequired,
    ConstraintViolation,
    HuarongError,
    MemberInactive,
    NoCommunity,
    NotFound,
    StorageError,
    TransientConflict,
    error_class,
)
from huarong_core.media import MediaStore, default_media_dir
from huarong_core.read_cache import ReadCache
from huarong_core.serialization import converter
from huarong_core.services.configuration import LoadReport, apply_configuration
from huarong_core.services.context import Context
from huarong_core.services.registry import HandlerSpec, Reader, handler_for
from huarong_core.storage import Connection, Database, create_database, migrate
from huarong_core.storage.migrate import check_schema
from huarong_core.storage.repositories import AuditRepository, CommunityRepository, StoredOutcome
from huarong_core.storage.repositories.deliveries import DeliveryRepository
from huarong_core.storage.unit_of_work import Repositories, UnitOfWork

R = TypeVar("R")
T = TypeVar("T")
ATTEMPTS = 3
log = structlog.get_logger(__name__)


@attrs.frozen
class Delivery:
    """Where an input came from and its id there (Telegram update_id, Matrix event_id, ...)."""

    source: str
    id: str


class Huarong:
    """One database, any number of communities in it."""

    def __init__(
        self,
        database: Database | str,
        *,
        clock: Clock | None = None,
        upgrade: bool = True,
        media_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.db = create_database(database) if isinstance(database, str) else database
        self.clock: Clock = clock or SystemClock()
        self._upgrade = upgrade
        self.media = MediaStore(
            media_dir if media_dir is not None else default_media_dir(getattr(self.db, "url", None))
        )
        """Uploaded photos (nothing is created until the first one): `media_dir`, else
        `huarong-media` beside a SQLite file or in the working directory."""

    async def start(self) -> None:
        await self.db.start()
        try:
            if self._upgrade:
                await migrate(self.db)
            else:
                await check_schema(self.db)
        except BaseException:
            await self.db.stop()
            raise

    async def stop(self) -> None:
        await self.db.stop()

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

    async def communities(self) -> list[Community]:
        async def read(conn: Connection) -> list[Community]:
            return await CommunityRepository(conn).all()

        return await self.db.run_read(read)

    async def community(self, key: str | None = None) -> CommunityHandle:
        """The community named `key`, or the only one when `key` is None."""
        found = await self.communities()
        if key is not None:
            for community in found:
                if community.key == key:
                    return CommunityHandle(self, community)
            raise NotFound(entity="community", ref=key)
        if not found:
            raise NoCommunity()
        if len(found) > 1:
            raise CommunityRequired(choices=", ".join(c.key for c in found))
        return CommunityHandle(self, found[0])

    async def apply_configuration(
        self,
        config: CommunityConfig,
        *,
        actor: Actor,
        source: str = "<config>",
        dry_run: bool = False,
    ) -> LoadReport:
        """Create or update a community from its file, in one transaction.

        With `dry_run` everything is applied and checked, reported, and then
        rolled back.
        """
        now = self.clock.now()
        section = config.community

        def bound() -> Any:
            return log.bind(community=section.key, actor=actor.label, source=source)

        async def unit(conn: Connection) -> LoadReport:
            uow = UnitOfWork(conn, 0, now, converter)
            community = await uow.communities.by_key(section.key)
            created = community is None
            if community is None:
                community = await uow.communities.create(
                    section.key, section.name, section.timezone, section.locale, now
                )
            uow.bind(community.id)
            ctx = await _context(uow, community, actor, now)
            if created:
                await ctx.audit("community.create", f"community:{community.key}", file=source)
            report = await apply_configuration(
                ctx, config, source=source, community_created=created, dry_run=dry_run
            )
            if dry_run:
                raise _DryRun(report)
            await uow.flush()
            return report

        async def attempt() -> LoadReport:
            try:
                return await self.db.run(unit)
            except _DryRun as rolled_back:
                return rolled_back.report

        report = await _with_retries(attempt, bound)
        log.info(
            "config.applied",
            community=section.key,
            changes=report.changes,
            dry_run=dry_run,
            actor=actor.label,
        )
        return report


_QUARTER_END = timedelta(seconds=900) - timedelta(microseconds=1)
"""The last moment of a UTC quarter hour, from its start."""


class CommunityHandle:
    """Commands and queries for one community."""

    def __init__(self, huarong: Huarong, community: Community) -> None:
        self._huarong = huarong
        self.community = community
        self._activities = ActivityBatcher(self._record_alone, self._record_together)
        self._reads = ReadCache(huarong.db.commit_generation)
        self._date_slot: tuple[int, date] | None = None

    def _local_date(self, now: datetime) -> date:
        """The community's date at `now`, worked out once per UTC quarter hour (a
        cached read asks for it on every call). Today's zone offsets are whole
        quarter hours, so the date rarely changes inside one; a quarter hour in
        which it does is never kept."""
        slot = int(now.timestamp() // 900)
        if self._date_slot is not None and self._date_slot[0] == slot:
            return self._date_slot[1]
        today = self.community.local(now).date()
        starts = datetime.fromtimestamp(slot * 900, UTC)
        if (
            self.community.local(starts).date() == today
            and self.community.local(starts + _QUARTER_END).date() == today
        ):
            self._date_slot = (slot, today)
        return today

    def now(self) -> datetime:
        """The time on the library's clock (a `FrozenClock` in tests)."""
        return self._huarong.clock.now()

    @property
    def database(self) -> Database:
        """The database (for the adapters' inbox and state, `huarong_core.inbox`)."""
        return self._huarong.db

    async def commit_generation(self) -> Hashable | None:
        """Changes whenever anything is committed, by this process or another
        (`Database.commit_generation`): an adapter may keep an answer of the core
        for as long as it stays the same. None: keep nothing."""
        return await self._huarong.db.commit_generation()

    @property
    def media(self) -> MediaStore:
        """Where uploaded photos are kept (see `Huarong.media`)."""
        return self._huarong.media

    async def execute(
        self, command: Command[R], *, actor: Actor, delivery: Delivery | None = None
    ) -> R:
        if delivery is None and type(command) is RecordActivity:
            # Concurrent awards by one actor share a unit of work (`huarong_core.coalesce`).
            return cast(R, await self._activities.submit(command, actor))
        return await self._execute(command, actor, delivery)

    async def _record_alone(self, command: RecordActivity, actor: Actor) -> Answer:
        return await self._execute(command, actor, None)

    async def _record_together(self, batch: RecordActivities, actor: Actor) -> tuple[Answer, ...]:
        """The batch as one unit, neither logged nor audited when refused: the
        batcher then runs each activity through `_execute`, which is."""
        spec = handler_for(RecordActivities)
        if spec is None:
            raise TypeError("no handler for RecordActivities")
        now = self._huarong.clock.now()
        answers: tuple[Answer, ...] = await _with_retries(
            lambda: self._write(spec, batch, actor, None, now),
            lambda: self._log_for(batch, actor, None),
        )
        return answers

    async def _execute(self, command: Command[R], actor: Actor, delivery: Delivery | None) -> R:
        spec = handler_for(type(command))
        if spec is None:
            raise TypeError(f"no handler for {type(command).__name__}")
        now = self._huarong.clock.now()
        if spec.read_only:
            if spec.cached:
                today = self._local_date(now)
                return await self._reads.answer(
                    command, actor, today, lambda: self._read(spec, command, actor, now)
                )
            return await self._read(spec, command, actor, now)
        if not command.remembered:
            delivery = None

        def bound() -> Any:
            return self._log_for(command, actor, delivery)

        try:
            prepared = None
            if spec.prepare is not None:
                prepared = await spec.prepare(self._reader(actor, now), command)
            outcome: R = await _with_retries(
                lambda: self._write(spec, command, actor, delivery, now, prepared), bound
            )
        except _Replayed as replay:
            bound().info("delivery.replayed")
            if replay.error is not None:
                raise replay.error from None
            replayed: R = replay.result
            return replayed
        except StorageError:
            raise  # not a refusal: a redelivery must run the command again
        except HuarongError as exc:
            bound().info("command.refused", error=type(exc).__name__)
            if delivery is not None or isinstance(exc, AuditedRefusal):
                await self._record_failure(delivery, exc, actor, command, now)
            raise
        return outcome

    async def _read(self, spec: HandlerSpec, command: Command[R], actor: Actor, now: datetime) -> R:
        async def read(conn: Connection) -> R:
            repos = Repositories(conn, self.community.id)
            ctx = await _context(repos, self.community, actor, now)
            result: R = await spec.handler(ctx, command)
            return result

        try:
            return await self._huarong.db.run_read(read, quick=spec.quick)
        except AuditedRefusal as exc:
            self._log_for(command, actor, None).info("command.refused", error=type(exc).__name__)
            await self._record_failure(None, exc, actor, command, now)
            raise

    async def _write(
        self,
        spec: HandlerSpec,
        command: Command[Any],
        actor: Actor,
        delivery: Delivery | None,
        now: datetime,
        prepared: Any = None,
    ) -> Any:
        """One attempt: claim the delivery, run the handler, commit everything together."""

        async def unit(conn: Connection) -> Any:
            uow = UnitOfWork(conn, self.community.id, now, converter)
            if delivery is not None and not await uow.deliveries.claim(
                delivery.source, delivery.id, now
            ):
                stored = await uow.deliveries.get(delivery.source, delivery.id)
                raise _Replayed.from_stored(stored, spec)
            ctx = await _context(uow, self.community, actor, now)
            ctx.prepared = prepared
            result = await spec.handler(ctx, command)
            if delivery is not None:
                payload = converter.unstructure(result, spec.result_type)
                await uow.deliveries.complete(delivery.source, delivery.id, "ok", payload)
            await uow.flush()
            return result

        return await self._huarong.db.run(unit, quick=spec.quick)

    def _log_for(self, command: Command[Any], actor: Actor, delivery: Delivery | None) -> Any:
        """The logger bound to one command; bound only when something is logged (binding
        costs more than a fast command)."""
        return log.bind(
            community=self.community.key,
            command=type(command).__name__,
            actor=actor.label,
            delivery=None if delivery is None else f"{delivery.source}/{delivery.id}",
        )

    def _reader(self, actor: Actor, now: datetime) -> Reader[Any]:
        """Reads for a command's `prepare` step: a read-only context, one snapshot each."""

        async def read(fn: Callable[[Context], Awaitable[Any]]) -> Any:
            async def snapshot(conn: Connection) -> Any:
                ctx = await _context(
                    Repositories(conn, self.community.id), self.community, actor, now
                )
                return await fn(ctx)

            return await self._huarong.db.run_read(snapshot)

        return read

    async def _record_failure(
        self,
        delivery: Delivery | None,
        error: HuarongError,
        actor: Actor,
        command: Command[Any],
        at: datetime,
    ) -> None:
        """Remember a refusal so the redelivered input gets the same answer, and
        write an `AuditedRefusal`'s audit entry (its own unit rolled back), together."""
        stored = {"type": type(error).__name__, "params": converter.unstructure(error.params())}
        now = self._huarong.clock.now()

        async def unit(conn: Connection) -> None:
            if isinstance(error, AuditedRefusal):
                await AuditRepository(conn, self.community.id).append(
                    actor,
                    error.audit_action,
                    error.audit_target(),
                    {"command": type(command).__name__},
                    at,
                )
            if delivery is not None:
                await DeliveryRepository(conn, self.community.id).record(
                    delivery.source, delivery.id, "error", stored, now
                )

        await self._huarong.db.run(unit, quick=True)


class _DryRun(Exception):
    """Ends a dry-run load's unit of work so that it rolls back, carrying its report."""

    def __init__(self, report: LoadReport) -> None:
        super().__init__()
        self.report = report


class _Replayed(Exception):
    """The input was handled before: carries its first answer out of the transaction."""

    def __init__(self, result: Any = None, error: HuarongError | None = None) -> None:
        super().__init__()
        self.result = result
        self.error = error

    @classmethod
    def from_stored(cls, stored: StoredOutcome | None, spec: HandlerSpec) -> _Replayed:
        if stored is None or stored.outcome == "pending":
            raise RuntimeError("a claimed delivery has no stored outcome")
        if stored.outcome == "ok":
            return cls(result=converter.structure(stored.result, spec.result_type))
        error_type = error_class(stored.result["type"])
        if error_type is None:
            raise RuntimeError(f"unknown stored error {stored.result['type']!r}")
        return cls(error=converter.structure(stored.result["params"], error_type))


async def _with_retries(attempt: Callable[[], Awaitable[T]], bound: Callable[[], Any]) -> T:
    """Run a whole transaction again when a concurrent one won a race.

    On PostgreSQL two transactions may both find "no such row" and then
    collide on a unique key, or deadlock; the retry sees the winner's
    committed row and answers as if the race had not happened.
    """
    for number in range(1, ATTEMPTS + 1):
        try:
            return await attempt()
        except (ConstraintViolation, TransientConflict) as exc:
            if number == ATTEMPTS:
                raise
            bound().info("storage.retry", attempt=number, error=type(exc).__name__)
    raise AssertionError("unreachable")


async def _context(repos: Repositories, community: Community, actor: Actor, now: Any) -> Context:
    """Who acts, with what roles: a member must exist and be active."""
    if actor.member_id is None:
        return Context(repos, community, actor, (), now)
    found = await repos.members.acting(actor.member_id)
    if found is None:
        raise NotFound(entity="member", ref=f"#{actor.member_id}")
    member, grants = found
    if not member.is_active:
        raise MemberInactive(member_id=member.id, status=member.status.value)
    return Context(repos, community, actor, (*grants, _member_role(member.id)), now, acting=member)


@functools.lru_cache(maxsize=4096)
def _member_role(member_id: int) -> RoleGrant:
    """The role every active member holds, held by no row; the same value each time."""
    return RoleGrant(member_id, Role.MEMBER, Scope.community(), GrantSource.MANUAL)
