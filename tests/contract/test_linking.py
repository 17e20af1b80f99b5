"""Linked identities: one-time link codes and the merge of two members, on every backend."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from huarong_core import Actor, Huarong, LocalizedText, parse_config
from huarong_core.app import CommunityHandle
from huarong_core.commands import (
    Board,
    CreateEvent,
    CreateLinkCode,
    ExpirePoints,
    FindMember,
    GetLeaderboard,
    GetPointsStatement,
    JoinClub,
    LeaveClub,
    LinkIdentity,
    ListAuditEntries,
    ListMemberClubs,
    ListMemberRsvps,
    ListMembers,
    ListRsvps,
    MemberProfile,
    RecordActivity,
    RedeemItem,
    RedeemLinkCode,
    RegisterChatMember,
    RespondToGathering,
    SetMemberStatus,
    VerifyLedger,
)
from huarong_core.domain.clubs import MembershipStatus
from huarong_core.domain.gatherings import Answer, EventType, RsvpStatus
from huarong_core.domain.members import MemberStatus
from huarong_core.errors import (
    InvalidValue,
    LinkCodeExpired,
    LinkRefused,
    MemberInactive,
    PermissionDenied,
    WrongLinkCode,
)
from huarong_core.services import linking as linking_service
from huarong_core.services.linking import CODE_ALPHABET, CODE_LENGTH
from huarong_core.testing import SAMPLE_COMMUNITY, FrozenClock, open_test_community, snapshot

SYSTEM = Actor.system("test")
EXTRA = """
[[clubs]]
key = "tea"
name = { zh_CN = "茶艺社", en = "Tea club" }

[[clubs]]
key = "chess"
name = { zh_CN = "棋艺斋", en = "Chess studio" }

[points]
season = "quarter"

[[points.rules]]
key = "visit"
name = { zh_CN = "来访", en = "Visit" }
trigger = "salon.checked_in"
points = 10
expires_after_months = 3

[[shop.items]]
key = "cup"
name = { zh_CN = "茶杯", en = "Cup" }
price = 5
stock = 10
"""

Pair = tuple[Huarong, CommunityHandle, FrozenClock]


@pytest.fixture
async def linked(database_url: str) -> AsyncIterator[Pair]:
    clock = FrozenClock(datetime(2026, 7, 1, 1, 0, tzinfo=UTC))
    async with open_test_community(database_url, config=SAMPLE_COMMUNITY + EXTRA, clock=clock) as (
        huarong,
        handle,
    ):
        yield huarong, handle, clock


async def chat_member(handle: CommunityHandle, platform: str, account: str) -> MemberProfile:
    return await handle.execute(
        RegisterChatMember(platform, account, f"{platform} {account}"), actor=SYSTEM
    )


def actor(profile: MemberProfile) -> Actor:
    return Actor.member(profile.member.id, profile.member.display_name)


async def code_for(handle: CommunityHandle, who: MemberProfile) -> str:
    return (await handle.execute(CreateLinkCode(), actor=actor(who))).code


def stable(tables: dict[str, list[tuple[object, ...]]]) -> dict[str, list[tuple[object, ...]]]:
    """A snapshot without the tables a refusal writes on purpose (its audit entry)."""
    return {k: v for k, v in tables.items() if k not in ("audit_log", "deliveries")}


async def test_code_is_short_single_use_and_stored_hashed(linked: Pair) -> None:
    huarong, handle, _ = linked
    console = await chat_member(handle, "console", "boss")
    telegram = await chat_member(handle, "telegram", "42")
    made = await handle.execute(CreateLinkCode(), actor=actor(console))
    assert len(made.code) == CODE_LENGTH
    assert set(made.code) <= set(CODE_ALPHABET)
    assert made.expires_at == handle.now() + timedelta(minutes=10)
    tables = await snapshot(huarong.db)
    assert not any(made.code in str(row) for rows in tables.values() for row in rows)

    typed = f" {made.code[:4].lower()}-{made.code[4:]} "  # case, spaces and dashes do not matter
    result = await handle.execute(RedeemLinkCode(typed, "telegram", "42"), actor=actor(telegram))
    assert result.survivor.id == console.member.id
    assert result.absorbed_id == telegram.member.id
    assert {str(i.ref) for i in result.identities} == {"console:boss", "telegram:42"}

    other = await chat_member(handle, "telegram", "43")
    with pytest.raises(WrongLinkCode):
        await handle.execute(RedeemLinkCode(made.code, "telegram", "43"), actor=actor(other))


async def test_expired_code_refused_and_nothing_changes(linked: Pair) -> None:
    huarong, handle, clock = linked
    console = await chat_member(handle, "console", "boss")
    telegram = await chat_member(handle, "telegram", "42")
    code = await code_for(handle, console)
    clock.advance(minutes=10)
    before = stable(await snapshot(huarong.db))
    with pytest.raises(LinkCodeExpired):
        await handle.execute(RedeemLinkCode(code, "telegram", "42"), actor=actor(telegram))
    assert stable(await snapshot(huarong.db)) == before


async def test_new_code_retires_older_and_codes_are_rate_limited(linked: Pair) -> None:
    _, handle, clock = linked
    console = await chat_member(handle, "console", "boss")
    telegram = await chat_member(handle, "telegram", "42")
    first = await code_for(handle, console)
    await code_for(handle, console)
    with pytest.raises(LinkCodeExpired):
        await handle.execute(RedeemLinkCode(first, "telegram", "42"), actor=actor(telegram))
    for _ in range(3):
        await code_for(handle, console)
    with pytest.raises(LinkRefused) as refused:
        await code_for(handle, console)
    assert refused.value.reason == "too_many_codes"
    clock.advance(minutes=61)
    await code_for(handle, console)  # a new hour, a new code


async def test_wrong_codes_refused_then_rate_limited_nothing_changes(linked: Pair) -> None:
    huarong, handle, clock = linked
    console = await chat_member(handle, "console", "boss")
    telegram = await chat_member(handle, "telegram", "42")
    code = await code_for(handle, console)
    before = stable(await snapshot(huarong.db))
    for wrong in ("22222222", "nonsense", "", code[:-1]):
        with pytest.raises(WrongLinkCode):
            await handle.execute(RedeemLinkCode(wrong, "telegram", "42"), actor=actor(telegram))
    clock.advance(minutes=1)
    with pytest.raises(WrongLinkCode):
        await handle.execute(RedeemLinkCode("33333333", "telegram", "42"), actor=actor(telegram))
    # Five wrong tries: even the right code is refused for the rest of the window.
    with pytest.raises(LinkRefused) as refused:
        await handle.execute(RedeemLinkCode(code, "telegram", "42"), actor=actor(telegram))
    assert refused.value.reason == "too_many_attempts"
    assert stable(await snapshot(huarong.db)) == before
    tries = await handle.execute(ListAuditEntries(action="member.link_refused"), actor=SYSTEM)
    assert len(tries) == 5
    assert {t.target for t in tries} == {f"member:{telegram.member.id}"}
    clock.advance(minutes=14, seconds=1)  # the first four tries are out of the window now
    fresh = await code_for(handle, console)
    result = await handle.execute(RedeemLinkCode(fresh, "telegram", "42"), actor=actor(telegram))
    assert result.survivor.id == console.member.id


async def test_wrong_codes_from_many_accounts_pause_everyone_past_a_ceiling(
    linked: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every new chat account is a member of its own, with its own five tries: the
    ceiling on everyone's wrong tries bounds guessing spread over many accounts."""
    huarong, handle, clock = linked
    monkeypatch.setattr(linking_service, "MAX_WRONG_TRIES_EVERYWHERE", 8)
    console = await chat_member(handle, "console", "boss")
    code = await code_for(handle, console)
    accounts = [str(100 + n) for n in range(4)]
    guessers = [await chat_member(handle, "telegram", account) for account in accounts]
    for n in range(8):  # two tries from each of four accounts, under the per-member five
        with pytest.raises(WrongLinkCode):
            await handle.execute(
                RedeemLinkCode("22222222", "telegram", accounts[n // 2]),
                actor=actor(guessers[n // 2]),
            )
    newcomer = await chat_member(handle, "telegram", "42")
    before = stable(await snapshot(huarong.db))
    with pytest.raises(LinkRefused) as refused:
        await handle.execute(RedeemLinkCode(code, "telegram", "42"), actor=actor(newcomer))
    assert refused.value.reason == "too_many_attempts"
    assert stable(await snapshot(huarong.db)) == before
    clock.advance(minutes=15, seconds=1)
    fresh = await code_for(handle, console)
    result = await handle.execute(RedeemLinkCode(fresh, "telegram", "42"), actor=actor(newcomer))
    assert result.survivor.id == console.member.id


async def test_same_member_is_told_and_nothing_changes(linked: Pair) -> None:
    huarong, handle, _ = linked
    console = await chat_member(handle, "console", "boss")
    code = await code_for(handle, console)
    before = await snapshot(huarong.db)
    result = await handle.execute(RedeemLinkCode(code, "console", "boss"), actor=actor(console))
    assert result.already_linked
    assert result.survivor.id == console.member.id
    assert await snapshot(huarong.db) == before


async def test_redeem_only_for_ones_own_account(linked: Pair) -> None:
    _, handle, _ = linked
    console = await chat_member(handle, "console", "boss")
    telegram = await chat_member(handle, "telegram", "42")
    intruder = await chat_member(handle, "telegram", "666")
    code = await code_for(handle, console)
    with pytest.raises(PermissionDenied):
        await handle.execute(RedeemLinkCode(code, "telegram", "42"), actor=actor(intruder))
    assert (await chat_member(handle, "telegram", "42")).member.id == telegram.member.id


async def test_merge_of_two_members_with_history(linked: Pair) -> None:
    _, handle, clock = linked
    survivor = await chat_member(handle, "console", "boss")
    absorbed = await chat_member(handle, "telegram", "42")
    s, a = survivor.member.id, absorbed.member.id
    visits = 0
    for member_id, times in ((s, 2), (a, 3)):
        for _ in range(times):
            visits += 1
            await handle.execute(
                RecordActivity("salon.checked_in", f"visit:{visits}", member_id), actor=SYSTEM
            )
        clock.advance(days=20)  # lots with different expiry dates
    await handle.execute(RedeemItem("cup"), actor=actor(absorbed))  # balance 25, score 30
    start = handle.now() + timedelta(days=3)
    end = start + timedelta(hours=2)
    small = await handle.execute(
        CreateEvent(
            LocalizedText({"en": "Small"}),
            EventType.LECTURE,
            start,
            start + timedelta(hours=2),
            capacity=2,
        ),
        actor=SYSTEM,
    )
    only_mine = await handle.execute(
        CreateEvent(LocalizedText({"en": "Mine"}), EventType.LECTURE, start, end), actor=SYSTEM
    )
    only_theirs = await handle.execute(
        CreateEvent(LocalizedText({"en": "Theirs"}), EventType.LECTURE, start, end),
        actor=SYSTEM,
    )
    third = await chat_member(handle, "telegram", "99")
    for who in (survivor, absorbed, third):
        await handle.execute(RespondToGathering(small.id, Answer.GOING), actor=actor(who))
    await handle.execute(RespondToGathering(only_mine.id, Answer.MAYBE), actor=actor(survivor))
    await handle.execute(RespondToGathering(only_theirs.id, Answer.GOING), actor=actor(absorbed))
    await handle.execute(JoinClub("tea"), actor=actor(survivor))
    await handle.execute(JoinClub("tea"), actor=actor(absorbed))
    await handle.execute(JoinClub("chess"), actor=actor(survivor))
    await handle.execute(LeaveClub("chess"), actor=actor(survivor))
    await handle.execute(JoinClub("chess"), actor=actor(absorbed))

    before_s = await handle.execute(GetPointsStatement(s), actor=SYSTEM)
    before_a = await handle.execute(GetPointsStatement(a), actor=SYSTEM)
    assert (before_s.balance, before_a.balance, before_a.score) == (20, 25, 30)

    code = await code_for(handle, survivor)
    result = await handle.execute(RedeemLinkCode(code, "telegram", "42"), actor=actor(absorbed))
    assert result.balance == 45
    assert result.points_moved == 25

    after = await handle.execute(GetPointsStatement(s, expiring_within_days=400), actor=SYSTEM)
    assert after.balance == 45
    assert after.score == 20 + 30
    assert len({lot.expires_at for lot in after.expiring}) == 2  # each lot kept its date
    assert sum(lot.remaining for lot in after.expiring) == 45
    assert (await handle.execute(GetPointsStatement(a), actor=SYSTEM)).balance == 0
    assert await handle.execute(VerifyLedger(), actor=SYSTEM) == ()
    board = await handle.execute(GetLeaderboard(Board.ALL_TIME), actor=SYSTEM)
    assert [(e.member_id, e.score) for e in board.entries] == [(s, 50)]
    season = await handle.execute(GetLeaderboard(Board.SEASON), actor=SYSTEM)
    assert sum(e.score for e in season.entries if e.member_id == s) > 0
    assert all(e.member_id != a for e in season.entries)

    # One RSVP list: one answer per gathering, the stronger kept, seats counted right.
    agenda = await handle.execute(ListMemberRsvps(s), actor=SYSTEM)
    assert sorted((i.gathering.id, i.rsvp.status) for i in agenda) == sorted(
        [
            (small.id, RsvpStatus.GOING),
            (only_mine.id, RsvpStatus.MAYBE),
            (only_theirs.id, RsvpStatus.GOING),
        ]
    )
    assert await handle.execute(ListMemberRsvps(a), actor=SYSTEM) == ()
    rsvps = await handle.execute(ListRsvps(small.id), actor=SYSTEM)
    assert sorted((r.member_id, r.status) for r in rsvps) == sorted(
        [(s, RsvpStatus.GOING), (third.member.id, RsvpStatus.GOING)]
    )  # the third was waitlisted and got the seat the duplicate freed

    clubs = await handle.execute(ListMemberClubs(s), actor=SYSTEM)
    assert sorted((c.club_key, c.status) for c in clubs) == [
        ("chess", MembershipStatus.ACTIVE),
        ("tea", MembershipStatus.ACTIVE),
    ]
    assert await handle.execute(ListMemberClubs(a), actor=SYSTEM) == ()

    # The absorbed member is merged and can never act again; its accounts speak for s.
    members = await handle.execute(ListMembers(status=MemberStatus.MERGED), actor=SYSTEM)
    assert [(m.id, m.merged_into) for m in members.items] == [(a, s)]
    with pytest.raises(MemberInactive):
        await handle.execute(CreateLinkCode(), actor=actor(absorbed))
    again = await chat_member(handle, "telegram", "42")
    assert again.member.id == s
    merged = await handle.execute(ListAuditEntries(action="member.merge"), actor=SYSTEM)
    assert merged[0].target == f"member:{s}"
    assert merged[0].details["absorbed"] == a

    # Lots expire with their own dates, from the survivor's balance; still clean.
    clock.advance(days=55)
    assert await handle.execute(ExpirePoints(), actor=SYSTEM) == 20
    assert await handle.execute(VerifyLedger(), actor=SYSTEM) == ()
    assert (await handle.execute(GetPointsStatement(s), actor=SYSTEM)).balance == 25
    clock.advance(days=20)
    assert await handle.execute(ExpirePoints(), actor=SYSTEM) == 25
    assert await handle.execute(VerifyLedger(), actor=SYSTEM) == ()


async def test_concurrent_double_redeem_merges_once(linked: Pair) -> None:
    _, handle, _ = linked
    console = await chat_member(handle, "console", "boss")
    one = await chat_member(handle, "telegram", "1")
    two = await chat_member(handle, "telegram", "2")
    await handle.execute(RecordActivity("salon.checked_in", "v1", one.member.id), actor=SYSTEM)
    await handle.execute(RecordActivity("salon.checked_in", "v2", two.member.id), actor=SYSTEM)
    code = await code_for(handle, console)
    outcomes = await asyncio.gather(
        handle.execute(RedeemLinkCode(code, "telegram", "1"), actor=actor(one)),
        handle.execute(RedeemLinkCode(code, "telegram", "2"), actor=actor(two)),
        handle.execute(RedeemLinkCode(code, "telegram", "1"), actor=actor(one)),
        return_exceptions=True,
    )
    merged = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(merged) == 1, outcomes
    assert all(isinstance(o, (WrongLinkCode, MemberInactive)) for o in outcomes if o not in merged)
    statement = await handle.execute(GetPointsStatement(console.member.id), actor=SYSTEM)
    assert statement.balance == 10
    assert await handle.execute(VerifyLedger(), actor=SYSTEM) == ()


async def test_chat_survivor_takes_the_profile_of_a_known_member(linked: Pair) -> None:
    huarong, handle, _ = linked
    alice = await handle.execute(FindMember("alice"), actor=SYSTEM)
    await handle.execute(LinkIdentity(alice.member.id, "console", "alice"), actor=SYSTEM)
    fresh = await chat_member(handle, "telegram", "77")
    code = await code_for(handle, fresh)
    result = await handle.execute(RedeemLinkCode(code, "console", "alice"), actor=actor(alice))
    assert result.survivor.id == fresh.member.id
    assert (result.survivor.key, result.survivor.display_name) == ("alice", "Alice")
    assert result.survivor.organization_id == alice.member.organization_id
    found = await handle.execute(FindMember("alice"), actor=SYSTEM)
    assert found.member.id == fresh.member.id
    # The community file still loads: it names the survivor now.
    await huarong.apply_configuration(
        parse_config(SAMPLE_COMMUNITY + EXTRA, source="<test>"), actor=SYSTEM
    )
    again = await handle.execute(FindMember("alice"), actor=SYSTEM)
    assert again.member.id == fresh.member.id
    assert again.member.status is MemberStatus.ACTIVE


async def test_two_members_of_the_file_merged_still_load_and_stay_merged(linked: Pair) -> None:
    huarong, handle, _ = linked
    config = SAMPLE_COMMUNITY.replace(
        'key = "alice"\nname = "Alice"',
        'key = "alice"\nname = "Alice"\nidentities = [{ platform = "console", id = "alice" }]',
    ).replace(
        'key = "staff"\nname = "Staff"',
        'key = "staff"\nname = "Staff"\nidentities = [{ platform = "telegram", id = "55" }]',
    )
    await huarong.apply_configuration(parse_config(config + EXTRA, source="<test>"), actor=SYSTEM)
    alice = await handle.execute(FindMember("alice"), actor=SYSTEM)
    staff = await handle.execute(FindMember("staff"), actor=SYSTEM)
    code = await code_for(handle, alice)
    await handle.execute(RedeemLinkCode(code, "telegram", "55"), actor=actor(staff))

    # Loads without a problem (a ConfigError would name each one).
    await huarong.apply_configuration(parse_config(config + EXTRA, source="<test>"), actor=SYSTEM)

    survivor = await handle.execute(FindMember("alice"), actor=SYSTEM)
    accounts = {(i.ref.platform, i.ref.external_id) for i in survivor.identities}
    assert accounts == {("console", "alice"), ("telegram", "55")}
    absorbed = await handle.execute(FindMember("staff"), actor=SYSTEM)
    assert absorbed.member.status is MemberStatus.MERGED
    # The file's roles for the absorbed key went to the survivor.
    assert {g.role.value for g in survivor.grants} >= {"station_staff"}
    with pytest.raises(InvalidValue):
        await handle.execute(SetMemberStatus(absorbed.member.id, MemberStatus.ACTIVE), actor=SYSTEM)


async def test_pending_notices_of_the_absorbed_member_follow_the_merge(linked: Pair) -> None:
    from huarong_core.commands import AwardPoints
    from huarong_core.notices.relay import NotificationRelay

    huarong, handle, _ = linked
    survivor = await chat_member(handle, "console", "old")
    absorbed = await chat_member(handle, "telegram", "new")
    await handle.execute(AwardPoints(absorbed.member.id, 5, "Thanks"), actor=SYSTEM)
    await NotificationRelay(huarong).run_once()
    code = await code_for(handle, survivor)
    await handle.execute(RedeemLinkCode(code, "telegram", "new"), actor=actor(absorbed))

    async with huarong.db.read() as conn:
        rows = await conn.fetch("SELECT member_id, recipient, state FROM notifications")
    owners = {(int(r["member_id"]), r["recipient"], r["state"]) for r in rows}
    assert (survivor.member.id, f"member:{survivor.member.id}", "pending") in owners
    assert all(member != absorbed.member.id for member, _, _ in owners)
