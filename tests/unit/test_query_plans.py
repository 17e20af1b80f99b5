"""Lookups of one member's (one gathering's, one book's ...) rows stay lookups on SQLite.

Without statistics SQLite's planner will read a whole community's rows
through an index that already yields them in the query's order rather than
narrow them with one that does not: correct answers, at a cost that grows
with the building, invisible at the size of a test. So this test records
every statement the demo building's seeding and a round of member-centric
reads run, asks SQLite for each plan, and fails on any statement fixing a
member, gathering, book, club, shift or case whose plan scans a table or
searches it by the community alone.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import attrs

from huarong_core import Actor, Huarong
from huarong_core.commands import (
    BookVenue,
    CalendarFeed,
    FindMemberByIdentity,
    GetBook,
    GetCalendar,
    GetClub,
    GetGathering,
    GetMember,
    GetPointsStatement,
    GetRank,
    GetVolunteerHours,
    ListBookings,
    ListClubMembers,
    ListGatherings,
    ListHonours,
    ListLoans,
    ListMemberClubs,
    ListMemberRsvps,
    ListMemberShifts,
    ListMyRequests,
    ListRedemptions,
    ListReflections,
    ListRequestQueue,
    ListRsvps,
    ListShifts,
    ListStationSubscriptions,
    ListVenues,
    RespondToGathering,
    SearchBooks,
    WhatsOn,
)
from huarong_core.demo import all_members, seed_demo
from huarong_core.domain.gatherings import Answer
from huarong_core.domain.services import RequestState
from huarong_core.errors import HuarongError
from huarong_core.storage import Connection, Row, parse_database_url
from huarong_core.storage.sqlite import SqliteDatabase
from huarong_core.storage.url import SqliteURL
from huarong_core.testing import FrozenClock

T = TypeVar("T")
DEMO = Path(__file__).resolve().parents[2] / "examples" / "huarong"
SYSTEM = Actor.system("plans")
TIMED = ("gatherings", "volunteer_shifts", "venue_bookings")
"""Tables of things with a start and an end, searched by time window."""
FIXED = re.compile(
    r"\b(?:\w+\.)?(member_id|gathering_id|book_id|club_key|shift_id|case_id|state)\s*=\s*\$\d+"
    r"|\bid IN \(\$"
)
"""A statement about one member, gathering, ..., one state of requests, or rows by id:
what it reads should be those rows."""
WHOLE_COMMUNITY = re.compile(r"\(community_id=\?\)$")
SCAN = re.compile(r"^SCAN (\w+)")
MERGING = re.compile(
    r"^(UPDATE \w+ SET member_id|DELETE FROM \w+ WHERE community_id = \$1 AND member_id)"
)
"""Moving a merged member's rows: once per merge, by an administrator; not a lookup."""


class _Recording(Connection):
    """Passes every call through, noting each statement and its first arguments."""

    def __init__(self, inner: Connection, seen: dict[str, tuple[Any, ...]]) -> None:
        self.dialect = inner.dialect
        self._inner = inner
        self._seen = seen

    def _note(self, sql: str, args: Sequence[Any]) -> None:
        self._seen.setdefault(sql, tuple(args))

    async def execute(self, sql: str, *args: Any) -> None:
        self._note(sql, args)
        await self._inner.execute(sql, *args)

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        rows = list(args)
        if rows:
            self._note(sql, rows[0])
        await self._inner.executemany(sql, rows)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        self._note(sql, args)
        return await self._inner.fetch(sql, *args)

    async def execute_script(self, script: str) -> None:
        await self._inner.execute_script(script)


class _RecordingDatabase(SqliteDatabase):
    def __init__(self, url: SqliteURL) -> None:
        super().__init__(url)
        self.seen: dict[str, tuple[Any, ...]] = {}

    async def run(self, unit: Callable[[Connection], Awaitable[T]], *, quick: bool = False) -> T:
        return await super().run(lambda conn: unit(_Recording(conn, self.seen)), quick=quick)

    async def run_read(
        self, unit: Callable[[Connection], Awaitable[T]], *, quick: bool = False
    ) -> T:
        return await super().run_read(lambda conn: unit(_Recording(conn, self.seen)), quick=quick)


def _wide_steps(plan: Sequence[Row]) -> list[str]:
    """The plan's steps that read a table whole, or all of one community's rows."""
    inner = {
        str(step["detail"]).split(" ", 1)[1]
        for step in plan
        if str(step["detail"]).startswith(("CO-ROUTINE", "MATERIALIZE"))
    }
    wide = []
    for step in plan:
        detail = str(step["detail"])
        scanned = SCAN.match(detail)
        whole_table = scanned is not None and scanned.group(1) not in inner
        whole_community = detail.startswith("SEARCH") and WHOLE_COMMUNITY.search(detail)
        if whole_table or whole_community:
            wide.append(detail)
    return wide


async def _member_centric_reads(huarong: Huarong) -> None:
    """The reads a member's pages and chat commands make, for a few members."""
    handle = await huarong.community("huarong")
    members = [m for m in await all_members(handle, SYSTEM) if m.is_active][:4]
    gatherings = await handle.execute(ListGatherings(), actor=SYSTEM)
    books = await handle.execute(SearchBooks(), actor=SYSTEM)
    first = members[0]
    for gathering in gatherings[:5]:  # several, so a member's agenda is read by ids
        with contextlib.suppress(HuarongError):
            await handle.execute(
                RespondToGathering(gathering.id, Answer.GOING, member_id=first.id), actor=SYSTEM
            )
    queries: list[Any] = [GetCalendar(CalendarFeed.MEMBER, str(first.id))]
    for member in members:
        profile = await handle.execute(GetMember(member.id), actor=SYSTEM)
        queries += [
            *(FindMemberByIdentity(i.ref.platform, i.ref.external_id) for i in profile.identities),
            GetPointsStatement(member.id),
            GetRank(member.id),
            ListRedemptions(member_id=member.id),
            ListHonours(member_id=member.id),
            ListStationSubscriptions(member_id=member.id),
            ListMemberClubs(member_id=member.id),
            ListMemberRsvps(member_id=member.id, upcoming_only=True),
            ListMemberRsvps(member_id=member.id, upcoming_only=False),
            ListLoans(member_id=member.id, open_only=False),
            ListMyRequests(member_id=member.id),
            ListMemberShifts(member_id=member.id, upcoming_only=False),
            GetVolunteerHours(date(2026, 1, 1), date(2026, 12, 31), member_id=member.id),
            ListReflections(member_id=member.id),
        ]
    for membership in await handle.execute(ListMemberClubs(member_id=members[0].id), actor=SYSTEM):
        queries += [GetClub(membership.club_key), ListClubMembers(membership.club_key)]
    queries += [q for g in gatherings[:6] for q in (GetGathering(g.id), ListRsvps(g.id))]
    queries += [
        q for b in books.items[:4] for q in (GetBook(b.book.id), ListReflections(b.book.id))
    ]
    queries += [ListRequestQueue(state=state) for state in RequestState]
    for query in queries:
        # A refusal still ran its lookups, which is all this test reads.
        with contextlib.suppress(HuarongError):
            await handle.execute(query, actor=SYSTEM)


async def test_one_members_rows_are_found_without_reading_the_communitys(tmp_path: Path) -> None:
    url = parse_database_url(f"sqlite:///{tmp_path / 'plans.db'}")
    assert isinstance(url, SqliteURL)
    database = _RecordingDatabase(url)
    async with Huarong(database, clock=FrozenClock()) as huarong:
        await seed_demo(huarong, DEMO, actor=SYSTEM)
        await _member_centric_reads(huarong)
        fixed = {
            sql: args
            for sql, args in database.seen.items()
            if FIXED.search(sql) and not MERGING.match(sql)
        }
        assert len(fixed) > 30  # the scenario reached the repositories it means to check

        async def plans(conn: Connection) -> dict[str, list[str]]:
            found = {}
            for sql, args in fixed.items():
                found[sql] = _wide_steps(await conn.fetch("EXPLAIN QUERY PLAN " + sql, *args))
            return found

        wide = {sql: steps for sql, steps in (await database.run(plans)).items() if steps}
    assert wide == {}


async def test_things_in_a_time_window_are_a_range_of_start_times(
    tmp_path: Path,
) -> None:
    """A condition on the end (ends after the window opens) bounds nothing in an index
    on start time; the community's longest gathering or booking (`longest_spans`), or
    the longest a shift may be (`MAX_SHIFT`), gives the range its lower end."""
    url = parse_database_url(f"sqlite:///{tmp_path / 'windows.db'}")
    assert isinstance(url, SqliteURL)
    database = _RecordingDatabase(url)
    async with Huarong(database, clock=FrozenClock()) as huarong:
        handle = await seed_demo(huarong, DEMO, actor=SYSTEM)
        database.seen.clear()  # from here on, every kind has rows, so every window a bound
        now = handle.now()
        await handle.execute(WhatsOn(), actor=SYSTEM)
        await handle.execute(ListGatherings(starts=now), actor=SYSTEM)
        await handle.execute(
            ListGatherings(starts=now, ends=now + timedelta(days=30)), actor=SYSTEM
        )
        await handle.execute(ListShifts(), actor=SYSTEM)
        await handle.execute(ListShifts(starts=now, ends=now + timedelta(days=30)), actor=SYSTEM)
        month = ListBookings(starts=now, ends=now + timedelta(days=30))
        venues = [v.key for v in await handle.execute(ListVenues(), actor=SYSTEM)]
        for venue in (None, venues[0]):
            await handle.execute(attrs.evolve(month, venue_key=venue), actor=SYSTEM)
        starts = now + timedelta(days=3)
        booking = BookVenue(
            venues[0], "Plans", starts_at=starts, ends_at=starts + timedelta(hours=1)
        )
        await handle.execute(booking, actor=SYSTEM)  # checks for clashes first
        windows = {
            sql: args
            for sql, args in database.seen.items()
            if sql.startswith(tuple(f"SELECT * FROM {table} WHERE" for table in TIMED))
            and "ends_at >" in sql
        }
        # Open-ended and closed windows of gatherings (WhatsOn is the latter) and shifts;
        # bookings in a window, of a venue in a window, and clashes (the demo's holds).
        assert len(windows) == 7, sorted(windows)
        assert all("starts_at >=" in sql for sql in windows), sorted(windows)

        async def plans(conn: Connection) -> list[str]:
            steps = []
            for sql, args in windows.items():
                plan = await conn.fetch("EXPLAIN QUERY PLAN " + sql, *args)
                steps += [str(step["detail"]) for step in plan]
            return steps

        steps = await database.run(plans)
    searches = [step for step in steps if step.startswith(("SEARCH", "SCAN"))]
    assert searches, steps
    assert all("starts_at>?" in step for step in searches), steps  # bounded below
    assert not any("TEMP B-TREE" in step for step in steps), steps  # in start order already
