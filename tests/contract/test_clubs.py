"""Clubs: joining (open or on approval), leaving, leaders' reach, bound chats, notices."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from huarong_core import Actor, Huarong
from huarong_core.commands import (
    AnnounceToClub,
    BindClubChat,
    CreateClub,
    DecideClubRequest,
    FindClubByChat,
    GetClub,
    JoinClub,
    LeaveClub,
    ListClubMembers,
    ListClubs,
    ListMemberClubs,
    UnbindClubChat,
)
from huarong_core.domain.clubs import JoinPolicy, MembershipStatus
from huarong_core.domain.text import LocalizedText
from huarong_core.errors import (
    AlreadyExists,
    AlreadyInClub,
    InvalidTransition,
    InvalidValue,
    NotFound,
    PermissionDenied,
)
from huarong_core.testing import SAMPLE_COMMUNITY, FrozenClock, open_test_community, snapshot
from tests.contract.conftest import SYSTEM, Pair, actor_for

CLUB_COMMUNITY = (
    SAMPLE_COMMUNITY
    + """
[[stations]]
key = "huaying"
name = { zh_CN = "华英驿站", en = "Huaying station" }

[[members]]
key = "leader"
name = "Leader"

[[members]]
key = "bob"
name = "Bob"

[[members]]
key = "huaying_staff"
name = "Huaying staff"

[[roles]]
member = "huaying_staff"
role = "station_staff"
scope = "station:huaying"

[[clubs]]
key = "tea"
name = { zh_CN = "茶艺社", en = "Tea club" }
station = "huaying"
chats = [{ platform = "telegram", id = "-100123" }]

[[clubs]]
key = "parents"
name = { zh_CN = "袋鼠课堂", en = "Parenting class" }
station = "huaying"
join = "approval"

[[roles]]
member = "leader"
role = "club_leader"
scope = "club:parents"
"""
)


def mid(actor: Actor) -> int:
    """The member id of a member actor."""
    assert actor.member_id is not None
    return actor.member_id


@pytest.fixture
async def clubs(database_url: str, clock: FrozenClock) -> AsyncIterator[Pair]:
    async with open_test_community(database_url, config=CLUB_COMMUNITY, clock=clock) as pair:
        yield pair


async def events_of(huarong: Huarong, kind: str) -> list[dict[str, Any]]:
    async with huarong.db.read() as conn:
        rows = await conn.fetch("SELECT payload FROM outbox WHERE kind = $1 ORDER BY id", kind)
    return [
        json.loads(r["payload"]) if isinstance(r["payload"], str) else dict(r["payload"])
        for r in rows
    ]


async def test_the_file_makes_clubs_leaders_and_chats(clubs: Pair) -> None:
    _, handle = clubs
    listed = await handle.execute(ListClubs(), actor=SYSTEM)
    assert [(s.club.key, s.members) for s in listed] == [("parents", 1), ("tea", 0)]
    leader = await actor_for(handle, "leader")
    details = await handle.execute(GetClub("parents"), actor=leader)
    assert details.leaders == (leader.member_id,)
    found = await handle.execute(FindClubByChat("telegram", "-100123"), actor=SYSTEM)
    assert found is not None
    assert found.key == "tea"
    assert await handle.execute(FindClubByChat("telegram", "-1"), actor=SYSTEM) is None


async def test_open_club_admits_at_once_and_twice_is_refused(clubs: Pair) -> None:
    huarong, handle = clubs
    alice = await actor_for(handle, "alice")
    joined = await handle.execute(JoinClub("tea"), actor=alice)
    assert joined.status is MembershipStatus.ACTIVE
    before = await snapshot(huarong.db)
    with pytest.raises(AlreadyInClub):
        await handle.execute(JoinClub("tea"), actor=alice)
    assert await snapshot(huarong.db) == before
    mine = await handle.execute(ListMemberClubs(), actor=alice)
    assert [m.club_key for m in mine] == ["tea"]
    left = await handle.execute(LeaveClub("tea"), actor=alice)
    assert left.status is MembershipStatus.LEFT
    with pytest.raises(NotFound):
        await handle.execute(LeaveClub("tea"), actor=alice)
    again = await handle.execute(JoinClub("tea"), actor=alice)
    assert again.status is MembershipStatus.ACTIVE
    assert [e["member_id"] for e in await events_of(huarong, "club.joined")][-2:] == [
        alice.member_id,
        alice.member_id,
    ]


async def test_concurrent_joins_make_one_membership(clubs: Pair) -> None:
    huarong, handle = clubs
    alice = await actor_for(handle, "alice")
    outcomes = await asyncio.gather(
        *(handle.execute(JoinClub("tea"), actor=alice) for _ in range(5)), return_exceptions=True
    )
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
    assert all(isinstance(o, AlreadyInClub) for o in outcomes if isinstance(o, BaseException))
    joined = [e for e in await events_of(huarong, "club.joined") if e["club_key"] == "tea"]
    assert joined == [{"club_key": "tea", "member_id": alice.member_id}]


async def test_approval_club_waits_for_its_leader(clubs: Pair) -> None:
    huarong, handle = clubs
    alice, bob = await actor_for(handle, "alice"), await actor_for(handle, "bob")
    leader = await actor_for(handle, "leader")
    asked = await handle.execute(JoinClub("parents"), actor=alice)
    assert asked.status is MembershipStatus.PENDING
    await handle.execute(JoinClub("parents"), actor=bob)
    assert [e["member_id"] for e in await events_of(huarong, "club.join_requested")] == [
        alice.member_id,
        bob.member_id,
    ]
    with pytest.raises(PermissionDenied):
        await handle.execute(ListClubMembers("parents", MembershipStatus.PENDING), actor=alice)
    pending = await handle.execute(
        ListClubMembers("parents", MembershipStatus.PENDING), actor=leader
    )
    assert [m.member_id for m in pending] == [alice.member_id, bob.member_id]
    with pytest.raises(PermissionDenied):
        await handle.execute(DecideClubRequest("parents", mid(bob), True), actor=alice)
    approved = await handle.execute(DecideClubRequest("parents", mid(alice), True), actor=leader)
    assert approved.status is MembershipStatus.ACTIVE
    with pytest.raises(InvalidValue) as bad_note:  # refused before anything changes
        await handle.execute(
            DecideClubRequest("parents", mid(bob), False, "full\x00"), actor=leader
        )
    assert (bad_note.value.field, bad_note.value.reason) == ("note", "control_characters")
    declined = await handle.execute(
        DecideClubRequest("parents", mid(bob), False, " This term is full "), actor=leader
    )
    assert declined.status is MembershipStatus.DECLINED
    told = await events_of(huarong, "club.request_declined")
    assert [(e["member_id"], e["reason"]) for e in told] == [(bob.member_id, "This term is full")]
    with pytest.raises(InvalidTransition):
        await handle.execute(DecideClubRequest("parents", mid(bob), True), actor=leader)
    with pytest.raises(AlreadyInClub):
        await handle.execute(JoinClub("parents"), actor=alice)


async def test_leaders_manage_their_own_club_only(clubs: Pair) -> None:
    _, handle = clubs
    leader = await actor_for(handle, "leader")
    alice = await actor_for(handle, "alice")
    await handle.execute(JoinClub("tea"), actor=alice)
    with pytest.raises(PermissionDenied):
        await handle.execute(AnnounceToClub("tea", "Tea at five"), actor=leader)
    with pytest.raises(PermissionDenied):
        await handle.execute(BindClubChat("tea", "matrix", "!room:example.org"), actor=leader)
    with pytest.raises(PermissionDenied):
        await handle.execute(
            CreateClub("chess", LocalizedText({"en": "Chess"}), station="huaying"), actor=leader
        )
    # The station's staff reach every club of their station.
    staff = await actor_for(handle, "huaying_staff")
    await handle.execute(AnnounceToClub("tea", "Tea at five"), actor=staff)
    made = await handle.execute(
        CreateClub(
            "chess",
            LocalizedText({"en": "Chess"}),
            station="huaying",
            join_policy=JoinPolicy.OPEN,
            leaders=(mid(leader),),
        ),
        actor=staff,
    )
    assert made.key == "chess"
    details = await handle.execute(GetClub("chess"), actor=leader)
    assert (details.leaders, details.members) == ((leader.member_id,), 1)
    with pytest.raises(AlreadyExists):
        await handle.execute(CreateClub("chess", LocalizedText({"en": "Chess"})), actor=SYSTEM)


async def test_bound_chats_and_announcements(clubs: Pair) -> None:
    huarong, handle = clubs
    leader = await actor_for(handle, "leader")
    alice = await actor_for(handle, "alice")
    await handle.execute(JoinClub("parents"), actor=alice)
    await handle.execute(DecideClubRequest("parents", mid(alice), True), actor=leader)
    bound = await handle.execute(
        BindClubChat("parents", "matrix", "!kids:hr.example"), actor=leader
    )
    assert bound.club_key == "parents"
    # Binding again is a no-op; a chat belongs to one club.
    await handle.execute(BindClubChat("parents", "matrix", "!kids:hr.example"), actor=leader)
    with pytest.raises(AlreadyExists):
        await handle.execute(BindClubChat("parents", "telegram", "-100123"), actor=leader)
    with pytest.raises(InvalidValue):
        await handle.execute(BindClubChat("parents", "Bad Platform!", "x"), actor=leader)
    with pytest.raises(InvalidValue):
        await handle.execute(AnnounceToClub("parents", "   "), actor=leader)
    notice = await handle.execute(AnnounceToClub("parents", "Story time on Friday"), actor=leader)
    assert set(notice.recipients) == {leader.member_id, alice.member_id}
    (event,) = await events_of(huarong, "club.announced")
    assert event["chats"] == ["matrix:!kids:hr.example"]
    assert event["text"] == "Story time on Friday"
    await handle.execute(UnbindClubChat("matrix", "!kids:hr.example"), actor=leader)
    assert await handle.execute(FindClubByChat("matrix", "!kids:hr.example"), actor=SYSTEM) is None
