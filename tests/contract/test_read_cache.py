"""Cached queries (`huarong_core.read_cache`): one answer until the next commit.

An unchanged state hands back the very same answer object; any commit (this
handle's, another connection's, a member leaving) is seen at once. SQLite
tells by `data_version`, PostgreSQL by the server's current snapshot.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from huarong_core import Huarong, MemberStatus, SetMemberStatus
from huarong_core.app import CommunityHandle
from huarong_core.commands import AwardPoints, Board, GetLeaderboard, GetRank, Query
from huarong_core.errors import MemberInactive
from huarong_core.read_cache import ReadCache
from huarong_core.testing import FrozenClock, open_test_community
from tests.contract.conftest import SYSTEM, Pair, actor_for


async def _member_id(handle: CommunityHandle, key: str) -> int:
    actor = await actor_for(handle, key)
    assert actor.member_id is not None
    return actor.member_id


async def test_an_unchanged_state_answers_from_the_cache(community: Pair) -> None:
    huarong, handle = community
    reader = await actor_for(handle, "alice")
    first = await handle.execute(GetLeaderboard(limit=5), actor=reader)
    again = await handle.execute(GetLeaderboard(limit=5), actor=reader)
    assert again is first
    assert await huarong.db.commit_generation() is not None


async def test_a_commit_is_seen_by_the_next_read(community: Pair) -> None:
    _, handle = community
    reader = await actor_for(handle, "alice")
    staff_id = await _member_id(handle, "staff")
    before = await handle.execute(GetRank(staff_id), actor=reader)
    await handle.execute(AwardPoints(staff_id, 700, reason="cache test"), actor=SYSTEM)
    after = await handle.execute(GetRank(staff_id), actor=reader)
    assert after is not None
    assert after.score == (0 if before is None else before.score) + 700
    board = await handle.execute(GetLeaderboard(limit=1), actor=reader)
    assert board.entries[0].member_id == staff_id


async def test_a_commit_by_another_connection_is_seen(
    database_url: str, clock: FrozenClock
) -> None:
    """Another `Huarong` on the same database has connections of its own, like another
    process: its commit reaches this handle's cache (SQLite's data_version, the
    PostgreSQL server's snapshot)."""
    async with open_test_community(database_url, clock=clock) as (_, handle):
        reader = await actor_for(handle, "alice")
        staff_id = await _member_id(handle, "staff")
        before = await handle.execute(GetRank(staff_id), actor=reader)
        assert await handle.execute(GetRank(staff_id), actor=reader) is before
        async with Huarong(database_url, clock=clock) as other:
            elsewhere = await other.community(handle.community.key)
            await elsewhere.execute(
                AwardPoints(staff_id, 900, reason="other process"), actor=SYSTEM
            )
        after = await handle.execute(GetRank(staff_id), actor=reader)
        assert after is not None
        assert after.score == (0 if before is None else before.score) + 900


async def test_in_memory_the_writers_commits_are_the_generation(clock: FrozenClock) -> None:
    async with open_test_community("sqlite:///:memory:", clock=clock) as (huarong, handle):
        reader = await actor_for(handle, "alice")
        staff_id = await _member_id(handle, "staff")
        first = await handle.execute(GetLeaderboard(limit=3), actor=reader)
        assert await handle.execute(GetLeaderboard(limit=3), actor=reader) is first
        generation = await huarong.db.commit_generation()
        await handle.execute(AwardPoints(staff_id, 800, reason="memory"), actor=SYSTEM)
        assert await huarong.db.commit_generation() != generation
        board = await handle.execute(GetLeaderboard(limit=3), actor=reader)
        assert board.entries[0].member_id == staff_id


async def test_a_member_who_leaves_is_refused_at_once(community: Pair) -> None:
    """The answer is kept per actor, and the actor's standing is part of it."""
    _, handle = community
    reader = await actor_for(handle, "alice")
    assert reader.member_id is not None
    await handle.execute(GetLeaderboard(), actor=reader)
    await handle.execute(SetMemberStatus(reader.member_id, MemberStatus.LEFT), actor=SYSTEM)
    with pytest.raises(MemberInactive):
        await handle.execute(GetLeaderboard(), actor=reader)


async def test_answers_are_kept_per_actor_and_per_local_date(
    sqlite_url: str, clock: FrozenClock
) -> None:
    async with open_test_community(sqlite_url, clock=clock) as (_, handle):
        li = await actor_for(handle, "alice")
        staff = await actor_for(handle, "staff")
        mine = await handle.execute(GetLeaderboard(Board.SEASON), actor=li)
        theirs = await handle.execute(GetLeaderboard(Board.SEASON), actor=staff)
        assert theirs == mine
        assert theirs is not mine
        clock.advance(days=1)
        tomorrow = await handle.execute(GetLeaderboard(Board.SEASON), actor=li)
        assert tomorrow is not mine


class _Generations:
    """A commit generation the test sets."""

    def __init__(self) -> None:
        self.generation: Hashable | None = 1

    async def __call__(self) -> Hashable | None:
        return self.generation


@attrs.frozen
class _Probe(Query[str]):
    """A query for the cache alone (never executed)."""

    number: int = 0


def _answering(value: str, gate: asyncio.Event | None = None) -> Callable[[], Awaitable[str]]:
    async def compute() -> str:
        if gate is not None:
            await gate.wait()
        return value

    return compute


async def test_an_answer_older_than_a_seen_commit_is_not_kept() -> None:
    """A read computed under generation 1 finishes after another caller saw 2: its
    answer may miss that commit, so it must not be kept under 2."""
    generations = _Generations()
    cache = ReadCache(generations)
    command, today = _Probe(), FrozenClock().now().date()
    gate = asyncio.Event()
    slow = asyncio.create_task(cache.answer(command, SYSTEM, today, _answering("old", gate)))
    await asyncio.sleep(0)
    generations.generation = 2
    assert await cache.answer(command, SYSTEM, today, _answering("new")) == "new"
    gate.set()
    assert await slow == "old"
    assert await cache.answer(command, SYSTEM, today, _answering("recomputed")) == "new"


async def test_nothing_is_kept_without_a_generation_or_past_the_limit() -> None:
    generations = _Generations()
    generations.generation = None
    cache = ReadCache(generations, max_entries=2)
    today = FrozenClock().now().date()
    assert await cache.answer(_Probe(), SYSTEM, today, _answering("a")) == "a"
    assert await cache.answer(_Probe(), SYSTEM, today, _answering("b")) == "b"
    generations.generation = 7
    for limit in (1, 2, 3):
        await cache.answer(_Probe(limit), SYSTEM, today, _answering(str(limit)))
    # The oldest went first; the two newest stay.
    assert await cache.answer(_Probe(1), SYSTEM, today, _answering("x")) == "x"
    assert await cache.answer(_Probe(3), SYSTEM, today, _answering("y")) == "3"
    assert (cache.hits, cache.misses) == (1, 4)


@pytest.mark.parametrize(
    ("zone", "before", "after"),
    [
        # Kathmandu, +5:45: the date turns at 18:15 UTC, a quarter hour's edge.
        (
            "Asia/Kathmandu",
            datetime(2026, 7, 1, 18, 14, tzinfo=UTC),
            datetime(2026, 7, 1, 18, 15, tzinfo=UTC),
        ),
        # Shanghai in 1900 kept local mean time, +8:05:43: the date turns at
        # 15:54:17 UTC, inside a quarter hour, which then must not be kept.
        (
            "Asia/Shanghai",
            datetime(1900, 6, 1, 15, 50, tzinfo=UTC),
            datetime(1900, 6, 1, 15, 56, tzinfo=UTC),
        ),
    ],
)
async def test_the_local_date_of_a_cached_read_turns_when_the_community_s_day_does(
    zone: str, before: datetime, after: datetime
) -> None:
    from huarong_core.testing import SAMPLE_COMMUNITY

    config = SAMPLE_COMMUNITY.replace(
        'default_category = "employee"', f'default_category = "employee"\ntimezone = "{zone}"'
    )
    async with open_test_community(config=config) as (_, handle):
        assert handle.community.timezone == zone
        for now in (before, after, before, after):
            assert handle._local_date(now) == handle.community.local(now).date()
        assert handle._local_date(after) != handle._local_date(before)


async def test_sqlite_generation_sees_this_process_at_once_and_others_from_the_next_turn(
    sqlite_url: str, tmp_path: Any
) -> None:
    import sqlite3

    from huarong_core.storage import open_database

    insert = "INSERT INTO id_counters (community_id, name, value) VALUES (0, $1, 1)"
    db = await open_database(sqlite_url)
    second = await open_database(sqlite_url)  # another database object of this process
    try:
        first = await db.commit_generation()
        assert await db.commit_generation() == first  # nothing committed: the same

        async def unit(conn: Any) -> None:
            await conn.execute(insert, "here")

        await second.run(unit, quick=True)
        mine = await db.commit_generation()
        assert mine != first  # this process's commit counts in the same turn

        other = sqlite3.connect(str(tmp_path / "huarong.db"), isolation_level=None)
        try:
            other.execute(insert.replace("$1", "'elsewhere'"))
        finally:
            other.close()
        # Another process's commit is concurrent with what this turn handles ...
        assert await db.commit_generation() == mine
        await asyncio.sleep(0)
        # ... and seen from the next turn on.
        assert await db.commit_generation() != mine
    finally:
        await second.stop()
        await db.stop()
